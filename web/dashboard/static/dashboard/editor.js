/* Funnel and goal editors in the admin (web/dashboard/editors.py).
 *
 * Funnels: the form field is a textarea holding the steps as JSON (what the server stores
 * and validates). This script hides it and edits it through rows: each step is a Page
 * (a path pattern) or an Event (a custom event name), with up/down/remove buttons and
 * "Add step". Every change writes the JSON back, so the server sees exactly the rows.
 * Patterns are not rewritten here: the one rule is on the server (web/analytics/goals.py),
 * which saves "/pricing/" as "/pricing" and names any step it refuses.
 *
 * Goals: the pattern input gets the pick list (pages or events) and the placeholder that
 * match the chosen kind.
 */
(function () {
  "use strict";

  var HINT = {
    page: "/pricing, /blog/*",
    event: "signup",
  };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function parseSteps(text) {
    try {
      var value = JSON.parse(text || "[]");
      if (!Array.isArray(value)) return null;
      return value.map(function (s) {
        s = typeof s === "string" ? s : "";
        return s.indexOf("event:") === 0
          ? { kind: "event", value: s.slice(6) }
          : { kind: "page", value: s };
      });
    } catch (e) {
      return null;
    }
  }

  function stepsEditor(root) {
    var textarea = root.querySelector("textarea");
    var steps = parseSteps(textarea.value);
    if (steps === null) return; // not a list: leave the JSON visible with its error
    var min = parseInt(root.dataset.min, 10) || 2;
    var max = parseInt(root.dataset.max, 10) || 8;
    while (steps.length < min) steps.push({ kind: "page", value: "" });

    var list = el("ol", { class: "steps-list" });
    var add = el("button", { type: "button", class: "button steps-add" }, "Add step");
    var status = el("p", { class: "steps-status", "aria-live": "polite" });
    textarea.hidden = true;
    root.appendChild(list);
    root.appendChild(add);
    root.appendChild(status);

    function write() {
      textarea.value = JSON.stringify(steps.map(function (s) {
        var v = s.value.trim();
        return s.kind === "event" ? "event:" + v : v;
      }));
    }

    function render(focusIndex, focusWhat) {
      list.textContent = "";
      steps.forEach(function (step, i) {
        var n = i + 1;
        var li = el("li", { class: "steps-row" });
        var num = el("span", { class: "steps-num", "aria-hidden": "true" }, String(n));
        var kind = el("select", { "aria-label": "Step " + n + ": page or event", class: "steps-kind" });
        kind.appendChild(el("option", { value: "page" }, "Page"));
        kind.appendChild(el("option", { value: "event" }, "Event"));
        kind.value = step.kind;
        var input = el("input", {
          type: "text",
          class: "vTextField steps-value",
          "aria-label": "Step " + n + (step.kind === "event" ? ": event name" : ": page path"),
          placeholder: HINT[step.kind],
          list: step.kind === "event" ? root.dataset.events : root.dataset.pages,
          maxlength: "500",
        });
        input.value = step.value;
        var up = el("button", { type: "button", class: "button steps-up", "aria-label": "Move step " + n + " up", title: "Move up" }, "↑");
        var down = el("button", { type: "button", class: "button steps-down", "aria-label": "Move step " + n + " down", title: "Move down" }, "↓");
        var remove = el("button", { type: "button", class: "button steps-remove", "aria-label": "Remove step " + n, title: "Remove" }, "Remove");
        up.disabled = i === 0;
        down.disabled = i === steps.length - 1;
        remove.disabled = steps.length <= min;

        kind.addEventListener("change", function () {
          step.kind = kind.value;
          write();
          render(i, "kind");
        });
        input.addEventListener("input", function () {
          step.value = input.value;
          write();
        });
        up.addEventListener("click", function () { move(i, -1); });
        down.addEventListener("click", function () { move(i, 1); });
        remove.addEventListener("click", function () {
          steps.splice(i, 1);
          write();
          render(Math.min(i, steps.length - 1), "value");
          status.textContent = "Step " + n + " removed.";
        });

        var fields = el("span", { class: "steps-fields" });
        fields.appendChild(kind);
        fields.appendChild(input);
        var buttons = el("span", { class: "steps-buttons" });
        buttons.appendChild(up);
        buttons.appendChild(down);
        buttons.appendChild(remove);
        li.appendChild(num);
        li.appendChild(fields);
        li.appendChild(buttons);
        list.appendChild(li);
        if (i === focusIndex) {
          (focusWhat === "kind" ? kind : focusWhat === "up" ? up : focusWhat === "down" ? down : input).focus();
        }
      });
      add.disabled = steps.length >= max;
      add.title = add.disabled ? "A funnel has at most " + max + " steps" : "";
    }

    function move(i, by) {
      var j = i + by;
      if (j < 0 || j >= steps.length) return;
      var s = steps[i];
      steps[i] = steps[j];
      steps[j] = s;
      write();
      render(j, by < 0 ? "up" : "down");
      status.textContent = "Step " + (i + 1) + " moved to position " + (j + 1) + ".";
    }

    add.addEventListener("click", function () {
      if (steps.length >= max) return;
      steps.push({ kind: "page", value: "" });
      write();
      render(steps.length - 1, "value");
    });

    write();
    render(-1);
  }

  function goalEditor(root) {
    var input = root.querySelector("input");
    var form = root.closest("form");
    if (!input || !form) return;
    var radios = form.querySelectorAll('input[name="kind"], select[name="kind"]');
    function kind() {
      var checked = form.querySelector('input[name="kind"]:checked');
      var select = form.querySelector('select[name="kind"]');
      return checked ? checked.value : select ? select.value : "event";
    }
    function apply() {
      var k = kind() === "page" ? "page" : "event";
      input.setAttribute("list", k === "page" ? root.dataset.pages : root.dataset.events);
      input.setAttribute("placeholder", HINT[k]);
    }
    radios.forEach(function (r) { r.addEventListener("change", apply); });
    apply();
  }

  function init() {
    document.querySelectorAll("[data-steps-editor]").forEach(stepsEditor);
    document.querySelectorAll("[data-goal-editor]").forEach(goalEditor);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
