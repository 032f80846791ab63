/* Kiosk idle timer: no touch, key or pointer for data-kiosk-idle seconds signs the session out
   (the logout form is posted, so the server ends the session). A warning shows 15 s before.
   The server ends an idle session too (appointments.middleware), whatever this script does. */
(function () {
  "use strict";
  var bar = document.querySelector("[data-kiosk-idle]");
  if (!bar) { return; }
  var seconds = parseInt(bar.getAttribute("data-kiosk-idle"), 10) || 120;
  var warning = bar.querySelector(".kiosk-idle");
  var last = Date.now();
  function touch() { last = Date.now(); if (warning) { warning.hidden = true; } }
  ["pointerdown", "touchstart", "keydown", "input", "wheel"].forEach(function (name) {
    document.addEventListener(name, touch, { passive: true, capture: true });
  });
  window.setInterval(function () {
    var idle = (Date.now() - last) / 1000;
    if (warning && idle > seconds - 15) { warning.hidden = false; }
    if (idle >= seconds) {
      var form = document.getElementById("kiosk-logout");
      if (form) {
        form.querySelector("input[name=reason]").value = "idle";
        form.submit();
      } else if (window.location.pathname !== bar.getAttribute("data-home")) {
        window.location.assign(bar.getAttribute("data-home"));
      }
      last = Date.now();
    }
  }, 1000);
}());
