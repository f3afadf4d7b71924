// A conversation: messages, the composer and the states around them (offline,
// reconnecting, rate limited). Shared by /chat, /browser and the embeddable widget.

import { useCallback, useEffect, useRef, useState } from "react";
import { api, unwrap } from "../../api/client";
import { ensureSession } from "../../api/session";
import { useAttachments } from "../../chat/useAttachments";
import { useChat } from "../../chat/useChat";
import type { Source } from "../../chat/turn";
import { useCountdown } from "../../hooks/useCountdown";
import { useOnline } from "../../hooks/useOnline";
import { useI18n } from "../../i18n";
import { errorKey } from "../errorText";
import { EntryDialog } from "./EntryDialog";
import { MessageItem } from "./MessageItem";
import { Composer } from "./Composer";
import { ConsentCard, type PrivacyInfo } from "./ConsentCard";

export function ChatView({
  conversationId,
  assistant,
  greeting,
  onConversationCreated,
  onTurnEnd,
  compact = false,
  allowFiles = false,
  suggestions,
}: {
  conversationId: string | null;
  assistant: string;
  greeting: string | null;
  onConversationCreated?(id: string): void;
  onTurnEnd?(): void;
  compact?: boolean;
  /** Offer the attach button (and drop and paste) in the composer. */
  allowFiles?: boolean;
  /** Ready-made messages offered as buttons above the composer. */
  suggestions?: { label: string; prompt: string }[];
}) {
  const { t } = useI18n();
  const chat = useChat({ conversationId, assistant, onConversationCreated, onTurnEnd });
  const attachments = useAttachments();
  const online = useOnline();
  const wait = useCountdown(chat.blockedUntil, chat.clearBlock);
  const [openSource, setOpenSource] = useState<Source | null>(null);
  const [announce, setAnnounce] = useState("");
  const listRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);

  // Follow the answer as it grows unless the reader scrolled up to read.
  const onScroll = () => {
    const el = listRef.current;
    if (el) stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  };
  useEffect(() => {
    const el = listRef.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [chat.messages]);

  // One announcement per finished answer, not one per streamed fragment.
  const wasStreaming = useRef(false);
  useEffect(() => {
    if (wasStreaming.current && !chat.streaming) {
      const last = chat.messages[chat.messages.length - 1];
      setAnnounce(last?.status === "failed" ? t("chat.answerFailed") : t("chat.answerDone"));
    }
    wasStreaming.current = chat.streaming;
  }, [chat.streaming, chat.messages, t]);

  // The server may want consent to its privacy notice before the first turn: ask
  // up front, and again if a turn is refused with consent_required.
  const [privacy, setPrivacy] = useState<PrivacyInfo | null>(null);
  const [consentNeeded, setConsentNeeded] = useState(false);
  useEffect(() => {
    let live = true;
    ensureSession()
      .then(() => unwrap(api.GET("/api/privacy")))
      .then((p) => {
        if (!live) return;
        setPrivacy(p);
        setConsentNeeded(p.consent_required && !p.consented);
      })
      .catch(() => {
        // A server without /api/privacy asks for no consent.
      });
    return () => {
      live = false;
    };
  }, []);
  const lastMessage = chat.messages[chat.messages.length - 1];
  const refusedForConsent = lastMessage?.error?.code === "consent_required";
  useEffect(() => {
    if (refusedForConsent) setConsentNeeded(true);
  }, [refusedForConsent]);

  const onOpenSource = useCallback((s: Source) => setOpenSource(s), []);
  const blocked = wait > 0 || !online || (consentNeeded && privacy !== null);
  const lastIndex = chat.messages.length - 1;

  return (
    <section className={`chat-view ${compact ? "chat-compact" : ""}`} aria-label={t("chat.conversation")}>
      <div className="chat-notices">
        {!online ? (
          <p className="notice notice-warn" role="status">
            {t("chat.offline")}
          </p>
        ) : null}
        {chat.reconnecting ? (
          <p className="notice notice-info" role="status">
            {t("chat.reconnecting")}
          </p>
        ) : null}
        {wait > 0 ? (
          <p className="notice notice-warn" role="status">
            {t("chat.waitSeconds", { seconds: wait })}
          </p>
        ) : null}
        {chat.notice && online ? (
          <p className="notice notice-error" role="alert">
            {t(errorKey(chat.notice.code))}{" "}
            <button type="button" className="btn btn-small" onClick={chat.dismissNotice}>
              {t("common.dismiss")}
            </button>
          </p>
        ) : null}
        {chat.historyError ? (
          <p className="notice notice-error" role="alert">
            {t(chat.historyError.status === 404 ? "chat.conversationNotFound" : errorKey(chat.historyError.code))}
          </p>
        ) : null}
      </div>
      <div className="messages" ref={listRef} onScroll={onScroll} tabIndex={0} aria-label={t("chat.messages")}>
        {chat.historyLoading ? <p className="muted center">{t("common.loading")}</p> : null}
        {!chat.historyLoading && chat.messages.length === 0 && greeting ? (
          <div className="greeting">
            <p>{greeting}</p>
          </div>
        ) : null}
        <ol className="message-list">
          {chat.messages.map((m, i) => (
            <MessageItem
              key={m.id}
              message={m}
              isLast={i === lastIndex}
              busy={chat.streaming || wait > 0}
              onRetry={chat.retry}
              onOpenSource={onOpenSource}
            />
          ))}
        </ol>
      </div>
      {consentNeeded && privacy ? (
        <ConsentCard
          info={privacy}
          onConsented={() => {
            setConsentNeeded(false);
            if (refusedForConsent) chat.retry();
          }}
        />
      ) : null}
      <div className="sr-only" aria-live="polite">
        {announce}
      </div>
      {suggestions?.length ? (
        <div className="suggestions" role="group" aria-label={t("chat.suggestions")}>
          {suggestions.map((s) => (
            <button
              key={s.label}
              type="button"
              className="btn btn-small"
              disabled={blocked || chat.streaming}
              onClick={() => void chat.send(s.prompt)}
            >
              {s.label}
            </button>
          ))}
        </div>
      ) : null}
      <Composer
        streaming={chat.streaming}
        disabled={blocked}
        onSend={(text) => {
          const files = allowFiles ? attachments.ready : [];
          void chat.send(text, files.length ? { files } : undefined);
          // Refused files go too: their chips are about a message already sent.
          if (allowFiles && attachments.items.length) attachments.clear();
        }}
        onStop={() => void chat.stop()}
        compact={compact}
        {...(allowFiles ? { attachments } : {})}
      />
      {openSource ? (
        <EntryDialog id={openSource.id} fallbackTitle={openSource.question} onClose={() => setOpenSource(null)} />
      ) : null}
    </section>
  );
}
