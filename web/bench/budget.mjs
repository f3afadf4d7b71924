// The web UI's budgets, measured on the built dist/ (run `npm run build` first):
// - gzipped JS of the first load of /chat (< 200 KB): the chunks the manifest says
//   the entry and the /chat route need, cross-checked by loading /chat in Chromium
//   and gzipping every script it fetched;
// - dist/widget.js (< 10 KB raw);
// - the Home animation's frame rate in headless Chromium over 5 s, from
//   requestAnimationFrame timing.
// Writes bench/results/web-<date>.md (machine, command, numbers; BENCH_RESULTS_DIR
// overrides the folder). Exits 1 when a
// size budget is exceeded. Run by `make bench`, or `npm run bench` in web/.

import { execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { CHROMIUM, DIST, WEB, launchBrowser, startUiProxy } from "../e2e/harness.mjs";

const JS_BUDGET = 200 * 1024;
const WIDGET_BUDGET = 10 * 1024;
const CHAT_ROUTE = "src/pages/Chat.tsx";

const gz = (buf) => gzipSync(buf, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

function chatChunksFromManifest() {
  const manifest = JSON.parse(readFileSync(join(DIST, ".vite", "manifest.json"), "utf8"));
  const files = new Set();
  const visit = (key) => {
    const chunk = manifest[key];
    if (!chunk || files.has(chunk.file)) return;
    files.add(chunk.file);
    for (const dep of chunk.imports ?? []) visit(dep);
  };
  visit("index.html");
  if (!manifest[CHAT_ROUTE]) throw new Error(`${CHAT_ROUTE} is not a chunk of its own in the manifest`);
  visit(CHAT_ROUTE);
  return [...files].filter((f) => f.endsWith(".js"));
}

async function measureInBrowser(browser, base) {
  // Scripts /chat actually fetches on a first load (cold cache, fresh context).
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const scripts = new Set();
  page.on("response", (r) => {
    const url = new URL(r.url());
    if (url.origin === base && url.pathname.endsWith(".js")) scripts.add(url.pathname.slice(1));
  });
  await page.goto(`${base}/chat`);
  await page.waitForLoadState("networkidle");
  await context.close();

  // Frame rate of the Home animation.
  const home = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await home.goto(`${base}/`);
  await home.waitForFunction(() => typeof window.__tenmonCoreFrames === "function");
  await home.waitForTimeout(1000);
  const fps = await home.evaluate(
    () =>
      new Promise((done) => {
        const stamps = [];
        const startFrames = window.__tenmonCoreFrames();
        const tick = (t) => {
          stamps.push(t);
          if (t - stamps[0] < 5000) requestAnimationFrame(tick);
          else {
            const deltas = stamps.slice(1).map((v, i) => v - stamps[i]).sort((a, b) => a - b);
            const span = (stamps[stamps.length - 1] - stamps[0]) / 1000;
            done({
              fps: (stamps.length - 1) / span,
              coreFps: (window.__tenmonCoreFrames() - startFrames) / span,
              p50: deltas[Math.floor(deltas.length * 0.5)],
              p95: deltas[Math.floor(deltas.length * 0.95)],
              worst: deltas[deltas.length - 1],
              frames: stamps.length - 1,
              seconds: span,
            });
          }
        };
        requestAnimationFrame(tick);
      }),
  );
  await home.context().close();
  return { scripts: [...scripts], fps };
}

function sh(cmd) {
  try {
    return execSync(`${cmd} 2>/dev/null`, { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

async function main() {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("web/dist is missing: run `npm run build` in web/ first");
  const manifestFiles = chatChunksFromManifest();
  const sizeOf = (files) => files.reduce((n, f) => n + gz(readFileSync(join(DIST, f))), 0);
  const manifestGz = sizeOf(manifestFiles);
  const widgetRaw = statSync(join(DIST, "widget.js")).size;
  const widgetGz = gz(readFileSync(join(DIST, "widget.js")));

  const proxy = await startUiProxy("http://127.0.0.1:9");
  const browser = await launchBrowser();
  let measured;
  try {
    measured = await measureInBrowser(browser, proxy.base);
  } finally {
    await browser.close();
    await proxy.close();
  }
  const browserGz = sizeOf(measured.scripts);
  const chatGz = Math.max(manifestGz, browserGz);
  const jsOk = chatGz < JS_BUDGET;
  const widgetOk = widgetRaw < WIDGET_BUDGET;
  const f = measured.fps;

  const date = new Date().toISOString().slice(0, 10);
  const cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
  const lines = [
    `# Web UI budgets — ${date}`,
    "",
    `- Command: \`cd web && npm run build && node bench/budget.mjs\``,
    `- Machine: \`${sh("uname -a")}\``,
    `- CPU: ${cpu} (${sh("nproc")} cores)`,
    `- Node ${process.version}; ${sh(`${CHROMIUM} --version`)} (headless, --disable-gpu)`,
    "",
    "## Sizes",
    "",
    "| what | size | budget | ok |",
    "| --- | ---: | ---: | :---: |",
    `| JS for the first load of /chat, gzip -9 (manifest: ${manifestFiles.length} chunks) | ${kb(manifestGz)} | ${kb(JS_BUDGET)} | ${manifestGz < JS_BUDGET ? "yes" : "NO"} |`,
    `| JS fetched by Chromium loading /chat, gzip -9 (${measured.scripts.length} files) | ${kb(browserGz)} | ${kb(JS_BUDGET)} | ${browserGz < JS_BUDGET ? "yes" : "NO"} |`,
    `| dist/widget.js (raw / gzip) | ${kb(widgetRaw)} / ${kb(widgetGz)} | ${kb(WIDGET_BUDGET)} raw | ${widgetOk ? "yes" : "NO"} |`,
    "",
    "Chunks: " + manifestFiles.map((x) => `\`${x}\``).join(", "),
    "",
    "## Home animation (Hinomizu Core), 1280×800, 5 s after 1 s warm-up",
    "",
    "| requestAnimationFrame fps | frames drawn by the animation per s | frame interval p50 | p95 | worst |",
    "| ---: | ---: | ---: | ---: | ---: |",
    `| ${f.fps.toFixed(1)} | ${f.coreFps.toFixed(1)} | ${f.p50.toFixed(1)} ms | ${f.p95.toFixed(1)} ms | ${f.worst.toFixed(1)} ms |`,
    "",
  ];
  const outDir = process.env.BENCH_RESULTS_DIR || resolve(WEB, "..", "bench", "results");
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `web-${date}.md`);
  writeFileSync(out, lines.join("\n"));
  console.log(lines.join("\n"));
  console.log(`wrote ${out}`);
  if (!jsOk || !widgetOk) {
    console.error("budget exceeded");
    process.exit(1);
  }
}

await main();
