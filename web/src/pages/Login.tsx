// /login and /signup. "Sign in with …" buttons appear when the server lists
// identity providers (GET /api/auth/providers; a 404 means none are set up).

import { useEffect, useId, useState, type FormEvent } from "react";
import { rawJson } from "../api/client";
import { ApiError } from "../api/errors";
import { useAuth } from "../auth";
import { errorKey } from "../components/errorText";
import { useT } from "../i18n";
import { Link, useRouter, useSearchParam } from "../router";

interface Provider {
  id: string;
  name: string;
  /** Where the browser goes to start, as the server says (add ?return_to=). */
  login_url?: string;
}

/** The provider's start URL: the server's own path, never another origin. */
function startUrl(p: Provider, next: string): string {
  const base =
    p.login_url && p.login_url.startsWith("/") && !p.login_url.startsWith("//")
      ? p.login_url
      : `/api/auth/oidc/${encodeURIComponent(p.id)}/start`;
  return `${base}${base.includes("?") ? "&" : "?"}return_to=${encodeURIComponent(next)}`;
}

function useProviders(): Provider[] {
  const [providers, setProviders] = useState<Provider[]>([]);
  useEffect(() => {
    let live = true;
    rawJson<{ providers?: Provider[] }>("GET", "/api/auth/providers")
      .then((r) => live && setProviders(Array.isArray(r?.providers) ? r.providers.filter((p) => p && p.id && p.name) : []))
      .catch(() => {
        // Not available on this server: email and password only.
      });
    return () => {
      live = false;
    };
  }, []);
  return providers;
}

/** Only same-site paths: `next` must not send the user to another origin. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/chat";
}

export default function Login({ mode }: { mode: "login" | "signup" }) {
  const t = useT();
  const { login, signup } = useAuth();
  const { navigate } = useRouter();
  const next = safeNext(useSearchParam("next"));
  const providers = useProviders();
  const ids = { email: useId(), password: useId(), name: useId(), error: useId() };
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "login") await login(email.trim(), password);
      else await signup(email.trim(), password, name.trim());
      navigate(next);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError({ status: 0, code: "network", message: String(err) }));
    } finally {
      setBusy(false);
    }
  };

  const errorMessage = (): string => {
    if (!error) return "";
    if (mode === "login" && error.status === 401) return t("auth.badCredentials");
    if (error.code === "conflict") return t("auth.emailTaken");
    if (error.status === 403 && mode === "signup") return t("auth.signupClosed");
    if (error.code === "validation_failed" && error.field === "password") return t("auth.passwordRule");
    if (error.code === "validation_failed" && error.field === "email") return t("auth.emailInvalid");
    if (error.code === "rate_limited" && error.retryAfter) return t("auth.tooMany", { seconds: error.retryAfter });
    return t(errorKey(error.code));
  };

  return (
    <div className="page narrow auth-page">
      <h1>{mode === "login" ? t("auth.loginTitle") : t("auth.signupTitle")}</h1>
      {providers.length > 0 ? (
        <div className="providers">
          {providers.map((p) => (
            <a
              key={p.id}
              className="btn btn-block"
              href={startUrl(p, next)}
            >
              {t("auth.signInWith", { name: p.name })}
            </a>
          ))}
          <p className="divider">
            <span>{t("auth.or")}</span>
          </p>
        </div>
      ) : null}
      <form onSubmit={submit} className="form" aria-describedby={error ? ids.error : undefined} noValidate>
        {mode === "signup" ? (
          <div className="field">
            <label htmlFor={ids.name}>{t("auth.displayName")}</label>
            <input id={ids.name} value={name} onChange={(e) => setName(e.target.value)} autoComplete="nickname" maxLength={100} />
          </div>
        ) : null}
        <div className="field">
          <label htmlFor={ids.email}>{t("auth.email")}</label>
          <input
            id={ids.email}
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            autoComplete="email"
            required
            maxLength={320}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.password}>{t("auth.password")}</label>
          <input
            id={ids.password}
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete={mode === "login" ? "current-password" : "new-password"}
            required
            minLength={mode === "signup" ? 10 : undefined}
            maxLength={256}
            aria-describedby={mode === "signup" ? `${ids.password}-hint` : undefined}
          />
          {mode === "signup" ? (
            <small id={`${ids.password}-hint`} className="hint">
              {t("auth.passwordRule")}
            </small>
          ) : null}
        </div>
        {error ? (
          <p id={ids.error} className="form-error" role="alert">
            {errorMessage()}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || !email || !password}>
          {mode === "login" ? t("auth.loginButton") : t("auth.signupButton")}
        </button>
      </form>
      <p className="auth-switch">
        {mode === "login" ? (
          <>
            {t("auth.noAccount")} <Link to={`/signup${next !== "/chat" ? `?next=${encodeURIComponent(next)}` : ""}`}>{t("auth.signupLink")}</Link>
          </>
        ) : (
          <>
            {t("auth.haveAccount")} <Link to={`/login${next !== "/chat" ? `?next=${encodeURIComponent(next)}` : ""}`}>{t("auth.loginLink")}</Link>
          </>
        )}
      </p>
      <p className="muted small">{t("auth.guestNote")}</p>
    </div>
  );
}
