//! Billing, free of HTTP: plans with monthly token quotas, Stripe Checkout and the
//! customer portal, and webhook events applied once each, in order, to the user's
//! billing account. On only when `STRIPE_SECRET_KEY` is set.

use crate::config::BillingConfig;
use std::sync::Arc;
use tenmon_billing::{
    effective_plan, BillingChange, BillingError, Catalogue, CheckoutRequest, CustomerRef, Event, Plan, PortalRequest,
    StripeClient, StripeConfig, SubscriptionState, SubscriptionStatus, SubscriptionUpdate, WebhookVerifier,
};
use tenmon_store::{BillingAccountRow, Store, StoreError};

/// What went wrong, for the route to map.
#[derive(Debug, thiserror::Error)]
pub enum BillingFailure {
    #[error("{0}")]
    Stripe(#[from] BillingError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown plan {0:?}; see GET /api/billing for the plans on sale")]
    UnknownPlan(String),
    #[error("no billing account yet: subscribe to a plan first")]
    NoAccount,
}

/// Stripe, the plans, and the store.
#[derive(Debug, Clone)]
pub struct Billing {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: StripeClient,
    verifier: WebhookVerifier,
    catalogue: Catalogue,
    store: Arc<dyn Store>,
    return_url: String,
}

/// A user's plan and this month's use, for `GET /api/billing`.
#[derive(Debug, Clone)]
pub struct Summary {
    pub plan: Plan,
    pub status: String,
    pub used_tokens: i64,
    pub current_period_end_ms: Option<i64>,
    pub cancel_at_period_end: bool,
}

/// What a webhook delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The change was applied.
    Applied,
    /// This event id was applied before (a redelivery).
    Duplicate,
    /// Nothing to do (another type, an older event, an unknown customer).
    Ignored,
}

/// The first and last day (days since the epoch) of the UTC month holding `day`.
pub fn month_of(day: i64) -> (i64, i64) {
    // Civil-from-days (Howard Hinnant's algorithm), to find the 1st of the month.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let first = day - (d - 1);
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let len = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (first, first + len - 1)
}

/// A user's first billing row: linked to the customer, on the free plan.
fn new_account(user_id: &str, customer: &str, status: &str, now_ms: i64) -> BillingAccountRow {
    BillingAccountRow {
        user_id: user_id.to_string(),
        customer_id: customer.to_string(),
        subscription_id: None,
        status: status.to_string(),
        price_id: None,
        plan_id: tenmon_billing::FREE_PLAN_ID.to_string(),
        current_period_end_ms: None,
        cancel_at_period_end: false,
        past_due_since: None,
        last_event_at: None,
        updated_at_ms: now_ms,
    }
}

fn state_of(row: &BillingAccountRow) -> Option<SubscriptionState> {
    row.subscription_id.as_ref()?;
    Some(SubscriptionState {
        plan_id: row.plan_id.clone(),
        status: SubscriptionStatus::parse(&row.status),
        current_period_end: row.current_period_end_ms.map(|ms| ms / 1000),
        past_due_since: row.past_due_since,
    })
}

impl Billing {
    pub fn new(config: &BillingConfig, store: Arc<dyn Store>) -> Result<Self, BillingError> {
        let mut stripe = StripeConfig::new(config.secret_key.clone());
        stripe.api_base = config.api_base.clone();
        let plans = vec![
            Plan {
                id: "free".into(),
                name_ja: "フリー".into(),
                name_en: "Free".into(),
                stripe_price_id: None,
                monthly_tokens: config.free_tokens,
            },
            Plan {
                id: "pro".into(),
                name_ja: "プロ".into(),
                name_en: "Pro".into(),
                stripe_price_id: config.price_pro.clone(),
                monthly_tokens: config.pro_tokens,
            },
            Plan {
                id: "business".into(),
                name_ja: "ビジネス".into(),
                name_en: "Business".into(),
                stripe_price_id: config.price_business.clone(),
                monthly_tokens: config.business_tokens,
            },
        ];
        Ok(Self {
            inner: Arc::new(Inner {
                client: StripeClient::new(stripe)?,
                verifier: WebhookVerifier::new(config.webhook_secret.clone()),
                catalogue: Catalogue::new(plans)?,
                store,
                return_url: config.return_url.clone(),
            }),
        })
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }

