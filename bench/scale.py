"""Scale benchmarks, side by side in one run against the fake upstream:

1. persisted chat turns per second (non-streamed POST /api/chat, fake model answering
   at once) on SQLite, PostgreSQL and MariaDB: one replica per backend, C concurrent
   clients on keep-alive connections, each with its own guest session; the backends
   take turns in short rounds so machine noise hits all alike. Afterwards the stored
   assistant messages are counted in each database and must equal the turns that
   answered 200, and a sample is read back through GET /api/conversations/{id}/messages;
2. one replica vs two replicas behind nginx (round-robin, the config of
   tests/python/test_scale_out.py) on PostgreSQL + Redis, the same load, alternating;
3. delivery latency of a streamed turn (fake model at 20 ms a chunk): time to the
   first delta and the gaps between deltas, over SSE (POST /api/chat/stream) and over
   Socket.IO (chat:send → chat:delta, the official socket.io-client), measured by
   bench/delivery.mjs in one Node process, interleaved.

The processes (PostgreSQL as the postgres account via setpriv when root, Redis,
nginx, fake-openai, the replicas) are started by the helpers of
tests/python/test_scale_out.py, imported from there; MariaDB has no Python helper
in the tests, so `MariaDB` below follows crates/store/tests/store/harness.rs.
Importing the test module needs pytest and prometheus_client: run with the venv's
python (`make bench` does).

Usage: python bench/scale.py TENMON_ARK_BIN FAKE_OPENAI_BIN
Knobs: BENCH_CLIENTS (32), BENCH_SECONDS per target (15), BENCH_ROUNDS (3),
BENCH_TURNS per client kind in part 3 (100).
Writes bench/results/scale-<date>.md.
"""

import asyncio
import collections
import datetime
import json
import os
import platform
import pwd
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests/python"))
sys.dont_write_bytecode = True  # leave no __pycache__ in tests/python
import test_scale_out as so  # noqa: E402  (Postgres, Redis, Replica, Nginx, FakeModel, _stop_group, _wait)

BIN, FAKE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
# The test helpers find the binaries through these.
os.environ["TENMON_ARK_BIN"], os.environ["TENMON_FAKE_OPENAI_BIN"] = BIN, FAKE

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TURNS = int(os.environ.get("BENCH_TURNS", "100"))
WARMUP_S = 1.0
SAMPLE = 20  # turns per target read back through the API
ANSWER = "承知しました。予約番号の有効期限は発行日を含め15日間です。"
STREAM_DELAY_MS = 20
SECRET = "scale-bench-secret-0123456789abcdef"
MESSAGE = "予約番号の有効期限は？"


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
    return f"{os.cpu_count()} cores, {cpu}, {mem} RAM, Linux {platform.release()}"


