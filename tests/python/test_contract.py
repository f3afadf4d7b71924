"""The API against its own OpenAPI document, and the metrics against a strict
OpenMetrics parser."""

import json
import os
import subprocess
import sys
import urllib.request

from conftest import API_KEY

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def _session_token(base: str) -> str:
    req = urllib.request.Request(base + "/api/session", method="POST")
    with urllib.request.urlopen(req) as r:
        return json.load(r)["token"]


def test_schemathesis_finds_no_5xx_and_every_response_conforms(server):
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    token = _session_token(server.base)
    result = subprocess.run(
        [
            schemathesis, "--config-file", os.path.join(os.path.dirname(__file__), "schemathesis.toml"),
            "run", f"{server.base}/api/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "all",
            "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "40"),
            "--seed", "1",
            "--workers", "1",  # CPython 3.11.7 ast.parse races between threads inside Hypothesis
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stdout)
    print(result.stderr[-4000:], file=sys.stderr)
    assert result.returncode == 0, "schemathesis found problems (see output above)"
    errors = [line for line in server.logs().splitlines() if '"level":"ERROR"' in line]
    assert not errors, "the server logged errors:\n" + "\n".join(errors)


def test_metrics_are_valid_openmetrics(server):
    urllib.request.urlopen(server.base + "/health").read()
    with urllib.request.urlopen(server.base + "/metrics") as r:
        assert r.headers["Content-Type"].startswith("application/openmetrics-text")
        text = r.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["http_requests"].type == "counter"
    assert families["http_request_duration_seconds"].type == "histogram"
    assert families["process_resident_memory_bytes"].samples[0].value > 0
    routes = {s.labels.get("route") for s in families["http_requests"].samples}
    assert "/health" in routes
