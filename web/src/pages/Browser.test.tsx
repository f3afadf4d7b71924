// The /browser reader: its states (idle, reading, read, refused) against a mocked
// server, the page text shown strictly as text, and the quick actions.

import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resetSession } from "../api/session";
import { I18nProvider } from "../i18n";
import { RouterProvider } from "../router";
import { json, mockFetch, session, sse } from "../test/http";
import BrowserPage, { paragraphs } from "./Browser";

const PAGE = {
  conversation_id: "c-7",
  page: {
    url: "https://example.jp/yuzu/guide",
    title: "柚子の育て方",
    description: "家庭で柚子を育てるための手引き",
    text: "柚子は寒さに強い柑橘です。\n日当たりのよい場所で育てます。\n\n注意: <script>window.__xss=1</script> と <img src=x onerror=window.__xss=1> は文字です。\n\n\n収穫は11月ごろ。",
    truncated: true,
    fetched_bytes: 48_000,
  },
};

function renderPage(locale: "ja" | "en" = "ja") {
  return render(
    <I18nProvider initial={locale} persist={false}>
      <RouterProvider>
        <BrowserPage />
      </RouterProvider>
    </I18nProvider>,
  );
}

function read(url: string, label = "ページの URL", button = "読み込む") {
  fireEvent.change(screen.getByLabelText(label), { target: { value: url } });
  fireEvent.click(screen.getByRole("button", { name: button }));
}

beforeEach(() => resetSession());
afterEach(() => {
  vi.unstubAllGlobals();
  delete (window as { __xss?: unknown }).__xss;
});

describe("paragraphs", () => {
  it("splits at blank lines and keeps single line breaks", () => {
    expect(paragraphs("a\nb\n\n  \n\nc\r\n\r\nd\n")).toEqual(["a\nb", "c", "d"]);
    expect(paragraphs("")).toEqual([]);
  });
});

