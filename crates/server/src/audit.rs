//! The audit log: who did what to what, from where, for security-relevant actions
//! (logins and failures, tokens and keys, role changes, knowledge-base edits,
//! exports, erasures, settings). Append-only and hash-chained
//! (`tenmon_privacy::audit`): `tenmon-ark audit verify` finds an edited, removed
//! or reordered record. Never message text or secrets: callers pass ids.
//!
//! The request's address, user agent and id come from a task-local set by a
//! middleware, so a handler records an action with one call.

use crate::app::AppState;
use axum::extract::Request;
use tenmon_privacy::audit::{self as chain, AuditDraft};
use tenmon_store::{AuditRow, StoreError};

/// Where the current request came from.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// The request's metadata as it arrived: turned into text only when an action is
/// recorded (most requests record none).
#[derive(Debug, Clone)]
pub struct Scope {
    ip: Option<std::net::IpAddr>,
    user_agent: Option<axum::http::HeaderValue>,
    request_id: Option<axum::http::HeaderValue>,
}

tokio::task_local! {
    static META: Scope;
}

impl Scope {
    /// The metadata of `req` (its client address as the rate limiter saw it).
    pub fn of(req: &Request) -> Self {
        let ctx = crate::middleware::context::RequestContext::of(req);
        Scope {
            ip: ctx.map(|c| c.ip),
            user_agent: req.headers().get(axum::http::header::USER_AGENT).cloned(),
            request_id: ctx.map(|c| c.id.clone()),
        }
    }

    /// Run `fut` with this metadata available to [`record`].
    pub async fn run<F: std::future::Future>(self, fut: F) -> F::Output {
        META.scope(self, fut).await
    }

    fn meta(&self) -> RequestMeta {
        RequestMeta {
            ip: self.ip.map(|ip| ip.to_string()),
            user_agent: self.user_agent.as_ref().and_then(|v| v.to_str().ok()).map(|s| s.chars().take(300).collect()),
            request_id: self.request_id.as_ref().and_then(|v| v.to_str().ok()).map(str::to_string),
        }
    }
}

fn current_meta() -> RequestMeta {
    META.try_with(Scope::meta).unwrap_or_default()
}

fn to_row(r: chain::AuditRecord) -> AuditRow {
    AuditRow {
        seq: r.seq,
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        ip: r.ip,
        user_agent: r.user_agent,
        request_id: r.request_id,
        details: r.details,
        prev_hash: r.prev_hash,
        hash: r.hash,
    }
}

pub fn from_row(r: AuditRow) -> chain::AuditRecord {
    chain::AuditRecord {
        seq: r.seq,
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        ip: r.ip,
        user_agent: r.user_agent,
        request_id: r.request_id,
        details: r.details,
        prev_hash: r.prev_hash,
        hash: r.hash,
    }
}

/// How a failed login names the email it tried: a SHA-256 prefix, so repeated
/// attempts on one account can be correlated without storing the address.
pub fn email_ref(email: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(email.trim().to_lowercase().as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("email-sha256:{hex}")
}

/// Append a record (when `ENABLE_AUDIT_LOGS` is on). A failure to audit is logged
/// loudly but does not undo the action.
pub async fn record(
    state: &AppState,
    actor: Option<&str>,
    action: &str,
    target: Option<&str>,
    details: serde_json::Value,
) {
    if !state.config.privacy.audit {
        return;
    }
    if let Err(e) = append(state, actor, action, target, details, current_meta()).await {
        tracing::error!(error = %e, action, "could not write the audit record");
    }
}

pub async fn append(
    state: &AppState,
    actor: Option<&str>,
    action: &str,
    target: Option<&str>,
    details: serde_json::Value,
    meta: RequestMeta,
) -> Result<AuditRow, StoreError> {
    let draft = AuditDraft {
        actor: actor.map(str::to_string),
        action: action.to_string(),
        target: target.map(str::to_string),
        ip: meta.ip,
        user_agent: meta.user_agent,
        request_id: meta.request_id,
        details,
    };
    let at = crate::routes::session::rfc3339(tenmon_chat::now_ms());
    state
        .store
        .audit_append(Box::new(move |seq, prev| {
            let prev = if prev.is_empty() { chain::genesis_hash() } else { prev.to_string() };
            to_row(chain::seal(draft, seq, at, &prev))
        }))
        .await
}

/// Check the whole chain. Returns the number of records and the head hash.
/// Removing the newest records leaves a valid shorter chain: `expect_head` (the
/// head noted earlier, e.g. by monitoring) catches that.
pub async fn verify(store: &dyn tenmon_store::Store, expect_head: Option<&str>) -> Result<(u64, String), String> {
    let mut after = 0;
    let mut all = Vec::new();
    loop {
        let page = store.audit_range(after, 5000).await.map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        all.extend(page.into_iter().map(from_row));
    }
    let n = chain::verify(all.iter()).map_err(|e| e.to_string())?;
    let head = all.last().map(|r| r.hash.clone()).unwrap_or_else(chain::genesis_hash);
    if let Some(expected) = expect_head {
        if !all.iter().any(|r| r.hash == expected) {
            return Err(format!("the expected head {expected} is not in the log (records were removed)"));
        }
    }
    Ok((n, head))
}
