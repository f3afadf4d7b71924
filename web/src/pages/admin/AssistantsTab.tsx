// Assistants (admins only): every assistant in use with where it is defined, and
// a form to create one or to edit one. Built-in and config-file assistants cannot
// be changed in place: saving one stores an override of the same id, and deleting
// that override brings the original back.

import { useCallback, useEffect, useState } from "react";
import { api, unwrap } from "../../api/client";
import { ApiError, networkError } from "../../api/errors";
import { forgetAssistants } from "../../chat/assistants";
import { ConfirmDialog } from "../../components/Dialog";
import { ErrorMessage } from "../../components/ErrorMessage";
import { TableScroll } from "../../components/TableScroll";
import { useAsync } from "../../hooks/useAsync";
import { useI18n, type MessageKey } from "../../i18n";
import { AssistantForm, type AssistantView } from "./AssistantForm";

const SOURCE_LABEL: Record<string, MessageKey> = {
  builtin: "assistants.source.builtin",
  config: "assistants.source.config",
  database: "assistants.source.database",
};

type Editing = { assistant: AssistantView | null };

export function AssistantsTab() {
  const { t, locale } = useI18n();
  const [list, setList] = useState<AssistantView[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [deleting, setDeleting] = useState<AssistantView | null>(null);
  const [busy, setBusy] = useState(false);
  const bases = useAsync(() => unwrap(api.GET("/api/kb/bases")).then((r) => r.knowledge_bases), []);

  const load = useCallback(async (): Promise<AssistantView[] | null> => {
    setLoading(true);
    try {
      const all = (await unwrap(api.GET("/api/admin/assistants"))).assistants.filter(
        (a): a is AssistantView => typeof a.id === "string" && a.id !== "",
      );
      setList(all);
      setError(null);
      return all;
    } catch (e) {
      setError(e instanceof ApiError ? e : networkError(e));
      return null;
    } finally {
      setLoading(false);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const name = (a: AssistantView) => (locale === "en" ? a.name_en : a.name_ja) || a.id;
  // The server says when a database assistant replaces a built-in or config one.
  const isOverride = (a: AssistantView) => a.source === "database" && a.overrides === true;

  const remove = async (a: AssistantView) => {
    setBusy(true);
    setMessage(null);
    try {
      await unwrap(api.DELETE("/api/admin/assistants/{id}", { params: { path: { id: a.id } } }));
      forgetAssistants();
      setDeleting(null);
      const now = await load();
      const back = now?.find((x) => x.id === a.id);
      setMessage(back ? t("assistants.restored", { id: a.id, name: name(back) }) : t("assistants.deleted", { id: a.id }));
    } catch (e) {
      setDeleting(null);
      setError(e instanceof ApiError ? e : networkError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="assistants-tab">
      <p className="hint">{t("assistants.intro")}</p>
      <div className="toolbar">
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => {
            setMessage(null);
            setEditing({ assistant: null });
          }}
        >
          {t("assistants.new")}
        </button>
      </div>
      {error ? (
        <p className="notice notice-error" role="alert">
          <ErrorMessage error={error} />
        </p>
      ) : null}
      {bases.error ? (
        <p className="notice notice-warn" role="alert">
          {t("assistants.basesFailed")}
        </p>
      ) : null}
      <p className={message ? "notice notice-ok" : "muted"} role="status">
        {message ?? (loading ? t("common.loading") : "")}
      </p>
      <TableScroll>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("assistants.id")}</th>
              <th scope="col">{t("assistants.name")}</th>
              <th scope="col">{t("assistants.source")}</th>
              <th scope="col">{t("assistants.knowledgeBases")}</th>
              <th scope="col">
                <span className="sr-only">{t("common.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id}>
                <td>
                  <code>{a.id}</code>
                </td>
                <td>{name(a)}</td>
                <td>
                  <span className={`badge badge-${SOURCE_LABEL[a.source] ? a.source : "other"}`}>
                    {SOURCE_LABEL[a.source] ? t(SOURCE_LABEL[a.source] as MessageKey) : a.source}
                  </span>
                </td>
                <td>
                  {a.knowledge_bases?.length ? (
                    a.knowledge_bases.map((k, i) => (
                      <span key={k}>
                        {i > 0 ? ", " : null}
                        <code>{k}</code>
                      </span>
                    ))
                  ) : (
                    <span className="muted">{t("assistants.noKb")}</span>
                  )}
                </td>
                <td className="actions">
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => {
                      setMessage(null);
                      setEditing({ assistant: a });
                    }}
                    aria-label={t("assistants.editNamed", { id: a.id })}
                  >
                    {t("common.edit")}
                  </button>
                  {a.source === "database" ? (
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      onClick={() => {
                        setMessage(null);
                        setDeleting(a);
                      }}
                      aria-label={t(isOverride(a) ? "assistants.removeOverrideNamed" : "assistants.deleteNamed", { id: a.id })}
                    >
                      {isOverride(a) ? t("assistants.removeOverride") : t("common.delete")}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {editing ? (
        <AssistantForm
          assistant={editing.assistant}
          bases={bases.data ?? []}
          takenIds={list.map((a) => a.id)}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setEditing(null);
            forgetAssistants();
            void load().then(() => setMessage(t("assistants.saved", { id: saved.id, name: name(saved) })));
          }}
        />
      ) : null}
      {deleting ? (
        <ConfirmDialog
          title={isOverride(deleting) ? t("assistants.removeOverrideTitle") : t("assistants.deleteTitle")}
          message={
            isOverride(deleting)
              ? t("assistants.removeOverrideConfirm", { id: deleting.id, name: name(deleting) })
              : t("assistants.deleteConfirm", { id: deleting.id, name: name(deleting) })
          }
          confirmLabel={isOverride(deleting) ? t("assistants.removeOverride") : t("common.delete")}
          busy={busy}
          onCancel={() => setDeleting(null)}
          onConfirm={() => void remove(deleting)}
        />
      ) : null}
    </div>
  );
}
