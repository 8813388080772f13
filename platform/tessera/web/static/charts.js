/* Report and dashboard charts: each .report-chart carries its chart as JSON (analytics/charts.py);
   plotly.js (served from the plotly wheel) draws it. A click on a bar, slice or point opens the
   matching records (the point's drill-down link). Also: collapsible groups of summary reports. */
(function () {
  "use strict";
  var PALETTE = ["#1b6ac9", "#0f9d8a", "#7b4fd6", "#e0772b", "#2e9e44", "#d6457a", "#4254c5", "#6b7785", "#c73b3b", "#1aa3c2"];

  function money(format) { return format === "currency"; }
  function tickFormat(format) {
    if (format === "percent") return ".0%";
    if (format === "integer") return ",d";
    return ",";
  }

  function traces(c) {
    var cats = c.categories || [];
    var series = c.series || [];
    var t = c.type;
    if (t === "metric" || t === "gauge") {
      var ind = {type: "indicator", value: c.value === null ? 0 : c.value,
                 mode: t === "gauge" ? "gauge+number" : "number",
                 number: {valueformat: c.format === "percent" ? ".1%" : ",.2~f"}};
      if (typeof c.previous_value === "number") {
        ind.mode += "+delta";
        ind.delta = {reference: c.previous_value, relative: true, valueformat: ".1%"};
      }
      if (t === "gauge") {
        var top = Math.max(c.target || 0, c.value || 0) * 1.1 || 1;
        ind.gauge = {axis: {range: [0, top]}, bar: {color: PALETTE[0]},
                     threshold: {line: {color: "#c73b3b", width: 3}, thickness: 0.8, value: c.target || 0}};
      }
      return [ind];
    }
    if (t === "pie" || t === "donut") {
      return [{type: "pie", labels: cats, values: series[0].values, hole: t === "donut" ? 0.5 : 0,
               marker: {colors: PALETTE}, sort: false, textinfo: "label+percent"}];
    }
    if (t === "funnel") {
      return [{type: "funnel", y: cats, x: series[0].values, marker: {color: PALETTE[0]}, textinfo: "value"}];
    }
    if (t === "scatter") {
      return [{type: "scatter", mode: "markers", x: series[0].x, y: series[0].values, text: cats,
               marker: {size: 11, color: PALETTE[0]}}];
    }
    return series.map(function (s, i) {
      var base = {name: s.name, marker: {color: PALETTE[i % PALETTE.length]}};
      if (t === "bar") return Object.assign(base, {type: "bar", orientation: "h", y: cats, x: s.values});
      if (t === "column") return Object.assign(base, {type: "bar", x: cats, y: s.values});
      var line = Object.assign(base, {type: "scatter", mode: "lines+markers", x: cats, y: s.values,
                                      line: {color: PALETTE[i % PALETTE.length], width: 2}});
      if (t === "area") { line.fill = c.stacked ? "tonexty" : "tozeroy"; if (c.stacked) line.stackgroup = "one"; }
      return line;
    });
  }

  function layout(c, el) {
    var narrow = el.clientWidth < 480;
    var l = {margin: {t: 10, r: 10, b: narrow ? 60 : 50, l: narrow ? 50 : 70}, showlegend: (c.series || []).length > 1,
             legend: {orientation: "h", y: -0.2}, barmode: c.stacked ? "stack" : "group",
             paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: {family: "inherit", size: 12},
             height: el.clientHeight || 320};
    var axis = {tickformat: tickFormat(c.format), tickprefix: money(c.format) ? (document.body.dataset.currencySymbol || "") : ""};
    // categories are names ("Q4 2026", "Prospecting"): never let plotly read them as dates or numbers
    if (c.type === "bar") { l.xaxis = axis; l.yaxis = {automargin: true, type: "category"}; }
    else if (["column", "line", "area"].indexOf(c.type) >= 0) { l.yaxis = axis; l.xaxis = {automargin: true, type: "category"}; }
    else if (c.type === "scatter") { l.yaxis = axis; l.xaxis = {automargin: true}; }
    if (c.type === "funnel") l.yaxis = {automargin: true, type: "category"};
    return l;
  }

  function linkFor(c, point) {
    var series = (c.series || [])[point.curveNumber] || {};
    var links = (series.links && series.links.length) ? series.links : c.links || [];
    return links[point.pointNumber] || null;
  }

  function draw(el) {
    var c;
    try { c = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
    if (!window.Plotly) { el.textContent = "Charts could not load."; return; }
    if (c.categories && !c.categories.length) {
      el.classList.add("report-chart-empty");
      el.textContent = "No records to chart.";
      el.setAttribute("data-drawn", "1");
      return;
    }
    window.Plotly.newPlot(el, traces(c), layout(c, el), {displayModeBar: false, responsive: true});
    el.on("plotly_click", function (ev) {
      var url = ev && ev.points && ev.points.length ? linkFor(c, ev.points[0]) : null;
      if (url) window.location.href = url;
    });
    el.setAttribute("data-drawn", "1");
  }

  function toggleGroups(button) {
    var row = button.closest("tr");
    var depth = Number(row.getAttribute("data-depth"));
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.setAttribute("aria-label", open ? "Collapse" : "Expand");
    button.querySelector("i").className = open ? "fas fa-caret-down" : "fas fa-caret-right";
    for (var next = row.nextElementSibling; next && Number(next.getAttribute("data-depth")) > depth; next = next.nextElementSibling) {
      if (open) {
        // reopen only the direct children; deeper rows follow their own toggle's state
        if (Number(next.getAttribute("data-depth")) === depth + 1) next.hidden = false;
      } else {
        next.hidden = true;
      }
      var inner = next.querySelector(".group-toggle");
      if (open && inner) inner.setAttribute("aria-expanded", "false"), inner.querySelector("i").className = "fas fa-caret-right";
    }
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest(".group-toggle") : null;
    if (button) { ev.preventDefault(); toggleGroups(button); }
  });
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("select[data-autosubmit]")) ev.target.form.submit();
  });
  document.querySelectorAll(".report-chart[data-chart]").forEach(draw);
  // for pages that insert charts later (the report builder's preview)
  window.TesseraCharts = {draw: draw};
})();
