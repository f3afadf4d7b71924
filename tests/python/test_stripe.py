"""Billing through Stripe's official Python library: its webhook signatures are
accepted by the server (and a tampered or stale one is not), and the fake Stripe
the tests use speaks the API the official client expects."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import stripe

from conftest import Server

WHSEC = "whsec_pythonCrossCheck0123456789"
KEY = "sk_test_FakeStripeSecretKey0000"


@pytest.fixture
def fake_stripe():
    binary = os.path.join(os.path.dirname(os.environ["TENMON_FAKE_OPENAI_BIN"]), "fake-stripe")
    proc = subprocess.Popen([binary], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://"), "fake-stripe did not start"
    yield url
    proc.kill()
    proc.wait()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_official_client_talks_to_the_fake(fake_stripe):
    client = stripe.StripeClient(KEY, base_addresses={"api": fake_stripe}, max_network_retries=0)
    customer = client.v1.customers.create(params={"email": "taro@example.jp", "metadata": {"user_id": "u1"}})
    assert customer.id.startswith("cus_") and customer.email == "taro@example.jp"
    session = client.v1.checkout.sessions.create(
        params={
            "customer": customer.id,
            "mode": "subscription",
            "client_reference_id": "u1",
            "line_items": [{"price": "price_pro", "quantity": 1}],
            "success_url": "https://example.jp/ok",
            "cancel_url": "https://example.jp/cancel",
        }
    )
    assert session.id.startswith("cs_") and session.url.startswith("http")
    portal = client.v1.billing_portal.sessions.create(params={"customer": customer.id, "return_url": "https://example.jp/"})
    assert portal.url.startswith("http")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.billing_portal.sessions.create(params={"customer": "cus_missing", "return_url": "https://example.jp/"})
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_test_wrong", base_addresses={"api": fake_stripe}).v1.customers.create(params={})


def test_webhooks_signed_by_the_official_library_are_accepted(fake_stripe):
    s = Server({"STRIPE_SECRET_KEY": KEY, "STRIPE_WEBHOOK_SECRET": WHSEC, "STRIPE_API_BASE": fake_stripe})
    try:
        url = s.base + "/api/billing/webhook"
        event = {"id": "evt_py_1", "object": "event", "type": "customer.created", "created": int(time.time()),
                 "livemode": False, "data": {"object": {"id": "cus_py", "object": "customer"}}}
        body = json.dumps(event).encode()
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), WHSEC)
        status, answer = post(url, body, {"Content-Type": "application/json", "Stripe-Signature": header})
        assert (status, answer["received"]) == (200, True), answer
        # The library's own verifier agrees on what it signed (a sanity check of the header).
        stripe.WebhookSignature.verify_header(body.decode(), header, WHSEC, tolerance=300)

        tampered = body.replace(b"customer.created", b"customer.deleted")
        status, answer = post(url, tampered, {"Content-Type": "application/json", "Stripe-Signature": header})
        assert (status, answer["error"]["code"]) == (401, "invalid_signature")
        stale = stripe.WebhookSignature.generate_signature_header(body.decode(), WHSEC, timestamp=int(time.time()) - 3600)
        status, answer = post(url, body, {"Content-Type": "application/json", "Stripe-Signature": stale})
        assert (status, answer["error"]["code"]) == (401, "invalid_signature")
        other = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_someoneElse")
        status, _ = post(url, body, {"Content-Type": "application/json", "Stripe-Signature": other})
        assert status == 401
    finally:
        assert s.stop() == 0, s.logs()
