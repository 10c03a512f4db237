/*
 * How the dashboard shows a number: by its unit (contract/analytics_report.py), a rate is a
 * fraction shown as a percentage, a duration in seconds as m:ss (h:mm:ss from an hour), one
 * in milliseconds as whole milliseconds, a score with two decimals. No value: an en dash.
 */

export var NONE = "–";

function pad(n) { return (n < 10 ? "0" : "") + n; }

/** Seconds as m:ss, or h:mm:ss from an hour (rounded to the second). */
export function clock(seconds) {
  var total = Math.round(Math.abs(seconds));
  var h = Math.floor(total / 3600);
  var m = Math.floor((total % 3600) / 60);
  var s = total % 60;
  return (seconds < 0 ? "-" : "") + (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s);
}

/** A value in its unit ("ratio", "s", "ms", "score"). */
export function formatValue(value, unit) {
  if (value === null || value === undefined) { return NONE; }
  switch (unit) {
    case "ratio": return (value * 100).toFixed(1) + "%";
    case "s": return clock(value);
    case "ms": return Math.round(value) + " ms";
    default: return Number(value).toFixed(2);
  }
}

/**
 * The change from `previous` to `value`: {arrow, text, direction} with direction "up",
 * "down" or "same"; null when either is missing. A rate changes in percentage points, a
 * duration by the same unit as its value.
 */
export function formatChange(value, previous, unit) {
  if (value === null || value === undefined || previous === null || previous === undefined) {
    return null;
  }
  var delta = value - previous;
  var direction = Math.abs(delta) < 1e-9 ? "same" : (delta > 0 ? "up" : "down");
  if (direction === "same") { return { arrow: "=", text: "no change", direction: direction }; }
  var sign = direction === "up" ? "+" : "-";
  var size = Math.abs(delta);
  var text;
  switch (unit) {
    case "ratio": text = (size * 100).toFixed(1) + " pts"; break;
    case "s": text = clock(size); break;
    case "ms": text = Math.round(size) + " ms"; break;
    default: text = size.toFixed(2); break;
  }
  return { arrow: direction === "up" ? "▲" : "▼", text: sign + text, direction: direction };
}

/** A moment (ISO text) as a local date and time in the reporting zone. */
export function moment(iso, zone) {
  if (!iso) { return NONE; }
  try {
    return new Intl.DateTimeFormat("en-GB", {
      dateStyle: "medium", timeStyle: "short", timeZone: zone || undefined
    }).format(new Date(iso));
  } catch (e) {
    return iso;
  }
}

/** A bucket of the wait histogram, e.g. "0:30–1:00", "30:00 or more". */
export function waitBucket(bucket) {
  if (bucket.to_s === null || bucket.to_s === undefined) {
    return clock(bucket.from_s) + " or more";
  }
  return clock(bucket.from_s) + "–" + clock(bucket.to_s);
}
