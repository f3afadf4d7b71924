//! The plan catalogue and the one rule that decides which plan a user has now:
//! [`effective_plan`], from the stored subscription state and the clock, with no
//! call to Stripe on the request path.

use crate::events::{SubscriptionStatus, SubscriptionUpdate};
use crate::BillingError;
use std::collections::HashSet;
use std::time::Duration;

/// The plan everybody has without a subscription.
pub const FREE_PLAN_ID: &str = "free";

/// How long a `past_due` subscription keeps its plan. Stripe's own retries
/// (Smart Retries, by default up to two weeks) end in `canceled` or `unpaid`,
/// which downgrades at once; this cap makes the grace independent of the
/// Dashboard's dunning settings, so a card failure costs a paying user a week's
/// notice, never an instant cut-off.
pub const PAST_DUE_GRACE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Stable id stored with the user: `free`, `pro`, `business`.
    pub id: String,
    pub name_ja: String,
    pub name_en: String,
    /// The recurring Stripe price that sells this plan; `None` for free (or an
    /// unsold plan).
    pub stripe_price_id: Option<String>,
    /// The token quota per calendar month.
    pub monthly_tokens: u64,
}

impl Plan {
    fn new(id: &str, name_ja: &str, name_en: &str, stripe_price_id: Option<String>, monthly_tokens: u64) -> Self {
        Plan { id: id.into(), name_ja: name_ja.into(), name_en: name_en.into(), stripe_price_id, monthly_tokens }
    }
}

/// All plans, validated once at start: a `free` plan without a price, unique
/// ids and unique price ids (so a price maps to exactly one plan).
#[derive(Debug, Clone)]
pub struct Catalogue {
    free: Plan,
    paid: Vec<Plan>,
}

impl Catalogue {
    pub fn new(plans: Vec<Plan>) -> Result<Self, BillingError> {
        let invalid = |m: String| Err(BillingError::InvalidConfig(m));
        let mut ids = HashSet::new();
        let mut prices = HashSet::new();
        for plan in &plans {
            if plan.id.is_empty() {
                return invalid("a plan has an empty id".into());
            }
            if !ids.insert(plan.id.as_str()) {
                return invalid(format!("plan `{}` is listed twice", plan.id));
            }
            if let Some(price) = &plan.stripe_price_id {
                if price.is_empty() || !prices.insert(price.as_str()) {
                    return invalid(format!("plan `{}` has an empty or shared Stripe price id", plan.id));
                }
            }
        }
        let (free, paid): (Vec<Plan>, Vec<Plan>) = plans.into_iter().partition(|p| p.id == FREE_PLAN_ID);
        let Some(free) = free.into_iter().next() else {
            return invalid(format!("there is no `{FREE_PLAN_ID}` plan"));
        };
        if free.stripe_price_id.is_some() {
            return invalid(format!("the `{FREE_PLAN_ID}` plan must not have a Stripe price"));
        }
        Ok(Catalogue { free, paid })
    }

    /// The default catalogue: free (200k tokens a month), pro (5M) and business
    /// (30M), the paid ones sold through the configured Stripe prices.
    pub fn with_prices(pro_price_id: Option<String>, business_price_id: Option<String>) -> Result<Self, BillingError> {
        Self::new(vec![
            Plan::new(FREE_PLAN_ID, "フリー", "Free", None, 200_000),
            Plan::new("pro", "プロ", "Pro", pro_price_id, 5_000_000),
            Plan::new("business", "ビジネス", "Business", business_price_id, 30_000_000),
        ])
    }

    /// Free first, then the others in the order given.
    pub fn plans(&self) -> impl Iterator<Item = &Plan> {
        std::iter::once(&self.free).chain(&self.paid)
    }

    /// Plans a user can buy: those with a Stripe price.
    pub fn purchasable(&self) -> impl Iterator<Item = &Plan> {
        self.paid.iter().filter(|p| p.stripe_price_id.is_some())
    }

    pub fn free(&self) -> &Plan {
        &self.free
    }

    pub fn get(&self, id: &str) -> Option<&Plan> {
        self.plans().find(|p| p.id == id)
    }