def version(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def server_env(upstream, **extra):
    return {
        "LOG_LEVEL": "warn", "LOG_FORMAT": "json",
        "OPENAI_BASE_URL": upstream, "OPENAI_API_KEY": "sk-bench",
        "JWT_SECRET": SECRET, "SESSION_SECRET": SECRET[::-1],
        # One load tool from one address: the limits would measure themselves.
        "RATE_LIMIT_MAX_REQUESTS": "1000000000", "RATE_LIMIT_WINDOW_MS": "60000", "AUTH_RATE_LIMIT_MAX": "1000000",
        "HEALTH_DISK_MIN_FREE_MB": "1", "SHUTDOWN_GRACE_SECONDS": "5",
        **extra,
    }


class MariaDB:
    """A throwaway MariaDB on a free loopback port, as crates/store/tests/store/harness.rs
    (start_mariadb) starts it: mariadb-install-db into a temp dir under /tmp, mariadbd
    as the `mysql` account when we are root (it switches itself with --user), a
    socket in the dir, no grant tables, durability off. No Python equivalent exists
    in tests/python, hence this copy."""

    def __init__(self):
        server = next((p for p in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld") if os.path.exists(p)), None)
        install = next((p for p in ("/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db") if os.path.exists(p)),
                       None)
        if not server or not install or not shutil.which("mariadb-admin") or not shutil.which("mariadb"):
            raise RuntimeError("MariaDB not found (apt-get install --no-install-recommends mariadb-server; .ci/run does)")
        self.proc = None
        self.dir = Path(tempfile.mkdtemp(prefix="tenmon-bench-mariadb-", dir="/tmp"))
        user = ["--user=mysql"] if so._is_root() else []
        if user:
            pw = pwd.getpwnam("mysql")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = self.dir / "data"
        r = subprocess.run([install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                            "--skip-test-db", *user], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{r.stdout}{r.stderr}")
        self.port = so._free_port()
        self.sock = self.dir / "sock"
        self.log = self.dir / "server.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [server, "--no-defaults", f"--datadir={data}", f"--port={self.port}", f"--socket={self.sock}",
                 f"--pid-file={self.dir / 'pid'}", "--bind-address=127.0.0.1", "--skip-grant-tables",
                 "--skip-name-resolve", "--skip-log-bin", "--max-connections=500", "--character-set-server=utf8mb4",
                 # Throwaway data: durability off, for speed (as the store tests).
                 "--innodb-flush-log-at-trx-commit=0", "--skip-innodb-doublewrite", "--innodb-buffer-pool-size=64M",
                 *user],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        ping = ["mariadb-admin", "--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", str(self.port), "-u",
                "root", "--connect-timeout=2", "ping"]
        so._wait(lambda: self.proc.poll() is not None or subprocess.run(ping, capture_output=True).returncode == 0,
                 "MariaDB to answer ping", 60, lambda: so._tail(self.log))
        if self.proc.poll() is not None:
            raise RuntimeError("mariadbd exited:\n" + so._tail(self.log))
        self.sql("CREATE DATABASE tenmon CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", db="")
        self.url = f"mysql://root@127.0.0.1:{self.port}/tenmon"

    def sql(self, query, db="tenmon"):
        r = subprocess.run(["mariadb", "--no-defaults", f"--socket={self.sock}", "-u", "root", "-N", "-B", "-e", query,
                            *([db] if db else [])], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"mariadb {query!r}: {r.stderr}")
        return r.stdout.strip()

    def stop(self):
        if self.proc is not None:
            so._stop_group(self.proc, signal.SIGTERM, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def pg_sql(pg, db, query):
    r = subprocess.run([str(pg.bin / "psql"), "-v", "ON_ERROR_STOP=1", "-qtA", "-h", str(pg.dir), "-p", str(pg.port),
                        "-U", "postgres", "-d", db, "-c", query], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"psql {query!r}: {r.stderr}")
    return r.stdout.strip()


COUNT_SQL = ("SELECT COUNT(*), SUM(CASE WHEN status = 'complete' THEN 1 ELSE 0 END) "
             "FROM messages WHERE role = 'assistant'")


def parse_count(text):
    total, complete = text.replace("|", "\t").split("\t")
    return int(total), int(complete or 0)


# ---------------------------------------------------------------- CPU accounting

TICK = os.sysconf("SC_CLK_TCK")


def tree_ticks(roots):
    """CPU ticks (user + system) of each root process and all its live descendants
    (PostgreSQL's backends call setsid(), so process groups would miss them)."""
    ticks, parent = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parent[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])
    out = collections.Counter()
    for pid, t in ticks.items():
        p, seen = pid, 0
        while p and seen < 64:
            if p in roots:
                out[p] += t
                break
            p, seen = parent.get(p, 0), seen + 1
    return out


def machine_ticks():
    """(busy, total) ticks of the whole machine, all cores."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)


class CpuMeter:
    """CPU use of named processes (with their descendants), of this process, and of the
    whole machine, over the measured rounds of one target."""

    def __init__(self, groups):
        self.groups = groups  # name -> pid
        self.used = collections.Counter()
        self.busy = self.total = 0

    def __enter__(self):
        self._g = tree_ticks(set(self.groups.values()))
        self._m = machine_ticks()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self._self = ru.ru_utime + ru.ru_stime
        return self

    def __exit__(self, *exc):
        g = tree_ticks(set(self.groups.values()))
        busy, total = machine_ticks()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        for name, pid in self.groups.items():
            self.used[name] += (g[pid] - self._g[pid]) / TICK
        self.used["load generator"] += ru.ru_utime + ru.ru_stime - self._self
        self.busy += busy - self._m[0]
        self.total += total - self._m[1]

    def line(self, seconds):
        """'name N%, …' in % of one core, then everything else and the machine's total."""
        cores = os.cpu_count()
        parts = [f"{name} {100 * v / seconds:.0f}%" for name, v in self.used.items() if v / seconds >= 0.01]
        # Ticks (1/100 s) against getrusage's exact seconds: a few tenths either way.
        other = max(0.0, self.busy / TICK - sum(self.used.values()))
        return (", ".join(parts) + f"; everything else on the machine {100 * other / seconds:.0f}%; "
                f"machine busy {self.busy_pct():.0f}% of {100 * cores}%")

    def busy_pct(self):
        return 100 * self.busy / self.total * os.cpu_count() if self.total else 0.0

    def share(self, name, seconds):
        return 100 * self.used[name] / seconds


# ---------------------------------------------------------------- load generator

class Http:
    """One keep-alive HTTP/1.1 connection, raw: the client must cost the 2 cores little."""

    def __init__(self, port):
        self.port, self.r, self.w = port, None, None

    async def send(self, raw: bytes):
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
            self.w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.w.write(raw)
        head = await self.r.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            body = await self.r.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.r.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.r.readuntil(b"\r\n")
                    break
                parts.append(await self.r.readexactly(size))
                await self.r.readexactly(2)
            body = b"".join(parts)
        else:
            body = await self.r.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self):
        if self.w is not None:
            self.w.close()
            self.w = self.r = None


def chat_request(token):
    body = json.dumps({"message": MESSAGE}).encode()
    return (f"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


class Tally:
    """Every turn sent to one target, over all its rounds (warm-up included in `ok`
    for the persistence check, excluded from the rate and the latencies)."""

    def __init__(self, name):
        self.name = name
        self.ok = 0            # 200s, warm-up included
        self.measured = 0      # 200s in the measured rounds
        self.elapsed = 0.0     # wall time of the measured rounds
        self.lat = []          # ms, measured rounds
        self.errors = collections.Counter()
        self.error_samples = []
        self.turns = []        # (client, response body) of every 200, for read-back
        self.meter = None      # CpuMeter over the measured rounds

    def rate(self):
        return self.measured / self.elapsed if self.elapsed else 0.0

    def pct(self, q):
        if not self.lat:
            return float("nan")
        s = sorted(self.lat)
        return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


async def load(port, tokens, seconds, tally, measured):
    requests = [chat_request(t) for t in tokens]
    stop_at = time.perf_counter() + seconds

    async def client(i):
        h = Http(port)
        raw = requests[i % len(requests)]
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(h.send(raw), 30)
            except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError, IndexError) as e:
                tally.errors[type(e).__name__] += 1
                if len(tally.error_samples) < 3:
                    tally.error_samples.append(f"{type(e).__name__}: {e}")
                h.close()
                await asyncio.sleep(0.01)
                continue
            ms = (time.perf_counter() - t) * 1000
            if status == 200:
                tally.ok += 1
                tally.turns.append((i % len(tokens), body))
                if measured:
                    tally.measured += 1
                    tally.lat.append(ms)
            else:
                tally.errors[f"HTTP {status}"] += 1
                if len(tally.error_samples) < 3:
                    tally.error_samples.append(f"HTTP {status}: {body[:200].decode(errors='replace')}")
        h.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    if measured:
        tally.elapsed += time.perf_counter() - t0


def guests(port, n):
    out = []
    for _ in range(n):
        status, _, body = so.request(port, "POST", "/api/session")
        if status not in (200, 201):
            raise RuntimeError(f"POST /api/session: {status} {body[:200]!r}")
        out.append(json.loads(body)["token"])
    return out


def run_rounds(targets, groups):
    """targets: [(tally, port, tokens)]. Warm-up, then ROUNDS rounds in which every
    target gets SECONDS/ROUNDS of load; the order rotates each round. `groups`: the
    processes whose CPU use is reported (name -> pid)."""
    for tally, port, tokens in targets:
        tally.meter = CpuMeter(groups)
        asyncio.run(load(port, tokens, WARMUP_S, tally, measured=False))
    for r in range(ROUNDS):
        for k in range(len(targets)):
            tally, port, tokens = targets[(r + k) % len(targets)]
            with tally.meter:
                asyncio.run(load(port, tokens, SECONDS / ROUNDS, tally, measured=True))


def read_back(tally, port, tokens):
    """A sample of answered turns, read back through the API: (checked, turns wrong, problems)."""
    problems, bad = [], 0
    sample = random.Random(7).sample(tally.turns, min(SAMPLE, len(tally.turns)))
    for client, body in sample:
        turn = json.loads(body)
        status, _, got = so.request(port, "GET", f"/api/conversations/{turn['conversation_id']}/messages",
                                    headers={"Authorization": f"Bearer {tokens[client]}"})
        wrong = []
        if status != 200:
            wrong.append(f"{turn['conversation_id']}: HTTP {status} {got[:200]!r}")
        else:
            msgs = {m["id"]: m for m in json.loads(got)["messages"]}
            a, u = msgs.get(turn["message_id"]), msgs.get(turn["user_message_id"])
            if not a or a["role"] != "assistant" or a["status"] != "complete" or a["content"] != ANSWER:
                wrong.append(f"{turn['message_id']}: assistant message {a}")
            if not u or u["role"] != "user" or u["content"] != MESSAGE:
                wrong.append(f"{turn['user_message_id']}: user message {u}")
        bad += bool(wrong)
        problems += wrong
    return len(sample), bad, problems


def log_problems(replica):
    """WARN/ERROR lines a replica logged (LOG_LEVEL=warn: every line is one)."""
    lines = [l for l in replica.log_path.read_text(errors="replace").splitlines() if l.strip()]
    kinds = collections.Counter()
    for l in lines:
        try:
            j = json.loads(l)
            kinds[f"{j.get('level', '?')}: {j.get('fields', {}).get('message', j.get('message', l))[:160]}"] += 1
        except ValueError:
            kinds[l[:160]] += 1
    return kinds


def fmt_ms(v):
    return f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))] if s else float("nan")


