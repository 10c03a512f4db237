/*
 * The handoff's evidence in the screen pop, from the labels and values sent with it: the
 * context's `evidence_view` (contract/handoff_context.py, v1.1), sections of
 * {key, title, fields: [{label, value, personal}], tables: [{caption, columns, rows,
 * personal_columns}]}; personal data is marked `data-personal` (a row, or a cell). The
 * console knows no journey: a context without `evidence_view` (v1.0) has its raw `evidence`
 * shown the same way, each section titled by its key and each list of records as a table.
 */
import { clear, el } from "./page.js";
import { showValue, table } from "./console-tables.js";

/** Shows the context's evidence in the box: per section, its fields, then its tables. */
export function renderEvidence(box, context) {
  clear(box);
  var view = context.evidence_view;
  var sections = Array.isArray(view) && view.length ? view : rawSections(context.evidence || {});
  if (!sections.length) {
    box.appendChild(el("p", { className: "muted", text: "No records." }));
    return;
  }
  sections.forEach(function (section) {
    box.appendChild(fieldTable(section));
    (section.tables || []).forEach(function (records) {
      if (records.rows && records.rows.length) { box.appendChild(recordsTable(records)); }
    });
  });
}

/** A table of the section, its personal columns' cells marked. */
function recordsTable(records) {
  var rows = records.rows.map(function (row) { return row.map(showValue); });
  var node = table(records.caption, records.columns || [], rows);
  (records.personal_columns || []).forEach(function (column) {
    node.querySelectorAll("tbody tr").forEach(function (row) {
      if (row.cells[column]) { row.cells[column].setAttribute("data-personal", ""); }
    });
  });
  return node;
}

/** The section's fields as a Field/Value table, captioned by its title; personal rows marked. */
function fieldTable(section) {
  var fields = section.fields || [];
  var rows = fields.map(function (field) { return [field.label, showValue(field.value)]; });
  var node = table(section.title, ["Field", "Value"], rows, { "data-evidence": section.key });
  var shown = node.querySelectorAll("tbody tr");
  fields.forEach(function (field, index) {
    if (field.personal) { shown[index].setAttribute("data-personal", ""); }
  });
  return node;
}

// --- A context without evidence_view (v1.0): its evidence as sections ----------------------

/** "mortgage_application" → "Mortgage application". */
function humanise(key) {
  var words = String(key).replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function isRecord(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isListOfRecords(value) {
  return Array.isArray(value) && value.length > 0 && value.every(isRecord);
}

/** Each evidence entry as a section: its values as fields, its lists of records as tables. */
function rawSections(evidence) {
  return Object.keys(evidence).filter(function (key) {
    return evidence[key] !== null && evidence[key] !== undefined;
  }).map(function (key) {
    var record = isRecord(evidence[key]) ? evidence[key] : { value: evidence[key] };
    var fields = [];
    var tables = [];
    Object.keys(record).forEach(function (name) {
      var value = record[name];
      if (isListOfRecords(value)) {
        tables.push(rawTable(humanise(name), value));
      } else if (Array.isArray(value) && !value.some(isRecord)) {
        fields.push({ label: humanise(name), value: value.join(", ") });
      } else {
        fields.push({ label: humanise(name), value: value });
      }
    });
    return { key: key, title: humanise(key), fields: fields, tables: tables };
  });
}

/** Records as a table: a column for every field any of them has, in order of appearance. */
function rawTable(caption, records) {
  var names = [];
  records.forEach(function (record) {
    Object.keys(record).forEach(function (name) {
      if (names.indexOf(name) < 0) { names.push(name); }
    });
  });
  return {
    caption: caption,
    columns: names.map(humanise),
    rows: records.map(function (record) {
      return names.map(function (name) { return record[name]; });
    })
  };
}
