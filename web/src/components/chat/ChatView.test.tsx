import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { I18nProvider } from "../../i18n";
import { resetSession } from "../../api/session";
import { ChatView } from "./ChatView";

type Handler = (url: URL, init: RequestInit | undefined) => Response | Promise<Response>;

function sse(events: [string, number, unknown][]): Response {
  const text = events.map(([e, id, d]) => `event: ${e}\nid: ${id}\ndata: ${JSON.stringify(d)}\n\n`).join("");
  return new Response(text, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

const META = { conversation_id: "c1", user_message_id: "u1", message_id: "m1", assistant: "default", model: "fake" };

function mockFetch(routes: Record<string, Handler>) {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = input instanceof Request ? input : null;
      const url = new URL(req ? req.url : String(input));
      const method = (req?.method ?? init?.method ?? "GET").toUpperCase();
      const key = `${method} ${url.pathname}`;
      calls.push(key);
      const h = routes[key];
      if (!h) return new Response('{"error":{"code":"not_found","message":"x"}}', { status: 404 });
      return h(url, init);
    }),
  );
  return calls;
}

const session = () => new Response('{"session_id":"s","kind":"guest","expires_at":"2030-01-01T00:00:00Z"}', { status: 200 });

function renderChat() {
  return render(
    <I18nProvider initial="ja" persist={false}>
      <ChatView conversationId={null} assistant="default" greeting="こんにちは" />
    </I18nProvider>,
  );
}

async function sendMessage(text: string) {
  const box = screen.getByRole("textbox", { name: "メッセージ" });
  fireEvent.change(box, { target: { value: text } });
  fireEvent.keyDown(box, { key: "Enter" });
}

beforeEach(() => resetSession());
afterEach(() => vi.unstubAllGlobals());