# ---------------------------------------------------------------- the parts

def part_backends(notes):
    """1. SQLite vs PostgreSQL vs MariaDB, one replica each."""
    replicas = []
    with ExitStack() as es:
        fake = so.FakeModel(0, ANSWER)
        es.callback(fake.stop)
        pg = so.Postgres()
        es.callback(pg.stop)
        maria = MariaDB()
        es.callback(maria.stop)
        env = server_env(fake.base_url)
        specs = [("SQLite", {}), ("PostgreSQL", {"DATABASE_URL": pg.url}), ("MariaDB", {"DATABASE_URL": maria.url})]
        exits = {}
        for name, extra in specs:
            r = so.Replica(name, {**env, **extra})  # SQLite: the default sqlite://data/tenmon-ark.db in its dir
            replicas.append(r)
            es.callback(shutil.rmtree, r.dir, True)
            es.callback(lambda r=r: exits.__setitem__(r.name, r.stop()))
        for r in replicas:
            r.wait_live()
        targets = []
        for r in replicas:
            targets.append((Tally(r.name), r.port, guests(r.port, CLIENTS)))
        groups = {f"{r.name} replica": r.proc.pid for r in replicas}
        groups.update({"PostgreSQL": pg.proc.pid, "MariaDB": maria.proc.pid, "fake model": fake.proc.pid})
        run_rounds(targets, groups)

        results = []
        for (tally, port, tokens), r in zip(targets, replicas):
            if r.name == "SQLite":
                db = sqlite3.connect(f"file:{r.dir / 'data/tenmon-ark.db'}?mode=ro", uri=True)
                stored = tuple(int(x or 0) for x in db.execute(COUNT_SQL).fetchone())
                db.close()
            elif r.name == "PostgreSQL":
                stored = parse_count(pg_sql(pg, "tenmon", COUNT_SQL))
            else:
                stored = parse_count(maria.sql(COUNT_SQL))
            checked, bad, problems = read_back(tally, port, tokens)
            results.append((tally, stored, checked, bad, problems, log_problems(r)))
        versions = {"PostgreSQL": version([str(pg.bin / "postgres"), "--version"]),
                    "MariaDB": version(["mariadbd", "--version"])}
    # The stack is down here (ExitStack ran): exit codes are known.
    for name, code in exits.items():
        if code != 0:
            notes.append(f"part 1: replica {name} exited {code} on SIGTERM")
    return results, versions


