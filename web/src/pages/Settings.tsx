// /settings: language and theme (this browser), the caller's uploaded files, and
// for an account: plan and usage (when billing is on), password, data export and
// deletion. Export and deletion are newer server features; a server without them
// answers 404 and the page says "not available".

import { useId, useState, type FormEvent } from "react";
import { api, apiFetch, unwrap } from "../api/client";
import { ApiError, errorFromResponse, networkError } from "../api/errors";
import { resetSession } from "../api/session";
import { useAuth } from "../auth";
import { ConfirmDialog } from "../components/Dialog";
import { errorKey } from "../components/errorText";
import { LOCALES, useI18n, useT, type Locale, type MessageKey } from "../i18n";
import { Link, useRouter } from "../router";
import { setTheme, storedTheme, type ThemePref } from "../theme";
import { BillingSection } from "./settings/BillingSection";
import { FilesSection } from "./settings/FilesSection";

function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const THEME_LABELS: Record<ThemePref, MessageKey> = {
  system: "settings.themeSystem",
  light: "settings.themeLight",
  dark: "settings.themeDark",
};

function LanguageAndTheme() {
  const { t, locale, setLocale } = useI18n();
  const [theme, setThemeState] = useState<ThemePref>(storedTheme);
  const names: Record<Locale, string> = { ja: "日本語", en: "English" };
  return (
    <section className="card" aria-labelledby="settings-display">
      <h2 id="settings-display">{t("settings.display")}</h2>
      <fieldset className="radio-group">
        <legend>{t("settings.language")}</legend>
        {LOCALES.map((l) => (
          <label key={l} lang={l}>
            <input type="radio" name="lang" value={l} checked={locale === l} onChange={() => setLocale(l)} /> {names[l]}
          </label>
        ))}
      </fieldset>
      <fieldset className="radio-group">
        <legend>{t("settings.theme")}</legend>
        {(["system", "light", "dark"] as const).map((v) => (
          <label key={v}>
            <input
              type="radio"
              name="theme"
              value={v}
              checked={theme === v}
              onChange={() => {
                setThemeState(v);
                setTheme(v);
              }}
            />{" "}
            {t(THEME_LABELS[v])}
          </label>
        ))}
      </fieldset>
    </section>
  );
}

function PasswordChange() {
  const t = useT();
  const ids = { current: useId(), next: useId() };
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [state, setState] = useState<{ kind: "idle" | "busy" | "done" } | { kind: "error"; error: ApiError }>({ kind: "idle" });
  const { navigate } = useRouter();
  const { refresh } = useAuth();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setState({ kind: "busy" });
    try {
      await unwrap(api.POST("/api/me/password", { body: { current_password: current, new_password: next } }));
      setState({ kind: "done" });
      // Every login ends on a password change: sign in again.
      await refresh();
      navigate("/login?next=/settings");
    } catch (err) {
      setState({ kind: "error", error: err instanceof ApiError ? err : networkError(err) });
    }
  };
  return (
    <section className="card" aria-labelledby="settings-password">
      <h2 id="settings-password">{t("settings.password")}</h2>
      <form className="form" onSubmit={submit}>
        <div className="field">
          <label htmlFor={ids.current}>{t("settings.currentPassword")}</label>
          <input id={ids.current} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
        </div>
        <div className="field">
          <label htmlFor={ids.next}>{t("settings.newPassword")}</label>
          <input id={ids.next} type="password" autoComplete="new-password" minLength={10} value={next} onChange={(e) => setNext(e.target.value)} required />
          <small className="hint">{t("auth.passwordRule")}</small>
        </div>
        {state.kind === "error" ? (
          <p className="form-error" role="alert">
            {state.error.status === 401 ? t("settings.wrongPassword") : state.error.code === "validation_failed" ? t("auth.passwordRule") : t(errorKey(state.error.code))}
          </p>
        ) : null}
        {state.kind === "done" ? <p role="status">{t("settings.passwordChanged")}</p> : null}
        <button type="submit" className="btn btn-primary" disabled={state.kind === "busy" || !current || next.length < 10}>
          {t("settings.changePassword")}
        </button>
      </form>
    </section>
  );
}

