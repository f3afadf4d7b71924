// One message: the user's text as typed, the assistant's as Markdown with its
// sources and actions (copy, retry on the last one).

import { memo } from "react";
import { fileUrl } from "../../api/files";
import type { AttachedFile, UiMessage } from "../../chat/useChat";
import type { Source } from "../../chat/turn";
import { useI18n } from "../../i18n";
import { CopyButton } from "../CopyButton";
import { Markdown } from "../Markdown";
import { errorKey } from "../errorText";
import { ExternalIcon, FileIcon } from "../icons";
import { hostOf, safeHttpUrl } from "../url";

/**
 * One source: a knowledge-base entry opens its dialog; an uploaded file is a
 * download link; a page read by /browser links to the page, in a new tab.
 */
function SourceChip({ source: s, onOpen }: { source: Source; onOpen(s: Source): void }) {
  const { t } = useI18n();
  if (s.kind === "file") {
    const name = s.question || s.id;
    return (
      <a className="chip chip-file" href={fileUrl(s.id)} download={name} title={t("files.downloadNamed", { name })}>
        <FileIcon /> <span className="chip-text">{name}</span>
      </a>
    );
  }
  if (s.kind === "page") {
    const href = safeHttpUrl(s.source_url);
    const title = s.question || (href ? hostOf(href) : s.id);
    if (!href) {
      return (
        <span className="chip chip-page chip-static" title={title}>
          <span className="chip-text">{title}</span>
        </span>
      );
    }
    return (
      <a className="chip chip-page" href={href} target="_blank" rel="noopener noreferrer" title={href}>
        <ExternalIcon /> <span className="chip-text">{title}</span>
        <span className="sr-only">{t("common.newTab")}</span>
      </a>
    );
  }
  return (
    <button type="button" className="chip" onClick={() => onOpen(s)} title={s.question}>
      <span className="chip-id">{s.id}</span> <span className="chip-text">{s.question}</span>
    </button>
  );
}

export function SourceChips({ sources, onOpen }: { sources: Source[]; onOpen(s: Source): void }) {
  const { t } = useI18n();
  if (sources.length === 0) return null;
  return (
    <div className="sources">
      <span className="sources-label">
        {t("chat.sources")}
      </span>
      <ul className="chips">
        {sources.map((s, i) => (
          <li key={`${s.kind ?? "kb"}-${s.id}-${i}`}>
            <SourceChip source={s} onOpen={onOpen} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function SentFiles({ files }: { files: AttachedFile[] }) {
  const { t } = useI18n();
  return (
    <ul className="chips sent-files" aria-label={t("files.sent")}>
      {files.map((f) => (
        <li key={f.id}>
          <a className="chip chip-file" href={fileUrl(f.id)} download={f.name} title={t("files.downloadNamed", { name: f.name })}>
            <FileIcon /> <span className="chip-text">{f.name}</span>
          </a>
        </li>
      ))}
    </ul>
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
        {message.files?.length ? <SentFiles files={message.files} /> : null}
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
