// A web page's socket.io-client (from the npm registry, default settings), driven by a test.
//
//   node page.mjs <rasa-url> <session-id> [<transports>]
//
// It connects as any page does (polling first, then the upgrade a server offers), or only over
// the comma-separated <transports> (socket.io-client's `transports` option), sends
// Rasa's `session_request` {session_id, token} (the chat's token from the environment variable
// CHAT_TOKEN, if set: never the command line), and from `session_confirm` on speaks in the chat
// the server confirmed, as stock widgets do (without a token that opens <session-id>, the web
// chat channel starts a new chat). Then it takes one JSON command per line on stdin:
//   {"say": "text"}                  emit `user_uttered` {message, session_id: the confirmed id}
//   {"emit": "event", "data": {...}} emit anything
//   {"stats": true}                  answer {"event": "stats", "requests": n, "transport": t}
//   {"close": true}                  disconnect and exit
// Every event it receives is written to stdout as one JSON line {"event", "data"}; so are
// `open` (the engine's first transport), `connect`, `connect_error` and `upgrade` (with the
// transport's name). `requests` counts
// the HTTP requests the page has made (engine.io's polls and posts), so a test can tell an
// idle page from one that polls in a tight loop.
import http from "node:http";
import readline from "node:readline";

let requests = 0;
const request = http.request;
http.request = function countedRequest(...args) {
  requests += 1;
  return request.apply(this, args);
};

const { io } = await import("socket.io-client");
const [url, sessionId, transports] = process.argv.slice(2);
const token = process.env.CHAT_TOKEN || null;
let confirmedId = sessionId;
const write = (event, data) => process.stdout.write(JSON.stringify({ event, data }) + "\n");

const options = { reconnection: false };
if (transports) options.transports = transports.split(",");
const socket = io(url, options);
socket.onAny((event, data) => write(event, data));
// The engine opens (on its first transport) before socket.io connects; an upgrade may finish
// before `connect` fires, so it is watched from the engine's opening.
socket.io.on("open", () => {
  write("open", { transport: socket.io.engine.transport.name });
  socket.io.engine.on("upgrade", (transport) => write("upgrade", { transport: transport.name }));
});
socket.on("connect", () => {
  write("connect", { transport: socket.io.engine.transport.name });
  socket.emit("session_request", { session_id: sessionId, token });
});
// rasa-webchat reads the id as `session_confirm`'s data, or its `session_id` if an object.
socket.on("session_confirm", (data) => {
  confirmedId = data && data.session_id ? data.session_id : data;
});
socket.on("connect_error", (error) => write("connect_error", { message: String(error) }));

const commands = readline.createInterface({ input: process.stdin });
commands.on("line", (line) => {
  const command = JSON.parse(line);
  if (command.say !== undefined) {
    socket.emit("user_uttered", { message: command.say, session_id: confirmedId });
  } else if (command.emit !== undefined) {
    socket.emit(command.emit, command.data);
  } else if (command.stats) {
    const transport = socket.io.engine ? socket.io.engine.transport.name : null;
    write("stats", { requests, transport });
  } else if (command.close) {
    socket.close();
    process.exit(0);
  }
});
commands.on("close", () => {
  socket.close();
  process.exit(0);
});