    /// The plan a subject is on now (guests and users without a subscription: free).
    pub async fn plan(&self, subject_id: &str) -> Result<Plan, StoreError> {
        let row = self.inner.store.billing_account(subject_id).await?;
        let state = row.as_ref().and_then(state_of);
        Ok(effective_plan(&self.inner.catalogue, state.as_ref(), tenmon_billing::unix_now()).clone())
    }

    /// Tokens the subject used this UTC month.
    pub async fn used_this_month(&self, subject_id: &str) -> Result<i64, StoreError> {
        let (first, last) = month_of(tenmon_chat::today());
        self.inner.store.token_usage_between(subject_id, first, last).await
    }

    pub async fn summary(&self, user_id: &str) -> Result<Summary, StoreError> {
        let row = self.inner.store.billing_account(user_id).await?;
        Ok(Summary {
            plan: self.plan(user_id).await?,
            status: row.as_ref().map_or_else(|| "none".to_string(), |r| r.status.clone()),
            used_tokens: self.used_this_month(user_id).await?,
            current_period_end_ms: row.as_ref().and_then(|r| r.current_period_end_ms),
            cancel_at_period_end: row.as_ref().is_some_and(|r| r.cancel_at_period_end),
        })
    }

    /// A Checkout session for a paid plan; returns the URL to send the user to.
    pub async fn checkout(&self, user_id: &str, email: &str, plan_id: &str) -> Result<String, BillingFailure> {
        let price = self
            .inner
            .catalogue
            .get(plan_id)
            .and_then(|p| p.stripe_price_id.clone())
            .ok_or_else(|| BillingFailure::UnknownPlan(plan_id.to_string()))?;
        let customer = match self.inner.store.billing_account(user_id).await? {
            Some(row) => CustomerRef::Id(row.customer_id),
            None => CustomerRef::Email(email.to_string()),
        };
        let sep = if self.inner.return_url.contains('?') { '&' } else { '?' };
        let session = self
            .inner
            .client
            .create_checkout_session(&CheckoutRequest {
                customer,
                client_reference_id: user_id.to_string(),
                price_id: price,
                success_url: format!("{}{sep}billing=success", self.inner.return_url),
                cancel_url: format!("{}{sep}billing=cancelled", self.inner.return_url),
                idempotency_key: None,
            })
            .await?;
        Ok(session.url)
    }

    /// A customer portal session (invoices, card, cancellation).
    pub async fn portal(&self, user_id: &str) -> Result<String, BillingFailure> {
        let row = self.inner.store.billing_account(user_id).await?.ok_or(BillingFailure::NoAccount)?;
        let session = self
            .inner
            .client
            .create_portal_session(&PortalRequest {
                customer: row.customer_id,
                return_url: self.inner.return_url.clone(),
                idempotency_key: None,
            })
            .await?;
        Ok(session.url)
    }

    /// Verify a delivery (before parsing), then apply its event once.
    pub async fn webhook(&self, signature: Option<&str>, body: &[u8]) -> Result<(Event, Applied), BillingFailure> {
        let event = self.inner.verifier.verify_event(signature, body, tenmon_billing::unix_now())?;
        let store = &self.inner.store;
        if matches!(event.change, BillingChange::Ignored) {
            return Ok((event, Applied::Ignored));
        }
        if !store.billing_claim_event(&event.id, &event.event_type, tenmon_chat::now_ms()).await? {
            return Ok((event, Applied::Duplicate));
        }
        match self.apply(&event).await {
            Ok(applied) => Ok((event, applied)),
            Err(e) => {
                // Not applied: let Stripe's retry try again.
                if let Err(release) = store.billing_release_event(&event.id).await {
                    tracing::error!(error = %release, "could not release a billing event claim");
                }
                Err(e.into())
            }
        }
    }

