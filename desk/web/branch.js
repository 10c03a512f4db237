/*
 * The branch staff's page (desk/web/branch.html): a native ES module, no build step.
 *
 * The day's appointments at the staff member's branch (a date picker, today at the branch by
 * default) and, for the one selected, its case: the applicant, reference and stage, the
 * appointment, the documents with links to view or download each file, and the whole timeline
 * (when, where, who, what). The actions: "Identity checked", "Record signing", "Mark missed";
 * after each the case and the day are loaded again. The desk decides what is allowed (a 409
 * names why not); the buttons only reflect it.
 *
 * Talks to the desk's JSON API with the session cookie: GET /api/me, GET
 * /api/branch/appointments?date=, GET /api/branch/cases/{reference}, POST
 * /api/branch/appointments/{id}/identity-check, .../signing, .../missed, POST /api/logout.
 * Everything from the server is inserted as text (page.js `el`), never as markup.
 */
import { byId, clear, el, showMessage } from "./page.js";
import { api, errorText, flash } from "./console-api.js";
import { when } from "./console-time.js";

var state = { branch: null, day: "", appointmentId: null, reference: null, busy: false };

var KIND_LABELS = {
  chat_started: "Chat started",
  form_completed: "Application form completed",
  handed_to_advisor: "Handed to an advisor",
  advisor_note: "Advisor's note",
  advice_outcome: "Advice given",
  handed_back: "Handed back to the bot",
  documents_requested: "Documents requested",
  document_uploaded: "Document uploaded",
  document_accepted: "Document accepted",
  document_rejected: "Document rejected",
  appointment_booked: "Appointment booked",
  appointment_rescheduled: "Appointment moved",
  appointment_cancelled: "Appointment cancelled",
  appointment_missed: "Appointment missed",
  identity_checked: "Identity checked",
  signed: "Signed",
  resumed: "Customer came back",
  verification_failed: "Verification failed",
  resume_locked: "Resuming locked"
};
var TOUCHPOINTS = {
  web_chat: "web chat", desk: "desk", branch: "branch", phone: "phone", email: "email",
  system: "system"
};
var DOCUMENTS = { passport: "passport", driving_licence: "driving licence", national_id: "national ID" };

/** A code as words: "ready_to_sign" → "ready to sign". */
function words(code) { return String(code === null || code === undefined ? "" : code).replace(/_/g, " "); }

/** A link the desk sent, only if it is a path on the desk (never `javascript:` or elsewhere). */
function sameSite(path) {
  return typeof path === "string" && /^\/api\/documents\/\d+\/content(\?download=1)?$/.test(path) ?
    path : null;
}

/** Who acted, as the timeline shows it. */
function who(event) {
  var kind = words(event.actor_kind);
  return event.actor ? event.actor + " (" + kind + ")" : kind;
}

/** An entry's detail as "key: value" lines (objects as JSON text). */
function detailText(detail) {
  return Object.keys(detail || {}).map(function (key) {
    var value = detail[key];
    var shown = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
    return words(key) + ": " + shown;
  }).join("\n");
}

// --- The day ------------------------------------------------------------------------------------

/** Loads the day's appointments (`day` "" = today at the branch). */
function loadDay(day) {
  var path = "/api/branch/appointments" + (day ? "?date=" + encodeURIComponent(day) : "");
  return api("GET", path).then(function (result) {
    if (!result.ok) {
      flash(errorText(result, "The appointments could not be loaded."));
      return;
    }
    state.branch = result.body.branch;
    state.day = result.body.date;
    byId("day").value = result.body.date;
    byId("branch-name").textContent = result.body.branch_name + " (" + result.body.timezone + ")";
    renderDay(result.body.appointments);
  });
}

function renderDay(appointments) {
  var list = byId("appointments");
  clear(list);
  byId("appointments-empty").hidden = appointments.length > 0;
  appointments.forEach(function (entry) {
    var appointment = entry.appointment;
    var selected = appointment.id === state.appointmentId;
    var button = el("button", {
      type: "button",
      "data-appointment": String(appointment.id),
      "aria-current": selected ? "true" : "false",
      onclick: function () { openCase(entry.reference, appointment.id); }
    }, [
      el("span", { className: "slot", text: appointment.label.split(", ").pop() }),
      el("span", { className: "name", text: entry.applicant_name }),
      el("span", { className: "badge", "data-value": appointment.state, text: words(appointment.state) }),
      el("span", {
        className: "detail",
        text: entry.reference + " · " + words(entry.stage) + " · documents " +
          entry.documents_accepted + "/" + entry.documents_required + " accepted"
      })
    ]);
    list.appendChild(el("li", {}, [button]));
  });
}

