//! A fake Stripe API: customers, Checkout sessions and customer-portal
//! sessions, form-encoded in and Stripe-shaped JSON out, with Stripe's auth and
//! parameter errors, `Idempotency-Key` replays, scripted 429/5xx and delays.
//! Every call is recorded. It also sends signed webhooks, with event bodies from
//! [`EventFixture`].

mod events;
mod webhook;

pub use events::{ApiLayout, EventFixture};
pub use webhook::{deliver_at, post_webhook, signature_header, unix_now, WebhookDelivery};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One API call the client made.
#[derive(Debug, Clone, PartialEq)]
pub struct StripeCall {
    pub method: String,
    /// e.g. `/v1/checkout/sessions`.
    pub path: String,
    /// The decoded form, in order, keys as sent (`line_items[0][price]`).
    pub params: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub stripe_version: Option<String>,
    /// What the fake answered.
    pub status: u16,
    /// Answered from the idempotency store.
    pub replayed: bool,
}

impl StripeCall {
    /// The first value of a form parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// An answer kept under an idempotency key, with what it answered.
#[derive(Debug, Clone)]
struct Stored {
    fingerprint: String,
    status: u16,
    body: Value,
}

#[derive(Debug, Default)]
struct Shared {
    secret_key: String,
    base_url: String,
    next_id: AtomicU64,
    calls: Mutex<Vec<StripeCall>>,
    customers: Mutex<HashMap<String, Value>>,
    sessions: Mutex<HashMap<String, Value>>,
    idempotency: Mutex<HashMap<String, Stored>>,
    /// Statuses to answer the next API calls with, in order.
    failures: Mutex<VecDeque<u16>>,
    delay: Mutex<Duration>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeStripe {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn stripe_error(status: u16, error: Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, Json(json!({ "error": error }))).into_response()
}

fn invalid_request(message: String, param: Option<&str>, code: Option<&str>) -> (u16, Value) {
    let mut e = json!({ "message": message, "type": "invalid_request_error" });
    if let Some(param) = param {
        e["param"] = json!(param);
    }
    if let Some(code) = code {
        e["code"] = json!(code);
        e["doc_url"] = json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")));
    }
    (400, json!({ "error": e }))
}

fn missing(param: &str) -> (u16, Value) {
    invalid_request(format!("Missing required param: {param}."), Some(param), Some("parameter_missing"))
}

fn no_such_customer(id: &str) -> (u16, Value) {
    invalid_request(format!("No such customer: '{id}'"), Some("customer"), Some("resource_missing"))
}

/// Stripe shows only the key's prefix and last four characters.
fn masked(key: &str) -> String {
    let prefix_len = key.match_indices('_').nth(1).map_or(0, |(i, _)| i + 1);
    let chars: Vec<char> = key[prefix_len..].chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(key.chars().count());
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{}{}{tail}", &key[..prefix_len], "*".repeat(chars.len() - 4))
}

fn presented_key(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    if let Some(token) = auth.strip_prefix("Bearer ") {
        return Some(token.trim().to_string());
    }
    // `curl -u sk_test_…:` sends the key as the Basic user name.
    let basic = auth.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next().unwrap_or_default().to_string())
}

fn auth_error(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let message = match presented_key(headers) {
        None => "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.".to_string(),
        Some(key) if key == shared.secret_key => return None,
        Some(key) => format!("Invalid API Key provided: {}", masked(&key)),
    };
    Some(stripe_error(401, json!({ "message": message, "type": "invalid_request_error" })))
}

/// Stripe's nested form keys (`metadata[user_id]`) as a JSON object.
fn nested(params: &[(String, String)], prefix: &str) -> Value {
    let mut out = Map::new();
    for (k, v) in params {
        if let Some(inner) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('[')).and_then(|r| r.strip_suffix(']'))
        {
            if !inner.contains('[') {
                out.insert(inner.to_string(), json!(v));
            }
        }
    }
    Value::Object(out)
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

impl Shared {
    fn id(&self, prefix: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}Fake{n:010}")
    }

