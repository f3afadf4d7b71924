// Hand-drawn SVG charts for the analytics dashboard (a chart library would
// outweigh the whole admin). Each chart has a text alternative: a one-line
// summary as the SVG's label and the full data as a table under a disclosure.

import type { ReactNode } from "react";
import { useI18n } from "../../i18n";
import { TableScroll } from "../../components/TableScroll";

const W = 640;
const H = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

/** A round number at or above v for the axis top (1, 2, 2.5, 5 × 10^n). */
export function niceMax(v: number): number {
  if (v <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}

function Axis({ max, format }: { max: number; format(n: number): string }) {
  const ticks = [0, max / 2, max];
  const plotH = H - PAD.top - PAD.bottom;
  return (
    <g className="axis">
      {ticks.map((v) => {
        const y = PAD.top + plotH - (v / max) * plotH;
        return (
          <g key={v}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} className="grid" />
            <text x={PAD.left - 6} y={y + 4} textAnchor="end">
              {format(v)}
            </text>
          </g>
        );
      })}
    </g>
  );
}

function XLabels({ labels }: { labels: string[] }) {
  const plotW = W - PAD.left - PAD.right;
  const step = Math.max(1, Math.ceil(labels.length / 7));
  const bw = plotW / Math.max(1, labels.length);
  return (
    <g className="axis">
      {labels.map((l, i) =>
        i % step === 0 ? (
          <text key={i} x={PAD.left + bw * i + bw / 2} y={H - 8} textAnchor="middle">
            {l}
          </text>
        ) : null,
      )}
    </g>
  );
}

function Figure({ title, summary, table, children }: { title: string; summary: string; table: ReactNode; children: ReactNode }) {
  const { t } = useI18n();
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} preserveAspectRatio="xMidYMid meet">
        {children}
      </svg>
      <details>
        <summary>{t("chart.showTable")}</summary>
        <TableScroll>{table}</TableScroll>
      </details>
    </figure>
  );
}

export interface Series {
  name: string;
  values: number[];
  className: string;
}

