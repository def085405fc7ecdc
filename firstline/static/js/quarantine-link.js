// The self-report link page: copy the link, print the card with its QR code (the CSP forbids inline handlers).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var print = event.target.closest && event.target.closest("[data-print]");
    if (print) {
      event.preventDefault();
      window.print();
      return;
    }
    var copy = event.target.closest && event.target.closest("[data-copy]");
    if (!copy) { return; }
    event.preventDefault();
    var field = document.querySelector(copy.getAttribute("data-copy"));
    if (!field) { return; }
    var done = function () { copy.textContent = copy.getAttribute("data-copied") || "✓"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected to copy by hand */ }
    }
  });
})();
