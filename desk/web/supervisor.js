/*
 * The supervisors' dashboard (desk/web/supervisor.html): native ES modules, no build step.
 *   page.js                elements, messages and JSON requests (shared with the other pages)
 *   supervisor-format.js   numbers by unit, changes, moments
 *   supervisor-charts.js   the charts (Chart.js 4.5.1 from the npm registry, MIT licence in
 *                          chart.js.LICENSE.md: dist/chart.umd.min.js as chart.umd.min.js,
 *                          a classic script defining window.Chart)
 *   supervisor-floor.js    the live strip (websocket /api/live, else GET /api/analytics/floor)
 *   supervisor.js          this module: the period and cuts, the report, tiles and tables
 *
 * Talks to the desk with the session cookie: GET /api/console-config (who I am, the queues),
 * GET /api/analytics/report?<query> (the repeat rate's examples link to /console#handoff=<id>),
 * POST /api/analytics/build (Refresh), and links every
 * chart and table to GET /api/analytics/tables/<table>?format=csv&<query>. The query is also
 * the page's own (/supervisor?start=...), so a view can be bookmarked or shared.
 */
import { byId, clear, el, requestJson, showMessage } from "./page.js";
import { drawReasons, drawTrends, drawWaitDistribution } from "./supervisor-charts.js";
import { startFloor } from "./supervisor-floor.js";
import { clock, formatChange, formatValue, moment, NONE } from "./supervisor-format.js";

var FIELDS = ["start", "end", "grain", "journey", "queue", "reason_code", "channel"];
var CUTS = ["journey", "queue", "reason_code", "channel"];
/** A cut's value the desk accepts (desk/api/analytics.py CUT_VALUE). */
var CUT_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** The channels Rasa's tracker names (the report has no channel breakdown to offer). */
var KNOWN_CHANNELS = ["socketio", "rest"];
/** The tiles whose rise is good news (for the others, e.g. waits, a fall is). */
var HIGHER_IS_BETTER = {
  containment: true, durable_containment: true, csat_bot_only: true, csat_hybrid: true,
  csat_person_only: true
};

var known = { journey: {}, queue: {}, reason_code: {}, channel: {} };
var current = null;  // the report shown

/** A JSON call; a 401 means the session ended → /login. */
function api(method, path) {
  return requestJson(method, path).then(function (result) {
    if (result.status === 401) {
      window.location.assign("/login");
      throw new Error("logged out");
    }
    return result;
  });
}

function flash(text) { showMessage(byId("flash"), text); }

function errorText(result) {
  return (result.body && result.body.error) || ("the desk answered " + result.status);
}

// --- The query -------------------------------------------------------------------------------

/** The form's query as URLSearchParams (empty cuts left out). */
function formQuery() {
  var params = new URLSearchParams();
  FIELDS.forEach(function (name) {
    var value = byId(name).value;
    if (value) { params.set(name, value); }
  });
  return params;
}

/** Puts the page's own query (or the report's period) into the form. */
function fillForm(params) {
  FIELDS.forEach(function (name) {
    var value = params.get(name);
    if (!value) { return; }
    if (CUTS.indexOf(name) >= 0) { addOption(name, value); }
    byId(name).value = value;
  });
}

/** Offers a cut value in its select (once; only values the desk accepts). */
function addOption(cut, value) {
  if (!value || !CUT_VALUE.test(value) || known[cut][value]) { return; }
  known[cut][value] = true;
  var select = byId(cut);
  var options = Array.prototype.slice.call(select.options, 1);
  var before = options.find(function (option) { return option.value > value; }) || null;
  select.insertBefore(el("option", { value: value, text: value.replace(/_/g, " ") }), before);
}

function setCsvLinks(params) {
  document.querySelectorAll("a.csv").forEach(function (link) {
    var query = new URLSearchParams(params);
    query.set("format", "csv");
    link.href = "/api/analytics/tables/" + link.dataset.table + "?" + query.toString();
    link.setAttribute("download", "");
  });
}

// --- The report ------------------------------------------------------------------------------

/** Asks for the report of the form's query and shows it. */
function load() {
  var params = formQuery();
  window.history.replaceState(null, "", "/supervisor?" + params.toString());
  document.body.dataset.state = "loading";
  return api("GET", "/api/analytics/report?" + params.toString()).then(function (result) {
    if (!result.ok) {
      document.body.dataset.state = "error";
      flash("The report could not load: " + errorText(result));
      return;
    }
    flash("");
    render(result.body);
    document.body.dataset.state = "ready";
  });
}

