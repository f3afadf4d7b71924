"""Fixtures: the real `tenmon-ark` binary on a free loopback port, in a throwaway
directory with a fresh SQLite file."""

import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


API_KEY = "contract-test-key-0123456789"


class FakeOpenAi:
    """The Rust fake OpenAI server (crates/test-support), as a process."""

    def __init__(self, delay_ms: int = 0):
        binary = os.environ.get("TENMON_FAKE_OPENAI_BIN")
        if not binary or not os.path.exists(binary):
            raise RuntimeError("TENMON_FAKE_OPENAI_BIN must point at the fake-openai binary (make test sets it)")
        self.proc = subprocess.Popen([binary, "--delay-ms", str(delay_ms)], stdout=subprocess.PIPE, text=True)
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            self.proc.kill()
            raise RuntimeError("fake-openai did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Server:
    def __init__(self, env: dict[str, str] | None = None):
        binary = os.environ.get("TENMON_ARK_BIN")
        if not binary or not os.path.exists(binary):
            raise RuntimeError("TENMON_ARK_BIN must point at the built binary (make test sets it)")
        self.dir = tempfile.TemporaryDirectory()
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PORT": str(self.port),
            "LOG_FORMAT": "json",
            # The fuzzer sends hundreds of requests from one address; limits are
            # tested in the Rust suite.
            "RATE_LIMIT_MAX_REQUESTS": "1000000",
            "AUTH_RATE_LIMIT_MAX": "100000",
        }
        full_env.update(env or {})
        self.log = open(os.path.join(self.dir.name, "server.log"), "w+")
        self.proc = subprocess.Popen([binary], cwd=self.dir.name, env=full_env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/health/live", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not start:\n" + self.logs())

    def logs(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


@pytest.fixture(scope="session")
def fake_openai():
    fake = FakeOpenAi()
    yield fake
    fake.stop()


@pytest.fixture
def server(fake_openai):
    s = Server({"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "sk-fake", "API_KEYS": API_KEY})
    yield s
    code = s.stop()
    assert code == 0, f"server exited {code}:\n{s.logs()}"
    s.dir.cleanup()
