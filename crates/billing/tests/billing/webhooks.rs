//! Webhooks from the fake Stripe, through a real HTTP receiver, verified and
//! parsed by tenmon-billing: the fake's signing and event shapes agree with ours.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use tenmon_billing::{
    effective_plan, unix_now, BillingChange, Catalogue, Event, SubscriptionState, SubscriptionStatus, WebhookVerifier,
};
use tenmon_test_support::{ApiLayout, EventFixture, FakeStripe};

const SECRET: &str = "whsec_test_FakeEndpointSecret";

type Received = Arc<Mutex<Vec<Event>>>;

/// A stand-in for the server's webhook route: verify, parse, answer as the server would.
async fn receive(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let verifier = WebhookVerifier::new(SecretString::from(SECRET));
    let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match verifier.verify_event(header, &body, unix_now()) {
        Ok(event) => {
            received.lock().unwrap().push(event);
            (StatusCode::OK, "{}".into())
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.code().into()),
    }
}

async fn receiver() -> (String, Received) {
    let received = Received::default();
    let app = Router::new().route("/webhooks/stripe", post(receive)).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/stripe", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn delivered_events_verify_and_parse_in_both_layouts() {
    let fake = FakeStripe::start().await;
    let (url, received) = receiver().await;
    let catalogue = Catalogue::with_prices(Some("price_FakePro".into()), None).unwrap();
    for layout in [ApiLayout::Basil, ApiLayout::Legacy] {
        received.lock().unwrap().clear();
        let fx = EventFixture { layout, ..EventFixture::default() };
        let events = [
            fx.checkout_session_completed("evt_1"),
            fx.subscription_created("evt_2", "incomplete"),
            fx.subscription_updated("evt_3", "active"),
            fx.invoice_paid("evt_4"),
            fx.invoice_payment_failed("evt_5"),
            fx.subscription_updated("evt_6", "past_due"),
            fx.subscription_deleted("evt_7"),
        ];
        for event in &events {
            let d = fake.deliver(&url, event, SECRET).await.unwrap();
            assert_eq!(d.status, 200, "{layout:?} {}: {}", event["type"], d.body);
        }
        let got = received.lock().unwrap().clone();
        assert_eq!(
            got.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["evt_1", "evt_2", "evt_3", "evt_4", "evt_5", "evt_6", "evt_7"]
        );

        let BillingChange::CheckoutCompleted(c) = &got[0].change else { panic!("{:?}", got[0].change) };
        assert_eq!(c.user_id.as_deref(), Some(fx.user_id.as_str()));
        assert_eq!(c.customer.as_deref(), Some(fx.customer.as_str()));
        assert_eq!(c.subscription.as_deref(), Some(fx.subscription.as_str()));

        let mut state: Option<SubscriptionState> = None;
        for event in &got {
            if let BillingChange::SubscriptionUpdated(u) | BillingChange::SubscriptionDeleted(u) = &event.change {
                assert_eq!(u.current_period_end, Some(fx.current_period_end), "{layout:?}");
                assert_eq!(u.price_id.as_deref(), Some("price_FakePro"));
                assert_eq!(u.user_id.as_deref(), Some(fx.user_id.as_str()));
                state = Some(SubscriptionState::after(state.as_ref(), u, &catalogue, event.created));
                if u.status == SubscriptionStatus::Active {
                    assert_eq!(effective_plan(&catalogue, state.as_ref(), unix_now()).id, "pro");
                }
            }
            if let BillingChange::InvoicePaid(i) | BillingChange::InvoicePaymentFailed(i) = &event.change {
                assert_eq!(i.subscription.as_deref(), Some(fx.subscription.as_str()), "{layout:?}");
                assert_eq!(i.user_id.as_deref(), Some(fx.user_id.as_str()));
            }
        }
        assert_eq!(state.as_ref().map(|s| s.status), Some(SubscriptionStatus::Canceled));
        assert_eq!(effective_plan(&catalogue, state.as_ref(), unix_now()).id, "free");
    }
}

#[tokio::test]
async fn bad_deliveries_are_refused_with_the_right_code() {
    let fake = FakeStripe::start().await;
    let (url, received) = receiver().await;
    let event = EventFixture::default().invoice_paid("evt_bad");

    let d = fake.deliver(&url, &event, "whsec_some_other_endpoint").await.unwrap();
    assert_eq!((d.status, d.body.as_str()), (400, "signature_mismatch"));
    let d = fake.deliver_at(&url, &event, SECRET, unix_now() - 600).await.unwrap();
    assert_eq!((d.status, d.body.as_str()), (400, "timestamp_outside_tolerance"));
    let d = fake.deliver_at(&url, &event, SECRET, unix_now() + 600).await.unwrap();
    assert_eq!((d.status, d.body.as_str()), (400, "timestamp_outside_tolerance"));
    let d = tenmon_test_support::stripe::post_webhook(&url, "{}", None).await.unwrap();
    assert_eq!((d.status, d.body.as_str()), (400, "missing_header"));
    assert!(received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_completed_checkout_from_the_fake_names_the_user() {
    let fake = FakeStripe::start().await;
    let (url, received) = receiver().await;
    let mut cfg = tenmon_billing::StripeConfig::new(SecretString::from(FakeStripe::SECRET_KEY));
    cfg.api_base = fake.base_url();
    let client = tenmon_billing::StripeClient::new(cfg).unwrap();
    let session = client
        .create_checkout_session(&tenmon_billing::CheckoutRequest {
            customer: tenmon_billing::CustomerRef::Email("jiro@example.jp".into()),
            client_reference_id: "user-42".into(),
            price_id: "price_FakeBusiness".into(),
            success_url: "https://ark.example/ok".into(),
            cancel_url: "https://ark.example/cancel".into(),
            idempotency_key: None,
        })
        .await
        .unwrap();
    let fx = fake.complete_checkout(&session.id).unwrap();
    assert_eq!((fx.user_id.as_str(), fx.price_id.as_str()), ("user-42", "price_FakeBusiness"));
    assert!(fake.customer(&fx.customer).is_some(), "Checkout made a customer for the email");
    assert_eq!(fake.checkout_session(&session.id).unwrap()["status"], "complete");

    let d = fake.deliver(&url, &fx.checkout_session_completed("evt_done"), SECRET).await.unwrap();
    assert_eq!(d.status, 200);
    let BillingChange::CheckoutCompleted(c) = &received.lock().unwrap()[0].change else { panic!() };
    assert_eq!(c.session_id, session.id);
    assert_eq!(c.user_id.as_deref(), Some("user-42"));
}
