// The FAQ entry behind a source chip (GET /api/kb/entries/{id}, public).

import { useEffect, useState } from "react";
import { api, unwrap, type components } from "../../api/client";
import { ApiError } from "../../api/errors";
import { useI18n } from "../../i18n";
import { Dialog } from "../Dialog";
import { Markdown } from "../Markdown";
import { errorKey } from "../errorText";

type Entry = components["schemas"]["Entry"];

export function EntryDialog({ id, fallbackTitle, onClose }: { id: string; fallbackTitle: string; onClose(): void }) {
  const { t, locale, formatDate } = useI18n();
  const [entry, setEntry] = useState<Entry | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    unwrap(api.GET("/api/kb/entries/{id}", { params: { path: { id } } }))
      .then((e) => live && setEntry(e))
      .catch((e: unknown) => live && setError(e instanceof ApiError ? e : null));
    return () => {
      live = false;
    };
  }, [id]);
  const question = entry ? (locale === "en" && entry.question_en ? entry.question_en : entry.question) : fallbackTitle;
  const answer = entry ? (locale === "en" && entry.answer_en ? entry.answer_en : entry.answer) : "";
  const sourceUrl = entry?.source_url && /^https?:\/\//i.test(entry.source_url) ? entry.source_url : null;
  return (
    <Dialog title={question} onClose={onClose} className="entry-dialog">
      {error ? (
        <p role="alert">{t(error.status === 404 ? "source.notFound" : errorKey(error.code))}</p>
      ) : !entry ? (
        <p aria-busy="true">{t("common.loading")}</p>
      ) : (
        <>
          <Markdown text={answer} />
          <dl className="entry-meta">
            {entry.category ? (
              <>
                <dt>{t("source.category")}</dt>
                <dd>{entry.category}</dd>
              </>
            ) : null}
            <dt>{t("source.id")}</dt>
            <dd>
              <code>{entry.id}</code>
            </dd>
            <dt>{t("source.updated")}</dt>
            <dd>{formatDate(entry.updated_at)}</dd>
          </dl>
          {sourceUrl ? (
            <p>
              <a href={sourceUrl} target="_blank" rel="noopener noreferrer">
                {t("source.openOriginal")}
              </a>
            </p>
          ) : null}
        </>
      )}
    </Dialog>
  );
}
