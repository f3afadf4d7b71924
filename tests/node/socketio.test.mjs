// The official socket.io-client (v4) against the server's Socket.IO endpoint at
// /api/socket.io/: authentication on connect, chat:send with an acknowledgement,
// the turn's events in the conversation's room (the SSE payloads), chat:join for a
// second client of the same owner, and refusals for strangers and ended sessions.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startFake, startServer } from "./harness.mjs";

const ANSWER = "ソケットでお答えします。予約番号の有効期限は15日間です。";
let model, server;

before(async () => {
  model = await startFake("fake-openai", ["--answer", ANSWER, "--delay-ms", "5"]);
  server = await startServer({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "sk-test" });
});

after(async () => {
  await server?.stop();
  model?.stop();
});

async function guest() {
  const res = await fetch(`${server.base}/api/session`, { method: "POST" });
  return (await res.json()).token;
}

function connect(token, transports = ["websocket"]) {
  return io(server.base, { path: "/api/socket.io/", auth: token ? { token } : {}, transports, reconnection: false });
}

function once(socket, event) {
  return new Promise((resolve, reject) => {
    socket.once(event, resolve);
    socket.once("connect_error", reject);
  });
}

/** Collect chat:* events until chat:done or chat:error. */
function collect(socket) {
  return new Promise((resolve) => {
    const events = [];
    for (const name of ["chat:meta", "chat:sources", "chat:delta", "chat:done", "chat:error"]) {
      socket.on(name, (data) => {
        events.push([name, data]);
        if (name === "chat:done" || name === "chat:error") resolve(events);
      });
    }
  });
}

test("a turn over Socket.IO: ack with ids, then meta, deltas and done to the room", async () => {
  const token = await guest();
  const socket = connect(token);
  await once(socket, "connect");
  const events = collect(socket);
  const ack = await socket.timeout(10_000).emitWithAck("chat:send", { message: "予約番号の期限は？" });
  assert.ok(ack.conversation_id && ack.message_id, JSON.stringify(ack));
  const got = await events;
  assert.equal(got[0][0], "chat:meta");
  assert.equal(got[0][1].message_id, ack.message_id);
  const text = got.filter(([n]) => n === "chat:delta").map(([, d]) => d.text).join("");
  assert.equal(text, ANSWER);
  const done = got.at(-1);
  assert.equal(done[0], "chat:done");
  assert.equal(done[1].status, "complete");
  assert.equal(done[1].conversation_id, ack.conversation_id);

  // A second connection of the same owner joins the room and sees the next turn.
  const other = connect(token, ["polling"]);
  await once(other, "connect");
  const joined = await other.timeout(5_000).emitWithAck("chat:join", { conversation_id: ack.conversation_id });
  assert.equal(joined.ok, true);
  const seen = collect(other);
  await socket.timeout(10_000).emitWithAck("chat:send", { message: "ありがとう", conversation_id: ack.conversation_id });
  const theirs = await seen;
  assert.equal(theirs.filter(([n]) => n === "chat:delta").map(([, d]) => d.text).join(""), ANSWER);

  // A stranger cannot join it.
  const stranger = connect(await guest());
  await once(stranger, "connect");
  const refused = await stranger.timeout(5_000).emitWithAck("chat:join", { conversation_id: ack.conversation_id });
  assert.equal(refused.error.code, "not_found");
  // Bad input is a clear error in the acknowledgement.
  const bad = await socket.timeout(5_000).emitWithAck("chat:send", { text: "wrong field" });
  assert.equal(bad.error.code, "bad_request");
  for (const s of [socket, other, stranger]) s.disconnect();
});

test("no or a bad credential: the connection is refused", async () => {
  for (const token of [undefined, "not-a-real-token"]) {
    const socket = connect(token);
    const err = await new Promise((resolve) => socket.once("connect_error", resolve));
    assert.match(err.message, /unauthorized/);
    socket.disconnect();
  }
});

test("a session ended on the server ends the socket at its next action", async () => {
  const token = await guest();
  const socket = connect(token);
  await once(socket, "connect");
  const gone = new Promise((resolve) => socket.once("disconnect", resolve));
  const erased = await fetch(`${server.base}/api/me`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
  assert.equal(erased.status, 200);
  const ack = await socket.timeout(5_000).emitWithAck("chat:send", { message: "まだ使える？" });
  assert.equal(ack.error.code, "unauthorized");
  await gone;
});