describe("BrowserPage", () => {
  it("starts with only the URL form", () => {
    mockFetch({});
    renderPage();
    expect(screen.getByRole("heading", { level: 1, name: "ウェブページを読む" })).toBeTruthy();
    const input = screen.getByLabelText("ページの URL") as HTMLInputElement;
    expect(input.type).toBe("url");
    expect((screen.getByRole("button", { name: "読み込む" }) as HTMLButtonElement).disabled).toBe(true);
    expect(document.querySelector(".browser-panes")).toBeNull();
  });

  it("reads a page: title, final URL, the text as paragraphs of plain text, and the truncated note", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls = mockFetch({
      "GET /api/session": session,
      "POST /api/browser/read": async () => {
        await gate;
        return json(200, PAGE);
      },
      "GET /api/conversations/c-7/messages": () => json(200, { messages: [] }),
    });
    renderPage();
    read("https://example.jp/yuzu");
    await screen.findByText("ページを読み込んでいます…");
    expect((screen.getByRole("button", { name: "読み込む" }) as HTMLButtonElement).disabled).toBe(true);
    release();

    const article = await screen.findByRole("article", { name: "柚子の育て方" });
    expect(JSON.parse(calls.find((c) => c.key === "POST /api/browser/read")?.body ?? "{}")).toEqual({ url: "https://example.jp/yuzu" });
    const link = within(article).getByRole("link", { name: /example\.jp\/yuzu\/guide/ });
    expect(link.getAttribute("href")).toBe("https://example.jp/yuzu/guide");
    expect(link.getAttribute("target")).toBe("_blank");
    expect(link.getAttribute("rel")).toBe("noopener noreferrer");
    expect(within(article).getByText("家庭で柚子を育てるための手引き")).toBeTruthy();

    const paras = article.querySelectorAll(".reader-body p");
    expect(paras).toHaveLength(3);
    expect(paras[0]?.textContent).toBe("柚子は寒さに強い柑橘です。\n日当たりのよい場所で育てます。");
    // Markup in the text is text: shown as typed, never turned into elements.
    expect(paras[1]?.textContent).toBe("注意: <script>window.__xss=1</script> と <img src=x onerror=window.__xss=1> は文字です。");
    expect(article.querySelectorAll("script, img, iframe")).toHaveLength(0);
    expect((window as { __xss?: unknown }).__xss).toBeUndefined();

    expect(within(article).getByText("ページが長いため、途中までを読み込みました。AI が読むのもこの部分までです。")).toBeTruthy();
    expect(screen.getByText("「柚子の育て方」を読み込みました。")).toBeTruthy();
    // The chat beside it is bound to the new conversation.
    expect(screen.getByRole("link", { name: "この会話をチャットで開く" }).getAttribute("href")).toBe("/chat/c-7");
    await waitFor(() => expect(calls.some((c) => c.key === "GET /api/conversations/c-7/messages")).toBe(true));
  });

  it("sends the quick actions as messages in the page's conversation", async () => {
    const calls = mockFetch({
      "GET /api/session": session,
      "POST /api/browser/read": () => json(200, { ...PAGE, page: { ...PAGE.page, truncated: false } }),
      "GET /api/conversations/c-7/messages": () => json(200, { messages: [] }),
      "POST /api/chat/stream": () =>
        sse([
          ["meta", 2, { conversation_id: "c-7", user_message_id: "u1", message_id: "m1", assistant: "default", model: "fake" }],
          ["sources", 3, { sources: [{ id: "pg-1", kind: "page", question: "柚子の育て方", source_url: "https://example.jp/yuzu/guide" }] }],
          ["delta", 4, { text: "柚子の育て方の要約です。" }],
          ["done", 5, { status: "complete" }],
        ]),
    });
    renderPage();
    read("https://example.jp/yuzu");
    await screen.findByRole("article", { name: "柚子の育て方" });
    expect(screen.queryByText(/途中までを読み込みました/)).toBeNull();
    const actions = screen.getByRole("group", { name: "すぐに聞く" });
    await waitFor(() => expect((within(actions).getByRole("button", { name: "要約する" }) as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(within(actions).getByRole("button", { name: "要約する" }));
    await waitFor(() => expect(document.querySelector(".msg-assistant .markdown")?.textContent).toBe("柚子の育て方の要約です。"));
    const body = JSON.parse(calls.find((c) => c.key === "POST /api/chat/stream")?.body ?? "{}");
    expect(body).toMatchObject({ conversation_id: "c-7", message: "このページの内容を日本語で簡潔に要約してください。" });
    expect(within(actions).getByRole("button", { name: "要点を3つ" })).toBeTruthy();
    const source = document.querySelector(".msg-assistant .sources a.chip") as HTMLAnchorElement;
    expect(source.getAttribute("href")).toBe("https://example.jp/yuzu/guide");
    expect(source.getAttribute("rel")).toBe("noopener noreferrer");
  });

  it("says why a page was refused, by code, with the server's explanation", async () => {
    mockFetch({
      "GET /api/session": session,
      "POST /api/browser/read": () => json(400, { error: { code: "address_not_allowed", message: "127.0.0.1 is a loopback address" } }),
    });
    renderPage();
    read("http://127.0.0.1/");
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("このアドレスは安全のため読み込めません");
    expect(alert.textContent).toContain("127.0.0.1 is a loopback address");
    expect(screen.getByLabelText("ページの URL").getAttribute("aria-invalid")).toBe("true");
    expect(document.querySelector(".browser-panes")).toBeNull();
  });

  it("localizes errors in English", async () => {
    mockFetch({
      "GET /api/session": session,
      "POST /api/browser/read": () => json(504, { error: { code: "fetch_timeout", message: "the page took too long to load" } }),
    });
    renderPage("en");
    read("https://slow.example.com/", "Page URL", "Read");
    expect((await screen.findByRole("alert")).textContent).toBe("The page took too long to load.");
  });
});