    fn create_customer(&self, params: &[(String, String)]) -> (u16, Value) {
        let id = self.id("cus_");
        let customer = json!({
            "id": id,
            "object": "customer",
            "address": null,
            "balance": 0,
            "created": unix_now(),
            "currency": null,
            "default_source": null,
            "delinquent": false,
            "description": param(params, "description"),
            "email": param(params, "email"),
            "invoice_prefix": format!("FAKE{:04}", self.next_id.load(Ordering::Relaxed) % 10_000),
            "invoice_settings": { "custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null },
            "livemode": false,
            "metadata": nested(params, "metadata"),
            "name": param(params, "name"),
            "phone": null,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
            "test_clock": null,
        });
        lock(&self.customers).insert(id, customer.clone());
        (200, customer)
    }

    fn known_customer(&self, id: &str) -> bool {
        lock(&self.customers).contains_key(id)
    }

    fn create_checkout_session(&self, params: &[(String, String)]) -> (u16, Value) {
        let Some(mode) = param(params, "mode") else { return missing("mode") };
        if !["payment", "setup", "subscription"].contains(&mode) {
            return invalid_request(
                format!("Invalid mode: must be one of payment, setup, or subscription (got {mode})"),
                Some("mode"),
                None,
            );
        }
        let price = param(params, "line_items[0][price]");
        if mode != "setup" && price.is_none() {
            return missing("line_items");
        }
        let customer = param(params, "customer");
        let customer_email = param(params, "customer_email");
        if customer.is_some() && customer_email.is_some() {
            return invalid_request(
                "You may only specify one of these parameters: customer, customer_email.".into(),
                Some("customer"),
                None,
            );
        }
        if let Some(c) = customer.filter(|c| !self.known_customer(c)) {
            return no_such_customer(c);
        }
        let id = format!("cs_test_{}", self.id("a1"));
        let created = unix_now();
        let session = json!({
            "id": id,
            "object": "checkout.session",
            "allow_promotion_codes": null,
            "amount_subtotal": null,
            "amount_total": null,
            "cancel_url": param(params, "cancel_url"),
            "client_reference_id": param(params, "client_reference_id"),
            "created": created,
            "currency": null,
            "customer": customer,
            "customer_email": customer_email,
            "expires_at": created + 24 * 60 * 60,
            "livemode": false,
            "locale": param(params, "locale"),
            "metadata": nested(params, "metadata"),
            "mode": mode,
            "payment_status": "unpaid",
            "status": "open",
            "subscription": null,
            "success_url": param(params, "success_url"),
            "ui_mode": "hosted",
            "url": format!("{}/c/pay/{id}", self.base_url),
            // Not in Stripe's response; kept so tests can complete the session.
            "_line_items_price": price,
            "_subscription_metadata": nested(params, "subscription_data[metadata]"),
        });
        lock(&self.sessions).insert(id, session.clone());
        let mut public = session;
        if let Some(o) = public.as_object_mut() {
            o.retain(|k, _| !k.starts_with('_'));
        }
        (200, public)
    }

    fn create_portal_session(&self, params: &[(String, String)]) -> (u16, Value) {
        let Some(customer) = param(params, "customer") else { return missing("customer") };
        if !self.known_customer(customer) {
            return no_such_customer(customer);
        }
        let id = self.id("bps_");
        (
            200,
            json!({
                "id": id,
                "object": "billing_portal.session",
                "configuration": "bpc_FakeDefaultConfig",
                "created": unix_now(),
                "customer": customer,
                "flow": null,
                "livemode": false,
                "locale": param(params, "locale"),
                "on_behalf_of": null,
                "return_url": param(params, "return_url"),
                "url": format!("{}/p/session/{id}", self.base_url),
            }),
        )
    }
}

fn scripted_failure(status: u16) -> (u16, Value) {
    let error = match status {
        429 => json!({
            "code": "rate_limit",
            "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
            "message": "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            "type": "invalid_request_error",
        }),
        409 => json!({
            "message": "There is currently another in-progress request using this Stripe API key and Idempotency Key. Please try again later.",
            "type": "idempotency_error",
        }),
        _ => json!({
            "message": "An unknown error occurred",
            "type": "api_error",
        }),
    };
    (status, json!({ "error": error }))
}

fn fingerprint(path: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    format!("{path}?{sorted:?}")
}

async fn api(State(s): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let idempotency_key = header("idempotency-key");
    let stripe_version = header("stripe-version");
    let delay = *lock(&s.delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let call = |status: u16, params: Vec<(String, String)>, replayed: bool| StripeCall {
        method: method.to_string(),
        path: path.clone(),
        params,
        idempotency_key: idempotency_key.clone(),
        stripe_version: stripe_version.clone(),
        status,
        replayed,
    };
    if let Some(resp) = auth_error(&s, &headers) {
        s.record(call(resp.status().as_u16(), params, false));
        return resp;
    }
    // Taken out first: a guard in an `if let` condition would live through every branch.
    let scripted = lock(&s.failures).pop_front();
    let stored = idempotency_key.as_ref().and_then(|k| lock(&s.idempotency).get(k).cloned());
    let mut replayed = false;
    let (status, body) = if let Some(status) = scripted {
        scripted_failure(status)
    } else if let Some(stored) = stored {
        if stored.fingerprint == fingerprint(&path, &params) {
            replayed = true;
            (stored.status, stored.body)
        } else {
            let key = idempotency_key.as_deref().unwrap_or_default();
            let message = format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request.");
            (400, json!({ "error": { "message": message, "type": "idempotency_error" } }))
        }
    } else {
        let (status, body) = match (method.as_str(), path.as_str()) {
            ("POST", "/v1/customers") => s.create_customer(&params),
            ("POST", "/v1/checkout/sessions") => s.create_checkout_session(&params),
            ("POST", "/v1/billing_portal/sessions") => s.create_portal_session(&params),
            _ => (
                404,
                json!({ "error": {
                    "message": format!("Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."),
                    "type": "invalid_request_error",
                }}),
            ),
        };
        // Like Stripe, keep only answers that executed: failed validation is not stored.
        if let (Some(key), 200) = (&idempotency_key, status) {
            let stored = Stored { fingerprint: fingerprint(&path, &params), status, body: body.clone() };
            lock(&s.idempotency).insert(key.clone(), stored);
        }
        (status, body)
    };
    s.record(call(status, params, replayed));
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (code, Json(body)).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&s.id("req_")) {
        h.insert("request-id", v);
    }
    if let Some(v) = stripe_version.and_then(|v| HeaderValue::from_str(&v).ok()) {
        h.insert("stripe-version", v);
    }
    if replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

impl Shared {
    fn record(&self, call: StripeCall) {
        lock(&self.calls).push(call);
    }
}

fn call_json(c: &StripeCall) -> Value {
    json!({
        "method": c.method,
        "path": c.path,
        "params": c.params.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "idempotency_key": c.idempotency_key,
        "stripe_version": c.stripe_version,
        "status": c.status,
        "replayed": c.replayed,
    })
}

/// For processes: every call so far.
async fn calls(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(Value::Array(lock(&s.calls).iter().map(call_json).collect()))
}

/// For processes: `{"statuses":[500,429]}` fails the next calls with these.
async fn fail(State(s): State<Arc<Shared>>, Json(body): Json<Value>) -> StatusCode {
    let statuses = body["statuses"].as_array().cloned().unwrap_or_default();
    lock(&s.failures).extend(statuses.iter().filter_map(Value::as_u64).filter_map(|n| u16::try_from(n).ok()));
    StatusCode::NO_CONTENT
}

/// For processes: `{"url","event","secret","timestamp"?}` signs and sends a webhook.
async fn deliver(Json(body): Json<Value>) -> Response {
    let (Some(url), Some(secret)) = (body["url"].as_str(), body["secret"].as_str()) else {
        return (StatusCode::BAD_REQUEST, "url and secret are required").into_response();
    };
    let timestamp = body["timestamp"].as_i64().unwrap_or_else(unix_now);
    match deliver_at(url, &body["event"], secret, timestamp).await {
        Ok(d) => Json(json!({ "status": d.status, "body": d.body })).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e).into_response(),
    }
}

impl FakeStripe {
    /// The secret key [`FakeStripe::start`] accepts.
    pub const SECRET_KEY: &'static str = "sk_test_FakeStripeSecretKey0000";

