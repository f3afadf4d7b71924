//! Billing (Stripe): the caller's plan and usage, Checkout, the customer portal,
//! and the webhook. Every route answers 404 `billing_disabled` when
//! `STRIPE_SECRET_KEY` is not set.

use crate::app::AppState;
use crate::auth::Account;
use crate::billing::{Applied, Billing, BillingFailure};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::session::rfc3339;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A plan on offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub id: String,
    pub name_ja: String,
    pub name_en: String,
    /// Model tokens per UTC calendar month.
    pub monthly_tokens: u64,
    /// Has a Stripe price (can be bought with Checkout).
    pub purchasable: bool,
}

impl From<&tenmon_billing::Plan> for PlanView {
    fn from(p: &tenmon_billing::Plan) -> Self {
        PlanView {
            id: p.id.clone(),
            name_ja: p.name_ja.clone(),
            name_en: p.name_en.clone(),
            monthly_tokens: p.monthly_tokens,
            purchasable: p.stripe_price_id.is_some(),
        }
    }
}

/// The caller's plan and this month's use.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingView {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanView>,
    /// Stripe's subscription status, or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Tokens used this UTC month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_tokens: Option<i64>,
    pub current_period_end: Option<String>,
    pub cancel_at_period_end: bool,
    pub plans: Vec<PlanView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    /// A purchasable plan id (`pro`, `business`).
    #[schema(min_length = 1, max_length = 64)]
    pub plan: String,
}

/// Where to send the user's browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedirectUrl {
    pub url: String,
}

/// A webhook delivery's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResult {
    pub received: bool,
    /// `applied`, `duplicate` or `ignored`.
    pub result: String,
}

fn billing(state: &AppState) -> Result<&Billing, ApiError> {
    state.billing.as_ref().ok_or_else(|| {
        ApiError::coded(StatusCode::NOT_FOUND, "billing_disabled", "billing is not enabled on this server")
    })
}

fn failure(e: BillingFailure) -> ApiError {
    match e {
        BillingFailure::UnknownPlan(_) => ApiError::validation("plan", e.to_string()),
        BillingFailure::NoAccount => ApiError::coded(StatusCode::CONFLICT, "no_billing_account", e.to_string()),
        BillingFailure::Store(s) => s.into(),
        BillingFailure::Stripe(s) if s.is_signature_error() => ApiError::BadSignature(format!("Stripe-Signature: {s}")),
        BillingFailure::Stripe(s) if s.code() == "malformed_event" => ApiError::BadRequest(s.to_string()),
        BillingFailure::Stripe(s) => {
            tracing::warn!(error = %s, code = s.code(), "Stripe call failed");
            ApiError::coded(
                StatusCode::BAD_GATEWAY,
                "billing_unavailable",
                "the payment provider did not answer; try again",
            )
        }
    }
}

/// The caller's plan, this month's tokens and the plans on offer.
#[utoipa::path(get, path = "/api/billing", tag = "billing", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Plan and usage (`enabled: false` when billing is off)", body = BillingView),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Guests and API keys have no billing", body = ErrorBody),
    ))]
pub async fn get_billing(
    State(state): State<AppState>,
    Account(caller): Account,
) -> Result<Json<BillingView>, ApiError> {
    let Some(billing) = &state.billing else {
        return Ok(Json(BillingView {
            enabled: false,
            plan: None,
            status: None,
            used_tokens: None,
            current_period_end: None,
            cancel_at_period_end: false,
            plans: Vec::new(),
        }));
    };
    let s = billing.summary(&caller.subject_id).await?;
    Ok(Json(BillingView {
        enabled: true,
        plan: Some(PlanView::from(&s.plan)),
        status: Some(s.status),
        used_tokens: Some(s.used_tokens),
        current_period_end: s.current_period_end_ms.map(rfc3339),
        cancel_at_period_end: s.cancel_at_period_end,
        plans: billing.catalogue().plans().map(PlanView::from).collect(),
    }))
}

/// Start a Stripe Checkout for a plan; send the browser to the returned URL.
#[utoipa::path(post, path = "/api/billing/checkout", tag = "billing", request_body = CheckoutBody,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The Checkout page", body = RedirectUrl),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Guests and API keys cannot buy plans", body = ErrorBody),
        (status = 404, description = "Billing is off (billing_disabled)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Unknown or unsold plan", body = ErrorBody),
        (status = 502, description = "Stripe did not answer (billing_unavailable)", body = ErrorBody),
    ))]
pub async fn checkout(
    State(state): State<AppState>,
    Account(caller): Account,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> Result<Json<RedirectUrl>, ApiError> {
    let billing = billing(&state)?;
    let user = state.store.user_by_id(&caller.subject_id).await?.ok_or(ApiError::Unauthorized)?;
    let url = billing.checkout(&user.id, &user.email, &body.plan).await.map_err(failure)?;
    Ok(Json(RedirectUrl { url }))
}

/// Open Stripe's customer portal (card, invoices, cancellation).
#[utoipa::path(post, path = "/api/billing/portal", tag = "billing", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The portal page", body = RedirectUrl),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Guests and API keys have no billing", body = ErrorBody),
        (status = 404, description = "Billing is off (billing_disabled)", body = ErrorBody),
        (status = 409, description = "No subscription yet (no_billing_account)", body = ErrorBody),
        (status = 502, description = "Stripe did not answer (billing_unavailable)", body = ErrorBody),
    ))]
pub async fn portal(State(state): State<AppState>, Account(caller): Account) -> Result<Json<RedirectUrl>, ApiError> {
    let billing = billing(&state)?;
    let url = billing.portal(&caller.subject_id).await.map_err(failure)?;
    Ok(Json(RedirectUrl { url }))
}

/// Stripe's webhook. `Stripe-Signature` is verified against the raw body (within
/// the timestamp tolerance, constant-time) before anything is parsed; each event id
/// is applied once.
#[utoipa::path(post, path = "/api/billing/webhook", tag = "billing",
    params(("Stripe-Signature" = Option<String>, Header, description = "t=<unix>,v1=<hex HMAC-SHA256>")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "The event as Stripe sends it"),
    responses(
        (status = 200, description = "Received (applied, a duplicate, or a type that changes nothing)", body = WebhookResult),
        (status = 400, description = "Signed, but not an event", body = ErrorBody),
        (status = 401, description = "Missing, wrong or stale signature (invalid_signature)", body = ErrorBody),
        (status = 404, description = "Billing is off (billing_disabled)", body = ErrorBody),
        (status = 503, description = "The database is unavailable; Stripe will retry", body = ErrorBody),
    ))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookResult>, ApiError> {
    let billing = billing(&state)?;
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let (event, applied) = billing.webhook(signature, &body).await.map_err(failure)?;
    let result = match applied {
        Applied::Applied => "applied",
        Applied::Duplicate => "duplicate",
        Applied::Ignored => "ignored",
    };
    tracing::info!(event = %event.id, kind = %event.event_type, result, "Stripe event");
    Ok(Json(WebhookResult { received: true, result: result.into() }))
}
