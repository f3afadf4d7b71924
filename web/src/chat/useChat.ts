// The state of one conversation on screen: its history, the turn streaming now,
// and what went wrong. Used by /chat and by the widget.

import { useCallback, useEffect, useRef, useState } from "react";
import { api, unwrap } from "../api/client";
import { ApiError, networkError } from "../api/errors";
import { ensureSession, resetSession } from "../api/session";
import { cancelTurn, resumeTurn, streamTurn, type Source, type TurnEnd, type TurnHandlers } from "./turn";

export type MessageStatus = "streaming" | "complete" | "cancelled" | "failed" | "interrupted";

export interface UiError {
  code: string;
  message: string;
  retryAfter?: number;
}

/** A file sent with a user message (shown under it; sent again on retry). */
export interface AttachedFile {
  id: string;
  name: string;
}

export interface UiMessage {
  /** The server's id, or `local-…` until the server has named it. */
  id: string;
  role: "user" | "assistant";
  content: string;
  status: MessageStatus;
  sources: Source[];
  error?: UiError;
  createdAt: string;
  /** Set once the server has stored the message (a failed POST leaves it unset). */
  stored: boolean;
  /** Files sent with this (user) message from this page. */
  files?: AttachedFile[];
}

export interface ChatState {
  messages: UiMessage[];
  historyLoading: boolean;
  historyError: ApiError | null;
  streaming: boolean;
  reconnecting: boolean;
  /** Epoch ms until which sending is refused (429); null when free. */
  blockedUntil: number | null;
  /** The last failure outside a message (network, history): for a banner. */
  notice: UiError | null;
}

export interface UseChatOptions {
  conversationId: string | null;
  assistant: string;
  /** A new conversation got its id from the server (put it in the URL). */
  onConversationCreated?(id: string): void;
  /** A turn ended: titles and order in the conversation list may have changed. */
  onTurnEnd?(): void;
}

let localSeq = 0;
const localId = () => `local-${Date.now()}-${++localSeq}`;

function toUi(m: {
  id: string;
  role: string;
  content: string;
  status: string;
  sources: unknown[];
  created_at: string;
}): UiMessage {
  const status = (["streaming", "complete", "cancelled", "failed", "interrupted"] as const).find((s) => s === m.status) ?? "complete";
  const ui: UiMessage = {
    id: m.id,
    role: m.role === "user" ? "user" : "assistant",
    content: m.content,
    status,
    sources: Array.isArray(m.sources) ? (m.sources as Source[]) : [],
    createdAt: m.created_at,
    stored: true,
  };
  if (status === "failed" || status === "interrupted") {
    ui.error = { code: status === "interrupted" ? "interrupted" : "upstream_unavailable", message: "" };
  }
  return ui;
}

function asUiError(e: unknown): UiError {
  const err = e instanceof ApiError ? e : networkError(e);
  const ui: UiError = { code: err.code, message: err.message };
  if (err.retryAfter !== undefined) ui.retryAfter = err.retryAfter;
  return ui;
}

