/* The dataset page's chart of its preview rows (issue #18): ECharts from the app's own static
   files (the npm package, no CDN), data from the page's json_script block (no inline script,
   CSP script-src 'self'). The preview table next to it carries the same numbers for screen
   readers and for printing. */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("od-chart-data");
    var box = document.getElementById("od-chart");
    if (!source || !box || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var chart = echarts.init(box, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 56, right: 16, top: 40, bottom: 72, containLabel: true },
      xAxis: { type: "category", data: data.categories, axisLabel: { interval: 0, rotate: data.categories.length > 4 ? 30 : 0 } },
      yAxis: { type: "value" },
      series: data.series.map(function (s) { return { name: s.name, type: "bar", data: s.data }; })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
