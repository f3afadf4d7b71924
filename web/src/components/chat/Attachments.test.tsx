// Attaching files in the chat: upload at once with progress, chips, errors in the
// user's language, `file_ids` on send, and source chips for files and pages.

import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resetSession } from "../../api/session";
import type { UiMessage } from "../../chat/useChat";
import { I18nProvider } from "../../i18n";
import { FakeXhr, FILE_VIEW, mockFetch, session, sse } from "../../test/http";
import { ChatView } from "./ChatView";
import { SourceChips } from "./MessageItem";

const META = { conversation_id: "c1", user_message_id: "u1", message_id: "m1", assistant: "default", model: "fake" };

function renderChat(locale: "ja" | "en" = "ja") {
  return render(
    <I18nProvider initial={locale} persist={false}>
      <ChatView conversationId={null} assistant="default" greeting={null} allowFiles />
    </I18nProvider>,
  );
}

function fileInput(): HTMLInputElement {
  const input = document.querySelector<HTMLInputElement>('input[type="file"]');
  if (!input) throw new Error("no file input");
  return input;
}

function choose(...files: File[]) {
  fireEvent.change(fileInput(), { target: { files } });
}

/** The nth upload once it has been sent (uploads wait for the session first). */
async function upload(n: number): Promise<FakeXhr> {
  await waitFor(() => expect(FakeXhr.sent.length).toBeGreaterThan(n));
  return FakeXhr.sent[n] as FakeXhr;
}

beforeEach(() => {
  resetSession();
  FakeXhr.install();
});
afterEach(() => vi.unstubAllGlobals());

