/*
 * What every desk page needs (chat, console and login): finding and building elements, showing
 * or hiding a message, asking the desk for JSON, and telling the other side someone types. Plain browser JavaScript, a native ES
 * module (no build step). Elements are built from text, never from HTML strings, so nothing a
 * customer or an agent typed is ever parsed as markup.
 */

/** The element with this id. */
export function byId(id) { return document.getElementById(id); }

/**
 * A new element. `attrs`: "text" (its text), "className", "data-*", "onclick" (a listener), or
 * any other attribute (true: present and empty; null, undefined, false: left out). `children`:
 * elements or strings (as text); null and undefined are skipped.
 */
export function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (key) {
    var value = attrs[key];
    if (value === null || value === undefined || value === false) { return; }
    if (key === "text") { node.textContent = value; } else if (key === "className") {
      node.className = value;
    } else if (key.slice(0, 5) === "data-") {
      node.setAttribute(key, value);
    } else if (key === "onclick") {
      node.addEventListener("click", value);
    } else {
      node.setAttribute(key, value === true ? "" : value);
    }
  });
  (children || []).forEach(function (child) {
    if (child === null || child === undefined) { return; }
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

/** Removes every child of the node. */
export function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

/** Shows the text in the node, or hides the node when the text is empty. */
export function showMessage(node, text) {
  node.textContent = text || "";
  node.hidden = !text;
}

/**
 * A JSON request to the desk (same origin, with its cookies, never cached): resolves
 * {status, ok, body}, body {} when the answer is not JSON; rejects when the desk cannot be
 * reached.
 */
export function requestJson(method, path, body) {
  var options = {
    method: method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json" }
  };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  return window.fetch(path, options).then(function (response) {
    return response.json().catch(function () { return {}; }).then(function (data) {
      return { status: response.status, ok: response.ok, body: data };
    });
  });
}

var TYPING_IDLE_MS = 2500;      // typing:false after this long without a keystroke
var TYPING_REPEAT_MS = 8000;    // while typing, typing:true again this often (never more)

/**
 * Tells the other side when this person types, through `send(typing)`: true on a keystroke
 * (again every few seconds while typing goes on), false once the text is emptied, a moment
 * after the last keystroke, or on stop(). forget(): the other side is gone, nothing to undo.
 */
export function typingSignal(send) {
  var typing = false;
  var sentAt = 0;
  var timer = null;

  function stop() {
    window.clearTimeout(timer);
    timer = null;
    if (typing) {
      typing = false;
      send(false);
    }
  }

  function input(text) {
    var now = Date.now();
    if (!text.trim()) {
      stop();
      return;
    }
    if (!typing || now - sentAt > TYPING_REPEAT_MS) {
      typing = true;
      sentAt = now;
      send(true);
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(stop, TYPING_IDLE_MS);
  }

  return { input: input, stop: stop, forget: function () { typing = false; } };
}
