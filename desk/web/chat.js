/*
 * The customer web chat (desk/web/chat.html): a native ES module, no build step; the helpers
 * every desk page shares come from page.js.
 *
 * Speaks Rasa's standard socket.io protocol to the Rasa server (whose URL comes from the desk's
 * GET /chat/config): emit `session_request` {session_id, token} → `session_confirm`; emit
 * `user_uttered` {message, session_id} → `bot_uttered` {text, quick_replies|buttons,
 * metadata: {handoff_agent: {id, name}} on an agent's turn, whose text then starts with
 * "<name>: " so stock widgets show who wrote it (contract/webchat.py)}. Plus the
 * live handoff (assistant/channels/webchat.py): emit `user_typing` {session_id, typing}, receive
 * `handoff_status` {status: waiting|agent_joined|agent_typing|agent_left|back_with_bot|
 * timeout_choice, position, estimated_wait_seconds, agent_name, typing, choices, notice_text,
 * ...}.
 *
 * The desk also says waiting, joined and left as plain bot messages (every widget shows those),
 * marked `metadata.desk_notice` (contract/desk_notices.py). This page shows the rich status
 * instead and skips those messages: by the marking when the socket payload carries `metadata`,
 * otherwise by their words, which the status announced just before as `notice_text`.
 *
 * Transport: the client's default, long-polling first, then the upgrade to websocket the Rasa
 * server offers (assistant/channels/websocket_transport.py); behind a proxy that refuses
 * websockets the page stays on long-polling.
 * Socket.IO client: desk/web/socket.io.min.js is socket.io-client 4.7.5 (protocol v5, fits
 * python-socketio 5.8), dist/socket.io.min.js of the npm package, MIT licence header kept.
 *
 * Documents (contract/documents.py): a bot message asking for a document carries
 * `metadata.document_upload` {reference, item, title, max_bytes, accept}; the page shows an
 * upload control under it (only the latest one is active) and POSTs the file as
 * multipart/form-data {reference, item, file} to /chat/uploads with the chat's token in the
 * X-Chat-Token header (the id alone opens nothing): 201 is received;
 * any other answer's `error` is shown and the control stays for another try. The desk then has
 * the bot thank the customer and ask for the next document.
 *
 * The desk makes the conversation's id and signs it (POST /chat/sessions → {session_id, token,
 * expires_at}; contract/webchat.py). Both live in localStorage: a reload keeps the conversation
 * and shows its history (GET /chat/history with the token in the X-Chat-Token header, never in
 * the URL), whose latest unanswered request for a document carries `document_upload`, so its
 * control is offered again. A token the desk refuses (expired after a day, or from an older
 * page) starts a new conversation.
 *
 * The same token joins the chat on the Rasa server (`session_request` {session_id, token}). A
 * token the server refuses (expired while the page stayed open) makes it start a new chat: it
 * sends `chat_token` {session_id, token, expires_at} and then `session_confirm` with the new
 * id, which this page keeps from then on.
 */
import { byId, el, requestJson, showMessage, typingSignal } from "./page.js";

var SESSION_KEY = "support-chat.session-id";
var TOKEN_KEY = "support-chat.token";
// contract/webchat.py TRANSCRIPT_TOKEN_HEADER
var TOKEN_HEADER = "X-Chat-Token";
var SESSION_ID_PATTERN = /^[0-9a-f]{32}$/;
// contract/webchat.py CHAT_TOKEN_EVENT
var CHAT_TOKEN_EVENT = "chat_token";
// contract/slow_down.py: the server dropped an event of this connection's (too many too fast).
var SLOW_DOWN_EVENT = "slow_down";
// contract/desk_notices.py STATUS_NOTICES: desk messages this page shows as status instead.
var STATUS_NOTICES = ["queue_position", "agent_joined", "agent_left"];
var MAX_PENDING_NOTICES = 20;

var els = {
  connection: byId("connection"),
  handoff: byId("handoff"),
  handoffText: byId("handoff-text"),
  handoffChoices: byId("handoff-choices"),
  messages: byId("messages"),
  agentTyping: byId("agent-typing"),
  form: byId("composer"),
  input: byId("message"),
  send: byId("send"),
  error: byId("error")
};

