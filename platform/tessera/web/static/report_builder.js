/* The report builder (/app/<app>/reports/new): a definition edited point-and-click, previewed live
   through POST /app/_api/reports/preview (run as the signed-in user), saved as the user's own report.
   The condition builder (conditions.js) writes expression text; the expression box accepts typed
   expressions too, and the preview's answer validates them. The server checks
   everything again: this script only offers what the page's configuration lists as readable. */
(function () {
  "use strict";
  var root = document.getElementById("report-builder");
  if (!root) return;
  var cfg = JSON.parse(root.getAttribute("data-config"));
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var $ = function (id) { return document.getElementById(id); };
  var init = cfg.initial || {};
  var objectNames = Object.keys(cfg.objects);
  var state = {
    object: cfg.objects[init.object] ? init.object : objectNames[0],
    format: init.format || "tabular",
    columns: (init.columns || []).slice(),
    filter: init.filter || "",
    groupings: (init.groupings || []).slice(),
    column_groupings: (init.column_groupings || []).slice(),
    summaries: (init.summaries || []).slice(),
    chart: init.chart || null
  };
  var extra = {};   // keys of a copied definition the builder does not edit (sort, limit, description)
  ["sort", "limit", "description"].forEach(function (k) { if (init[k] !== undefined) extra[k] = init[k]; });

  function fields() { return cfg.objects[state.object].fields; }
  function field(name) { return fields().filter(function (f) { return f.name === name; })[0]; }
  function label(path) {
    var parts = path.split(":"), f = field(parts[0]);
    return (f ? f.label : parts[0]) + (parts[1] ? " (" + parts[1].replace("_", " ") + ")" : "");
  }
  function summaryLabel(s) {
    if (typeof s === "object") return s.formula ? (s.label || s.name) + " = " + s.formula : (s.label || summaryLabel(s.metric));
    if (s === "count") return "Record count";
    var p = s.split(":");
    return {sum: "Sum", avg: "Average", min: "Smallest", max: "Largest", count_distinct: "Distinct"}[p[0]] + " of " + label(p[1]);
  }
  function option(select, value, text) {
    var o = document.createElement("option"); o.value = value; o.textContent = text; select.appendChild(o); return o;
  }
  function fill(select, items, keep) {
    var before = select.value;
    select.innerHTML = "";
    items.forEach(function (it) { option(select, it[0], it[1]); });
    if (keep && items.some(function (it) { return it[0] === before; })) select.value = before;
  }

  // -- lists with remove / move buttons, reorderable by drag and drop ------------------------------
  function renderList(ul, items, textOf, onChange) {
    ul.innerHTML = "";
    items.forEach(function (item, i) {
      var li = document.createElement("li");
      li.className = "list-group-item list-group-item-action d-flex align-items-center py-1 px-2 rb-item";
      li.draggable = true;
      li.dataset.index = i;
      var span = document.createElement("span"); span.className = "mr-auto small"; span.textContent = textOf(item);
      li.appendChild(span);
      [["up", "fa-arrow-up", "Move up"], ["down", "fa-arrow-down", "Move down"], ["remove", "fa-times", "Remove"]].forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button"; btn.className = "btn btn-link btn-sm py-0 px-1 rb-" + b[0];
        btn.setAttribute("aria-label", b[2] + " " + textOf(item)); btn.title = b[2];
        btn.innerHTML = '<i class="fas ' + b[1] + '" aria-hidden="true"></i>';
        btn.addEventListener("click", function () {
          if (b[0] === "remove") items.splice(i, 1);
          else move(items, i, b[0] === "up" ? i - 1 : i + 1);
          onChange();
        });
        li.appendChild(btn);
      });
      li.addEventListener("dragstart", function (ev) { ev.dataTransfer.setData("text/plain", String(i)); });
      li.addEventListener("dragover", function (ev) { ev.preventDefault(); });
      li.addEventListener("drop", function (ev) {
        ev.preventDefault();
        move(items, Number(ev.dataTransfer.getData("text/plain")), i);
        onChange();
      });
      ul.appendChild(li);
    });
  }
  function move(items, from, to) {
    if (to < 0 || to >= items.length || from === to) return;
    items.splice(to, 0, items.splice(from, 1)[0]);
  }

  // -- the condition builder (conditions.js): each condition is ANDed onto the expression box ------
  var conditions;
  function addCondition(text) {
    var box = $("rb-filter"), now = box.value.trim();
    box.value = now ? "(" + now + ") and " + text : text;
    schedule();
  }

  // -- drawing the form from the state -----------------------------------------------------------
  function bucketUnits(select, fieldName) {
    var f = field(fieldName);
    fill(select, f && f.kind === "date" ? [["", "(exact date)"]].concat(cfg.date_units.map(function (u) { return [u, "by " + u.replace("_", " ")]; })) : [["", "—"]], true);
    select.disabled = !(f && f.kind === "date");
  }
  function drawFields() {
    var fs = fields();
    fill($("rb-column-add"), fs.filter(function (f) { return f.column && state.columns.indexOf(f.name) < 0; })
      .map(function (f) { return [f.name, f.label]; }), false);
    var groupable = fs.filter(function (f) { return f.group; }).map(function (f) { return [f.name, f.label]; });
    fill($("rb-group-field"), groupable, true);
    fill($("rb-colgroup-field"), groupable, true);
    bucketUnits($("rb-group-unit"), $("rb-group-field").value);
    bucketUnits($("rb-colgroup-unit"), $("rb-colgroup-field").value);
    sumFields();
    if (conditions) conditions.refresh();
  }
  function sumFields() {
    var fn = $("rb-sum-fn").value;
    var ok = fields().filter(function (f) { return fn === "count_distinct" ? f.group : fn === "sum" || fn === "avg" ? f.sum : f.order; });
    fill($("rb-sum-field"), fn === "count" ? [["", "—"]] : ok.map(function (f) { return [f.name, f.label]; }), true);
    $("rb-sum-field").disabled = fn === "count";
  }
  function draw() {
    var f = state.format;
    $("rb-columns-card").classList.toggle("d-none", f !== "tabular");
    $("rb-groupings-card").classList.toggle("d-none", f === "tabular");
    $("rb-colgroups-box").classList.toggle("d-none", f !== "matrix");
    renderList($("rb-columns"), state.columns, label, changed);
    renderList($("rb-groupings"), state.groupings, label, changed);
    renderList($("rb-colgroups"), state.column_groupings, label, changed);
    renderList($("rb-summaries"), state.summaries, summaryLabel, changed);
    fill($("rb-column-add"), fields().filter(function (x) { return x.column && state.columns.indexOf(x.name) < 0; })
      .map(function (x) { return [x.name, x.label]; }), false);
  }

  function definition() {
    var d = {object: state.object, format: state.format};
    Object.keys(extra).forEach(function (k) { d[k] = extra[k]; });
    if (state.format === "tabular" && state.columns.length) d.columns = state.columns.slice();
    if (state.format !== "tabular" && state.groupings.length) d.groupings = state.groupings.slice();
    if (state.format === "matrix" && state.column_groupings.length) d.column_groupings = state.column_groupings.slice();
    if (state.summaries.length) d.summaries = state.summaries.slice();
    var filter = $("rb-filter").value.trim();
    if (filter) d.filter = filter;
    var chart = $("rb-chart").value;
    if (chart) d.chart = Object.assign({}, state.chart && state.chart.type === chart ? state.chart : {}, {type: chart});
    return d;
  }

  // -- live preview --------------------------------------------------------------------------------
  var timer = null, seq = 0;
  function changed() { draw(); schedule(); }
  function schedule() { clearTimeout(timer); timer = setTimeout(preview, 350); }
  function send(method, url, body) {
    return fetch(url, {method: method, credentials: "same-origin",
                       headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
                       body: body === undefined ? undefined : JSON.stringify(body)})
      .then(function (r) {
        if (r.status === 204) return {ok: true, status: 204, body: {}};
        return r.json().then(function (b) { return {ok: r.ok, status: r.status, body: b}; });
      });
  }
  function message(body) { return (body && body.error && body.error.message) || "Something went wrong."; }
  function preview() {
    var mine = ++seq;
    $("rb-status").textContent = "Updating…";
    send("POST", cfg.urls.preview, {app: root.dataset.app, definition: definition()}).then(function (res) {
      if (mine !== seq) return;
      var err = $("rb-preview-error"), filterBox = $("rb-filter");
      var msg = res.ok ? "" : message(res.body);
      var filterProblem = !res.ok && /(^|; )filter: /.test(msg);
      filterBox.classList.toggle("is-invalid", filterProblem);
      $("rb-filter-error").textContent = filterProblem ? msg : "";
      err.classList.toggle("d-none", res.ok);
      err.textContent = msg;
      $("rb-status").textContent = res.ok ? "Preview up to date" : "Not valid yet";
      root.dataset.previewState = res.ok ? "ok" : "error";
      if (!res.ok) return;
      $("rb-preview-chart").innerHTML = res.body.chart;
      $("rb-preview-table").innerHTML = res.body.table;
      var box = $("rb-preview-chart").querySelector(".report-chart");
      if (box && window.TesseraCharts) window.TesseraCharts.draw(box);
    });
  }

  // -- saving --------------------------------------------------------------------------------------
  function saveBody() {
    return {label: $("rb-label").value, folder: $("rb-folder").value, definition: definition(),
            shared_with_role: $("rb-share-role").value || null,
            shared_with_subordinates: !!$("rb-share-role").value && $("rb-share-subordinates").checked,
            shared_with_group: $("rb-share-group").value || null};
  }
  function save(asNew) {
    var id = cfg.report_id, body = saveBody();
    var req = id && !asNew ? send("PUT", cfg.urls.item.replace("ID", id), body) : send("POST", cfg.urls.save, body);
    req.then(function (res) {
      var err = $("rb-save-error");
      err.classList.toggle("d-none", res.ok);
      if (!res.ok) { err.textContent = message(res.body); return; }
      window.location.href = cfg.urls.run.replace("ID", res.body.id || id);
    });
  }

  // -- wiring --------------------------------------------------------------------------------------
  fill($("rb-object"), objectNames.map(function (n) { return [n, cfg.objects[n].label]; }), false);
  $("rb-object").value = state.object;
  $("rb-format").value = state.format;
  $("rb-filter").value = state.filter;
  $("rb-label").value = init.label || "";
  $("rb-folder").value = init.folder || "";
  cfg.chart_types.forEach(function (t) { option($("rb-chart"), t, t.charAt(0).toUpperCase() + t.slice(1)); });
  $("rb-chart").value = state.chart ? state.chart.type : "";
  cfg.roles.forEach(function (r) { option($("rb-share-role"), r, r); });
  cfg.groups.forEach(function (g) { option($("rb-share-group"), g, g); });
  $("rb-share-role").value = init.shared_with_role || "";
  $("rb-share-subordinates").checked = !!init.shared_with_subordinates;
  $("rb-share-group").value = init.shared_with_group || "";

  $("rb-object").addEventListener("change", function () {
    state.object = this.value;
    state.columns = []; state.groupings = []; state.column_groupings = []; state.summaries = [];
    $("rb-filter").value = "";
    drawFields(); changed();
  });
  $("rb-format").addEventListener("change", function () { state.format = this.value; changed(); });
  $("rb-column-add-btn").addEventListener("click", function () {
    var v = $("rb-column-add").value;
    if (v && state.columns.indexOf(v) < 0) { state.columns.push(v); changed(); }
  });
  conditions = TesseraConditions.attach({field: $("rb-cond-field"), op: $("rb-cond-op"), value: $("rb-cond-value"),
                                        choice: $("rb-cond-choice"), add: $("rb-cond-add")}, fields, addCondition);
  $("rb-filter").addEventListener("input", schedule);
  function grouping(list, fieldSel, unitSel) {
    return function () {
      var key = $(fieldSel).value + ($(unitSel).value ? ":" + $(unitSel).value : "");
      if ($(fieldSel).value && list().indexOf(key) < 0) { list().push(key); changed(); }
    };
  }
  $("rb-group-add").addEventListener("click", grouping(function () { return state.groupings; }, "rb-group-field", "rb-group-unit"));
  $("rb-colgroup-add").addEventListener("click", grouping(function () { return state.column_groupings; }, "rb-colgroup-field", "rb-colgroup-unit"));
  $("rb-group-field").addEventListener("change", function () { bucketUnits($("rb-group-unit"), this.value); });
  $("rb-colgroup-field").addEventListener("change", function () { bucketUnits($("rb-colgroup-unit"), this.value); });
  $("rb-sum-fn").addEventListener("change", sumFields);
  $("rb-sum-add").addEventListener("click", function () {
    var fn = $("rb-sum-fn").value, metric = fn === "count" ? "count" : fn + ":" + $("rb-sum-field").value;
    if (fn !== "count" && !$("rb-sum-field").value) return;
    if (state.summaries.indexOf(metric) < 0) { state.summaries.push(metric); changed(); }
  });
  $("rb-formula-add").addEventListener("click", function () {
    var name = $("rb-formula-name").value.trim(), formula = $("rb-formula").value.trim();
    if (!name || !formula) return;
    state.summaries.push({name: name, formula: formula});
    $("rb-formula-name").value = ""; $("rb-formula").value = "";
    changed();
  });
  $("rb-chart").addEventListener("change", schedule);
  $("rb-save").addEventListener("click", function () { save(false); });
  if ($("rb-save-as")) $("rb-save-as").addEventListener("click", function () {
    $("rb-label").value = "Copy of " + $("rb-label").value;
    save(true);
  });
  if ($("rb-delete")) $("rb-delete").addEventListener("click", function () {
    if (!window.confirm("Delete this report?")) return;
    send("DELETE", cfg.urls.item.replace("ID", cfg.report_id)).then(function (res) {
      if (res.ok) window.location.href = cfg.urls.list;
      else { $("rb-save-error").classList.remove("d-none"); $("rb-save-error").textContent = message(res.body); }
    });
  });

  drawFields();
  draw();
  preview();
})();
