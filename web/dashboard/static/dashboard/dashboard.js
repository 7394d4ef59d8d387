// Hearth dashboard: charts (uPlot), live alerts and the realtime view (SSE). No build step.
(function () {
  "use strict";
  var streams = {};

  var LABELS = { visitors: "Visitors", visits: "Visits", pageviews: "Pageviews", events: "Events",
                 views_per_visit: "Views per visit", bounce_rate: "Bounce rate",
                 visit_duration_s: "Visit duration" };
  var COUNTS = { visitors: 1, visits: 1, pageviews: 1, events: 1 };
  var chosen = "visitors";  // the metric the dashboard chart shows (top-stat cards pick it)

  function fmtNum(v) { return v == null ? "–" : Number(v).toLocaleString("en-US"); }

  function fmtDuration(s) {
    s = Math.round(s);
    if (s >= 3600) return Math.floor(s / 3600) + "h " + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
    return s >= 60 ? Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s" : s + "s";
  }

  // A metric's value as the top-stat cards show it.
  function fmtMetric(key, v) {
    if (v == null) return "–";
    if (key === "bounce_rate") return Math.round(v * 100) + "%";
    if (key === "views_per_visit") return Number(v).toFixed(2);
    if (key === "visit_duration_s") return fmtDuration(v);
    return fmtNum(v);
  }

  function fmtTime(interval) {
    return function (u, vals) {
      return vals.map(function (v) {
        var d = new Date(v * 1000);
        return interval === "hour" ? d.toISOString().slice(11, 16) : d.toISOString().slice(5, 10);
      });
    };
  }

  function when(t, interval) {
    var d = new Date(t * 1000).toISOString();
    return interval === "hour" ? d.slice(0, 10) + " " + d.slice(11, 16) + " UTC" : d.slice(0, 10);
  }

  // Counts have whole-number ticks: 1, 2, 5, 10, 20, 50, ... (never 0.5 events).
  var INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5,
                   2e5, 5e5, 1e6, 2e6, 5e6, 1e7];

  // The current, partial period is drawn dotted from the last whole one (as Plausible does),
  // so it does not read as a drop; buckets after now are null and not drawn at all.
  function splitPartial(values, current) {
    var whole = values.slice(), partial = values.map(function () { return null; });
    if (current != null && current > 0 && values[current] != null) {
      partial[current - 1] = values[current - 1];
      partial[current] = values[current];
      whole[current] = null;
    }
    return [whole, partial];
  }

  function legendAtRest(el, d, key) {
    var total = d.totals && d.totals[key] != null ? d.totals[key] :
      (d[key] || []).reduce(function (a, v) { return a + (v || 0); }, 0);
    var text = (LABELS[key] || key) + ": " + fmtMetric(key, total) + (COUNTS[key] ? " in this period" : " over the period");
    if (d.previous && d.previous.length && key === "visitors") {
      var prev = d.previous_total != null ? d.previous_total :
        d.previous.reduce(function (a, v) { return a + (v || 0); }, 0);
      text += " · " + (d.previous_total_label || d.previous_label || "previous") + ": " + fmtNum(prev);
    }
    el.textContent = text;
  }

  function drawChart(el) {
    var src = document.getElementById(el.dataset.json);
    if (!src) return;
    var d = JSON.parse(src.textContent);
    var key = el.dataset.series || chosen;
    if (!d[key]) key = "visitors";
    var xs = d.t.map(function (t) { return Date.parse(t) / 1000; });
    var parts = splitPartial(d[key], d.current);
    var data = [xs, parts[0], parts[1]];
    var series = [{},
      { label: LABELS[key] || key, stroke: "#1d4ed8", fill: "rgba(29,78,216,0.12)", width: 2 },
      { label: "so far", stroke: "#1d4ed8", dash: [3, 4], width: 2, points: { show: false } }];
    var hasPrev = d.previous && d.previous.length === xs.length && key === "visitors";
    if (hasPrev) {
      data.push(d.previous);
      series.push({ label: d.previous_label || "previous", stroke: "#f59e0b", dash: [6, 4], width: 1 });
    }
    if (el._plot) { el._plot.destroy(); el._plot = null; }
    el.textContent = "";
    var legend = document.createElement("p");
    legend.className = "chart-legend";
    legend.setAttribute("aria-live", "polite");
    var box = document.createElement("div");
    el.appendChild(box);
    el.appendChild(legend);
    legendAtRest(legend, d, key);
    el.dataset.drawn = "1";
    el.dataset.metric = key;
    el._plot = new uPlot({
      width: Math.max(260, el.clientWidth || 800), height: 220, series: series,
      legend: { show: false },
      axes: [
        { values: fmtTime(d.interval), incrs: d.interval === "hour" ? [3600, 7200, 10800, 21600, 43200] : [86400, 172800, 604800, 2592000] },
        COUNTS[key] ? { incrs: INT_INCRS, size: 56, values: function (u, vals) { return vals.map(fmtNum); } }
                    : { size: 56, values: function (u, vals) { return vals.map(function (v) { return fmtMetric(key, v); }); } },
      ],
      scales: { x: { time: true }, y: { range: function (u, lo, hi) { return [0, Math.max(hi || 0, 1) * 1.1]; } } },
      hooks: { setCursor: [function (u) {
        var i = u.cursor.idx;
        if (i == null) { legendAtRest(legend, d, key); return; }
        var v = d[key][i];
        if (v == null) { legendAtRest(legend, d, key); return; }
        var text = when(xs[i], d.interval) + ": " + (COUNTS[key] ? fmtNum(v) + " " + (LABELS[key] || key).toLowerCase()
                                                                : (LABELS[key] || key).toLowerCase() + " " + fmtMetric(key, v));
        if (i === d.current) text += " (so far)";
        if (hasPrev) text += " · " + (d.previous_label || "previous") + ": " + fmtNum(d.previous[i]);
        legend.textContent = text;
      }] },
    }, data, box);
  }

  function drawCharts(root) {
    if (!window.uPlot) return;
    root.querySelectorAll(".chart[data-json]").forEach(function (el) {
      if (el.dataset.drawn) return;
      drawChart(el);
    });
  }

  // A top-stat card charts its metric (click, Enter or Space).
  function pick(card) {
    var metric = card.dataset.metric;
    if (!LABELS[metric]) return;
    chosen = metric;
    document.querySelectorAll(".stat.chartable").forEach(function (c) {
      c.setAttribute("aria-pressed", c === card ? "true" : "false");
    });
    var el = document.querySelector("#panel-chart .chart[data-json]");
    if (el && window.uPlot) drawChart(el);
  }
  document.addEventListener("click", function (e) {
    var card = e.target.closest && e.target.closest(".stat.chartable");
    if (card) pick(card);
  });
  document.addEventListener("keydown", function (e) {
    var card = e.target.closest && e.target.closest(".stat.chartable");
    if (card && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); pick(card); }
  });
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      document.querySelectorAll(".chart[data-json]").forEach(function (el) {
        if (el._plot) el._plot.setSize({ width: Math.max(260, el.clientWidth), height: 220 });
      });
    }, 150);
  });

  // The custom range picker refuses a reversed or incomplete range before it is sent: the
  // end day's min follows the start (the browser's own check), and the reason is written
  // under the form whichever check stops it.
  function rangeProblem(form) {
    var from = form.elements.from.value, to = form.elements.to.value;
    if (!from || !to) return "Pick both days of the range.";
    if (to < from) return "The range ends (" + to + ") before it starts (" + from + "): pick an end day on or after the start.";
    return "";
  }
  function showProblem(form, msg) {
    var out = form.querySelector(".form-error");
    if (out) { out.textContent = msg; out.hidden = !msg; }
  }
  document.addEventListener("invalid", function (e) {
    var form = e.target.form;
    if (form && form.matches("form[data-range-form]")) showProblem(form, rangeProblem(form) || e.target.validationMessage);
  }, true);
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-range-form]")) return;
    var msg = rangeProblem(form);
    showProblem(form, msg);
    if (msg) {
      e.preventDefault();
      e.stopPropagation();
      form.elements.to.setCustomValidity(msg);
      form.elements.to.reportValidity();
    }
  }, true);
  document.addEventListener("input", function (e) {
    var form = e.target.form;
    if (!form || !form.matches("form[data-range-form]")) return;
    form.elements.to.setCustomValidity("");
    if (e.target.name === "from" && e.target.value) form.elements.to.min = e.target.value;
    showProblem(form, "");
  });

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
      var waiting = document.getElementById("rt-feed-empty");
      if (waiting && feed.children.length) waiting.hidden = true;
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
