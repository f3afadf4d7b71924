"""Logs carry no message text, personal data or credentials, at any level
(LOG_PERSONAL_DATA=false), across a session that exercises sign-up, login, chat,
streaming, search, errors, LINE-free paths and erasure."""

import json
import urllib.error
import urllib.parse
import urllib.request

from conftest import Server

SECRETS = [
    "ログ衛生テストの固有文カワセミ",
    "090-8765-4321",
    "hygiene.person@example.jp",
    "a very secret passphrase 42",
]


def call(base, method, path, body=None, token=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            raw = r.read()
            return r.status, raw
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_no_message_text_personal_data_or_secrets_in_logs(fake_openai):
    s = Server({
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "sk-fake-log-hygiene-key",
        "LOG_LEVEL": "trace",
        "JWT_SECRET": "log-hygiene-jwt-secret-0123456789abcdef",
    })
    try:
        status, raw = call(s.base, "POST", "/api/auth/signup",
                           {"email": SECRETS[2], "password": SECRETS[3]})
        assert status == 201, raw
        token = json.loads(raw)["access_token"]
        status, _ = call(s.base, "POST", "/api/auth/login", {"email": SECRETS[2], "password": "wrong " + SECRETS[3]})
        assert status == 401
        message = f"{SECRETS[0]} 電話は{SECRETS[1]}、メールは{SECRETS[2]}"
        status, raw = call(s.base, "POST", "/api/chat", {"message": message}, token)
        assert status == 200, raw
        status, raw = call(s.base, "POST", "/api/chat/stream", {"message": message, "assistant": "mnp-support"}, token)
        assert status == 200
        call(s.base, "GET", "/api/kb/search?q=" + urllib.parse.quote(SECRETS[0]))
        call(s.base, "POST", "/api/chat", {"message": message, "model": "x" * 500}, token)
        call(s.base, "POST", "/api/chat", {"message": message, "conversation_id": "nope"}, token)
        status, _ = call(s.base, "DELETE", "/api/me", token=token)
        assert status == 200
    finally:
        code = s.stop()
    logs = s.logs()
    assert code == 0, logs
    assert "request" in logs and "TRACE" in logs.upper() or len(logs) > 1000, "the logs were captured"
    for secret in SECRETS + ["sk-fake-log-hygiene-key", token]:
        assert secret not in logs, f"{secret!r} found in the logs"
    s.dir.cleanup()
