/*
 * The supervisors' planning page (desk/web/planning.html): native ES modules, no build step.
 * Three views of one journey over a period, filtered by queue and outcome:
 *   Journey map        GET /api/analytics/journey-map?<query>: the stages as columns (reached,
 *                      dropped off, median time to the next, where they went next) and the
 *                      emotion curve (Chart.js, vendored as chart.umd.min.js);
 *   Service blueprint  GET /api/analytics/blueprint?<query>&format=svg: the desk's own SVG,
 *                      parsed as XML and adopted into the page (never as HTML), downloadable
 *                      as the SVG file or as a PNG drawn from it in a canvas;
 *   FMEA               GET /api/analytics/fmea?start=&end=: the failure modes ranked by RPN,
 *                      with the previous period's RPN, examples linking to the console
 *                      (/console#handoff=<id>), and the CSV (format=csv).
 * The query is also the page's own (/supervisor/planning?...&view=), so a view can be
 * bookmarked or shared. Every text is set as text.
 */
import { byId, clear, el, requestJson, showMessage } from "./page.js";
import { clock, NONE } from "./supervisor-format.js";

var FIELDS = ["start", "end", "journey", "queue", "outcome"];
var VIEWS = ["map", "blueprint", "fmea"];
var DEFAULT_DAYS = 30;
var HANDOFF_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
var SVG_NS = "http://www.w3.org/2000/svg";

var view = "map";
var loaded = {};    // view → the query string it shows
var svgText = null; // the blueprint shown, for the PNG

function flash(text) { showMessage(byId("flash"), text); }

function errorText(result) {
  return (result.body && result.body.error) || ("the desk answered " + result.status);
}

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

// --- The query -------------------------------------------------------------------------------

function isoDay(date) { return date.toISOString().slice(0, 10); }

/** The form's query (outcome "all" and an empty queue left out). */
function formQuery() {
  var params = new URLSearchParams();
  FIELDS.forEach(function (name) {
    var value = byId(name).value;
    if (value && !(name === "outcome" && value === "all")) { params.set(name, value); }
  });
  return params;
}

/** The period alone (the FMEA covers every journey). */
function periodQuery() {
  var params = new URLSearchParams();
  params.set("start", byId("start").value);
  params.set("end", byId("end").value);
  return params;
}

function fillForm(params) {
  var end = new Date();
  var start = new Date(end.getTime() - (DEFAULT_DAYS - 1) * 86400000);
  byId("start").value = params.get("start") || isoDay(start);
  byId("end").value = params.get("end") || isoDay(end);
  ["journey", "queue", "outcome"].forEach(function (name) {
    var value = params.get(name);
    var select = byId(name);
    if (value && Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
      select.value = value;
    }
  });
  var wanted = params.get("view");
  if (VIEWS.indexOf(wanted) >= 0) { view = wanted; }
}

function remember() {
  var params = formQuery();
  params.set("view", view);
  window.history.replaceState(null, "", "/supervisor/planning?" + params.toString());
}

// --- Views -----------------------------------------------------------------------------------

function showView(name) {
  view = name;
  VIEWS.forEach(function (other) {
    byId("tab-" + other).setAttribute("aria-selected", other === name ? "true" : "false");
    byId("view-" + other).hidden = other !== name;
  });
  remember();
  return load();
}

/** Loads the shown view for the form's query (again only when the query changed). */
function load() {
  var query = (view === "fmea" ? periodQuery() : formQuery()).toString();
  if (loaded[view] === query) { return Promise.resolve(); }
  var panel = byId("view-" + view);
  panel.dataset.state = "loading";
  var work = { map: loadMap, blueprint: loadBlueprint, fmea: loadFmea }[view];
  return work(query).then(function (ok) {
    panel.dataset.state = ok ? "ready" : "error";
    if (ok) { loaded[view] = query; }
    document.body.dataset.state = "ready";
  });
}

function failed(what, result) {
  flash(what + " could not load: " + errorText(result));
  return false;
}

// --- The journey map -------------------------------------------------------------------------

function loadMap(query) {
  return api("GET", "/api/analytics/journey-map?" + query).then(function (result) {
    if (!result.ok) { return failed("The journey map", result); }
    flash("");
    renderMap(result.body);
    return true;
  });
}

function seconds(value) { return value === null || value === undefined ? NONE : clock(value); }

function sentimentText(value) {
  return value === null || value === undefined ? NONE : (value > 0 ? "+" : "") + value.toFixed(2);
}

