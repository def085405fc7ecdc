// The public venue check-in page (场所码). Loaded as a file: the CSP forbids inline scripts. Only an enhancement:
// the page works without it (two empty rows for accompanying persons are always there).
(function () {
  "use strict";

  // "+ another person" clones the formset's empty row and bumps TOTAL_FORMS (at most MAX_NUM_FORMS rows).
  function addCompanion(button) {
    var prefix = button.getAttribute("data-add-companion");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
    var template = document.getElementById(prefix + "-empty");
    var rows = document.getElementById(prefix + "-rows");
    if (!total || !template || !rows) { return; }
    var index = parseInt(total.value, 10) || 0;
    if (max && index >= parseInt(max.value, 10)) { button.disabled = true; return; }
    var wrapper = document.createElement("div");
    wrapper.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var row = wrapper.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("input");
    if (first) { first.focus(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-add-companion]");
    if (button) {
      event.preventDefault();
      addCompanion(button);
    }
  });

  // One tap on the submit button: a slow network must not turn into a second check-in.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("[data-testid=checkin-form]")) { return; }
    var submit = form.querySelector("button[type=submit]");
    if (submit) {
      window.setTimeout(function () { submit.disabled = true; }, 0);
    }
  });
})();
