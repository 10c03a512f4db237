/*
 * The agent console (desk/web/console.html): native ES modules, no build step. This module
 * wires the page and starts it; the others are one concern each:
 *   page.js                 elements, messages and JSON requests (shared with chat and login)
 *   console-state.js        what the console knows, the names it shows, whose chat is whose
 *   console-api.js          the desk's JSON API with the session (401 → /login), the flash line
 *   console-time.js         times and waiting times as shown
 *   console-tables.js       tables and key/value lists of records
 *   console-mine.js         "My chats"
 *   console-queues.js       the queues, their ticking waiting times, claiming
 *   console-callbacks.js    the messages customers left (callbacks), marking one done
 *   console-pop.js          the screen pop: opening a chat, its header, notes, allowed actions
 *   console-context.js      the handoff context: summary, trigger, attempts, slots, transcript
 *   console-case.js         the mortgage case a handoff names: checklist, documents, timeline,
 *                           advice, notes, document requests, branch appointment
 *   console-evidence.js     the evidence, from the labels and values sent with it
 *   console-conversation.js the live conversation, the reply and typing
 *   console-forms.js        notes, transfer, resolve, hand back again
 *   console-live.js         the websocket GET /api/live
 *
 * /console#handoff=<id> opens that handoff (the supervisors' examples link there).
 * Talks to the desk's JSON API with the session cookie: GET /api/console-config, GET
 * /api/queues, GET /api/my-handoffs, POST /api/handoffs/{id}/claim, GET /api/handoffs/{id}
 * (screen pop), GET .../conversation, POST .../messages, .../typing, .../notes, .../transfer,
 * .../resolve, .../hand-back, GET /api/callbacks, POST .../callback-done, POST /api/logout;
 * the mortgage case's routes (console-case.js). Queues and callbacks also refresh every 10 s
 * in case the websocket is down.
 */
import { byId, el } from "./page.js";
import { api, errorText, flash } from "./console-api.js";
import { loadCallbacks } from "./console-callbacks.js";
import {
  addCaseNote, bookAppointment, loadSlots, pickerChanged, recordAdvice, requestDocuments
} from "./console-case.js";
import { onReplyInput, sendReply, stopTyping } from "./console-conversation.js";
import { addNote, resolve, retryHandBack, slotRow, transfer } from "./console-forms.js";
import { connectLive } from "./console-live.js";
import { refreshMine, renderMine } from "./console-mine.js";
import { openHandoff } from "./console-pop.js";
import { claim, loadQueues, tick } from "./console-queues.js";
import { leave, state } from "./console-state.js";

var QUEUE_REFRESH_MS = 10000;
var TICK_MS = 1000;

/** The page's buttons and forms. */
function wire() {
  byId("logout").addEventListener("click", function () {
    stopTyping();
    api("POST", "/api/logout").then(leave, leave);
  });
  byId("reply-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = byId("reply").value.trim();
    if (text) { sendReply(text); }
  });
  byId("reply").addEventListener("input", onReplyInput);
  byId("reply").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      byId("reply-form").requestSubmit();
    }
  });
  byId("reply").addEventListener("blur", stopTyping);
  byId("note-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = byId("note").value.trim();
    if (text) { addNote(text); }
  });
  byId("transfer-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var queue = byId("transfer-queue").value;
    if (queue) { transfer(queue); }
  });
  byId("mine").addEventListener("click", function (event) {
    var chat = event.target.closest("button[data-handoff-id]");
    if (chat) { openHandoff(chat.dataset.handoffId); }
  });
  byId("add-slot").addEventListener("click", function () {
    byId("slot-rows").appendChild(slotRow());
  });
  byId("resolve-form").addEventListener("submit", function (event) {
    event.preventDefault();
    resolve();
  });
  byId("hand-back-retry").addEventListener("click", function () {
    if (state.openId) { retryHandBack(state.openId); }
  });
  byId("claim-open").addEventListener("click", function () {
    if (state.openId) { claim(state.openId, byId("claim-open")); }
  });
  wireCase();
}

/** The mortgage case's forms (console-case.js). */
function wireCase() {
  var forms = {
    "case-advice-form": recordAdvice, "case-note-form": addCaseNote,
    "case-request-form": requestDocuments, "case-book-form": bookAppointment
  };
  Object.keys(forms).forEach(function (id) {
    byId(id).addEventListener("submit", function (event) {
      event.preventDefault();
      forms[id]();
    });
  });
  byId("case-request-item").addEventListener("change", pickerChanged);
  byId("case-branch").addEventListener("change", loadSlots);
  byId("case-day").addEventListener("change", loadSlots);
}

/** The handoff a link asked to open (/console#handoff=<id>, e.g. from the supervisors'
 * examples), or null. */
function askedHandoff() {
  var found = /^#handoff=([0-9a-f-]{36})$/i.exec(window.location.hash);
  return found ? found[1] : null;
}

/** Who I am, the dispositions, then the queues, my chats and the live updates. */
function start() {
  wire();
  api("GET", "/api/console-config").then(function (result) {
    if (!result.ok) { flash("The console could not load: " + errorText(result)); return; }
    state.config = result.body;
    state.me = result.body.agent;
    byId("me").textContent = state.me.display_name +
      (state.me.role === "supervisor" ? " · supervisor (all queues)" : "");
    byId("dashboard-link").hidden = state.me.role !== "supervisor";
    var disposition = byId("disposition");
    (state.config.dispositions || []).forEach(function (value) {
      disposition.appendChild(el("option", { value: value, text: value.replace(/_/g, " ") }));
    });
    renderMine();
    loadQueues();
    loadCallbacks();
    connectLive();
    window.setInterval(function () { loadQueues(); loadCallbacks(); }, QUEUE_REFRESH_MS);
    window.setInterval(tick, TICK_MS);
    refreshMine().then(function () {
      var asked = askedHandoff();
      var ids = Object.keys(state.mine);
      if (asked) { openHandoff(asked); } else if (ids.length && !state.openId) { openHandoff(ids[0]); }
    });
  });
}

start();
