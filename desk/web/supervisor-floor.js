/*
 * The live strip at the top of the dashboard: who waits now, the oldest wait, the agents
 * online and the claims beyond their queue's service level (contract Floor). The desk pushes
 * it over the console's websocket GET /api/live as {"type": "floor", ...Floor}; when no such
 * message came for POLL_MS (the socket is down, or the desk does not push), the strip asks
 * GET /api/analytics/floor itself. If neither answers, it says the live data is unavailable.
 */
import { byId, clear, el, requestJson } from "./page.js";
import { clock, NONE } from "./supervisor-format.js";

export var FLOOR_MESSAGE = "floor";
var POLL_MS = 15000;
var SESSION_ENDED = 1008;  // the websocket's close code when the session ended
var PING_MS = 25000;
var RETRY_MAX_MS = 30000;

var lastFloorAt = 0;
var retryMs = 1000;

/** Shows a Floor. */
export function renderFloor(floor) {
  lastFloorAt = Date.now();
  var strip = byId("floor");
  strip.dataset.state = "live";
  byId("floor-waiting").textContent = String(floor.waiting);
  byId("floor-oldest").textContent =
    floor.oldest_wait_s === null || floor.oldest_wait_s === undefined ? NONE : clock(floor.oldest_wait_s);
  byId("floor-agents").textContent = String(floor.agents_online);
  var breaches = floor.breaches || [];
  byId("floor-breach-count").textContent = String(breaches.length);
  strip.dataset.breaches = breaches.length ? "yes" : "no";
  var list = byId("floor-breaches");
  clear(list);
  breaches.forEach(function (breach) {
    list.appendChild(el("li", { "data-handoff-id": breach.handoff_id }, [
      el("span", { className: "breach-queue", text: breach.queue }),
      " ",
      el("span", { className: "breach-wait", text: clock(breach.waited_s) }),
      " ",
      el("span", { className: "muted", text: breach.claimed ? "claimed" : "waiting" })
    ]));
  });
  byId("floor-status").textContent = "Live at " + new Date(floor.at).toLocaleTimeString("en-GB");
}

function unavailable() {
  if (Date.now() - lastFloorAt < POLL_MS) { return; }  // a pushed floor is still fresh
  byId("floor").dataset.state = "unavailable";
  byId("floor-status").textContent = "Live data unavailable";
}

/** Asks the desk for the floor (when nothing was pushed lately). */
export function pollFloor() {
  return requestJson("GET", "/api/analytics/floor").then(function (result) {
    if (result.status === 401) { window.location.assign("/login"); return; }
    if (result.ok) { renderFloor(result.body); } else { unavailable(); }
  }, unavailable);
}

function connect() {
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + window.location.host + "/api/live");
  socket.onopen = function () { retryMs = 1000; };
  socket.onmessage = function (event) {
    if (event.data === "pong") { return; }
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (message && message.type === FLOOR_MESSAGE) { renderFloor(message); }
  };
  socket.onclose = function (event) {
    window.clearInterval(socket.pinger);
    if (event.code === SESSION_ENDED) { window.location.assign("/login"); return; }
    window.setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  };
  socket.pinger = window.setInterval(function () {
    if (socket.readyState === WebSocket.OPEN) { socket.send("ping"); }
  }, PING_MS);
}

/** Starts the strip: the websocket, a first look at the floor, and the fallback poll. */
export function startFloor() {
  connect();
  pollFloor();
  window.setInterval(function () {
    if (Date.now() - lastFloorAt >= POLL_MS) { pollFloor(); }
  }, POLL_MS);
}
