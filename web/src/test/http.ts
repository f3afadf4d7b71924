// Test doubles for the network: a routing fetch stub and a scripted XMLHttpRequest
// (uploads go through XHR for their progress events).

import { vi } from "vitest";

export type Handler = (url: URL, init: RequestInit | undefined) => Response | Promise<Response>;

export interface FetchCall {
  key: string;
  url: URL;
  body: string | null;
  headers: Headers;
}

/** Stub global fetch with `"METHOD /path"` routes; anything else is a JSON 404. */
export function mockFetch(routes: Record<string, Handler>): FetchCall[] {
  const calls: FetchCall[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = input instanceof Request ? input : null;
      const url = new URL(req ? req.url : String(input));
      const method = (req?.method ?? init?.method ?? "GET").toUpperCase();
      const key = `${method} ${url.pathname}`;
      const body = req ? await req.clone().text() : typeof init?.body === "string" ? init.body : null;
      calls.push({ key, url, body, headers: new Headers(req ? req.headers : init?.headers) });
      const h = routes[key];
      if (!h) return json(404, { error: { code: "not_found", message: "no route" } });
      return h(url, init);
    }),
  );
  return calls;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

export const session = () => json(200, { session_id: "s", kind: "guest", expires_at: "2030-01-01T00:00:00Z" });

export function sse(events: [string, number, unknown][]): Response {
  const text = events.map(([e, id, d]) => `event: ${e}\nid: ${id}\ndata: ${JSON.stringify(d)}\n\n`).join("");
  return new Response(text, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

/** An XMLHttpRequest whose answer the test gives with `progress()` and `finish()`. */
export class FakeXhr {
  static sent: FakeXhr[] = [];
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: unknown = null;
  status = 0;
  responseText = "";
  withCredentials = false;
  readonly upload = new EventTarget();
  private readonly events = new EventTarget();
  private responseHeaders = "";

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  getAllResponseHeaders(): string {
    return this.responseHeaders;
  }
  addEventListener(type: string, listener: EventListener): void {
    this.events.addEventListener(type, listener);
  }
  send(body: unknown): void {
    this.body = body;
    FakeXhr.sent.push(this);
  }
  abort(): void {
    this.events.dispatchEvent(new Event("abort"));
  }

  progress(loaded: number, total: number): void {
    this.upload.dispatchEvent(Object.assign(new Event("progress"), { lengthComputable: true, loaded, total }));
  }
  finish(status: number, body: unknown, headers = "content-type: application/json"): void {
    this.status = status;
    this.responseText = typeof body === "string" ? body : JSON.stringify(body);
    this.responseHeaders = headers;
    this.events.dispatchEvent(new Event("load"));
  }
  fail(): void {
    this.events.dispatchEvent(new Event("error"));
  }

  /** Install as the global XMLHttpRequest (undone by vi.unstubAllGlobals). */
  static install(): void {
    FakeXhr.sent = [];
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
  }
}

export const FILE_VIEW = {
  id: "f-1",
  name: "memo.txt",
  kind: "text",
  mime: "text/plain",
  size: 2048,
  sha256: "00",
  created_at: "2026-11-23T10:00:00Z",
  text_chars: 2000,
  text_truncated: false,
};
