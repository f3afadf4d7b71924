"""Chat engine benchmarks, side by side in one run against the fake upstream:

1. req/s and p50/p99 of a non-streamed turn: direct to the fake upstream, through
   /v1/chat/completions, through /api/chat (persisted to SQLite), and through nginx
   (a reference: what a C reverse proxy with upstream keep-alive adds on the same
   cores, where nginx is installed), at c=16 and c=64. The paths take turns, in
   rounds (BENCH_ROUNDS, default 5), and each figure is the median over the rounds:
   this shared VM's speed drifts by a fifth from one ten seconds to the next, and a
   difference between two single runs minutes apart measured the drift as often as
   the server (some five-second runs cost the server half as much CPU again per
   request, with the same system calls and context switches per request: the host,
   not the server; a median of five outvotes two such runs, one of three only one);
2. time to first token added by the server on a streamed turn (/api/chat/stream vs
   the fake upstream's own stream);
3. concurrent streams held (fake upstream at 50 ms per token) and RSS per stream.

Usage: python3 bench/chat.py TENMON_ARK_BIN FAKE_OPENAI_BIN [STREAMS]
"""

import asyncio
import atexit
import datetime
import json
import os
import platform
import re
import shutil
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

BIN, FAKE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
STREAMS = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
KEY = "bench-key-0123456789abcdef"
DURATION = os.environ.get("BENCH_DURATION", "5s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
NGINX_ROW = "through nginx (reference proxy, no app)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
    return f"{os.cpu_count()} cores, {cpu}, {mem} RAM, Linux {platform.release()}"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def start_fake(delay_ms=0, answer=None):
    extra = ["--answer", answer] if answer else []
    p = subprocess.Popen([FAKE, "--delay-ms", str(delay_ms), *extra], stdout=subprocess.PIPE, text=True)
    return p, p.stdout.readline().strip()


LONG_ANSWER = "番号ポータビリティの手続きについてご案内します。" * 300


def active_turns(base):
    """Chat turns running in the server now (its own gauge)."""
    text = urllib.request.urlopen(base + "/api/metrics", timeout=10).read().decode()
    m = re.search(r"^chat_active_turns(?:\{[^}]*\})? (\d+)", text, re.M)
    return int(m.group(1)) if m else -1


def raise_fd_limit():
    """Each stream holds two sockets in the server (client, upstream): 10,000 streams
    need more descriptors than the usual soft limit. Children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, PermissionError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_server(tmp, upstream):
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PORT": str(port), "LOG_LEVEL": "warn", "LOG_FORMAT": "json",
           "OPENAI_BASE_URL": upstream, "OPENAI_API_KEY": "sk-bench", "API_KEYS": KEY,
           # One load tool from one address: the rate limits would measure themselves.
           "RATE_LIMIT_MAX_REQUESTS": "1000000000", "AUTH_RATE_LIMIT_MAX": "1000000"}
    p = subprocess.Popen([BIN], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "log"), "w"))
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            urllib.request.urlopen(base + "/health/live", timeout=1).read()
            return p, base
        except OSError:
            time.sleep(0.025)
    raise RuntimeError("server did not start")


def start_nginx(tmp, upstream):
    """nginx proxying to the fake with upstream keep-alive: the reference for what any
    proxy adds when it shares the 2 cores with the load tool and the upstream."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None:
        print("nginx is not installed: no reference row", file=sys.stderr)
        return None, None
    port = free_port()
    hostport = urllib.parse.urlsplit(upstream).netloc
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 2;
daemon off;
error_log {tmp}/nginx-error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}; proxy_temp_path {tmp};
  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  upstream fake {{ server {hostport}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://fake; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
""")
    p = subprocess.Popen([nginx, "-e", f"{tmp}/nginx-error.log", "-c", conf, "-p", tmp],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(lambda: p.poll() is None and p.terminate())
    for _ in range(200):
        if p.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.025)
    print(f"nginx did not start (see {tmp}/nginx-error.log): no reference row", file=sys.stderr)
    if p.poll() is None:
        p.terminate(); p.wait()
    return None, None


def wrk(url, body, token, conns):
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                 f'wrk.headers["Content-Type"] = "application/json"\n{auth}')
    script.close()
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{DURATION}", "--latency", "-s", script.name, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, lat.get("50"), lat.get("99"), int(bad.group(1)) if bad else 0, " ".join(cmd)


def summarize(rs):
    """The median over the rounds: req/s, p50 and p99 (in ms), non-2xx summed."""
    med = lambda xs: statistics.median(xs)
    return (med([r[0] for r in rs]), f"{med([to_ms(r[1]) for r in rs]):.2f}ms",
            f"{med([to_ms(r[2]) for r in rs]):.2f}ms", sum(r[3] for r in rs), rs[0][4], rs)


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n = float(m.group(1))
    return n / 1000 if m.group(2) == "us" else n * 1000 if m.group(2) == "s" else n


def first_token_ms(url, body, headers):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        while True:
            line = r.readline()
            if not line:
                raise RuntimeError("no delta")
            if line.startswith(b"event: delta") or (line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line):
                return (time.perf_counter() - t0) * 1000


async def hold_streams(base, token, n):
    """Open n streams at once; return (opened, RSS after all started)."""
    body = json.dumps({"message": "予約番号の有効期限は？"}).encode()
    host, port = base.replace("http://", "").split(":")
    opened, writers = 0, []

    async def one():
        nonlocal opened
        r, w = await asyncio.open_connection(host, int(port))
        req = (f"POST /api/chat/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        w.write(req)
        await w.drain()
        status = await r.readline()
        if b" 200 " not in status:
            w.close()
            raise RuntimeError(f"stream refused: {status!r}")
        while True:
            line = await r.readline()
            if not line or line.startswith(b"event: delta"):
                break
        opened += 1
        writers.append(w)

    sem = asyncio.Semaphore(512)

    async def limited():
        async with sem:
            # A stream that never starts is counted as not opened, not waited for forever.
            await asyncio.wait_for(one(), 120)

    await asyncio.gather(*(limited() for _ in range(n)), return_exceptions=True)
    return opened, writers


def scratch():
    """A temporary directory for a server's data, removed when the bench exits (an
    official run leaves hundreds of MB of SQLite behind otherwise)."""
    d = tempfile.mkdtemp(prefix="tenmon-bench-chat-")
    atexit.register(shutil.rmtree, d, True)
    return d


def main():
    raise_fd_limit()
    results = []
    fake, upstream = start_fake()
    tmp = scratch()
    server, base = start_server(tmp, upstream)
    token = json.load(urllib.request.urlopen(urllib.request.Request(base + "/api/session", method="POST")))["token"]
    oa_body = {"model": "gpt-fake", "messages": [{"role": "user", "content": "予約番号の有効期限は？"}]}
    v1_body = {"model": "mnp-support", "messages": [{"role": "user", "content": "予約番号の有効期限は？"}]}
    chat_body = {"message": "予約番号の有効期限は？"}
    nginx, proxied = start_nginx(tmp, upstream)
    paths = [
        ("direct to the fake upstream", upstream + "/chat/completions", oa_body, None),
        ("through /v1/chat/completions", base + "/v1/chat/completions", v1_body, KEY),
        ("through /api/chat (persisted, SQLite)", base + "/api/chat", chat_body, token),
    ]
    if nginx:
        path = urllib.parse.urlsplit(upstream).path.rstrip("/")
        paths.append((NGINX_ROW, f"{proxied}{path}/chat/completions", oa_body, None))
    # Every path once per round, at each concurrency; the rounds repeat that.
    runs = {}
    for _ in range(ROUNDS):
        for conns in (16, 64):
            for name, url, body, tok in paths:
                runs.setdefault((name, conns), []).append(wrk(url, body, tok, conns))
    table = {key: summarize(rs) for key, rs in runs.items()}
    rss_after_load = rss_kib(server.pid)
    if nginx:
        nginx.terminate(); nginx.wait()

    # Time to first token, sequential, median of 50.
    direct, through = [], []
    for _ in range(50):
        direct.append(first_token_ms(upstream + "/chat/completions", {**oa_body, "stream": True}, {}))
        through.append(first_token_ms(base + "/api/chat/stream", chat_body, {"Authorization": f"Bearer {token}"}))
    server.terminate(); server.wait(); fake.terminate(); fake.wait()

    # Concurrent streams with a slow upstream: an answer long enough (3 characters per
    # chunk, 50 ms apart: ~2 minutes) that every stream is still running when measured.
    slow, slow_url = start_fake(50, LONG_ANSWER)
    tmp2 = scratch()
    server2, base2 = start_server(tmp2, slow_url)
    token2 = json.load(urllib.request.urlopen(urllib.request.Request(base2 + "/api/session", method="POST")))["token"]
    idle = rss_kib(server2.pid)
    t0 = time.perf_counter()
    opened, writers = asyncio.run(hold_streams(base2, token2, STREAMS))
    held_rss = rss_kib(server2.pid)
    open_s = time.perf_counter() - t0
    running = active_turns(base2)
    server2.terminate(); server2.wait(); slow.terminate(); slow.wait()

    lines = []
    for (name, conns), (rps, p50, p99, bad, cmd, rs) in sorted(table.items(), key=lambda kv: kv[0][1]):
        each = ", ".join(f"{r[0]:,.0f}/{r[2]}" for r in rs)
        lines.append(f"| {name} | {conns} | {rps:,.0f} | {p50} | {p99} | {bad} | {each} |")
    def added(path, c):
        """p99 added over direct, paired within each round (same minute, same drift);
        the median of the rounds and each round's value."""
        d, x = table[("direct to the fake upstream", c)][5], table[(path, c)][5]
        each = [to_ms(b[2]) - to_ms(a[2]) for a, b in zip(d, x)]
        return statistics.median(each), ", ".join(f"{e:+.2f}" for e in each)

    def ratio(c):
        d = table[("direct to the fake upstream", c)]
        v = table[("through /v1/chat/completions", c)]
        a = table[("through /api/chat (persisted, SQLite)", c)]
        v_added, v_each = added("through /v1/chat/completions", c)
        line = (f"c={c}: /v1 = {v[0] / d[0]:.2f}× direct req/s, p99 +{v_added:.2f} ms (rounds: {v_each}); "
                f"/api/chat = {a[0] / d[0]:.2f}× direct req/s ({a[0]:,.0f} turns/s)")
        n = table.get((NGINX_ROW, c))
        if n:
            n_added, n_each = added(NGINX_ROW, c)
            line += f"; nginx = {n[0] / d[0]:.2f}× direct req/s, p99 +{n_added:.2f} ms (rounds: {n_each})"
        return line
    report = f"""# Chat engine benchmark, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC

- Machine: {machine()}
- Command: `make bench` (bench/chat.py, release builds of tenmon-ark and fake-openai)
- Load: wrk -t2 -d{DURATION} with a POST body; the load tool, the fake upstream and the
  server share the 2 cores. {ROUNDS} rounds, each running every path in turn; the
  figures are medians over the rounds (each round's req/s and p99 in the last column).

## Non-streamed turns, side by side

| path | connections | req/s | p50 | p99 | non-2xx | rounds (req/s / p99) |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(lines)}

- {ratio(16)}
- {ratio(64)}
- Server RSS after the load: {rss_after_load / 1024:.1f} MiB

Targets: /v1 at least 0.25× direct req/s and under 2 ms added p99 at c=64; /api/chat at
least 3,000 persisted turns/s on SQLite. The nginx row is no target: it shows what a
reverse proxy that does nothing but forward adds under the same closed-loop load, where
a proxy's added latency is mostly its share of the 2 cores (64 connections / req/s).
Added p99: in each round, the path's p99 minus direct's p99 of the same round; the
median of the rounds.

## Time to first token (sequential, median of 50)

- Fake upstream's own stream: {statistics.median(direct):.2f} ms
- Through /api/chat/stream (session check, two appends, then the first delta): {statistics.median(through):.2f} ms
- Added by the server: {statistics.median(through) - statistics.median(direct):.2f} ms

## Concurrent streams (fake upstream at 50 ms per token)

- Asked for {STREAMS} streams; {opened} reached their first delta in {open_s:.1f} s;
  {running} turns running in the server when its RSS was read
- RSS idle {idle / 1024:.1f} MiB → {held_rss / 1024:.1f} MiB while holding them:
  {(held_rss - idle) / max(opened, 1):.1f} KiB per stream
"""
    os.makedirs("bench/results", exist_ok=True)
    path = f"bench/results/chat-{datetime.date.today():%Y-%m-%d}.md"
    if os.path.exists(path):
        # A second run on the same day keeps the first (compare them side by side).
        path = f"bench/results/chat-{datetime.datetime.now():%Y-%m-%d-%H%M}.md"
    with open(path, "w") as f:
        f.write(report)
    print(report)
    print("written to", path)


main()