var state = {
  sessionId: null,
  token: null,
  socket: null,
  confirmed: false,
  // "bot" (the assistant answers), "waiting" (queued for a person), "agent" (a person has it)
  mode: "bot",
  agentName: null,
  // Words of desk notices announced by a status, whose bot message is still to come.
  pendingNotices: [],
  // The customer's last message ({item, text}), given back if the server drops it.
  lastSent: null
};

// --- Session id ---------------------------------------------------------------------------

/** The conversation this browser had (id and token), or null. */
function storedSession() {
  try {
    var id = window.localStorage.getItem(SESSION_KEY);
    var token = window.localStorage.getItem(TOKEN_KEY);
    if (id && token && SESSION_ID_PATTERN.test(id)) {
      return { id: id, token: token };
    }
  } catch (e) { /* storage disabled: a conversation per page load */ }
  return null;
}

/** Keeps the conversation for the next page load. */
function remember(session) {
  try {
    window.localStorage.setItem(SESSION_KEY, session.id);
    window.localStorage.setItem(TOKEN_KEY, session.token);
  } catch (e) { /* see storedSession */ }
  return session;
}

/** A new conversation: the desk makes its id and the token that opens its history. */
function newSession() {
  return requestJson("POST", "/chat/sessions").then(function (response) {
    var made = response.body || {};
    if (response.status !== 201 || !SESSION_ID_PATTERN.test(made.session_id || "")) {
      throw new Error("/chat/sessions answered " + response.status);
    }
    return remember({ id: made.session_id, token: made.token });
  });
}

/** A new conversation, with no history to show. */
function freshStart() {
  return newSession().then(function (fresh) { return { session: fresh, history: null }; });
}

/**
 * The stored conversation and its history; a conversation the desk no longer opens (401: its
 * token expired or was refused) is replaced by a new one.
 */
function resumeSession(session) {
  var headers = { Accept: "application/json" };
  headers[TOKEN_HEADER] = session.token;
  return window.fetch("/chat/history", {
    method: "GET", credentials: "same-origin", cache: "no-store", headers: headers
  }).then(function (response) {
    if (response.status === 401) { return null; }
    if (!response.ok) { throw new Error("/chat/history answered " + response.status); }
    return response.json().then(function (history) {
      // The chat is the one the token opens, whatever id was stored beside it.
      var id = SESSION_ID_PATTERN.test(history.session_id || "") ? history.session_id : session.id;
      var opened = remember({ id: id, token: session.token });
      return { session: opened, history: history };
    });
  }).catch(function () {
    showError("Your earlier messages could not be loaded.");
    return { session: session, history: null };
  }).then(function (found) {
    return found || freshStart();
  });
}

// --- Rendering ------------------------------------------------------------------------------

function scrollToEnd() {
  els.messages.scrollTop = els.messages.scrollHeight;
}

function speakerLabel(role, name) {
  if (role === "customer") { return "You"; }
  if (role === "agent") { return name || "Agent"; }
  if (role === "system") { return "Notice"; }
  return "Assistant";
}

/** Adds a message; role is customer, bot, agent or system. Returns the <li>. */
function addMessage(role, text, options) {
  options = options || {};
  var sender = role === "agent"
    ? el("span", { className: "msg-sender", text: speakerLabel(role, options.agentName) })
    : el("span", { className: "visually-hidden", text: speakerLabel(role) + ": " });
  var item = el("li", {
    className: "msg msg-" + role + (options.history ? " msg-history" : ""), "data-role": role
  }, [
    sender,
    el("span", { className: "msg-text", text: text }),
    options.buttons && options.buttons.length ? quickReplies(options.buttons) : null
  ]);
  els.messages.appendChild(item);
  scrollToEnd();
  return item;
}

function quickReplies(buttons) {
  return el("div", {
    className: "quick-replies", role: "group", "aria-label": "Suggested replies"
  }, buttons.map(function (button) {
    return el("button", {
      type: "button", text: button.title, "data-payload": button.payload,
      onclick: function () {
        if (!state.confirmed) { return; }
        send(button.payload, button.title);
      }
    });
  }));
}

