/*
 * The mortgage case in the screen pop: when the handoff's context names a mortgage application
 * (evidence.mortgage_application.reference), the live case from GET /api/cases/{reference}: its
 * stage, the document checklist with each item's state, the uploaded documents (view,
 * download, accept, reject with a reason), the branch appointment and the timeline; and the
 * advisor's forms: the advice outcome, a note, a document request, a branch appointment.
 *
 * The case is fetched again when the desk says it changed (application_changed, from
 * console-live.js) and after each of the advisor's steps. Everything the desk sends is shown
 * as text (page.js builds elements, never HTML).
 *
 * Routes: GET /api/cases/{ref}, POST .../advice, .../notes, .../document-requests,
 * GET /api/case-documents; POST /api/documents/{id}/review, GET /api/documents/{id}/content;
 * GET /api/case-branches, GET /api/case-branches/{branch}/slots, POST|PUT
 * /api/cases/{ref}/appointment.
 */
import { byId, clear, el } from "./page.js";
import { api, errorText, flash } from "./console-api.js";
import { fillKv } from "./console-tables.js";
import { when } from "./console-time.js";

var NEW_DOCUMENT = "__new__";
var SLOT_DAYS = 7;
var SLOT_LIMIT = 30;

var STAGES = {
  intake: "Intake", advice: "Advice", documents: "Collecting documents",
  ready_to_sign: "Ready to sign", appointment_booked: "Appointment booked", signed: "Signed",
  withdrawn: "Withdrawn", expired: "Expired"
};
var DOCUMENT_STATES = {
  missing: "Missing", uploaded: "Waiting for review", accepted: "Accepted", rejected: "Rejected"
};
var TOUCHPOINTS = {
  web_chat: "Web chat", desk: "Desk", branch: "Branch", phone: "Phone", email: "E-mail",
  system: "System"
};
var ACTOR_KINDS = {
  customer: "Customer", bot: "Bot", agent: "Advisor", branch_staff: "Branch staff",
  system: "System"
};
var NEXT_STEPS = {
  collect_documents: "collect documents", book_appointment: "book an appointment",
  none: "nothing"
};

var current = {
  reference: null,   // as the handoff's context gives it
  view: null,        // the latest GET /api/cases/{ref}
  load: 0,           // number of the latest load (older answers are dropped)
  picker: null,      // the designers' documents, once loaded
  branches: null,    // the branches, once loaded
  drafts: {}         // documentId -> the rejection reason being typed (kept across reloads)
};

/** The application reference in a handoff context, or null. */
export function mortgageReference(context) {
  var evidence = (context && context.evidence) || {};
  var application = evidence.mortgage_application;
  var reference = application && application.reference;
  return typeof reference === "string" && reference ? reference : null;
}

/** Shows the case of the handoff's context (hides the panel when it names none). */
export function showCase(context) {
  var reference = mortgageReference(context);
  byId("next-step-row").hidden = !reference;
  if (!reference) {
    current.reference = null;
    current.view = null;
    byId("case").hidden = true;
    return Promise.resolve();
  }
  if (reference !== current.reference) {
    current.reference = reference;
    current.view = null;
    current.drafts = {};
    byId("next-step").value = "";
    byId("case").hidden = true;
  }
  return loadCase();
}

/** The desk says an application changed: reload the case if it is the one shown. */
export function caseChanged(message) {
  if (current.view && message.reference === current.view.application.reference) {
    loadCase();
  }
}

/** Fetches the case again and shows it; a 404 (not a case worker) hides the panel. */
export function loadCase() {
  var reference = current.reference;
  if (!reference) { return Promise.resolve(); }
  current.load += 1;
  var load = current.load;
  return api("GET", "/api/cases/" + encodeURIComponent(reference)).then(function (result) {
    if (load !== current.load || reference !== current.reference) { return; }
    if (!result.ok) {
      byId("case").hidden = true;
      if (result.status !== 404) { flash("The mortgage case could not load: " + errorText(result)); }
      return;
    }
    current.view = result.body;
    renderCase(result.body);
    loadPicker();
    loadBranches();
  });
}

// --- Showing the case ---------------------------------------------------------------------------

