//! Realistic Stripe event bodies for webhook tests, in either object layout:
//! since `2025-03-31.basil` a subscription's period is on its items and an
//! invoice names its subscription under `parent.subscription_details`; before,
//! both were top-level. Which one Stripe sends depends on the webhook endpoint's
//! API version, so servers must handle both.

use serde_json::{json, Value};

/// Which API version's object shapes to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiLayout {
    /// `2025-03-31.basil` and later.
    #[default]
    Basil,
    /// `2024-06-20` and earlier.
    Legacy,
}

impl ApiLayout {
    pub fn api_version(self) -> &'static str {
        match self {
            ApiLayout::Basil => "2025-03-31.basil",
            ApiLayout::Legacy => "2024-06-20",
        }
    }
}

/// The ids and times the events share; change any field, then build events.
/// Each builder takes the event id, since a server applies each id once.
#[derive(Debug, Clone)]
pub struct EventFixture {
    /// Our user id (`client_reference_id`, `metadata.user_id`).
    pub user_id: String,
    pub customer: String,
    pub subscription: String,
    pub price_id: String,
    pub checkout_session: String,
    pub invoice: String,
    /// The event's `created`, unix seconds.
    pub created: i64,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub livemode: bool,
    pub layout: ApiLayout,
}

impl Default for EventFixture {
    fn default() -> Self {
        let now = super::webhook::unix_now();
        EventFixture {
            user_id: "0192f7c4-5a1e-7b3c-9d2e-1f0a2b3c4d5e".into(),
            customer: "cus_FakeCustomer0001".into(),
            subscription: "sub_FakeSubscription01".into(),
            price_id: "price_FakePro".into(),
            checkout_session: "cs_test_FakeSession0001".into(),
            invoice: "in_FakeInvoice0001".into(),
            created: now,
            current_period_start: now,
            current_period_end: now + 30 * 24 * 60 * 60,
            cancel_at_period_end: false,
            livemode: false,
            layout: ApiLayout::Basil,
        }
    }
}

impl EventFixture {
    fn envelope(&self, event_id: &str, event_type: &str, object: Value, previous: Option<Value>) -> Value {
        let mut data = json!({ "object": object });
        if let Some(previous) = previous {
            data["previous_attributes"] = previous;
        }
        json!({
            "id": event_id,
            "object": "event",
            "api_version": self.layout.api_version(),
            "created": self.created,
            "data": data,
            "livemode": self.livemode,
            "pending_webhooks": 1,
            "request": { "id": null, "idempotency_key": null },
            "type": event_type,
        })
    }

    /// `checkout.session.completed` for a paid subscription-mode session.
    pub fn checkout_session_completed(&self, event_id: &str) -> Value {
        let object = json!({
            "id": self.checkout_session,
            "object": "checkout.session",
            "amount_subtotal": 2000,
            "amount_total": 2000,
            "automatic_tax": { "enabled": false, "liability": null, "status": null },
            "cancel_url": "https://ark.example.jp/billing?canceled=1",
            "client_reference_id": self.user_id,
            "created": self.created - 60,
            "currency": "jpy",
            "customer": self.customer,
            "customer_creation": null,
            "customer_details": { "email": "taro@example.jp", "name": "Yamada Taro", "phone": null, "tax_exempt": "none", "tax_ids": [] },
            "customer_email": null,
            "expires_at": self.created + 86_340,
            "invoice": self.invoice,
            "livemode": self.livemode,
            "locale": "ja",
            "metadata": { "user_id": self.user_id },
            "mode": "subscription",
            "payment_intent": null,
            "payment_method_types": ["card"],
            "payment_status": "paid",
            "status": "complete",
            "subscription": self.subscription,
            "success_url": "https://ark.example.jp/billing?session_id={CHECKOUT_SESSION_ID}",
            "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
            "ui_mode": "hosted",
            "url": null,
        });
        self.envelope(event_id, "checkout.session.completed", object, None)
    }