/** Quick replies answer the last question only: older ones go once the customer speaks. */
function retireQuickReplies() {
  var groups = els.messages.querySelectorAll(".quick-replies");
  Array.prototype.forEach.call(groups, function (group) { group.remove(); });
  hideChoices();
}

function buttonsOf(message) {
  var raw = message.quick_replies || message.buttons || [];
  return raw.filter(function (b) { return b && b.title && b.payload; })
    .map(function (b) { return { title: String(b.title), payload: String(b.payload) }; });
}

function showError(text) { showMessage(els.error, text); }

function setConnection(stateName, text) {
  els.connection.dataset.state = stateName;
  els.connection.textContent = text;
}

function setComposerEnabled(enabled) {
  els.input.disabled = !enabled;
  els.send.disabled = !enabled;
}

// --- Handoff status -------------------------------------------------------------------------

function minutes(seconds) {
  var m = Math.max(1, Math.round(Number(seconds) / 60));
  return m === 1 ? "about 1 minute" : "about " + m + " minutes";
}

function showBanner(status, text) {
  els.handoff.dataset.status = status;
  els.handoffText.textContent = text;
  els.handoff.hidden = false;
}

function hideBanner() {
  els.handoff.hidden = true;
  els.handoff.dataset.status = "";
  hideChoices();
}

function hideChoices() {
  els.handoffChoices.hidden = true;
  els.handoffChoices.textContent = "";
}

function showAgentTyping(typing, name) {
  if (typing) {
    els.agentTyping.textContent = (name || state.agentName || "The agent") + " is typing…";
    els.agentTyping.hidden = false;
  } else {
    els.agentTyping.hidden = true;
    els.agentTyping.textContent = "";
  }
}

function waitingText(status) {
  var team = status.team_name ? " for " + status.team_name : "";
  var text = "You're waiting for a person" + team + ".";
  if (typeof status.position === "number") {
    text = "You're number " + status.position + " in the queue" + team + ".";
  }
  if (typeof status.estimated_wait_seconds === "number") {
    text += " Estimated wait: " + minutes(status.estimated_wait_seconds) + ".";
  }
  return text;
}

function expectNotice(status) {
  if (typeof status.notice_text !== "string" || !status.notice_text) { return; }
  state.pendingNotices.push(status.notice_text);
  if (state.pendingNotices.length > MAX_PENDING_NOTICES) { state.pendingNotices.shift(); }
}

/** Whether a bot message repeats a status this page already shows (see the top). */
function isStatusNotice(message, text) {
  var pending = state.pendingNotices.indexOf(text);
  var metadata = message.metadata;
  var kind = metadata && typeof metadata === "object" ? metadata.desk_notice : undefined;
  if (typeof kind === "string") {
    if (STATUS_NOTICES.indexOf(kind) < 0) { return false; }
    if (pending >= 0) { state.pendingNotices.splice(pending, 1); }
    return true;
  }
  if (pending >= 0 && !message.handoff_agent && !(metadata && metadata.handoff_agent)) {
    state.pendingNotices.splice(pending, 1);
    return true;
  }
  return false;
}

function onHandoffStatus(status) {
  if (!status || typeof status.status !== "string") { return; }
  expectNotice(status);
  switch (status.status) {
    case "waiting":
      state.mode = "waiting";
      showBanner("waiting", waitingText(status));
      break;
    case "agent_joined":
      state.mode = "agent";
      state.agentName = status.agent_name || "An agent";
      showBanner("agent_joined", "You're chatting with " + state.agentName + ".");
      addMessage("system", state.agentName + " joined the chat.");
      break;
    case "agent_typing":
      showAgentTyping(status.typing === true, status.agent_name);
      break;
    case "agent_left":
      showAgentTyping(false);
      addMessage("system", (status.agent_name || state.agentName || "The agent") +
        " left the chat.");
      state.mode = "bot";
      state.agentName = null;
      hideBanner();
      break;
    case "back_with_bot":
      showAgentTyping(false);
      state.mode = "bot";
      state.agentName = null;
      hideBanner();
      addMessage("system", "You're back with the assistant.");
      break;
    case "timeout_choice":
      showTimeoutChoice(status);
      break;
    default:
      break;
  }
}

