// Firstline page behaviour. Loaded as a file: the CSP forbids inline scripts.
(function () {
  "use strict";
  // Forms marked data-confirm ask before submitting (merges, reveals).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // Selects marked data-tom-select become searchable (Tom Select), when the page loads it.
  function enhance(root) {
    if (!window.TomSelect) { return; }
    root.querySelectorAll("select[data-tom-select]").forEach(function (el) {
      if (!el.tomselect) { new window.TomSelect(el, { maxOptions: 500 }); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.body && document.body.addEventListener("htmx:afterSwap", function (e) { enhance(e.target); });
})();
