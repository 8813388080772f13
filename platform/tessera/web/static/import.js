/* The import wizard's progress page: poll the import's status, move the bar, and show the result
   page when the job has finished (no inline scripts under /app: CSP script-src 'self'). */
(function () {
  "use strict";
  var card = document.getElementById("import-run");
  if (!card || card.dataset.status === "done" || card.dataset.status === "failed") return;
  var bar = document.getElementById("import-progress");
  var phase = document.getElementById("import-phase");
  function poll() {
    fetch(card.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.status === "done" || s.status === "failed") { window.location.reload(); return; }
        var pct = s.total ? Math.floor(100 * s.progress / s.total) : 0;
        if (bar) {
          bar.style.width = pct + "%";
          bar.setAttribute("aria-valuenow", s.progress);
          bar.textContent = s.progress + " / " + s.total;
        }
        if (phase) phase.textContent = s.status === "queued" ? "Waiting for a worker…" : "Importing " + s.total + " rows…";
        window.setTimeout(poll, 400);
      })
      .catch(function () { window.setTimeout(poll, 1500); });
  }
  window.setTimeout(poll, 200);
})();