function showTimeoutChoice(status) {
  // The assistant's message above carries the words and the two quick replies; the banner
  // only says why (the desk's `text` is that same message, so it is not repeated here).
  var text = status.reason === "no_agent_online" ?
    "Nobody from the team is online right now: keep waiting, or leave a message." :
    "Everyone is still busy: keep waiting, or leave a message.";
  showBanner("timeout_choice", text);
  var choices = Array.isArray(status.choices) ? status.choices : [];
  els.handoffChoices.textContent = "";
  if (choices.length) {
    var group = quickReplies(buttonsOf({ buttons: choices }));
    // A copy: childNodes is live and shrinks as each button moves across.
    Array.from(group.childNodes).forEach(function (button) {
      els.handoffChoices.appendChild(button);
    });
    els.handoffChoices.setAttribute("role", "group");
    els.handoffChoices.setAttribute("aria-label", "Your options");
    els.handoffChoices.hidden = false;
  }
}

// --- Sending a document -----------------------------------------------------------------------

var UPLOADS_PATH = "/chat/uploads";
var TYPE_NAMES = { "application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG" };
var uploadControls = 0;

/** The request for a document a message (or a history turn) carries, or null. */
function uploadPromptOf(marking) {
  if (!marking || typeof marking !== "object") { return null; }
  if (typeof marking.reference !== "string" || typeof marking.item !== "string") { return null; }
  return {
    reference: marking.reference,
    item: marking.item,
    title: typeof marking.title === "string" && marking.title ? marking.title : "Your document",
    maxBytes: Number(marking.max_bytes) > 0 ? Number(marking.max_bytes) : 0,
    accept: Array.isArray(marking.accept) ? marking.accept.map(String) : []
  };
}

function sizeText(bytes) {
  if (bytes >= 1024 * 1024) { return (Math.round(bytes / 104857.6) / 10) + " MB"; }
  if (bytes >= 1024) { return Math.round(bytes / 1024) + " KB"; }
  return bytes + " bytes";
}

function allowedText(prompt) {
  var kinds = prompt.accept.map(function (type) {
    return TYPE_NAMES[type] || type.split("/").pop().toUpperCase();
  });
  var parts = [];
  if (kinds.length) { parts.push(kinds.join(", ")); }
  if (prompt.maxBytes) { parts.push("up to " + sizeText(prompt.maxBytes)); }
  return parts.length ? " (" + parts.join(", ") + ")" : "";
}

/** Only the latest request can be answered: older controls not yet used go (one still
 * uploading stays, to say how its upload went). */
function retireUploadControls() {
  var open = els.messages.querySelectorAll(
    ".upload[data-state='ready'], .upload[data-state='error']");
  Array.prototype.forEach.call(open, function (form) { form.remove(); });
}

function setUploadStatus(control, stateName, text) {
  control.form.dataset.state = stateName;
  control.status.textContent = text;
  var busyOrDone = stateName === "uploading" || stateName === "received";
  control.input.disabled = busyOrDone;
  control.button.disabled = busyOrDone;
}

/** The upload control for one request: a labelled file input, "Send", and its status. */
function uploadControl(prompt) {
  uploadControls += 1;
  var inputId = "upload-file-" + uploadControls;
  var control = {
    input: el("input", {
      id: inputId, type: "file", name: "file",
      accept: prompt.accept.length ? prompt.accept.join(",") : null
    }),
    button: el("button", { type: "submit", text: "Send" }),
    status: el("p", { className: "upload-status", role: "status", "aria-live": "polite" })
  };
  control.form = el("form", {
    className: "upload", "data-item": prompt.item, "data-state": "ready", novalidate: true
  }, [
    el("label", { for: inputId, text: prompt.title + allowedText(prompt) }),
    el("div", { className: "upload-row" }, [control.input, control.button]),
    control.status
  ]);
  control.form.addEventListener("submit", function (event) {
    event.preventDefault();
    sendDocument(prompt, control);
  });
  return control.form;
}

