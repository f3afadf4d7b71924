// End-to-end tests: the built UI (web/dist) in Debian's Chromium against the real
// server and the fake OpenAI upstream. One process, node's own test runner.
//   npm run build && npm run e2e
// Env: TENMON_ARK_BIN, TENMON_FAKE_OPENAI_BIN (default: ~/.cache/tenmon-ark/target/debug/…),
// CHROMIUM_PATH (default /usr/bin/chromium). Screenshots go to e2e/artifacts/.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import {
  ADMIN,
  ARTIFACTS,
  DIST,
  axeViolations,
  freePort,
  launchBrowser,
  servesUi,
  startFake,
  startServer,
  startUiProxy,
  startWidgetHost,
  stopAll,
} from "./harness.mjs";

const JA_ANSWER =
  "MNP予約番号は、現在ご契約中の携帯電話会社で発行できる10桁の番号です。有効期限は発行日を含めて15日間で、その間に乗り換え先でお手続きください。";
const SLOW_ANSWER = "ゆっくり届く長い回答です。".repeat(12) + "ここで終わりです。";
const XSS_ANSWER =
  "注意してください: <img src=x onerror=window.__xss=1> そして\n\n<script>window.__xss=1</script>\n\nどちらも文字として表示されます。";

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** @type {{ base: string, app: string }} */
let A; // fast answers; the widget's server
let B; // slow answers, for stopping
let C; // an answer with HTML in it
let hostOrigin;
let browser;
const closers = [];
/** The server has the file and /browser routes (they came later than the rest). */
/** A site on loopback for the /browser reader, and what it was asked for. */
let site;

async function withUi(server, corsOrigin) {
  if (await servesUi(server.base)) return { ...server, app: server.base, proxied: false };
  const proxy = await startUiProxy(server.base, corsOrigin);
  closers.push(proxy.close);
  return { ...server, app: proxy.base, proxied: true };
}

before(async () => {
  if (!existsSync(join(DIST, "index.html")) || !existsSync(join(DIST, "widget.js"))) {
    throw new Error("web/dist is missing: run `npm run build` first");
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const hostPort = await freePort();
  // "localhost" vs "127.0.0.1": another site, as a customer's page would be.
  hostOrigin = `http://localhost:${hostPort}`;
  const [fa, fb, fc] = await Promise.all([
    startFake({ delayMs: 30, answer: JA_ANSWER }),
    startFake({ delayMs: 200, answer: SLOW_ANSWER }),
    startFake({ delayMs: 5, answer: XSS_ANSWER }),
  ]);
  const [sa, sb, sc] = await Promise.all([
    startServer({ fakeUrl: fa.url, corsOrigin: hostOrigin }),
    startServer({ fakeUrl: fb.url }),
    // This one asks for consent to its privacy notice before the first turn.
    startServer({ fakeUrl: fc.url, env: { GDPR_COMPLIANCE: "true" } }),
  ]);
  A = await withUi(sa, hostOrigin);
  B = await withUi(sb);
  C = await withUi(sc);
  if (A.proxied) {
    console.log("# NOTE: the server does not serve web/dist itself; a stand-in proxy serves the UI for these tests");
  }
  closers.push((await startWidgetHost(A.app, hostPort)).close);
  site = await startSite();
  closers.push(site.close);
  browser = await launchBrowser();
});

const SITE_TITLE = "柚子の栽培ガイド";
const SITE_SCRIPT_TEXT = "<script>window.__xss=1</script>";
const SITE_IMG_TEXT = "<img src=x onerror=window.__xss=1>";

/**
 * A web page for the reader, served on loopback by the test itself (the server is
 * started with BROWSER_ALLOWED_HOSTS=127.0.0.1/32). /go redirects to /article, so
 * the final URL differs from the one typed; the article holds markup as text and
 * a real script that readable-text extraction must drop.
 */
async function startSite() {
  const hits = [];
  const html = `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>${SITE_TITLE}</title>
<meta name="description" content="家庭で柚子を育てるための手引きです。">
<script>window.__siteScriptRan = 1;</script></head>
<body><nav><a href="/">ホーム</a></nav>
<article><h1>${SITE_TITLE}</h1>
<p>柚子は寒さに強い柑橘で、日当たりのよい場所を好みます。植え付けは三月ごろが適しています。</p>
<p>注意書き: &lt;script&gt;window.__xss=1&lt;/script&gt; と &lt;img src=x onerror=window.__xss=1&gt; はどちらも文字です。</p>
<p>収穫は十一月ごろで、果汁は柚子ポン酢に使えます。</p>
</article></body></html>`;
  const server = createServer((req, res) => {
    hits.push(req.url);
    if (req.url === "/go") {
      res.writeHead(302, { location: "/article" });
      res.end();
      return;
    }
    if (req.url === "/article") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(html);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  });
  const port = await freePort();
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return { base: `http://127.0.0.1:${port}`, hits, close: () => new Promise((ok) => server.close(ok)) };
}

after(async () => {
  await browser?.close();
  for (const close of closers) await close();
  await stopAll();
  for (const s of [A, B, C]) s?.cleanup?.();
});

/** A fresh browser context (its own cookies: a new guest) and a page in it. */
async function newPage({ locale = "ja", viewport = DESKTOP, theme, init, bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport, locale: locale === "ja" ? "ja-JP" : "en-US", bypassCSP });
  await context.addInitScript(
    ([lang, th]) => {
      try {
        localStorage.setItem("tenmon.lang", lang);
        if (th) localStorage.setItem("tenmon.theme", th);
      } catch {}
    },
    [locale, theme ?? null],
  );
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.assertNoErrors = () => assert.deepEqual(errors, [], "uncaught errors in the page");
  return page;
}