function renderMap(map) {
  byId("map-title").textContent = "Journey map: " + map.label;
  byId("map-units").textContent = map.units + " " + map.unit + (map.units === 1 ? "" : "s") +
    " started in the period";
  byId("period").textContent = map.period.start + " to " + map.period.end + " (" +
    map.period.timezone + ")";
  var note = byId("map-note");
  var filtered = map.query.queue || map.query.outcome !== "all";
  note.hidden = !(map.unit === "application" && filtered);
  note.textContent = "Applications have no conversation to filter by queue or outcome.";
  var top = Math.max.apply(null, [1].concat(map.stages.map(function (s) { return s.reached; })));
  var list = byId("map-stages");
  clear(list);
  map.stages.forEach(function (stage) {
    var next = Object.keys(stage.next_stages).sort(function (a, b) {
      return stage.next_stages[b] - stage.next_stages[a];
    });
    var bar = el("div", { className: "bar", "aria-hidden": "true" });
    bar.style.width = Math.round(100 * stage.reached / top) + "%";
    list.appendChild(el("li", {
      className: "stage", "data-stage": stage.stage, "data-final": stage.final ? "yes" : "no"
    }, [
      el("h3", { text: stage.label }),
      bar,
      el("dl", {}, [
        el("dt", { text: "Reached" }), el("dd", { className: "reached", text: String(stage.reached) }),
        el("dt", { text: "Dropped off" }),
        el("dd", {
          className: "dropped", "data-some": stage.dropped_off ? "yes" : "no",
          text: stage.final ? "– (an end)" : String(stage.dropped_off)
        }),
        el("dt", { text: "To next, p50" }),
        el("dd", { className: "to-next", text: seconds(stage.to_next_s.p50) }),
        el("dt", { text: "Sentiment" }),
        el("dd", {
          className: "sentiment", text: sentimentText(stage.sentiment),
          title: stage.sentiment_turns + " customer turns"
        })
      ]),
      next.length ? el("ul", { className: "next", "aria-label": "Next stages" }, next.map(function (name) {
        return el("li", { text: "→ " + name.replace(/_/g, " ") + ": " + stage.next_stages[name] });
      })) : null
    ]));
  });
  drawEmotion(map.stages);
}

function drawEmotion(stages) {
  var canvas = byId("chart-emotion");
  var config = {
    type: "line",
    data: {
      labels: stages.map(function (s) { return s.label; }),
      datasets: [{
        label: "Mean sentiment", data: stages.map(function (s) { return s.sentiment; }),
        borderColor: "#1f5fbf", backgroundColor: "#1f5fbf", tension: 0.3, pointRadius: 4
      }]
    },
    options: {
      animation: false, maintainAspectRatio: false, spanGaps: true,
      scales: { y: { min: -1, max: 1 } },
      plugins: { legend: { display: false } }
    }
  };
  var existing = window.Chart.getChart(canvas);
  if (existing) {
    existing.data = config.data;
    existing.update("none");
  } else {
    new window.Chart(canvas, config);
  }
}

// --- The service blueprint -------------------------------------------------------------------

function blueprintPath(query) { return "/api/analytics/blueprint?" + query + "&format=svg"; }

function loadBlueprint(query) {
  byId("download-svg").href = blueprintPath(query);
  return window.fetch(blueprintPath(query), { credentials: "same-origin", cache: "no-store" })
    .then(function (response) {
      if (response.status === 401) { window.location.assign("/login"); return false; }
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          return failed("The blueprint", { status: response.status, body: body });
        });
      }
      return response.text().then(function (text) {
        flash("");
        showSvg(text);
        return true;
      });
    });
}

/** The SVG document adopted into the page: parsed as XML, never as HTML. */
function showSvg(text) {
  var parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  var root = parsed.documentElement;
  var figure = byId("blueprint-figure");
  clear(figure);
  if (root.namespaceURI !== SVG_NS || root.localName !== "svg") {
    flash("The blueprint could not be drawn.");
    return;
  }
  svgText = text;
  figure.appendChild(document.importNode(root, true));
}

/** Draws the blueprint's SVG into a canvas (twice its size) and downloads it as a PNG. */
function downloadPng() {
  if (!svgText) { return; }
  var figure = byId("blueprint-figure").querySelector("svg");
  var width = Number(figure.getAttribute("width"));
  var height = Number(figure.getAttribute("height"));
  var image = new Image();
  image.onload = function () {
    var canvas = document.createElement("canvas");
    canvas.width = width * 2;
    canvas.height = height * 2;
    var context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob) { flash("The PNG could not be made."); return; }
      var link = el("a", { href: URL.createObjectURL(blob), download: pngName() });
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
    }, "image/png");
  };
  image.onerror = function () { flash("The PNG could not be made."); };
  image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svgText);
}

