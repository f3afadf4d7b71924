//! A small client for the three Stripe calls we make: create a customer, a
//! Checkout session and a customer-portal session. Requests are form-encoded with
//! Stripe's bracketed keys (`line_items[0][price]`), carry the pinned
//! `Stripe-Version` and an `Idempotency-Key`, and are retried on 409/429/5xx and
//! connection failures with the same key, as Stripe recommends, so a retry can
//! never create a second object.

use crate::BillingError;
use crate::StripeApiError;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;

/// Where the real API lives; the server overrides it from `STRIPE_API_BASE`
/// (the fake Stripe in tests).
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// The API version every request pins, so a Dashboard upgrade of the account's
/// default version cannot change the responses under us. `2025-03-31.basil` is
/// the version whose object shapes this crate is written and tested against
/// (it moved subscription periods onto items and an invoice's subscription under
/// `parent`). Webhook payloads follow the endpoint's own version instead, which
/// is why [`crate::events`] reads both layouts.
pub const API_VERSION: &str = "2025-03-31.basil";

/// Backoff doubles from `initial_backoff` up to this, as Stripe's libraries do.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// `sk_live_…`/`sk_test_…` or a restricted `rk_…` key. Never logged.
    pub secret_key: SecretString,
    /// Without a trailing `/v1`.
    pub api_base: String,
    /// Per attempt, connect to last byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The wait before the first retry; doubles, capped at 5 s.
    pub initial_backoff: Duration,
}

impl StripeConfig {
    /// Defaults: the real API, 30 s per attempt, 2 retries from 500 ms.
    pub fn new(secret_key: SecretString) -> Self {
        StripeConfig {
            secret_key,
            api_base: DEFAULT_API_BASE.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
        }
    }
}

/// Who pays: an existing customer, or an email Checkout creates one for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRef {
    /// `cus_…`
    Id(String),
    Email(String),
}

