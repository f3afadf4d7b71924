// Socket.IO across replicas, with the official socket.io-client (v4): two
// tenmon-ark processes on one database. With a shared Redis, a turn started by a
// socket on replica A reaches a socket of the same owner on replica B that joined
// the conversation (B follows the turn through the shared event log), with the
// same text. Without Redis, B's socket hears nothing of A's turn: the positive
// test is not passing by accident.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io } from "socket.io-client";
import { startFake, startRedis, startServer } from "./harness.mjs";

const ANSWER = "レプリカをまたいでお届けします。予約番号の有効期限は15日間です。";
const SECRET = "node-replicas-test-secret-0123456789abcdef";
const open = []; // what the current test started, to stop newest first
let model, redis;

before(async () => {
  // ~14 chunks 80 ms apart: a turn lasts about a second, so B follows it live.
  model = await startFake("fake-openai", ["--answer", ANSWER, "--delay-ms", "80"]);
  redis = await startRedis();
});

async function stopAll() {
  while (open.length) await open.pop()();
}

afterEach(stopAll);

after(async () => {
  await stopAll();
  model?.stop();
  await redis?.stop();
});

/** Two replicas on one SQLite file (and one Redis when given), started one after the other. */
async function replicas(redisUrl) {
  const dir = mkdtempSync(join(tmpdir(), "tenmon-node-shared-"));
  open.push(async () => rmSync(dir, { recursive: true, force: true }));
  const env = {
    DATABASE_URL: `sqlite://${dir}/shared.db`,
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: "sk-test",
    JWT_SECRET: SECRET,
    SESSION_SECRET: SECRET,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };
  const a = await startServer(env);
  open.push(a.stop);
  const b = await startServer(env);
  open.push(b.stop);
  if (redisUrl) {
    for (const r of [a, b]) {
      for (let i = 0; ; i++) {
        const health = await (await fetch(`${r.base}/health`)).json();
        if (health.checks.redis?.status === "ok") break;
        if (i > 200) throw new Error(`replica never reached Redis: ${JSON.stringify(health)}\n${r.logs()}`);
        await new Promise((res) => setTimeout(res, 25));
      }
    }
  }
  const logs = () => `--- replica A ---\n${a.logs()}\n--- replica B ---\n${b.logs()}`;
  return { a, b, logs };
}

async function guest(server) {
  const res = await fetch(`${server.base}/api/session`, { method: "POST" });
  assert.ok(res.ok, `POST /api/session: ${res.status}`);
  return (await res.json()).token;
}

async function connect(server, token) {
  const socket = io(server.base, {
    path: "/api/socket.io/",
    auth: { token },
    transports: ["websocket"],
    reconnection: false,
  });
  open.push(async () => socket.disconnect());
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return socket;
}

const CHAT_EVENTS = ["chat:meta", "chat:sources", "chat:delta", "chat:done", "chat:error"];

/** Every chat:* event the socket receives, and a promise for the first chat:done/chat:error. */
function record(socket) {
  const events = [];
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  for (const name of CHAT_EVENTS) {
    socket.on(name, (data) => {
      events.push([name, data]);
      if (name === "chat:done" || name === "chat:error") finish(events);
    });
  }
  return { events, finished };
}

function within(promise, ms, what, logs) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}\n${logs()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const text = (events) => events.filter(([n]) => n === "chat:delta").map(([, d]) => d.text).join("");

/**
 * Client 1 on A starts a conversation; client 2 (same guest) on B joins it; client 1
 * sends a second message. Returns what each client received of that second turn.
 */
async function secondTurnSeenFromB({ a, b, logs }, waitForB) {
  const token = await guest(a);
  const one = await connect(a, token);
  const two = await connect(b, token);

  const first = record(one);
  const ack1 = await one.timeout(10_000).emitWithAck("chat:send", { message: "予約番号の期限は？" });
  assert.ok(ack1.conversation_id && ack1.message_id, JSON.stringify(ack1));
  await within(first.finished, 15_000, "the first turn on A", logs);
  for (const name of CHAT_EVENTS) one.off(name);

  const joined = await two.timeout(5_000).emitWithAck("chat:join", { conversation_id: ack1.conversation_id });
  assert.deepEqual(joined, { ok: true, conversation_id: ack1.conversation_id }, "B knows A's conversation (one database)");

  const mine = record(one);
  const theirs = record(two);
  const ack2 = await one
    .timeout(10_000)
    .emitWithAck("chat:send", { message: "ありがとう", conversation_id: ack1.conversation_id });
  assert.equal(ack2.conversation_id, ack1.conversation_id, JSON.stringify(ack2));
  const got = await within(mine.finished, 15_000, "the second turn on A", logs);
  if (waitForB) await within(theirs.finished, 15_000, "B's socket to receive A's turn (chat:done)", logs);
  else await new Promise((r) => setTimeout(r, 1500)); // B would have relayed long before this
  return { ack: ack2, mine: got, theirs: theirs.events };
}

test("with Redis, a socket on replica B receives the turn a socket on replica A started", async () => {
  const cluster = await replicas(redis.url);
  const { ack, mine, theirs } = await secondTurnSeenFromB(cluster, true);
  const why = () => `A's socket got ${JSON.stringify(mine)}\nB's socket got ${JSON.stringify(theirs)}\n${cluster.logs()}`;

  assert.equal(text(mine), ANSWER, why());
  assert.equal(text(theirs), text(mine), `B's deltas must spell what A's did\n${why()}`);
  const names = theirs.map(([n]) => n);
  assert.equal(names[0], "chat:meta", why());
  assert.equal(theirs[0][1].message_id, ack.message_id, why());
  assert.equal(theirs[0][1].conversation_id, ack.conversation_id, why());
  assert.ok(names.filter((n) => n === "chat:delta").length >= 2, why());
  assert.equal(names.filter((n) => n === "chat:done").length, 1, why());
  assert.equal(names.at(-1), "chat:done", why());
  const done = theirs.at(-1)[1];
  assert.equal(done.status, "complete", why());
  assert.equal(done.conversation_id, ack.conversation_id, why());
  assert.deepEqual(done, mine.at(-1)[1], `the same chat:done on both replicas\n${why()}`);
});

test("without Redis, B's socket hears nothing of A's turn", async () => {
  const cluster = await replicas(null);
  const { mine, theirs } = await secondTurnSeenFromB(cluster, false);
  assert.equal(text(mine), ANSWER, cluster.logs());
  assert.deepEqual(theirs, [], `with no Redis between the replicas, nothing can reach B\n${cluster.logs()}`);
});