def part_replicas(notes):
    """2. One replica vs two behind nginx, PostgreSQL + Redis."""
    replicas = []
    with ExitStack() as es:
        fake = so.FakeModel(0, ANSWER)
        es.callback(fake.stop)
        pg = so.Postgres()
        es.callback(pg.stop)
        redis = so.Redis()
        es.callback(redis.stop)
        env = server_env(fake.base_url, DATABASE_URL=pg.url, REDIS_URL=redis.url, TRUSTED_PROXIES="127.0.0.1/32")
        exits = {}
        for name in ("A", "B"):
            r = so.Replica(name, env)
            replicas.append(r)
            es.callback(shutil.rmtree, r.dir, True)
            es.callback(lambda r=r: exits.__setitem__(r.name, r.stop()))
        for r in replicas:
            r.wait_live()
        for r in replicas:
            so._wait(lambda: r.health()["checks"]["redis"]["status"] == "ok", f"replica {r.name} to reach Redis", 15,
                     r.logs)
        one = so.Nginx([replicas[0].port])
        es.callback(one.stop)
        two = so.Nginx([r.port for r in replicas])
        es.callback(two.stop)
        tokens = guests(two.port, CLIENTS)  # sessions live in PostgreSQL: good on both replicas
        t1, t2 = Tally("nginx → 1 replica"), Tally("nginx → 2 replicas (round-robin)")
        before = {r.name: r.requests_to("/api/chat") for r in replicas}
        groups = {"replica A": replicas[0].proc.pid, "replica B": replicas[1].proc.pid, "nginx (1)": one.proc.pid,
                  "nginx (2)": two.proc.pid, "PostgreSQL": pg.proc.pid, "Redis": redis.proc.pid,
                  "fake model": fake.proc.pid}
        run_rounds([(t1, one.port, tokens), (t2, two.port, tokens)], groups)
        after = {r.name: r.requests_to("/api/chat") for r in replicas}
        # Every request of the one-replica configuration went to A: the rest is the split.
        served = {"A": int(after["A"] - before["A"]) - t1.ok - sum(t1.errors.values()),
                  "B": int(after["B"] - before["B"])}
        stored = parse_count(pg_sql(pg, "tenmon", COUNT_SQL))
        checked, bad2, problems = read_back(t2, two.port, tokens)
        logs = {r.name: log_problems(r) for r in replicas}
    for name, code in exits.items():
        if code != 0:
            notes.append(f"part 2: replica {name} exited {code} on SIGTERM")
    return t1, t2, served, stored, checked - bad2, checked, problems, logs


