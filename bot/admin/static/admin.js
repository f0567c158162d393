// Staff console: live preview and recipient count for broadcasts, live progress. No framework.
(function () {
  "use strict";
  function $(sel, root) { return (root || document).querySelector(sel); }

  document.querySelectorAll("[data-back]").forEach(function (a) {
    a.addEventListener("click", function (e) { if (history.length > 1) { e.preventDefault(); history.back(); } });
  });

  var source = $("[data-preview-source]");
  if (source) {
    var out = $("[data-preview-text]"), link = $("[data-preview-link]");
    var button = $("[data-preview-button]");
    var url = $("[data-preview-url]"), title = $("[data-preview-title]");
    var count = $("[data-count]"), parts = $("[data-parts]");
    var update = function () {
      out.textContent = source.value;
      var label = title.value || "Xem chi tiết", extra = "";
      if (button) {  // the link goes as a button under the message
        button.textContent = label;
        button.hidden = !url.value;
      } else {  // the OA shows no buttons: the link is written under the text
        extra = url.value ? "\n\n" + label + ": " + url.value : "";
        link.textContent = extra;
      }
      var total = source.value.length + extra.length;
      count.textContent = source.value.length;
      var n = Math.max(1, Math.ceil(total / 2000));
      parts.textContent = n === 1 ? "1 tin" : n + " tin (Zalo giới hạn 2.000 ký tự mỗi tin)";
    };
    [source, url, title].forEach(function (el) { el.addEventListener("input", update); });
    update();
  }

  var when = $("input[name=send_at]");
  if (when) {
    when.addEventListener("input", function () { $("input[name=when][value=later]").checked = true; });
  }

  var audience = $("[data-audience]");
  if (audience) {
    var box = $("[data-recipients]");
    audience.addEventListener("change", function () {
      var u = audience.getAttribute("data-count-url") + "?audience=" + encodeURIComponent(audience.value);
      fetch(u, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (c) {
        if (c.error) { box.textContent = c.error; return; }
        var reasons = Object.keys(c.reasons).map(function (k) { return c.reasons[k] + " " + k; }).join(", ");
        box.textContent = c.total + " người nhận: " + c.cs + " nhận tin nhắn thường, " + c.template +
          " nhận tin mẫu, " + c.unreachable + " không liên lạc được" + (reasons ? " (" + reasons + ")" : "") + ".";
      });
    });
  }

  var progress = $("[data-progress-url]");
  if (progress && progress.getAttribute("data-live") === "1") {
    var poll = function () {
      fetch(progress.getAttribute("data-progress-url"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          var p = d.progress, total = p.total || 1, x = 0;
          Object.keys(p).forEach(function (k) {
            var f = $('[data-field="' + k + '"]', progress); if (f) { f.textContent = p[k]; }
          });
          ["sent", "not_reachable", "failed"].forEach(function (k) {
            var bar = $('[data-bar="' + k + '"]', progress), w = 100 * p[k] / total;
            bar.setAttribute("x", x); bar.setAttribute("width", w); x += w;
          });
          var state = $("[data-state]"); state.textContent = d.state_label; state.className = "state " + d.state;
          if (d.state === "scheduled" || d.state === "sending") { setTimeout(poll, 1500); return; }
          document.querySelectorAll("[data-cancel], [data-approve]").forEach(function (f) { f.hidden = true; });
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1000);
  }

  // Knowledge-base page: the state of the files on disk, asked for every few seconds.
  var kbState = $("[data-kb-state]");
  if (kbState) {
    var refresh = function () {
      fetch(kbState.getAttribute("data-url"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { kbState.innerHTML = html; setTimeout(refresh, 3000); })
        .catch(function () { setTimeout(refresh, 10000); });
    };
    setTimeout(refresh, 3000);
  }
})();
