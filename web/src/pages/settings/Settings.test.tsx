// Settings: "Plan and usage" (only when billing is on) and "Files".

import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { I18nProvider } from "../../i18n";
import { FILE_VIEW, json, mockFetch } from "../../test/http";
import { BillingSection, UsageMeter } from "./BillingSection";
import { FilesSection } from "./FilesSection";

const BILLING = {
  enabled: true,
  plan: { id: "free", name_ja: "無料", name_en: "Free", monthly_tokens: 200_000 },
  status: "active",
  used_tokens: 50_000,
  current_period_end: "2026-12-01T00:00:00Z",
  cancel_at_period_end: false,
  plans: [
    { id: "free", name_ja: "無料", name_en: "Free", monthly_tokens: 200_000, purchasable: false },
    { id: "pro", name_ja: "プロ", name_en: "Pro", monthly_tokens: 5_000_000, purchasable: true },
    { id: "business", name_ja: "ビジネス", name_en: "Business", monthly_tokens: 50_000_000, purchasable: false },
  ],
};

function wrap(node: React.ReactNode, locale: "ja" | "en" = "ja") {
  return render(
    <I18nProvider initial={locale} persist={false}>
      {node}
    </I18nProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("UsageMeter", () => {
  it("is a meter with its numbers as text", () => {
    wrap(<UsageMeter used={50_000} limit={200_000} />);
    const meter = screen.getByRole("meter", { name: "今月の使用トークン数" });
    expect(meter.getAttribute("aria-valuemin")).toBe("0");
    expect(meter.getAttribute("aria-valuemax")).toBe("200000");
    expect(meter.getAttribute("aria-valuenow")).toBe("50000");
    expect(meter.getAttribute("aria-valuetext")).toBe("50,000 / 200,000 トークン（25%）");
    expect(screen.getByText("50,000 / 200,000 トークン（25%）")).toBeTruthy();
    expect((meter.firstElementChild as HTMLElement).style.width).toBe("25%");
  });

  it("stays inside its bounds over the limit and says so", () => {
    wrap(<UsageMeter used={260_000} limit={200_000} />, "en");
    const meter = screen.getByRole("meter", { name: "Tokens used this month" });
    expect(meter.getAttribute("aria-valuenow")).toBe("200000");
    expect(meter.getAttribute("aria-valuetext")).toBe("260,000 of 200,000 tokens (130%)");
    expect(meter.className).toContain("meter-over");
    expect((meter.firstElementChild as HTMLElement).style.width).toBe("100%");
    expect(screen.getByText("You have reached this month's limit.")).toBeTruthy();
  });

  it("has no bar without a monthly limit", () => {
    wrap(<UsageMeter used={1234} limit={0} />);
    expect(screen.queryByRole("meter")).toBeNull();
    expect(screen.getByText("1,234 トークン（上限なし）")).toBeTruthy();
  });
});

describe("BillingSection", () => {
  it("shows the plan, status, renewal date and usage, and upgrades through Checkout", async () => {
    const assign = vi.fn();
    vi.stubGlobal("location", { ...window.location, origin: window.location.origin, assign });
    const calls = mockFetch({
      "GET /api/billing": () => json(200, BILLING),
      "POST /api/billing/checkout": () => json(200, { url: "https://checkout.stripe.test/c/pay_123" }),
      "POST /api/billing/portal": () => json(200, { url: "javascript:alert(1)" }),
    });
    wrap(<BillingSection />);
    const section = await screen.findByRole("region", { name: "プランとご利用状況" });
    expect(within(section).getByText("無料")).toBeTruthy();
    expect(within(section).getByText("有効")).toBeTruthy();
    expect(within(section).getByText("次回更新日")).toBeTruthy();
    expect(within(section).getByRole("meter").getAttribute("aria-valuenow")).toBe("50000");
    // Only purchasable plans other than the current one are offered.
    expect(within(section).queryByRole("button", { name: "ビジネス にアップグレード" })).toBeNull();
    fireEvent.click(within(section).getByRole("button", { name: "プロ にアップグレード" }));
    await waitFor(() => expect(assign).toHaveBeenCalledWith("https://checkout.stripe.test/c/pay_123"));
    expect(JSON.parse(calls.find((c) => c.key === "POST /api/billing/checkout")?.body ?? "{}")).toEqual({ plan: "pro" });
  });

  it("never follows a non-http(s) URL from the server", async () => {
    const assign = vi.fn();
    vi.stubGlobal("location", { ...window.location, origin: window.location.origin, assign });
    mockFetch({
      "GET /api/billing": () => json(200, { ...BILLING, cancel_at_period_end: true }),
      "POST /api/billing/portal": () => json(200, { url: "javascript:alert(1)" }),
    });
    wrap(<BillingSection />, "en");
    await screen.findByText("Ends on");
    expect(screen.getByText("This plan will be canceled at the end of the period.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Manage billing" }));
    await screen.findByRole("alert");
    expect(assign).not.toHaveBeenCalled();
  });

  it("is hidden when billing is off, for guests and on servers without it", async () => {
    for (const answer of [
      () => json(200, { enabled: false }),
      () => json(401, { error: { code: "unauthorized", message: "x" } }),
      () => json(404, { error: { code: "not_found", message: "x" } }),
    ]) {
      const calls = mockFetch({ "GET /api/billing": answer });
      const { container, unmount } = wrap(<BillingSection />);
      await waitFor(() => expect(calls.length).toBe(1));
      await new Promise((r) => setTimeout(r, 10));
      expect(container.textContent).toBe("");
      unmount();
    }
  });
});

describe("FilesSection", () => {
  it("lists files with download links and deletes one after confirmation", async () => {
    let files = [FILE_VIEW, { ...FILE_VIEW, id: "f-2", name: "<b>見積書</b>.pdf", kind: "pdf", size: 3_500_000 }];
    const calls = mockFetch({
      "GET /api/files": () => json(200, { files }),
      "DELETE /api/files/f-2": () => {
        files = files.filter((f) => f.id !== "f-2");
        return new Response(null, { status: 204 });
      },
    });
    wrap(<FilesSection />);
    const section = await screen.findByRole("region", { name: "ファイル" });
    expect(calls[0]?.url.searchParams.get("limit")).toBe("100");
    const row = within(section).getByText("<b>見積書</b>.pdf").closest("tr") as HTMLElement;
    expect(within(row).getByText("3.3 MB")).toBeTruthy();
    expect(within(row).getByRole("link", { name: "「<b>見積書</b>.pdf」をダウンロード" }).getAttribute("href")).toBe("/api/files/f-2");
    expect(section.querySelector("td b")).toBeNull();

    fireEvent.click(within(row).getByRole("button", { name: "「<b>見積書</b>.pdf」を削除" }));
    const dialog = screen.getByRole("dialog");
    expect(within(dialog).getByText("「<b>見積書</b>.pdf」を削除します。元に戻せません。")).toBeTruthy();
    fireEvent.click(within(dialog).getByRole("button", { name: "削除" }));
    await screen.findByText("「<b>見積書</b>.pdf」を削除しました。");
    await waitFor(() => expect(screen.queryByText("<b>見積書</b>.pdf")).toBeNull());
    expect(screen.getByText("memo.txt")).toBeTruthy();
    expect(calls.map((c) => c.key)).toContain("DELETE /api/files/f-2");
  });

  it("says when there are none, and hides itself without a session", async () => {
    mockFetch({ "GET /api/files": () => json(200, { files: [] }) });
    const first = wrap(<FilesSection />);
    await screen.findByText("アップロードしたファイルはありません。");
    first.unmount();

    const calls = mockFetch({ "GET /api/files": () => json(401, { error: { code: "unauthorized", message: "x" } }) });
    const { container } = wrap(<FilesSection />);
    await waitFor(() => expect(calls.length).toBe(1));
    await new Promise((r) => setTimeout(r, 10));
    expect(container.textContent).toBe("");
  });
});
