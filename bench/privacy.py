"""Privacy benchmarks, side by side in one run:

1. masking throughput on ~1 MB of realistic support chat (the tenmon-privacy
   `mask` bench, release build): MB/s and µs per message, masking and restoring;
2. latency a turn gains from masking: the same PII-laden /api/chat turn against the
   fake model on two servers, MASK_PERSONAL_DATA=true vs false, interleaved, and the
   same with ENCRYPTION_KEY set (encryption at rest).

Usage: python3 bench/privacy.py TENMON_ARK_BIN FAKE_OPENAI_BIN
Writes bench/results/privacy-<date>.md.
"""

import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN, FAKE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MESSAGE = ("お世話になっております。山田太郎です。MNP予約番号は1234567890で、電話番号は090-1234-5678です。"
           "連絡先メールは taro.yamada@example.co.jp、住所は〒150-0002 東京都渋谷区渋谷2-21-1です。"
           "生年月日は1985年4月1日です。乗り換え手続きの期限を教えてください。")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
    return f"{os.cpu_count()} cores, {cpu}, {mem} RAM, Linux {platform.release()}"


def post(url, body, token):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("content-type", "application/json")
    req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def start_server(tmp, upstream, extra):
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PORT": str(port), "LOG_LEVEL": "warn", "LOG_FORMAT": "json",
           "OPENAI_BASE_URL": upstream, "OPENAI_API_KEY": "sk-bench",
           "RATE_LIMIT_MAX_REQUESTS": "1000000000", "AUTH_RATE_LIMIT_MAX": "1000000",
           "DATABASE_URL": f"sqlite://{tmp}/bench.db", **extra}
    p = subprocess.Popen([BIN], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/health/live", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    req = urllib.request.Request(base + "/api/session", data=b"", method="POST")
    token = json.loads(urllib.request.urlopen(req).read())["token"]
    return p, base, token


def main():
    bench = subprocess.run(["cargo", "bench", "--locked", "-q", "-p", "tenmon-privacy", "--bench", "mask"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    mask = json.loads([l for l in bench.stdout.splitlines() if l.startswith("{")][-1])

    fake = subprocess.Popen([FAKE, "--answer", "承知しました。予約番号の有効期限は発行日を含め15日間です。"],
                            stdout=subprocess.PIPE, text=True)
    upstream = fake.stdout.readline().strip()
    variants = {
        "masking off": {"MASK_PERSONAL_DATA": "false"},
        "masking on": {"MASK_PERSONAL_DATA": "true"},
        "masking on + encryption at rest": {"MASK_PERSONAL_DATA": "true",
                                            "ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
    }
    servers, dirs = {}, []
    try:
        for name, extra in variants.items():
            d = tempfile.TemporaryDirectory()
            dirs.append(d)
            servers[name] = start_server(d.name, upstream, extra)
        times = {name: [] for name in variants}
        # Interleaved rounds, each in a fresh conversation, so machine noise hits all alike.
        for _ in range(ROUNDS):
            for name, (_, base, token) in servers.items():
                t = time.perf_counter()
                post(base + "/api/chat", {"message": MESSAGE}, token)
                times[name].append((time.perf_counter() - t) * 1000)
    finally:
        for p, _, _ in servers.values():
            p.terminate()
            p.wait()
        fake.kill()
    base = statistics.median(times["masking off"])
    rows = []
    for name, ts in times.items():
        ts.sort()
        med, p90 = statistics.median(ts), ts[int(len(ts) * 0.9)]
        rows.append(f"| {name} | {med:.2f} ms | {p90:.2f} ms | {med - base:+.2f} ms | {med / base:.3f}× |")
    date = datetime.date.today().isoformat()
    report = f"""# Privacy benchmarks, {date}

Machine: {machine()}
Command: `make bench` (`python3 bench/privacy.py {BIN} {FAKE}`, release build)

## Masking throughput (`cargo bench -p tenmon-privacy --bench mask`)
{mask['messages']} realistic support messages, {mask['bytes'] / 1e6:.2f} MB, {mask['masked_values']} values masked.

| | MB/s | µs per message |
|---|---|---|
| mask (detect + replace) | {mask['mask_mb_per_s']:.1f} | {mask['mask_us_per_message']:.2f} |
| restore | {mask['restore_mb_per_s']:.1f} | {mask['restore_us_per_message']:.2f} |

## Latency per turn (non-streamed /api/chat, fake model, {ROUNDS} interleaved rounds, a message with 7 personal values)

| variant | median | p90 | vs masking off | ratio |
|---|---|---|---|---|
{chr(10).join(rows)}
"""
    print(report)
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(os.path.join(ROOT, f"bench/results/privacy-{date}.md"), "w") as f:
        f.write(report)


main()
