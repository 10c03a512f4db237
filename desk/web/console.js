/*
 * The agent console (desk/web/console.html), plain browser JavaScript, no build step.
 *
 * Talks to the desk's JSON API with the session cookie: GET /api/console-config, GET
 * /api/queues, GET /api/my-handoffs, POST /api/handoffs/{id}/claim, GET /api/handoffs/{id}
 * (screen pop), GET .../conversation, POST .../messages, .../typing, .../notes, .../transfer,
 * .../resolve, POST /api/logout; and listens on the websocket GET /api/live for {"type":
 * "connected" | "queue_changed" | "customer_message" | "customer_typing", ...}. Queues also
 * refresh every 10 s in case the websocket is down.
 *
 * "My chats" are the desk's (GET /api/my-handoffs: the chats this agent has claimed), so any
 * browser shows them; sessionStorage only caches them (and which have unread messages) for a
 * quick first paint. Opening a chat loads its conversation from the desk (read from Rasa:
 * customer, bot and agent turns); live messages are appended to it. When the session ends
 * (logout, here or elsewhere, or expiry) the desk closes the websocket with 1008 and the
 * console goes to the login page.
 */
(function () {
  "use strict";

  var QUEUE_REFRESH_MS = 10000;
  var TYPING_IDLE_MS = 2500;
  var TYPING_REPEAT_MS = 8000;
  var CUSTOMER_TYPING_STALE_MS = 15000;
  var MINE_KEY = "desk.my-chats";
  var SESSION_ENDED = 1008;  // the websocket's close code when the session ended
  var SAME_CUSTOMER_TURN_MS = 2000;
  var SAME_AGENT_TURN_MS = 60000;
  var ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

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

  var $ = function (id) { return document.getElementById(id); };

  var state = {
    config: null,
    me: null,
    queues: [],
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
    typing: false,
    typingSentAt: 0,
    typingTimer: null,
    customerTypingTimer: null
  };

  // --- Helpers --------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) { return; }
      if (key === "text") { node.textContent = value; } else if (key === "className") {
        node.className = value;
      } else if (key.slice(0, 5) === "data-") {
        node.setAttribute(key, value);
      } else if (key === "onclick") {
        node.addEventListener("click", value);
      } else {
        node.setAttribute(key, value === true ? "" : value);
      }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) { return; }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function show(text) {
    if (text === null || text === undefined || text === "") { return "—"; }
    if (typeof text === "object") { return JSON.stringify(text); }
    return String(text);
  }

  function when(value) {
    if (value === null || value === undefined || value === "") { return ""; }
    var date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (isNaN(date.getTime())) { return String(value); }
    return date.toLocaleString([], {
      day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit"
    });
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }

  function label(code) { return REASONS[code] || String(code || "").replace(/_/g, " "); }

  function flash(text, kind) {
    var node = $("flash");
    node.textContent = text || "";
    node.dataset.kind = kind || "warn";
    node.hidden = !text;
    if (text) {
      window.clearTimeout(flash.timer);
      flash.timer = window.setTimeout(function () { node.hidden = true; }, 12000);
    }
  }

  /** JSON API call: resolves {status, body}; a 401 means the session ended → /login. */
  function api(method, path, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return window.fetch(path, options).then(function (response) {
      if (response.status === 401) {
        window.location.assign("/login");
        throw new Error("logged out");
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, ok: response.ok, body: data };
      });
    });
  }

  function errorText(result, fallback) {
    var body = result && result.body;
    return (body && body.error) || fallback || ("the desk answered " + (result && result.status));
  }

  // --- My chats -------------------------------------------------------------------------------

  /** The cached list, shown until the desk's answers (refreshMine). */
  function loadMine() {
    try {
      return JSON.parse(window.sessionStorage.getItem(MINE_KEY) || "{}") || {};
    } catch (e) { return {}; }
  }

  function saveMine() {
    try {
      window.sessionStorage.setItem(MINE_KEY, JSON.stringify(state.mine));
    } catch (e) { /* storage disabled */ }
  }

  function renderMine() {
    var list = $("mine");
    clear(list);
    var ids = Object.keys(state.mine);
    $("mine-empty").hidden = ids.length > 0;
    ids.forEach(function (id) {
      var item = state.mine[id];
      var button = el("button", {
        type: "button",
        className: item.unread ? "unread" : "",
        "aria-current": id === state.openId ? "true" : "false",
        onclick: function () { openHandoff(id); }
      }, [item.label + (item.unread ? " • new message" : "")]);
      list.appendChild(el("li", {}, [button]));
    });
  }

  function forget(id) {
    delete state.mine[id];
    saveMine();
    renderMine();
  }

  /** My chats as the desk knows them (newest claim first); unread marks are kept. */
  function refreshMine() {
    return api("GET", "/api/my-handoffs").then(function (result) {
      if (!result.ok) { return; }
      var mine = {};
      (result.body.handoffs || []).forEach(function (handoff) {
        var cached = state.mine[handoff.handoff_id];
        mine[handoff.handoff_id] = { label: labelOf(handoff), unread: !!(cached && cached.unread) };
      });
      state.mine = mine;
      saveMine();
      renderMine();
    }).catch(function () { /* the next refresh */ });
  }

  /** Whether the handoff is one of my chats: claimed by me. */
  function isMine(handoff) {
    return handoff.status === "claimed" && !!handoff.agent && !!state.me &&
      handoff.agent.id === state.me.id;
  }

  // --- Queues ---------------------------------------------------------------------------------

  function loadQueues() {
    if (state.loadingQueues) { return Promise.resolve(); }
    state.loadingQueues = true;
    return api("GET", "/api/queues").then(function (result) {
      if (result.ok) {
        state.queues = result.body.queues || [];
        state.queuesFetchedAt = performance.now();
        renderQueues();
      }
    }).catch(function () { /* next refresh */ }).then(function () {
      state.loadingQueues = false;
    });
  }

  function renderQueues() {
    var container = $("queues");
    clear(container);
    var total = 0;
    state.queues.forEach(function (queue) {
      total += queue.waiting.length;
      var list = el("ul", { className: "waiting" });
      queue.waiting.forEach(function (waiting) {
        list.appendChild(waitingItem(waiting));
      });
      var section = el("section", { className: "queue", "data-queue": queue.name }, [
        el("h3", { text: queue.team_name + " (" + queue.waiting.length + ")" }),
        queue.waiting.length ? list : el("p", { className: "muted", text: "Nobody waiting." })
      ]);
      container.appendChild(section);
    });
    $("waiting-count").textContent = "(" + total + ")";
    tick();
  }

  function waitingItem(waiting) {
    var sentiment = waiting.sentiment || {};
    var claim = el("button", {
      type: "button", className: "primary small", "data-action": "claim",
      onclick: function () { claim_(waiting.handoff_id, claim); }
    }, ["Claim"]);
    var preview = el("button", {
      type: "button", className: "secondary small",
      onclick: function () { openHandoff(waiting.handoff_id); }
    }, ["View"]);
    return el("li", { "data-handoff-id": waiting.handoff_id }, [
      el("div", { className: "row" }, [
        el("span", { className: "reason", text: label(waiting.reason_code) }),
        el("span", {
          className: "wait-time", "data-base": String(waiting.waiting_seconds),
          title: "Waiting time", "aria-label": "Waiting time"
        }, [duration(waiting.waiting_seconds)])
      ]),
      el("div", { className: "row" }, [
        el("span", { className: "badge priority", "data-value": waiting.priority },
          ["Priority: " + waiting.priority]),
        el("span", { className: "badge sentiment", "data-value": sentiment.label || "unknown" },
          ["Mood: " + (sentiment.label || "unknown").replace(/_/g, " ") +
            (typeof sentiment.score === "number" ? " (" + sentiment.score.toFixed(2) + ")" : "")]),
        waiting.transfer_count ? el("span", { className: "badge", text: "transferred" }) : null
      ]),
      waiting.customer_label ? el("div", { className: "muted", text: waiting.customer_label }) : null,
      el("p", { className: "summary", text: waiting.summary }),
      el("div", { className: "row" }, [claim, preview])
    ]);
  }

  /** Waiting times tick every second on the client, from the last fetch. */
  function tick() {
    var elapsed = (performance.now() - (state.queuesFetchedAt || performance.now())) / 1000;
    var nodes = document.querySelectorAll(".wait-time[data-base]");
    Array.prototype.forEach.call(nodes, function (node) {
      node.textContent = duration(Number(node.dataset.base) + elapsed);
    });
  }

  function claim_(handoffId, button) {
    if (button) { button.disabled = true; }
    api("POST", "/api/handoffs/" + handoffId + "/claim").then(function (result) {
      if (result.ok) {
        flash("");
        var mine = {};
        mine[handoffId] = { label: labelOf(result.body), unread: false };  // newest first
        Object.keys(state.mine).forEach(function (id) { mine[id] = state.mine[id]; });
        state.mine = mine;
        saveMine();
        loadQueues();
        openHandoff(handoffId);
      } else if (result.status === 409) {
        flash("Someone else claimed this chat first. It is no longer waiting.");
        loadQueues();
        if (state.openId === handoffId) { openHandoff(handoffId); }
      } else {
        flash("Could not claim: " + errorText(result));
        if (button) { button.disabled = false; }
      }
    }).catch(function () { if (button) { button.disabled = false; } });
  }

  function labelOf(handoff) {
    return (handoff.customer_label || "Customer") + " — " + label(handoff.reason_code);
  }

  // --- Screen pop -----------------------------------------------------------------------------

  function openHandoff(handoffId) {
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

  function isActive(handoff) {
    return handoff.status === "queued" || handoff.status === "claimed";
  }

  function canWork(handoff) {
    var me = state.me;
    return handoff.status === "claimed" && me &&
      ((handoff.agent && handoff.agent.id === me.id) || me.role === "supervisor");
  }

  /** Show a screen pop; `changed`: another handoff, or its status changed (reload the talk). */
  function renderPop(pop, changed) {
    var handoff = pop.handoff;
    var context = pop.context || {};
    $("placeholder").hidden = true;
    $("handoff").hidden = false;
    $("handoff").dataset.handoffId = handoff.handoff_id;
    $("handoff").dataset.status = handoff.status;
    $("h-title").textContent = (handoff.customer_label || "Customer") + ": " +
      label(handoff.reason_code);
    var team = queueName(handoff.queue);
    var meta = [
      "Status: " + handoff.status.replace(/_/g, " "),
      "Queue: " + team,
      "Priority: " + handoff.priority,
      handoff.agent ? "Agent: " + handoff.agent.name : null,
      typeof handoff.position === "number" ? "Position: " + handoff.position : null,
      "Requested: " + when(handoff.requested_at)
    ].filter(Boolean).join(" · ");
    $("h-meta").textContent = meta;

    $("h-summary").textContent = context.summary || "";
    var trigger = context.trigger || {};
    var sentiment = context.sentiment || {};
    fillKv($("h-trigger"), [
      ["Trigger", trigger.type], ["Reason", trigger.reason_code], ["Detail", trigger.detail],
      ["Journey", context.flow], ["Last intent", context.last_intent],
      ["Sentiment", sentiment.label ? sentiment.label + " (" + sentiment.score + ")" : null],
      ["Skills", (context.routing && context.routing.skills || []).join(", ")]
    ]);
    renderEvidence(context.evidence || {});
    renderAttempts(context.attempts || []);
    renderSlots(context.slots || {});
    renderTranscript(context.transcript || []);
    renderNotes(pop.notes || []);
    if (changed || !state.conversations[handoff.handoff_id]) {
      loadConversation(handoff.handoff_id, pop.events || []);
    }
    renderConversation();
    renderActions(handoff);
  }

  function queueName(name) {
    var queues = (state.config && state.config.queues) || [];
    for (var i = 0; i < queues.length; i += 1) {
      if (queues[i].name === name) { return queues[i].team_name; }
    }
    return name;
  }

  function fillKv(dl, rows) {
    clear(dl);
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined || row[1] === "") { return; }
      dl.appendChild(el("dt", { text: row[0] }));
      dl.appendChild(el("dd", { text: show(row[1]) }));
    });
  }

  function table(caption, headers, rows, attrs) {
    var head = el("tr", {}, headers.map(function (h) { return el("th", { scope: "col", text: h }); }));
    var body = rows.map(function (row) {
      return el("tr", {}, row.map(function (cell) { return el("td", { text: show(cell) }); }));
    });
    return el("table", attrs || {}, [
      caption ? el("caption", { text: caption }) : null,
      el("thead", {}, [head]),
      el("tbody", {}, body)
    ]);
  }

  function keyValueTable(caption, object, keys, attrs) {
    var rows = keys.filter(function (k) { return object[k[0]] !== undefined; })
      .map(function (k) {
        var value = object[k[0]];
        return [k[1], typeof value === "string" && ISO_TIME.test(value) ? when(value) : value];
      });
    return table(caption, ["Field", "Value"], rows, attrs);
  }

  function renderEvidence(evidence) {
    var box = $("h-evidence");
    clear(box);
    var any = false;
    if (evidence.order) {
      any = true;
      var order = evidence.order;
      box.appendChild(keyValueTable("Order " + order.order_number, order, [
        ["order_number", "Order"], ["status", "Status"], ["customer_name", "Customer"],
        ["customer_email", "E-mail"], ["carrier", "Carrier"], ["tracking_number", "Tracking no."],
        ["estimated_delivery", "Estimated delivery"], ["placed_at", "Placed"],
        ["looked_up_at", "Looked up by the bot"]
      ], { "data-evidence": "order" }));
      if (order.items && order.items.length) {
        box.appendChild(table("Items", ["SKU", "Product", "Qty"], order.items.map(function (i) {
          return [i.sku, i.name, i.quantity];
        })));
      }
      if (order.tracking_events && order.tracking_events.length) {
        box.appendChild(table("Tracking", ["When", "Where", "What", "Status"],
          order.tracking_events.map(function (e) {
            return [when(e.occurred_at), e.location, e.description, e.status];
          })));
      }
    }
    if (evidence.mortgage_application) {
      any = true;
      var app = evidence.mortgage_application;
      box.appendChild(keyValueTable("Mortgage application " + (app.reference || "(draft)"), app, [
        ["reference", "Reference"], ["status", "Status"], ["applicant_name", "Applicant"],
        ["email", "E-mail"], ["property_value", "Property value"],
        ["deposit_amount", "Deposit"], ["loan_amount", "Loan"], ["loan_to_value", "Loan-to-value"],
        ["term_years", "Term (years)"], ["annual_income", "Annual income"],
        ["employment_type", "Employment"], ["currency", "Currency"], ["created_at", "Submitted"]
      ], { "data-evidence": "mortgage" }));
    }
    if (evidence.troubleshooting) {
      any = true;
      var t = evidence.troubleshooting;
      box.appendChild(keyValueTable("Troubleshooting " + t.error_code, t, [
        ["error_code", "Error code"], ["tree_title", "Problem"], ["tree", "Tree"],
        ["known_code", "Known code"], ["cycles_completed", "Cycles completed"],
        ["cycle_limit", "Cycle limit"]
      ], { "data-evidence": "troubleshooting" }));
    }
    if (!any) { box.appendChild(el("p", { className: "muted", text: "No records." })); }
  }

  function renderAttempts(attempts) {
    var box = $("h-attempts");
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

  function renderSlots(slots) {
    var box = $("h-slots");
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

  function renderTranscript(transcript) {
    var list = $("h-transcript");
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

  function renderNotes(notes) {
    var list = $("notes");
    clear(list);
    notes.forEach(function (note) {
      list.appendChild(el("li", {}, [
        el("span", { className: "who", text: note.agent.name + " · " + when(note.created_at) }),
        el("span", { text: note.text })
      ]));
    });
    if (!notes.length) { list.appendChild(el("li", { className: "muted", text: "No notes yet." })); }
  }

  function renderActions(handoff) {
    var working = canWork(handoff);
    var active = isActive(handoff);
    $("reply-form").hidden = !working;
    $("resolve-form").closest("section").hidden = !working;
    $("transfer-form").closest("section").hidden = !active;
    $("note-form").hidden = false;
    var claimButton = $("claim-open");
    claimButton.hidden = handoff.status !== "queued";
    // Resolved but not handed back: the bot did not take the conversation; let the agent retry.
    var me = state.me;
    $("hand-back-retry").hidden = !(handoff.status === "resolved" && me &&
      ((handoff.agent && handoff.agent.id === me.id) || me.role === "supervisor"));
    var hint = $("claim-hint");
    if (handoff.status === "queued") {
      hint.textContent = "This customer is waiting. Claim the chat to talk to them.";
    } else if (handoff.status === "claimed" && !working) {
      hint.textContent = (handoff.agent ? handoff.agent.name : "Another agent") + " has this chat.";
    } else if (!active) {
      hint.textContent = "This chat is " + handoff.status.replace(/_/g, " ") + ".";
    }
    hint.hidden = working;
    var select = $("transfer-queue");
    clear(select);
    ((state.config && state.config.queues) || []).forEach(function (queue) {
      if (queue.name !== handoff.queue) {
        select.appendChild(el("option", { value: queue.name, text: queue.team_name }));
      }
    });
    if (!working) { showCustomerTyping(false); }
  }

  // --- Live conversation ----------------------------------------------------------------------

  /** Milliseconds since the epoch of a line's time: Rasa's epoch seconds or an ISO string. */
  function timeOf(at) {
    if (at === null || at === undefined || at === "") { return null; }
    var ms = typeof at === "number" ? at * 1000 : Date.parse(at);
    return isNaN(ms) ? null : ms;
  }

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
  function loadConversation(handoffId, events) {
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

  function addLine(handoffId, line) {
    if (!state.conversations[handoffId]) { state.conversations[handoffId] = []; }
    state.conversations[handoffId].push(line);
    if (state.arriving[handoffId]) { state.arriving[handoffId].push(line); }
    if (handoffId === state.openId) { renderConversation(); }
  }

  function renderConversation() {
    var list = $("live-messages");
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

  function showCustomerTyping(typing) {
    window.clearTimeout(state.customerTypingTimer);
    $("customer-typing").hidden = !typing;
    if (typing) {
      // A lost "typing: false" must not leave the indicator on for ever.
      state.customerTypingTimer = window.setTimeout(function () {
        $("customer-typing").hidden = true;
      }, CUSTOMER_TYPING_STALE_MS);
    }
  }

  function sendReply(text) {
    var id = state.openId;
    var button = $("reply-send");
    button.disabled = true;
    stopTyping();
    return api("POST", "/api/handoffs/" + id + "/messages", { text: text }).then(function (result) {
      button.disabled = false;
      if (result.ok) {
        addLine(id, { role: "agent", text: text, name: state.me.display_name, at: new Date().toISOString() });
        $("reply").value = "";
      } else {
        flash("The message was not sent: " + errorText(result));
      }
    }).catch(function () { button.disabled = false; });
  }

  function postTyping(typing) {
    if (!state.openId || !state.pop || !canWork(state.pop.handoff)) { return; }
    api("POST", "/api/handoffs/" + state.openId + "/typing", { typing: typing })
      .catch(function () { /* a courtesy */ });
  }

  function onReplyInput() {
    var now = Date.now();
    if (!$("reply").value.trim()) { stopTyping(); return; }
    if (!state.typing || now - state.typingSentAt > TYPING_REPEAT_MS) {
      state.typing = true;
      state.typingSentAt = now;
      postTyping(true);
    }
    window.clearTimeout(state.typingTimer);
    state.typingTimer = window.setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    window.clearTimeout(state.typingTimer);
    if (state.typing) {
      state.typing = false;
      postTyping(false);
    }
  }

  // --- Notes, transfer, resolve ---------------------------------------------------------------

  function addNote(text) {
    var id = state.openId;
    return api("POST", "/api/handoffs/" + id + "/notes", { text: text }).then(function (result) {
      if (result.ok) {
        $("note").value = "";
        if (state.pop && state.openId === id) {
          state.pop.notes = (state.pop.notes || []).concat([result.body]);
          renderNotes(state.pop.notes);
        }
      } else {
        flash("The note was not saved: " + errorText(result));
      }
    });
  }

  function transfer(queue) {
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

  function slotRow() {
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

  function resolve() {
    var id = state.openId;
    var updates = slotUpdates();
    if (updates.problems.length) {
      flash(updates.problems.join("; "));
      return Promise.resolve();
    }
    stopTyping();
    var body = { disposition: $("disposition").value, slots: updates.slots };
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
      clear($("slot-rows"));
      forget(id);
      loadQueues();
      openHandoff(id);
    });
  }

  function retryHandBack(id) {
    $("hand-back-retry").disabled = true;
    return api("POST", "/api/handoffs/" + id + "/hand-back").then(function (result) {
      $("hand-back-retry").disabled = false;
      if (result.ok && result.body.handed_back) {
        flash("The bot has the conversation again.", "ok");
      } else {
        flash("The bot still did not take the conversation back: " +
          (result.ok ? result.body.hand_back_error : errorText(result)));
      }
      openHandoff(id);
    });
  }

  // --- Live websocket -------------------------------------------------------------------------

  function setLive(stateName, text) {
    var node = $("live-status");
    node.dataset.state = stateName;
    node.textContent = text;
  }

  function connectLive() {
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
      state.liveRetryMs = Math.min(state.liveRetryMs * 2, 30000);
      // The session may have ended: /api/me answers 401 → api() goes to /login.
      api("GET", "/api/me").catch(function () {});
    };
    socket.pinger = window.setInterval(function () {
      if (socket.readyState === WebSocket.OPEN) { socket.send("ping"); }
    }, 25000);
  }

  function onLive(message) {
    switch (message.type) {
      case "connected":
        setLive("online", "Live");
        loadQueues();
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
          state.mine[message.handoff_id].unread = true;
          saveMine();
          renderMine();
        }
        break;
      case "customer_typing":
        if (message.handoff_id === state.openId) { showCustomerTyping(message.typing === true); }
        break;
      default:
        break;
    }
  }

  // --- Start-up -------------------------------------------------------------------------------

  /** To the login page, forgetting the cached chats. */
  function leave() {
    try { window.sessionStorage.removeItem(MINE_KEY); } catch (e) { /* ignore */ }
    window.location.assign("/login");
  }

  function wire() {
    $("logout").addEventListener("click", function () {
      stopTyping();
      api("POST", "/api/logout").then(leave, leave);
    });
    $("reply-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var text = $("reply").value.trim();
      if (text) { sendReply(text); }
    });
    $("reply").addEventListener("input", onReplyInput);
    $("reply").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        $("reply-form").requestSubmit();
      }
    });
    $("reply").addEventListener("blur", stopTyping);
    $("note-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var text = $("note").value.trim();
      if (text) { addNote(text); }
    });
    $("transfer-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var queue = $("transfer-queue").value;
      if (queue) { transfer(queue); }
    });
    $("add-slot").addEventListener("click", function () {
      $("slot-rows").appendChild(slotRow());
    });
    $("resolve-form").addEventListener("submit", function (event) {
      event.preventDefault();
      resolve();
    });
    $("hand-back-retry").addEventListener("click", function () {
      if (state.openId) { retryHandBack(state.openId); }
    });
    $("claim-open").addEventListener("click", function () {
      if (state.openId) { claim_(state.openId, $("claim-open")); }
    });
  }

  function start() {
    wire();
    api("GET", "/api/console-config").then(function (result) {
      if (!result.ok) { flash("The console could not load: " + errorText(result)); return; }
      state.config = result.body;
      state.me = result.body.agent;
      $("me").textContent = state.me.display_name +
        (state.me.role === "supervisor" ? " · supervisor (all queues)" : "");
      var disposition = $("disposition");
      (state.config.dispositions || []).forEach(function (value) {
        disposition.appendChild(el("option", { value: value, text: value.replace(/_/g, " ") }));
      });
      renderMine();
      loadQueues();
      connectLive();
      window.setInterval(loadQueues, QUEUE_REFRESH_MS);
      window.setInterval(tick, 1000);
      refreshMine().then(function () {
        var ids = Object.keys(state.mine);
        if (ids.length && !state.openId) { openHandoff(ids[0]); }
      });
    });
  }

  start();
}());
