//! The Stripe client against the fake: requests, idempotency, errors, retries.

use secrecy::SecretString;
use std::time::Duration;
use tenmon_billing::client::API_VERSION;
use tenmon_billing::{
    BillingError, CheckoutRequest, CustomerRef, CustomerRequest, PortalRequest, StripeClient, StripeConfig,
};
use tenmon_test_support::FakeStripe;

fn client_for(fake: &FakeStripe, key: &str) -> StripeClient {
    let mut cfg = StripeConfig::new(SecretString::from(key));
    cfg.api_base = fake.base_url();
    cfg.initial_backoff = Duration::from_millis(10);
    cfg.timeout = Duration::from_secs(5);
    StripeClient::new(cfg).unwrap()
}

fn checkout(customer: CustomerRef, key: Option<&str>) -> CheckoutRequest {
    CheckoutRequest {
        customer,
        client_reference_id: "user-1".into(),
        price_id: "price_pro".into(),
        success_url: "https://ark.example/billing?session_id={CHECKOUT_SESSION_ID}".into(),
        cancel_url: "https://ark.example/billing".into(),
        idempotency_key: key.map(str::to_string),
    }
}

#[tokio::test]
async fn customer_checkout_and_portal() {
    let fake = FakeStripe::start().await;
    let client = client_for(&fake, FakeStripe::SECRET_KEY);

    let customer = client
        .create_customer(&CustomerRequest {
            email: "taro@example.jp".into(),
            user_id: "user-1".into(),
            idempotency_key: None,
        })
        .await
        .unwrap();
    assert!(customer.starts_with("cus_"), "{customer}");
    assert_eq!(fake.customer(&customer).unwrap()["metadata"]["user_id"], "user-1");

    let session = client.create_checkout_session(&checkout(CustomerRef::Id(customer.clone()), None)).await.unwrap();
    assert!(session.id.starts_with("cs_test_"), "{}", session.id);
    assert!(session.url.starts_with(&fake.base_url()));

    let call = fake.calls_to("/v1/checkout/sessions").pop().unwrap();
    assert_eq!(call.method, "POST");
    assert_eq!(call.stripe_version.as_deref(), Some(API_VERSION));
    assert!(call.idempotency_key.is_some());
    assert_eq!(call.param("mode"), Some("subscription"));
    assert_eq!(call.param("line_items[0][price]"), Some("price_pro"));
    assert_eq!(call.param("line_items[0][quantity]"), Some("1"));
    assert_eq!(call.param("customer"), Some(customer.as_str()));
    assert_eq!(call.param("customer_email"), None);
    assert_eq!(call.param("client_reference_id"), Some("user-1"));
    assert_eq!(call.param("subscription_data[metadata][user_id]"), Some("user-1"));
    assert_eq!(call.param("success_url"), Some("https://ark.example/billing?session_id={CHECKOUT_SESSION_ID}"));
    let stored = fake.checkout_session(&session.id).unwrap();
    assert_eq!(stored["client_reference_id"], "user-1");
    assert_eq!(stored["metadata"]["user_id"], "user-1");

    let by_email =
        client.create_checkout_session(&checkout(CustomerRef::Email("hanako@example.jp".into()), None)).await.unwrap();
    assert_eq!(fake.checkout_session(&by_email.id).unwrap()["customer_email"], "hanako@example.jp");

    let portal = client
        .create_portal_session(&PortalRequest {
            customer: customer.clone(),
            return_url: "https://ark.example/settings".into(),
            idempotency_key: None,
        })
        .await
        .unwrap();
    assert!(portal.id.starts_with("bps_"));
    assert!(portal.url.starts_with(&fake.base_url()));
    let call = fake.calls_to("/v1/billing_portal/sessions").pop().unwrap();
    assert_eq!(call.param("return_url"), Some("https://ark.example/settings"));
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_session() {
    let fake = FakeStripe::start().await;
    fake.insert_customer("cus_existing", "a@example.jp");
    let client = client_for(&fake, FakeStripe::SECRET_KEY);
    let req = checkout(CustomerRef::Id("cus_existing".into()), Some("checkout-user-1-pro"));
    let first = client.create_checkout_session(&req).await.unwrap();
    let second = client.create_checkout_session(&req).await.unwrap();
    assert_eq!(first, second);
    let calls = fake.calls_to("/v1/checkout/sessions");
    assert_eq!(calls.iter().map(|c| c.replayed).collect::<Vec<_>>(), [false, true]);

    // A different request under a used key is Stripe's idempotency_error.
    let mut other = req.clone();
    other.price_id = "price_business".into();
    let BillingError::InvalidRequest(e) = client.create_checkout_session(&other).await.unwrap_err() else {
        panic!("expected an idempotency error")
    };
    assert_eq!((e.status, e.error_type.as_str()), (400, "idempotency_error"));

    // Without a key each call makes its own.
    let req = checkout(CustomerRef::Id("cus_existing".into()), None);
    let a = client.create_checkout_session(&req).await.unwrap();
    let b = client.create_checkout_session(&req).await.unwrap();
    assert_ne!(a.id, b.id);
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_an_authentication_error_without_the_key() {
    let fake = FakeStripe::start().await;
    let client = client_for(&fake, "sk_test_wrongwrongwrong9876");
    let err = client
        .create_customer(&CustomerRequest { email: "a@b.jp".into(), user_id: "u".into(), idempotency_key: None })
        .await
        .unwrap_err();
    assert_eq!(err, BillingError::Authentication { status: 401 });
    assert!(!err.to_string().contains("9876"));
    assert_eq!(fake.calls().len(), 1, "no retry on 401");

    let resp = reqwest::Client::new().post(format!("{}/v1/customers", fake.base_url())).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("You did not provide an API key"));
}

#[tokio::test]
async fn parameter_errors_are_typed() {
    let fake = FakeStripe::start().await;
    let client = client_for(&fake, FakeStripe::SECRET_KEY);

    let err = client
        .create_portal_session(&PortalRequest {
            customer: "cus_nobody".into(),
            return_url: "https://x".into(),
            idempotency_key: None,
        })
        .await
        .unwrap_err();
    let BillingError::InvalidRequest(e) = &err else { panic!("{err:?}") };
    assert_eq!(e.code.as_deref(), Some("resource_missing"));
    assert_eq!(e.param.as_deref(), Some("customer"));
    assert_eq!(e.message, "No such customer: 'cus_nobody'");
    assert_eq!(err.code(), "stripe_invalid_request");
    assert!(!err.is_retryable());

    let mut req = checkout(CustomerRef::Email("a@example.jp".into()), None);
    req.price_id = String::new();
    let BillingError::InvalidRequest(e) = client.create_checkout_session(&req).await.unwrap_err() else { panic!() };
    assert_eq!((e.status, e.code.as_deref(), e.param.as_deref()), (400, Some("parameter_missing"), Some("line_items")));
    assert_eq!(fake.calls().len(), 2, "no retry on 400");
}

#[tokio::test]
async fn retries_500_and_429_with_the_same_idempotency_key() {
    let fake = FakeStripe::start().await;
    let client = client_for(&fake, FakeStripe::SECRET_KEY);
    fake.fail_next(&[500, 429]);
    let id = client
        .create_customer(&CustomerRequest { email: "a@example.jp".into(), user_id: "u".into(), idempotency_key: None })
        .await
        .unwrap();
    let calls = fake.calls();
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [500, 429, 200]);
    let key = calls[0].idempotency_key.clone().unwrap();
    assert!(calls.iter().all(|c| c.idempotency_key.as_deref() == Some(key.as_str())));
    assert!(fake.customer(&id).is_some());
}

