// Today's fast list ("my people today"). Loaded as a file: the CSP forbids inline scripts. Only an enhancement:
// without it each cell is a plain form with a Save button that posts and comes back to the list.
// With it: a cell saves as you go (fetch POST with the CSRF token, JSON answer shown in the cell, no reload);
// Enter or Tab in a temperature moves to the same check of the next person (Shift+Tab goes back as usual).
(function () {
  "use strict";
  document.documentElement.classList.add("fl-js");

  function temperatureInputs(slot) {
    return Array.prototype.slice.call(document.querySelectorAll("input[data-temp][data-slot='" + slot + "']"));
  }

  function moveToNext(input) {
    var inputs = temperatureInputs(input.getAttribute("data-slot"));
    var index = inputs.indexOf(input);
    var next = inputs[index + 1];
    if (next) {
      next.focus();
      next.select();
      return true;
    }
    return false;
  }

  function symptomsOf(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input[name=symptoms]:checked")).map(function (box) {
      return box.value;
    }).sort().join(",");
  }

  function isDirty(form) {
    var input = form.querySelector("input[data-temp]");
    if (!input) { return false; }
    return input.value.trim() !== (input.getAttribute("data-saved") || "") ||
      symptomsOf(form) !== (form.getAttribute("data-saved-symptoms") || "");
  }

  function show(form, text, state) {
    var status = form.querySelector("[data-status]");
    var cell = form.closest("td");
    if (status) { status.textContent = text; }
    if (cell) {
      cell.classList.remove("fl-saving", "fl-saved", "fl-error", "fl-alert");
      if (state) { cell.classList.add("fl-" + state); }
    }
  }

  function save(form) {
    var input = form.querySelector("input[data-temp]");
    if (!input || input.value.trim() === "") { return; }
    if (!isDirty(form)) { return; }
    // Enter saves and moves on; the blur that follows fires "change": one request per value, not two.
    var key = input.value.trim() + "|" + symptomsOf(form);
    if (form.getAttribute("data-pending") === key) { return; }
    form.setAttribute("data-pending", key);
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    show(form, form.closest("table").getAttribute("data-saving") || "…", "saving");
    var sentTemperature = input.value.trim();
    var sentSymptoms = symptomsOf(form);
    window.fetch(form.action, {
      method: "POST",
      body: new window.FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token ? token.value : "" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      form.removeAttribute("data-pending");
      var body = answer.body || {};
      if (answer.ok && body.ok) {
        input.value = body.check.temperature;
        input.setAttribute("data-saved", body.check.temperature);
        form.setAttribute("data-saved-symptoms", sentSymptoms);
        var summary = form.querySelector("[data-symptom-summary]");
        if (summary && body.check.symptoms) {
          summary.setAttribute("data-count", String(body.check.symptoms.length));
        }
        show(form, body.message || "✓", body.check.alert ? "alert" : "saved");
        var row = form.closest("tr");
        if (row && body.check.alert) { row.classList.add("table-danger"); }
      } else {
        var errors = body.errors || {};
        var text = Object.keys(errors).map(function (key) { return errors[key].join(" "); }).join(" ");
        show(form, text || body.message || "?", "error");
        if (input.value.trim() === sentTemperature) { input.setAttribute("aria-invalid", "true"); }
      }
    }).catch(function () {
      form.removeAttribute("data-pending");
      show(form, form.closest("table").getAttribute("data-offline") || "!", "error");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-check-form]").forEach(function (form) {
      form.setAttribute("data-saved-symptoms", symptomsOf(form));
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("form[data-check-form]")) { return; }
    event.preventDefault();
    save(form);
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input || !input.matches || !input.matches("input[data-temp]")) { return; }
    if (event.key === "Enter" || (event.key === "Tab" && !event.shiftKey)) {
      var form = input.form;
      if (form) { save(form); }
      if (moveToNext(input) || event.key === "Enter") { event.preventDefault(); }
    }
  });

  // Leaving a changed temperature saves it; ticking a symptom saves the cell when it has a temperature.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || !target.form || !target.form.matches("form[data-check-form]")) { return; }
    if (target.matches("input[data-temp]") || target.name === "symptoms") {
      target.removeAttribute("aria-invalid");
      save(target.form);
    }
  });
})();
