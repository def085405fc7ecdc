// Arrival forms (grid worker, checkpoint, public self-registration, township queue). Loaded as a file: the CSP
// forbids inline scripts. Everything here is an enhancement: the forms work without it.
(function () {
  "use strict";
  // Adding rows to the formset: formset-rows.js (data-add-row).

  // A new row's "from" day defaults to the previous row's "to" day.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.name || !/^travel-\d+-date_to$/.test(input.name)) { return; }
    var row = input.closest("[data-travel-row]");
    var next = row && row.nextElementSibling;
    var from = next && next.querySelector("input[name$='-date_from']");
    if (from && !from.value) { from.value = input.value; }
  });

  // After the ID lookup answers: fill the name of a person already registered (and visible to the user).
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "id-lookup") { return; }
    var known = target.querySelector("[data-fill-name]");
    var name = document.getElementById("id_name");
    if (known && name && !name.value) { name.value = known.getAttribute("data-fill-name"); }
  });

  // "Not in my list": the division whose queue receives the arrival matters only without a household.
  function syncDivision() {
    var household = document.getElementById("id_household");
    var row = document.getElementById("division-row");
    if (!household || !row) { return; }
    row.classList.toggle("d-none", !!household.value);
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "id_household") { syncDivision(); }
  });

  // Household pickers that search the server as one types (too many households to list, or the queue).
  function remotePicker(el) {
    if (!window.TomSelect || el.tomselect) { return; }
    var url = el.getAttribute("data-household-remote");
    var under = el.getAttribute("data-under") || "";
    new window.TomSelect(el, {
      maxItems: 1,
      maxOptions: 50,
      create: false,
      valueField: "value",
      labelField: "text",
      searchField: ["text"],
      loadThrottle: 250,
      load: function (query, callback) {
        var params = new URLSearchParams({ q: query, under: under });
        fetch(url + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.json(); })
          .then(function (body) { callback(body.results || []); })
          .catch(function () { callback(); });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-household-remote]").forEach(remotePicker);
    syncDivision();
  });
})();

// Buttons that ask first (reject a self-registration); forms marked data-confirm are handled by app.js.
document.addEventListener("click", function (event) {
  "use strict";
  var button = event.target.closest && event.target.closest("button[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
