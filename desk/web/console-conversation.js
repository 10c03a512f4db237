/*
 * The live conversation of the open chat: its turns read from Rasa (GET
 * /api/handoffs/{id}/conversation: customer, bot and agent turns) with the desk's own lines
 * (claimed, transferred, ...) put in by time, live lines appended; the agent's reply and typing
 * (POST .../messages, .../typing), and the customer's typing.
 */
import { byId, clear, el, typingSignal } from "./page.js";
import { api, errorText, flash } from "./console-api.js";
import { canWork, queueName, state } from "./console-state.js";
import { timeOf, when } from "./console-time.js";

var CUSTOMER_TYPING_STALE_MS = 15000;
var SAME_CUSTOMER_TURN_MS = 2000;
var SAME_AGENT_TURN_MS = 60000;

/** What the desk itself knows of the chat (its history); agent messages only as a fallback. */
function eventLines(events, withMessages) {
  var lines = [];
  events.forEach(function (event) {
    var who = event.actor ? event.actor.name : "An agent";
    var detail = event.detail || {};
    if (event.kind === "claimed") {
      lines.push({ role: "system", text: who + " claimed the chat.", at: event.occurred_at });
    } else if (event.kind === "message" && withMessages) {
      lines.push({
        role: "agent", text: detail.text || "",
        name: event.actor ? event.actor.name : "Agent", at: event.occurred_at
      });
    } else if (event.kind === "transferred") {
      lines.push({ role: "system", text: "Transferred from " + queueName(detail.from) +
        " to " + queueName(detail.to) + ".", at: event.occurred_at });
    } else if (event.kind === "resolved") {
      lines.push({ role: "system", text: who + " resolved the chat (" +
        String(detail.disposition || "").replace(/_/g, " ") + ").", at: event.occurred_at });
    } else if (event.kind === "handed_back") {
      lines.push({ role: "system", text: "The bot has the conversation again.",
        at: event.occurred_at });
    }
  });
  return lines;
}

/** The conversation's turns (in order) with the desk's own lines put in by time. */
function mergeByTime(turns, systemLines) {
  var merged = [];
  var next = 0;
  turns.forEach(function (turn) {
    var at = timeOf(turn.at);
    while (at !== null && next < systemLines.length &&
           (timeOf(systemLines[next].at) || 0) <= at) {
      merged.push(systemLines[next]);
      next += 1;
    }
    merged.push(turn);
  });
  return merged.concat(systemLines.slice(next));
}

function sameLine(a, b) {
  if (a.role !== b.role || a.text !== b.text) { return false; }
  var apart = Math.abs((timeOf(a.at) || 0) - (timeOf(b.at) || 0));
  if (a.role === "customer") { return a.at === b.at || apart <= SAME_CUSTOMER_TURN_MS; }
  if (a.role === "agent") { return apart <= SAME_AGENT_TURN_MS; }
  return true;
}

/**
 * Show the chat's conversation: the turns read from Rasa (GET .../conversation) with the desk's
 * own lines (claimed, transferred, ...). Until they come, what is already there (at first the
 * desk's history); lines that arrive meanwhile are kept unless the loaded turns have them. If
 * the conversation cannot be loaded, the desk's history (with the agents' messages) is shown.
 */
