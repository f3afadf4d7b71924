// The browser tests' world: fake OpenAI processes, real tenmon-ark servers on
// free loopback ports (each in a temp dir with its own SQLite file), a plain
// "customer site" for the widget on another origin, and Debian's Chromium driven
// by playwright-core. Nothing here reaches beyond 127.0.0.1.

import { spawn } from "node:child_process";
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir, homedir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const HERE = dirname(fileURLToPath(import.meta.url));
export const WEB = resolve(HERE, "..");
export const DIST = join(WEB, "dist");
export const ARTIFACTS = join(HERE, "artifacts");

const TARGET = join(homedir(), ".cache", "tenmon-ark", "target", "debug");
export const SERVER_BIN = process.env.TENMON_ARK_BIN || join(TARGET, "tenmon-ark");
export const FAKE_BIN = process.env.TENMON_FAKE_OPENAI_BIN || join(TARGET, "fake-openai");
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export const ADMIN = { email: "admin@example.com", password: "admin-password-e2e-1" };

const children = new Set();

/** Stop every process this harness started (each by its own pid). */
export async function stopAll() {
  await Promise.all(
    [...children].map(
      (p) =>
        new Promise((done) => {
          if (p.exitCode !== null || p.signalCode !== null) return done();
          const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
          p.once("exit", () => {
            clearTimeout(timer);
            done();
          });
          p.kill("SIGTERM");
        }),
    ),
  );
  children.clear();
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createNetServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/** `fake-openai --delay-ms N --answer TEXT`: its first stdout line is its base URL. */
export async function startFake({ delayMs = 30, answer }) {
  const args = ["--delay-ms", String(delayMs)];
  if (answer) args.push("--answer", answer);
  const proc = spawn(FAKE_BIN, args, { stdio: ["ignore", "pipe", "inherit"] });
  children.add(proc);
  const rl = createInterface({ input: proc.stdout });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("fake-openai did not start")), 10_000);
    rl.once("line", (line) => {
      clearTimeout(timer);
      ok(line.trim());
    });
    proc.once("exit", (code) => fail(new Error(`fake-openai exited ${code}`)));
  });
  if (!url.startsWith("http://")) throw new Error(`fake-openai printed ${url}`);
  return { url, proc };
}

async function waitHttp(url, timeoutMs, isUp = (r) => r.ok) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url);
      if (isUp(r)) return r;
      last = new Error(`HTTP ${r.status}`);
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up: ${last}`);
}

/** The real server with a fresh database, on a free port. */
export async function startServer({ fakeUrl, corsOrigin, env = {} }) {
  const dir = mkdtempSync(join(tmpdir(), "tenmon-e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logPath = join(dir, "server.log");
  const { openSync } = await import("node:fs");
  const log = openSync(logPath, "w");
  const proc = spawn(SERVER_BIN, [], {
    cwd: dir,
    stdio: ["ignore", log, log],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      PORT: String(port),
      DATABASE_URL: `sqlite://${dir}/t.db`,
      OPENAI_BASE_URL: fakeUrl,
      OPENAI_API_KEY: "test",
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RATE_LIMIT_MAX_REQUESTS: "100000",
      AUTH_RATE_LIMIT_MAX: "100000",
      LOG_LEVEL: "warn",
      // The /browser tests read pages that the test serves itself on loopback,
      // which the reader refuses unless the operator allows it.
      BROWSER_ALLOWED_HOSTS: "127.0.0.1/32",
      ...(corsOrigin ? { CORS_ORIGIN: corsOrigin } : {}),
      ...env,
    },
  });
  children.add(proc);
  const logs = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  try {
    await waitHttp(`${base}/health/live`, 20_000);
  } catch (e) {
    throw new Error(`${e.message}\n${logs()}`);
  }
  return { base, port, proc, dir, logs, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether the server serves the built UI itself (it should: web/dist at run time). */
export async function servesUi(base) {
  try {
    const r = await fetch(`${base}/chat`);
    return r.ok && (r.headers.get("content-type") ?? "").includes("text/html");
  } catch {
    return false;
  }
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
};
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * A stand-in for the server's own UI serving, used only when the server binary in
 * use does not serve web/dist: the same files, SPA fallback and CSP, with /api,
 * /v1 and /health passed through to the real server.
 */
export async function startUiProxy(apiBase, corsOrigin) {
  const api = new URL(apiBase);
  const port = await freePort();
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (/^\/(api|v1|health|metrics)(\/|$)/.test(path)) {
      const up = httpRequest(
        { host: api.hostname, port: api.port, method: req.method, path: req.url, headers: { ...req.headers, host: api.host } },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(up);
      return;
    }
    let file = normalize(join(DIST, path));
    if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) {
      if (extname(path)) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"error":{"code":"not_found","message":"no file"}}');
        return;
      }
      file = join(DIST, "index.html");
    }
    const headers = { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-security-policy": CSP, "x-frame-options": "DENY" };
    if (path === "/widget") {
      headers["content-security-policy"] = CSP.replace("frame-ancestors 'none'", `frame-ancestors 'self' ${corsOrigin ?? ""}`.trim());
      delete headers["x-frame-options"];
    }
    res.writeHead(200, headers);
    createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

/** A customer's page on another origin, embedding the widget the documented way. */
export async function startWidgetHost(appBase, port) {
  const html = `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example shop</title>
<style>body{font-family:sans-serif;margin:40px} div,button{display:none !important} </style></head>
<body><h1>Example shop</h1><p>Our products.</p>
<script src="${appBase}/widget.js" data-assistant="mnp-support" defer></script>
</body></html>`;
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
  });
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return { close: () => new Promise((ok) => server.close(ok)) };
}

export async function launchBrowser() {
  const { chromium } = await import("playwright-core");
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  // launch() makes a fresh, throwaway user-data-dir for every run.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

const AXE = join(WEB, "node_modules", "axe-core", "axe.min.js");

/** axe-core on the page (and its same-origin frames): serious or critical violations. */
export async function axeViolations(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}
