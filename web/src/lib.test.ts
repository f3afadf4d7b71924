// Small pure helpers.
import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "./api/errors";
import { formatBytes } from "./components/bytes";
import { errorDetail, errorKey } from "./components/errorText";
import { safeHttpUrl } from "./components/url";
import { secondsLeft } from "./hooks/useCountdown";
import { translate } from "./i18n";
import { niceMax } from "./pages/admin/charts";
import { matchPath } from "./router";

describe("matchPath", () => {
  it("matches params and rejects other shapes", () => {
    expect(matchPath("/chat/:id", "/chat/abc-1")).toEqual({ id: "abc-1" });
    expect(matchPath("/chat/:id", "/chat/%E3%81%82")).toEqual({ id: "あ" });
    expect(matchPath("/chat/:id", "/chat")).toBeNull();
    expect(matchPath("/chat/:id", "/chat/a/b")).toBeNull();
    expect(matchPath("/admin/:tab", "/chat/x")).toBeNull();
    expect(matchPath("/chat/:id", "/chat/%E0%A4%A")).toBeNull();
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("7")).toBe(7);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    const now = Date.parse("2026-11-23T00:00:00Z");
    expect(parseRetryAfter("Mon, 23 Nov 2026 00:00:30 GMT", now)).toBe(30);
  });
});

describe("secondsLeft", () => {
  it("rounds up and never goes below zero", () => {
    expect(secondsLeft(null)).toBe(0);
    expect(secondsLeft(10_500, 10_000)).toBe(1);
    expect(secondsLeft(9_000, 10_000)).toBe(0);
  });
});

describe("translate", () => {
  it("fills placeholders in either language", () => {
    expect(translate("ja", "chat.waitSeconds", { seconds: 5 })).toBe("リクエストが多すぎます。あと 5 秒で送信できます。");
    expect(translate("en", "chat.waitSeconds", { seconds: 5 })).toBe("Too many requests. You can send again in 5 s.");
  });
});

describe("niceMax", () => {
  it("rounds axis tops up to round numbers", () => {
    expect([0, 1, 3, 7, 12, 230, 999].map(niceMax)).toEqual([1, 1, 5, 10, 20, 250, 1000]);
  });
});

describe("formatBytes", () => {
  it("uses binary units with one decimal below 10", () => {
    const fmt = (n: number, o?: Intl.NumberFormatOptions) => new Intl.NumberFormat("en", o).format(n);
    expect([0, 1023, 1024, 1536, 10 * 1024, 3_500_000, 5 * 1024 ** 3].map((n) => formatBytes(n, fmt))).toEqual([
      "0 B",
      "1,023 B",
      "1 KB",
      "1.5 KB",
      "10 KB",
      "3.3 MB",
      "5 GB",
    ]);
  });
});

describe("error text", () => {
  it("maps the file and reader codes, and shows the server's words only where they add particulars", () => {
    expect(errorKey("extension_not_allowed")).toBe("error.type_not_allowed");
    expect(errorKey("address_not_allowed")).toBe("error.address_not_allowed");
    expect(errorKey("something_new")).toBe("error.generic");
    expect(errorDetail({ code: "address_not_allowed", message: "10.0.0.1 is a private address" })).toBe("10.0.0.1 is a private address");
    expect(errorDetail({ code: "file_too_large", message: "" })).toBeNull();
    expect(errorDetail({ code: "invalid_url", message: "invalid URL: x" })).toBeNull();
  });
});

describe("safeHttpUrl", () => {
  it("lets only http(s) through", () => {
    expect(safeHttpUrl("https://example.jp/a?b=1")).toBe("https://example.jp/a?b=1");
    expect(safeHttpUrl("javascript:alert(1)")).toBeNull();
    expect(safeHttpUrl("data:text/html,x")).toBeNull();
    expect(safeHttpUrl("/relative")).toBeNull();
    expect(safeHttpUrl(null)).toBeNull();
  });
});