describe("attachments", () => {
  it("uploads a chosen file at once, shows its progress, and sends its id with the message", async () => {
    const calls = mockFetch({
      "GET /api/session": session,
      "POST /api/chat/stream": () =>
        sse([
          ["meta", 2, META],
          ["sources", 3, { sources: [{ id: "f-1", kind: "file", question: "memo.txt" }] }],
          ["delta", 4, { text: "要約です。" }],
          ["done", 5, { status: "complete" }],
        ]),
    });
    renderChat();
    expect(fileInput().getAttribute("accept")).toBe("image/png,image/jpeg,image/gif,image/webp,application/pdf,.docx,.txt,.md,.csv");
    choose(new File(["x".repeat(2048)], "memo.txt", { type: "text/plain" }));
    const chips = screen.getByRole("list", { name: "添付するファイル" });
    expect(within(chips).getByText("memo.txt")).toBeTruthy();
    expect(within(chips).getByText("2 KB")).toBeTruthy();
    const xhr = await upload(0);
    act(() => xhr.progress(30, 100));
    const bar = screen.getByRole("progressbar", { name: "「memo.txt」をアップロード中" }) as HTMLProgressElement;
    expect(bar.value).toBeCloseTo(0.3);

    // Sending waits for the upload.
    const box = screen.getByRole("textbox", { name: "メッセージ" });
    fireEvent.change(box, { target: { value: "このファイルを要約して" } });
    expect((screen.getByRole("button", { name: "送信" }) as HTMLButtonElement).disabled).toBe(true);
    act(() => xhr.finish(201, FILE_VIEW));
    await waitFor(() => expect((screen.getByRole("button", { name: "送信" }) as HTMLButtonElement).disabled).toBe(false));
    expect(screen.getByText("1 件のファイルを添付できます。")).toBeTruthy();

    fireEvent.keyDown(box, { key: "Enter" });
    await waitFor(() => expect(document.querySelector(".msg-assistant .markdown")?.textContent).toBe("要約です。"));
    const body = JSON.parse(calls.find((c) => c.key === "POST /api/chat/stream")?.body ?? "{}");
    expect(body).toMatchObject({ message: "このファイルを要約して", file_ids: ["f-1"] });
    // The chips are gone; the sent message lists its file; the answer's source is a download.
    expect(screen.queryByRole("list", { name: "添付するファイル" })).toBeNull();
    const sent = screen.getByRole("list", { name: "添付したファイル" });
    expect(within(sent).getByRole("link", { name: /memo\.txt/ }).getAttribute("href")).toBe("/api/files/f-1");
    const source = document.querySelector(".msg-assistant .sources a.chip") as HTMLAnchorElement;
    expect(source.getAttribute("href")).toBe("/api/files/f-1");
  });

  it("sends no file_ids without files (a server without file support refuses unknown fields)", async () => {
    const calls = mockFetch({
      "GET /api/session": session,
      "POST /api/chat/stream": () => sse([["meta", 2, META], ["done", 3, { status: "complete" }]]),
    });
    renderChat();
    const box = screen.getByRole("textbox", { name: "メッセージ" });
    fireEvent.change(box, { target: { value: "こんにちは" } });
    fireEvent.keyDown(box, { key: "Enter" });
    await waitFor(() => expect(calls.some((c) => c.key === "POST /api/chat/stream")).toBe(true));
    const body = JSON.parse(calls.find((c) => c.key === "POST /api/chat/stream")?.body ?? "{}");
    expect("file_ids" in body).toBe(false);
  });

  it("shows upload errors inline, translated by code, with the server's particulars", async () => {
    mockFetch({ "GET /api/session": session });
    renderChat();
    choose(new File(["x"], "huge.pdf", { type: "application/pdf" }));
    (await upload(0)).finish(413, { error: { code: "file_too_large", message: "the file is larger than 20 MB" } });
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("ファイルが大きすぎます。");
    expect(alert.textContent).toContain("the file is larger than 20 MB");
    expect(alert.querySelector('[lang="en"]')).not.toBeNull();

    choose(new File(["x"], "fake.png", { type: "image/png" }));
    (await upload(1)).finish(415, { error: { code: "extension_mismatch", message: "the file name says .png but the content is text" } });
    await screen.findByText("ファイル名の拡張子と中身の形式が一致しません。");
  });

  it("translates into English too, and refuses a dropped .exe without uploading it", async () => {
    mockFetch({ "GET /api/session": session });
    renderChat("en");
    choose(new File(["x"], "quota.txt"));
    (await upload(0)).finish(507, { error: { code: "storage_quota_exceeded", message: "500 MB used of 500 MB" } });
    await screen.findByText(/You have used up your file storage/);

    const form = document.querySelector("form.composer") as HTMLFormElement;
    const exe = new File(["MZ"], "setup.exe", { type: "application/octet-stream" });
    fireEvent.drop(form, { dataTransfer: { types: ["Files"], files: [exe] } });
    await screen.findByText(/This type of file can't be attached/);
    expect(FakeXhr.sent.length).toBe(1);
  });

  it("removes a chip (stopping its upload) and keeps at most 10 files", async () => {
    mockFetch({ "GET /api/session": session });
    renderChat();
    choose(new File(["a"], "a.txt"));
    const xhr = await upload(0);
    let aborted = false;
    xhr.addEventListener("abort", () => (aborted = true));
    fireEvent.click(screen.getByRole("button", { name: "「a.txt」の添付を取り消す" }));
    expect(screen.queryByText("a.txt")).toBeNull();
    expect(aborted).toBe(true);

    choose(...Array.from({ length: 12 }, (_, i) => new File(["x"], `n${i}.md`)));
    expect(screen.getAllByRole("listitem").filter((li) => li.classList.contains("attachment"))).toHaveLength(10);
    expect(screen.getByText("一度に添付できるのは 10 件までです。")).toBeTruthy();
  });

  it("attaches a pasted image", async () => {
    mockFetch({ "GET /api/session": session });
    renderChat();
    const image = new File(["png"], "image.png", { type: "image/png" });
    fireEvent.paste(screen.getByRole("textbox", { name: "メッセージ" }), {
      clipboardData: { files: [image], getData: () => "" },
    });
    await screen.findByText("image.png");
    await upload(0);
  });
});

describe("source chips", () => {
  const wrap = (sources: UiMessage["sources"]) =>
    render(
      <I18nProvider initial="ja" persist={false}>
        <SourceChips sources={sources} onOpen={() => {}} />
      </I18nProvider>,
    );

  it("links a page to its URL in a new tab, a file to its download, and keeps knowledge-base entries as buttons", () => {
    wrap([
      { id: "p-1", kind: "page", question: "柚子の育て方", source_url: "https://example.jp/yuzu" },
      { id: "f-9", kind: "file", question: "見積書.pdf" },
      { id: "mnp-001", kb: "mnp", question: "MNPとは" },
    ]);
    const page = screen.getByRole("link", { name: /柚子の育て方/ });
    expect(page.getAttribute("href")).toBe("https://example.jp/yuzu");
    expect(page.getAttribute("target")).toBe("_blank");
    expect(page.getAttribute("rel")).toBe("noopener noreferrer");
    const file = screen.getByRole("link", { name: /見積書\.pdf/ });
    expect(file.getAttribute("href")).toBe("/api/files/f-9");
    expect(file.hasAttribute("download")).toBe(true);
    expect(screen.getByRole("button", { name: /mnp-001/ })).toBeTruthy();
  });

  it("never links a page source whose URL is not http(s), and shows names as text", () => {
    wrap([
      { id: "p-2", kind: "page", question: "<img src=x onerror=alert(1)>", source_url: "javascript:alert(1)" },
      { id: "f/../x", kind: "file", question: "<b>bold</b>.txt" },
    ]);
    expect(screen.queryByRole("link", { name: /onerror/ })).toBeNull();
    expect(screen.getByText("<img src=x onerror=alert(1)>")).toBeTruthy();
    expect(document.querySelector(".sources img, .sources b")).toBeNull();
    expect(screen.getByRole("link", { name: /bold/ }).getAttribute("href")).toBe("/api/files/f%2F..%2Fx");
  });
});
