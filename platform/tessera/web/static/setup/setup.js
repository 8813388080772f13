/* Tessera Setup: small progressive enhancements, no third-party code beyond Flask-Admin's bundle.
   Metadata text is only ever put into the page with textContent / value, never as HTML. */
(function () {
  "use strict";
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  /* -- Flask-Admin's inline handlers, bound here: the CSP (web/headers.py) runs no inline script.
     Its templates write onclick="return modelActions.execute('name');" on the "With selected"
     actions, faHelpers.safeConfirm('message') on row deletes, "return false;" on filter links. */
  $$("[onclick]").forEach(function (el) {
    var code = el.getAttribute("onclick") || "";
    var action = /modelActions\.execute\('([^']*)'\)/.exec(code);
    var confirmText = /faHelpers\.safeConfirm\('((?:[^'\\]|\\.)*)'\)/.exec(code);
    if (!action && !confirmText && !/^\s*return false;?\s*$/.test(code)) return;
    el.removeAttribute("onclick");   // never compiled (and refused) by the browser
    el.addEventListener("click", function (event) {
      if (action) {
        event.preventDefault();
        if (window.modelActions) window.modelActions.execute(action[1]);
      } else if (confirmText) {
        if (!window.confirm(confirmText[1].replace(/\\(.)/g, "$1"))) event.preventDefault();
      } else {
        event.preventDefault();
      }
    });
  });

  document.addEventListener("click", function (event) {   // javascript: links are refused by the CSP too
    var link = event.target.closest && event.target.closest('a[href^="javascript:"]');
    if (link) event.preventDefault();
  });

  /* -- API names derived from labels ------------------------------------------------------- */
  function apiName(label) {
    var s = (label || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (s && !/^[a-z]/.test(s)) s = "n_" + s;
    return s.slice(0, 40).replace(/_+$/, "");
  }
  $$("[data-api-name-source]").forEach(function (src) {
    var target = document.querySelector(src.getAttribute("data-api-name-source"));
    if (!target || target.readOnly) return;
    var touched = !!target.value;
    target.addEventListener("input", function () { touched = !!target.value; });
    src.addEventListener("input", function () { if (!touched) target.value = apiName(src.value); });
  });
  $$("[data-plural-of]").forEach(function (plural) {
    var src = document.querySelector(plural.getAttribute("data-plural-of"));
    var touched = !!plural.value;
    plural.addEventListener("input", function () { touched = !!plural.value; });
    if (src) src.addEventListener("input", function () { if (!touched) plural.placeholder = src.value ? src.value + "s" : ""; });
  });

  /* -- table filters ----------------------------------------------------------------------- */
  $$(".ts-filter[data-filter-target]").forEach(function (input) {
    var table = document.querySelector(input.getAttribute("data-filter-target"));
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      $$("[data-filter-text]", table).forEach(function (row) {
        row.style.display = !q || row.getAttribute("data-filter-text").indexOf(q) >= 0 ? "" : "none";
      });
      $$(".ts-group-row", table).forEach(function (head) {   // hide a group with nothing left in it
        var rows = $$("[data-filter-text]", head.parentNode);
        head.style.display = rows.some(function (r) { return r.style.display !== "none"; }) ? "" : "none";
      });
    });
  });

  /* -- show/hide by a select or radio value ------------------------------------------------ */
  function applyToggle(ctrl) {
    var on = ctrl.type === "radio" ? ctrl.checked : ctrl.value === ctrl.getAttribute("data-toggle-value");
    if (ctrl.type === "radio" && !ctrl.checked) return;
    $$(ctrl.getAttribute("data-toggle-target")).forEach(function (el) { el.classList.toggle("d-none", !on); });
    var other = ctrl.getAttribute("data-toggle-else");
    if (other) $$(other).forEach(function (el) { el.classList.toggle("d-none", on); });
  }
  $$("[data-toggle-target]").forEach(function (ctrl) {
    ctrl.addEventListener("change", function () {
      if (ctrl.type === "radio") $$('input[name="' + ctrl.name + '"]').forEach(applyToggle); else applyToggle(ctrl);
    });
    applyToggle(ctrl);
  });

  /* -- field editor: properties of the chosen type ------------------------------------------- */
  var typeCtrl = document.querySelector("[data-field-type]");
  function showTypeProps() {
    var t = typeCtrl.value;
    $$(".ts-prop[data-types]").forEach(function (el) {
      el.classList.toggle("d-none", el.getAttribute("data-types").split(/\s+/).indexOf(t) < 0);
    });
  }
  if (typeCtrl && typeCtrl.tagName === "SELECT") { typeCtrl.addEventListener("change", showTypeProps); }

  /* -- generic drag-to-reorder within a container ------------------------------------------ */
  function sortable(container, itemSelector) {
    var dragged = null;
    container.addEventListener("dragstart", function (e) {
      var item = e.target.closest && e.target.closest(itemSelector);
      if (!item || !container.contains(item) || e.target.closest(".ts-chip")) return;
      if (e.target.tagName === "INPUT") { e.preventDefault(); return; }
      dragged = item; item.classList.add("ts-dragging");
      e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", "");
    });
    container.addEventListener("dragend", function () { if (dragged) dragged.classList.remove("ts-dragging"); dragged = null; });
    container.addEventListener("dragover", function (e) {
      if (!dragged) return;
      e.preventDefault();
      var over = e.target.closest && e.target.closest(itemSelector);
      if (!over || over === dragged || over.parentNode !== dragged.parentNode) return;
      var r = over.getBoundingClientRect();
      over.parentNode.insertBefore(dragged, e.clientY < r.top + r.height / 2 ? over : over.nextSibling);
    });
  }

  /* -- picklist values editor ---------------------------------------------------------------- */
  var pv = document.getElementById("picklist-values");
  if (pv) {
    var body = pv.querySelector("tbody");
    sortable(body, ".ts-pv-row");
    document.addEventListener("click", function (e) {
      var btn = e.target.closest("[data-pv]");
      if (!btn) return;
      var op = btn.getAttribute("data-pv"), row = btn.closest(".ts-pv-row");
      if (op === "add") {
        var fresh = body.querySelector(".ts-pv-row").cloneNode(true);
        $$("input", fresh).forEach(function (i) { i.value = ""; });
        body.appendChild(fresh); fresh.querySelector("input").focus();
      } else if (op === "remove") {
        if (body.querySelectorAll(".ts-pv-row").length > 1) row.remove(); else $$("input", row).forEach(function (i) { i.value = ""; });
      } else if (op === "up" && row.previousElementSibling) {
        body.insertBefore(row, row.previousElementSibling);
      } else if (op === "down" && row.nextElementSibling) {
        body.insertBefore(row.nextElementSibling, row);
      } else if (op === "sort") {
        $$(".ts-pv-row", body).sort(function (a, b) {
          return a.querySelector("input").value.localeCompare(b.querySelector("input").value);
        }).forEach(function (r) { body.appendChild(r); });
      }
    });
    pv.addEventListener("keydown", function (e) {   // Enter in the last value adds a row
      if (e.key === "Enter" && e.target.name === "pv_value") {
        e.preventDefault();
        var add = document.getElementById("add-value"); if (add) add.click();
      }
    });
  }

  /* -- ordered list widget (list view columns, app tabs) -------------------------------------- */
  $$(".ts-orderlist").forEach(function (widget) {
    var list = widget.querySelector(".ts-orderlist-items"), name = widget.getAttribute("data-name");
    var select = widget.querySelector(".ts-orderlist-add select"), custom = widget.querySelector(".ts-orderlist-add input");
    sortable(list, ".ts-orderlist-item");
    function has(value) { return $$('input[type=hidden]', list).some(function (i) { return i.value === value; }); }
    function add(value, label) {
      if (!value || has(value)) return;
      var tpl = list.querySelector(".ts-orderlist-item");
      var li;
      if (tpl) { li = tpl.cloneNode(true); }
      else {
        li = document.createElement("li"); li.className = "ts-orderlist-item"; li.draggable = true;
        li.innerHTML = '<i class="fa fa-bars ts-grip"></i><input type="hidden"><span class="ts-item-label"></span> <code class="ts-item-name"></code>' +
          '<span class="ts-item-buttons"><button type="button" class="btn btn-link btn-sm" data-move="up" aria-label="Move up"><i class="fa fa-arrow-up"></i></button>' +
          '<button type="button" class="btn btn-link btn-sm" data-move="down" aria-label="Move down"><i class="fa fa-arrow-down"></i></button>' +
          '<button type="button" class="btn btn-link btn-sm text-danger" data-remove aria-label="Remove"><i class="fa fa-times"></i></button></span>';
      }
      var input = li.querySelector("input"); input.name = name; input.value = value;
      li.querySelector(".ts-item-label").textContent = label;
      li.querySelector(".ts-item-name").textContent = value;
      list.appendChild(li);
    }
    widget.addEventListener("click", function (e) {
      var b = e.target.closest("button"); if (!b) return;
      var li = b.closest(".ts-orderlist-item");
      if (b.hasAttribute("data-add")) {
        if (custom && custom.value.trim()) { add(custom.value.trim(), custom.value.trim()); custom.value = ""; }
        else if (select.value) { var opt = select.options[select.selectedIndex]; add(select.value, opt.text.replace(/ \([^)]*\)$/, "")); select.value = ""; }
      } else if (b.hasAttribute("data-remove")) { li.remove(); }
      else if (b.getAttribute("data-move") === "up" && li.previousElementSibling) { list.insertBefore(li, li.previousElementSibling); }
      else if (b.getAttribute("data-move") === "down" && li.nextElementSibling) { list.insertBefore(li.nextElementSibling, li); }
    });
  });

  /* -- expressions checked as you type ------------------------------------------------------- */
  /* Any [data-expression] input, also ones added later (the workflow builder's rows): the body
     names the kind, and for workflow values the object (data-target) and field (data-field) set. */
  function checkExpression(area) {
    var status = area.parentNode.querySelector(".ts-expr-status");
    var returns = area.getAttribute("data-returns") ? document.querySelector(area.getAttribute("data-returns")) : null;
    if (!status || !area.getAttribute("data-check-url")) return;
    if (!area.value.trim()) { status.textContent = ""; status.className = "ts-expr-status"; return; }
    fetch(area.getAttribute("data-check-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({expression: area.value, kind: area.getAttribute("data-expression"),
                            returns: returns ? returns.value : null,
                            target: area.getAttribute("data-target"), field: area.getAttribute("data-field"),
                            // an inbound webhook's expressions see its declared payload keys (workflow.js sets it)
                            payload: area.form && area.form.getAttribute("data-payload") ? JSON.parse(area.form.getAttribute("data-payload")) : null})
    }).then(function (r) { return r.json(); }).then(function (res) {
      status.className = "ts-expr-status " + (res.ok ? "ok" : "bad");
      status.textContent = res.ok ? "\u2714 Valid (" + res.type + ")" : "\u2716 " + res.error;
    }).catch(function () { status.textContent = ""; });
  }
  var exprTimers = new WeakMap();
  document.addEventListener("input", function (e) {
    var area = e.target.closest && e.target.closest("[data-expression]");
    if (!area) return;
    clearTimeout(exprTimers.get(area));
    exprTimers.set(area, setTimeout(function () { checkExpression(area); }, 400));
  });
  $$("[data-expression]").forEach(function (area) {
    var returns = area.getAttribute("data-returns") ? document.querySelector(area.getAttribute("data-returns")) : null;
    if (returns) returns.addEventListener("change", function () { checkExpression(area); });
    if (area.value.trim()) checkExpression(area);
  });
  window.TesseraSetup = {checkExpression: checkExpression};

  /* -- object permission matrix: implied rights ------------------------------------------------ */
  var IMPLIES = {modify_all: ["view_all", "edit", "delete", "read"], view_all: ["read"], edit: ["read"], delete: ["read"]};
  $$(".ts-matrix tr[data-object]").forEach(function (row) {
    row.addEventListener("change", function (e) {
      var box = e.target; if (!box.matches("input.ts-right")) return;
      var a = box.getAttribute("data-action");
      function set(action, on) { var b = row.querySelector('input[data-action="' + action + '"]'); if (b) b.checked = on; }
      if (box.checked) (IMPLIES[a] || []).forEach(function (x) { set(x, true); });
      else Object.keys(IMPLIES).forEach(function (k) { if (IMPLIES[k].indexOf(a) >= 0) set(k, false); });
    });
  });
  /* -- field-level security: edit needs read ----------------------------------------------------- */
  $$("#fls-table tr[data-field]").forEach(function (row) {
    row.addEventListener("change", function (e) {
      var box = e.target, read = row.querySelector('input[data-action="read"]'), edit = row.querySelector('input[data-action="edit"]');
      if (box === edit && edit.checked) read.checked = true;
      if (box === read && !read.checked && edit) edit.checked = false;
    });
  });
  $$("[data-check-all]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var a = btn.getAttribute("data-check-all");
      var boxes = $$('#fls-table input[data-action="' + a + '"]');
      var on = boxes.some(function (b) { return !b.checked; });
      boxes.forEach(function (b) { b.checked = on; b.dispatchEvent(new Event("change", {bubbles: true})); });
    });
  });

  /* -- passwords ------------------------------------------------------------------------------- */
  $$("[data-generate-password]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var field = document.querySelector(btn.getAttribute("data-generate-password"));
      var bytes = new Uint8Array(12); window.crypto.getRandomValues(bytes);
      var alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
      field.value = Array.prototype.map.call(bytes, function (b) { return alphabet[b % alphabet.length]; }).join("");
      field.type = "text"; field.focus(); field.select();
    });
  });

  $$("[data-place-after]").forEach(function (el) {   // e.g. the generate button under its password input
    var target = document.querySelector(el.getAttribute("data-place-after"));
    if (target) target.parentNode.insertBefore(el, target.nextSibling);
  });

  /* -- select2 for multi-selects (Flask-Admin bundles it) ---------------------------------------- */
  if (window.jQuery && jQuery.fn.select2) { jQuery("select[multiple]").select2({width: "100%"}); }

  /* -- page layout editor ------------------------------------------------------------------------ */
  var editor = document.getElementById("layout-editor");
  if (!editor) return;
  var sections = document.getElementById("sections"), palette = document.getElementById("palette");
  var dragged = null, lastZone = null;

  function zoneOf(el) { return el.closest && el.closest("[data-dropzone]"); }
  function insertAt(zone, chip, x, y) {
    var chips = $$(".ts-chip", zone).filter(function (c) { return c !== chip; });
    var best = null, bestDist = Infinity, after = false;
    chips.forEach(function (c) {
      var r = c.getBoundingClientRect(), cx = r.left + r.width / 2, cy = r.top + r.height / 2;
      var d = Math.hypot(cx - x, cy - y);
      if (d < bestDist) { bestDist = d; best = c; after = (Math.abs(cy - y) < r.height / 2) ? x > cx : y > cy; }
    });
    var hint = zone.querySelector(".ts-drop-hint");
    if (!best) zone.insertBefore(chip, hint); else zone.insertBefore(chip, after ? best.nextSibling : best);
  }
  editor.addEventListener("dragstart", function (e) {
    var chip = e.target.closest && e.target.closest(".ts-chip");
    if (!chip) return;
    dragged = chip; chip.classList.add("ts-dragging");
    e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", chip.getAttribute("data-field"));
  });
  editor.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("ts-dragging");
    dragged = null; $$(".ts-over").forEach(function (z) { z.classList.remove("ts-over"); });
  });
  editor.addEventListener("dragover", function (e) {
    var zone = zoneOf(e.target); if (!zone || !dragged) return;
    e.preventDefault(); e.dataTransfer.dropEffect = "move";
    $$(".ts-over").forEach(function (z) { if (z !== zone) z.classList.remove("ts-over"); });
    zone.classList.add("ts-over");
  });
  editor.addEventListener("drop", function (e) {
    var zone = zoneOf(e.target); if (!zone || !dragged) return;
    e.preventDefault(); zone.classList.remove("ts-over");
    insertAt(zone, dragged, e.clientX, e.clientY);
    if (!zone.hasAttribute("data-palette")) lastZone = zone;
  });
  editor.addEventListener("click", function (e) {
    var t = e.target.closest("button"); if (!t) return;
    var section = t.closest("[data-section]"), related = t.closest("[data-related]");
    if (t.hasAttribute("data-chip-remove")) { palette.insertBefore(t.closest(".ts-chip"), palette.querySelector(".ts-drop-hint")); }
    else if (t.hasAttribute("data-section-remove")) {
      $$(".ts-chip", section).forEach(function (c) { palette.insertBefore(c, palette.querySelector(".ts-drop-hint")); });
      section.remove();
    }
    else if (t.getAttribute("data-section-move") === "up" && section.previousElementSibling) sections.insertBefore(section, section.previousElementSibling);
    else if (t.getAttribute("data-section-move") === "down" && section.nextElementSibling) sections.insertBefore(section.nextElementSibling, section);
    else if (t.hasAttribute("data-related-remove")) related.remove();
    else if (t.getAttribute("data-related-move") === "up" && related.previousElementSibling) related.parentNode.insertBefore(related, related.previousElementSibling);
    else if (t.getAttribute("data-related-move") === "down" && related.nextElementSibling) related.parentNode.insertBefore(related.nextElementSibling, related);
  });
  editor.addEventListener("dblclick", function (e) {   // palette → last used section (keyboard-free alternative to dragging)
    var chip = e.target.closest(".ts-chip");
    if (!chip || !palette.contains(chip)) return;
    var zone = lastZone && document.body.contains(lastZone) ? lastZone : sections.querySelector("[data-dropzone]");
    if (zone) zone.insertBefore(chip, zone.querySelector(".ts-drop-hint"));
  });
  editor.addEventListener("change", function (e) {
    if (e.target.classList.contains("ts-section-columns")) {
      var zone = e.target.closest("[data-section]").querySelector("[data-dropzone]");
      zone.classList.remove("ts-cols-1", "ts-cols-2"); zone.classList.add("ts-cols-" + e.target.value);
    }
  });
  editor.addEventListener("focusin", function (e) {
    var s = e.target.closest("[data-section]"); if (s) lastZone = s.querySelector("[data-dropzone]");
  });
  document.getElementById("add-section").addEventListener("click", function () {
    var node = document.getElementById("section-template").content.firstElementChild.cloneNode(true);
    sections.appendChild(node); node.querySelector(".ts-section-label").focus();
    lastZone = node.querySelector("[data-dropzone]");
  });
  var addRelated = document.getElementById("add-related");
  if (addRelated) addRelated.addEventListener("click", function () {
    var node = document.getElementById("related-template").content.firstElementChild.cloneNode(true);
    document.getElementById("related-lists").appendChild(node);
  });
  var filter = document.getElementById("palette-filter");
  if (filter) filter.addEventListener("input", function () {
    var q = filter.value.trim().toLowerCase();
    $$(".ts-chip", palette).forEach(function (c) { c.style.display = !q || c.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none"; });
  });
  function layoutData() {
    return {
      label: document.getElementById("layout-label").value,
      sections: $$("[data-section]", sections).map(function (s) {
        return {label: s.querySelector(".ts-section-label").value, columns: parseInt(s.querySelector(".ts-section-columns").value, 10),
                fields: $$(".ts-chip", s).map(function (c) { return c.getAttribute("data-field"); })};
      }),
      related_lists: $$("#related-lists [data-related]").map(function (r) {
        return {relation: r.querySelector(".ts-related-relation").value, label: r.querySelector(".ts-related-label").value,
                columns: r.querySelector(".ts-related-columns").value.split(",").map(function (c) { return c.trim(); }).filter(Boolean)};
      })
    };
  }
  var layoutForm = document.getElementById("layout-form");
  // The unsaved-changes guard (forms.js) compares this with what the page loaded with.
  layoutForm.tsState = function () { return JSON.stringify(layoutData()); };
  layoutForm.addEventListener("submit", function () {
    document.getElementById("layout-json").value = JSON.stringify(layoutData());
  });
})();