def part_delivery(notes):
    """3. SSE vs Socket.IO, one replica on SQLite, fake model at STREAM_DELAY_MS a chunk."""
    with ExitStack() as es:
        fake = so.FakeModel(STREAM_DELAY_MS, ANSWER)
        es.callback(fake.stop)
        r = so.Replica("delivery", server_env(fake.base_url))
        es.callback(shutil.rmtree, r.dir, True)
        exit_code = []
        es.callback(lambda: exit_code.append(r.stop()))
        r.wait_live()
        cmd = ["node", "bench/delivery.mjs", f"http://127.0.0.1:{r.port}", str(TURNS)]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}{out.stderr}\n{r.logs()}")
        data = json.loads(out.stdout.strip().splitlines()[-1])
        logs = log_problems(r)
    if exit_code and exit_code[0] != 0:
        notes.append(f"part 3: replica exited {exit_code[0]} on SIGTERM")
    return data, logs, " ".join(cmd[:2] + ["BASE", str(TURNS)])


# ---------------------------------------------------------------- report

def log_lines(name, kinds):
    if not kinds:
        return []
    return [f"- replica {name} logged {sum(kinds.values())} warn/error line(s): "
            + "; ".join(f"{n}× `{k}`" for k, n in kinds.most_common(5))]


def main():
    t_start = time.monotonic()
    notes = []
    backends, versions = part_backends(notes)
    t1, t2, served, stored2, good2, checked2, problems2, logs2 = part_replicas(notes)
    delivery, logs3, node_cmd = part_delivery(notes)
    wall = time.monotonic() - t_start

    base_rate = backends[0][0].rate()
    rows1, persist1, extra = [], [], []
    for tally, stored, checked, bad, problems, logs in backends:
        err = ", ".join(f"{k}: {v}" for k, v in tally.errors.items()) or "0"
        rows1.append(f"| {tally.name} | {tally.measured:,} | {tally.rate():,.0f} | {fmt_ms(tally.pct(50))} | "
                     f"{fmt_ms(tally.pct(99))} | {err} | {tally.rate() / base_rate:.2f}× |")
        same = "yes" if stored[1] == tally.ok and stored[0] == tally.ok else "**NO**"
        persist1.append(f"| {tally.name} | {tally.ok:,} | {stored[0]:,} | {stored[1]:,} | {same} | "
                        f"{checked - bad}/{checked} |")
        extra += [f"- {tally.name}: {p}" for p in problems[:5]] + [f"- {tally.name}: {s}" for s in tally.error_samples]
        extra += log_lines(tally.name, logs)
    cpu1 = [f"- {t.name}: {t.meter.line(t.elapsed)}" for t, *_ in backends]

    rows2 = []
    for t in (t1, t2):
        err = ", ".join(f"{k}: {v}" for k, v in t.errors.items()) or "0"
        rows2.append(f"| {t.name} | {t.measured:,} | {t.rate():,.0f} | {fmt_ms(t.pct(50))} | {fmt_ms(t.pct(99))} | "
                     f"{err} | {t.rate() / t1.rate():.2f}× |")
    same2 = "yes" if stored2[0] == stored2[1] == t1.ok + t2.ok else "**NO**"
    extra2 = [f"- {p}" for p in problems2[:5]] + [f"- {s}" for t in (t1, t2) for s in t.error_samples]
    for name, kinds in logs2.items():
        extra2 += log_lines(name, kinds)

    why1 = []
    sq = backends[0][0]
    if sq.meter.busy_pct() < 170 and sq.rate() < max(t.rate() for t, *_ in backends):
        why1.append(
            f"- SQLite is the slowest here with the machine only {sq.meter.busy_pct():.0f}% busy of "
            f"{100 * os.cpu_count()}%: the SQLite store writes through a single connection (the writer pool of "
            f"crates/store/src/sqlite.rs has max_connections 1), so concurrent turns queue on it; PostgreSQL and "
            f"MariaDB take writes in parallel and use the idle core (their server processes are listed above).")
    why2 = []
    if t2.rate() <= t1.rate():
        a1 = t1.meter.share("replica A", t1.elapsed)
        a2 = t2.meter.share("replica A", t2.elapsed) + t2.meter.share("replica B", t2.elapsed)
        why2.append(
            f"- Two replicas are not faster on this machine: it was CPU-bound in both configurations (busy "
            f"{t1.meter.busy_pct():.0f}% and {t2.meter.busy_pct():.0f}% of {100 * os.cpu_count()}%), PostgreSQL, "
            f"nginx, Redis, the fake model and the load generator included. A second replica adds no core: the "
            f"server's share stays the same (A alone {a1:.0f}% of one core, A + B {a2:.0f}%) and is split between "
            f"two processes, each with its own runtime threads and database pool (16 PostgreSQL connections "
            f"instead of 8): more threads and connections for the same CPU. The comparison needs a replica per "
            f"machine (or at least idle cores) to show the scale-out.")
        if t2.pct(99) > 1.2 * t1.pct(99):
            why2.append(f"- p99 grew from {fmt_ms(t1.pct(99))} to {fmt_ms(t2.pct(99))} with two replicas: more "
                        f"runnable threads than cores, so a request waits for a time slice more often.")

    rows3, stats3 = [], {}
    for kind, label in (("sse", "SSE (POST /api/chat/stream, fetch)"), ("socketio", "Socket.IO (chat:send → chat:delta, websocket)")):
        turns = delivery[kind]
        ttfd = [t["ttfd"] for t in turns]
        gaps = [g for t in turns for g in t["gaps"]]
        stats3[kind] = (pct(ttfd, 50), pct(ttfd, 99), pct(gaps, 50), pct(gaps, 99))
        deltas = statistics.median([t["deltas"] for t in turns]) if turns else 0
        rows3.append(f"| {label} | {len(turns)} | {fmt_ms(stats3[kind][0])} | {fmt_ms(stats3[kind][1])} | "
                     f"{fmt_ms(stats3[kind][2])} | {fmt_ms(stats3[kind][3])} | {len(gaps)} | {deltas:.0f} |")
    s, w = stats3["sse"], stats3["socketio"]
    extra3 = [f"- client error: {e}" for e in delivery["errors"][:10]] + log_lines("delivery", logs3)

    cmd = f"python bench/scale.py {sys.argv[1]} {sys.argv[2]}"
    knobs = f"BENCH_CLIENTS={CLIENTS} BENCH_SECONDS={SECONDS:g} BENCH_ROUNDS={ROUNDS} BENCH_TURNS={TURNS}"
    report = f"""# Scale benchmarks, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC

- Machine: {machine()}
- Command: `make bench` (`$(VENV)/bin/{cmd}`, {knobs}; release builds of tenmon-ark
  and fake-openai); whole script {wall:.0f} s wall time
- Databases: SQLite (the server's own settings: WAL, synchronous=NORMAL), {versions['PostgreSQL']}
  (fsync=off, synchronous_commit=off, full_page_writes=off, as tests/python/test_scale_out.py),
  {versions['MariaDB']} (innodb_flush_log_at_trx_commit=0, no doublewrite, 64 MiB buffer pool,
  as crates/store/tests); the server's default pool (DATABASE_POOL_MAX=8); LOG_LEVEL=warn.
- Load: {CLIENTS} concurrent clients (Python asyncio, one keep-alive connection and one guest
  session each), non-streamed `POST /api/chat`, a new conversation per turn, fake model
  answering at once ({len(ANSWER)} characters). After 1 s of warm-up per target, {ROUNDS} rounds of
  {SECONDS / ROUNDS:g} s per target, the targets taking turns (order rotating) so the noise of
  this machine hits all alike. The load generator, the databases, the fake model and the
  server(s) share the {os.cpu_count()} cores; their CPU use is listed under each table.

## 1. Persisted turns per second by backend (one replica each)

| backend | turns | turns/s | p50 | p99 | errors | vs SQLite |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows1)}

Persisted: assistant messages counted in each database afterwards (warm-up turns included)
against the turns that answered 200, plus {SAMPLE} turns per backend read back through
`GET /api/conversations/{{id}}/messages` (assistant message `complete` with the model's text,
user message present).

| backend | 200 answers | assistant messages stored | of them `complete` | equal | read back OK |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(persist1)}

CPU use during each backend's measured rounds (% of one core; processes under 1% left out):

{chr(10).join(cpu1)}
{chr(10).join(why1)}
{chr(10).join(extra)}

## 2. One replica vs two behind nginx (PostgreSQL + Redis)

nginx (1 worker, round-robin, no upstream keep-alive: the config of
tests/python/test_scale_out.py) in front of replica A alone, and in front of A and B; one
PostgreSQL (a fresh cluster), one Redis (shared rate limit, turn notices); the same
{CLIENTS} clients, alternating rounds as above.

| path | turns | turns/s | p50 | p99 | errors | vs 1 replica |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows2)}

CPU use during the measured rounds (% of one core):

- nginx → 1 replica: {t1.meter.line(t1.elapsed)}
- nginx → 2 replicas: {t2.meter.line(t2.elapsed)}

- /api/chat requests per replica in the two-replica configuration (their own
  http_requests_total, less A's requests of the one-replica rounds): A {served['A']:,}, B {served['B']:,}
- Persisted: {stored2[0]:,} assistant messages stored ({stored2[1]:,} `complete`) for {t1.ok + t2.ok:,}
  200 answers (warm-up included): equal: {same2}; {good2}/{checked2} read back OK
{chr(10).join(why2)}
{chr(10).join(extra2)}

## 3. Delivery latency: Socket.IO vs SSE

One replica (SQLite), fake model streaming {len(ANSWER)} characters in 3-character chunks,
{STREAM_DELAY_MS} ms before each chunk (so {STREAM_DELAY_MS} ms is the floor for the first delta). The server
sends the first delta at once and coalesces the later ones, writing them to the event log
at most every 50 ms (`coalesce_interval`, crates/chat/src/service.rs), the rest going with
the completion: the gaps between deltas are therefore about 50-60 ms whatever the
transport, and only their comparison says something about SSE vs Socket.IO. `{node_cmd}`: one Node {version(['node', '--version'])} process, one guest session,
socket.io-client {json.load(open(ROOT / 'tests/node/node_modules/socket.io-client/package.json'))['version']} connected once (websocket), fetch() on a kept-alive connection;
turns one at a time, alternating SSE / Socket.IO (the order flipping each turn), each a new
conversation, after 5 warm-up turns of each. Time to first delta: from `fetch()` /
`emit("chat:send")` to the first delta's arrival.

| client | turns | first delta p50 | first delta p99 | delta gap p50 | delta gap p99 | gaps | deltas/turn |
| --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows3)}

- Socket.IO / SSE: first delta p50 {w[0] / s[0]:.2f}×, p99 {w[1] / s[1]:.2f}×; gap p50 {w[2] / s[2]:.2f}×,
  p99 {w[3] / s[3]:.2f}×
- Over the {STREAM_DELAY_MS} ms floor at p50: SSE +{s[0] - STREAM_DELAY_MS:.2f} ms, Socket.IO +{w[0] - STREAM_DELAY_MS:.2f} ms
{chr(10).join(extra3)}
"""
    if notes:
        report += "\n## Problems seen\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    out = ROOT / f"bench/results/scale-{datetime.date.today():%Y-%m-%d}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    print("written to", out)


main()