export function loadConversation(handoffId, events) {
  var ticket = (state.loads[handoffId] || 0) + 1;
  state.loads[handoffId] = ticket;
  if (!state.conversations[handoffId]) { state.conversations[handoffId] = []; }
  if (!state.arriving[handoffId]) { state.arriving[handoffId] = []; }  // kept across reloads
  if (!state.loaded[handoffId]) {
    state.conversations[handoffId] = eventLines(events, true).concat(state.arriving[handoffId]);
  }
  return api("GET", "/api/handoffs/" + handoffId + "/conversation").then(function (result) {
    if (!result.ok) {
      if (handoffId === state.openId) {
        flash("Showing the desk's history only: " + errorText(result));
      }
      return null;
    }
    var turns = (result.body.turns || []).map(function (turn) {
      return {
        role: turn.role, text: turn.text, name: turn.agent_name, at: turn.timestamp,
        buttons: turn.buttons
      };
    });
    return mergeByTime(turns, eventLines(events, false));
  }).catch(function () { return null; }).then(function (loaded) {
    if (state.loads[handoffId] !== ticket) { return; }  // a newer load is under way
    var arrived = state.arriving[handoffId] || [];
    delete state.arriving[handoffId];
    if (!loaded) { return; }  // what is shown stays: the last turns loaded, or the history
    arrived.forEach(function (line) {
      var known = loaded.some(function (other) { return sameLine(other, line); });
      if (!known) { loaded.push(line); }
    });
    state.loaded[handoffId] = true;
    state.conversations[handoffId] = loaded;
    if (handoffId === state.openId) { renderConversation(); }
  });
}

/** Appends a line (a live message, my reply) to the chat's conversation. */
export function addLine(handoffId, line) {
  if (!state.conversations[handoffId]) { state.conversations[handoffId] = []; }
  state.conversations[handoffId].push(line);
  if (state.arriving[handoffId]) { state.arriving[handoffId].push(line); }
  if (handoffId === state.openId) { renderConversation(); }
}

/** Shows the open chat's conversation, scrolled to its end. */
export function renderConversation() {
  var list = byId("live-messages");
  clear(list);
  (state.conversations[state.openId] || []).forEach(function (line) {
    var who = line.role === "customer" ? "Customer"
      : line.role === "agent" ? (line.name || "Agent")
        : line.role === "bot" ? "Bot" : "";
    var buttons = (line.buttons || []).map(function (b) { return b.title; });
    list.appendChild(el("li", { className: "turn turn-" + line.role, "data-role": line.role }, [
      who ? el("span", { className: "who", text: who }) : null,
      line.at ? el("span", { className: "when", text: when(line.at) }) : null,
      line.intent ? el("span", { className: "intent", text: "intent " + line.intent }) : null,
      el("span", { className: "text", text: line.text }),
      buttons.length
        ? el("span", { className: "intent", text: "buttons: " + buttons.join(" | ") }) : null
    ]));
  });
  list.scrollTop = list.scrollHeight;
}

/** Shows or hides "The customer is typing…". */
export function showCustomerTyping(typing) {
  window.clearTimeout(state.customerTypingTimer);
  byId("customer-typing").hidden = !typing;
  if (typing) {
    // A lost "typing: false" must not leave the indicator on for ever.
    state.customerTypingTimer = window.setTimeout(function () {
      byId("customer-typing").hidden = true;
    }, CUSTOMER_TYPING_STALE_MS);
  }
}

/** Sends my reply to the customer of the open chat. */
export function sendReply(text) {
  var id = state.openId;
  var button = byId("reply-send");
  button.disabled = true;
  stopTyping();
  return api("POST", "/api/handoffs/" + id + "/messages", { text: text }).then(function (result) {
    button.disabled = false;
    if (result.ok) {
      addLine(id, { role: "agent", text: text, name: state.me.display_name, at: new Date().toISOString() });
      byId("reply").value = "";
    } else {
      flash("The message was not sent: " + errorText(result));
    }
  }).catch(function () { button.disabled = false; });
}

/** Tells the desk whether I am typing (only in a chat I can work on). */
function postTyping(typing) {
  if (!state.openId || !state.pop || !canWork(state.pop.handoff)) { return; }
  api("POST", "/api/handoffs/" + state.openId + "/typing", { typing: typing })
    .catch(function () { /* a courtesy */ });
}

var agentTyping = typingSignal(postTyping);

/** The agent typed in the reply box (the customer sees "… is typing"). */
export function onReplyInput() { agentTyping.input(byId("reply").value); }

/** The agent stopped typing (sent, left the box, opened another chat). */
export function stopTyping() { agentTyping.stop(); }