async function send(page, text) {
  const box = page.getByRole("textbox", { name: "メッセージ" });
  await box.fill(text);
  await box.press("Enter");
}

const lastAnswer = ".msg-assistant:last-child .markdown";

async function answerText(page) {
  return (await page.locator(lastAnswer).textContent())?.trim() ?? "";
}

describe("chat", () => {
  test("a Japanese question's answer streams in, then the history survives a reload", async () => {
    const page = await newPage();
    await page.goto(`${A.app}/chat`);
    await page.evaluate(() => {
      window.__snapshots = [];
      new MutationObserver(() => {
        const el = document.querySelector(".msg-assistant:last-child .markdown");
        if (el) window.__snapshots.push(el.textContent ?? "");
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await send(page, "MNP予約番号の有効期限を教えてください");
    await page.waitForFunction((full) => document.querySelector(".msg-assistant:last-child .markdown")?.textContent?.includes(full), JA_ANSWER);
    const snapshots = await page.evaluate(() => window.__snapshots);
    const partial = snapshots.filter((s) => s.length > 0 && s.length < JA_ANSWER.length);
    assert.ok(partial.length >= 2, `expected partial states, saw ${JSON.stringify(snapshots.slice(0, 5))}`);
    for (const s of partial) assert.ok(JA_ANSWER.startsWith(s), `a partial answer is a prefix: ${s}`);
    await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);

    await page.reload();
    await page.waitForSelector(lastAnswer);
    assert.equal(await answerText(page), JA_ANSWER);
    assert.equal((await page.locator(".msg-user .bubble").textContent())?.trim(), "MNP予約番号の有効期限を教えてください");
    await page.getByRole("navigation", { name: "会話一覧" }).getByRole("link", { name: /MNP予約番号の有効期限/ }).waitFor();
    page.assertNoErrors();
    await page.context().close();
  });

  test("stop keeps the partial answer, also after a reload", async () => {
    const page = await newPage();
    await page.goto(`${B.app}/chat`);
    await send(page, "長い説明をお願いします");
    await page.waitForFunction((sel) => (document.querySelector(sel)?.textContent?.length ?? 0) >= 8, lastAnswer);
    await page.getByRole("button", { name: "停止" }).click();
    await page.locator(".msg-assistant:last-child .msg-note").waitFor();
    const partial = await answerText(page);
    assert.ok(partial.length > 0 && partial.length < SLOW_ANSWER.length, `partial: ${partial}`);
    assert.ok(SLOW_ANSWER.startsWith(partial));
    await page.waitForTimeout(1000);
    assert.equal(await answerText(page), partial, "no text after stopping");
    await page.getByRole("button", { name: "送信" }).waitFor();

    await page.reload();
    await page.waitForSelector(lastAnswer);
    assert.equal(await answerText(page), partial);
    await page.locator(".msg-assistant:last-child .msg-note").waitFor();
    page.assertNoErrors();
    await page.context().close();
  });

  test("a source chip opens its FAQ entry", async () => {
    const page = await newPage();
    await page.goto(`${A.app}/chat?assistant=mnp-support`);
    assert.equal(await page.getByLabel("アシスタント").inputValue(), "mnp-support");
    await send(page, "MNP予約番号とは何ですか");
    const chip = page.locator(".msg-assistant:last-child .chip").first();
    await chip.waitFor();
    await page.waitForFunction((full) => document.querySelector(".msg-assistant:last-child .markdown")?.textContent?.includes(full), JA_ANSWER);
    await chip.click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    const title = (await dialog.getByRole("heading").textContent()) ?? "";
    assert.match(title, /MNP|予約番号/);
    await dialog.locator(".markdown").waitFor();
    assert.ok(((await dialog.locator(".markdown").textContent()) ?? "").length > 10);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    page.assertNoErrors();
    await page.context().close();
  });

  test("after consent, HTML in an answer renders as text and runs nothing, also from stored history", async () => {
    const page = await newPage();
    await page.goto(`${C.app}/chat`);
    await page.getByRole("button", { name: "同意して始める" }).click();
    await page.getByRole("button", { name: "同意して始める" }).waitFor({ state: "detached" });
    await send(page, "危険な文字列を表示して");
    await page.waitForFunction(() => document.querySelector(".msg-assistant:last-child .msg-actions") !== null);
    const check = async () => {
      const r = await page.evaluate(() => ({
        xss: window.__xss,
        elements: document.querySelectorAll(".messages img, .messages script, .messages iframe").length,
        text: document.querySelector(".msg-assistant:last-child .markdown")?.textContent ?? "",
      }));
      assert.equal(r.xss, undefined);
      assert.equal(r.elements, 0);
      assert.ok(r.text.includes("<img src=x onerror=window.__xss=1>"), r.text);
      assert.ok(r.text.includes("<script>window.__xss=1</script>"), r.text);
    };
    await check();
    await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
    await page.reload();
    await page.waitForSelector(lastAnswer);
    await check();
    page.assertNoErrors();
    await page.context().close();
  });
});

describe("files", () => {
  test("a file uploads at once, goes with the next message as file_ids, and can be deleted in settings", async (t) => {
    const page = await newPage();
    await page.goto(`${A.app}/chat`);
    const text = "柚子ポン酢の特典: 乗り換えのお客さまに一本お送りします。";
    await page.locator('input[type="file"]').setInputFiles({ name: "memo.txt", mimeType: "text/plain", buffer: Buffer.from(text.repeat(20)) });
    await page.locator(".attachment-done", { hasText: "memo.txt" }).waitFor();
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/api/chat/stream"),
      send(page, "このファイルを要約してください"),
    ]);
    const body = request.postDataJSON();
    assert.equal(body.file_ids?.length, 1, JSON.stringify(body));
    await page.waitForFunction((full) => document.querySelector(".msg-assistant:last-child .markdown")?.textContent?.includes(full), JA_ANSWER);
    assert.equal(await page.locator(".attachment").count(), 0, "the chips are cleared after sending");
    assert.equal(await page.locator(".msg-user .sent-files a").getAttribute("href"), `/api/files/${body.file_ids[0]}`);

    // Content that is not what its name says: refused by the server, explained in Japanese.
    await page.locator('input[type="file"]').setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: Buffer.from("plain text, not a PNG") });
    const failed = page.locator(".attachment-failed", { hasText: "photo.png" });
    await failed.waitFor();
    assert.match((await failed.getByRole("alert").textContent()) ?? "", /拡張子と中身の形式が一致しません|この種類のファイルは添付できません/);

    await page.goto(`${A.app}/settings`);
    const files = page.getByRole("region", { name: "ファイル" });
    const row = files.getByRole("row", { name: /memo\.txt/ });
    await row.waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("link", { name: "「memo.txt」をダウンロード" }).click()]);
    assert.equal(readFileSync(await download.path(), "utf8"), text.repeat(20));
    await row.getByRole("button", { name: "「memo.txt」を削除" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "削除" }).click();
    await page.getByText("「memo.txt」を削除しました。").waitFor();
    await row.waitFor({ state: "detached" });
    const gone = await page.evaluate(async (id) => (await fetch(`/api/files/${id}`)).status, body.file_ids[0]);
    assert.equal(gone, 404);
    page.assertNoErrors();
    await page.context().close();
  });
});

