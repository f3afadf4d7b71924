import { describe, expect, it, vi } from "vitest";
import { backoffMs, cancelTurn, resumeTurn, streamTurn, type TurnHandlers } from "./turn";

const enc = new TextEncoder();

function sse(event: string, id: number, data: unknown): string {
  return `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

const META = sse("meta", 2, {
  conversation_id: "c1",
  user_message_id: "u1",
  message_id: "m1",
  assistant: "default",
  model: "fake",
});
const D3 = sse("delta", 3, { text: "MNP予約" });
const D4 = sse("delta", 4, { text: "番号は" });
const SRC5 = sse("sources", 5, { sources: [{ id: "mnp-001", kb: "mnp", question: "MNP予約番号とは" }] });
const D6 = sse("delta", 6, { text: "10桁です。" });
const DONE7 = sse("done", 7, { status: "complete", finish_reason: "stop" });

/** A body that sends `parts` and then either ends or breaks like a dropped connection. */
function body(parts: string[], end: "close" | "drop" = "close"): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < parts.length) {
        controller.enqueue(enc.encode(parts[i++]));
      } else if (end === "drop") {
        controller.error(new TypeError("network error"));
      } else {
        controller.close();
      }
    },
  });
}

function sseResponse(parts: string[], end: "close" | "drop" = "close"): Response {
  return new Response(body(parts, end), { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

interface Call {
  url: string;
  method: string;
  headers: Headers;
  body: string | null;
}

function fakeFetch(responses: (Response | Error | ((c: Call) => Response))[]) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const call: Call = {
      url: String(input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? init.body : null,
    };
    calls.push(call);
    const next = responses.shift();
    if (!next) throw new Error("unexpected fetch " + call.url);
    if (next instanceof Error) throw next;
    return typeof next === "function" ? next(call) : next;
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

function collector() {
  const out = { text: "", sources: [] as unknown[], done: null as unknown, error: null as unknown, reconnects: [] as number[], metas: 0 };
  const h: TurnHandlers = {
    onMeta: () => void out.metas++,
    onDelta: (t) => void (out.text += t),
    onSources: (s) => void (out.sources = s),
    onDone: (d) => void (out.done = d),
    onError: (e) => void (out.error = e),
    onReconnecting: (n) => void out.reconnects.push(n),
  };
  return { out, h };
}

const noSleep = { sleep: async () => {}, waitOnline: async () => {} };

describe("streamTurn", () => {
  it("posts the message and collects the whole answer", async () => {
    const { fetch, calls } = fakeFetch([sseResponse([META, D3, D4, SRC5, D6, DONE7])]);
    const { out, h } = collector();
    const end = await streamTurn({ message: "MNP予約番号とは何ですか", assistant: "mnp-support" }, h, { fetch, ...noSleep });
    expect(end.kind).toBe("done");
    expect(out.text).toBe("MNP予約番号は10桁です。");
    expect(out.sources).toHaveLength(1);
    expect(out.metas).toBe(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.method).toBe("POST");
    expect(calls[0]?.url).toMatch(/\/api\/chat\/stream$/);
    expect(JSON.parse(calls[0]?.body ?? "{}")).toEqual({ message: "MNP予約番号とは何ですか", assistant: "mnp-support" });
  });

  it("sends X-CSRF-Token from the tenmon_csrf cookie on the POST", async () => {
    document.cookie = "tenmon_csrf=abc123; path=/";
    const { fetch, calls } = fakeFetch([sseResponse([META, DONE7])]);
    await streamTurn({ message: "hi" }, {}, { fetch, ...noSleep });
    expect(calls[0]?.headers.get("X-CSRF-Token")).toBe("abc123");
    document.cookie = "tenmon_csrf=; max-age=0; path=/";
  });

  it("resumes after a dropped connection with Last-Event-ID, without losing or duplicating text", async () => {
    const { fetch, calls } = fakeFetch([
      // The connection breaks after event 4 and half of event 5.
      sseResponse([META, D3, D4, SRC5.slice(0, 20)], "drop"),
      (c) => {
        expect(c.headers.get("Last-Event-ID")).toBe("4");
        // The server replays from after 4; an overlapping replay (4 again) must be ignored.
        return sseResponse([D4, SRC5, D6, DONE7]);
      },
    ]);
    const { out, h } = collector();
    const end = await streamTurn({ message: "x" }, h, { fetch, ...noSleep });
    expect(end).toEqual({ kind: "done", done: { status: "complete", finish_reason: "stop" } });
    expect(out.text).toBe("MNP予約番号は10桁です。");
    expect(out.reconnects).toEqual([1]);
    expect(calls[1]?.method).toBe("GET");
    expect(calls[1]?.url).toMatch(/\/api\/chat\/stream\/m1$/);
    expect(out.metas).toBe(1);
  });

  it("resumes when the body just ends before done (a proxy closed it)", async () => {
    const { fetch, calls } = fakeFetch([sseResponse([META, D3]), sseResponse([D4, D6, DONE7])]);
    const { out, h } = collector();
    await streamTurn({ message: "x" }, h, { fetch, ...noSleep });
    expect(out.text).toBe("MNP予約番号は10桁です。");
    expect(calls[1]?.headers.get("Last-Event-ID")).toBe("3");
  });

  it("keeps trying through failed resumes with backoff, then continues", async () => {
    const sleeps: number[] = [];
    const { fetch } = fakeFetch([
      sseResponse([META, D3], "drop"),
      new TypeError("Failed to fetch"),
      new Response('{"error":{"code":"service_unavailable","message":"x"}}', { status: 503 }),
      sseResponse([D4, D6, DONE7]),
    ]);
    const { out, h } = collector();
    await streamTurn({ message: "x" }, h, { fetch, sleep: async (ms) => void sleeps.push(ms), waitOnline: async () => {} });
    expect(out.text).toBe("MNP予約番号は10桁です。");
    expect(out.reconnects).toEqual([1, 2, 3]);
    expect(sleeps).toEqual([500, 1000, 2000]);
  });

  it("gives up after the maximum number of attempts without progress", async () => {
    const { fetch } = fakeFetch([
      sseResponse([META, D3], "drop"),
      new TypeError("Failed to fetch"),
      new TypeError("Failed to fetch"),
    ]);
    const { h } = collector();
    await expect(streamTurn({ message: "x" }, h, { fetch, ...noSleep, maxResumeAttempts: 2 })).rejects.toMatchObject({
      code: "network",
    });
  });

  it("stops resuming on a final 4xx answer", async () => {
    const { fetch } = fakeFetch([
      sseResponse([META, D3], "drop"),
      new Response('{"error":{"code":"not_found","message":"message not found"}}', { status: 404 }),
    ]);
    await expect(streamTurn({ message: "x" }, {}, { fetch, ...noSleep })).rejects.toMatchObject({ status: 404 });
  });

  it("cannot resume when the stream broke before meta", async () => {
    const { fetch } = fakeFetch([sseResponse([], "drop")]);
    await expect(streamTurn({ message: "x" }, {}, { fetch, ...noSleep })).rejects.toMatchObject({ code: "network" });
  });

  it("reports an error event as the end of the turn", async () => {
    const err = sse("error", 4, { code: "upstream_timeout", message: "the model did not answer in time" });
    const { fetch } = fakeFetch([sseResponse([META, D3, err])]);
    const { out, h } = collector();
    const end = await streamTurn({ message: "x" }, h, { fetch, ...noSleep });
    expect(end).toEqual({ kind: "error", code: "upstream_timeout", message: "the model did not answer in time" });
    expect(out.error).toEqual({ code: "upstream_timeout", message: "the model did not answer in time" });
    expect(out.text).toBe("MNP予約");
  });

  it("throws the API error (with Retry-After) when the POST is refused", async () => {
    const { fetch } = fakeFetch([
      new Response('{"error":{"code":"rate_limited","message":"too many requests; retry in 7 s"}}', {
        status: 429,
        headers: { "Retry-After": "7" },
      }),
    ]);
    await expect(streamTurn({ message: "x" }, {}, { fetch, ...noSleep })).rejects.toMatchObject({
      status: 429,
      code: "rate_limited",
      retryAfter: 7,
    });
  });

  it("waits until the browser is online again before resuming", async () => {
    let online!: () => void;
    const back = new Promise<void>((r) => (online = r));
    const { fetch, calls } = fakeFetch([sseResponse([META, D3], "drop"), sseResponse([D4, DONE7])]);
    const pending = streamTurn({ message: "x" }, {}, { fetch, sleep: async () => {}, waitOnline: () => back });
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toHaveLength(1);
    online();
    await pending;
    expect(calls).toHaveLength(2);
  });

  it("stops reading when aborted (leaving the page)", async () => {
    const ctrl = new AbortController();
    const never = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(META + D3));
      },
    });
    const { fetch } = fakeFetch([new Response(never, { status: 200 })]);
    const { out, h } = collector();
    const pending = streamTurn({ message: "x" }, { ...h, onDelta: (t) => { out.text += t; ctrl.abort(); } }, { fetch, signal: ctrl.signal, ...noSleep });
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    expect(out.text).toBe("MNP予約");
  });
});

describe("resumeTurn", () => {
  it("follows a running turn from the start after a reload", async () => {
    const { fetch, calls } = fakeFetch([sseResponse([META, D3, D4, D6, DONE7])]);
    const { out, h } = collector();
    await resumeTurn("m1", null, h, { fetch, ...noSleep });
    expect(out.text).toBe("MNP予約番号は10桁です。");
    expect(out.reconnects).toEqual([]);
    expect(calls[0]?.headers.has("Last-Event-ID")).toBe(false);
  });
});

describe("cancelTurn", () => {
  it("posts to the cancel endpoint", async () => {
    const { fetch, calls } = fakeFetch([new Response('{"message_id":"m1","status":"cancelled"}', { status: 200 })]);
    await cancelTurn("m1", fetch);
    expect(calls[0]?.method).toBe("POST");
    expect(calls[0]?.url).toMatch(/\/api\/chat\/m1\/cancel$/);
  });
});

describe("backoffMs", () => {
  it("doubles up to 8 s", () => {
    expect([1, 2, 3, 4, 5, 9].map(backoffMs)).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
  });
});
