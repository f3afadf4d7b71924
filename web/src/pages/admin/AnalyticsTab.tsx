// The analytics dashboard (GET /api/admin/analytics?days=N): activity per day,
// answered vs unanswered, the most used FAQ entries, time to first token and
// tokens per day. A server without it answers 404: "not enabled".

import { useId, useState } from "react";
import { rawJson } from "../../api/client";
import type { Analytics } from "../../api/coming";
import { errorKey } from "../../components/errorText";
import { useAsync } from "../../hooks/useAsync";
import { useI18n } from "../../i18n";
import { BarLineChart, HBarChart, StackedBarChart } from "./charts";

const RANGES = [7, 30, 90];

export function AnalyticsTab() {
  const { t, locale, formatNumber } = useI18n();
  const id = useId();
  const [days, setDays] = useState(30);
  const data = useAsync(() => rawJson<Analytics>("GET", `/api/admin/analytics?days=${days}`), [days]);
  if (data.error?.notAvailable) return <p className="notice notice-info">{t("analytics.notEnabled")}</p>;
  const a = data.data;
  const dayFmt = new Intl.DateTimeFormat(locale === "ja" ? "ja-JP" : "en", { month: "numeric", day: "numeric", timeZone: "UTC" });
  const labels = (a?.days ?? []).map((d) => {
    const when = new Date(`${d.date}T00:00:00Z`);
    return Number.isNaN(when.getTime()) ? d.date : dayFmt.format(when);
  });
  const pick = (k: "conversations" | "messages" | "answered" | "unanswered" | "tokens") => (a?.days ?? []).map((d) => d[k] ?? 0);
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${formatNumber(Math.round(v))} ms`);
  return (
    <div className="analytics">
      <div className="toolbar">
        <div className="field inline">
          <label htmlFor={id}>{t("analytics.range")}</label>
          <select id={id} value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {RANGES.map((r) => (
              <option key={r} value={r}>
                {t("analytics.lastDays", { days: r })}
              </option>
            ))}
          </select>
        </div>
      </div>
      {data.error ? <p className="notice notice-error" role="alert">{t(errorKey(data.error.code))}</p> : null}
      {data.loading && !a ? <p className="muted">{t("common.loading")}</p> : null}
      {a ? (
        <>
          <div className="figures">
            <div className="figure-card">
              <span className="figure-label">{t("analytics.ttftP50")}</span>
              <span className="figure-value">{ms(a.ttft_ms?.p50)}</span>
            </div>
            <div className="figure-card">
              <span className="figure-label">{t("analytics.ttftP95")}</span>
              <span className="figure-value">{ms(a.ttft_ms?.p95)}</span>
            </div>
            <div className="figure-card">
              <span className="figure-label">{t("analytics.totalConversations")}</span>
              <span className="figure-value">{formatNumber(pick("conversations").reduce((x, y) => x + y, 0))}</span>
            </div>
            <div className="figure-card">
              <span className="figure-label">{t("analytics.totalTokens")}</span>
              <span className="figure-value">{formatNumber(pick("tokens").reduce((x, y) => x + y, 0))}</span>
            </div>
          </div>
          <div className="charts">
            <BarLineChart
              title={t("analytics.activity")}
              labels={labels}
              bars={{ name: t("analytics.conversations"), values: pick("conversations"), className: "series-1" }}
              line={{ name: t("analytics.messages"), values: pick("messages"), className: "series-2" }}
            />
            <StackedBarChart
              title={t("analytics.answeredVsUnanswered")}
              labels={labels}
              lower={{ name: t("analytics.answered"), values: pick("answered"), className: "series-ok" }}
              upper={{ name: t("analytics.unanswered"), values: pick("unanswered"), className: "series-warn" }}
            />
            <HBarChart
              title={t("analytics.topEntries")}
              valueName={t("analytics.uses")}
              items={(a.top_entries ?? []).map((e) => ({ label: `${e.id} ${e.question}`, value: e.count }))}
            />
            <BarLineChart
              title={t("analytics.tokensPerDay")}
              labels={labels}
              bars={{ name: t("analytics.tokens"), values: pick("tokens"), className: "series-2" }}
            />
          </div>
        </>
      ) : null}
    </div>
  );
}