// --- The case -----------------------------------------------------------------------------------

/** Opens (or reloads) a case and the appointment it was selected by. */
function openCase(reference, appointmentId) {
  state.reference = reference;
  state.appointmentId = appointmentId;
  Array.prototype.forEach.call(byId("appointments").querySelectorAll("button"), function (b) {
    b.setAttribute("aria-current", b.dataset.appointment === String(appointmentId) ? "true" : "false");
  });
  return api("GET", "/api/branch/cases/" + encodeURIComponent(reference)).then(function (result) {
    if (!result.ok) {
      flash(errorText(result, "The case could not be loaded."));
      return;
    }
    renderCase(result.body);
  });
}

function renderCase(body) {
  var application = body.application;
  byId("placeholder").hidden = true;
  byId("case").hidden = false;
  byId("case-applicant").textContent = application.applicant_name;
  byId("case-reference").textContent = application.reference;
  var stage = byId("case-stage");
  stage.textContent = words(application.stage);
  stage.dataset.value = application.stage;
  renderAppointment(application);
  renderChecklist(application.checklist, body.documents);
  renderTimeline(application.events);
  renderActions(application, body.identity_matched);
}

function pairs(list, rows) {
  clear(list);
  rows.forEach(function (row) {
    list.appendChild(el("dt", { text: row[0] }));
    list.appendChild(el("dd", { text: row[1] === null || row[1] === undefined ? "" : String(row[1]) }));
  });
}

function renderAppointment(application) {
  var appointment = application.appointment;
  pairs(byId("case-appointment"), appointment ? [
    ["When", appointment.label],
    ["Where", appointment.branch_name],
    ["State", words(appointment.state)],
    ["Identity checked", appointment.identity_checked_at ?
      when(appointment.identity_checked_at) + " by " + appointment.identity_checked_by : "not yet"],
    ["Signed", appointment.signed_at ? when(appointment.signed_at) : "not yet"]
  ] : [["When", "no appointment"]]);
  pairs(byId("case-record"), [
    ["Applicant", application.applicant_name],
    ["E-mail on file", application.email],
    ["Loan", application.currency + " " + application.loan_amount + " over " +
      application.term_years + " years"],
    ["Property value", application.currency + " " + application.property_value],
    ["Employment", words(application.employment_type)]
  ]);
}

function renderChecklist(checklist, documents) {
  var body = byId("checklist").querySelector("tbody");
  clear(body);
  var links = {};
  documents.forEach(function (entry) { links[entry.document.id] = entry; });
  checklist.forEach(function (item) {
    var entry = item.document_id !== null ? links[item.document_id] : null;
    var file = entry ? el("span", { className: "file-links" }, [
      el("span", { text: entry.document.file_name + " " }),
      el("a", { href: sameSite(entry.view_url), target: "_blank", rel: "noopener", text: "View" }),
      el("a", { href: sameSite(entry.download_url), text: "Download" })
    ]) : el("span", { className: "muted", text: "none yet" });
    var reason = item.rejection_reason ? " (" + item.rejection_reason + ")" : "";
    body.appendChild(el("tr", { "data-item": item.key }, [
      el("td", { text: item.title }),
      el("td", {}, [
        el("span", { className: "badge", "data-value": item.state, text: words(item.state) }),
        reason ? el("span", { text: reason }) : null
      ]),
      el("td", {}, [file])
    ]));
  });
}

function renderTimeline(events) {
  var list = byId("timeline");
  clear(list);
  events.forEach(function (event) {
    var detail = detailText(event.detail);
    list.appendChild(el("li", { "data-kind": event.kind, "data-touchpoint": event.touchpoint }, [
      el("span", { className: "what", text: KIND_LABELS[event.kind] || words(event.kind) }),
      el("div", {}, [
        el("span", { className: "when", text: when(event.occurred_at) }),
        el("span", { className: "where", text: "at " + (TOUCHPOINTS[event.touchpoint] || words(event.touchpoint)) }),
        el("span", { className: "who", text: "by " + who(event) })
      ]),
      detail ? el("span", { className: "detail", text: detail }) : null
    ]));
  });
}

