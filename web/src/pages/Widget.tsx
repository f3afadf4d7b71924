// /widget: the compact chat inside the support widget's iframe on another site.
// Cookies are not available in that third-party context, so this tree uses a
// bearer guest token (sessionStorage, this tab only). The conversation id is kept
// the same way, so reopening the bubble shows the conversation so far.

import { useEffect, useState } from "react";
import { startBearerMode } from "../api/session";
import { assistantGreeting, assistantName, useAssistants } from "../chat/assistants";
import { ChatView } from "../components/chat/ChatView";
import { useI18n } from "../i18n";

startBearerMode();

function readParam(name: string): string | null {
  return new URLSearchParams(window.location.search).get(name);
}

const assistantParam = readParam("assistant");
const ASSISTANT = assistantParam && /^[A-Za-z0-9_-]{1,64}$/.test(assistantParam) ? assistantParam : "default";
const CONV_KEY = `tenmon.widget.conversation.${ASSISTANT}`;

function storedConversation(): string | null {
  try {
    return sessionStorage.getItem(CONV_KEY);
  } catch {
    return null;
  }
}

/** Tell the embedding page to close the panel (the loader checks our origin). */
function askToClose(): void {
  window.parent?.postMessage({ type: "tenmon-ark:close" }, "*");
}

export default function Widget() {
  const { t, locale } = useI18n();
  const assistants = useAssistants();
  const [conversationId, setConversationId] = useState<string | null>(storedConversation);
  const current = assistants.find((a) => a.id === ASSISTANT);

  useEffect(() => {
    document.title = `${assistantName(current, ASSISTANT, locale)} — TENMON-ARK`;
  }, [current, locale]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && askToClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <div className="widget">
      <header className="widget-header">
        <h1>{assistantName(current, ASSISTANT, locale)}</h1>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            setConversationId(null);
            try {
              sessionStorage.removeItem(CONV_KEY);
            } catch {
              // Storage blocked: memory only.
            }
          }}
        >
          {t("chat.new")}
        </button>
        {window.parent !== window ? (
          <button type="button" className="btn btn-icon" onClick={askToClose} aria-label={t("widget.close")}>
            <span aria-hidden="true">×</span>
          </button>
        ) : null}
      </header>
      <main className="widget-main">
        <ChatView
          compact
          conversationId={conversationId}
          assistant={ASSISTANT}
          greeting={assistantGreeting(current, locale)}
          onConversationCreated={(id) => {
            setConversationId(id);
            try {
              sessionStorage.setItem(CONV_KEY, id);
            } catch {
              // Storage blocked: memory only.
            }
          }}
        />
      </main>
      <p className="widget-foot">{t("widget.poweredBy")}</p>
    </div>
  );
}
