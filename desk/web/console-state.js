/*
 * What the agent console knows (one shared state object) and the names it shows: the reasons,
 * the queues' team names, a chat's label; and whose chat is whose.
 *
 * "My chats" are the desk's (GET /api/my-handoffs); sessionStorage only caches them (and which
 * have unread messages) for a quick first paint.
 */

var MINE_KEY = "desk.my-chats";

var REASONS = {
  order_delayed: "Order delayed",
  order_lost: "Order lost",
  order_not_found: "Order not found",
  cycle_limit: "Troubleshooting did not help",
  nlu_fallback: "Bot did not understand",
  action_error: "Bot error",
  needs_advice: "Wants advice",
  customer_request: "Asked for a person"
};

export var state = {
  config: null,
  me: null,
  queues: [],
  queuesFetchedAt: null,
  loadingQueues: false,
  openId: null,
  pop: null,
  mine: loadMine(),        // {handoffId: {label, unread}}
  conversations: {},       // handoffId -> [{role, text, name, at, buttons?, intent?}]
  arriving: {},            // handoffId -> lines that came while its conversation loaded
  loads: {},               // handoffId -> number of the latest conversation load
  loaded: {},              // handoffId -> true once its conversation came from the desk
  live: null,
  liveRetryMs: 1000,
  customerTypingTimer: null
};

// --- The cached "My chats" ---------------------------------------------------------------------

/** The cached list, shown until the desk answers (refreshMine). */
function loadMine() {
  try {
    return JSON.parse(window.sessionStorage.getItem(MINE_KEY) || "{}") || {};
  } catch (e) { return {}; }
}

export function saveMine() {
  try {
    window.sessionStorage.setItem(MINE_KEY, JSON.stringify(state.mine));
  } catch (e) { /* storage disabled */ }
}

/** To the login page, forgetting the cached chats. */
export function leave() {
  try { window.sessionStorage.removeItem(MINE_KEY); } catch (e) { /* ignore */ }
  window.location.assign("/login");
}

// --- Names --------------------------------------------------------------------------------------

/** A reason code in words. */
export function reasonLabel(code) { return REASONS[code] || String(code || "").replace(/_/g, " "); }

/** A chat in a list: the customer and why they came. */
export function chatLabel(handoff) {
  return (handoff.customer_label || "Customer") + " — " + reasonLabel(handoff.reason_code);
}

/** A queue's team name (the queue's own name if the console does not know it). */
export function queueName(name) {
  var queues = (state.config && state.config.queues) || [];
  for (var i = 0; i < queues.length; i += 1) {
    if (queues[i].name === name) { return queues[i].team_name; }
  }
  return name;
}

// --- Whose chat ---------------------------------------------------------------------------------

/** Whether the handoff is one of my chats: claimed by me. */
export function isMine(handoff) {
  return handoff.status === "claimed" && !!handoff.agent && !!state.me &&
    handoff.agent.id === state.me.id;
}

export function isActive(handoff) {
  return handoff.status === "queued" || handoff.status === "claimed";
}

/** Whether I may talk in, resolve and hand back the chat: its agent or a supervisor. */
export function isMineOrSupervised(handoff) {
  var me = state.me;
  return !!me && ((!!handoff.agent && handoff.agent.id === me.id) || me.role === "supervisor");
}

/** Whether I can work on the chat now: it is claimed, and mine or I supervise. */
export function canWork(handoff) {
  return handoff.status === "claimed" && isMineOrSupervised(handoff);
}
