// The audit log (GET /api/admin/audit), filtered by action and actor, paged by
// cursor. A server without it answers 404: "not enabled".

import { useCallback, useEffect, useId, useState, type FormEvent } from "react";
import { rawJson } from "../../api/client";
import type { AuditItem, AuditPage } from "../../api/coming";
import { ApiError, networkError } from "../../api/errors";
import { errorKey } from "../../components/errorText";
import { useI18n } from "../../i18n";
import { TableScroll } from "../../components/TableScroll";

export function AuditTab() {
  const { t, formatDateTime } = useI18n();
  const ids = { action: useId(), actor: useId() };
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const [filters, setFilters] = useState({ action: "", actor: "" });
  const [items, setItems] = useState<AuditItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      setLoading(true);
      const q = new URLSearchParams({ limit: "50" });
      if (after) q.set("cursor", after);
      if (filters.action) q.set("action", filters.action);
      if (filters.actor) q.set("actor", filters.actor);
      try {
        const page = await rawJson<AuditPage>("GET", `/api/admin/audit?${q}`);
        setItems((prev) => (after ? [...prev, ...page.items] : page.items));
        setCursor(page.next_cursor ?? null);
        setError(null);
      } catch (e) {
        setError(e instanceof ApiError ? e : networkError(e));
      } finally {
        setLoading(false);
      }
    },
    [filters],
  );
  useEffect(() => void load(null), [load]);

  if (error?.notAvailable) {
    return <p className="notice notice-info">{t("audit.notEnabled")}</p>;
  }
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters({ action: action.trim(), actor: actor.trim() });
  };
  return (
    <div>
      <form className="toolbar" onSubmit={apply}>
        <div className="field inline">
          <label htmlFor={ids.action}>{t("audit.action")}</label>
          <input id={ids.action} value={action} onChange={(e) => setAction(e.target.value)} />
        </div>
        <div className="field inline">
          <label htmlFor={ids.actor}>{t("audit.actor")}</label>
          <input id={ids.actor} value={actor} onChange={(e) => setActor(e.target.value)} />
        </div>
        <button type="submit" className="btn">
          {t("common.filter")}
        </button>
      </form>
      {error ? <p className="notice notice-error" role="alert">{t(errorKey(error.code))}</p> : null}
      <TableScroll>
        <table className="table compact">
          <thead>
            <tr>
              <th scope="col">{t("audit.at")}</th>
              <th scope="col">{t("audit.actor")}</th>
              <th scope="col">{t("audit.action")}</th>
              <th scope="col">{t("audit.target")}</th>
              <th scope="col">{t("audit.ip")}</th>
              <th scope="col">{t("audit.requestId")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.seq}>
                <td>{formatDateTime(i.at)}</td>
                <td>{i.actor ?? "—"}</td>
                <td>
                  <code>{i.action}</code>
                </td>
                <td>{i.target ?? "—"}</td>
                <td title={i.user_agent ?? ""}>{i.ip ?? "—"}</td>
                <td>
                  <code>{i.request_id ?? "—"}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {!loading && items.length === 0 && !error ? <p className="muted">{t("audit.none")}</p> : null}
      {loading ? <p className="muted">{t("common.loading")}</p> : null}
      {cursor && !loading ? (
        <button type="button" className="btn" onClick={() => void load(cursor)}>
          {t("common.loadMore")}
        </button>
      ) : null}
    </div>
  );
}
