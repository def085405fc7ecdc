// 协查 batch pages: countdowns to the locate / control / report-back deadlines, refreshed every second.
// Loaded as a file (the CSP forbids inline scripts). Each countdown carries its deadline (epoch ms) and window
// (seconds) as data-* attributes.
(function () {
  "use strict";
  var LEVELS = ["text-bg-success", "text-bg-warning", "text-bg-danger", "text-bg-secondary"];

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function span(seconds) {
    var s = Math.abs(seconds);
    return Math.floor(s / 3600) + ":" + pad(Math.floor((s % 3600) / 60)) + ":" + pad(Math.floor(s % 60));
  }

  function level(left, windowSeconds) {
    if (left <= 0) { return "text-bg-danger"; }
    // Same rule as the server: the last quarter of the window, at most the last hour.
    var warn = Math.min(Math.max(Math.floor(windowSeconds / 4), 1), 3600);
    return left <= warn ? "text-bg-warning" : "text-bg-success";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown-due]").forEach(function (el) {
      if (el.getAttribute("data-countdown-done") === "1") { return; }
      var due = parseInt(el.getAttribute("data-countdown-due"), 10);  // milliseconds since the epoch
      if (isNaN(due)) { return; }
      var left = Math.round((due - now) / 1000);
      var css = level(left, parseInt(el.getAttribute("data-countdown-window"), 10) || 0);
      LEVELS.forEach(function (c) { if (c !== css) { el.classList.remove(c); } });
      el.classList.add(css);
      var text = el.querySelector("[data-countdown-text]");
      if (text) {
        var label = el.getAttribute(left > 0 ? "data-label-left" : "data-label-overdue") || "%s";
        text.textContent = label.replace("%s", span(left));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-countdown-due]")) { return; }
    tick();
    window.setInterval(tick, 1000);
  });
})();
