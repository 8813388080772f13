/* The condition builder of the report builder and of list filters: a field, an operator and a value
   become expression-language text (values as escaped literals), appended to an expression box that
   accepts typed expressions too. The server checks every expression again; this only writes text.

   TesseraConditions.attach({field, op, value, choice, add}, fields, onAdd) wires one builder:
   `fields()` returns the filterable fields ({name, label, kind, values, filter}); `onAdd(text)` gets
   each new condition. It returns {refresh()} to call when the field list changes. */
(function () {
  "use strict";
  var OPS = {
    text: [["==", "equals"], ["!=", "not equal to"], ["contains", "contains"], ["blank", "is blank"], ["not_blank", "is not blank"]],
    picklist: [["==", "equals"], ["!=", "not equal to"], ["blank", "is blank"], ["not_blank", "is not blank"]],
    lookup: [["blank", "is blank"], ["not_blank", "is not blank"]],
    number: [["==", "="], ["!=", "≠"], [">", ">"], [">=", "≥"], ["<", "<"], ["<=", "≤"], ["blank", "is blank"], ["not_blank", "is not blank"]],
    date: [["THIS_MONTH", "this month"], ["THIS_QUARTER", "this quarter"], ["THIS_YEAR", "this year"],
           ["THIS_FISCAL_YEAR", "this fiscal year"], ["LAST_N_DAYS", "in the last N days"], ["NEXT_N_DAYS", "in the next N days"],
           [">=", "on or after"], ["<=", "on or before"], ["==", "on"], ["blank", "is blank"], ["not_blank", "is not blank"]],
    boolean: [["true", "is ticked"], ["false", "is not ticked"]]
  };
  function literal(text) {   // an expression-language string literal: quotes, backslashes, controls escaped
    return "'" + String(text).replace(/[\\'\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, function (ch) {
      if (ch === "\\") return "\\\\";
      if (ch === "'") return "\\'";
      var h = ch.charCodeAt(0).toString(16);
      return "\\u" + "0000".slice(h.length) + h;
    }) + "'";
  }
  function dateLiteral(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    return m ? "DATE(" + Number(m[1]) + ", " + Number(m[2]) + ", " + Number(m[3]) + ")" : null;
  }
  function expression(f, op, raw) {   // the condition's text, or null when the value does not fit
    if (!f) return null;
    if (op === "blank") return "ISBLANK(" + f.name + ")";
    if (op === "not_blank") return "not ISBLANK(" + f.name + ")";
    if (op === "true" || op === "false") return f.name + " == " + (op === "true" ? "True" : "False");
    if (/^[A-Z_]+$/.test(op)) {
      if (op.indexOf("_N_") > 0) return /^\d+$/.test(raw) ? op + "(" + f.name + ", " + raw + ")" : null;
      return op + "(" + f.name + ")";
    }
    if (op === "contains") return raw ? "CONTAINS(LOWER(" + f.name + "), " + literal(raw.toLowerCase()) + ")" : null;
    var value;
    if (f.kind === "number") value = /^-?\d+(\.\d+)?$/.test(raw) ? raw : null;
    else if (f.kind === "date") value = dateLiteral(raw);
    else value = literal(raw);
    return value === null ? null : f.name + " " + op + " " + value;
  }
  function fill(select, items, keep) {
    var before = select.value;
    select.innerHTML = "";
    items.forEach(function (it) {
      var o = document.createElement("option"); o.value = it[0]; o.textContent = it[1]; select.appendChild(o);
    });
    if (keep && items.some(function (it) { return it[0] === before; })) select.value = before;
  }
  function attach(els, fields, onAdd) {
    function find(name) { return fields().filter(function (f) { return f.name === name; })[0]; }
    function inputs() {
      var f = find(els.field.value), op = els.op.value;
      var choice = f && f.kind === "picklist";
      var needsValue = !(op === "blank" || op === "not_blank" || op === "true" || op === "false" ||
                         (/^[A-Z_]+$/.test(op) && op.indexOf("_N_") < 0));
      els.choice.classList.toggle("d-none", !choice || !needsValue);
      els.value.classList.toggle("d-none", choice || !needsValue);
      els.value.type = f && f.kind === "date" && !/_N_/.test(op) ? "date" : (f && f.kind === "number" || /_N_/.test(op) ? "number" : "text");
      els.value.placeholder = /_N_/.test(op) ? "days" : "value";
    }
    function fieldChanged() {
      var f = find(els.field.value);
      fill(els.op, f ? OPS[f.kind] : [], false);
      fill(els.choice, f && f.kind === "picklist" ? f.values.map(function (v) { return [v, v]; }) : [], false);
      inputs();
    }
    function refresh() {
      fill(els.field, fields().filter(function (f) { return f.filter; }).map(function (f) { return [f.name, f.label]; }), true);
      fieldChanged();
    }
    els.field.addEventListener("change", fieldChanged);
    els.op.addEventListener("change", inputs);
    els.add.addEventListener("click", function () {
      var f = find(els.field.value);
      var raw = f && f.kind === "picklist" ? els.choice.value : els.value.value.trim();
      var text = expression(f, els.op.value, raw);
      els.value.classList.toggle("is-invalid", !text);
      if (!text) return;
      els.value.value = "";
      onAdd(text);
    });
    refresh();
    return {refresh: refresh};
  }
  window.TesseraConditions = {attach: attach, expression: expression, literal: literal};

  // A builder in the page's markup ([data-condition-builder] with data-fields, and its parts marked
  // data-condition="field|op|value|choice|add|target"): each condition is ANDed onto the target.
  Array.prototype.forEach.call(document.querySelectorAll("[data-condition-builder]"), function (root) {
    var part = function (name) { return root.querySelector('[data-condition="' + name + '"]'); };
    var fields = JSON.parse(root.getAttribute("data-fields") || "[]");
    var target = part("target");
    attach({field: part("field"), op: part("op"), value: part("value"), choice: part("choice"), add: part("add")},
           function () { return fields; }, function (text) {
             var now = target.value.trim();
             target.value = now ? "(" + now + ") and " + text : text;
             target.dispatchEvent(new Event("input", {bubbles: true}));
           });
  });
})();