function ExportData() {
  const t = useT();
  const [state, setState] = useState<"idle" | "busy" | "unavailable" | "done" | "error">("idle");
  const run = async () => {
    setState("busy");
    try {
      const r = await apiFetch("/api/me/export", { headers: { Accept: "application/json" } });
      if (!r.ok) {
        const err = await errorFromResponse(r);
        setState(err.notAvailable ? "unavailable" : "error");
        return;
      }
      const blob = await r.blob();
      saveBlob(new Blob([blob], { type: "application/json" }), `tenmon-ark-export-${new Date().toISOString().slice(0, 10)}.json`);
      setState("done");
    } catch {
      setState("error");
    }
  };
  return (
    <section className="card" aria-labelledby="settings-export">
      <h2 id="settings-export">{t("settings.export")}</h2>
      <p>{t("settings.exportBody")}</p>
      <button type="button" className="btn" onClick={() => void run()} disabled={state === "busy"}>
        {t("settings.exportButton")}
      </button>
      <p role="status" className="status-line">
        {state === "unavailable" ? t("common.notAvailable") : state === "error" ? t("error.generic") : state === "done" ? t("settings.exportDone") : ""}
      </p>
    </section>
  );
}

function DeleteAccount({ email }: { email: string }) {
  const t = useT();
  const id = useId();
  const { navigate } = useRouter();
  const { refresh } = useAuth();
  const [typed, setTyped] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [state, setState] = useState<"idle" | "busy" | "unavailable" | "error">("idle");
  const matches = typed.trim().toLowerCase() === email.toLowerCase();
  const run = async () => {
    setState("busy");
    try {
      const r = await apiFetch("/api/me", { method: "DELETE" });
      if (!r.ok) {
        const err = await errorFromResponse(r);
        setState(err.notAvailable ? "unavailable" : "error");
        setConfirming(false);
        return;
      }
      resetSession();
      await refresh();
      navigate("/");
    } catch {
      setState("error");
      setConfirming(false);
    }
  };
  return (
    <section className="card danger-zone" aria-labelledby="settings-delete">
      <h2 id="settings-delete">{t("settings.delete")}</h2>
      <p>{t("settings.deleteBody")}</p>
      <div className="field">
        <label htmlFor={id}>{t("settings.deleteType", { email })}</label>
        <input id={id} value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
      </div>
      <button type="button" className="btn btn-danger" disabled={!matches || state === "busy"} onClick={() => setConfirming(true)}>
        {t("settings.deleteButton")}
      </button>
      <p role="status" className="status-line">
        {state === "unavailable" ? t("common.notAvailable") : state === "error" ? t("error.generic") : ""}
      </p>
      {confirming ? (
        <ConfirmDialog
          title={t("settings.delete")}
          message={t("settings.deleteFinal")}
          confirmLabel={t("settings.deleteButton")}
          busy={state === "busy"}
          onCancel={() => setConfirming(false)}
          onConfirm={() => void run()}
        />
      ) : null}
    </section>
  );
}

export default function Settings() {
  const { t } = useI18n();
  const { me, signedIn, loading } = useAuth();
  return (
    <div className="page narrow settings">
      <h1>{t("settings.title")}</h1>
      <LanguageAndTheme />
      {signedIn && me?.email ? <BillingSection /> : null}
      {!loading ? <FilesSection /> : null}
      {signedIn && me?.email ? (
        <>
          <PasswordChange />
          <ExportData />
          <DeleteAccount email={me.email} />
        </>
      ) : !loading ? (
        <section className="card">
          <h2>{t("settings.account")}</h2>
          <p>{t("settings.signInForAccount")}</p>
          <Link to="/login?next=/settings" className="btn btn-primary">
            {t("nav.login")}
          </Link>
        </section>
      ) : null}
    </div>
  );
}
