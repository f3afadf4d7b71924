// The signed-in user's API keys: list, create (the secret is shown this once),
// revoke. kb:write is offered to operators only, as the server enforces.

import { useId, useState, type FormEvent } from "react";
import { api, unwrap, type components } from "../../api/client";
import { ApiError, networkError } from "../../api/errors";
import { useAuth } from "../../auth";
import { CopyButton } from "../../components/CopyButton";
import { ConfirmDialog } from "../../components/Dialog";
import { errorKey } from "../../components/errorText";
import { useAsync } from "../../hooks/useAsync";
import { useI18n } from "../../i18n";
import { TableScroll } from "../../components/TableScroll";

type Key = components["schemas"]["KeyView"];

export function ApiKeysTab() {
  const { t, formatDate } = useI18n();
  const { isOperator } = useAuth();
  const ids = { name: useId(), days: useId() };
  const keys = useAsync(() => unwrap(api.GET("/api/api-keys")).then((r) => r.keys), []);
  const [name, setName] = useState("");
  const [kbWrite, setKbWrite] = useState(false);
  const [days, setDays] = useState("");
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [revoking, setRevoking] = useState<Key | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const d = Number(days);
      const created = await unwrap(
        api.POST("/api/api-keys", {
          body: { name: name.trim(), scopes: kbWrite ? ["chat", "kb:write"] : ["chat"], ...(days && d > 0 ? { expires_in_days: d } : {}) },
        }),
      );
      setSecret({ name: created.name, key: created.key });
      setName("");
      setDays("");
      setKbWrite(false);
      keys.reload();
    } catch (err) {
      setError(err instanceof ApiError ? err : networkError(err));
    }
  };

  return (
    <div>
      <section className="card">
        <h3>{t("keys.create")}</h3>
        <form className="form row-wrap" onSubmit={create}>
          <div className="field">
            <label htmlFor={ids.name}>{t("keys.name")}</label>
            <input id={ids.name} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required />
          </div>
          <div className="field">
            <label htmlFor={ids.days}>{t("keys.expiresInDays")}</label>
            <input id={ids.days} type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} placeholder={t("keys.never")} />
          </div>
          {isOperator ? (
            <label className="check">
              <input type="checkbox" checked={kbWrite} onChange={(e) => setKbWrite(e.target.checked)} /> {t("keys.kbWrite")}
            </label>
          ) : null}
          <button type="submit" className="btn btn-primary" disabled={!name.trim()}>
            {t("common.create")}
          </button>
        </form>
        {error ? (
          <p className="form-error" role="alert">
            {error.code === "validation_failed" ? error.message : t(errorKey(error.code))}
          </p>
        ) : null}
        {secret ? (
          <div className="notice notice-ok secret" role="status">
            <p>
              <strong>{t("keys.createdOnce", { name: secret.name })}</strong>
            </p>
            <p>
              <code className="secret-value">{secret.key}</code> <CopyButton text={secret.key} />
            </p>
            <button type="button" className="btn btn-small" onClick={() => setSecret(null)}>
              {t("keys.savedIt")}
            </button>
          </div>
        ) : null}
      </section>
      {keys.error ? (
        <p className="notice notice-error" role="alert">
          {keys.error.status === 403 ? t("keys.accountsOnly") : t(errorKey(keys.error.code))}
        </p>
      ) : null}
      <TableScroll>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("keys.name")}</th>
              <th scope="col">{t("keys.prefix")}</th>
              <th scope="col">{t("keys.scopes")}</th>
              <th scope="col">{t("keys.created")}</th>
              <th scope="col">{t("keys.expires")}</th>
              <th scope="col">{t("keys.lastUsed")}</th>
              <th scope="col"><span className="sr-only">{t("common.actions")}</span></th>
            </tr>
          </thead>
          <tbody>
            {(keys.data ?? []).map((k) => (
              <tr key={k.id} className={k.revoked ? "muted" : ""}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.scopes.join(", ")}</td>
                <td>{formatDate(k.created_at)}</td>
                <td>{k.expires_at ? formatDate(k.expires_at) : t("keys.never")}</td>
                <td>{k.last_used_at ? formatDate(k.last_used_at) : "—"}</td>
                <td>
                  {k.revoked ? (
                    t("keys.revoked")
                  ) : (
                    <button type="button" className="btn btn-small btn-danger" onClick={() => setRevoking(k)} aria-label={t("keys.revokeNamed", { name: k.name })}>
                      {t("keys.revoke")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {!keys.loading && keys.data?.length === 0 ? <p className="muted">{t("keys.none")}</p> : null}
      {revoking ? (
        <ConfirmDialog
          title={t("keys.revokeTitle")}
          message={t("keys.revokeConfirm", { name: revoking.name })}
          confirmLabel={t("keys.revoke")}
          onCancel={() => setRevoking(null)}
          onConfirm={async () => {
            try {
              await unwrap(api.DELETE("/api/api-keys/{id}", { params: { path: { id: revoking.id } } }));
              keys.reload();
            } catch (err) {
              setError(err instanceof ApiError ? err : networkError(err));
            }
            setRevoking(null);
          }}
        />
      ) : null}
    </div>
  );
}
