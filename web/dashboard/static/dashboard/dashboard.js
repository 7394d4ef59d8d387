// Hearth dashboard: charts (uPlot), live alerts and the realtime view (SSE). No build step.
(function () {
  "use strict";
  var streams = {};

  function fmtTime(interval) {
    return function (u, vals) {
      return vals.map(function (v) {
        var d = new Date(v * 1000);
        return interval === "hour" ? d.toISOString().slice(11, 16) : d.toISOString().slice(5, 10);
      });
    };
  }

  function drawCharts(root) {
    if (!window.uPlot) return;
    root.querySelectorAll(".chart[data-json]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var src = document.getElementById(el.dataset.json);
      if (!src) return;
      var d = JSON.parse(src.textContent);
      var xs = d.t.map(function (t) { return Date.parse(t) / 1000; });
      var key = el.dataset.series || "visitors";
      var data = [xs, d[key]];
      var series = [{}, { label: key, stroke: "#1d4ed8", fill: "rgba(29,78,216,0.12)", width: 2 }];
      if (d.pageviews && key === "visitors") {
        data.push(d.pageviews);
        series.push({ label: "pageviews", stroke: "#94a3b8", width: 1 });
      }
      if (d.previous && d.previous.length === xs.length) {
        data.push(d.previous);
        series.push({ label: "previous period", stroke: "#f59e0b", dash: [4, 4], width: 1 });
      }
      el.dataset.drawn = "1";
      new uPlot({
        width: Math.max(300, el.clientWidth || 800), height: 220, series: series,
        axes: [{ values: fmtTime(d.interval), incrs: d.interval === "hour" ? [3600, 7200, 10800, 21600, 43200] : [86400, 172800, 604800, 2592000] }, {}],
        scales: { x: { time: true } },
      }, data, el);
    });
  }

  function open(name, url, onData, stateEl) {
    if (streams[name]) return streams[name];
    var es = new EventSource(url, { withCredentials: true });
    es.addEventListener("stream-open", function () {
      if (stateEl && stateEl.tagName === "UL") stateEl.dataset.state = "live";
      else if (stateEl) stateEl.textContent = "live";
    });
    es.addEventListener("stream-error", function () {
      if (stateEl && stateEl.tagName === "UL") stateEl.dataset.state = "error";
      else if (stateEl) stateEl.textContent = "error";
    });
    es.onerror = function () {
      if (stateEl && stateEl.tagName === "UL") stateEl.dataset.state = "reconnecting";
      else if (stateEl) stateEl.textContent = "reconnecting…";
    };
    es.onmessage = function (e) {
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (data && typeof data === "object" && data.data && !data.site) data = data.data;
      onData(data);
    };
    streams[name] = es;
    return es;
  }

  function closeStream(name) {
    if (streams[name]) { streams[name].close(); delete streams[name]; }
  }

  function alertText(d) {
    if (d.title) return d.title;
    if (d.message) return (d.type ? d.type + ": " : "") + d.message;
    return JSON.stringify(d);
  }

  // A burst of alerts of one kind (say 200 new issues after a deploy) is one line with a
  // counter, not 200 lines: the server dedupes per key, this coalesces per kind.
  var lastByKind = {};

  function initAlerts() {
    var list = document.getElementById("alerts");
    if (!list || !list.dataset.sse) return;
    open("alerts", list.dataset.sse, function (d) {
      var kind = d.kind || (d.issue ? "errors" : "alert");
      var now = Date.now();
      var last = lastByKind[kind];
      if (last && now - last.at < 60000 && last.li.isConnected) {
        last.more += 1;
        last.li.textContent = last.text + " (+" + last.more + " more)";
        return;
      }
      var li = document.createElement("li");
      li.className = "alert " + kind;
      li.textContent = alertText(d);
      list.prepend(li);
      lastByKind[kind] = { at: now, li: li, text: li.textContent, more: 0 };
      while (list.children.length > 5) list.lastChild.remove();
    }, list);
  }

  function initRealtime() {
    var root = document.getElementById("realtime");
    if (!root) { closeStream("realtime"); return; }
    if (streams.realtime) return;
    var visitors = document.getElementById("rt-visitors");
    var pageviews = document.getElementById("rt-pageviews");
    var feed = document.getElementById("rt-feed");
    var dots = document.getElementById("rt-dots");
    var centroids = JSON.parse(document.getElementById("rt-centroids").textContent);
    var ns = "http://www.w3.org/2000/svg";
    open("realtime", root.dataset.sse, function (d) {
      if (typeof d.visitors_now === "number") visitors.textContent = d.visitors_now;
      if (typeof d.pageviews === "number") {
        pageviews.textContent = parseInt(pageviews.textContent, 10) + d.pageviews;
      }
      var now = new Date().toISOString().slice(11, 19);
      (d.pages || []).slice(0, 10).reverse().forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = now + " " + p;
        feed.prepend(li);
      });
      while (feed.children.length > 30) feed.lastChild.remove();
      Object.keys(d.countries || {}).forEach(function (code) {
        var c = centroids[code];
        if (!c) return;
        var dot = document.createElementNS(ns, "circle");
        dot.setAttribute("cx", c[0]); dot.setAttribute("cy", c[1]);
        dot.setAttribute("r", Math.min(12, 3 + d.countries[code]));
        dot.setAttribute("class", "dot");
        dots.appendChild(dot);
        setTimeout(function () { dot.remove(); }, 30000);
      });
    }, document.getElementById("rt-state"));
  }

  function init(root) {
    drawCharts(root || document);
    initAlerts();
    initRealtime();
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function () { init(document); });
})();