describe("browser reader", () => {
  test("reads a loopback page as text, then summarizes it in the chat beside it", async (t) => {
    // Without the CSP, so markup that became HTML would run: it must stay text.
    const page = await newPage({ bypassCSP: true });
    await page.goto(`${A.app}/browser`);
    await page.getByLabel("ページの URL").fill(`${site.base}/go`);
    await page.getByRole("button", { name: "読み込む" }).click();
    const article = page.getByRole("article", { name: SITE_TITLE });
    await article.waitFor();
    assert.ok(site.hits.includes("/article"), "the server fetched the page");
    const link = article.getByRole("link", { name: new RegExp(`${site.base.replace(/[.]/g, "\\.")}/article`) });
    assert.equal(await link.getAttribute("href"), `${site.base}/article`);
    assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
    const shown = (await article.textContent()) ?? "";
    assert.ok(shown.includes(SITE_SCRIPT_TEXT), shown);
    assert.ok(shown.includes(SITE_IMG_TEXT), shown);
    assert.ok(shown.includes("収穫は十一月ごろ"), shown);
    const r = await page.evaluate(() => ({
      xss: window.__xss,
      site: window.__siteScriptRan,
      elements: document.querySelectorAll(".reader-text img, .reader-text script, .reader-text iframe").length,
    }));
    assert.deepEqual(r, { xss: undefined, site: undefined, elements: 0 });
    const violations = await axeViolations(page);
    assert.deepEqual(violations, [], JSON.stringify(violations, null, 1));
    await page.screenshot({ path: join(ARTIFACTS, "browser-read-ja-desktop.png") });

    await page.getByRole("button", { name: "要約する" }).click();
    await page.waitForFunction((full) => document.querySelector(".msg-assistant:last-child .markdown")?.textContent?.includes(full), JA_ANSWER);
    assert.equal((await page.locator(".msg-user .bubble").textContent())?.trim(), "このページの内容を日本語で簡潔に要約してください。");
    await page.getByRole("button", { name: "要点を3つ" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "要点を3つ" }).isDisabled(), false);

    // The conversation is an ordinary one: it opens in /chat with its history.
    await page.getByRole("link", { name: "この会話をチャットで開く" }).click();
    await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
    await page.waitForSelector(lastAnswer);
    assert.equal(await answerText(page), JA_ANSWER);
    page.assertNoErrors();
    await page.context().close();
  });

  test("a refused address is explained, in Japanese and in English", async (t) => {
    for (const [locale, label, button, expected] of [
      ["ja", "ページの URL", "読み込む", "このアドレスは安全のため読み込めません"],
      ["en", "Page URL", "Read", "This address can't be read, for safety"],
    ]) {
      const page = await newPage({ locale, viewport: PHONE });
      await page.goto(`${A.app}/browser`);
      // ::1 is loopback but not in the allowlist (127.0.0.1/32).
      await page.getByLabel(label).fill("http://[::1]:9/");
      await page.getByRole("button", { name: button }).click();
      const alert = page.getByRole("alert");
      await alert.waitFor();
      assert.ok(((await alert.textContent()) ?? "").includes(expected), await alert.textContent());
      page.assertNoErrors();
      await page.context().close();
    }
  });
});

