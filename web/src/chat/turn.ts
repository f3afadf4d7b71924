// One chat turn over SSE: POST /api/chat/stream, then, if the connection drops
// before `done`, GET /api/chat/stream/{message_id} with Last-Event-ID until the
// turn ends. The server replays its event log after that id, so the text goes on
// without a gap; events at or below the last id seen are dropped as well, so a
// replay that overlaps never duplicates text.

import { apiFetch } from "../api/client";
import { ApiError, errorFromResponse, networkError } from "../api/errors";
import type { components } from "../api/schema";
import { createSseParser } from "./sse";

// `file_ids` (at most 10): files attached to the conversation with this turn.
// TODO(schema): switch to generated types once ChatBody lists file_ids.
export type ChatBody = components["schemas"]["ChatBody"] & { file_ids?: string[] };

export interface TurnMeta {
  conversation_id: string;
  user_message_id: string;
  message_id: string;
  assistant: string;
  model: string;
}

/**
 * What an answer drew on. Knowledge-base entries carry `kb`; `kind: "file"` is an
 * uploaded file (`id` = file id, `question` = its name); `kind: "page"` a page the
 * /browser reader attached (`question` = its title, `source_url` = its URL).
 */
export interface Source {
  id: string;
  kind?: "kb" | "file" | "page" | (string & {});
  kb?: string;
  question: string;
  score?: number;
  confidence?: number;
  source_url?: string | null;
}

export interface TurnDone {
  status: string;
  finish_reason?: string;
  latency_ms?: number;
  model?: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

export interface TurnHandlers {
  onMeta?(meta: TurnMeta): void;
  onDelta?(text: string): void;
  onSources?(sources: Source[]): void;
  onDone?(done: TurnDone): void;
  /** An `error` event: the turn failed upstream (upstream_timeout, interrupted, …). */
  onError?(error: { code: string; message: string }): void;
  /** The connection dropped; a resume is being attempted (1, 2, …). */
  onReconnecting?(attempt: number): void;
  onReconnected?(): void;
}

export interface TurnOptions {
  fetch?: typeof fetch;
  /** Stops reading (leaving the page); the turn itself goes on on the server. */
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
  /** Resolves when the browser is back online. */
  waitOnline?: () => Promise<void>;
  /** Resume attempts in a row without any new event before giving up. */
  maxResumeAttempts?: number;
}

export type TurnEnd =
  | { kind: "done"; done: TurnDone }
  | { kind: "error"; code: string; message: string };

interface TurnState {
  messageId: string | null;
  lastId: string | null;
  end: TurnEnd | null;
  /** An event arrived since the last resume attempt. */
  progressed: boolean;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function defaultWaitOnline(): Promise<void> {
  if (typeof navigator === "undefined" || navigator.onLine !== false) return Promise.resolve();
  return new Promise((resolve) => window.addEventListener("online", () => resolve(), { once: true }));
}

/** 0.5 s, 1 s, 2 s, 4 s, then 8 s between attempts. */
export function backoffMs(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), 8000);
}

function isNewer(id: string | null, last: string | null): boolean {
  if (id === null || last === null) return true;
  const a = Number(id);
  const b = Number(last);
  return Number.isFinite(a) && Number.isFinite(b) ? a > b : id !== last;
}

function parseJson(data: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function abortError(): DOMException {
  return new DOMException("aborted", "AbortError");
}

/** Read one response body to its end (or to `done`/`error`), updating state. */
async function readBody(response: Response, state: TurnState, h: TurnHandlers, signal?: AbortSignal): Promise<void> {
  if (!response.body) return;
  const reader = response.body.getReader();
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort);
  const parser = createSseParser({
    onEvent(ev) {
      if (state.end || !isNewer(ev.id, state.lastId)) return;
      const data = parseJson(ev.data) ?? {};
      switch (ev.event) {
        case "meta":
          state.messageId = String(data.message_id ?? state.messageId ?? "");
          h.onMeta?.(data as unknown as TurnMeta);
          break;
        case "delta":
          if (typeof data.text === "string") h.onDelta?.(data.text);
          break;
        case "sources":
          if (Array.isArray(data.sources)) h.onSources?.(data.sources as Source[]);
          break;
        case "done":
          state.end = { kind: "done", done: data as unknown as TurnDone };
          h.onDone?.(state.end.done);
          break;
        case "error": {
          const code = typeof data.code === "string" ? data.code : "internal_error";
          const message = typeof data.message === "string" ? data.message : "";
          state.end = { kind: "error", code, message };
          h.onError?.({ code, message });
          break;
        }
        default:
          break;
      }
      if (ev.id !== null) state.lastId = ev.id;
      state.progressed = true;
    },
  });
  try {
    while (!state.end) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    parser.end();
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (state.end) void reader.cancel().catch(() => {});
  }
}

