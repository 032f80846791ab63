/* Yiwang: the little script the pages need. Everything works without it.
   The Content-Security-Policy allows no inline script, so pages ask for behaviour with
   data attributes handled here: data-print (print button), data-confirm (ask before a form
   is sent), data-submit-once (a double click sends the form once), data-autosubmit (a
   filter that applies itself on change). */
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

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) {
      event.preventDefault();
      window.print();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-submit-once")) {
      var button = form.querySelector("[type=submit]");
      if (button && button.dataset.sent) {
        event.preventDefault();
        return;
      }
      if (button) {
        button.dataset.sent = "1";
      }
    }
  });

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });
})();
