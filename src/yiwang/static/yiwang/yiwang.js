/* Yiwang: the little script the pages need. Everything works without it. */
(function () {
  "use strict";
  // After the htmx elder-mode toggle swaps #page, carry its state up to <html>, where the
  // stylesheet's rem-based sizes take the root font size from.
  function syncElderMode() {
    var page = document.getElementById("page");
    if (page) {
      document.documentElement.classList.toggle("elder", page.classList.contains("elder"));
    }
  }
  document.addEventListener("htmx:afterSwap", syncElderMode);
  document.addEventListener("htmx:afterSettle", function () {
    syncElderMode();
    var toggle = document.getElementById("elder-toggle");
    if (toggle && document.activeElement === document.body) {
      toggle.focus();
    }
  });
})();