#[tokio::test]
async fn gives_up_after_the_configured_retries() {
    let fake = FakeStripe::start().await;
    let client = client_for(&fake, FakeStripe::SECRET_KEY);
    fake.fail_next(&[503, 503, 503, 503]);
    let err = client
        .create_customer(&CustomerRequest { email: "a@example.jp".into(), user_id: "u".into(), idempotency_key: None })
        .await
        .unwrap_err();
    assert_eq!(err, BillingError::Unavailable("HTTP 503".into()));
    assert_eq!(fake.calls().len(), 3, "one attempt and two retries");

    fake.fail_next(&[429, 429, 429]);
    let err = client
        .create_customer(&CustomerRequest { email: "a@example.jp".into(), user_id: "u".into(), idempotency_key: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "stripe_rate_limited");
}

#[tokio::test]
async fn timeouts_and_connection_failures() {
    let fake = FakeStripe::start().await;
    let mut cfg = StripeConfig::new(SecretString::from(FakeStripe::SECRET_KEY));
    cfg.api_base = fake.base_url();
    cfg.timeout = Duration::from_millis(200);
    cfg.max_retries = 1;
    cfg.initial_backoff = Duration::from_millis(10);
    let client = StripeClient::new(cfg.clone()).unwrap();
    fake.set_delay(Duration::from_secs(2));
    let req = CustomerRequest { email: "a@example.jp".into(), user_id: "u".into(), idempotency_key: None };
    assert_eq!(client.create_customer(&req).await.unwrap_err(), BillingError::Timeout);

    // Nothing listens on the fake's port once it is dropped.
    let base = fake.base_url();
    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    cfg.api_base = base;
    let err = StripeClient::new(cfg).unwrap().create_customer(&req).await.unwrap_err();
    assert_eq!(err, BillingError::Unavailable("connection failed".into()));
}
