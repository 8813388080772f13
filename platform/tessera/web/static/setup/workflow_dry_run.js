/* Tessera Setup: the workflow builder's "Test on a record" (setup/workflows/edit.html, the
   #dry-run panel). Finds records of the workflow's object by name (or takes a pasted id), posts the
   builder's CURRENT form with the chosen record to the dry-run route and shows the result: the
   condition, each step (before → after, the record it would create), the emails and webhook
   requests it would send. The server rolls everything back. Text only ever enters the page
   through .textContent, never as HTML. */
(function () {
  "use strict";
  var panel = document.getElementById("dry-run"), form = document.getElementById("workflow-form");
  if (!panel || !form) return;
  var search = document.getElementById("dry-run-search"), select = document.getElementById("dry-run-record");
  var go = document.getElementById("dry-run-go"), out = document.getElementById("dry-run-result");
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  var timer = null, asked = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function shown(value) {
    if (value === null || value === undefined || value === "") return "(blank)";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  /* -- choosing the record --------------------------------------------------------------------- */
  function fill(results) {
    while (select.options.length) select.remove(0);
    if (!results.length) select.add(new Option("No record found", ""));
    results.forEach(function (r) { select.add(new Option(r.text === r.id ? r.id : r.text + " \u00b7 " + r.id.slice(0, 8), r.id)); });
  }
  function find() {
    var q = search.value.trim(), mine = ++asked;
    if (UUID.test(q)) { fill([{id: q, text: q}]); return; }
    fetch(panel.getAttribute("data-search-url") + "?q=" + encodeURIComponent(q),
          {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === asked) fill(data.results || []); })
      .catch(function () { if (mine === asked) fill([]); });
  }
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(find, 250); });
  search.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); find(); } });
  find();

  /* -- running it ----------------------------------------------------------------------------- */
  go.addEventListener("click", function () {
    var data = new FormData(form);
    data.append("_record", select.value);
    go.disabled = true;
    out.textContent = "";
    out.appendChild(el("div", "text-muted small", "Testing\u2026"));
    fetch(panel.getAttribute("data-url"), {method: "POST", body: data, credentials: "same-origin",
                                           headers: {Accept: "application/json"}})
      .then(function (r) { return r.json().then(function (body) { return {status: r.status, body: body}; }); })
      .then(function (res) { render(res.status, res.body); })
      .catch(function () { render(0, {error: {message: "The test could not be run (no answer from the server)."}}); })
      .then(function () { go.disabled = false; });
  });

  function render(status, body) {
    out.textContent = "";
    if (body.error && !body.status) { renderError(body.error); return; }
    var head = el("div", "alert py-2 mb-2 " + ({would_run: "alert-success", would_skip: "alert-secondary",
                                                 would_fail: "alert-danger"}[body.status] || "alert-info"));
    head.id = "dry-run-status";
    head.appendChild(el("strong", "", {would_run: "It would run.", would_skip: "It would not run: the condition does not hold.",
                                         would_fail: "It would fail."}[body.status] || body.status));
    if (body.error) head.appendChild(el("div", "small", body.error.message));
    head.appendChild(el("div", "small", (body.draft ? "The form as it is now (unsaved), " : "") + "on " +
                        (body.record.name || body.record.id) + ". Rolled back: nothing was saved, queued or sent."));
    out.appendChild(head);
    if (body.condition) {
      var cond = el("p", "small mb-2 wf-dry-condition");
      cond.appendChild(el("span", "text-muted", "Condition "));
      cond.appendChild(el("code", "", body.condition.expression));
      cond.appendChild(el("span", "badge ml-2 " + (body.condition.result ? "badge-success" : "badge-secondary"),
                          body.condition.result ? "true" : "false"));
      out.appendChild(cond);
    }
    if (body.steps.length) {
      var list = el("ol", "list-unstyled wf-dry-steps mb-2");
      body.steps.forEach(function (s) { list.appendChild(renderStep(s)); });
      out.appendChild(list);
    }
    body.emails.forEach(function (m) { out.appendChild(renderEmail(m)); });
    body.webhooks.forEach(function (h) { out.appendChild(renderWebhook(h)); });
  }

  function renderError(error) {
    var box = el("div", "alert alert-danger py-2 mb-2");
    box.id = "dry-run-status";
    box.appendChild(el("strong", "", error.message || "The test could not be run."));
    if (error.errors && error.errors.length) {
      var ul = el("ul", "small mb-0 pl-3");
      error.errors.forEach(function (p) { ul.appendChild(el("li", "", (p.path ? p.path + ": " : "") + p.message)); });
      box.appendChild(ul);
    }
    out.appendChild(box);
  }

  function renderStep(s) {
    var li = el("li", "wf-dry-step mb-2");
    var title = el("div", "small");
    title.appendChild(el("span", "badge mr-1 " + (s.status === "done" ? "badge-primary" : s.status === "failed" ? "badge-danger" : "badge-secondary"), s.status));
    title.appendChild(el("strong", "", s.label));
    title.appendChild(el("span", "text-muted ml-1", "(" + s.step + ")"));
    li.appendChild(title);
    var detail = s.detail || {};
    if (s.changes) {
      var table = el("table", "table table-sm table-bordered small mb-0 mt-1 wf-dry-changes");
      var hrow = el("tr");
      ["Field", "Before", "After"].forEach(function (h) { hrow.appendChild(el("th", "", h)); });
      table.appendChild(el("thead")).appendChild(hrow);
      var tbody = table.appendChild(el("tbody"));
      s.changes.forEach(function (c) {
        var row = el("tr");
        row.appendChild(el("td", "ts-mono", c.field));
        row.appendChild(el("td", "", shown(c.before)));
        row.appendChild(el("td", "font-weight-bold", shown(c.after)));
        tbody.appendChild(row);
      });
      var wrap = el("div", "table-responsive");
      wrap.appendChild(table);
      li.appendChild(wrap);
    } else if (s.record) {
      li.appendChild(el("div", "small text-muted", "Would create this " + detail.object + ":"));
      li.appendChild(keyValues(s.record));
    } else if (detail.branch) {
      li.appendChild(el("div", "small text-muted", "Takes the " + detail.branch + " branch."));
    } else if (detail.reason) {
      li.appendChild(el("div", "small text-muted", detail.reason));
    } else if (s.status === "failed" && detail.error) {
      li.appendChild(el("div", "small text-danger", detail.error.message));
    } else if (detail.title || detail.owner || detail.recipients) {
      li.appendChild(el("div", "small text-muted", detail.title ? "Title: " + detail.title : "Owner: " + shown(detail.owner)));
    }
    return li;
  }

  function keyValues(obj) {
    var dl = el("dl", "row small mb-0 wf-dry-record");
    Object.keys(obj).forEach(function (k) {
      if (k.charAt(0) === "_" || obj[k] === null || obj[k] === "") return;
      dl.appendChild(el("dt", "col-sm-4 font-weight-normal text-muted ts-mono", k));
      dl.appendChild(el("dd", "col-sm-8 mb-0 text-break", shown(obj[k])));
    });
    return dl;
  }

  function card(icon, title) {
    var c = el("div", "card mb-2 wf-dry-message");
    var h = el("div", "card-header py-1 small");
    var i = el("i", "fa " + icon + " mr-1");
    i.setAttribute("aria-hidden", "true");
    h.appendChild(i);
    h.appendChild(el("strong", "", title));
    c.appendChild(h);
    var b = el("div", "card-body py-2");
    c.appendChild(b);
    return {card: c, body: b};
  }
  function line(parent, label, value) {
    var p = el("div", "small text-break");
    p.appendChild(el("span", "text-muted", label + " "));
    p.appendChild(el("span", "", value));
    parent.appendChild(p);
  }

  function renderEmail(m) {
    var c = card("fa-envelope", "Email it would send (" + m.step + ")");
    c.card.classList.add("wf-dry-email");
    line(c.body, "To", m.to.join(", "));
    if (m.cc.length) line(c.body, "Cc", m.cc.join(", "));
    line(c.body, "Subject", m.subject);
    c.body.appendChild(el("pre", "small bg-light p-2 mb-0 mt-1 wf-dry-body", m.text));
    return c.card;
  }

  function renderWebhook(h) {
    var c = card("fa-paper-plane", "Webhook request it would send (" + h.step + ")");
    c.card.classList.add("wf-dry-webhook");
    line(c.body, h.method, h.url);
    line(c.body, "Signed with", h.credential + " (the signature is made when it is sent)");
    c.body.appendChild(el("pre", "small bg-light p-2 mb-0 mt-1 wf-dry-body", JSON.stringify(h.body, null, 2)));
    return c.card;
  }
})();
