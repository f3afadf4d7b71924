"""The deployment files, proven: the systemd unit passes `systemd-analyze verify`, and
the nginx site passes `nginx -t` and serves the real binary over TLS with streaming
unbuffered (the first SSE delta arrives long before the upstream finishes)."""

import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import FakeOpenAi, Server

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_systemd_unit_verifies():
    unit = (ROOT / "deploy/systemd/tenmon-ark.service").read_text()
    for needed in ("Type=notify", "Restart=always", "ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes",
                   "ReadWritePaths=/var/lib/tenmon-ark", "CapabilityBoundingSet=", "LimitNOFILE=", "EnvironmentFile=",
                   "WatchdogSec="):
        assert needed in unit, needed
    with tempfile.TemporaryDirectory() as d:
        # verify checks that ExecStart exists: point it at the binary under test.
        path = Path(d) / "tenmon-ark.service"
        path.write_text(unit.replace("/usr/local/bin/tenmon-ark", os.environ["TENMON_ARK_BIN"]))
        r = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
        assert r.returncode == 0 and not r.stderr.strip(), r.stderr


class Nginx:
    """The shipped site config, with only ports and certificate paths rewritten."""

    def __init__(self, app_port: int):
        self.dir = tempfile.mkdtemp()
        d = Path(self.dir)
        cert, key = d / "cert.pem", d / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=chat.example.jp", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        self.http_port, self.https_port = _free_port(), _free_port()
        site = (ROOT / "deploy/nginx/tenmon-ark.conf").read_text()
        replacements = [
            ("    listen 80;\n", f"    listen 127.0.0.1:{self.http_port};\n"),
            ("    listen [::]:80;\n", ""),
            ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{self.https_port} ssl http2;\n"),
            ("    listen [::]:443 ssl http2;\n", ""),
            ("/etc/letsencrypt/live/chat.example.jp/fullchain.pem", str(cert)),
            ("/etc/letsencrypt/live/chat.example.jp/privkey.pem", str(key)),
            ("server 127.0.0.1:3000;", f"server 127.0.0.1:{app_port};"),
        ]
        for old, new in replacements:
            assert site.count(old) == 1, f"the shipped config changed: {old!r}"
            site = site.replace(old, new)
        (d / "site.conf").write_text(site)
        (d / "nginx.conf").write_text(f"""
user root;
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
    include /etc/nginx/mime.types;
    include {d}/site.conf;
}}
""")
        self.conf = str(d / "nginx.conf")
        self.proc = None

    def test_config(self):
        return subprocess.run(["nginx", "-t", "-c", self.conf, "-p", self.dir], capture_output=True, text=True)

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-c", self.conf, "-p", self.dir, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.025)
        raise RuntimeError("nginx did not start")

    def https(self) -> http.client.HTTPSConnection:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection("127.0.0.1", self.https_port, context=ctx, timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def slow_stack():
    """The binary with an upstream that streams a chunk every 150 ms, behind nginx."""
    fake = FakeOpenAi(delay_ms=150)
    server = Server({"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-fake"})
    nginx = Nginx(server.port)
    yield server, nginx
    nginx.stop()
    server.stop()
    fake.stop()


def test_nginx_config_is_valid_and_serves_the_app_over_tls(slow_stack):
    server, nginx = slow_stack
    r = nginx.test_config()
    assert r.returncode == 0, r.stderr
    nginx.start()

    conn = nginx.https()
    conn.request("GET", "/health")
    res = conn.getresponse()
    body = json.loads(res.read())
    assert res.status == 200 and body["status"] == "ok"
    assert "max-age=" in res.getheader("Strict-Transport-Security")
    assert res.getheader("X-Content-Type-Options") == "nosniff"
    assert res.getheader("X-Frame-Options") == "DENY"
    assert res.getheader("X-Request-Id")

    # Metrics are not public through nginx.
    conn.request("GET", "/metrics")
    res = conn.getresponse()
    res.read()
    assert res.status == 404

    # gzip on JSON.
    conn.request("GET", "/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    res = conn.getresponse()
    raw = res.read()
    assert res.getheader("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(raw))["openapi"].startswith("3.1")

    # Plain HTTP redirects to HTTPS.
    plain = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
    plain.request("GET", "/api/health")
    res = plain.getresponse()
    res.read()
    assert res.status == 301 and res.getheader("Location").startswith("https://")


def test_the_first_sse_delta_passes_nginx_before_the_upstream_finishes(slow_stack):
    server, nginx = slow_stack
    nginx.start()
    conn = nginx.https()
    conn.request("POST", "/api/session")
    token = json.loads(conn.getresponse().read())["token"]
    body = json.dumps({"message": "予約番号の有効期限は？"})
    t0 = time.monotonic()
    conn.request("POST", "/api/chat/stream", body=body,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    res = conn.getresponse()
    assert res.status == 200
    assert res.getheader("Content-Type").startswith("text/event-stream")
    first_delta = done = None
    while True:
        line = res.readline()
        if not line:
            break
        if line.startswith(b"event: delta") and first_delta is None:
            first_delta = time.monotonic() - t0
        if line.startswith(b"event: done"):
            done = time.monotonic() - t0
            break
    assert first_delta is not None and done is not None
    # The answer takes ~2 s upstream (a chunk every 150 ms); buffering would deliver
    # everything at the end.
    assert done > 1.0, done
    assert first_delta < done / 3, (first_delta, done)


def test_socket_io_upgrades_to_websocket_through_nginx(slow_stack):
    """The nginx site forwards the WebSocket upgrade for /api/socket.io/ (Engine.IO
    v4 handshake), and the server speaks the protocol's first frame over it."""
    import base64

    server, nginx = slow_stack
    nginx.start()
    key = base64.b64encode(os.urandom(16)).decode()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", nginx.https_port), timeout=10)
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    request = (
        "GET /api/socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        "Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    tls.sendall(request.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    assert b"upgrade: websocket" in head.lower()
    # The first WebSocket frame is Engine.IO's "open" packet: a text frame "0{...}".
    while len(rest) < 2:
        rest += tls.recv(4096)
    assert rest[0] & 0x0F == 0x1, "a text frame"
    length = rest[1] & 0x7F
    offset = 2
    if length == 126:
        while len(rest) < 4:
            rest += tls.recv(4096)
        length = int.from_bytes(rest[2:4], "big")
        offset = 4
    while len(rest) < offset + length:
        rest += tls.recv(4096)
    payload = rest[offset:offset + length].decode()
    assert payload.startswith("0{") and '"sid"' in payload, payload
    tls.close()


def test_uploads_pass_nginx_up_to_the_file_limit_and_other_bodies_do_not(slow_stack):
    server, nginx = slow_stack
    nginx.start()
    conn = nginx.https()
    conn.request("POST", "/api/session")
    res = conn.getresponse()
    token = json.loads(res.read())["token"]

    # 5 MiB of CSV in a multipart form: over the 1 MiB JSON limit, within the upload one.
    boundary = "tenmonBoundary0123"
    payload = b"id,name\n" + b"1,\xe5\xb1\xb1\xe7\x94\xb0\n" * (5 * 1024 * 1024 // 11)
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    conn.request("POST", "/api/files", body=body, headers=headers)
    res = conn.getresponse()
    answer = json.loads(res.read())
    assert res.status == 201, answer
    assert answer["size"] == len(payload) and answer["kind"] == "csv"

    # The same size as a chat body is refused (by nginx or the app, with 413).
    conn = nginx.https()
    conn.request("POST", "/api/chat", body=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    res = conn.getresponse()
    res.read()
    assert res.status == 413
