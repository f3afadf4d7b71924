"""A/B of server builds or settings on /v1 (or /api/chat), side by side in one run.

Interleaved rounds at one concurrency: direct to the fake upstream, then each variant
in turn, so every variant sees the same minutes of this shared machine. Per run: req/s,
p99, p99 added over the same round's direct run, and the server's CPU per request
(user + system, from /proc), which is less noisy than latency. For deciding whether a
change helps before an official `make bench` run; writes nothing.

Usage: python3 bench/ab.py FAKE_OPENAI_BIN ROUNDS NAME:K=V,K=V [NAME:...]
  K=V are the server's environment settings; BIN=path picks the binary (default:
  $CARGO_TARGET_DIR/release/tenmon-ark). Environment: C (connections, 64), D (wrk
  duration, 5s), P=chat for /api/chat instead of /v1, M (the /v1 model, mnp-support).
Example: python3 bench/ab.py target/release/fake-openai 6 old:BIN=/tmp/old new:BIN=/tmp/new
"""

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

FAKE, ROUNDS = sys.argv[1], int(sys.argv[2])
DEFAULT_BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "tenmon-ark")
VARIANTS = []
for arg in sys.argv[3:]:
    name, _, settings = arg.partition(":")
    VARIANTS.append((name, dict(kv.split("=", 1) for kv in settings.split(",") if kv)))
KEY = "bench-key-0123456789abcdef"
CONNS, DURATION = int(os.environ.get("C", "64")), os.environ.get("D", "5s")
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def thread_cpu(pid):
    """CPU seconds per thread name (the HTTP loops are http-0, http-1, ...)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0) + (int(fields[11]) + int(fields[12])) / TICK
    return out


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n = float(m.group(1))
    return n / 1000 if m.group(2) == "us" else n * 1000 if m.group(2) == "s" else n


def wrk(url, body, token):
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                 'wrk.headers["Content-Type"] = "application/json"\n'
                 + (f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""))
    script.close()
    out = subprocess.run(["wrk", "-t2", f"-c{CONNS}", f"-d{DURATION}", "--latency", "-s", script.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, to_ms(re.search(r"^\s+99%\s+(\S+)$", out, re.M).group(1))


def main():
    fake = subprocess.Popen([FAKE, "--delay-ms", "0"], stdout=subprocess.PIPE, text=True)
    upstream = fake.stdout.readline().strip()
    servers = []
    for name, extra in VARIANTS:
        port, tmp = free_port(), tempfile.mkdtemp(prefix="tenmon-ab-")
        env = {"PATH": "/usr/bin:/bin", "PORT": str(port), "LOG_LEVEL": "warn", "OPENAI_BASE_URL": upstream,
               "OPENAI_API_KEY": "sk-ab", "API_KEYS": KEY, "RATE_LIMIT_MAX_REQUESTS": "1000000000",
               **{k: v for k, v in extra.items() if k != "BIN"}}
        p = subprocess.Popen([extra.get("BIN", DEFAULT_BIN)], cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(tmp, "log"), "w"))
        base = f"http://127.0.0.1:{port}"
        for _ in range(400):
            try:
                urllib.request.urlopen(base + "/health/live", timeout=1).read()
                break
            except OSError:
                time.sleep(0.025)
        servers.append((name, p, base))
    direct_body = {"model": "gpt-fake", "messages": [{"role": "user", "content": "予約番号の有効期限は？"}]}
    v1_body = {"model": os.environ.get("M", "mnp-support"), "messages": [{"role": "user", "content": "予約番号の有効期限は？"}]}
    results = {name: [] for name, _, _ in servers}
    try:
        for r in range(ROUNDS):
            d_rps, d_p99 = wrk(upstream + "/chat/completions", direct_body, None)
            line = f"round {r}: direct {d_rps:,.0f}/{d_p99:.2f}ms"
            for name, p, base in servers:
                u0, s0 = cpu_seconds(p.pid)
                t0 = thread_cpu(p.pid)
                if os.environ.get("P") == "chat":
                    req = urllib.request.Request(base + "/api/session", method="POST")
                    token = json.load(urllib.request.urlopen(req))["token"]
                    rps, p99 = wrk(base + "/api/chat", {"message": "予約番号の有効期限は？"}, token)
                else:
                    rps, p99 = wrk(base + "/v1/chat/completions", v1_body, KEY)
                u1, s1 = cpu_seconds(p.pid)
                t1 = thread_cpu(p.pid)
                loops = sorted(t1[k] - t0.get(k, 0) for k in t1 if k.startswith("http-"))
                n = rps * float(DURATION.rstrip("s"))
                user, sys_ = (u1 - u0) / n * 1e6, (s1 - s0) / n * 1e6
                results[name].append((rps, p99 - d_p99, user, sys_))
                line += f" | {name} {rps:,.0f}/{p99:.2f}ms (+{p99 - d_p99:.2f}) cpu {user:.0f}+{sys_:.0f}us"
                if loops:
                    line += " loops " + "/".join(f"{x:.2f}" for x in loops) + "s"
            print(line, flush=True)
    finally:
        for _, p, _ in servers:
            p.terminate()
        fake.terminate()
    med = statistics.median
    for name, rs in results.items():
        print(f"{name}: median {med(r[0] for r in rs):,.0f} req/s, added p99 {med(r[1] for r in rs):+.2f} ms, "
              f"CPU per request {med(r[2] for r in rs):.1f} user + {med(r[3] for r in rs):.1f} sys µs")


if __name__ == "__main__":
    main()
