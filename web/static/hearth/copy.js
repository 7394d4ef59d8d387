/* Copy buttons in the admin: <button data-copy="#id"> (or a bare id) copies that field's value (or its
 * text), and says so on the button for two seconds. Falls back to selecting the text when
 * the clipboard API is not allowed (plain http on another host than localhost). */
(function () {
  "use strict";
  function textOf(target) {
    return "value" in target && target.value !== undefined ? target.value : target.textContent;
  }
  function done(button, label) {
    var before = button.dataset.label || button.textContent;
    button.dataset.label = before;
    button.textContent = label;
    setTimeout(function () { button.textContent = before; }, 2000);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    event.preventDefault();
    var ref = button.getAttribute("data-copy");
    // "#id" (or any selector), or a bare element id.
    var target = document.getElementById(ref) || document.querySelector(ref);
    if (!target) return;
    var text = textOf(target);
    function fallback() {
      if (target.select) {
        target.focus();
        target.select();
      }
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(button, ok ? "Copied" : "Press Ctrl+C");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(button, "Copied"); }, fallback);
    } else {
      fallback();
    }
  });
})();
