// Create or edit a knowledge-base entry. Lists (phrasings, keywords) are edited as
// text: one phrasing per line, keywords separated by commas (、 works too).

import { useId, useState, type FormEvent } from "react";
import { api, unwrap, type components } from "../../api/client";
import { ApiError, networkError } from "../../api/errors";
import { Dialog } from "../../components/Dialog";
import { errorKey } from "../../components/errorText";
import { useT } from "../../i18n";

export type Entry = components["schemas"]["Entry"];
type EntryBody = components["schemas"]["EntryBody"];

export interface EntryDraft {
  kb: string;
  entry: Entry | null;
  question?: string;
}

const lines = (s: string) => s.split("\n").map((x) => x.trim()).filter(Boolean);
const words = (s: string) => s.split(/[,、，]/).map((x) => x.trim()).filter(Boolean);
const orNull = (s: string) => (s.trim() ? s.trim() : null);

export function EntryForm({ draft, bases, onSaved, onClose }: { draft: EntryDraft; bases: string[]; onSaved(e: Entry): void; onClose(): void }) {
  const t = useT();
  const e = draft.entry;
  const id = useId();
  const [kb, setKb] = useState(draft.kb);
  const [entryId, setEntryId] = useState("");
  const [question, setQuestion] = useState(e?.question ?? draft.question ?? "");
  const [answer, setAnswer] = useState(e?.answer ?? "");
  const [phrasings, setPhrasings] = useState((e?.phrasings ?? []).join("\n"));
  const [keywords, setKeywords] = useState((e?.keywords ?? []).join(", "));
  const [category, setCategory] = useState(e?.category ?? "");
  const [questionEn, setQuestionEn] = useState(e?.question_en ?? "");
  const [answerEn, setAnswerEn] = useState(e?.answer_en ?? "");
  const [sourceUrl, setSourceUrl] = useState(e?.source_url ?? "");
  const [enabled, setEnabled] = useState(e?.enabled ?? true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    const body: EntryBody = {
      question: question.trim(),
      answer: answer.trim(),
      phrasings: lines(phrasings),
      keywords: words(keywords),
      category: category.trim(),
      question_en: orNull(questionEn),
      answer_en: orNull(answerEn),
      source_url: orNull(sourceUrl),
      enabled,
    };
    try {
      const saved = e
        ? await unwrap(api.PUT("/api/kb/entries/{id}", { params: { path: { id: e.id } }, body }))
        : await unwrap(
            api.POST("/api/kb/bases/{kb}/entries", {
              params: { path: { kb } },
              body: entryId.trim() ? { ...body, id: entryId.trim() } : body,
            }),
          );
      onSaved(saved);
    } catch (err) {
      setError(err instanceof ApiError ? err : networkError(err));
    } finally {
      setBusy(false);
    }
  };

  const f = (name: string) => `${id}-${name}`;
  return (
    <Dialog
      title={e ? t("kb.editTitle", { id: e.id }) : t("kb.newTitle")}
      onClose={onClose}
      className="entry-form-dialog"
    >
      <form className="form" onSubmit={submit}>
        {!e ? (
          <div className="grid-2">
            <div className="field">
              <label htmlFor={f("kb")}>{t("kb.base")}</label>
              <select id={f("kb")} value={kb} onChange={(x) => setKb(x.target.value)}>
                {bases.map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={f("id")}>{t("kb.entryId")}</label>
              <input id={f("id")} value={entryId} onChange={(x) => setEntryId(x.target.value)} pattern="[A-Za-z0-9_\-]{1,64}" aria-describedby={f("id-hint")} />
              <small id={f("id-hint")} className="hint">
                {t("kb.entryIdHint")}
              </small>
            </div>
          </div>
        ) : null}
        <div className="field">
          <label htmlFor={f("q")}>{t("kb.question")}</label>
          <input id={f("q")} value={question} onChange={(x) => setQuestion(x.target.value)} required maxLength={1000} />
        </div>
        <div className="field">
          <label htmlFor={f("a")}>{t("kb.answer")}</label>
          <textarea id={f("a")} value={answer} onChange={(x) => setAnswer(x.target.value)} required rows={6} maxLength={10000} />
        </div>
        <div className="field">
          <label htmlFor={f("p")}>{t("kb.phrasings")}</label>
          <textarea id={f("p")} value={phrasings} onChange={(x) => setPhrasings(x.target.value)} rows={3} aria-describedby={f("p-hint")} />
          <small id={f("p-hint")} className="hint">
            {t("kb.phrasingsHint")}
          </small>
        </div>
        <div className="grid-2">
          <div className="field">
            <label htmlFor={f("k")}>{t("kb.keywords")}</label>
            <input id={f("k")} value={keywords} onChange={(x) => setKeywords(x.target.value)} aria-describedby={f("k-hint")} />
            <small id={f("k-hint")} className="hint">
              {t("kb.keywordsHint")}
            </small>
          </div>
          <div className="field">
            <label htmlFor={f("c")}>{t("kb.category")}</label>
            <input id={f("c")} value={category} onChange={(x) => setCategory(x.target.value)} />
          </div>
        </div>
        <div className="field">
          <label htmlFor={f("qe")}>
            {t("kb.questionEn")}
          </label>
          <input id={f("qe")} value={questionEn} onChange={(x) => setQuestionEn(x.target.value)} lang="en" />
        </div>
        <div className="field">
          <label htmlFor={f("ae")}>{t("kb.answerEn")}</label>
          <textarea id={f("ae")} value={answerEn} onChange={(x) => setAnswerEn(x.target.value)} rows={4} lang="en" />
        </div>
        <div className="field">
          <label htmlFor={f("u")}>{t("kb.sourceUrl")}</label>
          <input id={f("u")} type="url" value={sourceUrl} onChange={(x) => setSourceUrl(x.target.value)} />
        </div>
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(x) => setEnabled(x.target.checked)} /> {t("kb.enabled")}
        </label>
        {error ? (
          <p className="form-error" role="alert">
            {error.code === "validation_failed" ? error.message : t(errorKey(error.code))}
          </p>
        ) : null}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !question.trim() || !answer.trim()}>
            {t("common.save")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