function render(report) {
  current = report;
  fillForm(new URLSearchParams({
    start: report.period.start, end: report.period.end, grain: report.period.grain
  }));
  report.handoffs_by_journey.forEach(function (share) { addOption("journey", share.key); });
  report.handoffs_by_reason.forEach(function (share) { addOption("reason_code", share.key); });
  report.handle_time_by_queue.forEach(function (row) { addOption("queue", row.key); });
  setCsvLinks(formQuery());
  byId("period").textContent = "From " + report.period.start + " to " + report.period.end +
    " (" + report.period.timezone + "), compared with " + report.period.previous_start +
    " to " + report.period.previous_end + ".";
  renderFreshness(report.freshness, report.period.timezone);
  renderTiles(report.kpis);
  drawTrends(report.trends);
  drawWaitDistribution(report.wait_distribution);
  drawReasons(report.handoffs_by_reason);
  renderTables(report);
}

function renderFreshness(freshness, zone) {
  var built = freshness.built_at ? "Facts built " + moment(freshness.built_at, zone) : "No build yet";
  var bad = freshness.unparseable_events;
  byId("freshness").textContent = built + "; " + bad + (bad === 1 ? " event" : " events") +
    " could not be read.";
}

function renderTiles(kpis) {
  var box = byId("tiles");
  clear(box);
  kpis.forEach(function (kpi) {
    var change = formatChange(kpi.value, kpi.previous, kpi.unit);
    var verdict = "";
    if (change && change.direction !== "same") {
      var better = (change.direction === "up") === Boolean(HIGHER_IS_BETTER[kpi.key]);
      verdict = better ? "better" : "worse";
    }
    box.appendChild(el("article", { className: "tile", "data-key": kpi.key, "data-few": kpi.few ? "yes" : "no" }, [
      el("h3", { text: kpi.label }),
      el("p", { className: "tile-value", text: formatValue(kpi.value, kpi.unit) }),
      el("p", { className: "tile-previous muted", text: "before: " + formatValue(kpi.previous, kpi.unit) }),
      change ? el("p", { className: "tile-change", "data-verdict": verdict }, [
        el("span", { "aria-hidden": "true", text: change.arrow + " " }), change.text
      ]) : el("p", { className: "tile-change muted", text: "no comparison" }),
      el("p", { className: "tile-count muted" }, [
        "n = " + kpi.count,
        kpi.few ? el("span", { className: "few", title: "fewer than 5: not to be trusted", text: "few" }) : null
      ])
    ]));
  });
}

// --- Tables ----------------------------------------------------------------------------------

function seconds(value) { return value === null || value === undefined ? NONE : clock(value); }
function ratio(value) { return formatValue(value, "ratio"); }
function label(value) { return String(value).replace(/_/g, " "); }
function plain(value) {
  if (value === null || value === undefined) { return NONE; }
  return typeof value === "number" && !Number.isInteger(value) ? value.toFixed(2) : String(value);
}

var HANDLE_COLUMNS = [
  ["key", "", plain], ["parts", "Parts", plain], ["p50_s", "p50", seconds],
  ["p90_s", "p90", seconds], ["p95_s", "p95", seconds], ["mean_s", "Mean", seconds]
];

/** What each table shows: [field, heading, format]. */
var TABLES = {
  handle_time_by_agent: [["key", "Agent", plain]].concat(HANDLE_COLUMNS.slice(1)),
  handle_time_by_queue: [["key", "Queue", plain]].concat(HANDLE_COLUMNS.slice(1)),
  csat: [
    ["segment", "Segment", function (v) { return v.replace(/_/g, " "); }],
    ["asked", "Asked", plain], ["rated", "Rated", plain],
    ["response_rate", "Response rate", ratio], ["csat", "CSAT (4–5)", ratio], ["mean", "Mean", plain]
  ],
  wait_outcomes: [
    ["handoffs", "Handoffs", plain], ["claimed", "Claimed", plain],
    ["abandoned", "Abandoned", plain], ["expired", "Expired", plain],
    ["transferred", "Transferred", plain], ["waiting", "Waiting", plain],
    ["callbacks_open", "Callbacks open", plain]
  ],
  handoffs_by_journey: [
    ["key", "Journey", plain], ["handoffs", "Handoffs", plain], ["rate", "Of engaged", ratio]
  ],
  latency: [
    ["name", "", plain], ["count", "Count", plain], ["p50", "p50", plain],
    ["p90", "p90", plain], ["p95", "p95", plain], ["excluded", "No value", plain]
  ],
  fallback_intents: [["intent", "Intent", plain], ["fallbacks", "Fallbacks", plain]],
  troubleshooting_steps: [
    ["tree", "Tree", plain], ["step", "Step", plain], ["answers", "Answers", plain],
    ["not_helped", "Did not help", plain], ["not_helped_share", "Share", ratio]
  ],
  form_reasks: [["form", "Form", plain], ["slot", "Question", plain], ["reasks", "Asked again", plain]],
  repeat_fields: [
    ["journey", "Journey", label], ["field", "Field", label], ["handoffs", "Handoffs", plain],
    ["repeated", "Repeated", plain], ["rate", "Rate", ratio], ["restated", "Restated", plain],
    ["asked", "Asked", plain], ["missing", "Missing", plain]
  ]
};

