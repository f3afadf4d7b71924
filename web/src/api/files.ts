// Uploaded files (POST/GET/DELETE /api/files). The upload goes through
// XMLHttpRequest rather than fetch: only XHR reports upload progress, and a 20 MB
// PDF on a phone line deserves a progress bar.
// Types come from the server's OpenAPI document (schema.d.ts); `kind` is narrowed.

import { apiFetch, authHeaders, isBearerMode, rawJson } from "./client";
import { ApiError, errorFromBody, networkError } from "./errors";
import type { components } from "./schema";

export type FileKind = "image" | "pdf" | "docx" | "text" | "markdown" | "csv";

export type FileView = Omit<components["schemas"]["FileView"], "kind"> & { kind: FileKind };
export type FileList = { files: FileView[] };

/** What the file picker offers; the server checks the content again. */
export const FILE_ACCEPT = "image/png,image/jpeg,image/gif,image/webp,application/pdf,.docx,.txt,.md,.csv";

/** The server's limit on files per chat turn. */
export const MAX_FILES_PER_TURN = 10;

const ALLOWED_EXTENSIONS = new Set(["png", "jpg", "jpeg", "gif", "webp", "pdf", "docx", "txt", "md", "csv"]);

/**
 * Whether a file is worth uploading at all: a dropped or pasted file skips the
 * picker's `accept`, so an .exe is refused here instead of after the upload.
 */
export function acceptable(file: { name: string }): boolean {
  const dot = file.name.lastIndexOf(".");
  return dot > 0 && ALLOWED_EXTENSIONS.has(file.name.slice(dot + 1).toLowerCase());
}

export function fileUrl(id: string): string {
  return `/api/files/${encodeURIComponent(id)}`;
}

/** The headers of an XHR response, as a Response for `errorFromBody` (Retry-After). */
function responseOf(xhr: XMLHttpRequest): Response {
  const headers = new Headers();
  for (const line of xhr.getAllResponseHeaders().split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      try {
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      } catch {
        // A header a browser would not allow in a Headers object: not needed here.
      }
    }
  }
  return new Response(null, { status: xhr.status, headers });
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The error of a failed upload. A proxy in front of the server may refuse a large
 * body with its own HTML 413: that is still "too large".
 */
export function uploadError(response: Response, body: unknown): ApiError {
  const err = errorFromBody(response, body);
  if (response.status === 413 && (err.code === "bad_response" || err.code === "payload_too_large")) {
    // The proxy's page says nothing worth showing.
    return new ApiError({ status: 413, code: "file_too_large", message: err.code === "payload_too_large" ? err.message : "" });
  }
  return err;
}

export interface UploadOptions {
  /** Bytes sent so far and in all (the multipart body, a little more than the file). */
  onProgress?(loaded: number, total: number): void;
  signal?: AbortSignal;
}

function isFileView(v: unknown): v is FileView {
  return typeof v === "object" && v !== null && typeof (v as { id?: unknown }).id === "string";
}

/**
 * Bearer mode (the widget) must not present a cookie, and a same-origin XHR always
 * sends cookies: there the upload goes through fetch, without progress.
 */
async function uploadWithFetch(file: File, signal?: AbortSignal): Promise<FileView> {
  const form = new FormData();
  form.append("file", file, file.name);
  let r: Response;
  try {
    r = await apiFetch("/api/files", { method: "POST", headers: { Accept: "application/json" }, body: form, signal: signal ?? null });
  } catch (e) {
    if (signal?.aborted) throw new DOMException("aborted", "AbortError");
    throw networkError(e);
  }
  const body = parseBody(await r.text());
  if (!r.ok) throw uploadError(r, body);
  if (!isFileView(body)) throw new ApiError({ status: r.status, code: "bad_response", message: "not a file" });
  return body;
}

/** POST /api/files with one multipart field `file`; resolves with the stored file. */
export function uploadFile(file: File, options: UploadOptions = {}): Promise<FileView> {
  if (isBearerMode()) return uploadWithFetch(file, options.signal);
  return new Promise<FileView>((resolve, reject) => {
    const { signal, onProgress } = options;
    if (signal?.aborted) {
      reject(new DOMException("aborted", "AbortError"));
      return;
    }
    const xhr = new XMLHttpRequest();
    const url = new URL("/api/files", typeof location !== "undefined" ? location.origin : "http://localhost").toString();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    for (const [k, v] of Object.entries(authHeaders("POST"))) xhr.setRequestHeader(k, v);
    const onAbort = () => xhr.abort();
    signal?.addEventListener("abort", onAbort);
    const done = () => signal?.removeEventListener("abort", onAbort);
    if (onProgress) {
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) onProgress(e.loaded, e.total);
      });
    }
    xhr.addEventListener("load", () => {
      done();
      const body = parseBody(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) {
        if (isFileView(body)) {
          resolve(body);
        } else {
          reject(new ApiError({ status: xhr.status, code: "bad_response", message: "not a file" }));
        }
        return;
      }
      reject(uploadError(responseOf(xhr), body));
    });
    xhr.addEventListener("error", () => {
      done();
      reject(networkError(new Error("upload failed")));
    });
    xhr.addEventListener("abort", () => {
      done();
      reject(new DOMException("aborted", "AbortError"));
    });
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

export async function listFiles(limit = 100): Promise<FileView[]> {
  const r = await rawJson<FileList>("GET", `/api/files?limit=${limit}`);
  return Array.isArray(r?.files) ? r.files : [];
}

export async function deleteFile(id: string): Promise<void> {
  await rawJson<void>("DELETE", fileUrl(id));
}

