/* Tessera /app: suggestions under the top bar's search box (views_search.py).
 * After 2 characters, a debounced request returns the best hits; with the box focused and empty,
 * the user's recent items. Up/Down move, Enter opens the highlighted record (or searches),
 * Escape closes. Text from JSON is set with textContent, never as HTML. Plain JS, no library. */
(function () {
  'use strict';

  var MIN_CHARS = 2, DELAY_MS = 150;
  var form = document.querySelector('.global-search');
  var input = form && form.querySelector('input[name="q"]');
  if (!form || !input || !form.getAttribute('data-suggest-url')) { return; }

  var url = form.getAttribute('data-suggest-url');
  var appInput = form.querySelector('input[name="app"]');
  var box = document.createElement('div');
  box.className = 'search-suggest';
  box.id = 'search-suggest';
  box.setAttribute('role', 'listbox');
  box.setAttribute('aria-label', 'Search suggestions');
  box.hidden = true;
  form.appendChild(box);
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', box.id);
  input.setAttribute('aria-expanded', 'false');

  var timer = null, sequence = 0, active = -1, shownFor = null;

  function options() { return box.querySelectorAll('.suggest-item'); }

  function close() {
    box.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
    shownFor = null;
  }

  function highlight(index) {
    var items = options();
    if (!items.length) { return; }
    active = (index + items.length) % items.length;
    for (var i = 0; i < items.length; i++) {
      items[i].classList.toggle('active', i === active);
      items[i].setAttribute('aria-selected', i === active ? 'true' : 'false');
    }
    input.setAttribute('aria-activedescendant', items[active].id);
    items[active].scrollIntoView({ block: 'nearest' });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function item(hit, index) {
    var a = el('a', 'suggest-item');
    a.href = hit.url;
    a.id = 'search-suggest-' + index;
    a.setAttribute('role', 'option');
    a.setAttribute('aria-selected', 'false');
    a.setAttribute('data-object', hit.object);
    var icon = el('span', 'obj-icon obj-icon-sm');
    icon.style.background = hit.color;
    var glyph = el('i', 'fas fa-' + hit.icon);
    glyph.setAttribute('aria-hidden', 'true');
    icon.appendChild(glyph);
    a.appendChild(icon);
    var text = el('span', 'suggest-text');
    text.appendChild(el('span', 'suggest-name', hit.name));
    var detail = hit.object_label;
    (hit.matched || []).forEach(function (m) { detail += ' · ' + m.label + ': ' + m.value; });
    text.appendChild(el('span', 'suggest-detail', detail));
    a.appendChild(text);
    return a;
  }

  function render(data, forText) {
    box.textContent = '';
    active = -1;
    var hits = forText ? data.hits : (data.recent || []);
    if (!forText && !hits.length) { close(); return; }
    box.appendChild(el('div', 'suggest-header', forText ? 'Top results' : 'Recent items'));
    hits.forEach(function (hit, i) { box.appendChild(item(hit, i)); });
    if (forText && !hits.length) {
      box.appendChild(el('div', 'suggest-empty', 'No matches for “' + data.q + '”'));
    }
    if (forText && data.all_url) {
      var all = el('a', 'suggest-all', 'See all results for “' + data.q + '”');
      all.href = data.all_url;
      box.appendChild(all);
    }
    box.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    shownFor = input.value.trim();
  }

  function fetchFor(text) {
    var mine = ++sequence;
    var query = '?q=' + encodeURIComponent(text) + (appInput ? '&app=' + encodeURIComponent(appInput.value) : '');
    fetch(url + query, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        // a late answer to an earlier keystroke, or the box moved on: ignored
        if (!data || mine !== sequence || input.value.trim() !== text || document.activeElement !== input) { return; }
        render(data, text !== '');
      })
      .catch(function () { /* suggestions are optional: the form still searches */ });
  }

  function update() {
    clearTimeout(timer);
    var text = input.value.trim();
    if (text === shownFor && !box.hidden) { return; }
    if (text.length > 0 && text.length < MIN_CHARS) { sequence++; close(); return; }
    timer = setTimeout(function () { fetchFor(text); }, text ? DELAY_MS : 0);
  }

  input.addEventListener('input', update);
  input.addEventListener('focus', update);
  input.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (box.hidden) { update(); return; }
      e.preventDefault();
      highlight(active + (e.key === 'ArrowDown' ? 1 : -1));
    } else if (e.key === 'Enter' && !box.hidden && active >= 0) {
      e.preventDefault();
      window.location.href = options()[active].href;
    } else if (e.key === 'Escape' && !box.hidden) {
      e.preventDefault();
      sequence++;
      close();
    }
  });
  // a click on a suggestion must land before the blur closes the box
  box.addEventListener('mousedown', function (e) { e.preventDefault(); });
  input.addEventListener('blur', function () { sequence++; close(); });
})();
