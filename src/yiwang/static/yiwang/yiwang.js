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

  // 12345 agent desk: answer a 咨询 from a knowledge entry — fill the intake form and submit it
  // (no inline handler: the CSP forbids them).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-answer-from-knowledge]") : null;
    var form = document.getElementById("intake-form");
    if (!button || !form) {
      return;
    }
    event.preventDefault();
    form.elements["knowledge_entry_id"].value = button.getAttribute("data-entry-id");
    form.elements["kind"].value = "consult";
    if (!form.elements["content"].value) {
      form.elements["content"].value = button.getAttribute("data-entry-title");
    }
    form.requestSubmit();
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

  // A chosen file of a type or size the platform refuses is explained at once, next to the
  // field (data-file-check / data-file-too-big carry the message in the page's language), not
  // only after the form is sent.
  var MAX_UPLOAD = 10 * 1024 * 1024;
  function checkFiles(input) {
    var slot = document.getElementById(input.id + "_typecheck");
    if (!slot) {
      slot = document.createElement("p");
      slot.id = input.id + "_typecheck";
      slot.className = "errorlist field-check is-bad";
      slot.setAttribute("role", "alert");
      input.insertAdjacentElement("afterend", slot);
    }
    var allowed = (input.getAttribute("accept") || "").split(",");
    var problem = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var name = file.name.toLowerCase();
      var ok = allowed.some(function (a) {
        a = a.trim().toLowerCase();
        return a && (a.charAt(0) === "." ? name.slice(-a.length) === a : file.type === a);
      });
      if (!ok) {
        problem = input.getAttribute("data-file-check");
      } else if (file.size > MAX_UPLOAD && !problem) {
        problem = input.getAttribute("data-file-too-big");
      }
    });
    slot.textContent = problem;
    slot.hidden = !problem;
    if (problem) {
      input.setAttribute("aria-invalid", "true");
      input.value = "";
    } else {
      input.removeAttribute("aria-invalid");
    }
  }

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-file-check")) {
      checkFiles(field);
    }
    if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });
})();

/* Staff chat (messaging): keep the conversation scrolled to the newest message, and clear the
   send box after a message went out (htmx swaps the new messages in; see chat/room.html). */
(function () {
  "use strict";
  function scrollLog() {
    var log = document.getElementById("chat-log");
    if (log) {
      log.scrollTop = log.scrollHeight;
    }
  }
  document.addEventListener("DOMContentLoaded", scrollLog);
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && (event.target.id === "chat-poller" || (event.detail && event.detail.target && event.detail.target.closest && event.detail.target.closest("#chat-log")))) {
      scrollLog();
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail && event.detail.elt;
    var refused = event.detail && event.detail.xhr && event.detail.xhr.getResponseHeader("HX-Retarget");
    if (form && form.hasAttribute && form.hasAttribute("data-chat-form") && event.detail.successful && !refused) {
      form.reset();
      form.querySelectorAll(".errorlist").forEach(function (list) { list.remove(); });
      scrollLog();
    }
  });
})();