describe("ChatView", () => {
  it("shows the greeting, then the streamed answer with its sources", async () => {
    mockFetch({
      "GET /api/session": session,
      "POST /api/chat/stream": () =>
        sse([
          ["meta", 2, META],
          ["sources", 3, { sources: [{ id: "mnp-001", kb: "mnp", question: "MNPとは" }] }],
          ["delta", 4, { text: "**10桁**の" }],
          ["delta", 5, { text: "番号です。" }],
          ["done", 6, { status: "complete" }],
        ]),
    });
    renderChat();
    expect(screen.getByText("こんにちは")).toBeTruthy();
    await sendMessage("MNP予約番号とは");
    await waitFor(() => expect(document.querySelector(".msg-assistant .markdown")?.textContent).toBe("10桁の番号です。"));
    expect(document.querySelector(".msg-assistant strong")?.textContent).toBe("10桁");
    expect(screen.getByRole("button", { name: /mnp-001/ })).toBeTruthy();
    expect(screen.getByRole("button", { name: "回答をコピー" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "再試行" })).toBeTruthy();
  });

  it("does not send while an IME is composing (Japanese input confirms with Enter)", async () => {
    const calls = mockFetch({ "GET /api/session": session });
    renderChat();
    const box = screen.getByRole("textbox", { name: "メッセージ" });
    fireEvent.change(box, { target: { value: "にほんご" } });
    fireEvent.keyDown(box, { key: "Enter", isComposing: true });
    fireEvent.keyDown(box, { key: "Enter", keyCode: 229 });
    await new Promise((r) => setTimeout(r, 20));
    expect(calls.filter((c) => c.includes("/api/chat"))).toEqual([]);
    expect((box as HTMLTextAreaElement).value).toBe("にほんご");
  });

  it("counts down a rate limit from Retry-After and refuses to send meanwhile", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    mockFetch({
      "GET /api/session": session,
      "POST /api/chat/stream": () =>
        new Response('{"error":{"code":"rate_limited","message":"too many requests; retry in 3 s"}}', {
          status: 429,
          headers: { "Retry-After": "3" },
        }),
    });
    renderChat();
    await sendMessage("こんにちは");
    await screen.findByText("リクエストが多すぎます。あと 3 秒で送信できます。");
    expect(screen.getByText("リクエストが多すぎます。少し待ってから再試行してください。")).toBeTruthy();
    fireEvent.change(screen.getByRole("textbox", { name: "メッセージ" }), { target: { value: "もう一度" } });
    expect((screen.getByRole("button", { name: "送信" }) as HTMLButtonElement).disabled).toBe(true);
    await act(async () => {
      vi.advanceTimersByTime(3500);
    });
    await waitFor(() => expect((screen.getByRole("button", { name: "送信" }) as HTMLButtonElement).disabled).toBe(false));
    vi.useRealTimers();
  });

  it("says when the model upstream failed and offers a retry that sends the question again", async () => {
    let n = 0;
    const bodies: string[] = [];
    mockFetch({
      "GET /api/session": session,
      "POST /api/chat/stream": (_url, init) => {
        bodies.push(String(init?.body));
        n++;
        return n === 1
          ? sse([
              ["meta", 2, META],
              ["error", 3, { code: "upstream_unavailable", message: "the model service failed" }],
            ])
          : sse([
              ["meta", 5, { ...META, user_message_id: "u2", message_id: "m2" }],
              ["delta", 6, { text: "今度は答えます。" }],
              ["done", 7, { status: "complete" }],
            ]);
      },
    });
    renderChat();
    await sendMessage("質問です");
    await screen.findByText("AI サービスに接続できません。しばらくしてから再試行してください。");
    fireEvent.click(screen.getByRole("button", { name: "再試行" }));
    await waitFor(() => expect(document.querySelector(".msg-assistant:last-child .markdown")?.textContent).toBe("今度は答えます。"));
    expect(bodies.map((b) => JSON.parse(b).message)).toEqual(["質問です", "質問です"]);
  });

  it("shows the offline state from the browser's online events", async () => {
    mockFetch({ "GET /api/session": session });
    renderChat();
    act(() => {
      Object.defineProperty(navigator, "onLine", { value: false, configurable: true });
      window.dispatchEvent(new Event("offline"));
    });
    expect(screen.getByText("オフラインです。接続が戻ると続きを受け取ります。")).toBeTruthy();
    act(() => {
      Object.defineProperty(navigator, "onLine", { value: true, configurable: true });
      window.dispatchEvent(new Event("online"));
    });
    expect(screen.queryByText("オフラインです。接続が戻ると続きを受け取ります。")).toBeNull();
  });

  it("asks for consent to the privacy notice first when the server requires it", async () => {
    const consents: string[] = [];
    mockFetch({
      "GET /api/session": session,
      "GET /api/privacy": () =>
        new Response(
          JSON.stringify({ notice_version: "2026-11", consent_required: true, consented: false, masking: true, stores_personal_data: false, retention_days: 30 }),
          { status: 200 },
        ),
      "POST /api/me/consent": (_url, init) => {
        consents.push(String(init?.body ?? ""));
        return new Response(null, { status: 204 });
      },
    });
    renderChat();
    await screen.findByText("このチャットを使うには、プライバシーに関する説明（版 2026-11）への同意が必要です。");
    expect(screen.getByText("30 日間使われなかった会話は削除されます。")).toBeTruthy();
    fireEvent.change(screen.getByRole("textbox", { name: "メッセージ" }), { target: { value: "こんにちは" } });
    expect((screen.getByRole("button", { name: "送信" }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole("button", { name: "同意して始める" }));
    await waitFor(() => expect(screen.queryByText("同意して始める")).toBeNull());
    expect((screen.getByRole("button", { name: "送信" }) as HTMLButtonElement).disabled).toBe(false);
    expect(consents.length).toBe(1);
  });

  it("stops a turn through the cancel endpoint and keeps the partial answer", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const enc = new TextEncoder();
    const cancelCalls: string[] = [];
    mockFetch({
      "GET /api/session": session,
      "POST /api/chat/stream": () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async start(c) {
              c.enqueue(enc.encode(`event: meta\nid: 2\ndata: ${JSON.stringify(META)}\n\nevent: delta\nid: 3\ndata: {"text":"途中まで"}\n\n`));
              await gate;
              c.enqueue(enc.encode(`event: done\nid: 4\ndata: {"status":"cancelled"}\n\n`));
              c.close();
            },
          }),
          { status: 200 },
        ),
      "POST /api/chat/m1/cancel": (url) => {
        cancelCalls.push(url.pathname);
        release();
        return new Response('{"message_id":"m1","status":"cancelled"}', { status: 200 });
      },
    });
    renderChat();
    await sendMessage("長い質問");
    await waitFor(() => expect(document.querySelector(".msg-assistant .markdown")?.textContent).toBe("途中まで"));
    fireEvent.click(screen.getByRole("button", { name: "停止" }));
    await screen.findByText("回答を停止しました。ここまでの内容は保存されています。");
    expect(cancelCalls).toEqual(["/api/chat/m1/cancel"]);
    expect(document.querySelector(".msg-assistant .markdown")?.textContent).toBe("途中まで");
  });
});