/// A subscription-mode Checkout session for one price.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub customer: CustomerRef,
    /// Our user id; it comes back in `checkout.session.completed` and is also put
    /// in the session's and the subscription's `metadata[user_id]`, so every later
    /// subscription event names the user too.
    pub client_reference_id: String,
    pub price_id: String,
    /// May contain `{CHECKOUT_SESSION_ID}`, which Stripe fills in.
    pub success_url: String,
    pub cancel_url: String,
    /// Reuse a key to make a repeated click return the same session; `None` makes one.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckoutSession {
    /// `cs_…`
    pub id: String,
    /// Where to send the browser.
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct PortalRequest {
    /// `cus_…`
    pub customer: String,
    pub return_url: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PortalSession {
    /// `bps_…`
    pub id: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct CustomerRequest {
    pub email: String,
    /// Stored as `metadata[user_id]`, to find our user from the Dashboard.
    pub user_id: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StripeClient {
    cfg: StripeConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    error_type: Option<String>,
    code: Option<String>,
    param: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct CreatedSession {
    id: String,
    url: Option<String>,
}

/// One failed attempt, and whether another could succeed.
struct Failure {
    error: BillingError,
    retry: bool,
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

/// Map a non-2xx answer. Stripe's 401 message echoes part of the key, so it is dropped.
fn classify(status: u16, headers: &reqwest::header::HeaderMap, body: &str) -> Failure {
    let parsed = serde_json::from_str::<ErrorEnvelope>(body).ok().map(|e| e.error);
    let code = parsed.as_ref().and_then(|e| e.code.clone());
    let error = match status {
        401 | 403 => BillingError::Authentication { status },
        429 => BillingError::RateLimited { retry_after: retry_after(headers) },
        // Stripe's older way of saying 429.
        400 if code.as_deref() == Some("rate_limit") => BillingError::RateLimited { retry_after: retry_after(headers) },
        s if s >= 500 => BillingError::Unavailable(format!("HTTP {s}")),
        s => {
            let e = parsed.unwrap_or(ErrorBody { error_type: None, code: None, param: None, message: None });
            BillingError::InvalidRequest(StripeApiError {
                status: s,
                error_type: e.error_type.unwrap_or_else(|| "unknown".into()),
                code,
                param: e.param,
                message: e.message.unwrap_or_default(),
            })
        }
    };
    // Stripe may say outright whether a retry can help (e.g. a lock timeout); it knows best.
    let retry = match headers.get("stripe-should-retry").and_then(|v| v.to_str().ok()) {
        Some("true") => true,
        Some("false") => false,
        _ => status == 409 || error.is_retryable(),
    };
    Failure { error, retry }
}

fn transport_failure(e: &reqwest::Error) -> Failure {
    // reqwest's Display may name the URL, never the Authorization header; say less anyway.
    let error = if e.is_timeout() {
        BillingError::Timeout
    } else if e.is_connect() {
        BillingError::Unavailable("connection failed".into())
    } else {
        BillingError::Unavailable("request failed".into())
    };
    Failure { error, retry: true }
}

impl StripeClient {
    pub fn new(cfg: StripeConfig) -> Result<Self, BillingError> {
        if !(cfg.api_base.starts_with("https://") || cfg.api_base.starts_with("http://")) {
            return Err(BillingError::InvalidConfig(format!(
                "Stripe API base `{}` is not an http(s) URL",
                cfg.api_base
            )));
        }
        if cfg.secret_key.expose_secret().trim().is_empty() {
            return Err(BillingError::InvalidConfig("the Stripe secret key is empty".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("tenmon-ark-billing/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BillingError::InvalidConfig(format!("http client: {e}")))?;
        Ok(StripeClient { cfg, http })
    }

    /// `POST /v1/customers`; returns the `cus_…` id.
    pub async fn create_customer(&self, req: &CustomerRequest) -> Result<String, BillingError> {
        let form = vec![("email".to_string(), req.email.clone()), ("metadata[user_id]".into(), req.user_id.clone())];
        let created: Created = self.post("/v1/customers", &form, req.idempotency_key.as_deref()).await?;
        Ok(created.id)
    }

    /// `POST /v1/checkout/sessions` in subscription mode.
    pub async fn create_checkout_session(&self, req: &CheckoutRequest) -> Result<CheckoutSession, BillingError> {
        let mut form = vec![
            ("mode".to_string(), "subscription".to_string()),
            ("line_items[0][price]".into(), req.price_id.clone()),
            ("line_items[0][quantity]".into(), "1".into()),
            ("success_url".into(), req.success_url.clone()),
            ("cancel_url".into(), req.cancel_url.clone()),
            ("client_reference_id".into(), req.client_reference_id.clone()),
            ("metadata[user_id]".into(), req.client_reference_id.clone()),
            ("subscription_data[metadata][user_id]".into(), req.client_reference_id.clone()),
        ];
        form.push(match &req.customer {
            CustomerRef::Id(id) => ("customer".into(), id.clone()),
            CustomerRef::Email(email) => ("customer_email".into(), email.clone()),
        });
        let s: CreatedSession = self.post("/v1/checkout/sessions", &form, req.idempotency_key.as_deref()).await?;
        let url = s.url.ok_or_else(|| BillingError::Protocol("checkout session without a url".into()))?;
        Ok(CheckoutSession { id: s.id, url })
    }

    /// `POST /v1/billing_portal/sessions`.
    pub async fn create_portal_session(&self, req: &PortalRequest) -> Result<PortalSession, BillingError> {
        let form = vec![("customer".to_string(), req.customer.clone()), ("return_url".into(), req.return_url.clone())];
        self.post("/v1/billing_portal/sessions", &form, req.idempotency_key.as_deref()).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, BillingError> {
        // One key for every attempt: that is what makes the retries safe.
        let key = idempotency_key.map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_string);
        let mut retries = 0;
        loop {
            match self.attempt(path, form, &key).await {
                Ok(body) => {
                    return serde_json::from_str(&body)
                        .map_err(|e| BillingError::Protocol(format!("{path}: unreadable response: {e}")))
                }
                Err(f) if f.retry && retries < self.cfg.max_retries => {
                    let backoff = self.cfg.initial_backoff.saturating_mul(1u32 << retries.min(16)).min(MAX_BACKOFF);
                    let wait = match &f.error {
                        BillingError::RateLimited { retry_after: Some(after) } => backoff.max(*after).min(MAX_BACKOFF),
                        _ => backoff,
                    };
                    tracing::warn!(path, retry = retries + 1, code = f.error.code(), "retrying a Stripe request");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                Err(f) => {
                    tracing::warn!(path, code = f.error.code(), "Stripe request failed");
                    return Err(f.error);
                }
            }
        }
    }

    /// One request; the body of a 2xx answer.
    async fn attempt(&self, path: &str, form: &[(String, String)], key: &str) -> Result<String, Failure> {
        let url = format!("{}{path}", self.cfg.api_base.trim_end_matches('/'));
        let response = self
            .http
            .post(url)
            .bearer_auth(self.cfg.secret_key.expose_secret())
            .header("Stripe-Version", API_VERSION)
            .header("Idempotency-Key", key)
            .form(form)
            .send()
            .await
            .map_err(|e| transport_failure(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| transport_failure(&e))?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(classify(status, &headers, &body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn classify_maps_stripe_errors() {
        let none = HeaderMap::new();
        let f = classify(
            401,
            &none,
            r#"{"error":{"message":"Invalid API Key provided: sk_test_****abcd","type":"invalid_request_error"}}"#,
        );
        assert_eq!(f.error, BillingError::Authentication { status: 401 });
        assert!(!f.retry);
        assert!(!f.error.to_string().contains("sk_test"));

        let f = classify(
            400,
            &none,
            r#"{"error":{"code":"parameter_missing","message":"Missing required param: customer.","param":"customer","type":"invalid_request_error"}}"#,
        );
        let BillingError::InvalidRequest(e) = &f.error else { panic!("{:?}", f.error) };
        assert_eq!((e.status, e.error_type.as_str()), (400, "invalid_request_error"));
        assert_eq!((e.code.as_deref(), e.param.as_deref()), (Some("parameter_missing"), Some("customer")));
        assert!(!f.retry);

        let f = classify(400, &none, r#"{"error":{"code":"rate_limit","type":"invalid_request_error","message":"x"}}"#);
        assert_eq!(f.error, BillingError::RateLimited { retry_after: None });
        assert!(f.retry);

        let mut after = HeaderMap::new();
        after.insert("retry-after", HeaderValue::from_static("2"));
        let f = classify(429, &after, "");
        assert_eq!(f.error, BillingError::RateLimited { retry_after: Some(Duration::from_secs(2)) });

        let f = classify(502, &none, "<html>bad gateway</html>");
        assert_eq!(f.error, BillingError::Unavailable("HTTP 502".into()));
        assert!(f.retry);

        let f = classify(409, &none, r#"{"error":{"type":"idempotency_error","message":"in progress"}}"#);
        assert!(f.retry);

        let mut no = HeaderMap::new();
        no.insert("stripe-should-retry", HeaderValue::from_static("false"));
        assert!(!classify(500, &no, "").retry);
        let mut yes = HeaderMap::new();
        yes.insert("stripe-should-retry", HeaderValue::from_static("true"));
        assert!(classify(400, &yes, "").retry);
    }

    #[test]
    fn config_is_checked() {
        let mut cfg = StripeConfig::new(SecretString::from("sk_test_123"));
        cfg.api_base = "api.stripe.com".into();
        assert_eq!(StripeClient::new(cfg).unwrap_err().code(), "invalid_config");
        let cfg = StripeConfig::new(SecretString::from(" "));
        assert_eq!(StripeClient::new(cfg).unwrap_err().code(), "invalid_config");
        let client = StripeClient::new(StripeConfig::new(SecretString::from("sk_test_123"))).unwrap();
        assert!(!format!("{client:?}").contains("sk_test_123"));
    }
}
