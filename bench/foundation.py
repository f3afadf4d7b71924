"""Start-up, idle memory and health-endpoint throughput of the release binary."""

import datetime
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.abspath(sys.argv[1])
RUNS = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp, port):
    env = {"PATH": "/usr/bin:/bin", "PORT": str(port), "LOG_LEVEL": "warn", "LOG_FORMAT": "json"}
    return subprocess.Popen([BIN], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def first_healthy(port, deadline=10.0):
    t_end = time.perf_counter() + deadline
    while time.perf_counter() < t_end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(16).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.0005)
    raise RuntimeError("server never became healthy")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
    return f"{os.cpu_count()} cores, {cpu}, {mem} RAM, Linux {platform.release()}"


startups = []
for _ in range(RUNS):
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        t0 = time.perf_counter()
        p = start(tmp, port)
        first_healthy(port)
        startups.append((time.perf_counter() - t0) * 1000)
        p.terminate()
        p.wait()

with tempfile.TemporaryDirectory() as tmp:
    port = free_port()
    p = start(tmp, port)
    first_healthy(port)
    for _ in range(5):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health").read()
    time.sleep(1)
    idle = rss_kib(p.pid)
    wrk_cmd = ["wrk", "-t2", "-c64", "-d10s", "--latency", f"http://127.0.0.1:{port}/api/health"]
    out = subprocess.run(wrk_cmd, capture_output=True, text=True, check=True).stdout
    after = rss_kib(p.pid)
    p.terminate()
    p.wait()

rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

report = f"""# Foundation benchmark, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC

- Machine: {machine()}
- Binary: release build of tenmon-ark {subprocess.run([BIN, 'version'], capture_output=True, text=True).stdout.strip()}
- Command: `make bench` (bench/foundation.sh → bench/foundation.py)

| measure | result | target |
| --- | --- | --- |
| start-up to first 200 on /health (fresh SQLite file, migrations included), median of {RUNS} | {statistics.median(startups):.1f} ms (min {min(startups):.1f}, max {max(startups):.1f}) | < 100 ms |
| idle RSS after start and 5 requests | {idle / 1024:.1f} MiB | < 30 MB |
| GET /api/health, wrk -t2 -c64 -d10s (load tool on the same 2 cores) | {rps:,.0f} req/s, p50 {lat.get('50')}, p99 {lat.get('99')} | |
| RSS after the load | {after / 1024:.1f} MiB | |
| non-2xx responses | {errors.group(1) if errors else 0} | 0 |

Each /api/health request runs the database check (a SQLite round trip), the
memory check (/proc) and the disk check (statvfs).

wrk output:
```
{out.strip()}
```
"""
os.makedirs("bench/results", exist_ok=True)
path = f"bench/results/foundation-{datetime.date.today():%Y-%m-%d}.md"
with open(path, "w") as f:
    f.write(report)
print(report)
print(f"written to {path}")