async function follow(
  first: Response | null,
  state: TurnState,
  h: TurnHandlers,
  opts: TurnOptions,
): Promise<TurnEnd> {
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const sleep = opts.sleep ?? defaultSleep;
  const waitOnline = opts.waitOnline ?? defaultWaitOnline;
  const max = opts.maxResumeAttempts ?? 8;
  let response: Response | null = first;
  let initial = first === null;
  let attempt = 0;
  let lastError: unknown = null;
  for (;;) {
    if (response) {
      try {
        await readBody(response, state, h, opts.signal);
      } catch (e) {
        if (opts.signal?.aborted) throw abortError();
        lastError = e;
      }
    }
    if (state.end) return state.end;
    if (opts.signal?.aborted) throw abortError();
    // Without the message id there is nothing to resume.
    if (!state.messageId) throw networkError(lastError ?? new Error("the stream ended before it started"));
    if (state.progressed) attempt = 0;
    state.progressed = false;
    attempt += 1;
    if (attempt > max) throw networkError(lastError ?? new Error("the stream kept dropping"));
    if (initial) {
      // Following a running turn (after a reload): the first request is no reconnection.
      initial = false;
    } else {
      h.onReconnecting?.(attempt);
      await sleep(backoffMs(attempt));
    }
    await waitOnline();
    if (opts.signal?.aborted) throw abortError();
    response = null;
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (state.lastId !== null) headers["Last-Event-ID"] = state.lastId;
      const r = await apiFetch(
        `/api/chat/stream/${encodeURIComponent(state.messageId)}`,
        { headers, signal: opts.signal ?? null },
        fetchImpl,
      );
      if (!r.ok) {
        const err = await errorFromResponse(r);
        // A server restarting or rate limiting is worth another try; 4xx is final.
        if (r.status < 500 && r.status !== 429) throw err;
        lastError = err;
        continue;
      }
      response = r;
      h.onReconnected?.();
    } catch (e) {
      if (opts.signal?.aborted) throw abortError();
      if (e instanceof ApiError && !e.isNetwork && e.status < 500 && e.status !== 429) throw e;
      lastError = e;
    }
  }
}

/** Send a message and stream the answer; resolves when the turn has ended. */
export async function streamTurn(body: ChatBody, h: TurnHandlers, opts: TurnOptions = {}): Promise<TurnEnd> {
  let response: Response;
  try {
    response = await apiFetch(
      "/api/chat/stream",
      {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal: opts.signal ?? null,
      },
      opts.fetch ?? globalThis.fetch,
    );
  } catch (e) {
    if (opts.signal?.aborted) throw abortError();
    throw networkError(e);
  }
  if (!response.ok) throw await errorFromResponse(response);
  const state: TurnState = { messageId: null, lastId: null, end: null, progressed: false };
  return follow(response, state, h, opts);
}

/**
 * Follow a turn that is already running (a reload while it streamed): from the
 * start when `lastEventId` is null, which replays `meta` and every delta.
 */
export async function resumeTurn(
  messageId: string,
  lastEventId: string | null,
  h: TurnHandlers,
  opts: TurnOptions = {},
): Promise<TurnEnd> {
  const state: TurnState = { messageId, lastId: lastEventId, end: null, progressed: false };
  // No first response: `follow` starts with a resume request.
  return follow(null, state, h, opts);
}

/** Ask the server to stop a turn; it keeps the partial answer and ends the stream with `done`. */
export async function cancelTurn(messageId: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<void> {
  let r: Response;
  try {
    r = await apiFetch(`/api/chat/${encodeURIComponent(messageId)}/cancel`, { method: "POST" }, fetchImpl);
  } catch (e) {
    throw networkError(e);
  }
  if (!r.ok) throw await errorFromResponse(r);
}
