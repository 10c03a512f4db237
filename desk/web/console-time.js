/* Times as the console shows them: a date and time, a waiting time, milliseconds to compare. */

var ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** Whether the value is a string that starts like an ISO date and time. */
export function isIsoTime(value) { return typeof value === "string" && ISO_TIME.test(value); }

/** A time (epoch seconds or an ISO string) as "01 Dec, 10:00:00" in the agent's locale. */
export function when(value) {
  if (value === null || value === undefined || value === "") { return ""; }
  var date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (isNaN(date.getTime())) { return String(value); }
  return date.toLocaleString([], {
    day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit"
  });
}

/** Seconds as "m:ss" or "h:mm:ss". */
export function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  var h = Math.floor(seconds / 3600);
  var m = Math.floor((seconds % 3600) / 60);
  var s = seconds % 60;
  var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  return h ? h + ":" + mm : mm;
}

/** Milliseconds since the epoch of a line's time: Rasa's epoch seconds or an ISO string. */
export function timeOf(at) {
  if (at === null || at === undefined || at === "") { return null; }
  var ms = typeof at === "number" ? at * 1000 : Date.parse(at);
  return isNaN(ms) ? null : ms;
}