var LATENCY = [
  ["system_ms", "Message to queue", "ms"], ["wait_s", "Wait in the queue", "s"],
  ["total_s", "Whole wait", "s"], ["first_reply_s", "Queued to first reply", "s"],
  ["claim_to_reply_s", "Claim to first reply", "s"]
];

function latencyRows(latency) {
  return LATENCY.map(function (entry) {
    var d = latency[entry[0]];
    function show(value) { return formatValue(value, entry[2]); }
    return {
      name: entry[1] + (d.few ? " (few)" : ""), count: d.count, p50: show(d.p50),
      p90: show(d.p90), p95: show(d.p95), excluded: d.excluded
    };
  });
}

function table(name, rows) {
  var box = byId("table-" + name);
  clear(box);
  if (!rows.length) {
    box.appendChild(el("p", { className: "muted", text: "Nothing in this period." }));
    return;
  }
  var columns = TABLES[name];
  box.appendChild(el("table", { className: "data", "data-table": name }, [
    el("thead", {}, [el("tr", {}, columns.map(function (c) { return el("th", { scope: "col", text: c[1] }); }))]),
    el("tbody", {}, rows.map(function (row) {
      return el("tr", {}, columns.map(function (c) {
        return el("td", { "data-column": c[0], text: c[2](row[c[0]]) });
      }));
    }))
  ]));
}

function renderTables(report) {
  table("handle_time_by_agent", report.handle_time_by_agent);
  table("handle_time_by_queue", report.handle_time_by_queue);
  table("csat", report.csat);
  table("wait_outcomes", [report.wait_outcomes]);
  table("handoffs_by_journey", report.handoffs_by_journey);
  table("latency", latencyRows(report.latency));
  table("fallback_intents", report.failures.fallback_intents);
  table("troubleshooting_steps", report.failures.troubleshooting_steps);
  table("form_reasks", report.failures.form_reasks);
  table("repeat_fields", report.repeats.fields);
  renderRepeats(report.repeats, report.period.timezone);
}

/** The repeat rate and its examples, each opening its handoff in the console. */
function renderRepeats(repeats, zone) {
  byId("repeat-rate").textContent = formatValue(repeats.rate, "ratio") + " of " +
    repeats.handoffs + " claimed handoffs had a repeat (" + repeats.with_repeat + ").";
  var list = byId("repeat-examples");
  clear(list);
  if (!repeats.examples.length) {
    list.appendChild(el("li", { className: "muted", text: "No repeats in this period." }));
  }
  repeats.examples.forEach(function (example) {
    list.appendChild(el("li", { "data-handoff-id": example.handoff_id }, [
      el("a", { href: "/console#handoff=" + example.handoff_id, text: label(example.journey) + ": " + label(example.field) }),
      " " + (example.kind === "asked" ? "asked by the agent" : "restated by the customer") +
        ", " + moment(example.at, zone)
    ]));
  });
}

// --- Refresh, start --------------------------------------------------------------------------

function refresh() {
  var button = byId("refresh");
  button.disabled = true;
  byId("freshness").textContent = "Building…";
  api("POST", "/api/analytics/build").then(function (result) {
    if (!result.ok) { flash("The build failed: " + errorText(result)); }
    return load();
  }).catch(function () {
    flash("The desk cannot be reached.");
    if (current) { renderFreshness(current.freshness, current.period.timezone); }
  }).then(function () { button.disabled = false; });
}

function start() {
  byId("query").addEventListener("submit", function (event) {
    event.preventDefault();
    load().catch(function () { flash("The desk cannot be reached."); });
  });
  byId("refresh").addEventListener("click", refresh);
  byId("logout").addEventListener("click", function () {
    api("POST", "/api/logout").then(function () { window.location.assign("/login"); });
  });
  KNOWN_CHANNELS.forEach(function (channel) { addOption("channel", channel); });
  fillForm(new URLSearchParams(window.location.search));
  api("GET", "/api/console-config").then(function (result) {
    if (!result.ok) { flash("The dashboard could not load: " + errorText(result)); return; }
    byId("me").textContent = result.body.agent.display_name;
    result.body.queues.forEach(function (queue) { addOption("queue", queue.name); });
    fillForm(new URLSearchParams(window.location.search));  // a queue offered only now
    startFloor();
    return load();
  }).catch(function () { flash("The desk cannot be reached."); });
}

start();
