//! Verified webhook bodies as typed events, and what each one means for a
//! user's plan ([`BillingChange`]). Parse only what [`crate::signature`] has
//! verified.
//!
//! Stripe shapes an event's object by the webhook endpoint's API version, which
//! is set in the Dashboard, not by our client's pinned version, so both layouts
//! are read: since `2025-03-31.basil` a subscription's `current_period_end`
//! lives on its items and an invoice's subscription under
//! `parent.subscription_details`; before, both were top-level fields.

use crate::BillingError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// One Stripe event. `id` (`evt_…`) is what the server records to apply each
/// event once: Stripe delivers at least once, and retries for days.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    /// e.g. `customer.subscription.updated`.
    pub event_type: String,
    /// Unix seconds. Stripe does not deliver in order; compare this to skip stale updates.
    pub created: i64,
    /// A test-mode event reaching a live deployment (or the reverse) is a misconfiguration.
    pub livemode: bool,
    /// The endpoint's API version that shaped `object`.
    pub api_version: Option<String>,
    /// `data.object` as sent, for anything not modelled here.
    pub object: Value,
    pub change: BillingChange,
}

/// What an event changes in our world.
#[derive(Debug, Clone, PartialEq)]
pub enum BillingChange {
    /// `checkout.session.completed`: links our user to a Stripe customer and subscription.
    CheckoutCompleted(CheckoutCompleted),
    /// `customer.subscription.created` or `.updated`.
    SubscriptionUpdated(SubscriptionUpdate),
    /// `customer.subscription.deleted`: the subscription has ended (status `canceled`).
    SubscriptionDeleted(SubscriptionUpdate),
    /// `invoice.paid`.
    InvoicePaid(InvoiceUpdate),
    /// `invoice.payment_failed`: Stripe will retry; the subscription goes `past_due`.
    InvoicePaymentFailed(InvoiceUpdate),
    /// Any other type. Acknowledge it with 200, or Stripe keeps retrying it.
    Ignored,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutCompleted {
    /// `cs_…`
    pub session_id: String,
    /// Our user id: `client_reference_id`, else `metadata.user_id`.
    pub user_id: Option<String>,
    /// `cus_…`; absent only for payment-mode sessions without a customer.
    pub customer: Option<String>,
    /// `sub_…` in subscription mode.
    pub subscription: Option<String>,
    /// `subscription`, `payment` or `setup`.
    pub mode: String,
    /// `paid`, `unpaid` (an asynchronous payment method still settling) or `no_payment_required`.
    pub payment_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionUpdate {
    /// `sub_…`
    pub subscription_id: String,
    pub customer: Option<String>,
    pub status: SubscriptionStatus,
    /// Unix seconds: the latest period end over the items (new layout), or the
    /// subscription's own field (old layout).
    pub current_period_end: Option<i64>,
    /// The first item's price, which selects the plan.
    pub price_id: Option<String>,
    /// The customer cancelled; the plan lasts until `current_period_end`.
    pub cancel_at_period_end: bool,
    /// When a scheduled cancellation takes effect.
    pub cancel_at: Option<i64>,
    /// `metadata.user_id`, which our Checkout sessions put on the subscription.
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceUpdate {
    /// `in_…`
    pub invoice_id: String,
    pub customer: Option<String>,
    /// `sub_…` when the invoice is a subscription's.
    pub subscription: Option<String>,
    /// The subscription's `metadata.user_id` as copied onto the invoice.
    pub user_id: Option<String>,
    /// e.g. `subscription_create`, `subscription_cycle`.
    pub billing_reason: Option<String>,
}

/// A subscription's `status`. Unknown future values read as [`SubscriptionStatus::Unknown`],
/// which grants nothing (see [`crate::plans::effective_plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Incomplete,
    IncompleteExpired,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
    #[serde(other)]
    Unknown,
}

impl SubscriptionStatus {
    const ALL: [SubscriptionStatus; 9] = [
        SubscriptionStatus::Incomplete,
        SubscriptionStatus::IncompleteExpired,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::Active,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Canceled,
        SubscriptionStatus::Unpaid,
        SubscriptionStatus::Paused,
        SubscriptionStatus::Unknown,
    ];

    /// Stripe's spelling, for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Incomplete => "incomplete",
            SubscriptionStatus::IncompleteExpired => "incomplete_expired",
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Unpaid => "unpaid",
            SubscriptionStatus::Paused => "paused",
            SubscriptionStatus::Unknown => "unknown",
        }
    }

    /// The inverse of [`Self::as_str`]; anything else is `Unknown`.
    pub fn parse(s: &str) -> Self {
        Self::ALL.into_iter().find(|v| v.as_str() == s).unwrap_or(SubscriptionStatus::Unknown)
    }
}