/** The buttons as the case allows them (the desk checks again). */
function renderActions(application, identityMatched) {
  var appointment = application.appointment;
  var open = Boolean(appointment) && appointment.state === "booked" &&
    appointment.branch === state.branch && appointment.id === state.appointmentId;
  var accepted = application.checklist.every(function (item) { return item.state === "accepted"; });
  var started = Boolean(appointment) && Date.parse(appointment.starts_at) <= Date.now();
  var identity = byId("identity-state");
  if (identityMatched === true) {
    identity.textContent = "Identity matched (" + (DOCUMENTS[lastDocument(application)] || "checked") + ").";
    identity.dataset.value = "matched";
  } else if (identityMatched === false) {
    identity.textContent = "Identity did NOT match the record: the signing cannot go ahead.";
    identity.dataset.value = "mismatch";
  } else {
    identity.textContent = "Identity not checked yet.";
    identity.dataset.value = "unchecked";
  }
  byId("identity-checked").disabled = !open || identityMatched === false;
  byId("record-signing").disabled = !open || identityMatched !== true || !accepted;
  byId("mark-missed").disabled = !open || !started;
  var hint = "";
  if (!appointment) {
    hint = "This case has no appointment.";
  } else if (appointment.branch !== state.branch) {
    hint = "Its current appointment is at " + appointment.branch_name + ": nothing to record here.";
  } else if (appointment.id !== state.appointmentId && appointment.state === "booked") {
    hint = "It has a newer appointment (" + appointment.label + "): select that one to act on it.";
  } else if (!open) {
    hint = "This appointment is " + words(appointment.state) + ": nothing more to record here.";
  } else if (!accepted) {
    hint = "Not every document is accepted yet: the signing has to wait.";
  } else if (!started) {
    hint = "It can be marked missed once it has started.";
  }
  showMessage(byId("actions-hint"), hint);
}

/** The document of the latest identity check at the current appointment. */
function lastDocument(application) {
  var id = application.appointment.id;
  var checks = application.events.filter(function (event) {
    return event.kind === "identity_checked" && event.detail && event.detail.appointment_id === id;
  });
  return checks.length ? checks[checks.length - 1].detail.document : "";
}

// --- The actions --------------------------------------------------------------------------------

/** Posts a step at the selected appointment, then reloads the case and the day. */
function step(name, body, done) {
  if (state.busy || state.appointmentId === null) { return; }
  state.busy = true;
  var path = "/api/branch/appointments/" + state.appointmentId + "/" + name;
  api("POST", path, body).then(function (result) {
    if (result.ok) {
      flash(done, "ok");
    } else {
      flash(errorText(result, "That did not work."));
    }
    return Promise.all([openCase(state.reference, state.appointmentId), loadDay(state.day)]);
  }).catch(function () {
    flash("The desk cannot be reached. Check your connection and try again.");
  }).then(function () { state.busy = false; });
}

function wire() {
  byId("logout").addEventListener("click", function () {
    api("POST", "/api/logout").then(function () { window.location.assign("/login"); });
  });
  byId("day").addEventListener("change", function () {
    if (byId("day").value) { loadDay(byId("day").value); }
  });
  byId("day-form").addEventListener("submit", function (event) { event.preventDefault(); });
  byId("today").addEventListener("click", function () { loadDay(""); });
  byId("identity-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var note = byId("identity-note").value.trim();
    var check = { document: byId("identity-document").value, matches: byId("identity-matches").checked };
    if (note) { check.note = note; }
    step("identity-check", check, check.matches ? "Identity checked." : "Identity mismatch recorded.");
    byId("identity-note").value = "";
  });
  byId("record-signing").addEventListener("click", function () {
    step("signing", undefined, "Signing recorded: the application is signed.");
  });
  byId("mark-missed").addEventListener("click", function () {
    step("missed", undefined, "Missed appointment recorded.");
  });
}

function start() {
  wire();
  api("GET", "/api/me").then(function (result) {
    if (result.ok) { byId("me").textContent = result.body.display_name; }
  });
  loadDay("");
}

start();
