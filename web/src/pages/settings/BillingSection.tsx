// "Plan and usage": shown only when the server has billing on and the caller has
// an account (a guest gets 401, a server without billing 404 or `enabled: false`).
// Upgrading and managing payment happen on Stripe's pages: the server hands out
// the URL and the browser goes there.

import { useId, useState } from "react";
import { getBilling, openPortal, startCheckout, type BillingView, type PlanView } from "../../api/billing";
import { ApiError, networkError } from "../../api/errors";
import { ErrorMessage } from "../../components/ErrorMessage";
import { safeHttpUrl } from "../../components/url";
import { useAsync } from "../../hooks/useAsync";
import { useI18n, type Locale, type MessageKey } from "../../i18n";

const STATUS: Record<string, MessageKey> = {
  active: "billing.statusActive",
  trialing: "billing.statusTrialing",
  past_due: "billing.statusPastDue",
  unpaid: "billing.statusUnpaid",
  canceled: "billing.statusCanceled",
  incomplete: "billing.statusIncomplete",
  incomplete_expired: "billing.statusIncompleteExpired",
  paused: "billing.statusPaused",
  free: "billing.statusFree",
};

export function planName(plan: PlanView, locale: Locale): string {
  return (locale === "en" ? plan.name_en : plan.name_ja) || plan.name_ja || plan.name_en || plan.id;
}

/** Tokens used against the plan's monthly allowance: a bar with the numbers as text. */
export function UsageMeter({ used, limit }: { used: number; limit: number }) {
  const { t, formatNumber } = useI18n();
  const labelId = useId();
  const safeUsed = Math.max(0, used);
  if (!(limit > 0)) {
    return (
      <div className="usage">
        <p id={labelId} className="usage-label">
          {t("billing.usage")}
        </p>
        <p className="usage-text">{t("billing.usageUnlimited", { used: formatNumber(safeUsed) })}</p>
      </div>
    );
  }
  const percent = Math.round((safeUsed / limit) * 100);
  const text = t("billing.usageText", { used: formatNumber(safeUsed), limit: formatNumber(limit), percent });
  const over = safeUsed >= limit;
  return (
    <div className="usage">
      <p id={labelId} className="usage-label">
        {t("billing.usage")}
      </p>
      <div
        className={`meter ${over ? "meter-over" : percent >= 80 ? "meter-high" : ""}`}
        role="meter"
        aria-labelledby={labelId}
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={Math.min(safeUsed, limit)}
        aria-valuetext={text}
      >
        <div className="meter-fill" style={{ width: `${Math.min(100, percent)}%` }} />
      </div>
      <p className="usage-text">
        {text}
        {over ? (
          <>
            {" "}
            <strong>{t("billing.usageOver")}</strong>
          </>
        ) : null}
      </p>
    </div>
  );
}

function go(url: string): void {
  const safe = safeHttpUrl(url);
  if (!safe) throw new ApiError({ status: 200, code: "bad_response", message: "not an http(s) URL" });
  window.location.assign(safe);
}

function BillingCard({ billing }: { billing: BillingView & { plan: PlanView } }) {
  const { t, locale, formatNumber, formatDate } = useI18n();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async (what: string, call: () => Promise<{ url: string }>) => {
    setBusy(what);
    setError(null);
    try {
      go((await call()).url);
      // The page is going away; leave the button disabled until it does.
    } catch (e) {
      setError(e instanceof ApiError ? e : networkError(e));
      setBusy(null);
    }
  };
  const { plan } = billing;
  const status = billing.status ?? "";
  const upgrades = (billing.plans ?? []).filter((p) => p.purchasable && p.id !== plan.id);
  return (
    <section className="card billing" aria-labelledby="settings-billing">
      <h2 id="settings-billing">{t("billing.title")}</h2>
      <dl className="facts">
        <dt>{t("billing.currentPlan")}</dt>
        <dd>{planName(plan, locale)}</dd>
        {status ? (
          <>
            <dt>{t("billing.status")}</dt>
            <dd>{STATUS[status] ? t(STATUS[status]) : status}</dd>
          </>
        ) : null}
        {billing.current_period_end ? (
          <>
            <dt>{billing.cancel_at_period_end ? t("billing.cancelDate") : t("billing.renewalDate")}</dt>
            <dd>
              <time dateTime={billing.current_period_end}>{formatDate(billing.current_period_end)}</time>
            </dd>
          </>
        ) : null}
      </dl>
      {billing.cancel_at_period_end ? <p className="notice notice-warn">{t("billing.cancelNote")}</p> : null}
      <UsageMeter used={billing.used_tokens ?? 0} limit={plan.monthly_tokens} />
      {upgrades.length ? (
        <ul className="plan-list" aria-label={t("billing.upgrades")}>
          {upgrades.map((p) => (
            <li key={p.id}>
              <span>
                <strong>{planName(p, locale)}</strong>{" "}
                <span className="muted">{t("billing.tokensPerMonth", { tokens: formatNumber(p.monthly_tokens) })}</span>
              </span>
              <button
                type="button"
                className="btn btn-primary btn-small"
                disabled={busy !== null}
                onClick={() => void run(p.id, () => startCheckout(p.id))}
              >
                {t("billing.upgradeTo", { name: planName(p, locale) })}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <p>
        <button type="button" className="btn" disabled={busy !== null} onClick={() => void run("portal", openPortal)}>
          {t("billing.manage")}
        </button>
      </p>
      {busy ? (
        <p role="status" className="muted">
          {t("billing.redirecting")}
        </p>
      ) : null}
      {error ? (
        <p role="alert" className="form-error">
          <ErrorMessage error={error} />
        </p>
      ) : null}
    </section>
  );
}

export function BillingSection() {
  const { t } = useI18n();
  const billing = useAsync(getBilling, []);
  if (billing.error) {
    // A guest, or a server without billing: nothing to show.
    if (billing.error.status === 401 || billing.error.notAvailable) return null;
    return (
      <section className="card billing" aria-labelledby="settings-billing">
        <h2 id="settings-billing">{t("billing.title")}</h2>
        <p role="alert" className="form-error">
          <ErrorMessage error={billing.error} />
        </p>
      </section>
    );
  }
  const data = billing.data;
  if (!data?.enabled || !data.plan) return null;
  return <BillingCard billing={{ ...data, plan: data.plan }} />;
}
