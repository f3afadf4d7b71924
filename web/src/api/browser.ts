// The /browser reader: POST /api/browser/read fetches a page on the server, keeps
// its readable text and attaches it to a conversation (a new one, or the given one).
// Types come from the server's OpenAPI document (schema.d.ts).

import { rawJson } from "./client";
import type { components } from "./schema";

export type ReadPageBody = components["schemas"]["ReadBody"];
export type ReadPage = components["schemas"]["PageView"];
export type ReadPageResult = components["schemas"]["ReadResult"];

export function readPage(url: string, conversationId?: string): Promise<ReadPageResult> {
  const body: ReadPageBody = conversationId ? { url, conversation_id: conversationId } : { url };
  return rawJson<ReadPageResult>("POST", "/api/browser/read", body);
}
