//! Optional billing through Stripe: webhook verification, typed events, the plan
//! catalogue and the Stripe calls for Checkout and the customer portal.
//!
//! Billing is on only when `STRIPE_SECRET_KEY` is set; the server reads that (and
//! `STRIPE_API_BASE`, the webhook secret, the price ids) in its config module and
//! builds these types from it. Nothing here knows HTTP routing or the database:
//! the server stores processed event ids and [`SubscriptionState`]s, and asks
//! [`effective_plan`] which plan (and token quota) a user has.

pub mod client;
mod error;
pub mod events;
pub mod plans;
pub mod signature;

pub use client::{
    CheckoutRequest, CheckoutSession, CustomerRef, CustomerRequest, PortalRequest, PortalSession, StripeClient,
    StripeConfig,
};
pub use error::{BillingError, StripeApiError};
pub use events::{BillingChange, CheckoutCompleted, Event, InvoiceUpdate, SubscriptionStatus, SubscriptionUpdate};
pub use plans::{effective_plan, Catalogue, Plan, SubscriptionState, FREE_PLAN_ID, PAST_DUE_GRACE};
pub use signature::{sign, verify, WebhookVerifier, DEFAULT_TOLERANCE};

/// Now, in unix seconds: the clock Stripe's timestamps use. A clock before 1970
/// reads as 0, which simply fails the signature tolerance.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
