/* Tessera forms, in /app and /setup alike (no dependencies):
 *  - Save buttons show progress and a form cannot be sent twice: the first submit marks the form
 *    busy (spinner and "Saving…" on the button pressed) and later submits are ignored until the
 *    page changes. The pressed button is not disabled — a disabled submitter would drop its
 *    name=value ("Save & New") from the request — it only looks and acts disabled.
 *  - Leaving a form with unsaved changes asks first (beforeunload), only when something really
 *    differs from what the page loaded with (typing a value back is not a change), never on its
 *    own submit. Guarded: the record form, Setup's edit forms (GUARDED), any form marked
 *    data-unsaved-guard. A page
 *    script whose state is not in form fields (the layout editor) sets form.tsState to a function
 *    returning that state as text.
 * Loaded after the page's own scripts; a submit some earlier handler cancelled (an inline edit sent
 * by XHR, a declined confirm) is left alone. */
(function () {
  "use strict";
  var GUARDED = "form[data-unsaved-guard], form.admin-form, form.ts-form, #record-form, #layout-form, " +
                "#matrix-form, #fls-form, #group-form";
  var submitting = null;   // the guarded form being sent: leaving is expected

  function state(form) {
    if (typeof form.tsState === "function") return form.tsState();
    var parts = [];
    new FormData(form).forEach(function (value, name) {
      if (name === "csrf_token") return;
      parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(typeof value === "string" ? value : value.name));
    });
    return parts.join("&");
  }

  function guarded() { return Array.prototype.slice.call(document.querySelectorAll(GUARDED)); }

  function snapshot() { guarded().forEach(function (form) { form.tsInitial = state(form); }); }

  function dirty(form) {
    return form.tsInitial !== undefined && form.isConnected && state(form) !== form.tsInitial;
  }

  function buttonsOf(form) {
    var inside = Array.prototype.slice.call(form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]"));
    var outside = form.id ? Array.prototype.slice.call(document.querySelectorAll('[type=submit][form="' + form.id + '"]')) : [];
    return inside.concat(outside);
  }

  function markBusy(form, pressed) {
    form.setAttribute("aria-busy", "true");
    form.dataset.tsBusy = "1";
    buttonsOf(form).forEach(function (button) {
      button.classList.add("disabled", "ts-busy-button");
      button.setAttribute("aria-disabled", "true");
    });
    if (pressed && pressed.tagName === "BUTTON") {
      pressed.dataset.tsLabel = pressed.innerHTML;
      pressed.textContent = "";
      var spinner = document.createElement("span");
      spinner.className = "spinner-border spinner-border-sm mr-1";
      spinner.setAttribute("role", "status");
      spinner.setAttribute("aria-hidden", "true");
      pressed.appendChild(spinner);
      pressed.appendChild(document.createTextNode(/save/i.test(pressed.dataset.tsLabel) ? "Saving…" : "Working…"));
    }
  }

  function unmarkBusy(form) {
    delete form.dataset.tsBusy;
    form.removeAttribute("aria-busy");
    buttonsOf(form).forEach(function (button) {
      button.classList.remove("disabled", "ts-busy-button");
      button.removeAttribute("aria-disabled");
      if (button.dataset.tsLabel !== undefined) { button.innerHTML = button.dataset.tsLabel; delete button.dataset.tsLabel; }
    });
  }

  window.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post" || form.hasAttribute("data-no-busy")) return;
    if (form.dataset.tsBusy) { event.preventDefault(); return; }   // a second click, or Enter twice
    submitting = form;
    markBusy(form, event.submitter);
  });

  window.addEventListener("beforeunload", function (event) {
    var unsaved = guarded().some(function (form) { return form !== submitting && dirty(form); });
    if (!unsaved) return undefined;
    event.preventDefault();
    event.returnValue = "";   // the browser shows its own "Leave site? Changes may not be saved."
    return "";
  });

  // Back/forward cache: a page shown again must not stay busy, and counts as freshly loaded.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    submitting = null;
    Array.prototype.slice.call(document.querySelectorAll("form[data-ts-busy]")).forEach(unmarkBusy);
  });

  // After every script of the page has set its widgets up (select2 fills hidden inputs).
  if (document.readyState === "complete") snapshot();
  else window.addEventListener("load", snapshot);
  window.tsForms = { snapshot: snapshot, dirty: function () { return guarded().some(dirty); } };
})();
