// The public venue check-in page (场所码). Loaded as a file: the CSP forbids inline scripts. Only an enhancement:
// the page works without it (two empty rows for accompanying persons are always there).
(function () {
  "use strict";
  // Adding rows to the formset: formset-rows.js (data-add-row).

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