    /// The plan a subscription's price sells.
    pub fn by_price_id(&self, price_id: &str) -> Option<&Plan> {
        self.paid.iter().find(|p| p.stripe_price_id.as_deref() == Some(price_id))
    }
}

/// What the server stores per user about their subscription, enough for
/// [`effective_plan`] to decide without calling Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    /// The subscribed plan's id (from the subscription's price).
    pub plan_id: String,
    pub status: SubscriptionStatus,
    /// Unix seconds.
    pub current_period_end: Option<i64>,
    /// When the subscription went `past_due` (the event's `created`), for the grace.
    pub past_due_since: Option<i64>,
}

impl SubscriptionState {
    /// The state after a subscription event created at `at` (unix seconds).
    ///
    /// A price the catalogue does not know yields the free plan: a customer is
    /// never granted a plan by guesswork. The server should log it, since it
    /// means the price ids in the config are stale.
    pub fn after(
        previous: Option<&SubscriptionState>,
        update: &SubscriptionUpdate,
        catalogue: &Catalogue,
        at: i64,
    ) -> SubscriptionState {
        let plan_id = update
            .price_id
            .as_deref()
            .and_then(|price| catalogue.by_price_id(price))
            .map_or(FREE_PLAN_ID, |p| p.id.as_str())
            .to_string();
        let past_due_since = match (update.status, previous) {
            (SubscriptionStatus::PastDue, Some(prev)) if prev.status == SubscriptionStatus::PastDue => {
                prev.past_due_since.or(Some(at))
            }
            (SubscriptionStatus::PastDue, _) => Some(at),
            _ => None,
        };
        SubscriptionState {
            plan_id,
            status: update.status,
            current_period_end: update.current_period_end,
            past_due_since,
        }
    }
}

