/*
 * "My chats": the chats this agent has claimed, as the desk knows them (GET /api/my-handoffs),
 * so any browser shows them; unread marks are the console's own. A chat's button carries its
 * `data-handoff-id` (console.js opens it).
 */
import { byId, clear, el } from "./page.js";
import { api } from "./console-api.js";
import { chatLabel, saveMine, state } from "./console-state.js";

/** Shows my chats, the open one marked current. */
export function renderMine() {
  var list = byId("mine");
  clear(list);
  var ids = Object.keys(state.mine);
  byId("mine-empty").hidden = ids.length > 0;
  ids.forEach(function (id) {
    var item = state.mine[id];
    var button = el("button", {
      type: "button",
      className: item.unread ? "unread" : "",
      "aria-current": id === state.openId ? "true" : "false",
      "data-handoff-id": id
    }, [item.label + (item.unread ? " • new message" : "")]);
    list.appendChild(el("li", {}, [button]));
  });
}

/** Takes the chat off my list. */
export function forget(id) {
  delete state.mine[id];
  saveMine();
  renderMine();
}

/** Puts a chat I just claimed (its id, the desk's answer to the claim) first on my list. */
export function remember(id, handoff) {
  var mine = {};
  mine[id] = { label: chatLabel(handoff), unread: false };  // newest first
  Object.keys(state.mine).forEach(function (id) { mine[id] = state.mine[id]; });
  state.mine = mine;
  saveMine();
}

/** Marks a chat of mine as having a new message. */
export function markUnread(id) {
  state.mine[id].unread = true;
  saveMine();
  renderMine();
}

/** My chats as the desk knows them (newest claim first); unread marks are kept. */
export function refreshMine() {
  return api("GET", "/api/my-handoffs").then(function (result) {
    if (!result.ok) { return; }
    var mine = {};
    (result.body.handoffs || []).forEach(function (handoff) {
      var cached = state.mine[handoff.handoff_id];
      mine[handoff.handoff_id] = { label: chatLabel(handoff), unread: !!(cached && cached.unread) };
    });
    state.mine = mine;
    saveMine();
    renderMine();
  }).catch(function () { /* the next refresh */ });
}