function sendDocument(prompt, control) {
  var file = control.input.files && control.input.files[0];
  if (!file) {
    setUploadStatus(control, "error", "Please choose a file first.");
    return;
  }
  // Checked here first so a file that cannot be taken is never sent; the desk checks again.
  if (prompt.maxBytes && file.size > prompt.maxBytes) {
    setUploadStatus(control, "error", "This file is " + sizeText(file.size) +
      ", more than the " + sizeText(prompt.maxBytes) + " we can take. Please choose a " +
      "smaller file, or a scan at a lower resolution.");
    return;
  }
  if (file.size === 0) {
    setUploadStatus(control, "error", "This file is empty. Please choose another one.");
    return;
  }
  var body = new FormData();
  body.append("reference", prompt.reference);
  body.append("item", prompt.item);
  body.append("file", file, file.name);
  setUploadStatus(control, "uploading", "Uploading " + file.name + "…");
  var headers = { Accept: "application/json" };
  headers[TOKEN_HEADER] = state.token;
  window.fetch(UPLOADS_PATH, {
    method: "POST", body: body, credentials: "same-origin", cache: "no-store", headers: headers
  }).then(function (response) {
    return response.json().catch(function () { return {}; }).then(function (answer) {
      if (response.status === 201) {
        setUploadStatus(control, "received", "Received: " + file.name);
        return;
      }
      var error = answer && typeof answer.error === "string" && answer.error ?
        answer.error : "The upload did not work (" + response.status + "). Please try again.";
      setUploadStatus(control, "error", error);
    });
  }).catch(function () {
    setUploadStatus(control, "error",
      "The upload could not reach us. Please check your connection and try again.");
  });
}

/** Puts the upload control under a message, retiring older ones. */
function offerUpload(item, marking) {
  var prompt = uploadPromptOf(marking);
  if (!prompt || !item) { return; }
  retireUploadControls();
  item.appendChild(uploadControl(prompt));
  scrollToEnd();
}

// --- Talking --------------------------------------------------------------------------------

function send(payload, shownText) {
  var text = String(payload || "").trim();
  if (!text || !state.confirmed) { return; }
  stopTyping();
  retireQuickReplies();
  var item = addMessage("customer", shownText || text);
  state.lastSent = { item: item, text: shownText || text };
  state.socket.emit("user_uttered", { message: text, session_id: state.sessionId });
}

function emitTyping(typing) {
  if (!state.socket || !state.confirmed) { return; }
  state.socket.emit("user_typing", { session_id: state.sessionId, typing: typing });
}

var customerTyping = typingSignal(emitTyping);

function stopTyping() { customerTyping.stop(); }

/** The agent's words without the "<name>: " the channel puts first for stock widgets (the
 * page shows the name as the sender already). */
function withoutAgentName(text, name) {
  var prefix = typeof name === "string" && name ? name + ": " : null;
  return prefix && text.indexOf(prefix) === 0 ? text.slice(prefix.length) : text;
}

function onBotUttered(message) {
  if (!message) { return; }
  var text = typeof message.text === "string" ? message.text : "";
  var buttons = buttonsOf(message);
  if (!text && !buttons.length) {
    if (message.attachment) { addMessage("bot", "[attachment]"); }
    return;
  }
  if (!buttons.length && isStatusNotice(message, text)) { return; }
  var agent = message.metadata && message.metadata.handoff_agent;
  if (agent && typeof agent === "object") {
    // An agent's turn: the web chat channel marks it with who wrote it.
    showAgentTyping(false);
    addMessage("agent", withoutAgentName(text, agent.name), {
      agentName: agent.name || state.agentName, buttons: buttons
    });
  } else {
    var item = addMessage("bot", text, { buttons: buttons });
    offerUpload(item, message.metadata && message.metadata.document_upload);
  }
}

// --- Start-up -------------------------------------------------------------------------------

