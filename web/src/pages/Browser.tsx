// /browser: read a web page and talk about it. The server fetches the page (never
// the browser: no CORS, and its address policy guards the intranet), keeps the
// readable text and attaches it to a new conversation; the text is shown here as
// text, paragraph by paragraph, and the chat beside it is the ordinary chat bound
// to that conversation.

import { useId, useMemo, useRef, useState, type FormEvent } from "react";
import { readPage, type ReadPageResult } from "../api/browser";
import { ApiError, networkError } from "../api/errors";
import { ensureSession } from "../api/session";
import { ChatView } from "../components/chat/ChatView";
import { ErrorMessage } from "../components/ErrorMessage";
import { formatBytes } from "../components/bytes";
import { safeHttpUrl } from "../components/url";
import { useI18n } from "../i18n";
import { Link, useSearchParam } from "../router";

/** Paragraphs at blank lines; single line breaks stay inside a paragraph (pre-wrap). */
export function paragraphs(text: string): string[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split(/\n[ \t]*\n+/)
    .map((p) => p.replace(/^\n+|\n+$/g, ""))
    .filter((p) => p.trim() !== "");
}

function PageText({ result }: { result: ReadPageResult }) {
  const { t, formatNumber } = useI18n();
  const titleId = useId();
  const { page } = result;
  const href = safeHttpUrl(page.url);
  const paras = useMemo(() => paragraphs(page.text), [page.text]);
  return (
    <article className="reader-text" aria-labelledby={titleId} tabIndex={0}>
      <h2 id={titleId}>{page.title?.trim() || page.url}</h2>
      <p className="reader-url">
        {href ? (
          <a href={href} target="_blank" rel="noopener noreferrer">
            {page.url}
            <span className="sr-only">{t("common.newTab")}</span>
          </a>
        ) : (
          page.url
        )}
      </p>
      {page.description?.trim() ? <p className="reader-description">{page.description}</p> : null}
      <p className="hint">{t("browser.fetched", { size: formatBytes(page.fetched_bytes, formatNumber) })}</p>
      {paras.length ? (
        <div className="reader-body">
          {paras.map((p, i) => (
            <p key={i}>{p}</p>
          ))}
        </div>
      ) : (
        <p className="muted">{t("browser.noText")}</p>
      )}
      {page.truncated ? (
        <p className="notice notice-info" role="note">
          {t("browser.truncated")}
        </p>
      ) : null}
    </article>
  );
}

export default function BrowserPage() {
  const { t } = useI18n();
  const inputId = useId();
  const hintId = useId();
  const initial = useSearchParam("url") ?? "";
  const [url, setUrl] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [result, setResult] = useState<ReadPageResult | null>(null);
  const generation = useRef(0);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const target = url.trim();
    if (!target || busy) return;
    const mine = ++generation.current;
    setBusy(true);
    setError(null);
    try {
      await ensureSession();
      const read = await readPage(target);
      if (generation.current !== mine) return;
      setResult(read);
    } catch (err) {
      if (generation.current !== mine) return;
      setError(err instanceof ApiError ? err : networkError(err));
    } finally {
      if (generation.current === mine) setBusy(false);
    }
  };

  const suggestions = useMemo(
    () => [
      { label: t("browser.summarize"), prompt: t("browser.summarizePrompt") },
      { label: t("browser.keyPoints"), prompt: t("browser.keyPointsPrompt") },
    ],
    [t],
  );

  return (
    <div className={`browser-page ${result ? "has-page" : ""}`}>
      <div className="browser-head">
        <h1>{t("browser.title")}</h1>
        <form className="browser-form" onSubmit={submit}>
          <div className="field grow">
            <label htmlFor={inputId}>{t("browser.urlLabel")}</label>
            <input
              id={inputId}
              type="url"
              inputMode="url"
              autoComplete="url"
              placeholder={t("browser.urlPlaceholder")}
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              aria-describedby={hintId}
              aria-invalid={error ? true : undefined}
              required
            />
          </div>
          <button type="submit" className="btn btn-primary" disabled={busy || !url.trim()}>
            {t("browser.read")}
          </button>
        </form>
        <p id={hintId} className="hint">
          {t("browser.hint")}
        </p>
        <p role="status" className={busy ? "notice notice-info" : "sr-only"}>
          {busy ? t("browser.reading") : result ? t("browser.loaded", { title: result.page.title?.trim() || result.page.url }) : ""}
        </p>
        {error ? (
          <p role="alert" className="notice notice-error">
            <ErrorMessage error={error} />
          </p>
        ) : null}
      </div>
      {result ? (
        <div className="browser-panes">
          <PageText result={result} />
          <div className="browser-chat">
            <p className="browser-chat-link">
              <Link to={`/chat/${encodeURIComponent(result.conversation_id)}`}>{t("browser.openInChat")}</Link>
            </p>
            <ChatView
              key={result.conversation_id}
              conversationId={result.conversation_id}
              assistant="default"
              greeting={t("browser.greeting")}
              suggestions={suggestions}
            />
          </div>
        </div>
      ) : null}
    </div>
  );
}
