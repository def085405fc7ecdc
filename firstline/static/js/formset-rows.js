// Formsets that grow in the browser: a button marked data-add-row="<prefix>" clones the formset's empty row (the
// <template>-like element with id "<prefix>-empty") into "<prefix>-rows" and bumps TOTAL_FORMS, up to MAX_NUM_FORMS.
// Used by the arrival forms (travel history) and the public venue check-in (accompanying persons). Loaded as a
// file: the CSP forbids inline scripts. An enhancement only: the pages always carry some empty rows.
(function () {
  "use strict";

  function addRow(button) {
    var prefix = button.getAttribute("data-add-row");
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
    var button = event.target.closest && event.target.closest("[data-add-row]");
    if (button) {
      event.preventDefault();
      addRow(button);
    }
  });
})();
