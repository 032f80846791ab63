// 网格巡查: fill the point form with the device's position (the button shows only where the
// browser offers geolocation; typing the coordinates always works).
(function () {
  "use strict";
  var button = document.querySelector("[data-locate]");
  if (!button || !navigator.geolocation) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("plat").value = pos.coords.latitude.toFixed(6);
      document.getElementById("plon").value = pos.coords.longitude.toFixed(6);
    });
  });
})();