function renderCase(view) {
  var application = view.application;
  var actions = view.actions || {};
  byId("case").hidden = false;
  byId("case").dataset.reference = application.reference;
  byId("case-title").textContent = "Mortgage application " + application.reference;
  var stage = byId("case-stage");
  stage.textContent = STAGES[application.stage] || application.stage;
  stage.dataset.stage = application.stage;
  fillKv(byId("case-facts"), [
    ["Applicant", application.applicant_name],
    ["Loan", money(application.loan_amount, application.currency)],
    ["Property value", money(application.property_value, application.currency)],
    ["Loan to value", percent(application.loan_to_value)],
    ["Term", application.term_years + " years"],
    ["Employment", String(application.employment_type || "").replace(/_/g, " ")]
  ]);
  renderChecklist(application.checklist || []);
  renderDocuments(view.documents || [], application.checklist || [], actions);
  renderAppointment(application.appointment);
  renderTimeline(application.events || []);
  byId("case-advice-form").hidden = !actions.can_record_advice;
  byId("case-request-form").hidden = !actions.can_request_documents;
  byId("case-note-form").hidden = !actions.can_add_note;
  var booking = actions.can_book || actions.can_move_appointment;
  byId("case-book-form").hidden = !booking;
  byId("case-book").textContent = actions.can_move_appointment ? "Move the appointment" : "Book";
}

function money(amount, currency) {
  if (amount === null || amount === undefined) { return null; }
  var value = Number(amount);
  if (isNaN(value)) { return String(amount); }
  return value.toLocaleString([], { style: "currency", currency: currency || "GBP" });
}

function percent(ratio) {
  var value = Number(ratio);
  return isNaN(value) ? null : (value * 100).toFixed(1) + " %";
}

function badge(text, value) {
  return el("span", { className: "badge", "data-value": value, text: text });
}

/** The checklist: each item, who asked for it, its state and the reason of a rejection. */
function renderChecklist(checklist) {
  var box = byId("case-checklist");
  clear(box);
  if (!checklist.length) {
    box.appendChild(el("p", { className: "muted", text: "No documents requested yet." }));
    return;
  }
  var rows = checklist.map(function (item) {
    return el("tr", { "data-item": item.key, "data-state": item.state }, [
      el("td", { text: item.title }),
      el("td", {}, [badge(DOCUMENT_STATES[item.state] || item.state, item.state)]),
      el("td", { text: item.rejection_reason || "" }),
      el("td", { className: "muted", text: item.requested_by === "advisor" ? "advisor" : "" })
    ]);
  });
  box.appendChild(el("table", { "data-table": "checklist" }, [
    el("thead", {}, [el("tr", {}, ["Document", "State", "Reason", "Added by"].map(function (h) {
      return el("th", { scope: "col", text: h });
    }))]),
    el("tbody", {}, rows)
  ]));
}

/** The uploads, newest first, with view, download and (while waiting) accept / reject. */
function renderDocuments(documents, checklist, actions) {
  var box = byId("case-documents");
  clear(box);
  if (!documents.length) {
    box.appendChild(el("p", { className: "muted", text: "Nothing uploaded yet." }));
    return;
  }
  var titles = {};
  checklist.forEach(function (item) { titles[item.key] = item.title; });
  var list = el("ul", { className: "case-documents" });
  documents.slice().reverse().forEach(function (document) {
    list.appendChild(documentItem(document, titles[document.item] || document.item, actions));
  });
  box.appendChild(list);
}

function documentItem(document, title, actions) {
  var content = "/api/documents/" + encodeURIComponent(document.id) + "/content";
  var facts = [
    document.file_name, document.content_type, size(document.size_bytes),
    "uploaded " + when(document.uploaded_at)
  ];
  if (document.reviewed_by) { facts.push("reviewed by " + document.reviewed_by); }
  var item = el("li", { "data-document-id": String(document.id), "data-state": document.state }, [
    el("span", { className: "doc-title", text: title }),
    badge(DOCUMENT_STATES[document.state] || document.state, document.state),
    el("span", { className: "doc-facts muted", text: facts.join(" · ") }),
    document.rejection_reason
      ? el("span", { className: "doc-reason", text: "Reason: " + document.rejection_reason })
      : null
  ]);
  var buttons = el("span", { className: "doc-actions" }, [
    el("a", { href: content, target: "_blank", rel: "noopener", className: "button-link",
      text: "View" }),
    el("a", { href: content + "?download=1", download: "", className: "button-link",
      text: "Download" })
  ]);
  if (document.state === "uploaded" && actions.can_review_documents) {
    buttons.appendChild(el("button", { type: "button", className: "secondary small",
      onclick: function () { review(document.id, "accept", null); } }, ["Accept"]));
    buttons.appendChild(el("button", { type: "button", className: "secondary small",
      onclick: function () { askReason(item, document.id, true); } }, ["Reject…"]));
  }
  item.appendChild(buttons);
  if (document.state === "uploaded" && current.drafts[document.id] !== undefined) {
    askReason(item, document.id, false);  // a reload must not lose what the advisor typed
  }
  return item;
}

function size(bytes) {
  if (typeof bytes !== "number") { return ""; }
  if (bytes < 1024) { return bytes + " B"; }
  if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(0) + " KB"; }
  return (bytes / 1024 / 1024).toFixed(1) + " MB";
}

