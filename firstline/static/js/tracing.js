// Tracing pages (cases, exposures, contacts). Loaded as a file: the CSP forbids inline scripts. Everything here is
// an enhancement: the pages work without it.
(function () {
  "use strict";

  // After the ID lookup answers: fill the name of a person already registered (and visible to the user).
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "id-lookup") { return; }
    var known = target.querySelector("[data-fill-name]");
    var name = document.getElementById("id_name");
    if (known && name && !name.value) { name.value = known.getAttribute("data-fill-name"); }
  });

  // "Tick all" in the exposure queue ticks every row's box (boxes belong to the bulk form through form="…").
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box && box.getAttribute && box.getAttribute("data-check-all");
    if (!name) { return; }
    document.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (item) {
      item.checked = box.checked;
    });
  });
})();