    async fn apply(&self, event: &Event) -> Result<Applied, StoreError> {
        let store = &self.inner.store;
        let now = tenmon_chat::now_ms();
        match &event.change {
            BillingChange::CheckoutCompleted(c) => {
                let (Some(user_id), Some(customer)) = (&c.user_id, &c.customer) else {
                    tracing::warn!(event = %event.id, "checkout completed without a user or customer; ignored");
                    return Ok(Applied::Ignored);
                };
                if store.user_by_id(user_id).await?.is_none() {
                    tracing::warn!(event = %event.id, "checkout completed for an unknown user; ignored");
                    return Ok(Applied::Ignored);
                }
                let mut row = match store.billing_account(user_id).await? {
                    Some(row) => row,
                    None => new_account(user_id, customer, "incomplete", now),
                };
                row.customer_id = customer.clone();
                if c.subscription.is_some() {
                    row.subscription_id = c.subscription.clone();
                }
                row.updated_at_ms = now;
                store.put_billing_account(&row).await?;
                Ok(Applied::Applied)
            }
            BillingChange::SubscriptionUpdated(u) | BillingChange::SubscriptionDeleted(u) => {
                self.apply_subscription(event, u).await
            }
            BillingChange::InvoicePaid(_) | BillingChange::InvoicePaymentFailed(_) => {
                // The subscription events that accompany them carry the status; the
                // invoice itself changes nothing here (logged for operators).
                tracing::info!(event = %event.id, kind = %event.event_type, "invoice event");
                Ok(Applied::Applied)
            }
            BillingChange::Ignored => Ok(Applied::Ignored),
        }
    }

    async fn apply_subscription(&self, event: &Event, u: &SubscriptionUpdate) -> Result<Applied, StoreError> {
        let store = &self.inner.store;
        let mut row = match &u.customer {
            Some(c) => store.billing_account_by_customer(c).await?,
            None => None,
        };
        if row.is_none() {
            // A subscription made by our Checkout names the user in its metadata.
            if let (Some(user_id), Some(customer)) = (&u.user_id, &u.customer) {
                if store.user_by_id(user_id).await?.is_some() {
                    row = Some(new_account(user_id, customer, "none", 0));
                }
            }
        }
        let Some(mut row) = row else {
            tracing::warn!(event = %event.id, "subscription event for an unknown customer; ignored");
            return Ok(Applied::Ignored);
        };
        if row.last_event_at.is_some_and(|at| event.created < at) {
            // Stripe does not promise order: an older state must not overwrite a newer one.
            return Ok(Applied::Ignored);
        }
        let previous = state_of(&row);
        let next = SubscriptionState::after(previous.as_ref(), u, &self.inner.catalogue, event.created);
        if u.price_id.is_some() && next.plan_id == tenmon_billing::FREE_PLAN_ID {
            tracing::warn!(event = %event.id, "subscription price matches no plan: check STRIPE_PRICE_*");
        }
        row.subscription_id = Some(u.subscription_id.clone());
        row.status = next.status.as_str().to_string();
        row.price_id = u.price_id.clone();
        row.plan_id = next.plan_id;
        row.current_period_end_ms = next.current_period_end.map(|s| s * 1000);
        row.cancel_at_period_end = u.cancel_at_period_end;
        row.past_due_since = next.past_due_since;
        row.last_event_at = Some(event.created);
        row.updated_at_ms = tenmon_chat::now_ms();
        store.put_billing_account(&row).await?;
        Ok(Applied::Applied)
    }
}

#[cfg(test)]
mod tests {
    use super::month_of;

    #[test]
    fn months_have_their_real_lengths() {
        // 2026-11-23 is day 20780 since the epoch.
        assert_eq!(month_of(20_780), (20_758, 20_787));
        // February in a leap year (2024-02-10 = day 19763) and not (2026-02-01 = 20485).
        assert_eq!(month_of(19_763), (19_754, 19_782));
        assert_eq!(month_of(20_485), (20_485, 20_512));
        // 1970-01-01.
        assert_eq!(month_of(0), (0, 30));
    }
}
