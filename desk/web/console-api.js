/*
 * The console talking to the desk's JSON API with the session cookie, and telling the agent
 * when something went wrong (the flash line under the top bar).
 */
import { byId, requestJson } from "./page.js";

var FLASH_MS = 12000;
var flashTimer = null;

/** JSON API call: resolves {status, ok, body}; a 401 means the session ended → /login. */
export function api(method, path, body) {
  return requestJson(method, path, body).then(function (result) {
    if (result.status === 401) {
      window.location.assign("/login");
      throw new Error("logged out");
    }
    return result;
  });
}

/** What went wrong, in words: the desk's `error`, else the fallback, else the status. */
export function errorText(result, fallback) {
  var body = result && result.body;
  return (body && body.error) || fallback || ("the desk answered " + (result && result.status));
}

/** A notice for the agent (kind "warn" or "ok"), gone after a while; "" hides it. */
export function flash(text, kind) {
  var node = byId("flash");
  node.textContent = text || "";
  node.dataset.kind = kind || "warn";
  node.hidden = !text;
  if (text) {
    window.clearTimeout(flashTimer);
    flashTimer = window.setTimeout(function () { node.hidden = true; }, FLASH_MS);
  }
}
