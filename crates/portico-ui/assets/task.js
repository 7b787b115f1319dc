// The task page while its task runs: follows the task's events (server-sent events from
// /create/tasks/:id/events, after the last one the server drew) and appends each log line and
// step status as it comes; once the task has ended the page reloads, so the server draws the
// outcome (output, Retry). Without this script the page refreshes itself (<noscript> meta).
(function () {
  "use strict";
  var log = document.querySelector("[data-task-events]");
  if (!log || !window.EventSource) return;
  var url = log.getAttribute("data-task-events");
  var after = log.getAttribute("data-after");
  var source = new EventSource(after ? url + "?after=" + encodeURIComponent(after) : url);
  var labels = { open: "Not started", processing: "Running", completed: "Completed", failed: "Failed", skipped: "Skipped", cancelled: "Cancelled" };
  function step(id) {
    var found = null;
    document.querySelectorAll("[data-step]").forEach(function (el) { if (el.getAttribute("data-step") === id) found = el; });
    return found;
  }
  function span(className, text) {
    var el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    return el;
  }
  source.addEventListener("log", function (message) {
    var event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    var body = event.body || {};
    var item = body.stepId ? step(body.stepId) : null;
    if (item && body.status) {
      item.setAttribute("data-status", body.status);
      var badge = item.querySelector("[data-step-status]");
      if (badge) { badge.className = "task-status status-" + body.status; badge.textContent = labels[body.status] || body.status; }
    }
    var status = document.getElementById("task-status");
    if (status && status.textContent !== "Running") { status.className = "task-status status-processing"; status.textContent = "Running"; }
    if (typeof body.message !== "string") return;
    var line = document.createElement("li");
    var time = document.createElement("time");
    time.setAttribute("datetime", event.createdAt || "");
    time.textContent = (event.createdAt || "").slice(11, 19);
    line.appendChild(time);
    if (item) { line.appendChild(document.createTextNode(" ")); line.appendChild(span("log-step", item.querySelector(".step-name").textContent)); }
    line.appendChild(document.createTextNode(" "));
    line.appendChild(span("log-message", body.message));
    var box = log.parentElement;
    var atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
    log.appendChild(line);
    if (atBottom) box.scrollTop = box.scrollHeight;
  });
  function ended() { source.close(); window.location.reload(); }
  source.addEventListener("completion", ended);
  source.addEventListener("cancelled", ended);
  // The stream ends when the task has (or after an hour); either way the server knows best.
  source.onerror = function () { source.close(); setTimeout(function () { window.location.reload(); }, 1000); };
})();
