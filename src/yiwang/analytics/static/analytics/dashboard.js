/* The dashboards' charts: ECharts from the platform's own static files (no CDN, no inline
   script). Each panel fetches its figures from /api/v1/analytics/panels/<code>; the map
   colours the demo city's districts (GeoJSON shipped by the hotline app); the big screen
   refreshes every minute. PNG export is ECharts' own getDataURL, offline. */
(function () {
  "use strict";
  var config = {};
  var charts = {};
  var dark = false;
  var geoReady = null;

  // the key tasks' lights (oversight_lights) keep their own colours
  var LIGHT_COLOURS = { green: "#0f7b3a", yellow: "#c99400", red: "#b3001b", done: "#6b7280" };

  function percent(v) { return v === null || v === undefined ? "—" : (Math.round(v * 1000) / 10) + "%"; }

  function withScope(url, extra) {
    var sep = url.indexOf("?") === -1 ? "?" : "&";
    return url + sep + "scope=" + encodeURIComponent(config.scope || "") + (extra || "");
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function chartFor(el) {
    if (!charts[el.id]) {
      charts[el.id] = echarts.init(el, dark ? "dark" : null, { renderer: "canvas" });
    }
    return charts[el.id];
  }

  // Resize the charts whose box has a size. A box can measure 0×0 for a moment while the
  // window changes (a full-page screenshot, a rotated phone, a hidden tab): ECharts 6.1.0 then
  // throws inside the map's geo layout (a zero view rect has no inverse transform, apache/echarts
  // #21706), so such a chart waits for the next resize instead.
  function resizeAll() {
    Object.keys(charts).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.clientWidth > 0 && el.clientHeight > 0) { charts[id].resize(); }
    });
  }

  function optionFor(data) {
    var textColor = dark ? "#e6edf7" : "#1f2328";
    var base = { animation: false, backgroundColor: dark ? "#0c1f3a" : "#ffffff", tooltip: {}, textStyle: { color: textColor } };
    var valueAxis = data.rate
      ? { type: "value", min: 0, max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } }
      : { type: "value", minInterval: 1 };
    if (data.chart === "pie") {
      var series = data.series[0] || { data: [] };
      base.tooltip = { trigger: "item" };
      base.legend = { type: "scroll", bottom: 0, textStyle: { color: textColor } };
      base.series = [{
        type: "pie", radius: ["35%", "65%"], name: series.name,
        data: data.categories.map(function (c, i) {
          var item = { name: c, value: series.data[i] };
          var colour = LIGHT_COLOURS[(data.dimensions || [])[i]];
          if (colour) { item.itemStyle = { color: colour }; }
          return item;
        })
      }];
      return base;
    }
    if (data.chart === "gauge") {
      var value = (data.series[0] || { data: [null] }).data[0];
      base.series = [{
        type: "gauge", min: 0, max: 100, progress: { show: true },
        detail: { formatter: function () { return percent(value); }, color: textColor, fontSize: 22 },
        data: [{ value: value === null ? 0 : Math.round(value * 1000) / 10, name: data.categories[0] || "" }]
      }];
      return base;
    }
    base.tooltip = { trigger: "axis", valueFormatter: data.rate ? percent : undefined };
    base.legend = { top: 0, textStyle: { color: textColor } };
    base.grid = { left: 48, right: 16, top: 36, bottom: 32 };
    base.xAxis = { type: "category", data: data.categories };
    base.yAxis = valueAxis;
    base.series = data.series.map(function (s) {
      var lights = { "cases.sla.green": "#0f7b3a", "cases.sla.yellow": "#c99400", "cases.sla.red": "#b3001b" };
      var item = { name: s.name, type: data.chart === "bar" ? "bar" : "line", data: s.data, connectNulls: true };
      if (data.period === "snapshot" && data.chart === "bar" && s.code === data.code) {
        item.data = s.data.map(function (v, i) {
          var code = (data.indicator_codes || [])[i];
          return lights[code] ? { value: v, itemStyle: { color: lights[code] } } : v;
        });
      }
      return item;
    });
    return base;
  }

  function drawPanel(el) {
    return getJSON(withScope(el.getAttribute("data-api"))).then(function (data) {
      var chart = chartFor(el);
      chart.setOption(optionFor(data), true);
      var drill = el.getAttribute("data-drill");
      if (drill) {
        chart.off("click");
        chart.on("click", function () { window.location.href = drill; });
      }
      el.setAttribute("data-rendered", "1");
    }).catch(function () { el.setAttribute("data-rendered", "error"); });
  }

  function loadGeo() {
    if (!geoReady) {
      geoReady = getJSON(config.geojson).then(function (geo) { echarts.registerMap("yiwang-city", geo); return geo; });
    }
    return geoReady;
  }

  function drawMap(el) {
    var select = document.querySelector("[data-map-select]");
    var indicator = select ? select.value : "cases.submitted";
    el.setAttribute("data-rendered", "0");
    var xlsx = document.querySelector("[data-map-xlsx]");
    if (xlsx) {
      xlsx.href = xlsx.href.replace(/([?&])indicator=[^&]*/, "$1").replace(/[?&]$/, "") + "&indicator=" + encodeURIComponent(indicator);
    }
    return loadGeo().then(function () {
      return getJSON(withScope(el.getAttribute("data-api"), "&indicator=" + encodeURIComponent(indicator)));
    }).then(function (data) {
      var values = data.districts.filter(function (d) { return d.visible && d.value !== null; }).map(function (d) { return d.value; });
      var max = values.length ? Math.max.apply(null, values) : 1;
      var textColor = dark ? "#e6edf7" : "#1f2328";
      var names = {};
      data.districts.forEach(function (d) { names[d.code] = d.name; });
      chartFor(el).setOption({
        animation: false,
        backgroundColor: dark ? "#0c1f3a" : "#ffffff",
        tooltip: { trigger: "item", formatter: function (p) {
          var v = p.data ? p.data.value : null;
          var none = v === null || v === undefined || v === "-";
          return (names[p.name] || p.name) + ":" + (none ? "—" : (data.rate ? percent(v) : v));
        } },
        visualMap: {
          min: 0, max: max || 1, calculable: true, left: 8, bottom: 8, text: [data.indicator_label, ""],
          textStyle: { color: textColor }, inRange: { color: ["#d7ebff", "#5aa0e6", "#0b3d91"] },
          formatter: data.rate ? function (v) { return percent(v); } : undefined
        },
        series: [{
          type: "map", map: "yiwang-city", nameProperty: "code", roam: false,
          label: { show: true, color: "#111", formatter: function (p) { return names[p.name] || p.name; } },
          // "-" is ECharts' own "no value" (a null breaks the visual map's lookup)
          data: data.districts.map(function (d) {
            return { name: d.code, value: d.visible && d.value !== null ? d.value : "-" };
          })
        }]
      });  // merged, not replaced: re-creating the geo component mid-frame throws inside ECharts
      el.setAttribute("data-rendered", "1");
    }).catch(function () { el.setAttribute("data-rendered", "error"); });
  }

  function loadDuty(el) {
    // who is on duty now (政务值班): an HTML fragment of <li>, phones already masked by the server
    return fetch(el.getAttribute("data-duty"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) { el.innerHTML = html; el.setAttribute("data-loaded", "1"); })
      .catch(function () { el.setAttribute("data-loaded", "error"); });
  }

  function drawAll() {
    document.querySelectorAll("[data-duty]").forEach(function (el) { loadDuty(el); });
    document.querySelectorAll("[data-panel]").forEach(function (el) { drawPanel(el); });
    document.querySelectorAll("[data-map]").forEach(function (el) { drawMap(el); });
  }

  function exportPng(button) {
    var chart = charts[button.getAttribute("data-export-png")];
    if (!chart) { return; }
    var link = document.createElement("a");
    link.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: dark ? "#0c1f3a" : "#ffffff" });
    link.download = button.getAttribute("data-export-png").replace(/^chart-/, "") + ".png";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  function start() {
    var source = document.getElementById("analytics-config");
    if (!source || typeof echarts === "undefined") { return; }
    config = JSON.parse(source.textContent);
    dark = document.body.getAttribute("data-theme") === "dark";
    drawAll();
    window.addEventListener("resize", resizeAll);
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-export-png]");
      if (button) { exportPng(button); }
    });
    var select = document.querySelector("[data-map-select]");
    if (select) {
      select.addEventListener("change", function () { document.querySelectorAll("[data-map]").forEach(drawMap); });
    }
    if (document.body.getAttribute("data-refresh") === "1" && config.refresh_seconds) {
      window.setInterval(drawAll, config.refresh_seconds * 1000);
      var clock = document.getElementById("an-clock");
      if (clock) {
        window.setInterval(function () {
          var now = new Date();
          var pad = function (n) { return (n < 10 ? "0" : "") + n; };
          clock.textContent = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) + " " + pad(now.getHours()) + ":" + pad(now.getMinutes());
        }, 15000);
      }
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
