// Users and roles (admins only). A role change ends that user's logins on the
// server. Disabling an account is a newer server feature: "not available" until
// the endpoint exists.

import { useCallback, useEffect, useState } from "react";
import { api, rawJson, unwrap, type components } from "../../api/client";
import { ApiError, networkError } from "../../api/errors";
import { ConfirmDialog } from "../../components/Dialog";
import { errorKey } from "../../components/errorText";
import { useAuth } from "../../auth";
import { useI18n, type MessageKey } from "../../i18n";
import { TableScroll } from "../../components/TableScroll";

type User = components["schemas"]["UserView"] & { disabled?: boolean };
const ROLES = ["user", "operator", "admin"] as const;
const ROLE_LABEL: Record<(typeof ROLES)[number], MessageKey> = {
  user: "role.user",
  operator: "role.operator",
  admin: "role.admin",
};

export function UsersTab() {
  const { t, formatDate } = useI18n();
  const { me } = useAuth();
  const [users, setUsers] = useState<User[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [disabling, setDisabling] = useState<User | null>(null);

  const load = useCallback(async (after: string | null) => {
    setLoading(true);
    try {
      const page = await unwrap(api.GET("/api/admin/users", { params: { query: { limit: 50, ...(after ? { after } : {}) } } }));
      setUsers((prev) => (after ? [...prev, ...page.users] : page.users));
      setNext(page.next ?? null);
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? e : networkError(e));
    } finally {
      setLoading(false);
    }
  }, []);
  useEffect(() => void load(null), [load]);

  const setRole = async (u: User, role: string) => {
    setMessage(null);
    setError(null);
    try {
      const updated = await unwrap(api.PATCH("/api/admin/users/{id}", { params: { path: { id: u.id } }, body: { role } }));
      setUsers((list) => list.map((x) => (x.id === u.id ? updated : x)));
      setMessage(t("users.roleChanged", { email: u.email }));
    } catch (e) {
      const err = e instanceof ApiError ? e : networkError(e);
      setError(err);
      if (err.code === "conflict") setMessage(t("users.lastAdmin"));
    }
  };

  const disable = async (u: User) => {
    setDisabling(null);
    try {
      await rawJson("POST", `/api/admin/users/${encodeURIComponent(u.id)}/disable`);
      setUsers((list) => list.map((x) => (x.id === u.id ? { ...x, disabled: true } : x)));
      setMessage(t("users.disabled", { email: u.email }));
    } catch (e) {
      const err = e instanceof ApiError ? e : networkError(e);
      if (err.notAvailable) setMessage(t("users.disableUnavailable"));
      else setError(err);
    }
  };

  return (
    <div>
      {error && error.code !== "conflict" ? <p className="notice notice-error" role="alert">{t(errorKey(error.code))}</p> : null}
      {message ? <p className="notice notice-info" role="status">{message}</p> : null}
      <TableScroll>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("users.email")}</th>
              <th scope="col">{t("users.name")}</th>
              <th scope="col">{t("users.role")}</th>
              <th scope="col">{t("users.created")}</th>
              <th scope="col"><span className="sr-only">{t("common.actions")}</span></th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} className={u.disabled ? "muted" : ""}>
                <td>{u.email}</td>
                <td>{u.display_name}</td>
                <td>
                  <label className="sr-only" htmlFor={`role-${u.id}`}>
                    {t("users.roleFor", { email: u.email })}
                  </label>
                  <select id={`role-${u.id}`} value={u.role} onChange={(e) => void setRole(u, e.target.value)} disabled={u.id === me?.id}>
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(ROLE_LABEL[r])}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{formatDate(u.created_at)}</td>
                <td>
                  <button
                    type="button"
                    className="btn btn-small btn-danger"
                    disabled={u.id === me?.id || u.disabled}
                    onClick={() => setDisabling(u)}
                    aria-label={t("users.disableNamed", { email: u.email })}
                  >
                    {u.disabled ? t("users.isDisabled") : t("users.disable")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {loading ? <p className="muted">{t("common.loading")}</p> : null}
      {next && !loading ? (
        <button type="button" className="btn" onClick={() => void load(next)}>
          {t("common.loadMore")}
        </button>
      ) : null}
      {disabling ? (
        <ConfirmDialog
          title={t("users.disableTitle")}
          message={t("users.disableConfirm", { email: disabling.email })}
          confirmLabel={t("users.disable")}
          onCancel={() => setDisabling(null)}
          onConfirm={() => void disable(disabling)}
        />
      ) : null}
    </div>
  );
}