function pngName() {
  return "blueprint-" + byId("journey").value + "-" + byId("start").value + "-" +
    byId("end").value + ".png";
}

// --- The FMEA --------------------------------------------------------------------------------

function loadFmea(query) {
  byId("download-csv").href = "/api/analytics/fmea?" + query + "&format=csv";
  return api("GET", "/api/analytics/fmea?" + query).then(function (result) {
    if (!result.ok) { return failed("The FMEA", result); }
    flash("");
    renderFmea(result.body);
    return true;
  });
}

function delta(mode) {
  var change = mode.rpn - mode.previous_rpn;
  if (!change) { return el("span", { className: "delta", text: "= " + mode.previous_rpn }); }
  return el("span", {
    className: "delta", "data-verdict": change > 0 ? "worse" : "better",
    title: "previous period: " + mode.previous_rpn
  }, [(change > 0 ? "▲ +" : "▼ ") + change + " (was " + mode.previous_rpn + ")"]);
}

function example(id) {
  if (HANDOFF_ID.test(id)) {
    return el("li", {}, [el("a", { href: "/console#handoff=" + id, text: id.slice(0, 8) + "…", title: id })]);
  }
  return el("li", { text: id });
}

var FMEA_COLUMNS = [
  ["rank", "#"], ["mode", "Failure mode"], ["effect", "Effect"], ["cause", "Cause"],
  ["severity", "S"], ["occurrence", "O"], ["detection", "D"], ["rpn", "RPN"],
  ["previous_rpn", "Previous RPN"], ["occurrences", "Occurrences / exposure"],
  ["examples", "Examples"]
];

function fmeaCell(mode, column, rank) {
  switch (column) {
    case "rank": return String(rank);
    case "mode": return [mode.label, el("span", { className: "mode-id", text: mode.mode + (mode.step ? " · step " + mode.step : "") })];
    case "previous_rpn": return [delta(mode)];
    case "occurrences":
      return mode.occurrences + " / " + mode.exposure +
        (mode.per_thousand === null ? "" : " (" + mode.per_thousand.toFixed(1) + "‰)");
    case "detection":
      return [el("span", { text: String(mode.detection), title: mode.detected_by.join(", ") || "no watch" })];
    case "examples":
      return mode.examples.length ? [el("ul", { className: "examples" }, mode.examples.map(example))] : NONE;
    default: return String(mode[column]);
  }
}

function renderFmea(fmea) {
  byId("fmea-summary").textContent = fmea.handoffs + " handoffs from " + fmea.period.start +
    " to " + fmea.period.end + ", compared with " + fmea.period.previous_start + " to " +
    fmea.period.previous_end + ".";
  var box = byId("fmea-table");
  clear(box);
  if (!fmea.modes.length) {
    box.appendChild(el("p", { className: "muted", text: "No failure modes in the catalog." }));
    return;
  }
  box.appendChild(el("table", { className: "data", "data-table": "fmea" }, [
    el("thead", {}, [el("tr", {}, FMEA_COLUMNS.map(function (c) { return el("th", { scope: "col", text: c[1] }); }))]),
    el("tbody", {}, fmea.modes.map(function (mode, index) {
      return el("tr", { "data-mode": mode.mode }, FMEA_COLUMNS.map(function (c) {
        var value = fmeaCell(mode, c[0], index + 1);
        return typeof value === "string" ? el("td", { "data-column": c[0], text: value })
          : el("td", { "data-column": c[0] }, value);
      }));
    }))
  ]));
}

// --- Start -----------------------------------------------------------------------------------

function start() {
  fillForm(new URLSearchParams(window.location.search));
  byId("query").addEventListener("submit", function (event) {
    event.preventDefault();
    remember();
    load().catch(function () { flash("The desk cannot be reached."); });
  });
  VIEWS.forEach(function (name) {
    byId("tab-" + name).addEventListener("click", function () {
      showView(name).catch(function () { flash("The desk cannot be reached."); });
    });
  });
  byId("download-png").addEventListener("click", downloadPng);
  byId("logout").addEventListener("click", function () {
    api("POST", "/api/logout").then(function () { window.location.assign("/login"); });
  });
  api("GET", "/api/console-config").then(function (result) {
    if (!result.ok) { flash("The page could not load: " + errorText(result)); return; }
    byId("me").textContent = result.body.agent.display_name;
    var select = byId("queue");
    result.body.queues.forEach(function (queue) {
      select.appendChild(el("option", { value: queue.name, text: queue.team_name || queue.name }));
    });
    fillForm(new URLSearchParams(window.location.search));  // a queue offered only now
    return showView(view);
  }).catch(function () { flash("The desk cannot be reached."); });
}

start();
