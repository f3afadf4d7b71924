// /chat and /chat/:id: the conversation list beside the conversation. The open
// conversation lives in the URL, so a reload or a shared link shows the same one.

import { useCallback, useEffect, useId, useState } from "react";
import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { ensureSession } from "../api/session";
import { assistantGreeting, assistantName, useAssistants } from "../chat/assistants";
import { ChatView } from "../components/chat/ChatView";
import { ConversationList, type Conversation } from "../components/chat/ConversationList";
import { errorKey } from "../components/errorText";
import { useI18n } from "../i18n";
import { useRouter } from "../router";

const ASSISTANT_KEY = "tenmon.assistant";

function storedAssistant(): string {
  try {
    return localStorage.getItem(ASSISTANT_KEY) || "default";
  } catch {
    return "default";
  }
}

export default function ChatPage({ conversationId }: { conversationId: string | null }) {
  const { t, locale } = useI18n();
  const { navigate, search } = useRouter();
  const assistants = useAssistants();
  const pickerId = useId();
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [listLoading, setListLoading] = useState(true);
  const [listError, setListError] = useState<ApiError | null>(null);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [picked, setPicked] = useState<string>(() => new URLSearchParams(search).get("assistant") ?? storedAssistant());

  const load = useCallback(async (after: string | null, quiet = false) => {
    // A refresh after each answer stays quiet; only first loads show "loading".
    if (!quiet) setListLoading(true);
    try {
      await ensureSession();
      const page = await unwrap(api.GET("/api/conversations", { params: { query: { limit: 50, ...(after ? { cursor: after } : {}) } } }));
      setConversations((prev) => (after ? [...prev, ...page.conversations] : page.conversations));
      setCursor(page.next_cursor ?? null);
      setListError(null);
    } catch (e) {
      setListError(e instanceof ApiError ? e : null);
    } finally {
      setListLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(null);
  }, [load]);

  // The open conversation may be older than the first page of the list.
  const [fetched, setFetched] = useState<Conversation | null>(null);
  const listed = conversations.find((c) => c.id === conversationId);
  useEffect(() => {
    if (!conversationId || listed || listLoading) return;
    let live = true;
    unwrap(api.GET("/api/conversations/{id}", { params: { path: { id: conversationId } } }))
      .then((c) => live && setFetched(c))
      .catch(() => {
        // ChatView shows "not found" from the messages request.
      });
    return () => {
      live = false;
    };
  }, [conversationId, listed, listLoading]);
  const active = listed ?? (fetched?.id === conversationId ? fetched : undefined);
  // An open conversation keeps its assistant; a new one uses the picker.
  const assistant = conversationId ? (active?.assistant ?? picked) : picked;
  const current = assistants.find((a) => a.id === assistant);

  const pick = (id: string) => {
    setPicked(id);
    try {
      localStorage.setItem(ASSISTANT_KEY, id);
    } catch {
      // Private mode.
    }
  };

  // On a phone the list is an overlay: opening a conversation closes it.
  useEffect(() => setSidebarOpen(false), [conversationId]);

  const onNew = () => {
    setSidebarOpen(false);
    navigate("/chat");
  };

  return (
    <div className={`chat-page ${sidebarOpen ? "sidebar-open" : ""}`}>
      <h1 className="sr-only">{t("chat.title")}</h1>
      <div className="chat-toolbar">
        <button
          type="button"
          className="btn sidebar-toggle"
          aria-expanded={sidebarOpen}
          aria-controls="chat-sidebar"
          onClick={() => setSidebarOpen((o) => !o)}
        >
          {t("chat.conversations")}
        </button>
        <label htmlFor={pickerId} className="picker-label">
          {t("chat.assistant")}
        </label>
        <select
          id={pickerId}
          value={assistant}
          onChange={(e) => pick(e.target.value)}
          disabled={conversationId !== null}
          title={conversationId ? t("chat.assistantFixed") : undefined}
        >
          {(assistants.length ? assistants : [{ id: assistant }]).map((a) => (
            <option key={a.id} value={a.id}>
              {assistantName(assistants.find((x) => x.id === a.id), a.id, locale)}
            </option>
          ))}
        </select>
        {conversationId ? (
          <button type="button" className="btn" onClick={onNew}>
            {t("chat.new")}
          </button>
        ) : null}
      </div>
      <aside id="chat-sidebar" className="chat-sidebar">
        {listError ? (
          <p className="notice notice-error" role="alert">
            {t(errorKey(listError.code))}
          </p>
        ) : null}
        <ConversationList
          conversations={conversations}
          activeId={conversationId}
          loading={listLoading}
          hasMore={cursor !== null}
          onLoadMore={() => void load(cursor)}
          onNew={onNew}
          onRename={async (id, title) => {
            const updated = await unwrap(api.PATCH("/api/conversations/{id}", { params: { path: { id } }, body: { title } }));
            setConversations((list) => list.map((c) => (c.id === id ? updated : c)));
          }}
          onDelete={async (id) => {
            await unwrap(api.DELETE("/api/conversations/{id}", { params: { path: { id } } }));
            setConversations((list) => list.filter((c) => c.id !== id));
            if (id === conversationId) navigate("/chat", { replace: true });
          }}
        />
      </aside>
      <div className="chat-main" onFocus={() => setSidebarOpen(false)}>
        <ChatView
          conversationId={conversationId}
          assistant={assistant}
          greeting={assistantGreeting(current, locale)}
          allowFiles
          onConversationCreated={(id) => {
            navigate(`/chat/${encodeURIComponent(id)}`, { replace: true });
            void load(null, true);
          }}
          onTurnEnd={() => void load(null, true)}
        />
      </div>
    </div>
  );
}