describe("accounts", () => {
  test("sign up, log out, log in again", async () => {
    const page = await newPage();
    const email = `user-${Date.now()}@example.com`;
    const password = "correct-horse-battery";
    await page.goto(`${A.app}/signup`);
    await page.getByLabel("表示名（任意）").fill("テスト花子");
    await page.getByLabel("メールアドレス").fill(email);
    await page.getByLabel("パスワード", { exact: true }).fill(password);
    await page.getByRole("button", { name: "アカウントを作成" }).click();
    await page.waitForURL(/\/chat$/);
    await page.getByText("テスト花子").waitFor();

    await page.getByRole("button", { name: "ログアウト" }).click();
    await page.getByRole("link", { name: "ログイン" }).waitFor();
    const me = await page.evaluate(async () => (await fetch("/api/me")).status);
    assert.equal(me, 401);

    await page.goto(`${A.app}/login`);
    await page.getByLabel("メールアドレス").fill(email);
    await page.getByLabel("パスワード", { exact: true }).fill("wrong-password-123");
    await page.getByRole("button", { name: "ログイン" }).last().click();
    await page.getByRole("alert").getByText("メールアドレスまたはパスワードが違います。").waitFor();
    await page.getByLabel("パスワード", { exact: true }).fill(password);
    await page.locator("form").getByRole("button", { name: "ログイン" }).click();
    await page.waitForURL(/\/chat$/);
    await page.getByText("テスト花子").waitFor();
    page.assertNoErrors();
    await page.context().close();
  });

  test("settings: export my data, then delete my account with a typed confirmation", async () => {
    const page = await newPage();
    const email = `erase-${Date.now()}@example.com`;
    await page.goto(`${A.app}/signup`);
    await page.getByLabel("メールアドレス").fill(email);
    await page.getByLabel("パスワード", { exact: true }).fill("correct-horse-battery");
    await page.getByRole("button", { name: "アカウントを作成" }).click();
    await page.waitForURL(/\/chat$/);
    await page.goto(`${A.app}/settings`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "書き出す" }).click()]);
    const file = await download.path();
    const { readFileSync } = await import("node:fs");
    assert.equal(typeof JSON.parse(readFileSync(file, "utf8")), "object");

    const erase = page.getByRole("button", { name: "アカウントを削除" });
    assert.equal(await erase.isDisabled(), true);
    await page.getByLabel(/確認のため/).fill(email);
    await erase.click();
    await page.getByRole("dialog").getByRole("button", { name: "アカウントを削除" }).click();
    await page.waitForURL(`${A.app}/`);
    const me = await page.evaluate(async () => (await fetch("/api/me")).status);
    assert.equal(me, 401);
    const login = await fetch(`${A.base}/api/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: "correct-horse-battery" }),
    });
    assert.equal(login.status, 401, "the account is gone");
    page.assertNoErrors();
    await page.context().close();
  });

  test("a guest sees a friendly 403 on /admin", async () => {
    const page = await newPage();
    await page.goto(`${A.app}/admin`);
    await page.getByRole("heading", { name: "このページは表示できません" }).waitFor();
    await page.context().close();
  });

  test("the admin adds a knowledge-base entry and public search finds it", async () => {
    const page = await newPage();
    await page.goto(`${A.app}/login?next=/admin/kb`);
    await page.getByLabel("メールアドレス").fill(ADMIN.email);
    await page.getByLabel("パスワード", { exact: true }).fill(ADMIN.password);
    await page.locator("form").getByRole("button", { name: "ログイン" }).click();
    await page.waitForURL(/\/admin\/kb$/);
    await page.locator(".kb-tab table tbody tr").first().waitFor();
    await page.getByRole("button", { name: "項目を追加" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("項目 ID").fill("e2e-yuzu");
    await dialog.getByLabel("質問").first().fill("柚子ポン酢の特典はありますか");
    await dialog.getByLabel("回答", { exact: true }).fill("はい、乗り換えのお客さまに柚子ポン酢を一本お送りします。");
    await dialog.getByLabel("キーワード").fill("柚子ポン酢, 特典");
    await dialog.getByRole("button", { name: "保存" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByLabel("項目を検索").fill("柚子");
    await page.getByRole("cell", { name: "柚子ポン酢の特典はありますか" }).waitFor();

    const r = await fetch(`${A.base}/api/kb/search?q=${encodeURIComponent("柚子ポン酢の特典")}`);
    const body = await r.json();
    assert.equal(body.results[0]?.id, "e2e-yuzu", JSON.stringify(body));
    page.assertNoErrors();
    await page.context().close();
  });
});

/** Sign in as the harness's admin through the login form, landing on `next`. */
async function adminLogin(page, next) {
  await page.goto(`${A.app}/login?next=${next}`);
  await page.getByLabel("メールアドレス").fill(ADMIN.email);
  await page.getByLabel("パスワード", { exact: true }).fill(ADMIN.password);
  await page.locator("form").getByRole("button", { name: "ログイン" }).click();
  await page.waitForURL(new RegExp(`${next.replace(/\//g, "\\/")}$`));
}

describe("admin assistants", () => {
  const ID = "e2e-yuzu-guide";
  const GREETING = "柚子のことなら何でもどうぞ。";
  const publicIds = async (page) => {
    const r = await page.request.get(`${A.app}/api/assistants`);
    assert.equal(r.status(), 200);
    return (await r.json()).assistants.map((a) => a.id);
  };

  test("the admin creates an assistant, chat offers it, then the admin deletes it", async () => {
    // Without the CSP only so axe can be injected (the form is checked open).
    const page = await newPage({ bypassCSP: true });
    await adminLogin(page, "/admin/assistants");
    const table = page.locator(".assistants-tab table");
    const rowOf = (id) => table.locator("tbody tr").filter({ has: page.getByRole("cell", { name: id, exact: true }) });
    await rowOf("default").getByText("組み込み").waitFor();
    assert.equal(await rowOf("default").getByRole("button", { name: "default を削除" }).count(), 0, "no delete for a built-in");

    await page.getByRole("button", { name: "新規作成" }).click();
    const dialog = page.getByRole("dialog", { name: "アシスタントを作成" });
    await dialog.waitFor();
    await dialog.getByLabel("ID", { exact: true }).fill(ID);
    await dialog.getByLabel("名前（日本語）").fill("柚子案内");
    await dialog.getByLabel("名前（英語）").fill("Yuzu guide");
    await dialog.getByLabel("システムプロンプト").fill("あなたは柚子の栽培に詳しい案内係です。");
    await dialog.getByLabel("温度（任意）").fill("0.4");
    const only = dialog.getByLabel("ナレッジベースの内容だけで回答する");
    assert.equal(await only.isDisabled(), true, "knowledge-only waits for a knowledge base");
    const kbs = dialog.getByRole("group", { name: "ナレッジベース" }).getByRole("checkbox");
    assert.ok((await kbs.count()) >= 1, "the knowledge bases are offered");
    await dialog.getByRole("checkbox", { name: /（mnp）|^mnp$/ }).check();
    assert.equal(await only.isDisabled(), false);
    await dialog.getByLabel("最初のあいさつ（日本語）").fill(GREETING);
    const violations = await axeViolations(page);
    assert.deepEqual(violations, [], JSON.stringify(violations, null, 1));
    await page.screenshot({ path: join(ARTIFACTS, "admin-assistant-form-ja-desktop.png") });
    await dialog.getByRole("button", { name: "保存" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("status").getByText(`「柚子案内」（${ID}）を保存しました。`).waitFor();
    await rowOf(ID).getByText("データベース").waitFor();
    assert.equal(await rowOf(ID).getByRole("cell", { name: "柚子案内" }).count(), 1);
    await rowOf(ID).getByText("mnp").waitFor();

    // The chat's picker offers it, with its greeting.
    await page.goto(`${A.app}/chat`);
    const picker = page.getByLabel("アシスタント", { exact: true });
    await picker.locator(`option[value="${ID}"]`).waitFor({ state: "attached" });
    assert.equal(await picker.locator(`option[value="${ID}"]`).textContent(), "柚子案内");
    await picker.selectOption(ID);
    await page.getByText(GREETING).waitFor();
    assert.ok((await publicIds(page)).includes(ID));

    // Deleting asks first.
    await page.goto(`${A.app}/admin/assistants`);
    await rowOf(ID).getByRole("button", { name: `${ID} を削除` }).click();
    let confirm = page.getByRole("dialog", { name: "アシスタントを削除しますか？" });
    await confirm.getByRole("button", { name: "キャンセル" }).click();
    await confirm.waitFor({ state: "detached" });
    await rowOf(ID).waitFor();
    await rowOf(ID).getByRole("button", { name: `${ID} を削除` }).click();
    confirm = page.getByRole("dialog", { name: "アシスタントを削除しますか？" });
    await confirm.getByRole("button", { name: "削除" }).click();
    await page.getByRole("status").getByText(`${ID} を削除しました。`).waitFor();
    await rowOf(ID).waitFor({ state: "detached" });
    assert.ok(!(await publicIds(page)).includes(ID));
    page.assertNoErrors();
    await page.context().close();
  });

  test("editing a built-in saves an override; removing it brings the built-in back", async () => {
    const page = await newPage({ locale: "en" });
    await page.goto(`${A.app}/login?next=/admin/assistants`);
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password", { exact: true }).fill(ADMIN.password);
    await page.locator("form").getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/admin\/assistants$/);
    const rowOf = (id) => page.locator(".assistants-tab tbody tr").filter({ has: page.getByRole("cell", { name: id, exact: true }) });
    await rowOf("concierge").getByText("Built-in").waitFor();
    await page.getByRole("button", { name: "Edit concierge" }).click();
    const dialog = page.getByRole("dialog", { name: "Edit assistant concierge" });
    await dialog.getByText("Saving creates an override.", { exact: false }).waitFor();
    assert.equal(await dialog.getByLabel("ID", { exact: true }).getAttribute("readonly"), "");
    await dialog.getByLabel("Name (English)").fill("Special concierge");
    await page.screenshot({ path: join(ARTIFACTS, "admin-assistant-override-en-desktop.png") });
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    await rowOf("concierge").getByText("Database").waitFor();
    await rowOf("concierge").getByRole("cell", { name: "Special concierge" }).waitFor();

    await rowOf("concierge").getByRole("button", { name: "Remove the override of concierge" }).click();
    const confirm = page.getByRole("dialog", { name: "Remove this override?" });
    await confirm.getByRole("button", { name: "Remove override" }).click();
    await page.getByRole("status").getByText("The override of concierge was removed", { exact: false }).waitFor();
    await rowOf("concierge").getByText("Built-in").waitFor();
    await rowOf("concierge").getByRole("cell", { name: "Concierge", exact: true }).waitFor();
    assert.equal(await rowOf("concierge").getByRole("button", { name: /Remove|Delete/ }).count(), 0);
    page.assertNoErrors();
    await page.context().close();
  });
});

describe("widget", () => {
  test("embeds on another site and answers a Japanese question in its iframe", async () => {
    const size = statSync(join(DIST, "widget.js")).size;
    assert.ok(size < 10 * 1024, `widget.js is ${size} bytes`);
    const page = await newPage();
    await page.goto(hostOrigin);
    await page.waitForFunction(() => document.querySelector("tenmon-ark-widget") !== null);
    assert.equal(await page.evaluate(() => document.querySelector("tenmon-ark-widget").shadowRoot), null, "closed shadow root");
    // Inside a closed shadow root: reach the bubble the way a person does.
    await page.mouse.click(DESKTOP.width - 50, DESKTOP.height - 50);
    await page.waitForFunction(() => document.querySelector("iframe") === null); // not in the light DOM
    let frame;
    for (let i = 0; i < 100 && !frame; i++) {
      frame = page.frames().find((f) => f.url().includes("/widget?assistant=mnp-support"));
      if (!frame) await page.waitForTimeout(100);
    }
    assert.ok(frame, "the widget iframe loaded");
    const box = frame.getByRole("textbox", { name: "メッセージ" });
    await box.waitFor();
    await box.fill("MNP予約番号とは何ですか");
    await box.press("Enter");
    await frame.waitForFunction((full) => document.querySelector(".msg-assistant:last-child .markdown")?.textContent?.includes(full), JA_ANSWER);
    await frame.locator(".chip").first().waitFor();
    if (!A.proxied) {
      const r = await fetch(`${A.base}/widget?assistant=mnp-support`);
      assert.match(r.headers.get("content-security-policy") ?? "", new RegExp(`frame-ancestors 'self' ${hostOrigin}`));
      assert.equal(r.headers.get("x-frame-options"), null);
    }
    page.assertNoErrors();
    await page.context().close();
  });
});

describe("home", () => {
  test("the drone is off, with no AudioContext, until the toggle is clicked", async () => {
    const page = await newPage({
      init: () => {
        const Original = window.AudioContext;
        window.__audioContexts = 0;
        window.AudioContext = class extends Original {
          constructor(...args) {
            super(...args);
            window.__audioContexts++;
          }
        };
      },
    });
    await page.goto(`${A.app}/`);
    await page.waitForFunction(() => (window.__tenmonCoreFrames?.() ?? 0) > 10);
    assert.equal(await page.evaluate(() => window.__tenmonAudioState), "off");
    assert.equal(await page.evaluate(() => window.__audioContexts), 0);
    const toggle = page.getByRole("button", { name: "サウンド" });
    assert.equal(await toggle.getAttribute("aria-pressed"), "false");
    await toggle.click();
    await page.waitForFunction(() => window.__tenmonAudioState === "running", null, { timeout: 5000 });
    assert.equal(await toggle.getAttribute("aria-pressed"), "true");
    assert.equal(await page.evaluate(() => window.__audioContexts), 1);
    await toggle.click();
    assert.equal(await page.evaluate(() => window.__tenmonAudioState), "off");
    page.assertNoErrors();
    await page.context().close();
  });

  test("with reduced motion the core is one still frame", async () => {
    const page = await newPage();
    await page.emulateMedia({ reducedMotion: "reduce" });
    await page.goto(`${A.app}/`);
    await page.waitForFunction(() => typeof window.__tenmonCoreFrames === "function");
    await page.waitForTimeout(500);
    assert.equal(await page.evaluate(() => window.__tenmonCoreFrames()), 0, "no animation frames");
    const lit = await page.evaluate(() => {
      const c = document.querySelector("canvas.core-canvas");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let bright = 0;
      for (let i = 0; i < d.length; i += 4 * 97) if (d[i] + d[i + 1] + d[i + 2] > 200) bright++;
      return bright;
    });
    assert.ok(lit > 20, `the still frame shows the core (${lit} bright samples)`);
    await page.context().close();
  });
});

describe("every page", () => {
  const pages = [
    ["home", "/"],
    ["chat", "/chat"],
    ["browser", "/browser"],
    ["login", "/login"],
    ["signup", "/signup"],
    ["settings", "/settings"],
    ["admin-kb", "/admin/kb", true],
    ["admin-unanswered", "/admin/unanswered", true],
    ["admin-assistants", "/admin/assistants", true],
    ["admin-users", "/admin/users", true],
    ["admin-keys", "/admin/keys", true],
    ["admin-audit", "/admin/audit", true],
    ["admin-analytics", "/admin/analytics", true],
    ["widget", "/widget?assistant=mnp-support"],
    ["not-found", "/no-such-page"],
  ];
  const variants = [
    { locale: "ja", viewport: DESKTOP, size: "desktop" },
    { locale: "ja", viewport: PHONE, size: "phone" },
    { locale: "en", viewport: DESKTOP, size: "desktop" },
    { locale: "en", viewport: PHONE, size: "phone" },
    { locale: "ja", viewport: DESKTOP, size: "desktop", theme: "dark" },
  ];
  for (const v of variants) {
    const label = `${v.locale}-${v.size}${v.theme ? `-${v.theme}` : ""}`;
    test(`screenshots and axe (${label})`, async () => {
      // The CSP (script-src 'self') would refuse axe's injected script; these
      // contexts only look, the XSS tests above run with the CSP on.
      const page = await newPage({ ...v, bypassCSP: true });
      // A conversation so the chat has something to show.
      await page.goto(`${A.app}/chat`);
      await page.getByRole("textbox").fill(v.locale === "ja" ? "MNPとは何ですか" : "What is MNP?");
      await page.getByRole("textbox").press("Enter");
      await page.waitForFunction(() => document.querySelector(".msg-assistant:last-child .msg-actions") !== null);
      const problems = [];
      let loggedIn = false;
      for (const [name, path, admin] of pages) {
        if (admin && !loggedIn) {
          const r = await page.request.post(`${A.app}/api/auth/login`, { data: ADMIN });
          assert.equal(r.status(), 200);
          loggedIn = true;
        }
        await page.goto(`${A.app}${path}`);
        await page.waitForLoadState("networkidle");
        await page.waitForFunction(() => !document.querySelector(".page-loading"));
        if (name === "chat") await page.waitForSelector(".conv-link", { state: "attached" });
        if (name === "home") await page.waitForTimeout(400);
        await page.screenshot({ path: join(ARTIFACTS, `${name}-${label}.png`) });
        const violations = await axeViolations(page);
        if (violations.length) problems.push({ page: name, violations });
      }
      assert.deepEqual(problems, [], JSON.stringify(problems, null, 1));
      page.assertNoErrors();
      await page.context().close();
    });
  }
});
