/* The service-metrics charts: ECharts from this app's own static files, data from the page's
   json_script block (no inline script, CSP script-src 'self'). */
(function () {
  "use strict";
  function percentAxis() {
    return { type: "value", min: 0, max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } };
  }
  function draw() {
    var source = document.getElementById("metrics-data");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var trend = document.getElementById("chart-trend");
    if (trend) {
      var series = Object.keys(data.series).map(function (key) {
        return { name: data.labels[key], type: "line", data: data.series[key], connectNulls: true };
      });
      echarts.init(trend).setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 48, bottom: 32 },
        xAxis: { type: "category", data: data.months },
        yAxis: percentAxis(),
        series: series
      });
    }
    var handling = document.getElementById("chart-handling");
    if (handling) {
      echarts.init(handling).setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 48, bottom: 64 },
        xAxis: { type: "category", data: data.departments, axisLabel: { interval: 0, rotate: 30 } },
        yAxis: { type: "value" },
        series: [
          { name: data.handling_labels[0], type: "bar", data: data.avg_handling_days },
          { name: data.handling_labels[1], type: "bar", data: data.p90_handling_days }
        ]
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
