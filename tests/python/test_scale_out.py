"""Scale-out, end to end: two replicas of the real binary on one PostgreSQL and one
Redis, behind a real nginx that deals requests round-robin with no stickiness.

Proven here, once per module (the servers start once):
- nginx alternates between the replicas, and the rate limit is one limit for both
  (kept in Redis), not one per replica;
- a stream cut on one replica resumes on the other from the event log, with no gap
  and no duplicate;
- the retention job's first pass runs on one replica only (the Redis lease);
- with Redis gone both replicas keep answering (health `degraded`), and once Redis
  is back on the same port they report `ok` again by themselves.
"""

import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

ANSWER = "スケールアウトの試験です。どのレプリカからでも続きを読めます。予約番号の有効期限は15日間です。"
DELAY_MS = 125  # 3 characters a chunk: 16 chunks, a stream takes about 2 s
RATE_LIMIT = 8
SECRET = "scale-out-test-secret-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _is_root() -> bool:
    return os.geteuid() == 0


def _wait(check, what: str, timeout: float, logs=lambda: ""):
    """Poll `check` until it returns something truthy; fail saying `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{logs()}")


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_group(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 15) -> int:
    """Stop a child started with start_new_session (it leads its own process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group (postgres' backends)
    except ProcessLookupError:
        pass
    return proc.wait()


class Postgres:
    """A throwaway PostgreSQL cluster on a free loopback port (as crates/store's test
    harness starts it: as the `postgres` account when we are root, since initdb and
    the server refuse root). TCP logins need the password (scram); the role and the
    database are made over the Unix socket."""

    def __init__(self):
        versions = sorted(
            (int(p.name), p / "bin")
            for p in Path("/usr/lib/postgresql").glob("*")
            if p.name.isdigit() and (p / "bin/postgres").exists() and (p / "bin/initdb").exists()
        )
        if not versions:
            raise RuntimeError("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin "
                               "(apt-get install --no-install-recommends postgresql; .ci/run does)")
        self.bin = versions[-1][1]
        self.dir = Path(tempfile.mkdtemp(prefix="tenmon-scale-pg-", dir="/tmp"))
        self.proc = None
        if _is_root():
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.log = self.dir / "server.log"
        self._run(self._as_postgres("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth-local=trust",
                                    "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"))
        self.port = _free_port()
        with open(self.log, "w") as log:
            if _is_root():
                os.chown(self.log, pwd.getpwnam("postgres").pw_uid, -1)
            self.proc = subprocess.Popen(
                self._as_postgres("postgres", "-D", str(self.dir / "data"), "-p", str(self.port), "-k", str(self.dir),
                                  "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                  "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        isready = [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        _wait(lambda: self.proc.poll() is not None or subprocess.run(isready).returncode == 0,
              "PostgreSQL to accept connections", 30, lambda: _tail(self.log))
        if self.proc.poll() is not None:
            raise RuntimeError("PostgreSQL exited:\n" + _tail(self.log))
        self._run([str(self.bin / "psql"), "-v", "ON_ERROR_STOP=1", "-q", "-h", str(self.dir), "-p", str(self.port),
                   "-U", "postgres", "-d", "postgres",
                   "-c", "CREATE ROLE tenmon LOGIN PASSWORD 'tenmon-pass'",
                   "-c", "CREATE DATABASE tenmon OWNER tenmon"])
        self.url = f"postgres://tenmon:tenmon-pass@127.0.0.1:{self.port}/tenmon"

    def _as_postgres(self, program: str, *args: str) -> list[str]:
        argv = [str(self.bin / program), *args]
        if _is_root():
            return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]
        return argv

    @staticmethod
    def _run(argv: list[str]):
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{argv} failed ({r.returncode}):\n{r.stdout}{r.stderr}")

    def stop(self):
        if self.proc is not None:
            _stop_group(self.proc, signal.SIGINT, timeout=10)  # SIGINT: PostgreSQL's fast shutdown
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """redis-server on a loopback port, no persistence; can be killed and started
    again on the same port."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="tenmon-scale-redis-"))
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait(lambda: self.proc.poll() is not None or self.ping(), "Redis to answer PING", 15,
              lambda: _tail(self.dir / "redis.log"))
        if self.proc.poll() is not None:
            raise RuntimeError("redis-server exited:\n" + _tail(self.dir / "redis.log"))

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self):
        _stop_group(self.proc, signal.SIGKILL)

    def stop(self):
        if self.proc is not None:
            _stop_group(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class Replica:
    """One `tenmon-ark` process. Started without waiting, so both replicas start
    (and migrate the shared database) at the same time, as a rollout would."""

    def __init__(self, name: str, env: dict[str, str]):
        binary = os.environ.get("TENMON_ARK_BIN")
        if not binary or not os.path.exists(binary):
            raise RuntimeError("TENMON_ARK_BIN must point at the built binary (make test sets it)")
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"tenmon-scale-{name}-"))
        self.port = _free_port()
        self.log_path = self.dir / "server.log"
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": str(self.port), "HOST": "127.0.0.1",
                    **env}
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([binary], cwd=self.dir, env=full_env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True)

    def wait_live(self):
        def live():
            if self.proc.poll() is not None:
                raise AssertionError(f"replica {self.name} exited {self.proc.returncode}:\n{self.logs()}")
            try:
                return get(self.port, "/health/live")[0] == 200
            except OSError:
                return False
        _wait(live, f"replica {self.name} to start", 30, self.logs)

    def logs(self) -> str:
        return f"--- replica {self.name} (port {self.port}) log ---\n" + self.log_path.read_text(errors="replace")

    def health(self) -> dict:
        return json.loads(get(self.port, "/health")[2])

    def metrics(self) -> dict[tuple, float]:
        """Every sample: (name, sorted labels) → value."""
        status, _, body = get(self.port, "/metrics")
        assert status == 200, body
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples
        }

    def requests_to(self, route: str) -> float:
        return sum(v for (name, labels), v in self.metrics().items()
                   if name == "http_requests_total" and dict(labels).get("route") == route)

    def stop(self) -> int:
        return _stop_group(self.proc, timeout=20)


class Nginx:
    """nginx in front of both replicas: plain round-robin (no ip_hash, no sticky
    cookie), the stream paths unbuffered, X-Forwarded-For appended."""

    def __init__(self, upstreams: list[int]):
        self.dir = Path(tempfile.mkdtemp(prefix="tenmon-scale-nginx-"))
        self.port = _free_port()
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in upstreams)
        user = "user root;" if _is_root() else ""
        d = self.dir
        (d / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream tenmon_ark {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Connection "";
        location /api/chat/stream {{
            proxy_pass http://tenmon_ark;
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 300s;
        }}
        location / {{
            proxy_pass http://tenmon_ark;
        }}
    }}
}}
""")
        conf = str(d / "nginx.conf")
        check = subprocess.run(["nginx", "-t", "-c", conf, "-p", str(d)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", str(d), "-g", "daemon off;"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return self.proc.poll() is not None
        _wait(up, "nginx to listen", 10, lambda: _tail(d / "error.log"))
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited:\n" + _tail(d / "error.log"))

    def stop(self):
        _stop_group(self.proc, signal.SIGQUIT, timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def request(port: int, method: str, path: str, body=None, headers=None, timeout: float = 15):
    """One request on a fresh connection: (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = dict(headers or {})
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        return res.status, res.headers, res.read()
    finally:
        conn.close()


def get(port: int, path: str, headers=None):
    return request(port, "GET", path, headers=headers)


def sse_events(res):
    """(event, id, data) for each Server-Sent Event of an http.client response."""
    event, event_id, data = None, None, []
    while True:
        line = res.readline()
        if not line:
            return
        line = line.decode().rstrip("\r\n")
        if not line:
            if event is not None or data:
                yield event or "message", event_id, "\n".join(data)
            event, event_id, data = None, None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "id":
            event_id = value
        elif field == "data":
            data.append(value)


class FakeModel:
    """fake-openai with a known answer (`--answer`), so the text can be compared."""

    def __init__(self, delay_ms: int, answer: str):
        binary = os.environ.get("TENMON_FAKE_OPENAI_BIN")
        if not binary or not os.path.exists(binary):
            raise RuntimeError("TENMON_FAKE_OPENAI_BIN must point at the fake-openai binary (make test sets it)")
        self.proc = subprocess.Popen([binary, "--delay-ms", str(delay_ms), "--answer", answer],
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            self.stop()
            raise RuntimeError("fake-openai did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Stack:
    def __init__(self, stack: ExitStack, replicas: list):
        """Start everything; `stack` stops it (also when a start fails), `replicas`
        collects the replicas so the caller removes their directories (and logs) last."""
        self.pg = Postgres()
        stack.callback(self.pg.stop)
        self.redis = Redis()
        stack.callback(self.redis.stop)
        self.fake = FakeModel(DELAY_MS, ANSWER)
        stack.callback(self.fake.stop)
        env = {
            "DATABASE_URL": self.pg.url,
            "REDIS_URL": self.redis.url,
            "OPENAI_BASE_URL": self.fake.base_url,
            "OPENAI_API_KEY": "sk-fake",
            "LOG_FORMAT": "json",
            "JWT_SECRET": SECRET,
            "SESSION_SECRET": SECRET[::-1],
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "RATE_LIMIT_MAX_REQUESTS": str(RATE_LIMIT),
            "RATE_LIMIT_WINDOW_MS": str(3600 * 1000),
            "DATA_RETENTION_DAYS": "30",
            "DATA_RETENTION_INTERVAL_SECONDS": "3600",
            "SHUTDOWN_GRACE_SECONDS": "5",
            "HEALTH_DISK_MIN_FREE_MB": "1",  # "ok" must mean Redis, not a full CI disk
        }
        self.stopped: dict[str, int] = {}
        self.replicas = replicas
        for name in ("A", "B"):
            replicas.append(Replica(name, env))
            stack.callback(self._stop_replica, replicas[-1])
        for r in self.replicas:
            r.wait_live()
        # Both connected to Redis before anything is measured.
        for r in self.replicas:
            _wait(lambda: r.health()["checks"]["redis"]["status"] == "ok", f"replica {r.name} to reach Redis", 15,
                  self.logs)
        self.a, self.b = self.replicas
        self.nginx = Nginx([r.port for r in self.replicas])
        stack.callback(self.nginx.stop)

    def _stop_replica(self, r: Replica):
        self.stopped[r.name] = r.stop()

    def logs(self) -> str:
        return "\n".join(r.logs() for r in self.replicas)

    def served_by(self, request_id: str) -> str:
        """Which replica logged this request id (the request log line)."""
        def find():
            names = [r.name for r in self.replicas if request_id in r.log_path.read_text(errors="replace")]
            return names if names else None
        names = _wait(find, f"a replica to log request {request_id}", 5, self.logs)
        assert len(names) == 1, f"request {request_id} logged by {names}"
        return names[0]


@pytest.fixture(scope="module")
def stack():
    replicas = []
    try:
        with ExitStack() as es:
            s = Stack(es, replicas)
            yield s
        # Every replica drained and exited cleanly on SIGTERM.
        assert s.stopped == {"A": 0, "B": 0}, f"replica exit codes {s.stopped}:\n{s.logs()}"
    finally:
        for r in replicas:
            shutil.rmtree(r.dir, ignore_errors=True)


def _rid(tag: str) -> str:
    return f"scale-{tag}-{uuid.uuid4()}"


def test_nginx_alternates_between_replicas_and_the_rate_limit_is_shared(stack):
    route = "/api/assistants"
    before = {r.name: r.requests_to(route) for r in stack.replicas}
    client = {"X-Forwarded-For": "203.0.113.10"}  # one client, as nginx passes it on
    results = []
    for i in range(RATE_LIMIT + 1):
        rid = _rid(f"rl{i}")
        status, headers, body = request(stack.nginx.port, "GET", route, headers={**client, "X-Request-Id": rid})
        results.append((status, headers, body, stack.served_by(rid)))

    served = [r[3] for r in results]
    assert set(served) == {"A", "B"}, f"nginx sent every request to one replica: {served}"
    assert all(x != y for x, y in zip(served, served[1:])), f"no strict round-robin: {served}"
    after = {r.name: r.requests_to(route) for r in stack.replicas}
    grew = {n: after[n] - before[n] for n in after}
    assert sorted(grew.values()) == [RATE_LIMIT // 2, RATE_LIMIT // 2 + 1], \
        f"each replica's own http_requests_total for {route} must count its share of the {RATE_LIMIT + 1}: {grew}"

    statuses = [r[0] for r in results]
    assert statuses == [200] * RATE_LIMIT + [429], (
        f"statuses {statuses} (served by {served}): the limit of {RATE_LIMIT} per client must be one limit across "
        f"both replicas (kept in Redis). With each replica limiting alone, round-robin would let "
        f"{2 * RATE_LIMIT} through before the first 429.\n{stack.logs()}")
    for n, (_, headers, _, _) in enumerate(results[:RATE_LIMIT]):
        assert headers["RateLimit-Remaining"] == str(RATE_LIMIT - 1 - n), \
            f"request {n + 1}: remaining {headers['RateLimit-Remaining']}, served by {served[n]}"
    status, headers, body, _ = results[-1]
    assert int(headers["Retry-After"]) >= 1, dict(headers)
    assert headers["RateLimit-Limit"] == str(RATE_LIMIT) and headers["RateLimit-Remaining"] == "0", dict(headers)
    assert json.loads(body)["error"]["code"] == "rate_limited", body

    # Another client (another address behind nginx) has its own allowance.
    status, _, _ = request(stack.nginx.port, "GET", route, headers={"X-Forwarded-For": "203.0.113.11"})
    assert status == 200


def test_a_stream_cut_on_one_replica_resumes_on_the_other(stack):
    a, b = stack.a, stack.b
    client = {"X-Forwarded-For": "203.0.113.20"}
    status, _, body = request(a.port, "POST", "/api/session", headers=client)
    assert status in (200, 201), body
    auth = {**client, "Authorization": f"Bearer {json.loads(body)['token']}"}

    # Start the turn on A, read until the second delta, then hang up.
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=15)
    conn.request("POST", "/api/chat/stream", body=json.dumps({"message": "続きはどこでも読めますか？"}).encode(),
                 headers={**auth, "Content-Type": "application/json"})
    res = conn.getresponse()
    assert res.status == 200, res.read()
    first, meta = [], None
    for event, event_id, data in sse_events(res):
        first.append((event, int(event_id), json.loads(data)))
        if event == "meta":
            meta = json.loads(data)
        if sum(1 for e in first if e[0] == "delta") == 2:
            break
    conn.close()
    cut_at = time.monotonic()
    assert meta is not None, first
    assert not any(e[0] == "done" for e in first), f"the turn ended before the cut: {first}"
    last_id = first[-1][1]

    # Resume on B, which does not run the turn: it follows A's turn in the shared log.
    conn = http.client.HTTPConnection("127.0.0.1", b.port, timeout=15)
    conn.request("GET", f"/api/chat/stream/{meta['message_id']}", headers={**auth, "Last-Event-ID": str(last_id)})
    res = conn.getresponse()
    assert res.status == 200, res.read()
    rest = [(event, int(event_id), json.loads(data)) for event, event_id, data in sse_events(res)]
    conn.close()
    took = time.monotonic() - cut_at

    events = first + rest
    ids = [e[1] for e in events]
    assert all(x < y for x, y in zip(ids, ids[1:])), f"ids must strictly increase across the resume: {ids}"
    assert rest and rest[-1][0] == "done" and rest[-1][2]["status"] == "complete", f"{rest}\n{stack.logs()}"
    rest_deltas = [e for e in rest if e[0] == "delta"]
    assert len(rest_deltas) >= 3, f"B should have followed the running turn, got {rest}"
    assert took > 0.3, f"the turn had already ended when B was asked ({took:.2f} s): nothing was followed live"
    text = "".join(e[2]["text"] for e in events if e[0] == "delta")
    assert text == ANSWER, (
        f"A's deltas + B's deltas must be the whole answer, no gap, no duplicate:\n"
        f"A: {[e[2]['text'] for e in first if e[0] == 'delta']}\nB: {[e[2]['text'] for e in rest_deltas]}")

    # The stored answer, read through B, is the same text.
    status, _, body = request(b.port, "GET", f"/api/conversations/{meta['conversation_id']}/messages", headers=auth)
    assert status == 200, body
    stored = [m for m in json.loads(body)["messages"] if m["id"] == meta["message_id"]]
    assert [(m["content"], m["status"]) for m in stored] == [(ANSWER, "complete")], body.decode()


def test_the_retention_job_ran_once_across_both_replicas(stack):
    def runs():
        return {r.name: sum(v for (name, _), v in r.metrics().items() if name == "tenmon_retention_runs_total")
                for r in stack.replicas}
    _wait(lambda: sum(runs().values()) >= 1, "the first retention pass", 10, stack.logs)
    time.sleep(1.0)  # the other replica's first tick is due at once; give it time to (wrongly) run too
    counted = runs()
    assert sum(counted.values()) == 1, (
        f"retention passes per replica {counted}: both replicas' first tick is at start and the Redis lease "
        f"must let one run (2 means each ran its own)\n{stack.logs()}")


def test_redis_down_both_replicas_serve_degraded_then_recover(stack):
    stack.redis.kill()
    try:
        for r in stack.replicas:
            _wait(lambda: r.health()["checks"]["redis"]["status"] == "degraded",
                  f"replica {r.name} to notice Redis is gone", 10, stack.logs)
        client = {"X-Forwarded-For": "203.0.113.30"}
        served = {}
        for i in range(4):
            rid = _rid(f"down{i}")
            path, method = [("/health", "GET"), ("/api/session", "POST")][i // 2]
            status, _, body = request(stack.nginx.port, method, path, headers={**client, "X-Request-Id": rid})
            who = stack.served_by(rid)
            assert status in (200, 201), f"{method} {path} through nginx answered {status} on {who}: {body}"
            if path == "/health":
                report = json.loads(body)
                assert report["status"] == "degraded" and report["checks"]["redis"]["status"] == "degraded", report
                assert report["checks"]["database"]["status"] == "ok", report
            else:
                token = json.loads(body)["token"]
                # The guest session works on both replicas (it lives in the database).
                for r in stack.replicas:
                    s, _, b = get(r.port, "/api/session", headers={**client, "Authorization": f"Bearer {token}"})
                    assert s == 200, f"replica {r.name}: {s} {b}"
            served.setdefault(path, set()).add(who)
        assert served == {"/health": {"A", "B"}, "/api/session": {"A", "B"}}, served
    finally:
        stack.redis.start()  # same port, empty

    for r in stack.replicas:
        _wait(lambda: r.health()["checks"]["redis"]["status"] == "ok",
              f"replica {r.name} to reconnect to Redis on its own", 20, stack.logs)
    for r in stack.replicas:
        assert r.health()["status"] == "ok", r.health()

    # And the limit is one limit again (the replicas use the restarted Redis).
    client = {"X-Forwarded-For": "203.0.113.31"}
    statuses = [request(stack.nginx.port, "GET", "/api/assistants", headers=client)[0] for _ in range(RATE_LIMIT + 1)]
    assert statuses == [200] * RATE_LIMIT + [429], \
        f"after Redis came back the limit must be shared again (16 would pass per replica alone): {statuses}"
