/* Tessera Setup: the workflow builder (setup/workflows/edit.html), and the final actions of the
   approval process editor (setup/approvals/edit.html), which are workflow steps too. Steps are cards
   in nested lists; every input is named after its place in the document (actions.0.then.1.values.2.expr,
   on_approve.0...: each `.wf-root` names its list with data-root), renumbered after each add /
   remove / move, so the posted form IS the structure the server reads.
   Metadata text only ever enters the page through .value / .textContent, never as HTML. */
(function () {
  "use strict";
  var form = document.getElementById("workflow-form") || document.getElementById("approval-form");
  if (!form) return;
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var choices = JSON.parse(document.getElementById("wf-choices").textContent);
  var objectSelect = document.getElementById("object");
  var actionTemplate = document.getElementById("wf-action-template");
  var valueTemplate = document.getElementById("wf-value-template");
  var toTemplate = document.getElementById("wf-to-template");
  var eventSelect = document.getElementById("trigger-event");
  var dateSelect = document.getElementById("trigger-field");
  var checkBase = form.getAttribute("data-check-base");

  function own(card, sel) {   // elements of this step, not of the steps nested in its branches
    return $$(sel, card).filter(function (el) { return el.closest(".wf-action") === card; });
  }
  function cardsOf(list) {
    return Array.prototype.filter.call(list.children, function (el) { return el.classList.contains("wf-action"); });
  }

  /* -- names follow the structure ------------------------------------------------------------ */
  function renumber(list, path) {
    cardsOf(list).forEach(function (card, i) {
      var p = path + "." + i;
      card.setAttribute("data-path", p);
      var no = card.querySelector(".wf-step-no");
      if (no) no.textContent = (i + 1) + ".";
      own(card, "[data-key]").forEach(function (input) {
        if (input.closest(".wf-value") || input.closest(".wf-to-row")) return;
        input.name = p + "." + input.getAttribute("data-key");
      });
      own(card, ".wf-values").forEach(function (values) {   // values; upsert_record's on_create
        var key = values.getAttribute("data-list") || "values";
        $$(".wf-value", values).forEach(function (row, j) {
          $$("[data-key]", row).forEach(function (input) { input.name = p + "." + key + "." + j + "." + input.getAttribute("data-key"); });
        });
      });
      own(card, ".wf-to").forEach(function (list) {   // notify's to, send_email's email_to and cc
        var key = list.getAttribute("data-list");
        $$(".wf-to-row", list).forEach(function (row, k) {
          $$("[data-key]", row).forEach(function (input) { input.name = p + "." + key + "." + k; });
        });
      });
      own(card, ".wf-actions").forEach(function (sub) { renumber(sub, p + "." + sub.getAttribute("data-branch")); });
    });
  }
  function renumberPayload() {
    $$(".wf-payload-row", form).forEach(function (row, j) {
      $$("[data-pkey]", row).forEach(function (input) { input.name = "trigger.payload." + j + "." + input.getAttribute("data-pkey"); });
    });
  }
  function renumberAll() {
    renumberPayload();
    $$(".wf-root", form).forEach(function (root) {
      var list = Array.prototype.filter.call(root.children, function (el) { return el.classList.contains("wf-actions"); })[0];
      if (list) renumber(list, root.getAttribute("data-root") || "actions");
    });
  }

  /* -- which parts a step shows, which fields its values can set ------------------------------ */
  function findsByKey(card) {   // update_record of another record, found by a key
    var find = own(card, ".wf-find")[0];
    return own(card, ".wf-type")[0].value === "update_record" && !!find && find.value === "match";
  }
  function targetOf(card) {
    var type = own(card, ".wf-type")[0].value, obj = objectSelect.value;
    if (type === "update_record") return findsByKey(card) ? (own(card, ".wf-object")[0].value || obj) : obj;
    if (type === "upsert_record") return own(card, ".wf-object")[0].value;
    if (type === "update_parent") {
      var lookup = own(card, ".wf-lookup")[0], opt = lookup.options[lookup.selectedIndex];
      return opt && opt.value ? opt.getAttribute("data-target") : "";
    }
    if (type === "update_related") {   // "<object>.<lookup>": the object of the records whose lookup points here
      var rel = own(card, ".wf-related")[0], chosen = rel.options[rel.selectedIndex];
      return chosen && chosen.value ? chosen.getAttribute("data-target") : "";
    }
    if (type === "create_record") return own(card, ".wf-object")[0].value;
    return "";
  }
  function fillSelect(select, items, placeholder, keep) {
    var current = keep ? select.value : "";
    while (select.options.length) select.remove(0);
    select.add(new Option(placeholder, ""));
    items.forEach(function (it) {
      var opt = new Option(it.text, it.value);
      if (it.target) opt.setAttribute("data-target", it.target);
      select.add(opt);
    });
    if (items.some(function (it) { return it.value === current; })) select.value = current;
  }
  function refreshValueRow(row, target) {
    var field = row.querySelector(".wf-field"), expr = row.querySelector("[data-expression]");
    var fields = (choices[target] || {}).fields || [];
    fillSelect(field, fields.map(function (f) { return {value: f[0], text: f[1] + " (" + f[0] + ")"}; }), "Field…", true);
    expr.setAttribute("data-target", target || "");
    expr.setAttribute("data-field", field.value);
  }
  function refreshParts(card) {
    var type = own(card, ".wf-type")[0].value;
    var keyed = type !== "update_record" || findsByKey(card);
    own(card, ".wf-part, .wf-keyed-help").forEach(function (part) {
      var hide = part.getAttribute("data-for").split(" ").indexOf(type) < 0;
      if (part.getAttribute("data-find") === "match") hide = hide || !keyed;
      part.classList.toggle("d-none", hide);
    });
    var objectOpt = own(card, ".wf-object")[0];   // blank: the workflow's own object only for update_record
    if (objectOpt) objectOpt.options[0].text = type === "update_record" ? "This workflow's object" : "Choose an object\u2026";
    var assign = own(card, ".wf-assign")[0], method = own(card, ".wf-method")[0];   // assign_owner: user, queue or group
    own(card, ".wf-sub").forEach(function (sub) {
      var hide = sub.getAttribute("data-assign").split(" ").indexOf(assign.value) < 0;
      if (sub.classList.contains("wf-busy")) hide = hide || method.value !== "least_busy";
      sub.classList.toggle("d-none", hide);
    });
    var waitMode = own(card, ".wf-wait-mode")[0];   // wait: a duration or until a date
    own(card, ".wf-wsub").forEach(function (sub) {
      sub.classList.toggle("d-none", !waitMode || sub.getAttribute("data-wait") !== waitMode.value);
    });
  }

  /* -- the trigger: record events, a time relative to a date field, a schedule, by hand ------- */
  function refreshPayload() {   // an inbound webhook: expressions are checked against its declared keys
    var inbound = eventSelect && eventSelect.value === "inbound_webhook", keys = {};
    $$(".wf-payload-row", form).forEach(function (row) {
      var key = row.querySelector("[data-pkey=key]").value.trim();
      if (key) keys[key] = row.querySelector("[data-pkey=type]").value;
    });
    var next = inbound ? JSON.stringify(keys) : null;
    if (next === form.getAttribute("data-payload")) return;
    if (next === null) form.removeAttribute("data-payload"); else form.setAttribute("data-payload", next);
    $$("[data-expression]", form).forEach(function (area) {
      if (area.value.trim() && area.getAttribute("data-check-url") && window.TesseraSetup) window.TesseraSetup.checkExpression(area);
    });
  }
  function refreshTrigger() {
    if (!eventSelect) return;   // the approval editor has no trigger
    refreshPayload();
    var event = eventSelect.value;
    $$(".wf-trig", form).forEach(function (el) {
      el.classList.toggle("d-none", el.getAttribute("data-events").split(" ").indexOf(event) < 0);
    });
    // a schedule's condition selects records (read context: no PRIORVALUE / ISCHANGED)
    var cond = document.getElementById("trigger-condition"), kind = event === "scheduled" ? "filter" : "condition";
    if (cond.getAttribute("data-expression") !== kind) {
      cond.setAttribute("data-expression", kind);
      if (cond.value.trim() && window.TesseraSetup) window.TesseraSetup.checkExpression(cond);
    }
  }
  function refreshDates() {
    if (!dateSelect) return;
    var dates = (choices[objectSelect.value] || {}).dates || [];
    fillSelect(dateSelect, dates.map(function (d) { return {value: d[0], text: d[1] + " (" + d[0] + ")"}; }),
               "Choose a date field\u2026", true);
  }
  function checkUrlOf(obj) { return obj ? checkBase.replace("__OBJ__", encodeURIComponent(obj)) : ""; }
  function refreshKey(card, target) {   // the key fields of the target object; the key's expression checked against one
    var select = own(card, ".wf-match-field")[0], value = own(card, ".wf-match-value")[0];
    if (!select) return;
    var upsert = own(card, ".wf-type")[0].value === "upsert_record";   // a new record cannot be given an autonumber
    var keys = ((choices[target] || {}).keys || []).filter(function (k) { return !(upsert && k[2]); });
    fillSelect(select, keys.map(function (k) { return {value: k[0], text: k[1] + " (" + k[0] + ")"}; }),
               "Choose the key field\u2026", true);
    value.setAttribute("data-target", target || "");
    value.setAttribute("data-field", select.value);
    if (value.value.trim() && window.TesseraSetup) window.TesseraSetup.checkExpression(value);
  }
  function refreshCard(card) {
    refreshParts(card);
    var target = targetOf(card);
    own(card, ".wf-value").forEach(function (row) { refreshValueRow(row, target); });
    refreshKey(card, target);
    own(card, ".wf-related-filter").forEach(function (filter) {   // checked on the related object, not this one
      var url = own(card, ".wf-type")[0].value === "update_related" ? checkUrlOf(target) : "";
      if (filter.getAttribute("data-check-url") === url) return;
      filter.setAttribute("data-check-url", url);
      if (url && filter.value.trim() && window.TesseraSetup) window.TesseraSetup.checkExpression(filter);
    });
  }
  function refreshLookups() {
    var related = (choices[objectSelect.value] || {}).related || [];
    $$(".wf-related", form).forEach(function (sel) {
      fillSelect(sel, related.map(function (r) { return {value: r[0], text: r[1], target: r[2]}; }),
                 "Choose the related records\u2026", true);
    });
    var lookups = (choices[objectSelect.value] || {}).lookups || [];
    $$(".wf-lookup", form).forEach(function (sel) {
      fillSelect(sel, lookups.map(function (l) {
        return {value: l[0], text: l[1] + " \u2192 " + ((choices[l[2]] || {}).label || l[2]), target: l[2]};
      }), "Choose a lookup\u2026", true);
    });
  }
  function refreshProcesses() {   // submit_for_approval: the object's approval processes
    var processes = (choices[objectSelect.value] || {}).processes || [];
    $$(".wf-process", form).forEach(function (sel) {
      var current = sel.value;
      while (sel.options.length > 1) sel.remove(1);   // keep "the first active one that applies"
      processes.forEach(function (p) { sel.add(new Option(p[1] + " (" + p[0] + ")", p[0])); });
      if (processes.some(function (p) { return p[0] === current; })) sel.value = current;
    });
  }
  function refreshTemplates() {   // send_email: the object's email templates
    var templates = (choices[objectSelect.value] || {}).templates || [];
    $$(".wf-template", form).forEach(function (sel) {
      fillSelect(sel, templates.map(function (t) { return {value: t[0], text: t[1] + " (" + t[0] + ")"}; }),
                 "Choose a template\u2026", true);
    });
  }
  function refreshChecks() {
    var url = objectSelect.value ? checkBase.replace("__OBJ__", encodeURIComponent(objectSelect.value)) : "";
    $$("[data-expression]", form).forEach(function (area) {
      if (area.hasAttribute("data-own-object")) return;   // refreshCard points it at its own object
      area.setAttribute("data-check-url", url);
      if (window.TesseraSetup && area.value.trim()) window.TesseraSetup.checkExpression(area);
    });
  }

  /* -- adding, removing, moving ---------------------------------------------------------------- */
  function newCard() {
    var card = actionTemplate.content.firstElementChild.cloneNode(true);
    // a before-save workflow only updates the record being saved: start from that
    own(card, ".wf-type")[0].value = "update_record";
    return card;
  }
  form.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (!b || !form.contains(b)) return;
    var card = b.closest(".wf-action");
    if (b.hasAttribute("data-wf-add")) {
      var list = b.previousElementSibling;
      var fresh = newCard();
      list.appendChild(fresh);
      renumberAll();
      refreshLookups();
      refreshProcesses();
      refreshTemplates();
      refreshChecks();
      $$(".wf-action", fresh).concat([fresh]).forEach(refreshCard);
      own(fresh, ".wf-type")[0].focus();
    } else if (b.hasAttribute("data-wf-remove")) {
      card.remove();
      renumberAll();
    } else if (b.getAttribute("data-wf-move") === "up" && card.previousElementSibling) {
      card.parentNode.insertBefore(card, card.previousElementSibling);
      renumberAll();
      own(card, "[data-wf-move=up]")[0].focus();
    } else if (b.getAttribute("data-wf-move") === "down" && card.nextElementSibling) {
      card.parentNode.insertBefore(card.nextElementSibling, card);
      renumberAll();
      own(card, "[data-wf-move=down]")[0].focus();
    } else if (b.hasAttribute("data-wf-add-value")) {
      var row = valueTemplate.content.firstElementChild.cloneNode(true);
      var listKey = b.getAttribute("data-wf-add-value") || "values";
      own(card, ".wf-values").filter(function (v) { return (v.getAttribute("data-list") || "values") === listKey; })[0].appendChild(row);
      renumberAll();
      refreshValueRow(row, targetOf(card));
      row.querySelector("[data-expression]").setAttribute("data-check-url",
        objectSelect.value ? checkBase.replace("__OBJ__", encodeURIComponent(objectSelect.value)) : "");
      row.querySelector(".wf-field").focus();
    } else if (b.hasAttribute("data-wf-add-to")) {
      var key = b.getAttribute("data-wf-add-to") || "to";
      var to = (document.getElementById("wf-" + key + "-template") || toTemplate).content.firstElementChild.cloneNode(true);
      own(card, ".wf-to[data-list=" + key + "]")[0].appendChild(to);
      renumberAll();
      to.querySelector("[data-expression]").setAttribute("data-check-url",
        objectSelect.value ? checkBase.replace("__OBJ__", encodeURIComponent(objectSelect.value)) : "");
      to.querySelector("input").focus();
    } else if (b.hasAttribute("data-wf-remove-to")) {
      var list = b.closest(".wf-to");
      if (list.querySelectorAll(".wf-to-row").length > 1) b.closest(".wf-to-row").remove();
      else b.closest(".wf-to-row").querySelector("input").value = "";   // keep one row to fill in
      renumberAll();
    } else if (b.hasAttribute("data-wf-add-payload")) {   // an inbound webhook's keys
      var prow = document.getElementById("wf-payload-template").content.firstElementChild.cloneNode(true);
      document.getElementById("wf-payload").appendChild(prow);
      renumberPayload();
      prow.querySelector("input").focus();
    } else if (b.hasAttribute("data-wf-remove-payload")) {
      var rows = $$(".wf-payload-row", form), mine = b.closest(".wf-payload-row");
      if (rows.length > 1) mine.remove();
      else mine.querySelector("input").value = "";   // keep one row to fill in
      renumberPayload();
      refreshPayload();
    } else if (b.hasAttribute("data-wf-remove-value")) {
      var values = b.closest(".wf-values");
      b.closest(".wf-value").remove();
      if (!values.querySelector(".wf-value")) {   // keep one row to fill in
        var again = values.getAttribute("data-list") || "values";
        own(card, "[data-wf-add-value]").filter(function (x) { return (x.getAttribute("data-wf-add-value") || "values") === again; })[0].click();
      }
      renumberAll();
    }
  });
  form.addEventListener("change", function (e) {
    var el = e.target, card = el.closest(".wf-action");
    if (el === eventSelect) {
      refreshTrigger();
    } else if (el === objectSelect) {
      refreshDates();
      refreshLookups();
      refreshProcesses();
      refreshTemplates();
      $$(".wf-action", form).forEach(refreshCard);
      refreshChecks();
    } else if (card && (el.classList.contains("wf-assign") || el.classList.contains("wf-method") ||
                        el.classList.contains("wf-wait-mode"))) {
      refreshParts(card);
    } else if (card && (el.classList.contains("wf-type") || el.classList.contains("wf-lookup") || el.classList.contains("wf-object") ||
                        el.classList.contains("wf-related") || el.classList.contains("wf-find"))) {
      refreshCard(card);
      $$(".wf-action", card).forEach(refreshCard);
      own(card, ".wf-value [data-expression]").forEach(function (a) { if (a.value.trim()) window.TesseraSetup.checkExpression(a); });
    } else if (el.hasAttribute("data-pkey")) {
      refreshPayload();
    } else if (card && el.classList.contains("wf-match-field")) {
      var keyExpr = own(card, ".wf-match-value")[0];
      keyExpr.setAttribute("data-field", el.value);
      if (keyExpr.value.trim()) window.TesseraSetup.checkExpression(keyExpr);
    } else if (el.classList.contains("wf-field")) {
      var expr = el.closest(".wf-value").querySelector("[data-expression]");
      expr.setAttribute("data-field", el.value);
      if (expr.value.trim()) window.TesseraSetup.checkExpression(expr);
    }
  });
  form.addEventListener("submit", renumberAll);

  renumberAll();
  refreshTrigger();
  $$(".wf-action", form).forEach(refreshParts);   // the server rendered the options already
  $$(".wf-action", form).forEach(function (card) {   // but a related filter is checked on its own object
    own(card, ".wf-related-filter").forEach(function (f) { f.setAttribute("data-check-url", checkUrlOf(targetOf(card))); });
  });
})();