function getJson(url) {
  return requestJson("GET", url).then(function (response) {
    if (!response.ok) { throw new Error(url + " answered " + response.status); }
    return response.body;
  });
}

function showHistory(history) {
  var turns = history.turns || [];
  turns.forEach(function (turn, index) {
    var last = index === turns.length - 1;
    if (STATUS_NOTICES.indexOf(turn.notice) >= 0) {
      // Said as status live: the current place is the banner's; joined and left are notices.
      if (turn.notice !== "queue_position") {
        addMessage("system", turn.text, { history: true });
      }
      return;
    }
    var item = addMessage(turn.role, turn.text, {
      history: true,
      agentName: turn.agent_name,
      buttons: last && turn.role === "bot" ? turn.buttons : null
    });
    if (turn.role === "bot") { offerUpload(item, turn.document_upload); }
  });
  var handoff = history.handoff;
  if (handoff && handoff.status === "waiting") {
    state.mode = "waiting";
    showBanner("waiting", waitingText(handoff));
  } else if (handoff && handoff.status === "agent_joined") {
    state.mode = "agent";
    state.agentName = handoff.agent_name || "An agent";
    showBanner("agent_joined", "You're chatting with " + state.agentName + ".");
  }
}

function connect(rasaUrl) {
  /* global io */
  var socket = io(rasaUrl, {
    path: "/socket.io",
    transports: ["polling", "websocket"],
    reconnection: true,
    reconnectionDelayMax: 10000
  });
  state.socket = socket;
  socket.on("connect", function () {
    setConnection("connecting", "Connecting…");
    socket.emit("session_request", { session_id: state.sessionId, token: state.token });
  });
  socket.on(CHAT_TOKEN_EVENT, function (grant) {
    // The server started a new chat (this page's token was refused): it is this page's now.
    if (!grant || !SESSION_ID_PATTERN.test(grant.session_id || "") || !grant.token) { return; }
    var kept = remember({ id: grant.session_id, token: grant.token });
    state.sessionId = kept.id;
    state.token = kept.token;
  });
  socket.on("session_confirm", function () {
    state.confirmed = true;
    setConnection("online", "Connected");
    setComposerEnabled(true);
    showError("");
  });
  socket.on("disconnect", function () {
    state.confirmed = false;
    customerTyping.forget();
    setConnection("offline", "Reconnecting…");
    setComposerEnabled(false);
  });
  socket.on("connect_error", function () {
    setConnection("offline", "Can't reach the assistant. Retrying…");
  });
  socket.on("bot_uttered", onBotUttered);
  socket.on("handoff_status", onHandoffStatus);
  socket.on(SLOW_DOWN_EVENT, onSlowDown);
}

/** The server dropped a message of this page's: say so, and give its words back to send again
 * (a typing signal it dropped does not matter). */
function onSlowDown(notice) {
  if (!notice || notice.event !== "user_uttered") { return; }
  var last = state.lastSent;
  if (last && !last.item.classList.contains("msg-unsent")) {
    last.item.classList.add("msg-unsent");
    last.item.appendChild(el("span", { className: "msg-unsent-label", text: " (not sent)" }));
    if (!els.input.value.trim()) { els.input.value = last.text; }
  }
  showError("Messages are coming too fast, so the last one wasn't sent. " +
    "Wait a moment, then send it again.");
}

function start() {
  els.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = els.input.value;
    if (!text.trim()) { return; }
    els.input.value = "";
    send(text);
    els.input.focus();
  });
  els.input.addEventListener("input", function () { customerTyping.input(els.input.value); });
  els.input.addEventListener("blur", stopTyping);

  getJson("/chat/config").then(function (config) {
    var stored = storedSession();
    var opened = stored ? resumeSession(stored) : freshStart();
    return opened.then(function (found) {
      state.sessionId = found.session.id;
      state.token = found.session.token;
      if (found.history) { showHistory(found.history); }
      connect(config.rasa_url);
    });
  }).catch(function () {
    setConnection("offline", "Unavailable");
    showError("The chat could not start. Please reload the page in a moment.");
  });
}

start();
