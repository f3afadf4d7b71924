// One message: the user's text as typed, the assistant's as Markdown with its
// sources and actions (copy, retry on the last one).

import { memo } from "react";
import type { UiMessage } from "../../chat/useChat";
import type { Source } from "../../chat/turn";
import { useI18n } from "../../i18n";
import { CopyButton } from "../CopyButton";
import { Markdown } from "../Markdown";
import { errorKey } from "../errorText";

function SourceChips({ sources, onOpen }: { sources: Source[]; onOpen(s: Source): void }) {
  const { t } = useI18n();
  if (sources.length === 0) return null;
  return (
    <div className="sources">
      <span className="sources-label">
        {t("chat.sources")}
      </span>
      <ul className="chips">
        {sources.map((s) => (
          <li key={s.id}>
            <button type="button" className="chip" onClick={() => onOpen(s)} title={s.question}>
              <span className="chip-id">{s.id}</span> <span className="chip-text">{s.question}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

export const MessageItem = memo(function MessageItem({
  message,
  isLast,
  busy,
  onRetry,
  onOpenSource,
}: {
  message: UiMessage;
  isLast: boolean;
  busy: boolean;
  onRetry(): void;
  onOpenSource(s: Source): void;
}) {
  const { t, formatDateTime } = useI18n();
  if (message.role === "user") {
    return (
      <li className="msg msg-user">
        <span className="sr-only">{t("chat.you")}</span>
        <div className="bubble">{message.content}</div>
      </li>
    );
  }
  const streaming = message.status === "streaming";
  return (
    <li className={`msg msg-assistant status-${message.status}`} aria-busy={streaming}>
      <span className="sr-only">{t("chat.assistant")}</span>
      <div className="bubble">
        {message.content ? (
          <Markdown text={message.content} />
        ) : streaming ? (
          <p className="typing" aria-label={t("chat.thinking")}>
            <span aria-hidden="true">●</span>
            <span aria-hidden="true">●</span>
            <span aria-hidden="true">●</span>
          </p>
        ) : null}
        {message.status === "cancelled" ? <p className="msg-note">{t("chat.stopped")}</p> : null}
        {message.error ? (
          <p className="msg-error" role="alert">
            {t(errorKey(message.error.code))}
          </p>
        ) : null}
        <SourceChips sources={message.sources} onOpen={onOpenSource} />
      </div>
      {!streaming ? (
        <div className="msg-actions">
          {message.content ? <CopyButton text={message.content} label="chat.copyAnswer" /> : null}
          {isLast ? (
            <button type="button" className="btn btn-small" onClick={onRetry} disabled={busy}>
              {t("chat.retry")}
            </button>
          ) : null}
          {message.stored ? (
            <time className="msg-time" dateTime={message.createdAt}>
              {formatDateTime(message.createdAt)}
            </time>
          ) : null}
        </div>
      ) : null}
    </li>
  );
});
