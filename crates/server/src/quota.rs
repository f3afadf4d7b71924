//! Daily token quotas: a user (or guest) and an API key each get a number of model
//! tokens per UTC day (`DAILY_TOKEN_QUOTA_USER`, `DAILY_TOKEN_QUOTA_API_KEY`; 0 means
//! unlimited). Turns are refused before they start once the day's tokens are used.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// Who is charged for a caller's tokens: the owner, and the key when one was used.
/// Nobody when no quota is set: counting costs a write per turn on the database.
pub fn subjects(state: &AppState, caller: &Caller) -> Vec<String> {
    if state.config.chat.daily_tokens_user == 0
        && state.config.chat.daily_tokens_api_key == 0
        && state.billing.is_none()
    {
        return Vec::new();
    }
    key_subjects(caller)
}

fn key_subjects(caller: &Caller) -> Vec<String> {
    let mut out = vec![caller.subject_id.clone()];
    if caller.kind == "api_key" && !caller.session_id.is_empty() {
        out.push(format!("key:{}", caller.session_id));
    }
    out
}

fn seconds_to_midnight() -> u64 {
    let now = tenmon_chat::now_ms();
    let next = (now / 86_400_000 + 1) * 86_400_000;
    ((next - now) as u64).div_ceil(1000).max(1)
}

fn seconds_to_next_month() -> u64 {
    let (_, last) = crate::billing::month_of(tenmon_chat::today());
    let next = (last + 1) * 86_400_000;
    ((next - tenmon_chat::now_ms()).max(1000) as u64).div_ceil(1000)
}

/// Refuse when a quota of the caller is used up: the daily quotas, and with billing
/// on, the monthly tokens of the owner's plan.
pub async fn check(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    if let Some(billing) = &state.billing {
        let plan = billing.plan(&caller.subject_id).await?;
        if plan.monthly_tokens > 0 && billing.used_this_month(&caller.subject_id).await? >= plan.monthly_tokens as i64 {
            return Err(ApiError::PlanQuotaExceeded { retry_after_secs: seconds_to_next_month(), plan: plan.id });
        }
    }
    let cfg = &state.config.chat;
    if cfg.daily_tokens_user == 0 && cfg.daily_tokens_api_key == 0 {
        return Ok(());
    }
    let day = tenmon_chat::today();
    let key_subject = key_subjects(caller).into_iter().find(|s| s.starts_with("key:"));
    let checks: Vec<(String, u64)> = match (caller.kind.as_str(), key_subject) {
        ("api_key", Some(key)) => {
            vec![(caller.subject_id.clone(), cfg.daily_tokens_user), (key, cfg.daily_tokens_api_key)]
        }
        ("api_key", None) => vec![(caller.subject_id.clone(), cfg.daily_tokens_api_key)],
        _ => vec![(caller.subject_id.clone(), cfg.daily_tokens_user)],
    };
    for (subject, limit) in checks {
        if limit > 0 && state.store.token_usage(&subject, day).await? >= limit as i64 {
            return Err(ApiError::QuotaExceeded { retry_after_secs: seconds_to_midnight() });
        }
    }
    Ok(())
}