    fn subscription(&self, status: &str) -> Value {
        let price = json!({
            "id": self.price_id,
            "object": "price",
            "active": true,
            "billing_scheme": "per_unit",
            "currency": "jpy",
            "livemode": self.livemode,
            "product": "prod_FakePro",
            "recurring": { "interval": "month", "interval_count": 1, "usage_type": "licensed" },
            "type": "recurring",
            "unit_amount": 2000,
        });
        let plan = json!({ "id": self.price_id, "object": "plan", "active": true, "amount": 2000, "currency": "jpy", "interval": "month", "interval_count": 1, "product": "prod_FakePro" });
        let mut item = json!({
            "id": "si_FakeItem0001",
            "object": "subscription_item",
            "created": self.current_period_start,
            "discounts": [],
            "metadata": {},
            "plan": plan,
            "price": price,
            "quantity": 1,
            "subscription": self.subscription,
            "tax_rates": [],
        });
        let ended = matches!(status, "canceled" | "incomplete_expired");
        let mut sub = json!({
            "id": self.subscription,
            "object": "subscription",
            "billing_cycle_anchor": self.current_period_start,
            "cancel_at": if self.cancel_at_period_end { json!(self.current_period_end) } else { Value::Null },
            "cancel_at_period_end": self.cancel_at_period_end,
            "canceled_at": if self.cancel_at_period_end || ended { json!(self.created) } else { Value::Null },
            "collection_method": "charge_automatically",
            "created": self.current_period_start,
            "currency": "jpy",
            "customer": self.customer,
            "default_payment_method": "pm_FakeCard0001",
            "discounts": [],
            "ended_at": if ended { json!(self.created) } else { Value::Null },
            "items": {
                "object": "list",
                "data": [],
                "has_more": false,
                "total_count": 1,
                "url": format!("/v1/subscription_items?subscription={}", self.subscription),
            },
            "latest_invoice": self.invoice,
            "livemode": self.livemode,
            "metadata": { "user_id": self.user_id },
            "start_date": self.current_period_start,
            "status": status,
            "trial_end": null,
            "trial_start": null,
        });
        match self.layout {
            ApiLayout::Basil => {
                item["current_period_start"] = json!(self.current_period_start);
                item["current_period_end"] = json!(self.current_period_end);
            }
            ApiLayout::Legacy => {
                sub["current_period_start"] = json!(self.current_period_start);
                sub["current_period_end"] = json!(self.current_period_end);
                sub["plan"] = plan;
                sub["quantity"] = json!(1);
            }
        }
        sub["items"]["data"] = json!([item]);
        sub
    }

    /// `customer.subscription.created` with this status (`incomplete`, `active`, `trialing`, …).
    pub fn subscription_created(&self, event_id: &str, status: &str) -> Value {
        self.envelope(event_id, "customer.subscription.created", self.subscription(status), None)
    }

    /// `customer.subscription.updated` to this status.
    pub fn subscription_updated(&self, event_id: &str, status: &str) -> Value {
        let previous = json!({ "status": if status == "active" { "incomplete" } else { "active" } });
        self.envelope(event_id, "customer.subscription.updated", self.subscription(status), Some(previous))
    }

    /// `customer.subscription.deleted`: the subscription has ended (`canceled`).
    pub fn subscription_deleted(&self, event_id: &str) -> Value {
        self.envelope(event_id, "customer.subscription.deleted", self.subscription("canceled"), None)
    }

    fn invoice(&self, paid: bool) -> Value {
        let amount_paid = if paid { 2000 } else { 0 };
        let mut line = json!({
            "id": "il_FakeLine0001",
            "object": "line_item",
            "amount": 2000,
            "currency": "jpy",
            "description": "1 × Pro (at ¥2,000 / month)",
            "period": { "start": self.current_period_start, "end": self.current_period_end },
            "quantity": 1,
        });
        let mut invoice = json!({
            "id": self.invoice,
            "object": "invoice",
            "account_country": "JP",
            "amount_due": 2000,
            "amount_paid": amount_paid,
            "amount_remaining": 2000 - amount_paid,
            "attempt_count": 1,
            "attempted": true,
            "billing_reason": "subscription_cycle",
            "collection_method": "charge_automatically",
            "created": self.created,
            "currency": "jpy",
            "customer": self.customer,
            "customer_email": "taro@example.jp",
            "lines": { "object": "list", "data": [], "has_more": false, "total_count": 1, "url": format!("/v1/invoices/{}/lines", self.invoice) },
            "livemode": self.livemode,
            "metadata": {},
            "next_payment_attempt": if paid { Value::Null } else { json!(self.created + 3 * 24 * 60 * 60) },
            "period_end": self.current_period_start,
            "period_start": self.current_period_start,
            "status": if paid { "paid" } else { "open" },
            "subtotal": 2000,
            "total": 2000,
        });
        match self.layout {
            ApiLayout::Basil => {
                invoice["parent"] = json!({
                    "quote_details": null,
                    "subscription_details": { "metadata": { "user_id": self.user_id }, "subscription": self.subscription },
                    "type": "subscription_details",
                });
                line["parent"] = json!({
                    "invoice_item_details": null,
                    "subscription_item_details": { "invoice_item": null, "proration": false, "subscription": self.subscription, "subscription_item": "si_FakeItem0001" },
                    "type": "subscription_item_details",
                });
                line["pricing"] = json!({ "price_details": { "price": self.price_id, "product": "prod_FakePro" }, "type": "price_details", "unit_amount_decimal": "2000" });
            }
            ApiLayout::Legacy => {
                invoice["subscription"] = json!(self.subscription);
                invoice["subscription_details"] = json!({ "metadata": { "user_id": self.user_id } });
                invoice["paid"] = json!(paid);
                line["subscription"] = json!(self.subscription);
                line["price"] = json!({ "id": self.price_id, "object": "price" });
                line["type"] = json!("subscription");
            }
        }
        invoice["lines"]["data"] = json!([line]);
        invoice
    }

    /// `invoice.paid` for a renewal.
    pub fn invoice_paid(&self, event_id: &str) -> Value {
        self.envelope(event_id, "invoice.paid", self.invoice(true), None)
    }

    /// `invoice.payment_failed` for a renewal (the card was declined; Stripe retries).
    pub fn invoice_payment_failed(&self, event_id: &str) -> Value {
        self.envelope(event_id, "invoice.payment_failed", self.invoice(false), None)
    }
}
