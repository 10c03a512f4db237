/*
 * "Callbacks": the messages customers left instead of waiting, in the queues I serve (GET
 * /api/callbacks, oldest first), each with "Mark done" (POST /api/handoffs/{id}/callback-done)
 * and "View" (the screen pop). Reloaded when the websocket says a callback was left or done
 * (`callbacks_changed`) and with the queues' refresh. The customer's words are shown as text
 * only (page.js builds elements from text).
 */
import { byId, clear, el } from "./page.js";
import { api, errorText, flash } from "./console-api.js";
import { openHandoff } from "./console-pop.js";
import { reasonLabel } from "./console-state.js";
import { when } from "./console-time.js";

var loading = false;

/** The open callbacks of my queues (GET /api/callbacks); one load at a time. */
export function loadCallbacks() {
  if (loading) { return Promise.resolve(); }
  loading = true;
  return api("GET", "/api/callbacks").then(function (result) {
    if (result.ok) { renderCallbacks(result.body); }
  }).catch(function () { /* next refresh */ }).then(function () {
    loading = false;
  });
}

/** Shows the callbacks, oldest first, and how many are open. */
function renderCallbacks(body) {
  var list = byId("callbacks");
  var callbacks = body.callbacks || [];
  clear(list);
  callbacks.forEach(function (callback) { list.appendChild(callbackItem(callback)); });
  byId("callbacks-empty").hidden = callbacks.length > 0;
  byId("callbacks-count").textContent = "(" + (body.open_count || 0) + ")";
  byId("callbacks-more").hidden = (body.open_count || 0) <= callbacks.length;
}

/** One callback: its team, when the customer left it, who and why, the message, the buttons. */
function callbackItem(callback) {
  var done = el("button", {
    type: "button", className: "primary small", "data-action": "callback-done",
    onclick: function () { markDone(callback.handoff_id, done); }
  }, ["Mark done"]);
  var view = el("button", {
    type: "button", className: "secondary small",
    onclick: function () { openHandoff(callback.handoff_id); }
  }, ["View"]);
  return el("li", { "data-handoff-id": callback.handoff_id }, [
    el("div", { className: "row" }, [
      el("span", { className: "reason", text: callback.team_name }),
      el("span", { className: "muted left-at", text: "left " + when(callback.expired_at) })
    ]),
    el("div", { className: "muted", text: (callback.customer_label || "Customer") + " — " +
      reasonLabel(callback.reason_code) }),
    el("p", { className: "callback-message", text: callback.message }),
    el("div", { className: "row" }, [done, view])
  ]);
}

/** Marks a callback done (the button disabled meanwhile), then reloads the list. */
function markDone(handoffId, button) {
  button.disabled = true;
  api("POST", "/api/handoffs/" + handoffId + "/callback-done").then(function (result) {
    if (result.ok) {
      flash("Callback marked done.", "ok");
    } else if (result.status === 409) {
      flash(errorText(result));  // e.g. someone else marked it done first: says who
    } else {
      flash("Could not mark the callback done: " + errorText(result));
      button.disabled = false;
      return;
    }
    loadCallbacks();
  }).catch(function () { button.disabled = false; });
}