    /// Start on 127.0.0.1 accepting [`Self::SECRET_KEY`].
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0", Self::SECRET_KEY).await
    }

    pub async fn start_with_key(secret_key: &str) -> Self {
        Self::start_on("127.0.0.1:0", secret_key).await
    }

    pub async fn start_on(addr: &str, secret_key: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind fake Stripe");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            secret_key: secret_key.to_string(),
            base_url: format!("http://{addr}"),
            ..Shared::default()
        });
        let app = Router::new()
            .route("/__calls", get(calls))
            .route("/__fail", post(fail))
            .route("/__deliver", post(deliver))
            .fallback(api)
            .with_state(shared.clone());
        #[expect(clippy::disallowed_methods, reason = "the fake is owned by the test, not by an app")]
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeStripe { addr, shared, task }
    }

    /// The value for `STRIPE_API_BASE`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn secret_key(&self) -> &str {
        &self.shared.secret_key
    }

    pub fn calls(&self) -> Vec<StripeCall> {
        lock(&self.shared.calls).clone()
    }

    /// Calls to one path (e.g. `/v1/checkout/sessions`).
    pub fn calls_to(&self, path: &str) -> Vec<StripeCall> {
        self.calls().into_iter().filter(|c| c.path == path).collect()
    }

    /// Answer the next API calls with these statuses (429, 500, 503, 409), then normally.
    pub fn fail_next(&self, statuses: &[u16]) {
        lock(&self.shared.failures).extend(statuses);
    }

    /// Hold every API answer this long (zero to stop), to test client timeouts.
    pub fn set_delay(&self, delay: Duration) {
        *lock(&self.shared.delay) = delay;
    }

    /// Make a customer exist, as if created earlier (for portal and checkout tests).
    pub fn insert_customer(&self, id: &str, email: &str) {
        let customer = json!({ "id": id, "object": "customer", "email": email, "livemode": false, "metadata": {} });
        lock(&self.shared.customers).insert(id.to_string(), customer);
    }

    /// A customer as stored (created through the API or inserted).
    pub fn customer(&self, id: &str) -> Option<Value> {
        lock(&self.shared.customers).get(id).cloned()
    }

    /// A Checkout session as created, `None` if unknown.
    pub fn checkout_session(&self, id: &str) -> Option<Value> {
        let mut s = lock(&self.shared.sessions).get(id).cloned()?;
        if let Some(o) = s.as_object_mut() {
            o.retain(|k, _| !k.starts_with('_'));
        }
        Some(s)
    }

    /// The fixture of a session the customer paid for: its user, customer (a new
    /// one when the session had only an email), price and fresh subscription and
    /// invoice ids. Build the events to deliver from it.
    pub fn complete_checkout(&self, session_id: &str) -> Option<EventFixture> {
        let session = lock(&self.shared.sessions).get(session_id).cloned()?;
        let str_of = |k: &str| session[k].as_str().map(str::to_string);
        let customer = match str_of("customer") {
            Some(c) => c,
            None => {
                let email = str_of("customer_email").unwrap_or_default();
                let params = [("email".to_string(), email)];
                let (_, c) = self.shared.create_customer(&params);
                c["id"].as_str().unwrap_or_default().to_string()
            }
        };
        let user_id = str_of("client_reference_id")
            .or_else(|| session["_subscription_metadata"]["user_id"].as_str().map(str::to_string))
            .unwrap_or_default();
        let subscription = self.shared.id("sub_");
        if let Some(stored) = lock(&self.shared.sessions).get_mut(session_id) {
            stored["status"] = json!("complete");
            stored["payment_status"] = json!("paid");
            stored["customer"] = json!(customer);
            stored["subscription"] = json!(subscription);
        }
        Some(EventFixture {
            user_id,
            customer,
            subscription,
            price_id: str_of("_line_items_price").unwrap_or_default(),
            checkout_session: session_id.to_string(),
            invoice: self.shared.id("in_"),
            ..EventFixture::default()
        })
    }

    /// Sign `event` now with `secret` and POST it to `url`, as Stripe delivers webhooks.
    pub async fn deliver(&self, url: &str, event: &Value, secret: &str) -> Result<WebhookDelivery, String> {
        deliver_at(url, event, secret, unix_now()).await
    }

    /// As [`Self::deliver`], signed at another time (stale or future, for replay tests).
    pub async fn deliver_at(
        &self,
        url: &str,
        event: &Value,
        secret: &str,
        timestamp: i64,
    ) -> Result<WebhookDelivery, String> {
        deliver_at(url, event, secret, timestamp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked_like_stripe() {
        assert_eq!(masked("sk_test_abcdefgh1234"), "sk_test_********1234");
        assert_eq!(masked("abc"), "***");
        assert_eq!(masked("wrongkey12345"), "*********2345");
    }

    #[test]
    fn nested_params() {
        let p = vec![
            ("metadata[user_id]".to_string(), "u1".to_string()),
            ("subscription_data[metadata][user_id]".to_string(), "u2".to_string()),
        ];
        assert_eq!(nested(&p, "metadata"), json!({ "user_id": "u1" }));
        assert_eq!(nested(&p, "subscription_data[metadata]"), json!({ "user_id": "u2" }));
    }
}
