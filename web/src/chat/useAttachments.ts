// Files waiting to go with the next message: each is uploaded as soon as it is
// chosen (so sending is not held up by a big PDF), shown as a chip with its
// progress or its error, and handed to the chat turn as `file_ids`.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError, networkError } from "../api/errors";
import { acceptable, MAX_FILES_PER_TURN, uploadFile, type FileView } from "../api/files";
import { ensureSession } from "../api/session";
import type { AttachedFile } from "./useChat";

export interface Attachment {
  /** Local key (the chip's identity before the server has named the file). */
  key: string;
  name: string;
  size: number;
  status: "uploading" | "done" | "failed";
  /** 0..1 while uploading; null while the browser cannot tell. */
  progress: number | null;
  file?: FileView;
  error?: ApiError;
}

export interface Attachments {
  items: Attachment[];
  /** Uploaded files, ready to send. */
  ready: AttachedFile[];
  uploading: boolean;
  /** More files were chosen than one message can carry. */
  tooMany: boolean;
  add(files: Iterable<File>): void;
  remove(key: string): void;
  /** After sending: forget every chip (an upload still running is stopped). */
  clear(): void;
}

let seq = 0;

export function useAttachments(): Attachments {
  const [items, setItems] = useState<Attachment[]>([]);
  const [tooMany, setTooMany] = useState(false);
  const aborts = useRef(new Map<string, AbortController>());
  // The count the next `add` checks against, ahead of React's state.
  const live = useRef(0);
  const itemsRef = useRef(items);
  itemsRef.current = items;

  const patch = useCallback((key: string, change: Partial<Attachment>) => {
    setItems((list) => list.map((a) => (a.key === key ? { ...a, ...change } : a)));
  }, []);

  const start = useCallback(
    async (key: string, file: File) => {
      const abort = new AbortController();
      aborts.current.set(key, abort);
      try {
        await ensureSession();
        const stored = await uploadFile(file, {
          signal: abort.signal,
          onProgress: (loaded, total) => patch(key, { progress: total > 0 ? Math.min(1, loaded / total) : null }),
        });
        patch(key, { status: "done", progress: 1, file: stored, name: stored.name || file.name });
      } catch (e) {
        if ((e as { name?: string }).name === "AbortError") return;
        live.current -= 1;
        patch(key, { status: "failed", error: e instanceof ApiError ? e : networkError(e) });
      } finally {
        aborts.current.delete(key);
      }
    },
    [patch],
  );

  const add = useCallback(
    (files: Iterable<File>) => {
      const added: Attachment[] = [];
      const uploads: [string, File][] = [];
      let refused = false;
      for (const file of files) {
        const key = `att-${++seq}`;
        const base = { key, name: file.name, size: file.size, progress: null };
        if (!acceptable(file)) {
          // Dropped or pasted past the picker's filter: no need to upload it to hear "no".
          added.push({ ...base, status: "failed", error: new ApiError({ status: 415, code: "type_not_allowed", message: "" }) });
          continue;
        }
        if (live.current >= MAX_FILES_PER_TURN) {
          refused = true;
          continue;
        }
        live.current += 1;
        added.push({ ...base, status: "uploading" });
        uploads.push([key, file]);
      }
      setTooMany(refused);
      if (added.length) setItems((list) => [...list, ...added]);
      for (const [key, file] of uploads) void start(key, file);
    },
    [start],
  );

  const remove = useCallback((key: string) => {
    const gone = itemsRef.current.find((a) => a.key === key);
    if (!gone) return;
    if (gone.status !== "failed") live.current -= 1;
    setItems((list) => list.filter((a) => a.key !== key));
    aborts.current.get(key)?.abort();
    setTooMany(false);
  }, []);

  const clear = useCallback(() => {
    for (const a of aborts.current.values()) a.abort();
    aborts.current.clear();
    live.current = 0;
    setItems([]);
    setTooMany(false);
  }, []);

  // Leaving the page stops uploads nobody will send.
  useEffect(
    () => () => {
      for (const a of aborts.current.values()) a.abort();
    },
    [],
  );

  const ready = useMemo(
    () => items.flatMap((a) => (a.status === "done" && a.file ? [{ id: a.file.id, name: a.file.name || a.name }] : [])),
    [items],
  );
  const uploading = items.some((a) => a.status === "uploading");
  return { items, ready, uploading, tooMany, add, remove, clear };
}
