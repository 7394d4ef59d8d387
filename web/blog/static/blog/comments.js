// Live comments: approved comments arrive over SSE and are inserted without reload.
// External file (no inline script) so the page works under a strict CSP.
(function () {
  "use strict";
  var section = document.getElementById("comments");
  if (!section || !window.EventSource) return;
  var url = section.getAttribute("data-live-url");
  if (!url) return;
  var list = section.querySelector(".comment-list");

  function handle(raw) {
    var data;
    try { data = JSON.parse(raw); } catch (e) { return; }
    if (data && data.data && !data.type) data = data.data;  // tolerate an envelope
    if (!data || !data.id) return;
    var existing = document.getElementById("comment-" + data.id);
    if (data.type === "comment.withdrawn") {
      if (existing) existing.remove();
      return;
    }
    if (data.type !== "comment.approved" || existing) return;
    var tpl = document.createElement("template");
    tpl.innerHTML = data.html;  // server-rendered, sanitised by nh3 before publishing
    var li = tpl.content.firstElementChild;
    if (!li) return;
    li.classList.add("new");
    list.appendChild(li);
  }

  var es = new EventSource(url);
  es.onmessage = function (ev) { handle(ev.data); };
  es.addEventListener("comment", function (ev) { handle(ev.data); });
})();
