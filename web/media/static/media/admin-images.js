// Image admin (web/media/admin.py): keeps "Making variants: n of m" current while the worker
// renders an image, and copies the embed snippet. No inline script: the admin runs under CSP.
(function () {
  "use strict";
  // Each poll is one S3 LIST on the server: with many images pending (a multiple upload),
  // every line polls less often, about six requests a second in all.
  var EVERY_MS = 700;

  function poll(el) {
    fetch(el.dataset.progressUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { setTimeout(function () { poll(el); }, EVERY_MS * 4); return; }
        el.textContent = p.label;
        if (p.status === "pending") { setTimeout(function () { poll(el); }, EVERY_MS); return; }
        if (el.dataset.reload) { window.location.reload(); return; }  // show variants, snippet
        if (p.thumb) {
          var img = document.createElement("img");
          img.src = p.thumb;
          img.width = 120;
          img.height = p.thumb_height;
          img.alt = "";
          el.replaceWith(img);
        }
      })
      .catch(function () { setTimeout(function () { poll(el); }, EVERY_MS * 4); });
  }

  function copy(button) {
    var input = document.getElementById(button.dataset.copy);
    if (!input) return;
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        input.select();
      });
    } else {  // plain http (a dev box): select it, so Ctrl-C copies
      input.focus();
      input.select();
      if (document.execCommand && document.execCommand("copy")) done();
    }
  }

  function start() {
    var lines = document.querySelectorAll("[data-progress-url]");
    EVERY_MS *= Math.max(1, Math.ceil(lines.length / 4));
    lines.forEach(poll);
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.addEventListener("click", function () { copy(b); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