/** Asks for the reason of a rejection, in the document's row (`focus`: the advisor asked). */
function askReason(item, documentId, focus) {
  if (item.querySelector("form")) { return; }
  var reason = el("input", { type: "text", maxlength: "500", required: true,
    "aria-label": "Why is it rejected? (the customer reads this)",
    placeholder: "Why? The customer reads this." });
  reason.value = current.drafts[documentId] || "";
  current.drafts[documentId] = reason.value;
  reason.addEventListener("input", function () { current.drafts[documentId] = reason.value; });
  var form = el("form", { className: "inline reject-form" }, [
    reason,
    el("button", { type: "submit", className: "primary small" }, ["Reject"]),
    el("button", { type: "button", className: "secondary small", onclick: function () {
      delete current.drafts[documentId];
      form.remove();
    } }, ["Cancel"])
  ]);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = reason.value.trim();
    if (text) { review(documentId, "reject", text); }
  });
  item.appendChild(form);
  if (focus) { reason.focus(); }
}

function review(documentId, decision, reason) {
  var body = { decision: decision };
  if (reason) { body.reason = reason; }
  var path = "/api/documents/" + encodeURIComponent(documentId) + "/review";
  return api("POST", path, body).then(function (result) {
    if (result.ok) {
      delete current.drafts[documentId];
    } else {
      flash("The review was not saved: " + errorText(result));
    }
    loadCase();
  });
}

function renderAppointment(appointment) {
  var box = byId("case-appointment");
  clear(box);
  if (!appointment) {
    box.appendChild(el("p", { className: "muted", text: "No branch appointment." }));
    return;
  }
  box.appendChild(el("p", {}, [
    el("strong", { text: appointment.label }),
    " at " + appointment.branch_name + " (" + appointment.branch_address + ") · ",
    badge(appointment.state.replace(/_/g, " "), appointment.state)
  ]));
}

/** The timeline, oldest first: when, where, who, what. */
function renderTimeline(events) {
  var list = byId("case-timeline");
  clear(list);
  events.forEach(function (entry) {
    var who = entry.actor || ACTOR_KINDS[entry.actor_kind] || entry.actor_kind;
    if (entry.actor && ACTOR_KINDS[entry.actor_kind]) {
      who = entry.actor + " (" + ACTOR_KINDS[entry.actor_kind].toLowerCase() + ")";
    }
    var detail = describe(entry);
    list.appendChild(el("li", { "data-kind": entry.kind }, [
      el("span", { className: "when", text: when(entry.occurred_at) }),
      el("span", { className: "where", text: TOUCHPOINTS[entry.touchpoint] || entry.touchpoint }),
      el("span", { className: "who", text: who }),
      el("span", { className: "what", text: sentence(entry.kind) }),
      detail ? el("span", { className: "detail", text: detail }) : null
    ]));
  });
  list.scrollTop = list.scrollHeight;  // newest last, and in view
}

