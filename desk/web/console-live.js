/*
 * The console's live updates: the websocket GET /api/live sends {"type": "connected" |
 * "queue_changed" | "customer_message" | "customer_typing" | "callbacks_changed" |
 * "application_changed", ...}. When the session ends (logout, here or elsewhere, or expiry)
 * the desk closes it with 1008 and the console goes to the login page; otherwise it
 * reconnects.
 */
import { byId } from "./page.js";
import { api } from "./console-api.js";
import { loadCallbacks } from "./console-callbacks.js";
import { caseChanged } from "./console-case.js";
import { addLine, showCustomerTyping } from "./console-conversation.js";
import { markUnread, refreshMine } from "./console-mine.js";
import { openHandoff } from "./console-pop.js";
import { loadQueues } from "./console-queues.js";
import { leave, state } from "./console-state.js";

var SESSION_ENDED = 1008;  // the websocket's close code when the session ended
var PING_MS = 25000;
var RETRY_MAX_MS = 30000;

/** The top bar's live status: online, offline or connecting, in words. */
function setLive(stateName, text) {
  var node = byId("live-status");
  node.dataset.state = stateName;
  node.textContent = text;
}

/** Opens the websocket (GET /api/live); reconnects with back-off until the session ends. */
export function connectLive() {
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + window.location.host + "/api/live");
  state.live = socket;
  socket.onopen = function () { state.liveRetryMs = 1000; };
  socket.onmessage = function (event) {
    if (event.data === "pong") { return; }
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    onLive(message);
  };
  socket.onclose = function (event) {
    window.clearInterval(socket.pinger);
    if (event.code === SESSION_ENDED) {
      // Logged out (here or in another tab) or the session expired: log in again.
      setLive("offline", event.reason === "session expired" ? "Session expired" : "Logged out");
      leave();
      return;
    }
    setLive("offline", "Live updates off; retrying…");
    window.setTimeout(connectLive, state.liveRetryMs);
    state.liveRetryMs = Math.min(state.liveRetryMs * 2, RETRY_MAX_MS);
    // The session may have ended: /api/me answers 401 → api() goes to /login.
    api("GET", "/api/me").catch(function () {});
  };
  socket.pinger = window.setInterval(function () {
    if (socket.readyState === WebSocket.OPEN) { socket.send("ping"); }
  }, PING_MS);
}

/** One message of the websocket. */
function onLive(message) {
  switch (message.type) {
    case "connected":
      setLive("online", "Live");
      loadQueues();
      loadCallbacks();
      refreshMine();
      break;
    case "queue_changed":
      loadQueues();
      if (state.mine[message.handoff_id]) { refreshMine(); }  // e.g. resolved by a supervisor
      if (message.handoff_id === state.openId && message.change !== "claimed") {
        openHandoff(state.openId);
      } else if (message.handoff_id === state.openId && state.pop &&
                 state.pop.handoff.status === "queued") {
        openHandoff(state.openId);  // someone claimed the chat being viewed
      }
      break;
    case "customer_message":
      addLine(message.handoff_id, {
        role: "customer", text: message.text || "", intent: message.intent,
        at: message.timestamp
      });
      if (message.handoff_id === state.openId) {
        showCustomerTyping(false);
      } else if (state.mine[message.handoff_id]) {
        markUnread(message.handoff_id);
      }
      break;
    case "customer_typing":
      if (message.handoff_id === state.openId) { showCustomerTyping(message.typing === true); }
      break;
    case "callbacks_changed":
      loadCallbacks();  // a callback was left, or marked done (here or elsewhere)
      break;
    case "application_changed":
      caseChanged(message);  // the mortgage case on screen, if it is that one
      break;
    default:
      break;
  }
}
