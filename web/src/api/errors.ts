// One error type for everything the API (or the network) can answer, so pages
// decide what to show from a stable `code`, never from message text.

import type { components } from "./schema";

export type RowProblem = components["schemas"]["RowProblem"];

/** Codes the UI adds for failures that never reached the server's error body. */
export type ClientErrorCode = "network" | "offline" | "bad_response";

export class ApiError extends Error {
  readonly status: number;
  /** The server's snake_case code (`rate_limited`, `upstream_timeout`, …) or a client code. */
  readonly code: string;
  readonly field: string | undefined;
  readonly rows: RowProblem[];
  /** Seconds to wait, from Retry-After (429 rate_limited / quota_exceeded). */
  readonly retryAfter: number | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    field?: string | null | undefined;
    rows?: RowProblem[] | null | undefined;
    retryAfter?: number | undefined;
  }) {
    super(init.message);
    this.name = "ApiError";
    this.status = init.status;
    this.code = init.code;
    this.field = init.field ?? undefined;
    this.rows = init.rows ?? [];
    this.retryAfter = init.retryAfter;
  }

  /** An endpoint this server does not have (yet): the UI shows "not available". */
  get notAvailable(): boolean {
    return this.status === 404 || this.status === 405 || this.status === 501;
  }

  get isNetwork(): boolean {
    return this.code === "network" || this.code === "offline";
  }
}

/** Retry-After as seconds (the header may also be an HTTP date). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function isErrorBody(v: unknown): v is { error: { code: string; message: string; field?: string | null; rows?: RowProblem[] | null; retry_after?: number } } {
  if (typeof v !== "object" || v === null || !("error" in v)) return false;
  const e = (v as { error: unknown }).error;
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string";
}

/** The ApiError for a non-2xx response whose body was already parsed (or not JSON). */
export function errorFromBody(response: Response, body: unknown): ApiError {
  const retryHeader = parseRetryAfter(response.headers.get("retry-after"));
  if (isErrorBody(body)) {
    const e = body.error;
    return new ApiError({
      status: response.status,
      code: e.code,
      message: e.message,
      field: e.field,
      rows: e.rows,
      // The header is what the server sends today; a body field is accepted too.
      retryAfter: retryHeader ?? (typeof e.retry_after === "number" ? e.retry_after : undefined),
    });
  }
  return new ApiError({
    status: response.status,
    code: response.status === 404 ? "not_found" : "bad_response",
    message: `HTTP ${response.status}`,
    retryAfter: retryHeader,
  });
}

/** Read an error response's body and turn it into an ApiError. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = undefined;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): the status still says enough.
  }
  return errorFromBody(response, body);
}

/** The ApiError for a fetch that threw (no response at all). */
export function networkError(cause: unknown): ApiError {
  if (cause instanceof ApiError) return cause;
  const offline = typeof navigator !== "undefined" && navigator.onLine === false;
  return new ApiError({
    status: 0,
    code: offline ? "offline" : "network",
    message: cause instanceof Error ? cause.message : String(cause),
  });
}
