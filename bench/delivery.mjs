// Delivery latency of a streamed turn, SSE vs Socket.IO, from one Node process so
// both clients run on the same runtime: run by bench/scale.py (part 3), which
// starts the server and the fake model and reads the JSON printed on stdout.
//
// Usage: node bench/delivery.mjs BASE_URL TURNS
//
// Turns alternate (SSE, Socket.IO, SSE, …; the order flips every turn), one at a
// time, each in a new conversation. For each turn: ms from the request (fetch()
// called / chat:send emitted) to the first delta, and the gaps between deltas.
// The Socket.IO client is the official socket.io-client v4 from tests/node
// (`cd tests/node && npm ci` installs it), on the websocket transport, connected
// once before the first turn; fetch() keeps its connection alive the same way.
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

const require = createRequire(new URL("../tests/node/package.json", import.meta.url));
const { io } = require("socket.io-client");

const [base, turnsArg] = process.argv.slice(2);
const TURNS = Number(turnsArg || 100);
const WARMUP = 5;
const MESSAGE = "予約番号の有効期限は？";

async function guest() {
  const res = await fetch(`${base}/api/session`, { method: "POST" });
  if (!res.ok) throw new Error(`POST /api/session: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}

/** One turn over SSE: { ttfd, gaps, deltas, text }. */
async function sseTurn(token) {
  const t0 = performance.now();
  const res = await fetch(`${base}/api/chat/stream`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ message: MESSAGE }),
  });
  if (res.status !== 200) throw new Error(`POST /api/chat/stream: ${res.status} ${await res.text()}`);
  const times = [];
  let text = "";
  let done = null;
  let buf = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    const now = performance.now();
    buf += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (event === "delta") {
        times.push(now);
        text += JSON.parse(data.join("\n")).text;
      } else if (event === "done" || event === "error") {
        done = { event, data: JSON.parse(data.join("\n")) };
      }
    }
  }
  if (!done || done.event !== "done") throw new Error(`SSE turn ended without done: ${JSON.stringify(done)}`);
  return result(t0, times, text);
}

function result(t0, times, text) {
  if (times.length === 0) throw new Error("no delta");
  return { ttfd: times[0] - t0, gaps: times.slice(1).map((t, i) => t - times[i]), deltas: times.length, text };
}

/** One turn over Socket.IO on an already connected socket. */
function socketTurn(socket) {
  return new Promise((resolve, reject) => {
    const times = [];
    let text = "";
    let messageId = null;
    const timer = setTimeout(() => finish(new Error("Socket.IO turn timed out after 30 s")), 30_000);
    const onDelta = (d) => {
      times.push(performance.now());
      text += d.text;
    };
    const onDone = (d) => {
      if (messageId && d.message_id !== messageId) return;
      finish(d.status === "complete" ? null : new Error(`chat:done ${JSON.stringify(d)}`));
    };
    const onError = (e) => finish(new Error(`chat:error ${JSON.stringify(e)}`));
    function finish(err) {
      clearTimeout(timer);
      socket.off("chat:delta", onDelta);
      socket.off("chat:done", onDone);
      socket.off("chat:error", onError);
      if (err) reject(err);
      else resolve(result(t0, times, text));
    }
    socket.on("chat:delta", onDelta);
    socket.on("chat:done", onDone);
    socket.on("chat:error", onError);
    const t0 = performance.now();
    socket.emit("chat:send", { message: MESSAGE }, (ack) => {
      if (ack?.error) finish(new Error(`chat:send refused: ${JSON.stringify(ack.error)}`));
      else messageId = ack.message_id;
    });
  });
}

const token = await guest();
const socket = io(base, { path: "/api/socket.io/", auth: { token }, transports: ["websocket"], reconnection: false });
await new Promise((resolve, reject) => {
  socket.once("connect", resolve);
  socket.once("connect_error", reject);
});
const out = { sse: [], socketio: [], errors: [] };
let answer = null;
for (let i = 0; i < WARMUP + TURNS; i++) {
  const order = i % 2 === 0 ? ["sse", "socketio"] : ["socketio", "sse"];
  for (const kind of order) {
    try {
      const r = kind === "sse" ? await sseTurn(token) : await socketTurn(socket);
      answer ??= r.text;
      if (r.text !== answer) out.errors.push(`${kind} turn ${i}: text ${JSON.stringify(r.text)} != ${JSON.stringify(answer)}`);
      if (i >= WARMUP) out[kind].push({ ttfd: r.ttfd, gaps: r.gaps, deltas: r.deltas });
    } catch (e) {
      out.errors.push(`${kind} turn ${i}: ${e.message}`);
    }
  }
}
socket.disconnect();
out.answer = answer;
process.stdout.write(JSON.stringify(out) + "\n");
