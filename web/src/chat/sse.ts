// A Server-Sent Events parser, pure and incremental, following the WHATWG
// "event stream interpretation" rules. EventSource cannot POST or send our auth
// headers, so chat streams are read with fetch and parsed here.
//
// Bytes may arrive split anywhere (inside a UTF-8 sequence, between CR and LF), so
// the parser decodes with a streaming TextDecoder and keeps partial lines.

export interface SseEvent {
  /** The `event:` field, or "message" when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last `id:` seen on the stream so far (ids persist between events). */
  id: string | null;
  /** The `retry:` value in ms, when this event carried one. */
  retry?: number;
}

export interface SseParser {
  /** Feed the next chunk of the body. */
  push(chunk: Uint8Array | string): void;
  /** The body ended: an event without its blank line is dropped, as the spec says. */
  end(): void;
  /** The id a resume should send as Last-Event-ID: that of the last complete block. */
  lastEventId(): string | null;
}

export interface SseHandlers {
  onEvent(event: SseEvent): void;
  /** Comment lines (": keep-alive"); useful only to notice the connection is alive. */
  onComment?(text: string): void;
}

export function createSseParser(handlers: SseHandlers): SseParser {
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let firstChunk = true;
  // A CR ended the previous chunk: an LF starting the next one belongs to it.
  let skipLeadingLf = false;

  let dataLines: string[] = [];
  let hasData = false;
  let eventType = "";
  // The id buffer fills as `id:` lines arrive; it becomes the stream's last event
  // id only when a blank line ends the block, so a connection cut mid-event resumes
  // from the previous, complete event.
  let idBuffer: string | null = null;
  let lastId: string | null = null;
  let retry: number | undefined;

  const dispatch = () => {
    lastId = idBuffer;
    if (hasData) {
      const ev: SseEvent = { event: eventType || "message", data: dataLines.join("\n"), id: lastId };
      if (retry !== undefined) ev.retry = retry;
      handlers.onEvent(ev);
    }
    dataLines = [];
    hasData = false;
    eventType = "";
    retry = undefined;
  };

  const processLine = (line: string) => {
    if (line === "") {
      dispatch();
      return;
    }
    if (line.startsWith(":")) {
      handlers.onComment?.(line.slice(1).replace(/^ /, ""));
      return;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        eventType = value;
        break;
      case "data":
        dataLines.push(value);
        hasData = true;
        break;
      case "id":
        // The spec ignores ids containing NULL (they could not be sent back in a header).
        if (!value.includes("\0")) idBuffer = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) retry = Number(value);
        break;
      default:
        // Unknown fields are ignored.
        break;
    }
  };

  const drain = () => {
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c === 10 /* LF */ || c === 13 /* CR */) {
        processLine(buffer.slice(start, i));
        if (c === 13) {
          if (i + 1 < buffer.length) {
            if (buffer.charCodeAt(i + 1) === 10) i++;
          } else {
            skipLeadingLf = true;
          }
        }
        start = i + 1;
      }
    }
    buffer = buffer.slice(start);
  };

  const feedText = (text: string) => {
    if (text === "") return;
    if (skipLeadingLf) {
      skipLeadingLf = false;
      if (text.charCodeAt(0) === 10) text = text.slice(1);
    }
    if (firstChunk) {
      // A UTF-8 BOM at the very start is not part of the first field name.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text === "") return;
      firstChunk = false;
    }
    buffer += text;
    drain();
  };

  return {
    push(chunk) {
      feedText(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    },
    end() {
      feedText(decoder.decode());
      // Whatever is left had no terminating blank line: discarded.
      buffer = "";
      dataLines = [];
      hasData = false;
      eventType = "";
    },
    lastEventId: () => lastId,
  };
}
