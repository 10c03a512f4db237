/*
 * The queues in the sidebar: who waits where (GET /api/queues, refreshed on every change the
 * websocket announces and every 10 s), their waiting times ticking, and claiming a chat
 * (POST /api/handoffs/{id}/claim).
 */
import { byId, clear, el } from "./page.js";
import { api, errorText, flash } from "./console-api.js";
import { remember } from "./console-mine.js";
import { openHandoff } from "./console-pop.js";
import { reasonLabel, state } from "./console-state.js";
import { duration } from "./console-time.js";

/** The queues I serve and who waits in them (GET /api/queues); one load at a time. */
export function loadQueues() {
  if (state.loadingQueues) { return Promise.resolve(); }
  state.loadingQueues = true;
  return api("GET", "/api/queues").then(function (result) {
    if (result.ok) {
      state.queues = result.body.queues || [];
      state.queuesFetchedAt = performance.now();
      renderQueues();
    }
  }).catch(function () { /* next refresh */ }).then(function () {
    state.loadingQueues = false;
  });
}

/** Shows every queue with who waits in it, and the total waiting. */
function renderQueues() {
  var container = byId("queues");
  clear(container);
  var total = 0;
  state.queues.forEach(function (queue) {
    total += queue.waiting.length;
    var list = el("ul", { className: "waiting" });
    queue.waiting.forEach(function (waiting) {
      list.appendChild(waitingItem(waiting));
    });
    var section = el("section", { className: "queue", "data-queue": queue.name }, [
      el("h3", { text: queue.team_name + " (" + queue.waiting.length + ")" }),
      queue.waiting.length ? list : el("p", { className: "muted", text: "Nobody waiting." })
    ]);
    container.appendChild(section);
  });
  byId("waiting-count").textContent = "(" + total + ")";
  tick();
}

/** One waiting customer: reason, waiting time, priority, mood, summary, Claim and View. */
function waitingItem(waiting) {
  var sentiment = waiting.sentiment || {};
  var claimButton = el("button", {
    type: "button", className: "primary small", "data-action": "claim",
    onclick: function () { claim(waiting.handoff_id, claimButton); }
  }, ["Claim"]);
  var preview = el("button", {
    type: "button", className: "secondary small",
    onclick: function () { openHandoff(waiting.handoff_id); }
  }, ["View"]);
  return el("li", { "data-handoff-id": waiting.handoff_id }, [
    el("div", { className: "row" }, [
      el("span", { className: "reason", text: reasonLabel(waiting.reason_code) }),
      el("span", {
        className: "wait-time", "data-base": String(waiting.waiting_seconds),
        title: "Waiting time", "aria-label": "Waiting time"
      }, [duration(waiting.waiting_seconds)])
    ]),
    el("div", { className: "row" }, [
      el("span", { className: "badge priority", "data-value": waiting.priority },
        ["Priority: " + waiting.priority]),
      el("span", { className: "badge sentiment", "data-value": sentiment.label || "unknown" },
        ["Mood: " + (sentiment.label || "unknown").replace(/_/g, " ") +
          (typeof sentiment.score === "number" ? " (" + sentiment.score.toFixed(2) + ")" : "")]),
      waiting.transfer_count ? el("span", { className: "badge", text: "transferred" }) : null
    ]),
    waiting.customer_label ? el("div", { className: "muted", text: waiting.customer_label }) : null,
    el("p", { className: "summary", text: waiting.summary }),
    el("div", { className: "row" }, [claimButton, preview])
  ]);
}

/** Waiting times tick every second on the client, from the last fetch. */
export function tick() {
  var elapsed = (performance.now() - (state.queuesFetchedAt || performance.now())) / 1000;
  var nodes = document.querySelectorAll(".wait-time[data-base]");
  Array.prototype.forEach.call(nodes, function (node) {
    node.textContent = duration(Number(node.dataset.base) + elapsed);
  });
}

/** Claims the chat (the button, if any, is disabled meanwhile) and opens it. */
export function claim(handoffId, button) {
  if (button) { button.disabled = true; }
  api("POST", "/api/handoffs/" + handoffId + "/claim").then(function (result) {
    if (result.ok) {
      flash("");
      remember(handoffId, result.body);
      loadQueues();
      openHandoff(handoffId);
    } else if (result.status === 409) {
      flash("Someone else claimed this chat first. It is no longer waiting.");
      loadQueues();
      if (state.openId === handoffId) { openHandoff(handoffId); }
    } else {
      flash("Could not claim: " + errorText(result));
      if (button) { button.disabled = false; }
    }
  }).catch(function () { if (button) { button.disabled = false; } });
}
