// Wire compatibility with the official LINE bot SDK (@line/bot-sdk):
// - the SDK's validateSignature and the server agree on X-Line-Signature, for the
//   same bytes, and both refuse a tampered body;
// - the SDK's MessagingApiClient works against our fake LINE API (reply, push with
//   X-Line-Retry-Key, loading animation) and sees LINE's real errors from it, so
//   the fake the Rust tests rely on speaks the protocol the SDK expects.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { validateSignature, messagingApi, HTTPFetchError } from "@line/bot-sdk";
import { startFake, startServer, waitFor } from "./harness.mjs";

const SECRET = "node-sdk-channel-secret-0123456789";
const TOKEN = "node-sdk-access-token";
let line, model, server;

before(async () => {
  line = await startFake("fake-line", ["--token", TOKEN]);
  model = await startFake("fake-openai", ["--answer", "SDKテストへの答えです。"]);
  server = await startServer({
    OPENAI_BASE_URL: model.url,
    OPENAI_API_KEY: "sk-test",
    LINE_CHANNEL_SECRET: SECRET,
    LINE_CHANNEL_ACCESS_TOKEN: TOKEN,
    LINE_API_BASE: line.url,
  });
});

after(async () => {
  await server?.stop();
  line?.stop();
  model?.stop();
});

function webhookBody(id, text) {
  return JSON.stringify({
    destination: "U0000000000000000000000000000000",
    events: [
      {
        type: "message",
        mode: "active",
        timestamp: Date.now(),
        source: { type: "user", userId: "U1234567890abcdef" },
        webhookEventId: id,
        deliveryContext: { isRedelivery: false },
        replyToken: `reply-${id}`,
        message: { id: "468789577898262530", type: "text", quoteToken: "q", text },
      },
    ],
  });
}

// How the LINE platform signs a delivery (base64 HMAC-SHA256 of the raw body).
const platformSign = (body) => createHmac("sha256", SECRET).update(body).digest("base64");

test("the SDK and the server agree on webhook signatures", async () => {
  const body = webhookBody("01HSDK0000000000000000001", "MNP予約番号とは？");
  const signature = platformSign(body);
  assert.equal(validateSignature(body, SECRET, signature), true, "the SDK accepts the platform's signature");
  const ok = await fetch(`${server.base}/api/line/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-line-signature": signature },
    body,
  });
  assert.equal(ok.status, 200, await ok.text());

  const tampered = body.replace("MNP予約番号", "MNP予約番号!");
  assert.equal(validateSignature(tampered, SECRET, signature), false);
  const refused = await fetch(`${server.base}/api/line/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-line-signature": signature },
    body: tampered,
  });
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).error.code, "invalid_signature");

  // The answer reached the (fake) LINE API as a reply to that event.
  const reply = await waitFor(async () => {
    const calls = await (await fetch(`${line.url}/__calls`)).json();
    return calls.find((c) => c.op === "reply" && c.status === 200);
  }, "the reply");
  assert.equal(reply.body.replyToken, "reply-01HSDK0000000000000000001");
  assert.equal(reply.body.messages[0].text, "SDKテストへの答えです。");
});

test("the SDK's client speaks to the fake LINE API, errors included", async () => {
  const client = new messagingApi.MessagingApiClient({ channelAccessToken: TOKEN, baseURL: line.url });
  await client.replyMessage({ replyToken: "sdk-token-1", messages: [{ type: "text", text: "こんにちは" }] });
  // A reply token is single-use: LINE's real error.
  await assert.rejects(
    client.replyMessage({ replyToken: "sdk-token-1", messages: [{ type: "text", text: "again" }] }),
    (e) => e instanceof HTTPFetchError && e.status === 400 && JSON.parse(e.body).message === "Invalid reply token",
  );
  const key = "123e4567-e89b-42d3-a456-426614174000";
  await client.pushMessage({ to: "U1234567890abcdef", messages: [{ type: "text", text: "push" }] }, key);
  await assert.rejects(
    client.pushMessage({ to: "U1234567890abcdef", messages: [{ type: "text", text: "push" }] }, key),
    (e) => e instanceof HTTPFetchError && e.status === 409,
  );
  // Too many messages: LINE's validation error with details.
  const six = Array.from({ length: 6 }, (_, i) => ({ type: "text", text: `m${i}` }));
  await assert.rejects(
    client.pushMessage({ to: "U1234567890abcdef", messages: six }),
    (e) => e instanceof HTTPFetchError && e.status === 400 && JSON.parse(e.body).details[0].property === "messages",
  );
  await client.showLoadingAnimation({ chatId: "U1234567890abcdef", loadingSeconds: 20 });
  // A wrong access token: 401 as LINE answers it.
  const wrong = new messagingApi.MessagingApiClient({ channelAccessToken: "nope", baseURL: line.url });
  await assert.rejects(
    wrong.pushMessage({ to: "U1", messages: [{ type: "text", text: "x" }] }),
    (e) => e instanceof HTTPFetchError && e.status === 401,
  );
});
