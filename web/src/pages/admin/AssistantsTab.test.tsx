// Admin › Assistants: the list with where each assistant is defined, the form
// (create, edit = override, field errors from a 422) and deleting with a confirm.

import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { I18nProvider } from "../../i18n";
import { json, mockFetch, type FetchCall } from "../../test/http";
import { AssistantsTab } from "./AssistantsTab";

const BASES = {
  knowledge_bases: [
    { id: "mnp", name: "MNP サポート", description: "", created_at: "2026-11-01T00:00:00Z", updated_at: "2026-11-01T00:00:00Z" },
    { id: "yuzu", name: "柚子", description: "", created_at: "2026-11-01T00:00:00Z", updated_at: "2026-11-01T00:00:00Z" },
  ],
};

const def = (id: string, ja: string, en: string, source: string, extra: Record<string, unknown> = {}) => ({
  id,
  name_ja: ja,
  name_en: en,
  system_prompt: `${id} prompt`,
  model: null,
  temperature: 0.7,
  knowledge_bases: [],
  knowledge_only: false,
  greeting_ja: "",
  greeting_en: "",
  source,
  overrides: false,
  ...extra,
});

const DEFAULT = def("default", "TENMON-ARK", "TENMON-ARK", "builtin");
const SITE = def("site-guide", "サイト案内", "Site guide", "config");
const FAQ = def("faq-bot", "よくある質問", "FAQ bot", "database", { knowledge_bases: ["mnp", "yuzu"], knowledge_only: true });

function wrap(locale: "ja" | "en" = "ja") {
  return render(
    <I18nProvider initial={locale} persist={false}>
      <AssistantsTab />
    </I18nProvider>,
  );
}

/** Routes where GET /api/admin/assistants answers each list in turn (the last one repeats). */
function serve(lists: unknown[][], more: Parameters<typeof mockFetch>[0] = {}): FetchCall[] {
  let n = 0;
  return mockFetch({
    "GET /api/admin/assistants": () => json(200, { assistants: lists[Math.min(n++, lists.length - 1)] }),
    "GET /api/kb/bases": () => json(200, BASES),
    ...more,
  });
}

const row = (id: string) => screen.getByRole("cell", { name: id }).closest("tr") as HTMLElement;
const count = (calls: FetchCall[], key: string) => calls.filter((c) => c.key === key).length;

afterEach(() => vi.unstubAllGlobals());

