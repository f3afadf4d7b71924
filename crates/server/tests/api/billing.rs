//! Billing against the fake Stripe: plans and monthly quotas, Checkout and the
//! portal, webhooks verified before parsing, applied once and in order.

use crate::helpers::{access_token, error_code, use_fakes, TestApp};
use serde_json::{json, Value};
use tenmon_ark::config::BillingConfig;
use tenmon_test_support::stripe::{ApiLayout, FakeStripe};
use tenmon_test_support::{Behavior, FakeOpenAi};

const WHSEC: &str = "whsec_test_0123456789abcdef";

struct Billing {
    app: TestApp,
    stripe: FakeStripe,
    _model: FakeOpenAi,
}

async fn start(free_tokens: u64) -> Billing {
    let stripe = FakeStripe::start().await;
    let model = FakeOpenAi::start_with(Behavior::reply("はい、わかりました。")).await;
    let config = BillingConfig {
        secret_key: stripe.secret_key().to_string().into(),
        webhook_secret: WHSEC.to_string().into(),
        api_base: stripe.base_url(),
        price_pro: Some("price_pro_monthly".into()),
        price_business: None,
        free_tokens,
        pro_tokens: 1_000_000,
        business_tokens: 10_000_000,
        return_url: "http://127.0.0.1:3000/settings".into(),
    };
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&model]);
        c.billing = Some(config);
    })
    .await;
    Billing { app, stripe, _model: model }
}

