/*
 * The handoff context in the screen pop (contract/handoff_context.py): the summary and why the
 * bot handed over, the evidence (console-evidence.js), what the bot tried, the slots and the
 * transcript with the bot.
 */
import { byId, clear, el } from "./page.js";
import { renderEvidence } from "./console-evidence.js";
import { fillKv, show, table } from "./console-tables.js";
import { when } from "./console-time.js";

/** Fills the context cards from the handoff's context. */
export function renderContext(context) {
  byId("h-summary").textContent = context.summary || "";
  var trigger = context.trigger || {};
  var sentiment = context.sentiment || {};
  fillKv(byId("h-trigger"), [
    ["Trigger", trigger.type], ["Reason", trigger.reason_code], ["Detail", trigger.detail],
    ["Journey", context.flow], ["Last intent", context.last_intent],
    ["Sentiment", sentiment.label ? sentiment.label + " (" + sentiment.score + ")" : null],
    ["Skills", (context.routing && context.routing.skills || []).join(", ")]
  ]);
  renderEvidence(byId("h-evidence"), context);
  renderAttempts(context.attempts || []);
  renderSlots(context.slots || {});
  renderTranscript(context.transcript || []);
}

/** What the bot tried (lookups, troubleshooting steps) and how it went. */
function renderAttempts(attempts) {
  var box = byId("h-attempts");
  clear(box);
  if (!attempts.length) {
    box.appendChild(el("p", { className: "muted", text: "Nothing recorded." }));
    return;
  }
  box.appendChild(table(null,
    ["What", "Cycle", "Step", "Asked", "Answer", "Outcome"],
    attempts.map(function (a) {
      return [a.description || a.label, a.cycle, a.step, when(a.asked_at), a.answer, a.outcome];
    }), { "data-table": "attempts" }));
}

/** The bot's slots; objects and lists folded as JSON. */
function renderSlots(slots) {
  var box = byId("h-slots");
  clear(box);
  var names = Object.keys(slots).sort();
  if (!names.length) {
    box.appendChild(el("p", { className: "muted", text: "No slots set." }));
    return;
  }
  var rows = names.map(function (name) {
    var value = slots[name];
    var cell;
    if (typeof value === "object" && value !== null) {
      var size = Array.isArray(value) ? value.length + " items" : Object.keys(value).length + " fields";
      cell = el("details", {}, [
        el("summary", { text: size }),
        el("pre", { className: "json", text: JSON.stringify(value, null, 2) })
      ]);
    } else {
      cell = document.createTextNode(show(value));
    }
    return el("tr", {}, [el("th", { scope: "row", text: name }), el("td", {}, [cell])]);
  });
  box.appendChild(el("table", { "data-table": "slots" }, [
    el("thead", {}, [el("tr", {}, [
      el("th", { scope: "col", text: "Slot" }), el("th", { scope: "col", text: "Value" })
    ])]),
    el("tbody", {}, rows)
  ]));
}

/** The conversation with the bot up to the handoff, with intents and actions. */
function renderTranscript(transcript) {
  var list = byId("h-transcript");
  clear(list);
  transcript.forEach(function (turn) {
    var who = turn.speaker === "customer" ? "Customer"
      : turn.speaker === "agent" ? (turn.agent_name || "Agent") : "Bot";
    var extra = turn.intent
      ? "intent " + turn.intent + (typeof turn.confidence === "number"
        ? " (" + turn.confidence.toFixed(2) + ")" : "")
      : (turn.action ? turn.action : "");
    list.appendChild(el("li", { className: "turn turn-" + turn.speaker }, [
      el("span", { className: "who", text: who }),
      el("span", { className: "when", text: when(turn.timestamp) }),
      extra ? el("span", { className: "intent", text: extra }) : null,
      el("span", { className: "text", text: turn.text }),
      turn.buttons && turn.buttons.length
        ? el("span", { className: "intent", text: "buttons: " + turn.buttons.join(" | ") })
        : null
    ]));
  });
}
