/*
 * The screen pop: opening a chat (GET /api/handoffs/{id}) shows its header, its context
 * (console-context.js), a mortgage case it names (console-case.js), its notes, its live
 * conversation, and what the agent may do with it.
 */
import { byId, clear, el } from "./page.js";
import { api, errorText, flash } from "./console-api.js";
import { showCase } from "./console-case.js";
import { renderContext } from "./console-context.js";
import {
  loadConversation, renderConversation, showCustomerTyping, stopTyping
} from "./console-conversation.js";
import { forget, renderMine } from "./console-mine.js";
import {
  canWork, isActive, isMine, isMineOrSupervised, queueName, reasonLabel, saveMine, state
} from "./console-state.js";
import { when } from "./console-time.js";

/** Opens the chat in the screen pop (again: reloads it); a gone chat leaves my list. */
export function openHandoff(handoffId) {
  stopTyping();
  return api("GET", "/api/handoffs/" + handoffId).then(function (result) {
    if (!result.ok) {
      flash("Could not open the chat: " + errorText(result));
      if (result.status === 404) { forget(handoffId); }
      return;
    }
    var reopened = state.openId === handoffId;
    var changed = !reopened || !state.pop ||
      state.pop.handoff.status !== result.body.handoff.status;
    state.openId = handoffId;
    state.pop = result.body;
    var handoff = result.body.handoff;
    if (state.mine[handoffId]) {
      state.mine[handoffId].unread = false;
      if (!isMine(handoff)) { forget(handoffId); }
    }
    saveMine();
    renderMine();
    renderPop(result.body, changed);
  });
}

/** Show a screen pop; `changed`: another handoff, or its status changed (reload the talk). */
function renderPop(pop, changed) {
  var handoff = pop.handoff;
  var context = pop.context || {};
  byId("placeholder").hidden = true;
  byId("handoff").hidden = false;
  byId("handoff").dataset.handoffId = handoff.handoff_id;
  byId("handoff").dataset.status = handoff.status;
  byId("h-title").textContent = (handoff.customer_label || "Customer") + ": " +
    reasonLabel(handoff.reason_code);
  var team = queueName(handoff.queue);
  var meta = [
    "Status: " + handoff.status.replace(/_/g, " "),
    "Queue: " + team,
    "Priority: " + handoff.priority,
    handoff.agent ? "Agent: " + handoff.agent.name : null,
    typeof handoff.position === "number" ? "Position: " + handoff.position : null,
    "Requested: " + when(handoff.requested_at)
  ].filter(Boolean).join(" · ");
  byId("h-meta").textContent = meta;

  renderContext(context);
  showCase(context);
  renderNotes(pop.notes || []);
  if (changed || !state.conversations[handoff.handoff_id]) {
    loadConversation(handoff.handoff_id, pop.events || []);
  }
  renderConversation();
  renderActions(handoff);
}

/** The chat's private notes, oldest first. */
export function renderNotes(notes) {
  var list = byId("notes");
  clear(list);
  notes.forEach(function (note) {
    list.appendChild(el("li", {}, [
      el("span", { className: "who", text: note.agent.name + " · " + when(note.created_at) }),
      el("span", { text: note.text })
    ]));
  });
  if (!notes.length) { list.appendChild(el("li", { className: "muted", text: "No notes yet." })); }
}

/** Shows what the agent may do with the chat: reply, resolve, transfer, claim, retry. */
function renderActions(handoff) {
  var working = canWork(handoff);
  var active = isActive(handoff);
  byId("reply-form").hidden = !working;
  byId("resolve-form").closest("section").hidden = !working;
  byId("transfer-form").closest("section").hidden = !active;
  byId("note-form").hidden = false;
  byId("claim-open").hidden = handoff.status !== "queued";
  // Resolved but not handed back: the bot did not take the conversation; let the agent retry.
  byId("hand-back-retry").hidden = !(handoff.status === "resolved" && isMineOrSupervised(handoff));
  var hint = byId("claim-hint");
  if (handoff.status === "queued") {
    hint.textContent = "This customer is waiting. Claim the chat to talk to them.";
  } else if (handoff.status === "claimed" && !working) {
    hint.textContent = (handoff.agent ? handoff.agent.name : "Another agent") + " has this chat.";
  } else if (!active) {
    hint.textContent = "This chat is " + handoff.status.replace(/_/g, " ") + ".";
  }
  hint.hidden = working;
  var select = byId("transfer-queue");
  clear(select);
  ((state.config && state.config.queues) || []).forEach(function (queue) {
    if (queue.name !== handoff.queue) {
      select.appendChild(el("option", { value: queue.name, text: queue.team_name }));
    }
  });
  if (!working) { showCustomerTyping(false); }
}
