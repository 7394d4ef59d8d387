// Admin moderation queue: comments awaiting moderation appear live (SSE), without reload.
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("live-pending");
    if (!box || !window.EventSource) return;
    var url = box.getAttribute("data-live-url");
    if (!url) return;
    var list = box.querySelector(".live-pending-list");
    function handle(raw) {
      var data;
      try { data = JSON.parse(raw); } catch (e) { return; }
      if (data && data.data && !data.type) data = data.data;
      if (!data || data.type !== "comment.pending") return;
      if (document.getElementById("pending-" + data.id)) return;
      var li = document.createElement("li");
      li.id = "pending-" + data.id;
      var a = document.createElement("a");
      a.href = data.url;
      a.textContent = data.author + " on “" + data.post_title + "”: ";
      var text = document.createElement("span");
      text.textContent = data.text;
      li.appendChild(a);
      li.appendChild(text);
      list.insertBefore(li, list.firstChild);
      box.hidden = false;
    }
    var es = new EventSource(url);
    es.onmessage = function (ev) { handle(ev.data); };
    es.addEventListener("comment", function (ev) { handle(ev.data); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
