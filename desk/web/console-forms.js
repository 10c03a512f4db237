/*
 * What the agent does with the open chat besides talking: private notes (POST .../notes),
 * transfer (POST .../transfer), resolve with a disposition and slot updates for the bot
 * (POST .../resolve; for a mortgage case also the bot's next step), and retrying a hand-back
 * the bot did not take (POST .../hand-back).
 */
import { byId, clear, el } from "./page.js";
import { api, errorText, flash } from "./console-api.js";
import { stopTyping } from "./console-conversation.js";
import { forget } from "./console-mine.js";
import { openHandoff, renderNotes } from "./console-pop.js";
import { loadQueues } from "./console-queues.js";
import { queueName, state } from "./console-state.js";

var NEXT_STEP_SLOT = "mortgage_next_step";  // contract/applications.py NEXT_STEP_SLOT

/** Adds a private note to the open chat. */
export function addNote(text) {
  var id = state.openId;
  return api("POST", "/api/handoffs/" + id + "/notes", { text: text }).then(function (result) {
    if (result.ok) {
      byId("note").value = "";
      if (state.pop && state.openId === id) {
        state.pop.notes = (state.pop.notes || []).concat([result.body]);
        renderNotes(state.pop.notes);
      }
    } else {
      flash("The note was not saved: " + errorText(result));
    }
  });
}

/** Moves the open chat to another queue; it leaves my list. */
export function transfer(queue) {
  var id = state.openId;
  return api("POST", "/api/handoffs/" + id + "/transfer", { queue: queue }).then(function (result) {
    if (result.ok) {
      flash("Transferred to " + queueName(queue) + ".", "ok");
      forget(id);
      loadQueues();
      openHandoff(id);
    } else {
      flash("Could not transfer: " + errorText(result));
    }
  });
}

/** A new row of the resolve form: a slot name and its value. */
export function slotRow() {
  var row = el("div", { className: "slot-row" });
  var name = el("input", { type: "text", placeholder: "slot name", "aria-label": "Slot name",
    className: "slot-name", pattern: "[A-Za-z_][A-Za-z0-9_]{0,63}" });
  var value = el("input", { type: "text", placeholder: "value (JSON or text)",
    "aria-label": "Slot value", className: "slot-value" });
  var remove = el("button", { type: "button", className: "secondary small",
    onclick: function () { row.remove(); } }, ["Remove"]);
  row.appendChild(name);
  row.appendChild(value);
  row.appendChild(remove);
  return row;
}

/** The slot rows as an object; a value that parses as JSON is used as such, else the text. */
function slotUpdates() {
  var slots = {};
  var problems = [];
  Array.prototype.forEach.call(document.querySelectorAll("#slot-rows .slot-row"), function (row) {
    var name = row.querySelector(".slot-name").value.trim();
    var raw = row.querySelector(".slot-value").value;
    if (!name && !raw) { return; }
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
      problems.push("\"" + name + "\" is not a slot name");
      return;
    }
    var value = raw;
    try { value = JSON.parse(raw); } catch (e) { value = raw; }
    slots[name] = value;
  });
  return { slots: slots, problems: problems };
}

/** Resolves the open chat with the disposition and slot updates, handing it back to the bot
 * (for a mortgage case, with the next step the bot takes: mortgage_next_step). */
export function resolve() {
  var id = state.openId;
  var updates = slotUpdates();
  if (updates.problems.length) {
    flash(updates.problems.join("; "));
    return Promise.resolve();
  }
  var nextStep = byId("next-step").value;
  if (!byId("next-step-row").hidden && nextStep) { updates.slots[NEXT_STEP_SLOT] = nextStep; }
  stopTyping();
  var body = { disposition: byId("disposition").value, slots: updates.slots };
  return api("POST", "/api/handoffs/" + id + "/resolve", body).then(function (result) {
    if (!result.ok) {
      flash("Could not resolve: " + errorText(result));
      return;
    }
    if (result.body.handed_back) {
      flash("Resolved. The bot has the conversation again.", "ok");
    } else {
      flash("Resolved, but the bot did not take the conversation back: " +
        (result.body.hand_back_error || "unknown error"));
    }
    clear(byId("slot-rows"));
    byId("next-step").value = "";
    forget(id);
    loadQueues();
    openHandoff(id);
  });
}

/** Hands a resolved chat back to the bot again (the bot did not take it the first time). */
export function retryHandBack(id) {
  byId("hand-back-retry").disabled = true;
  return api("POST", "/api/handoffs/" + id + "/hand-back").then(function (result) {
    byId("hand-back-retry").disabled = false;
    if (result.ok && result.body.handed_back) {
      flash("The bot has the conversation again.", "ok");
    } else {
      flash("The bot still did not take the conversation back: " +
        (result.ok ? result.body.hand_back_error : errorText(result)));
    }
    openHandoff(id);
  });
}