describe("AssistantsTab", () => {
  it("lists every assistant with its source and knowledge bases, and offers delete only for database ones", async () => {
    serve([[DEFAULT, SITE, FAQ]]);
    wrap();
    await screen.findByText("よくある質問");
    expect(within(row("default")).getByText("組み込み")).toBeTruthy();
    expect(within(row("site-guide")).getByText("サイト案内")).toBeTruthy();
    expect(within(row("site-guide")).getByText("設定ファイル")).toBeTruthy();
    expect(within(row("faq-bot")).getByText("データベース")).toBeTruthy();
    expect(within(row("faq-bot")).getByText("mnp")).toBeTruthy();
    expect(within(row("faq-bot")).getByText("yuzu")).toBeTruthy();
    expect(within(row("default")).getByText("なし")).toBeTruthy();
    for (const id of ["default", "site-guide", "faq-bot"]) expect(screen.getByRole("button", { name: `${id} を編集` })).toBeTruthy();
    expect(screen.getByRole("button", { name: "faq-bot を削除" }).textContent).toBe("削除");
    expect(screen.queryByRole("button", { name: "default を削除" })).toBeNull();
    expect(screen.queryByRole("button", { name: "site-guide を削除" })).toBeNull();
    expect(within(row("default")).queryAllByRole("button")).toHaveLength(1);
    expect(within(row("site-guide")).queryAllByRole("button")).toHaveLength(1);
  });

  it("names assistants in the current language", async () => {
    serve([[DEFAULT, SITE, FAQ]]);
    wrap("en");
    await screen.findByText("FAQ bot");
    expect(screen.getByText("Site guide")).toBeTruthy();
    expect(within(row("faq-bot")).getByText("Database")).toBeTruthy();
    expect(within(row("default")).getByText("Built-in")).toBeTruthy();
    expect(within(row("site-guide")).getByText("Config file")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Delete faq-bot" })).toBeTruthy();
  });

  it("creates an assistant with a PUT of what the form holds, then lists it", async () => {
    const created = def("yuzu-guide", "柚子案内", "Yuzu guide", "database", {
      system_prompt: "柚子について答えてください。",
      temperature: 0.3,
      knowledge_bases: ["yuzu"],
      knowledge_only: true,
      greeting_ja: "こんにちは",
    });
    const calls = serve([[DEFAULT, FAQ], [DEFAULT, FAQ, created]], {
      "PUT /api/admin/assistants/yuzu-guide": () => json(201, created),
    });
    wrap();
    await screen.findByText("よくある質問");
    fireEvent.click(screen.getByRole("button", { name: "新規作成" }));
    const dialog = await screen.findByRole("dialog", { name: "アシスタントを作成" });
    const d = within(dialog);
    expect(d.queryByText(/上書き設定として保存されます/)).toBeNull();
    const save = d.getByRole("button", { name: "保存" }) as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    const id = d.getByLabelText("ID") as HTMLInputElement;
    expect(id.readOnly).toBe(false);
    fireEvent.change(id, { target: { value: "yuzu-guide" } });
    fireEvent.change(d.getByLabelText("名前（日本語）"), { target: { value: "柚子案内" } });
    fireEvent.change(d.getByLabelText("名前（英語）"), { target: { value: " Yuzu guide " } });
    fireEvent.change(d.getByLabelText("システムプロンプト"), { target: { value: "柚子について答えてください。" } });
    fireEvent.change(d.getByLabelText("温度（任意）"), { target: { value: "0.3" } });
    fireEvent.change(d.getByLabelText("最初のあいさつ（日本語）"), { target: { value: "こんにちは" } });
    // "Knowledge only" waits for a knowledge base.
    const only = d.getByLabelText("ナレッジベースの内容だけで回答する") as HTMLInputElement;
    expect(only.disabled).toBe(true);
    expect(d.getByRole("group", { name: "ナレッジベース" })).toBeTruthy();
    fireEvent.click(d.getByLabelText("柚子（yuzu）"));
    expect(only.disabled).toBe(false);
    fireEvent.click(only);
    expect(save.disabled).toBe(false);
    fireEvent.click(save);

    await waitFor(() => expect(count(calls, "PUT /api/admin/assistants/yuzu-guide")).toBe(1));
    const put = calls.find((c) => c.key === "PUT /api/admin/assistants/yuzu-guide");
    expect(JSON.parse(put?.body ?? "null")).toEqual({
      id: "yuzu-guide",
      name_ja: "柚子案内",
      name_en: "Yuzu guide",
      system_prompt: "柚子について答えてください。",
      model: null,
      temperature: 0.3,
      knowledge_bases: ["yuzu"],
      knowledge_only: true,
      greeting_ja: "こんにちは",
      greeting_en: "",
    });
    await screen.findByText("「柚子案内」（yuzu-guide）を保存しました。");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(within(row("yuzu-guide")).getByText("データベース")).toBeTruthy();
    expect(count(calls, "GET /api/admin/assistants")).toBe(2);
  });

  it("does not create over an id that is already listed", async () => {
    const calls = serve([[DEFAULT, FAQ]]);
    wrap();
    await screen.findByText("よくある質問");
    fireEvent.click(screen.getByRole("button", { name: "新規作成" }));
    const d = within(await screen.findByRole("dialog"));
    fireEvent.change(d.getByLabelText("ID"), { target: { value: "default" } });
    fireEvent.change(d.getByLabelText("名前（日本語）"), { target: { value: "別物" } });
    fireEvent.change(d.getByLabelText("名前（英語）"), { target: { value: "Other" } });
    fireEvent.change(d.getByLabelText("システムプロンプト"), { target: { value: "p" } });
    fireEvent.click(d.getByRole("button", { name: "保存" }));
    await d.findByText(/この ID のアシスタントはすでにあります/);
    expect(calls.some((c) => c.key.startsWith("PUT "))).toBe(false);
  });

  it("shows a 422 next to the field it names, and other errors as an alert", async () => {
    let answer = 0;
    const calls = serve([[DEFAULT, FAQ]], {
      "PUT /api/admin/assistants/faq-bot": () =>
        answer++ === 0
          ? json(422, { error: { code: "validation_failed", message: "temperature: must be from 0 to 2", field: "temperature" } })
          : json(500, { error: { code: "internal_error", message: "boom" } }),
    });
    wrap();
    await screen.findByText("よくある質問");
    fireEvent.click(screen.getByRole("button", { name: "faq-bot を編集" }));
    const dialog = await screen.findByRole("dialog", { name: "アシスタント faq-bot を編集" });
    const d = within(dialog);
    // A database assistant is edited in place: no override hint, and its id is fixed.
    expect(d.queryByText(/上書き設定として保存されます/)).toBeNull();
    expect((d.getByLabelText("ID") as HTMLInputElement).readOnly).toBe(true);
    expect((d.getByLabelText("MNP サポート（mnp）") as HTMLInputElement).checked).toBe(true);
    expect((d.getByLabelText("ナレッジベースの内容だけで回答する") as HTMLInputElement).checked).toBe(true);
    const temp = d.getByLabelText("温度（任意）") as HTMLInputElement;
    expect(temp.value).toBe("0.7");
    fireEvent.change(temp, { target: { value: "1.5" } });
    fireEvent.click(d.getByRole("button", { name: "保存" }));

    const message = await d.findByText("温度は 0〜2 の数値にしてください。");
    expect(temp.getAttribute("aria-invalid")).toBe("true");
    expect(temp.getAttribute("aria-describedby")?.split(" ")).toContain(message.id);
    expect(message.closest(".field")).toBe(temp.closest(".field"));
    expect(d.queryByRole("alert")).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(temp));
    // Other fields are not marked.
    expect(d.getByLabelText("名前（英語）").getAttribute("aria-invalid")).toBeNull();
    const body = JSON.parse(calls.find((c) => c.key === "PUT /api/admin/assistants/faq-bot")?.body ?? "null");
    expect(body).toMatchObject({ id: "faq-bot", temperature: 1.5, knowledge_bases: ["mnp", "yuzu"], knowledge_only: true });

    // Anything else is an alert, and the field error is gone.
    fireEvent.click(d.getByRole("button", { name: "保存" }));
    const alert = await d.findByRole("alert");
    expect(alert.textContent).toContain("サーバーでエラーが発生しました");
    expect(d.queryByText("温度は 0〜2 の数値にしてください。")).toBeNull();
    expect(temp.getAttribute("aria-invalid")).toBeNull();
  });

  it("deletes a database assistant only after confirming", async () => {
    const calls = serve([[DEFAULT, FAQ], [DEFAULT]], {
      "DELETE /api/admin/assistants/faq-bot": () => json(204, null),
    });
    wrap();
    await screen.findByText("よくある質問");
    fireEvent.click(screen.getByRole("button", { name: "faq-bot を削除" }));
    let dialog = await screen.findByRole("dialog", { name: "アシスタントを削除しますか？" });
    expect(dialog.textContent).toContain("「よくある質問」（faq-bot）を削除します。");
    fireEvent.click(within(dialog).getByRole("button", { name: "キャンセル" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(count(calls, "DELETE /api/admin/assistants/faq-bot")).toBe(0);

    fireEvent.click(screen.getByRole("button", { name: "faq-bot を削除" }));
    dialog = await screen.findByRole("dialog", { name: "アシスタントを削除しますか？" });
    fireEvent.click(within(dialog).getByRole("button", { name: "削除" }));
    await screen.findByText("faq-bot を削除しました。");
    expect(count(calls, "DELETE /api/admin/assistants/faq-bot")).toBe(1);
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(screen.queryByText("よくある質問")).toBeNull();
  });

  it("edits a built-in as an override, and removing the override brings the built-in back", async () => {
    const concierge = def("concierge", "コンシェルジュ", "Concierge", "builtin", { temperature: 0.5 });
    const override = { ...concierge, name_ja: "特別コンシェルジュ", source: "database", overrides: true };
    const calls = serve([[DEFAULT, concierge], [DEFAULT, override], [DEFAULT, concierge]], {
      "PUT /api/admin/assistants/concierge": () => json(200, override),
      "DELETE /api/admin/assistants/concierge": () => json(204, null),
    });
    wrap();
    await screen.findByText("コンシェルジュ");
    expect(screen.queryByRole("button", { name: "concierge の上書きを削除" })).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "concierge を編集" }));
    const d = within(await screen.findByRole("dialog", { name: "アシスタント concierge を編集" }));
    const hint = d.getByText(/保存すると上書き設定として保存されます/);
    expect(d.getByRole("button", { name: "保存" }).getAttribute("aria-describedby")).toBe(hint.id);
    expect((d.getByLabelText("ID") as HTMLInputElement).value).toBe("concierge");
    fireEvent.change(d.getByLabelText("名前（日本語）"), { target: { value: "特別コンシェルジュ" } });
    fireEvent.click(d.getByRole("button", { name: "保存" }));
    await screen.findByText("「特別コンシェルジュ」（concierge）を保存しました。");
    const body = JSON.parse(calls.find((c) => c.key === "PUT /api/admin/assistants/concierge")?.body ?? "null");
    expect(body).toMatchObject({ id: "concierge", name_ja: "特別コンシェルジュ", temperature: 0.5 });
    expect(body).not.toHaveProperty("source");

    const remove = screen.getByRole("button", { name: "concierge の上書きを削除" });
    expect(remove.textContent).toBe("上書きを削除");
    fireEvent.click(remove);
    const dialog = await screen.findByRole("dialog", { name: "上書きを削除しますか？" });
    expect(dialog.textContent).toContain("元の設定に戻します");
    fireEvent.click(within(dialog).getByRole("button", { name: "上書きを削除" }));
    await screen.findByText("concierge の上書きを削除しました。元の「コンシェルジュ」に戻りました。");
    expect(count(calls, "DELETE /api/admin/assistants/concierge")).toBe(1);
    expect(within(row("concierge")).getByText("組み込み")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "concierge の上書きを削除" })).toBeNull();
  });
});
