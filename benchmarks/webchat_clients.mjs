// Many customers' web chats in one node process, for the web chat load benchmark
// (benchmarks/webchat_load.py starts it and reads its report).
//
//   node webchat_clients.mjs <config-json>
//
// config: {url, sessions, transports ("polling" | "websocket" | "default"), prefix,
//          rate, duration, replyTimeout, seed, batch, clientsDir}
// `clientsDir` is tests/support/node, where `make node-clients` installed socket.io-client
// (the npm registry's client, as web pages and rasa-webchat use it).
//
// It opens `sessions` socket.io sessions, each doing Rasa's session_request ->
// session_confirm, and writes one JSON line per step to stdout:
//   {"event": "ready", "sessions": n, "confirmed": n, "failed": n, "seconds": s, "transports": {...}}
//   {"event": "stats", "requests": n, "transports": {...}, "connected": n}   (on {"stats": true})
//   {"event": "report", ...}                                               (after {"load": true})
// On {"load": true} it sends `rate` messages a second in all for `duration` seconds, at random
// moments (exponential gaps), each from the next session that has nothing in flight, and times
// each message from its emit to the first `bot_uttered` of that session afterwards
// (performance.now(), in this process, so Python's scheduling is not in the measure).
// On {"close": true} it disconnects every session and exits.
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

const config = JSON.parse(process.argv[2]);
const require = createRequire(path.join(config.clientsDir, "package.json"));
const { io } = require("socket.io-client");

// Every HTTP request the clients make (engine.io's polls and posts, the websocket handshakes).
let requests = 0;
const originalRequest = http.request;
http.request = function countedRequest(...args) {
  requests += 1;
  return originalRequest.apply(this, args);
};

const write = (event, data) => process.stdout.write(JSON.stringify({ event, ...data }) + "\n");

// A small seeded generator (mulberry32): the same seed gives the same moments and messages.
function random32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = random32(config.seed);

// What customers say: bot-only turns and order lookups of orders the bot resolves itself
// (no handoff: ORD-100005 and ORD-100006 would hand the conversation to a person).
const MESSAGES = [
  { kind: "hi", text: "hi", weight: 4 },
  { kind: "bye", text: "bye", weight: 3 },
  ...["ORD-100001", "ORD-100002", "ORD-100003", "ORD-100004", "ORD-100007", "ORD-100008"].map(
    (order) => ({ kind: "order_lookup", text: `where is my order ${order}?`, weight: 0.5 }),
  ),
];
const totalWeight = MESSAGES.reduce((sum, message) => sum + message.weight, 0);
function pickMessage() {
  let point = random() * totalWeight;
  for (const message of MESSAGES) {
    point -= message.weight;
    if (point < 0) return message;
  }
  return MESSAGES[0];
}

const sessions = [];
const disconnectReasons = {};
const options = { forceNew: true, reconnection: false, timeout: 60000 };
if (config.transports !== "default") options.transports = [config.transports];

function openSession(index) {
  const session = {
    id: `${config.prefix}-${index}`,
    confirmed: false,
    failed: null,
    inFlight: null,
    disconnects: 0,
  };
  const socket = io(config.url, options);
  session.socket = socket;
  session.done = new Promise((resolve) => {
    socket.on("connect", () => socket.emit("session_request", { session_id: session.id }));
    // Without a chat token the channel starts a new chat; its id is the one spoken in.
    socket.on("session_confirm", (id) => {
      session.id = id && id.session_id ? id.session_id : id;
      session.confirmed = true;
      resolve();
    });
    socket.on("connect_error", (error) => {
      session.failed = String(error);
      resolve();
    });
  });
  socket.on("bot_uttered", () => {
    const message = session.inFlight;
    if (message === null) return; // a later part of a reply already timed
    message.ms = performance.now() - message.sentAt;
    session.inFlight = null;
    inFlight -= 1;
  });
  socket.on("disconnect", (reason) => {
    session.disconnects += 1;
    disconnectReasons[reason] = (disconnectReasons[reason] || 0) + 1;
  });
  sessions.push(session);
  return session.done;
}

function transportCounts() {
  const counts = {};
  for (const session of sessions) {
    const engine = session.socket.io.engine;
    const name = session.socket.connected && engine ? engine.transport.name : "disconnected";
    counts[name] = (counts[name] || 0) + 1;
  }
  return counts;
}

async function openAll() {
  const started = performance.now();
  for (let first = 0; first < config.sessions; first += config.batch) {
    const batch = [];
    for (let index = first; index < Math.min(first + config.batch, config.sessions); index++) {
      batch.push(openSession(index));
    }
    await Promise.all(batch);
  }
  write("ready", {
    sessions: sessions.length,
    confirmed: sessions.filter((session) => session.confirmed).length,
    failed: sessions.filter((session) => session.failed !== null).length,
    firstError: sessions.find((session) => session.failed !== null)?.failed ?? null,
    seconds: (performance.now() - started) / 1000,
    transports: transportCounts(),
  });
}

let inFlight = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function load() {
  const order = sessions.filter((session) => session.confirmed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const messages = [];
  let next = 0;
  let busy = 0; // a moment came and every session had a message in flight
  const started = performance.now();
  const end = started + config.duration * 1000;
  let due = started;
  while (true) {
    due += (-Math.log(1 - random()) / config.rate) * 1000;
    if (due >= end) break;
    await sleep(Math.max(0, due - performance.now()));
    let session = null;
    for (let tries = 0; tries < order.length && session === null; tries++) {
      const candidate = order[next];
      next = (next + 1) % order.length;
      if (candidate.inFlight === null && candidate.socket.connected) session = candidate;
    }
    if (session === null) {
      busy += 1;
      continue;
    }
    const chosen = pickMessage();
    const message = { kind: chosen.kind, sentAt: performance.now(), ms: null, lateBy: 0 };
    message.lateBy = message.sentAt - due; // the generator's own delay, reported
    session.inFlight = message;
    inFlight += 1;
    messages.push(message);
    session.socket.emit("user_uttered", { message: chosen.text, session_id: session.id });
  }
  const sendingSeconds = (performance.now() - started) / 1000;
  const deadline = performance.now() + config.replyTimeout * 1000;
  while (inFlight > 0 && performance.now() < deadline) await sleep(50);
  const lateBy = messages.map((message) => message.lateBy).sort((a, b) => a - b);
  write("report", {
    sendingSeconds,
    sent: messages.length,
    answered: messages.filter((message) => message.ms !== null).length,
    skippedBusy: busy,
    generatorLateP99Ms: lateBy.length ? lateBy[Math.floor(0.99 * (lateBy.length - 1))] : 0,
    disconnects: sessions.reduce((sum, session) => sum + session.disconnects, 0),
    disconnectReasons,
    transports: transportCounts(),
    samples: messages.map((message) => ({ kind: message.kind, ms: message.ms })),
  });
}

const commands = readline.createInterface({ input: process.stdin });
commands.on("line", (line) => {
  const command = JSON.parse(line);
  if (command.stats) {
    write("stats", {
      requests,
      transports: transportCounts(),
      connected: sessions.filter((session) => session.socket.connected).length,
    });
  } else if (command.load) {
    load();
  } else if (command.close) {
    for (const session of sessions) session.socket.close();
    setTimeout(() => process.exit(0), 200);
  }
});
commands.on("close", () => process.exit(0));

openAll();
