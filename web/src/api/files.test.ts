import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./errors";
import { acceptable, uploadError, uploadFile } from "./files";
import { FakeXhr, FILE_VIEW } from "../test/http";

beforeEach(() => FakeXhr.install());
afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = "tenmon_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
});

describe("acceptable", () => {
  it("takes the picker's extensions, whatever their case, and nothing else", () => {
    for (const name of ["a.png", "b.JPG", "c.jpeg", "d.gif", "e.webp", "f.pdf", "g.docx", "h.txt", "i.md", "j.CSV"]) {
      expect(acceptable({ name }), name).toBe(true);
    }
    for (const name of ["setup.exe", "page.html", "archive.zip", "noext", ".txt", "doc.doc"]) {
      expect(acceptable({ name }), name).toBe(false);
    }
  });
});

describe("uploadError", () => {
  it("turns a proxy's HTML 413 into file_too_large", () => {
    const err = uploadError(new Response(null, { status: 413 }), undefined);
    expect(err.code).toBe("file_too_large");
    expect(err.message).toBe("");
  });

  it("keeps the server's own codes", () => {
    const err = uploadError(new Response(null, { status: 415 }), { error: { code: "extension_mismatch", message: "the file name says .png but the content is text" } });
    expect(err.code).toBe("extension_mismatch");
    expect(err.status).toBe(415);
  });
});

describe("uploadFile", () => {
  it("posts one multipart field `file` with the CSRF token and reports progress", async () => {
    document.cookie = "tenmon_csrf=tok123";
    const seen: number[] = [];
    const done = uploadFile(new File(["hello"], "memo.txt", { type: "text/plain" }), { onProgress: (l, t) => seen.push(l / t) });
    const xhr = FakeXhr.sent[0] as FakeXhr;
    expect(xhr.method).toBe("POST");
    expect(new URL(xhr.url).pathname).toBe("/api/files");
    expect(xhr.headers["X-CSRF-Token"]).toBe("tok123");
    expect(xhr.body).toBeInstanceOf(FormData);
    expect(((xhr.body as FormData).get("file") as File).name).toBe("memo.txt");
    xhr.progress(50, 100);
    xhr.finish(201, FILE_VIEW);
    await expect(done).resolves.toEqual(FILE_VIEW);
    expect(seen).toEqual([0.5]);
  });

  it("rejects with the server's error code", async () => {
    const done = uploadFile(new File(["x"], "big.pdf"));
    (FakeXhr.sent[0] as FakeXhr).finish(413, { error: { code: "file_too_large", message: "the file is larger than 20 MB" } });
    const err = (await done.catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("file_too_large");
    expect(err.message).toBe("the file is larger than 20 MB");
  });

  it("says `network` when the connection fails, and AbortError when stopped", async () => {
    const failed = uploadFile(new File(["x"], "a.txt"));
    (FakeXhr.sent[0] as FakeXhr).fail();
    expect(((await failed.catch((e: unknown) => e)) as ApiError).code).toBe("network");

    const abort = new AbortController();
    const stopped = uploadFile(new File(["x"], "b.txt"), { signal: abort.signal });
    abort.abort();
    expect(((await stopped.catch((e: unknown) => e)) as Error).name).toBe("AbortError");
  });
});
