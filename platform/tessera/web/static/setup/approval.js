/* Tessera Setup: the approval process editor's steps (setup/approvals/edit.html). Each step is a card
   with approver rows; inputs are named after their place in the document (steps.1.approvers.0.value),
   renumbered after each add / remove / move, so the posted form IS the structure the server reads.
   The final actions are workflow steps: workflow.js runs those lists. Metadata text only ever enters
   the page through .value / .textContent, never as HTML. */
(function () {
  "use strict";
  var form = document.getElementById("approval-form");
  if (!form) return;
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var list = form.querySelector(".ap-steps");
  var stepTemplate = document.getElementById("ap-step-template");
  var approverTemplate = document.getElementById("ap-approver-template");
  var hints = JSON.parse(document.getElementById("ap-hints").textContent);
  var objectSelect = document.getElementById("object");
  var checkBase = form.getAttribute("data-check-base");

  function steps() {
    return Array.prototype.filter.call(list.children, function (el) { return el.classList.contains("ap-step"); });
  }
  function renumber() {
    steps().forEach(function (card, i) {
      var p = "steps." + i;
      card.querySelector(".ap-step-no").textContent = (i + 1) + ".";
      $$(".ap-step-input", card).forEach(function (input) { input.name = p + "." + input.getAttribute("data-key"); });
      $$(".ap-approver", card).forEach(function (row, k) {
        $$("[data-key]", row).forEach(function (input) {
          input.name = p + ".approvers." + k + "." + input.getAttribute("data-key");
        });
      });
    });
  }
  function refreshRow(row) {   // the manager needs no value; a role is suggested from the roles
    var type = row.querySelector(".ap-type").value, value = row.querySelector(".ap-value");
    value.classList.toggle("d-none", type === "manager");
    value.placeholder = hints[type] || "";
    if (type === "role") value.setAttribute("list", "ap-roles"); else value.removeAttribute("list");
  }
  function checkUrl() {
    return objectSelect.value ? checkBase.replace("__OBJ__", encodeURIComponent(objectSelect.value)) : "";
  }

  form.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (!b || !form.contains(b)) return;
    var card = b.closest(".ap-step");
    if (b.hasAttribute("data-ap-add-step")) {
      var fresh = stepTemplate.content.firstElementChild.cloneNode(true);
      list.appendChild(fresh);
      $$("[data-expression]", fresh).forEach(function (a) { a.setAttribute("data-check-url", checkUrl()); });
      renumber();
      $$(".ap-approver", fresh).forEach(refreshRow);
      fresh.querySelector(".ap-step-input").focus();
    } else if (b.hasAttribute("data-ap-remove-step")) {
      card.remove();
      renumber();
    } else if (b.getAttribute("data-ap-move") === "up" && card.previousElementSibling) {
      list.insertBefore(card, card.previousElementSibling);
      renumber();
      b.focus();
    } else if (b.getAttribute("data-ap-move") === "down" && card.nextElementSibling) {
      list.insertBefore(card.nextElementSibling, card);
      renumber();
      b.focus();
    } else if (b.hasAttribute("data-ap-add-approver")) {
      var row = approverTemplate.content.firstElementChild.cloneNode(true);
      card.querySelector(".ap-approvers").appendChild(row);
      renumber();
      refreshRow(row);
      row.querySelector(".ap-type").focus();
    } else if (b.hasAttribute("data-ap-remove-approver")) {
      var rows = b.closest(".ap-approvers");
      if (rows.querySelectorAll(".ap-approver").length > 1) b.closest(".ap-approver").remove();
      renumber();
    }
  });
  form.addEventListener("change", function (e) {
    if (e.target.classList.contains("ap-type")) refreshRow(e.target.closest(".ap-approver"));
  });
  form.addEventListener("submit", renumber);
  renumber();
  $$(".ap-approver", form).forEach(refreshRow);
})();
