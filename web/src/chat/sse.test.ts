import { describe, expect, it } from "vitest";
import { createSseParser, type SseEvent } from "./sse";

function parseAll(chunks: (string | Uint8Array)[]): { events: SseEvent[]; comments: string[] } {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const p = createSseParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c) });
  for (const c of chunks) p.push(c);
  p.end();
  return { events, comments };
}

const enc = new TextEncoder();

// What the server sends for a chat turn (axum's Sse: "event:", "id:", "data:" lines).
const TURN =
  'event: meta\nid: 3\ndata: {"conversation_id":"c1","message_id":"m1"}\n\n' +
  ": keep-alive\n\n" +
  'event: delta\nid: 4\ndata: {"text":"MNP予約番号は"}\n\n' +
  'event: delta\nid: 5\ndata: {"text":"10桁です。🙂"}\n\n' +
  'event: done\nid: 6\ndata: {"status":"complete"}\n\n';

const EXPECTED: SseEvent[] = [
  { event: "meta", id: "3", data: '{"conversation_id":"c1","message_id":"m1"}' },
  { event: "delta", id: "4", data: '{"text":"MNP予約番号は"}' },
  { event: "delta", id: "5", data: '{"text":"10桁です。🙂"}' },
  { event: "done", id: "6", data: '{"status":"complete"}' },
];

describe("createSseParser", () => {
  it("parses a whole turn in one chunk", () => {
    const { events, comments } = parseAll([TURN]);
    expect(events).toEqual(EXPECTED);
    expect(comments).toEqual(["keep-alive"]);
  });

  it("gives the same events when the bytes are split at every position", () => {
    const bytes = enc.encode(TURN);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { events } = parseAll([bytes.slice(0, cut), bytes.slice(cut)]);
      expect(events, `cut at byte ${cut}`).toEqual(EXPECTED);
    }
  });

  it("gives the same events when fed one byte at a time (split UTF-8 sequences)", () => {
    const bytes = enc.encode(TURN);
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(parseAll(chunks).events).toEqual(EXPECTED);
  });

  it("gives the same events with three-way splits of the text", () => {
    const text = TURN.replace(/\n/g, "\r\n");
    for (let a = 1; a < text.length; a += 7) {
      for (let b = a + 1; b < text.length; b += 11) {
        const { events } = parseAll([text.slice(0, a), text.slice(a, b), text.slice(b)]);
        expect(events, `cuts at ${a}, ${b}`).toEqual(EXPECTED);
      }
    }
  });

  it("accepts CRLF, CR and LF line endings, even a CRLF split across chunks", () => {
    for (const eol of ["\r\n", "\r", "\n"]) {
      const text = TURN.replace(/\n/g, eol);
      expect(parseAll([text]).events, JSON.stringify(eol)).toEqual(EXPECTED);
      const bytes = enc.encode(text);
      for (let cut = 1; cut < bytes.length; cut++) {
        expect(parseAll([bytes.slice(0, cut), bytes.slice(cut)]).events).toEqual(EXPECTED);
      }
    }
  });

  it("does not make an empty line of the LF after a CR that ended a chunk", () => {
    const { events } = parseAll(["data: a\r", "\ndata: b\r", "\n\r", "\n"]);
    expect(events).toEqual([{ event: "message", id: null, data: "a\nb" }]);
  });

  it("joins multi-line data with newlines", () => {
    const { events } = parseAll(["data: line one\ndata: line two\ndata:\ndata:  indented\n\n"]);
    expect(events).toEqual([{ event: "message", id: null, data: "line one\nline two\n\n indented" }]);
  });

  it("strips only one leading space from a value", () => {
    const { events } = parseAll(["data:no-space\n\ndata:  two\n\n"]);
    expect(events.map((e) => e.data)).toEqual(["no-space", " two"]);
  });

  it("ignores comments and keep-alives, reporting them separately", () => {
    const { events, comments } = parseAll([":\n: keep-alive\n:ping\n\ndata: x\n\n"]);
    expect(events).toEqual([{ event: "message", id: null, data: "x" }]);
    expect(comments).toEqual(["", "keep-alive", "ping"]);
  });

  it("dispatches nothing for a block without data, but keeps its id", () => {
    const p = createSseParser({ onEvent: () => expect.fail("no event expected") });
    p.push("id: 41\nevent: delta\n\n");
    expect(p.lastEventId()).toBe("41");
  });

  it("keeps the last id for following events and resets the event type", () => {
    const { events } = parseAll(["event: delta\nid: 7\ndata: a\n\ndata: b\n\n"]);
    expect(events).toEqual([
      { event: "delta", id: "7", data: "a" },
      { event: "message", id: "7", data: "b" },
    ]);
  });

  it("ignores ids with NULL and unknown fields; a field without colon has an empty value", () => {
    const { events } = parseAll(["id: 1\n\nid: 2\0x\nfoo: bar\ndata\n\n"]);
    expect(events).toEqual([{ event: "message", id: "1", data: "" }]);
  });

  it("reports retry only when it is all digits", () => {
    const { events } = parseAll(["retry: 1500\ndata: a\n\nretry: 1.5\ndata: b\n\n"]);
    expect(events[0]?.retry).toBe(1500);
    expect(events[1]?.retry).toBeUndefined();
  });

  it("drops an event whose blank line never came", () => {
    const { events } = parseAll(["data: complete\n\ndata: cut off"]);
    expect(events.map((e) => e.data)).toEqual(["complete"]);
  });

  it("skips a leading BOM", () => {
    expect(parseAll(["\ufeffdata: a\n\n"]).events[0]?.data).toBe("a");
    expect(parseAll([Uint8Array.of(0xef, 0xbb, 0xbf), enc.encode("data: a\n\n")]).events[0]?.data).toBe("a");
  });

  it("tracks lastEventId as events arrive", () => {
    const p = createSseParser({ onEvent: () => {} });
    expect(p.lastEventId()).toBeNull();
    p.push("id: 3\ndata: x\n\nid: 4\nda");
    // Event 4 is not complete: a resume must ask for it again.
    expect(p.lastEventId()).toBe("3");
    p.push("ta: y\n\n");
    expect(p.lastEventId()).toBe("4");
  });
});