async fn user(app: &TestApp, email: &str) -> (String, String) {
    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .json(&json!({"email": email, "password": "a long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = access_token(app, email, "a long passphrase").await;
    let me: Value = app.get_auth("/api/me", &token).await.json().await.unwrap();
    (token, me["id"].as_str().unwrap().to_string())
}

async fn chat(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/chat", token, json!({"message": "こんにちは"})).await
}

async fn billing(app: &TestApp, token: &str) -> Value {
    let res = app.get_auth("/api/billing", token).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn checkout_webhooks_and_monthly_quota_keep_in_step() {
    let b = start(1).await;
    let app = &b.app;
    let (token, user_id) = user(app, "buyer@example.jp").await;

    let v = billing(app, &token).await;
    assert_eq!(
        (v["enabled"].clone(), v["plan"]["id"].clone(), v["used_tokens"].clone()),
        (json!(true), json!("free"), json!(0))
    );
    assert_eq!(v["plans"].as_array().unwrap().len(), 3);
    assert_eq!(v["plans"][1]["purchasable"], true);
    assert_eq!(v["plans"][2]["purchasable"], false, "business has no price here");

    // The free plan's single token goes on the first turn; the next is refused.
    assert_eq!(chat(app, &token).await.status(), 200);
    let res = chat(app, &token).await;
    assert!(res.headers().contains_key("retry-after"));
    let (status, code, body) = error_code(res).await;
    assert_eq!((status, code.as_str()), (429, "quota_exceeded"));
    assert!(body["error"]["message"].as_str().unwrap().contains("free plan"));
    assert!(billing(app, &token).await["used_tokens"].as_i64().unwrap() > 1);

    // Checkout: for a plan on sale only.
    for (plan, want) in [("free", 422), ("business", 422), ("platinum", 422)] {
        let res = app.post_json("/api/billing/checkout", &token, json!({"plan": plan})).await;
        assert_eq!(error_code(res).await.0, want, "{plan}");
    }
    let res = app.post_json("/api/billing/checkout", &token, json!({"plan": "pro"})).await;
    assert_eq!(res.status(), 200);
    let url = res.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_string();
    let session_id = url.rsplit('/').next().unwrap().to_string();
    let call = b.stripe.calls_to("/v1/checkout/sessions").pop().unwrap();
    assert_eq!(call.param("client_reference_id"), Some(user_id.as_str()));
    assert_eq!(call.param("line_items[0][price]"), Some("price_pro_monthly"));
    assert_eq!(call.param("customer_email"), Some("buyer@example.jp"));
    assert!(call.param("success_url").unwrap().starts_with("http://127.0.0.1:3000/settings?billing=success"));

    // Stripe tells us it was paid: the user is on pro, and chat works again.
    let webhook = app.url("/api/billing/webhook");
    let mut fx = b.stripe.complete_checkout(&session_id).unwrap();
    fx.layout = ApiLayout::Basil;
    let d = b.stripe.deliver(&webhook, &fx.checkout_session_completed("evt_1"), WHSEC).await.unwrap();
    assert_eq!((d.status, d.body.contains("applied")), (200, true), "{}", d.body);
    let d = b.stripe.deliver(&webhook, &fx.subscription_created("evt_2", "active"), WHSEC).await.unwrap();
    assert!(d.body.contains("\"applied\""), "{}", d.body);
    let v = billing(app, &token).await;
    assert_eq!((v["plan"]["id"].clone(), v["status"].clone()), (json!("pro"), json!("active")));
    assert!(v["current_period_end"].as_str().unwrap().ends_with('Z'));
    assert_eq!(chat(app, &token).await.status(), 200);

    // A redelivery changes nothing; a late, older event neither.
    let d = b.stripe.deliver(&webhook, &fx.subscription_created("evt_2", "active"), WHSEC).await.unwrap();
    assert!(d.body.contains("\"duplicate\""), "{}", d.body);
    let mut old = fx.clone();
    old.created -= 3600;
    let d = b.stripe.deliver(&webhook, &old.subscription_updated("evt_old", "canceled"), WHSEC).await.unwrap();
    assert!(d.body.contains("\"ignored\""), "{}", d.body);
    assert_eq!(billing(app, &token).await["plan"]["id"], "pro");

    // Forged, stale and unsigned deliveries are refused before parsing.
    let ev = fx.subscription_deleted("evt_forged");
    let d = b.stripe.deliver(&webhook, &ev, "whsec_wrong").await.unwrap();
    assert_eq!(d.status, 401);
    assert!(d.body.contains("invalid_signature"));
    let stale = tenmon_billing::unix_now() - 600;
    let d = b.stripe.deliver_at(&webhook, &ev, WHSEC, stale).await.unwrap();
    assert_eq!(d.status, 401);
    let res = app.client.post(&webhook).body("{not json").send().await.unwrap();
    assert_eq!(error_code(res).await.1, "invalid_signature");
    assert_eq!(billing(app, &token).await["plan"]["id"], "pro");

    // A signed body that is not an event is a 400, and an unknown type is acknowledged.
    let d = b.stripe.deliver(&webhook, &json!({"hello": "world"}), WHSEC).await.unwrap();
    assert_eq!(d.status, 400, "{}", d.body);
    let other = json!({"id": "evt_x", "object": "event", "type": "customer.created", "created": 1, "livemode": false,
        "data": {"object": {"id": "cus_x", "object": "customer"}}});
    let d = b.stripe.deliver(&webhook, &other, WHSEC).await.unwrap();
    assert_eq!(d.status, 200);

    // The portal, then cancellation: back to free, and the quota applies again.
    let res = app.post_json("/api/billing/portal", &token, json!({})).await;
    assert_eq!(res.status(), 200);
    assert!(res.json::<Value>().await.unwrap()["url"].as_str().unwrap().contains("/p/session/"));
    let call = b.stripe.calls_to("/v1/billing_portal/sessions").pop().unwrap();
    assert_eq!(call.param("customer"), Some(fx.customer.as_str()));
    fx.created += 60;
    let d = b.stripe.deliver(&webhook, &fx.subscription_deleted("evt_3"), WHSEC).await.unwrap();
    assert!(d.body.contains("\"applied\""), "{}", d.body);
    let v = billing(app, &token).await;
    assert_eq!((v["plan"]["id"].clone(), v["status"].clone()), (json!("free"), json!("canceled")));
    assert_eq!(error_code(chat(app, &token).await).await.1, "quota_exceeded");
}

#[tokio::test]
async fn payment_failure_keeps_the_plan_for_the_grace_and_stripe_outages_are_502() {
    let b = start(0).await;
    let app = &b.app;
    let (token, _) = user(app, "late@example.jp").await;
    let (other, _) = user(app, "nobody@example.jp").await;
    let res = app.post_json("/api/billing/checkout", &token, json!({"plan": "pro"})).await;
    let url = res.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_string();
    let fx = b.stripe.complete_checkout(url.rsplit('/').next().unwrap()).unwrap();
    let webhook = app.url("/api/billing/webhook");
    b.stripe.deliver(&webhook, &fx.checkout_session_completed("evt_a"), WHSEC).await.unwrap();
    b.stripe.deliver(&webhook, &fx.invoice_payment_failed("evt_b"), WHSEC).await.unwrap();
    let mut later = fx.clone();
    later.created += 10;
    let d = b.stripe.deliver(&webhook, &later.subscription_updated("evt_c", "past_due"), WHSEC).await.unwrap();
    assert!(d.body.contains("\"applied\""), "{}", d.body);
    let v = billing(app, &token).await;
    assert_eq!((v["plan"]["id"].clone(), v["status"].clone()), (json!("pro"), json!("past_due")));

    // No account yet: no portal. Stripe down: a clear 502, nothing stored.
    assert_eq!(error_code(app.post_json("/api/billing/portal", &other, json!({})).await).await.1, "no_billing_account");
    b.stripe.fail_next(&[500, 500, 500, 500]);
    let (status, code, _) =
        error_code(app.post_json("/api/billing/checkout", &other, json!({"plan": "pro"})).await).await;
    assert_eq!((status, code.as_str()), (502, "billing_unavailable"));

    // Guests have no billing.
    let guest = app.session().await;
    assert_eq!(app.get_auth("/api/billing", &guest).await.status(), 403);
}

#[tokio::test]
async fn billing_is_off_without_a_stripe_key() {
    let app = TestApp::spawn().await;
    let (token, _) = user(&app, "free@example.jp").await;
    assert_eq!(
        billing(&app, &token).await,
        json!({"enabled": false, "current_period_end": null, "cancel_at_period_end": false, "plans": []})
    );
    let res = app.client.post(app.url("/api/billing/webhook")).body("{}").send().await.unwrap();
    assert_eq!(error_code(res).await.1, "billing_disabled");
    let res = app.post_json("/api/billing/checkout", &token, json!({"plan": "pro"})).await;
    assert_eq!(error_code(res).await.1, "billing_disabled");
}