export function useChat({ conversationId, assistant, onConversationCreated, onTurnEnd }: UseChatOptions) {
  const [state, setState] = useState<ChatState>({
    messages: [],
    historyLoading: false,
    historyError: null,
    streaming: false,
    reconnecting: false,
    blockedUntil: null,
    notice: null,
  });
  // The conversation this hook made itself: its id arriving in props is no reason
  // to reload the history that is already on screen.
  const createdHere = useRef<string | null>(null);
  const stream = useRef<{ abort: AbortController; messageId: string | null; cancelRequested: boolean } | null>(null);
  const callbacks = useRef({ onConversationCreated, onTurnEnd });
  callbacks.current = { onConversationCreated, onTurnEnd };
  const convRef = useRef(conversationId);
  convRef.current = conversationId;

  const patchMessage = useCallback((id: string, patch: (m: UiMessage) => UiMessage) => {
    setState((s) => ({ ...s, messages: s.messages.map((m) => (m.id === id ? patch(m) : m)) }));
  }, []);

  /** Handlers that write one assistant message, whose id may change at `meta`. */
  const handlersFor = useCallback(
    (initialId: string, userId: string | null): { handlers: TurnHandlers; currentId: () => string } => {
      let id = initialId;
      const handlers: TurnHandlers = {
        onMeta: (meta) => {
          const oldId = id;
          id = meta.message_id;
          const current = stream.current;
          if (current) {
            current.messageId = meta.message_id;
            if (current.cancelRequested) void cancelTurn(meta.message_id).catch(() => {});
          }
          setState((s) => ({
            ...s,
            messages: s.messages.map((m) => {
              if (m.id === oldId) return { ...m, id: meta.message_id, stored: true };
              if (userId && m.id === userId) return { ...m, id: meta.user_message_id, stored: true };
              return m;
            }),
          }));
          if (!convRef.current && meta.conversation_id) {
            createdHere.current = meta.conversation_id;
            callbacks.current.onConversationCreated?.(meta.conversation_id);
          }
        },
        onDelta: (text) => patchMessage(id, (m) => ({ ...m, content: m.content + text })),
        onSources: (sources) => patchMessage(id, (m) => ({ ...m, sources })),
        onDone: (done) =>
          patchMessage(id, (m) => ({ ...m, status: done.status === "cancelled" ? "cancelled" : "complete" })),
        onError: (err) => patchMessage(id, (m) => ({ ...m, status: "failed", error: { code: err.code, message: err.message } })),
        onReconnecting: () => setState((s) => ({ ...s, reconnecting: true })),
        onReconnected: () => setState((s) => ({ ...s, reconnecting: false })),
      };
      return { handlers, currentId: () => id };
    },
    [patchMessage],
  );

  const finish = useCallback((end: TurnEnd | null) => {
    stream.current = null;
    setState((s) => ({ ...s, streaming: false, reconnecting: false }));
    if (end) callbacks.current.onTurnEnd?.();
  }, []);

  // Load the history when the conversation changes (not when we just created it).
  useEffect(() => {
    if (conversationId && conversationId === createdHere.current) return;
    stream.current?.abort.abort();
    stream.current = null;
    createdHere.current = null;
    if (!conversationId) {
      setState((s) => ({ ...s, messages: [], historyLoading: false, historyError: null, streaming: false, reconnecting: false }));
      return;
    }
    let cancelled = false;
    setState((s) => ({ ...s, messages: [], historyLoading: true, historyError: null, streaming: false, reconnecting: false }));
    (async () => {
      try {
        await ensureSession();
        const list = await unwrap(api.GET("/api/conversations/{id}/messages", { params: { path: { id: conversationId } } }));
        if (cancelled) return;
        const messages = list.messages.map(toUi);
        setState((s) => ({ ...s, messages, historyLoading: false }));
        // A turn still running (the page was reloaded mid-answer): follow it from the start.
        const last = messages[messages.length - 1];
        if (last && last.role === "assistant" && last.status === "streaming") {
          const abort = new AbortController();
          stream.current = { abort, messageId: last.id, cancelRequested: false };
          setState((s) => ({
            ...s,
            streaming: true,
            messages: s.messages.map((m) => (m.id === last.id ? { ...m, content: "" } : m)),
          }));
          const { handlers } = handlersFor(last.id, null);
          try {
            finish(await resumeTurn(last.id, null, handlers, { signal: abort.signal }));
          } catch (e) {
            if ((e as { name?: string }).name === "AbortError") return;
            patchMessage(last.id, (m) => ({ ...m, status: "failed", error: asUiError(e) }));
            finish(null);
          }
        }
      } catch (e) {
        if (cancelled) return;
        setState((s) => ({ ...s, historyLoading: false, historyError: e instanceof ApiError ? e : networkError(e) }));
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [conversationId, handlersFor, finish, patchMessage]);

  // Stop reading (not the turn) when the component goes away.
  useEffect(() => () => stream.current?.abort.abort(), []);

  const send = useCallback(
    async (text: string, options?: { replaceFailed?: boolean; files?: AttachedFile[] }) => {
      const message = text.trim();
      if (!message || stream.current) return;
      const userId = localId();
      const assistantId = localId();
      const now = new Date().toISOString();
      const files = options?.files?.length ? options.files : undefined;
      setState((s) => {
        let messages = s.messages;
        if (options?.replaceFailed) {
          // Retrying a turn the server never stored: drop the failed local pair.
          const lastUser = [...messages].reverse().find((m) => m.role === "user");
          if (lastUser && !lastUser.stored) messages = messages.filter((m) => m.stored);
        }
        return {
          ...s,
          streaming: true,
          notice: null,
          messages: [
            ...messages,
            { id: userId, role: "user", content: message, status: "complete", sources: [], createdAt: now, stored: false, ...(files ? { files } : {}) },
            { id: assistantId, role: "assistant", content: "", status: "streaming", sources: [], createdAt: now, stored: false },
          ],
        };
      });
      const abort = new AbortController();
      stream.current = { abort, messageId: null, cancelRequested: false };
      const { handlers, currentId } = handlersFor(assistantId, userId);
      // Only with files: a server without file support refuses unknown fields.
      const body = {
        message,
        assistant,
        ...(convRef.current ? { conversation_id: convRef.current } : {}),
        ...(files ? { file_ids: files.map((f) => f.id) } : {}),
      };
      const attempt = () => streamTurn(body, handlers, { signal: abort.signal });
      try {
        await ensureSession();
        let end: TurnEnd;
        try {
          end = await attempt();
        } catch (e) {
          // An expired session: make a new one and send once more.
          if (!(e instanceof ApiError && e.status === 401)) throw e;
          resetSession();
          await ensureSession();
          end = await attempt();
        }
        finish(end);
      } catch (e) {
        if ((e as { name?: string }).name === "AbortError") return;
        const err = asUiError(e);
        patchMessage(currentId(), (m) => ({ ...m, status: "failed", error: err }));
        setState((s) => ({
          ...s,
          blockedUntil: err.retryAfter !== undefined ? Date.now() + err.retryAfter * 1000 : s.blockedUntil,
          notice: err.code === "network" || err.code === "offline" ? err : s.notice,
        }));
        finish(null);
      }
    },
    [assistant, handlersFor, finish, patchMessage],
  );

  /** Stop the answer: the server keeps what was written and ends the stream. */
  const stop = useCallback(async () => {
    const current = stream.current;
    if (!current) return;
    if (!current.messageId) {
      current.cancelRequested = true;
      return;
    }
    try {
      await cancelTurn(current.messageId);
    } catch {
      // The server could not be asked: at least stop showing more text.
      const id = current.messageId;
      current.abort.abort();
      patchMessage(id, (m) => ({ ...m, status: "cancelled" }));
      finish(null);
    }
  }, [patchMessage, finish]);

  /** Send the last user message again (with its files: images go with one turn only). */
  const retry = useCallback(() => {
    const lastUser = [...state.messages].reverse().find((m) => m.role === "user");
    if (lastUser) void send(lastUser.content, { replaceFailed: true, ...(lastUser.files ? { files: lastUser.files } : {}) });
  }, [state.messages, send]);

  const clearBlock = useCallback(() => setState((s) => ({ ...s, blockedUntil: null })), []);
  const dismissNotice = useCallback(() => setState((s) => ({ ...s, notice: null })), []);

  return { ...state, send, stop, retry, clearBlock, dismissNotice };
}