/// A reference Stripe may send as an id or, when expanded, as the object.
#[derive(Deserialize)]
#[serde(untagged)]
enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    fn into_id(self) -> String {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

fn id_of(e: Option<Expandable>) -> Option<String> {
    e.map(Expandable::into_id)
}

fn user_id_in(metadata: &Value) -> Option<String> {
    metadata.get("user_id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    object: Option<String>,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    #[serde(default)]
    livemode: bool,
    api_version: Option<String>,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: Value,
}

#[derive(Deserialize)]
struct RawCheckoutSession {
    id: String,
    client_reference_id: Option<String>,
    customer: Option<Expandable>,
    subscription: Option<Expandable>,
    mode: String,
    payment_status: Option<String>,
    #[serde(default)]
    metadata: Value,
}

#[derive(Deserialize)]
struct RawSubscription {
    id: String,
    customer: Option<Expandable>,
    status: SubscriptionStatus,
    /// Before `2025-03-31.basil`.
    current_period_end: Option<i64>,
    #[serde(default)]
    cancel_at_period_end: bool,
    cancel_at: Option<i64>,
    items: Option<RawList<RawSubscriptionItem>>,
    /// Single-price subscriptions in old API versions.
    plan: Option<Expandable>,
    #[serde(default)]
    metadata: Value,
}

#[derive(Deserialize)]
struct RawList<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

#[derive(Deserialize)]
struct RawSubscriptionItem {
    /// Since `2025-03-31.basil`.
    current_period_end: Option<i64>,
    price: Option<Expandable>,
    plan: Option<Expandable>,
}

#[derive(Deserialize)]
struct RawInvoice {
    id: String,
    customer: Option<Expandable>,
    /// Before `2025-03-31.basil`.
    subscription: Option<Expandable>,
    /// Before `2025-03-31.basil` (with `subscription`).
    subscription_details: Option<RawSubscriptionDetails>,
    /// Since `2025-03-31.basil`.
    parent: Option<RawInvoiceParent>,
    billing_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawInvoiceParent {
    subscription_details: Option<RawSubscriptionDetails>,
}

#[derive(Deserialize)]
struct RawSubscriptionDetails {
    subscription: Option<Expandable>,
    #[serde(default)]
    metadata: Value,
}

fn object_as<T: DeserializeOwned>(object: &Value, what: &str) -> Result<T, BillingError> {
    T::deserialize(object).map_err(|e| BillingError::MalformedEvent(format!("{what}: {e}")))
}

fn checkout_completed(object: &Value) -> Result<CheckoutCompleted, BillingError> {
    let s: RawCheckoutSession = object_as(object, "checkout.session")?;
    let user_id = s.client_reference_id.filter(|s| !s.is_empty()).or_else(|| user_id_in(&s.metadata));
    Ok(CheckoutCompleted {
        session_id: s.id,
        user_id,
        customer: id_of(s.customer),
        subscription: id_of(s.subscription),
        mode: s.mode,
        payment_status: s.payment_status,
    })
}

fn subscription_update(object: &Value) -> Result<SubscriptionUpdate, BillingError> {
    let s: RawSubscription = object_as(object, "subscription")?;
    let items = s.items.map(|l| l.data).unwrap_or_default();
    // Items may bill on different cycles (flexible billing); the plan lasts as long as the longest.
    let item_period_end = items.iter().filter_map(|i| i.current_period_end).max();
    let mut items = items.into_iter();
    let price_id = items.next().and_then(|i| id_of(i.price).or(id_of(i.plan))).or(id_of(s.plan));
    Ok(SubscriptionUpdate {
        subscription_id: s.id,
        customer: id_of(s.customer),
        status: s.status,
        current_period_end: item_period_end.or(s.current_period_end),
        price_id,
        cancel_at_period_end: s.cancel_at_period_end,
        cancel_at: s.cancel_at,
        user_id: user_id_in(&s.metadata),
    })
}

fn invoice_update(object: &Value) -> Result<InvoiceUpdate, BillingError> {
    let i: RawInvoice = object_as(object, "invoice")?;
    let (new_subscription, new_metadata) = match i.parent.and_then(|p| p.subscription_details) {
        Some(d) => (id_of(d.subscription), user_id_in(&d.metadata)),
        None => (None, None),
    };
    let (old_subscription_details, old_metadata) = match i.subscription_details {
        Some(d) => (id_of(d.subscription), user_id_in(&d.metadata)),
        None => (None, None),
    };
    Ok(InvoiceUpdate {
        invoice_id: i.id,
        customer: id_of(i.customer),
        subscription: new_subscription.or(id_of(i.subscription)).or(old_subscription_details),
        user_id: new_metadata.or(old_metadata),
        billing_reason: i.billing_reason,
    })
}

impl Event {
    /// Parse a verified webhook body. Handled types whose object lacks a needed
    /// field are an error (the server answers 400 so the failure shows in Stripe's
    /// Dashboard); unknown types are [`BillingChange::Ignored`].
    pub fn parse(body: &[u8]) -> Result<Event, BillingError> {
        let raw: RawEvent =
            serde_json::from_slice(body).map_err(|e| BillingError::MalformedEvent(format!("event: {e}")))?;
        if raw.object.as_deref().is_some_and(|o| o != "event") {
            // e.g. `v2.core.event` thin events, which need a different integration.
            return Err(BillingError::MalformedEvent(format!("not a snapshot event: {:?}", raw.object)));
        }
        if raw.id.is_empty() {
            return Err(BillingError::MalformedEvent("event: empty id".into()));
        }
        let object = raw.data.object;
        let change = match raw.event_type.as_str() {
            "checkout.session.completed" => BillingChange::CheckoutCompleted(checkout_completed(&object)?),
            "customer.subscription.created" | "customer.subscription.updated" => {
                BillingChange::SubscriptionUpdated(subscription_update(&object)?)
            }
            "customer.subscription.deleted" => BillingChange::SubscriptionDeleted(subscription_update(&object)?),
            "invoice.paid" => BillingChange::InvoicePaid(invoice_update(&object)?),
            "invoice.payment_failed" => BillingChange::InvoicePaymentFailed(invoice_update(&object)?),
            _ => BillingChange::Ignored,
        };
        Ok(Event {
            id: raw.id,
            event_type: raw.event_type,
            created: raw.created,
            livemode: raw.livemode,
            api_version: raw.api_version,
            object,
            change,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: &str = "0192f7c4-5a1e-7b3c-9d2e-1f0a2b3c4d5e";

    fn fixture(name: &str) -> Event {
        let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let body = std::fs::read(&path).unwrap();
        Event::parse(&body).unwrap()
    }

    #[test]
    fn checkout_session_completed() {
        let ev = fixture("checkout_session_completed");
        assert_eq!(ev.id, "evt_1QxCheckoutCompleted0001");
        assert_eq!(ev.event_type, "checkout.session.completed");
        assert_eq!(ev.created, 1743465600);
        assert!(!ev.livemode);
        assert_eq!(ev.api_version.as_deref(), Some("2025-03-31.basil"));
        assert_eq!(ev.object["object"], "checkout.session");
        assert_eq!(
            ev.change,
            BillingChange::CheckoutCompleted(CheckoutCompleted {
                session_id: "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ".into(),
                user_id: Some(USER.into()),
                customer: Some("cus_RkTestCustomer01".into()),
                subscription: Some("sub_1QxSubscription01".into()),
                mode: "subscription".into(),
                payment_status: Some("paid".into()),
            })
        );
    }

    #[test]
    fn subscription_updated_new_layout() {
        let ev = fixture("customer_subscription_updated_basil");
        assert_eq!(
            ev.change,
            BillingChange::SubscriptionUpdated(SubscriptionUpdate {
                subscription_id: "sub_1QxSubscription01".into(),
                customer: Some("cus_RkTestCustomer01".into()),
                status: SubscriptionStatus::Active,
                current_period_end: Some(1746057600),
                price_id: Some("price_1QxProMonthly".into()),
                cancel_at_period_end: true,
                cancel_at: Some(1746057600),
                user_id: Some(USER.into()),
            })
        );
    }

    #[test]
    fn subscription_updated_old_layout() {
        let ev = fixture("customer_subscription_updated_legacy");
        assert!(ev.livemode);
        assert_eq!(
            ev.change,
            BillingChange::SubscriptionUpdated(SubscriptionUpdate {
                subscription_id: "sub_1PwSubscription01".into(),
                customer: Some("cus_QaLegacyCustomer".into()),
                status: SubscriptionStatus::PastDue,
                current_period_end: Some(1722556800),
                price_id: Some("price_1PwBusinessMonthly".into()),
                cancel_at_period_end: false,
                cancel_at: None,
                user_id: None,
            })
        );
    }

    #[test]
    fn subscription_created_is_an_update() {
        let body = json!({
            "id": "evt_c", "object": "event", "type": "customer.subscription.created", "created": 5, "livemode": false,
            "data": { "object": { "id": "sub_c", "object": "subscription", "customer": "cus_c", "status": "incomplete",
                "items": { "object": "list", "data": [ { "current_period_end": 99, "price": { "id": "price_p" } } ] } } }
        });
        let ev = Event::parse(body.to_string().as_bytes()).unwrap();
        let BillingChange::SubscriptionUpdated(u) = ev.change else { panic!("{:?}", ev.change) };
        assert_eq!(u.status, SubscriptionStatus::Incomplete);
        assert_eq!(u.current_period_end, Some(99));
        assert_eq!(u.price_id.as_deref(), Some("price_p"));
    }

    #[test]
    fn subscription_deleted() {
        let ev = fixture("customer_subscription_deleted");
        let BillingChange::SubscriptionDeleted(u) = ev.change else { panic!("{:?}", ev.change) };
        assert_eq!(u.subscription_id, "sub_1QxSubscription01");
        assert_eq!(u.status, SubscriptionStatus::Canceled);
        assert_eq!(u.current_period_end, Some(1746057600));
        assert_eq!(u.user_id.as_deref(), Some(USER));
    }

    #[test]
    fn invoice_paid_new_layout() {
        let ev = fixture("invoice_paid_basil");
        assert_eq!(
            ev.change,
            BillingChange::InvoicePaid(InvoiceUpdate {
                invoice_id: "in_1QxInvoice0001".into(),
                customer: Some("cus_RkTestCustomer01".into()),
                subscription: Some("sub_1QxSubscription01".into()),
                user_id: Some(USER.into()),
                billing_reason: Some("subscription_create".into()),
            })
        );
    }

    #[test]
    fn invoice_payment_failed_old_layout() {
        let ev = fixture("invoice_payment_failed_legacy");
        assert_eq!(
            ev.change,
            BillingChange::InvoicePaymentFailed(InvoiceUpdate {
                invoice_id: "in_1PwInvoice0002".into(),
                customer: Some("cus_QaLegacyCustomer".into()),
                subscription: Some("sub_1PwSubscription01".into()),
                user_id: Some("0192f7c4-0000-7000-8000-00000000beef".into()),
                billing_reason: Some("subscription_cycle".into()),
            })
        );
    }

    #[test]
    fn expanded_references_are_read_by_id() {
        let body = json!({
            "id": "evt_x", "object": "event", "type": "invoice.payment_failed", "created": 1, "livemode": false,
            "data": { "object": { "id": "in_x", "object": "invoice", "customer": { "id": "cus_x", "object": "customer" },
                "parent": { "type": "subscription_details", "subscription_details": {
                    "subscription": { "id": "sub_x", "object": "subscription" }, "metadata": {} } } } }
        });
        let ev = Event::parse(body.to_string().as_bytes()).unwrap();
        let BillingChange::InvoicePaymentFailed(i) = ev.change else { panic!() };
        assert_eq!(i.customer.as_deref(), Some("cus_x"));
        assert_eq!(i.subscription.as_deref(), Some("sub_x"));
        assert_eq!(i.user_id, None);
    }

    #[test]
    fn unknown_types_are_ignored_not_errors() {
        let body = json!({
            "id": "evt_pi", "object": "event", "type": "payment_intent.succeeded", "created": 1, "livemode": false,
            "data": { "object": { "id": "pi_1", "object": "payment_intent", "amount": 2000 } }
        });
        let ev = Event::parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(ev.change, BillingChange::Ignored);
        assert_eq!(ev.id, "evt_pi");
    }

    #[test]
    fn unknown_status_grants_nothing_rather_than_failing() {
        let body = json!({
            "id": "evt_s", "object": "event", "type": "customer.subscription.updated", "created": 1,
            "data": { "object": { "id": "sub_s", "customer": "cus_s", "status": "some_future_status" } }
        });
        let ev = Event::parse(body.to_string().as_bytes()).unwrap();
        let BillingChange::SubscriptionUpdated(u) = ev.change else { panic!() };
        assert_eq!(u.status, SubscriptionStatus::Unknown);
        assert_eq!(u.current_period_end, None);
        assert_eq!(u.price_id, None);
    }

    #[test]
    fn broken_bodies_are_malformed() {
        let cases = [
            "not json".to_string(),
            json!({ "id": "evt_1", "type": "x" }).to_string(),
            json!({ "id": "", "object": "event", "type": "x", "created": 1, "data": { "object": {} } }).to_string(),
            json!({ "id": "evt_1", "object": "v2.core.event", "type": "x", "created": 1, "data": { "object": {} } })
                .to_string(),
            // A handled type without the subscription's id.
            json!({ "id": "evt_1", "object": "event", "type": "customer.subscription.updated", "created": 1,
                "data": { "object": { "status": "active" } } })
            .to_string(),
            json!({ "id": "evt_1", "object": "event", "type": "checkout.session.completed", "created": 1,
                "data": { "object": { "id": "cs_1" } } })
            .to_string(),
        ];
        for body in cases {
            let err = Event::parse(body.as_bytes()).unwrap_err();
            assert_eq!(err.code(), "malformed_event", "{body}");
        }
    }

    #[test]
    fn status_round_trips_through_storage() {
        for s in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(s.as_str()), s);
        }
        assert_eq!(SubscriptionStatus::parse("bogus"), SubscriptionStatus::Unknown);
    }
}