/** "handed_to_advisor" → "Handed to advisor". */
function sentence(kind) {
  var words = String(kind || "").replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The words of an entry's detail worth reading (never markup: shown as text). */
function describe(entry) {
  var detail = entry.detail || {};
  var parts = [];
  if (detail.outcome) { parts.push(String(detail.outcome).replace(/_/g, " ")); }
  if (Array.isArray(detail.items) && detail.items.length) {
    parts.push(detail.items.map(function (key) { return String(key).replace(/_/g, " "); })
      .join(", "));
  }
  if (detail.next_step !== undefined) {
    parts.push("next step: " + (NEXT_STEPS[detail.next_step] || "not set"));
  }
  ["text", "note", "reason", "label"].forEach(function (key) {
    if (typeof detail[key] === "string" && detail[key]) { parts.push(detail[key]); }
  });
  return parts.join(" — ");
}

// --- The advisor's forms ------------------------------------------------------------------------

function caseRef() {
  return current.view ? encodeURIComponent(current.view.application.reference) : null;
}

/** POSTs to the case; reloads it (the desk also says it changed) or tells what went wrong. */
function change(method, path, body, done, failure) {
  var reference = caseRef();
  if (!reference) { return Promise.resolve(); }
  return api(method, "/api/cases/" + reference + path, body).then(function (result) {
    if (!result.ok) {
      flash(failure + ": " + errorText(result));
      return;
    }
    if (done) { done(); }
    loadCase();
  });
}

/** Records the advice outcome with its note. */
export function recordAdvice() {
  var note = byId("case-advice-note").value.trim();
  var body = { outcome: byId("case-outcome").value };
  if (note) { body.note = note; }
  return change("POST", "/advice", body, function () {
    byId("case-advice-note").value = "";
    flash("Advice recorded.", "ok");
  }, "The advice was not recorded");
}

/** Adds an advisor's note to the timeline. */
export function addCaseNote() {
  var text = byId("case-note").value.trim();
  if (!text) { return Promise.resolve(); }
  return change("POST", "/notes", { text: text }, function () {
    byId("case-note").value = "";
  }, "The note was not saved");
}

/** Asks for a designers' document, a new one, or (nothing chosen) the checklist. */
export function requestDocuments() {
  var choice = byId("case-request-item").value;
  var items = [];
  if (choice === NEW_DOCUMENT) {
    var title = byId("case-new-title").value.trim();
    var ask = byId("case-new-ask").value.trim();
    if (!title || !ask) {
      flash("A new document needs a title and the words the bot asks for it with.");
      return Promise.resolve();
    }
    items.push({ key: keyFor(title), title: title, ask: ask });
  } else if (choice) {
    items.push({ key: choice });
  }
  var body = { items: items };
  var note = byId("case-request-note").value.trim();
  if (note) { body.note = note; }
  return change("POST", "/document-requests", body, function () {
    byId("case-request-note").value = "";
    byId("case-new-title").value = "";
    byId("case-new-ask").value = "";
    flash("Documents requested.", "ok");
  }, "The documents were not requested");
}

/** A checklist key from a new document's title: "Gift letter" → "gift_letter". */
function keyFor(title) {
  var key = title.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  if (!/^[a-z]/.test(key)) { key = "document_" + key; }
  return key.replace(/_+$/, "").slice(0, 64);
}

/** Shows the fields of a new document when "Another document…" is chosen. */
export function pickerChanged() {
  byId("case-new-document").hidden = byId("case-request-item").value !== NEW_DOCUMENT;
}

function loadPicker() {
  if (current.picker) { return; }
  current.picker = [];
  api("GET", "/api/case-documents").then(function (result) {
    if (!result.ok) { current.picker = null; return; }
    current.picker = result.body.documents || [];
    var select = byId("case-request-item");
    clear(select);
    select.appendChild(el("option", { value: "", text: "The checklist for the employment type" }));
    current.picker.forEach(function (document) {
      select.appendChild(el("option", { value: document.key, text: document.title }));
    });
    select.appendChild(el("option", { value: NEW_DOCUMENT, text: "Another document…" }));
    pickerChanged();
  });
}

// --- Branch appointments ------------------------------------------------------------------------

function loadBranches() {
  if (current.branches || byId("case-book-form").hidden) { return; }
  current.branches = [];
  api("GET", "/api/case-branches").then(function (result) {
    var select = byId("case-branch");
    clear(select);
    if (!result.ok) {
      current.branches = null;
      byId("case-slots-note").textContent = "Branches could not be loaded: " + errorText(result);
      return;
    }
    current.branches = result.body.branches || [];
    current.branches.forEach(function (branch) {
      select.appendChild(el("option", { value: branch.key, text: branch.name }));
    });
    if (!byId("case-day").value) { byId("case-day").value = new Date().toISOString().slice(0, 10); }
    loadSlots();
  });
}

/** Counts the slot lists asked for: only the latest one is shown. */
var slotsAsked = 0;

/** The free slots of the chosen branch from the chosen day. An answer to an earlier choice of
 * branch or day that arrives after a later one was asked for is dropped, so the list never
 * mixes two days. */
export function loadSlots() {
  var asked = ++slotsAsked;
  var branch = byId("case-branch").value;
  var select = byId("case-slot");
  clear(select);
  if (!branch) { return Promise.resolve(); }
  var query = "?days=" + SLOT_DAYS + "&limit=" + SLOT_LIMIT;
  if (byId("case-day").value) { query += "&from=" + encodeURIComponent(byId("case-day").value); }
  var path = "/api/case-branches/" + encodeURIComponent(branch) + "/slots" + query;
  return api("GET", path).then(function (result) {
    if (asked !== slotsAsked) { return; }  // a later choice is being loaded
    var note = byId("case-slots-note");
    clear(select);
    if (!result.ok) {
      note.textContent = "Slots could not be loaded: " + errorText(result);
      return;
    }
    var slots = result.body.slots || [];
    slots.forEach(function (slot) {
      select.appendChild(el("option", { value: slot.starts_at, text: slot.label }));
    });
    note.textContent = slots.length ? "" : "No free slots in the next " + SLOT_DAYS + " days.";
  });
}

/** Books the chosen slot for the customer (moves the appointment when one is booked). */
export function bookAppointment() {
  var branch = byId("case-branch").value;
  var startsAt = byId("case-slot").value;
  if (!branch || !startsAt) {
    flash("Choose a branch and a free slot first.");
    return Promise.resolve();
  }
  var moving = current.view && current.view.actions.can_move_appointment;
  return change(moving ? "PUT" : "POST", "/appointment", { branch: branch, starts_at: startsAt },
    function () {
      flash(moving ? "Appointment moved." : "Appointment booked.", "ok");
      loadSlots();
    }, "The appointment was not booked");
}
