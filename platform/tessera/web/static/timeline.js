/* The record page's Activity card (templates/app/_timeline.html): quick actions posted inline
   (the record service creates the task, call or note; the attachments route takes files), the
   kind filter and "Load more" (keyset cursor) — the page is never left. */
(function () {
  'use strict';
  var card = document.getElementById('timeline');
  if (!card) { return; }
  var feed = document.getElementById('timeline-entries');
  var openBox = document.getElementById('timeline-open');
  var filter = document.getElementById('timeline-kind');
  var base = card.getAttribute('data-fragment-url');

  function fragment(params) {
    var query = new URLSearchParams(params);
    return fetch(base + '?' + query.toString(), { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); });
  }

  function refresh() {
    var kinds = filter ? filter.value : '';
    fragment({ kinds: kinds }).then(function (html) { feed.innerHTML = html; });
    if (openBox) { fragment({ part: 'open' }).then(function (html) { openBox.innerHTML = html; }); }
  }

  card.addEventListener('click', function (ev) {
    var quick = ev.target.closest('.js-quick');
    if (quick) {
      var id = quick.getAttribute('data-form');
      card.querySelectorAll('.quick-form').forEach(function (f) { f.hidden = f.id !== id ? true : !f.hidden; });
      card.querySelectorAll('.js-quick').forEach(function (b) {
        b.classList.toggle('active', b === quick && !document.getElementById(id).hidden);
      });
      var first = document.getElementById(id).querySelector('input:not([type=hidden]), textarea');
      if (first && !document.getElementById(id).hidden) { first.focus(); }
      return;
    }
    var more = ev.target.closest('.js-timeline-more');
    if (more) {
      more.disabled = true;
      more.textContent = 'Loading…';
      var li = more.closest('li');
      fragment({ kinds: filter ? filter.value : '', cursor: more.getAttribute('data-cursor') }).then(function (html) {
        li.insertAdjacentHTML('afterend', html);
        li.remove();
      });
    }
  });

  if (filter) { filter.addEventListener('change', refresh); }

  card.querySelectorAll('form.quick-form').forEach(function (form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var button = form.querySelector('button[type=submit]');
      var error = form.querySelector('.quick-error');
      if (button.disabled) { return; }
      button.disabled = true;
      error.hidden = true;
      fetch(form.action, { method: 'POST', body: new FormData(form), credentials: 'same-origin',
                           headers: { 'Accept': 'application/json' } })
        .then(function (r) {
          if (r.ok) { return null; }
          return r.json().catch(function () { return { error: { message: 'Could not save (HTTP ' + r.status + ')' } }; });
        })
        .then(function (failure) {
          button.disabled = false;
          if (failure) {
            var e = failure.error || {};
            var fields = e.fields ? Object.keys(e.fields).map(function (k) { return k + ': ' + e.fields[k].join(', '); }) : [];
            error.textContent = fields.length ? fields.join('; ') : (e.message || 'Could not save');
            error.hidden = false;
            return;
          }
          form.reset();
          form.hidden = true;
          card.querySelectorAll('.js-quick').forEach(function (b) { b.classList.remove('active'); });
          refresh();
        })
        .catch(function () { button.disabled = false; error.textContent = 'Could not reach the server'; error.hidden = false; });
    });
  });
})();
