/* The console's tables and key/value lists of records: every value shown as text. */
import { clear, el } from "./page.js";
import { isIsoTime, when } from "./console-time.js";

/** A value as text: "—" for nothing, JSON for objects and lists. */
export function show(value) {
  if (value === null || value === undefined || value === "") { return "—"; }
  if (typeof value === "object") { return JSON.stringify(value); }
  return String(value);
}

/** A value of a record as text, ISO times as the console shows times. */
export function showValue(value) { return isIsoTime(value) ? when(value) : show(value); }

/** Fills a <dl> with [label, value] rows, leaving out the empty ones. */
export function fillKv(dl, rows) {
  clear(dl);
  rows.forEach(function (row) {
    if (row[1] === null || row[1] === undefined || row[1] === "") { return; }
    dl.appendChild(el("dt", { text: row[0] }));
    dl.appendChild(el("dd", { text: show(row[1]) }));
  });
}

/** A table with an optional caption, column headers and rows of cells (shown as text). */
export function table(caption, headers, rows, attrs) {
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
