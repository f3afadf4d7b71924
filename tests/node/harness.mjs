// Processes for the client tests: the real tenmon-ark binary on a free loopback
// port in a throwaway directory, and the fake upstreams from crates/test-support.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, openSync, readFileSync } from "node:fs";
import { createServer, createConnection } from "node:net";
import { tmpdir, homedir } from "node:os";
import { join } from "node:path";

const target = process.env.CARGO_TARGET_DIR || join(homedir(), ".cache/tenmon-ark/target");
export const BIN = process.env.TENMON_ARK_BIN || join(target, "debug/tenmon-ark");
const FAKE_DIR = process.env.TENMON_FAKE_BIN_DIR || join(target, "debug");

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/** Start a fake (fake-openai, fake-line): it prints its base URL on its first line. */
export function startFake(name, args = []) {
  const proc = spawn(join(FAKE_DIR, name), args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buf = "";
    proc.stdout.on("data", (d) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve({ url: buf.slice(0, nl).trim(), stop: () => proc.kill("SIGKILL") });
    });
    proc.on("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

/** Start the server with `env`; resolves once /health/live answers. */
export async function startServer(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), "tenmon-node-"));
  const port = await freePort();
  const logPath = join(dir, "server.log");
  const log = openSync(logPath, "w");
  const proc = spawn(BIN, [], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      LOG_FORMAT: "json",
      DATABASE_URL: `sqlite://${dir}/t.db`,
      RATE_LIMIT_MAX_REQUESTS: "1000000",
      AUTH_RATE_LIMIT_MAX: "100000",
      ...env,
    },
    stdio: ["ignore", log, log],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${base}/health/live`);
      if (r.ok) {
        return {
          base,
          logs: () => readFileSync(logPath, "utf8"),
          stop: async () => {
            proc.kill("SIGTERM");
            await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill("SIGKILL");
  throw new Error("server did not start:\n" + readFileSync(logPath, "utf8"));
}

export async function waitFor(check, what, tries = 400) {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** PING a Redis on `port`: true when it answers PONG. */
function redisPing(port) {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port }, () => sock.write("PING\r\n"));
    sock.setTimeout(1000, () => sock.destroy());
    sock.once("data", (d) => {
      sock.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    sock.once("error", () => resolve(false));
    sock.once("close", () => resolve(false));
  });
}

/** Start redis-server (no persistence) on a free loopback port in a throwaway dir. */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), "tenmon-node-redis-"));
  const port = await freePort();
  const proc = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: "ignore" },
  );
  let failed = null;
  proc.once("error", (e) => (failed = e));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await new Promise((r) => proc.once("exit", r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    if (await redisPing(port)) return { url: `redis://127.0.0.1:${port}/0`, stop };
    if (proc.exitCode !== null || failed) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!failed) await stop();
  else rmSync(dir, { recursive: true, force: true });
  throw new Error(`redis-server did not start (${failed?.message ?? "no PONG"}; .ci/run installs it)`);
}
