// Questions the assistants could not answer from their knowledge, most asked
// first; each can become a new knowledge-base entry in one step.

import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { errorKey } from "../../components/errorText";
import { useAsync } from "../../hooks/useAsync";
import { useI18n } from "../../i18n";
import { EntryForm, type EntryDraft } from "./EntryForm";
import { TableScroll } from "../../components/TableScroll";

export function UnansweredTab() {
  const { t, formatDateTime, formatNumber } = useI18n();
  const list = useAsync(() => unwrap(api.GET("/api/kb/unanswered", { params: { query: { limit: 200 } } })).then((r) => r.questions), []);
  const bases = useAsync(() => unwrap(api.GET("/api/kb/bases")).then((r) => r.knowledge_bases.map((b) => b.id)), []);
  const [draft, setDraft] = useState<EntryDraft | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <div>
      <p className="hint">{t("unanswered.hint")}</p>
      {list.error ? <p className="notice notice-error" role="alert">{t(errorKey(list.error.code))}</p> : null}
      {saved ? <p className="notice notice-ok" role="status">{t("unanswered.saved", { id: saved })}</p> : null}
      {list.loading ? <p className="muted">{t("common.loading")}</p> : null}
      {!list.loading && list.data?.length === 0 ? <p className="muted">{t("unanswered.none")}</p> : null}
      {list.data?.length ? (
        <TableScroll>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t("unanswered.question")}</th>
                <th scope="col">{t("unanswered.assistant")}</th>
                <th scope="col" className="num">{t("unanswered.count")}</th>
                <th scope="col">{t("unanswered.lastSeen")}</th>
                <th scope="col"><span className="sr-only">{t("common.actions")}</span></th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((q, i) => (
                <tr key={`${q.assistant}-${i}`}>
                  <td>{q.sample}</td>
                  <td>{q.assistant}</td>
                  <td className="num">{formatNumber(q.count)}</td>
                  <td>{formatDateTime(q.last_seen)}</td>
                  <td>
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={!bases.data?.length}
                      onClick={() => setDraft({ kb: bases.data?.includes("mnp") ? "mnp" : (bases.data?.[0] ?? ""), entry: null, question: q.sample })}
                    >
                      {t("unanswered.addEntry")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      ) : null}
      {draft ? (
        <EntryForm
          draft={draft}
          bases={bases.data ?? []}
          onClose={() => setDraft(null)}
          onSaved={(e) => {
            setDraft(null);
            setSaved(e.id);
          }}
        />
      ) : null}
    </div>
  );
}
