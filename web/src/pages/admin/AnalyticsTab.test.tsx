import { render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { I18nProvider } from "../../i18n";
import { AnalyticsTab } from "./AnalyticsTab";
import { AuditTab } from "./AuditTab";

const SAMPLE = {
  days: [
    { date: "2026-11-22", conversations: 3, messages: 10, answered: 4, unanswered: 1, tokens: 1234 },
    { date: "2026-11-23", conversations: 5, messages: 14, answered: 6, unanswered: 2, tokens: 2345 },
  ],
  top_entries: [
    { id: "mnp-001", kb: "mnp", question: "MNPとは何ですか？", count: 12 },
    { id: "mnp-002", kb: "mnp", question: "予約番号の有効期限は？", count: 7 },
  ],
  ttft_ms: { p50: 420, p95: null },
};

function stubFetch(status: number, body: unknown) {
  vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } })));
}

function wrap(node: React.ReactNode, locale: "ja" | "en" = "ja") {
  return render(
    <I18nProvider initial={locale} persist={false}>
      {node}
    </I18nProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("AnalyticsTab", () => {
  it("draws the charts with text alternatives and the TTFT figures", async () => {
    stubFetch(200, SAMPLE);
    wrap(<AnalyticsTab />);
    await screen.findByText("日別の会話数とメッセージ数");
    const charts = screen.getAllByRole("img");
    expect(charts).toHaveLength(4);
    for (const c of charts) expect(c.getAttribute("aria-label")?.length).toBeGreaterThan(10);
    expect(charts[0]?.getAttribute("aria-label")).toContain("会話：合計 8、最大 5。");
    expect(charts[1]?.getAttribute("aria-label")).toContain("回答率 77%");
    expect(charts[2]?.getAttribute("aria-label")).toContain("mnp-001");
    expect(screen.getByText("420 ms")).toBeTruthy();
    expect(screen.getByText("—")).toBeTruthy();
    // Every chart's data is also a table.
    expect(document.querySelectorAll("figure details table")).toHaveLength(4);
    // Two days of answered bars and the legend swatch.
    expect(document.querySelectorAll("rect.series-ok")).toHaveLength(3);
  });

  it("says 'not enabled' when the server has no analytics", async () => {
    stubFetch(404, { error: { code: "not_found", message: "no route" } });
    wrap(<AnalyticsTab />, "en");
    await screen.findByText("Analytics is not enabled on this server.");
  });
});

describe("AuditTab", () => {
  it("lists entries", async () => {
    stubFetch(200, {
      items: [{ seq: 1, at: "2026-11-23T10:00:00Z", actor: "admin@example.com", action: "role.change", target: "user:1", ip: "127.0.0.1", user_agent: "x", request_id: "r-1" }],
      next_cursor: null,
    });
    wrap(<AuditTab />);
    await screen.findByText("role.change");
    expect(screen.getByText("admin@example.com")).toBeTruthy();
  });

  it("says 'not enabled' on 404", async () => {
    stubFetch(404, { error: { code: "not_found", message: "no route" } });
    wrap(<AuditTab />);
    await screen.findByText("監査ログはこのサーバーで有効になっていません。");
  });
});