/** Bars for one series, optionally a line for a second, per day. */
export function BarLineChart({ title, labels, bars, line }: { title: string; labels: string[]; bars: Series; line?: Series }) {
  const { t, formatNumber } = useI18n();
  const max = niceMax(Math.max(0, ...bars.values, ...(line?.values ?? [])));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bw = plotW / Math.max(1, labels.length);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const sum = (s: number[]) => s.reduce((a, b) => a + b, 0);
  const summary = [bars, ...(line ? [line] : [])]
    .map((s) => t("chart.seriesSummary", { name: s.name, total: formatNumber(sum(s.values)), max: formatNumber(Math.max(0, ...s.values)) }))
    .join(" ");
  return (
    <Figure
      title={title}
      summary={`${title}: ${t("chart.days", { count: labels.length })} ${summary}`}
      table={
        <table className="table compact">
          <thead>
            <tr>
              <th scope="col">{t("chart.date")}</th>
              <th scope="col" className="num">{bars.name}</th>
              {line ? <th scope="col" className="num">{line.name}</th> : null}
            </tr>
          </thead>
          <tbody>
            {labels.map((l, i) => (
              <tr key={i}>
                <th scope="row">{l}</th>
                <td className="num">{formatNumber(bars.values[i] ?? 0)}</td>
                {line ? <td className="num">{formatNumber(line.values[i] ?? 0)}</td> : null}
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <Axis max={max} format={(n) => formatNumber(n, { notation: "compact" })} />
      {bars.values.map((v, i) => (
        <rect key={i} className={bars.className} x={PAD.left + bw * i + bw * 0.15} width={bw * 0.7} y={y(v)} height={Math.max(0, PAD.top + plotH - y(v))} />
      ))}
      {line ? (
        <polyline className={`line ${line.className}`} fill="none" points={line.values.map((v, i) => `${PAD.left + bw * i + bw / 2},${y(v)}`).join(" ")} />
      ) : null}
      <XLabels labels={labels} />
      <Legend items={[bars, ...(line ? [line] : [])]} />
    </Figure>
  );
}

function Legend({ items }: { items: Series[] }) {
  return (
    <g className="legend" aria-hidden="true">
      {items.map((s, i) => (
        <g key={s.name} transform={`translate(${PAD.left + 8 + i * 150}, ${PAD.top + 4})`}>
          <rect width="10" height="10" className={s.className} />
          <text x="14" y="9">
            {s.name}
          </text>
        </g>
      ))}
    </g>
  );
}

/** Two series stacked per day (answered under unanswered). */
export function StackedBarChart({ title, labels, lower, upper }: { title: string; labels: string[]; lower: Series; upper: Series }) {
  const { t, formatNumber } = useI18n();
  const totals = labels.map((_, i) => (lower.values[i] ?? 0) + (upper.values[i] ?? 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bw = plotW / Math.max(1, labels.length);
  const h = (v: number) => (v / max) * plotH;
  const sum = (s: number[]) => s.reduce((a, b) => a + b, 0);
  const all = sum(totals);
  const share = all ? Math.round((sum(lower.values) / all) * 100) : 0;
  return (
    <Figure
      title={title}
      summary={`${title}: ${t("chart.stackSummary", { a: lower.name, aTotal: formatNumber(sum(lower.values)), b: upper.name, bTotal: formatNumber(sum(upper.values)), share })}`}
      table={
        <table className="table compact">
          <thead>
            <tr>
              <th scope="col">{t("chart.date")}</th>
              <th scope="col" className="num">{lower.name}</th>
              <th scope="col" className="num">{upper.name}</th>
            </tr>
          </thead>
          <tbody>
            {labels.map((l, i) => (
              <tr key={i}>
                <th scope="row">{l}</th>
                <td className="num">{formatNumber(lower.values[i] ?? 0)}</td>
                <td className="num">{formatNumber(upper.values[i] ?? 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <Axis max={max} format={(n) => formatNumber(n, { notation: "compact" })} />
      {labels.map((_, i) => {
        const a = lower.values[i] ?? 0;
        const b = upper.values[i] ?? 0;
        const x = PAD.left + bw * i + bw * 0.15;
        const base = PAD.top + plotH;
        return (
          <g key={i}>
            <rect className={lower.className} x={x} width={bw * 0.7} y={base - h(a)} height={h(a)} />
            <rect className={upper.className} x={x} width={bw * 0.7} y={base - h(a) - h(b)} height={h(b)} />
          </g>
        );
      })}
      <XLabels labels={labels} />
      <Legend items={[lower, upper]} />
    </Figure>
  );
}

/** Cut a label to about `px` wide at 12px text (full-width characters count double). */
export function fitLabel(label: string, px: number): string {
  let width = 0;
  let out = "";
  for (const ch of label) {
    const w = /[\u1100-\uffff]/.test(ch) ? 12 : 7;
    if (width + w > px - 12) return `${out}…`;
    width += w;
    out += ch;
  }
  return out;
}

/** Horizontal bars, largest first (the most used FAQ entries). */
export function HBarChart({ title, items, valueName }: { title: string; items: { label: string; value: number }[]; valueName: string }) {
  const { t, formatNumber } = useI18n();
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const rowH = 26;
  const height = Math.max(60, items.length * rowH + 16);
  const labelW = 240;
  const plotW = W - labelW - 60;
  const top = items[0];
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg
        viewBox={`0 0 ${W} ${height}`}
        role="img"
        aria-label={`${title}: ${top ? t("chart.topSummary", { label: top.label, value: formatNumber(top.value), count: items.length }) : t("chart.noData")}`}
      >
        {items.map((it, i) => {
          const w = (it.value / max) * plotW;
          const y = 8 + i * rowH;
          const label = fitLabel(it.label, labelW - 14);
          return (
            <g key={i} className="axis">
              <text x={labelW - 8} y={y + 15} textAnchor="end">
                {label}
              </text>
              <rect className="series-1" x={labelW} y={y + 3} width={Math.max(1, w)} height={rowH - 8} />
              <text x={labelW + w + 6} y={y + 15}>
                {formatNumber(it.value)}
              </text>
            </g>
          );
        })}
      </svg>
      <details>
        <summary>{t("chart.showTable")}</summary>
        <TableScroll>
          <table className="table compact">
            <thead>
              <tr>
                <th scope="col">{t("chart.entry")}</th>
                <th scope="col" className="num">{valueName}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((it, i) => (
                <tr key={i}>
                  <th scope="row">{it.label}</th>
                  <td className="num">{formatNumber(it.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      </details>
    </figure>
  );
}