/// The plan a user has at `now` (unix seconds):
///
/// - no subscription → free;
/// - `active`, `trialing` → the subscribed plan;
/// - `past_due` → the subscribed plan for [`PAST_DUE_GRACE`] after it went past
///   due (kept when that moment is unknown: Stripe's dunning ends it anyway);
/// - `canceled`, `unpaid`, `incomplete_expired`, and also `incomplete` (the first
///   payment has not succeeded), `paused` (a trial ended without a card) and
///   unknown statuses → free.
///
/// A plan id the catalogue no longer has is free too.
pub fn effective_plan<'c>(catalogue: &'c Catalogue, state: Option<&SubscriptionState>, now: i64) -> &'c Plan {
    let Some(state) = state else { return catalogue.free() };
    let entitled = match state.status {
        SubscriptionStatus::Active | SubscriptionStatus::Trialing => true,
        SubscriptionStatus::PastDue => {
            let grace = i64::try_from(PAST_DUE_GRACE.as_secs()).unwrap_or(i64::MAX);
            state.past_due_since.is_none_or(|since| now < since.saturating_add(grace))
        }
        SubscriptionStatus::Canceled
        | SubscriptionStatus::Unpaid
        | SubscriptionStatus::IncompleteExpired
        | SubscriptionStatus::Incomplete
        | SubscriptionStatus::Paused
        | SubscriptionStatus::Unknown => false,
    };
    if entitled {
        catalogue.get(&state.plan_id).unwrap_or(catalogue.free())
    } else {
        catalogue.free()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 60 * 60;

    fn catalogue() -> Catalogue {
        Catalogue::with_prices(Some("price_pro".into()), Some("price_biz".into())).unwrap()
    }

    fn state(status: SubscriptionStatus, past_due_since: Option<i64>) -> SubscriptionState {
        SubscriptionState { plan_id: "pro".into(), status, current_period_end: Some(30 * DAY), past_due_since }
    }

    #[test]
    fn default_catalogue() {
        let c = catalogue();
        assert_eq!(c.free().id, "free");
        assert_eq!(c.free().monthly_tokens, 200_000);
        assert_eq!(c.free().stripe_price_id, None);
        assert_eq!(c.by_price_id("price_pro").map(|p| p.id.as_str()), Some("pro"));
        assert_eq!(c.by_price_id("price_biz").map(|p| p.name_ja.as_str()), Some("ビジネス"));
        assert_eq!(c.by_price_id("price_other"), None);
        assert_eq!(c.plans().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["free", "pro", "business"]);
        assert_eq!(c.purchasable().count(), 2);
        let unpriced = Catalogue::with_prices(None, None).unwrap();
        assert_eq!(unpriced.purchasable().count(), 0);
        assert_eq!(unpriced.by_price_id(""), None);
    }

    #[test]
    fn invalid_catalogues_are_refused() {
        let plan = |id: &str, price: Option<&str>| Plan::new(id, "x", "x", price.map(str::to_string), 1);
        let cases = [
            vec![plan("pro", Some("price_1"))],
            vec![plan("free", Some("price_1"))],
            vec![plan("free", None), plan("pro", Some("p")), plan("pro", Some("q"))],
            vec![plan("free", None), plan("pro", Some("p")), plan("biz", Some("p"))],
            vec![plan("free", None), plan("", None)],
            vec![plan("free", None), plan("pro", Some(""))],
        ];
        for plans in cases {
            let err = Catalogue::new(plans.clone()).unwrap_err();
            assert_eq!(err.code(), "invalid_config", "{plans:?}");
        }
    }

    #[test]
    fn effective_plan_table() {
        use SubscriptionStatus::*;
        let c = catalogue();
        let now = 10 * DAY;
        let week = 7 * DAY;
        let cases: &[(Option<SubscriptionState>, &str)] = &[
            (None, "free"),
            (Some(state(Active, None)), "pro"),
            (Some(state(Trialing, None)), "pro"),
            (Some(state(PastDue, Some(now))), "pro"),
            (Some(state(PastDue, Some(now - week + 1))), "pro"),
            (Some(state(PastDue, Some(now - week))), "free"),
            (Some(state(PastDue, Some(now - 30 * DAY))), "free"),
            (Some(state(PastDue, None)), "pro"),
            (Some(state(Canceled, None)), "free"),
            (Some(state(Unpaid, None)), "free"),
            (Some(state(IncompleteExpired, None)), "free"),
            (Some(state(Incomplete, None)), "free"),
            (Some(state(Paused, None)), "free"),
            (Some(state(Unknown, None)), "free"),
            (Some(SubscriptionState { plan_id: "retired".into(), ..state(Active, None) }), "free"),
            (Some(SubscriptionState { plan_id: "business".into(), ..state(Active, None) }), "business"),
        ];
        for (s, want) in cases {
            assert_eq!(effective_plan(&c, s.as_ref(), now).id, *want, "{s:?}");
        }
    }

    fn update(status: SubscriptionStatus, price: &str) -> SubscriptionUpdate {
        SubscriptionUpdate {
            subscription_id: "sub_1".into(),
            customer: Some("cus_1".into()),
            status,
            current_period_end: Some(40 * DAY),
            price_id: Some(price.into()),
            cancel_at_period_end: false,
            cancel_at: None,
            user_id: None,
        }
    }

    #[test]
    fn state_after_updates_tracks_the_start_of_past_due() {
        use SubscriptionStatus::*;
        let c = catalogue();
        let active = SubscriptionState::after(None, &update(Active, "price_biz"), &c, DAY);
        assert_eq!(active.plan_id, "business");
        assert_eq!(active.past_due_since, None);
        assert_eq!(active.current_period_end, Some(40 * DAY));

        let failed = SubscriptionState::after(Some(&active), &update(PastDue, "price_biz"), &c, 2 * DAY);
        assert_eq!(failed.past_due_since, Some(2 * DAY));
        // A later past_due update (say, a second failed retry) does not restart the grace.
        let again = SubscriptionState::after(Some(&failed), &update(PastDue, "price_biz"), &c, 5 * DAY);
        assert_eq!(again.past_due_since, Some(2 * DAY));
        assert_eq!(effective_plan(&c, Some(&again), 8 * DAY).id, "business");
        assert_eq!(effective_plan(&c, Some(&again), 9 * DAY).id, "free");

        let paid = SubscriptionState::after(Some(&again), &update(Active, "price_biz"), &c, 6 * DAY);
        assert_eq!(paid.past_due_since, None);

        let unknown_price = SubscriptionState::after(Some(&paid), &update(Active, "price_gone"), &c, 7 * DAY);
        assert_eq!(unknown_price.plan_id, "free");
    }
}
