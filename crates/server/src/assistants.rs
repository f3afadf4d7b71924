//! Assistants defined by admins, kept in the database: they add to (or override by
//! id) the built-in ones and those of the config file. Every replica reloads them
//! when one changes them (a notice through Redis).

use crate::app::AppState;
use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use tenmon_store::AssistantRow;
use utoipa::ToSchema;

/// An assistant as admins define it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistantDef {
    /// 1 to 64 of a-z, 0-9 and `-` (taken from the path when omitted).
    #[serde(default)]
    pub id: String,
    #[schema(max_length = 100)]
    pub name_ja: String,
    #[schema(max_length = 100)]
    pub name_en: String,
    /// The instructions the model gets first.
    #[schema(min_length = 1, max_length = 20000)]
    pub system_prompt: String,
    /// A model other than the upstream's default.
    pub model: Option<String>,
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f32>,
    /// Knowledge bases it retrieves from (they must exist).
    #[serde(default)]
    pub knowledge_bases: Vec<String>,
    /// With nothing relevant in its knowledge bases, say so and offer a handoff.
    #[serde(default)]
    pub knowledge_only: bool,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub greeting_ja: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub greeting_en: String,
}

impl AssistantDef {
    pub fn to_assistant(&self) -> tenmon_chat::Assistant {
        tenmon_chat::Assistant {
            id: self.id.clone(),
            name_ja: self.name_ja.clone(),
            name_en: self.name_en.clone(),
            system_prompt: self.system_prompt.clone(),
            model: self.model.clone(),
            temperature: self.temperature,
            knowledge_bases: self.knowledge_bases.clone(),
            knowledge_only: self.knowledge_only,
            greeting_ja: self.greeting_ja.clone(),
            greeting_en: self.greeting_en.clone(),
        }
    }

    /// Every rule, checked before anything is stored.
    pub async fn validate(&self, state: &AppState) -> Result<(), ApiError> {
        let bad = |field: &str, msg: &str| Err(ApiError::validation(field, format!("{field}: {msg}")));
        if self.id.is_empty()
            || self.id.len() > 64
            || !self.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return bad("id", "must be 1 to 64 of a-z, 0-9 and -");
        }
        let chars = |s: &str| s.chars().count();
        if self.name_ja.trim().is_empty() || chars(&self.name_ja) > 100 {
            return bad("name_ja", "must be 1 to 100 characters");
        }
        if self.name_en.trim().is_empty() || chars(&self.name_en) > 100 {
            return bad("name_en", "must be 1 to 100 characters");
        }
        if self.system_prompt.trim().is_empty() || chars(&self.system_prompt) > 20_000 {
            return bad("system_prompt", "must be 1 to 20000 characters");
        }
        if let Some(m) = &self.model {
            if m.is_empty() || m.len() > 128 || m.chars().any(char::is_control) {
                return bad("model", "must be 1 to 128 printable characters");
            }
        }
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) || t.is_nan() {
                return bad("temperature", "must be from 0 to 2");
            }
        }
        if chars(&self.greeting_ja) > 1000 || chars(&self.greeting_en) > 1000 {
            return bad("greeting_ja", "greetings must be at most 1000 characters");
        }
        if self.knowledge_only && self.knowledge_bases.is_empty() {
            return bad("knowledge_only", "needs at least one knowledge base");
        }
        let bases = state.kb.bases().await?;
        if let Some(missing) = self.knowledge_bases.iter().find(|k| !bases.iter().any(|b| &b.id == *k)) {
            return Err(ApiError::validation(
                "knowledge_bases",
                format!("knowledge_bases: no knowledge base {missing:?}"),
            ));
        }
        Ok(())
    }
}

/// Read the admins' assistants from the database into the chat service.
pub async fn reload(state: &AppState) -> Result<usize, tenmon_store::StoreError> {
    let rows = state.store.assistants().await?;
    let list: Vec<tenmon_chat::Assistant> = rows
        .iter()
        .filter_map(|r| match serde_json::from_str::<AssistantDef>(&r.definition) {
            Ok(d) => Some(d.to_assistant()),
            Err(e) => {
                tracing::error!(id = %r.id, error = %e, "a stored assistant cannot be read; skipped");
                None
            }
        })
        .collect();
    let n = list.len();
    state.chat.set_custom_assistants(list);
    Ok(n)
}

/// Store (insert or replace) an assistant, use it here at once and tell the others.
pub async fn put(state: &AppState, def: &AssistantDef) -> Result<bool, ApiError> {
    def.validate(state).await?;
    let now = tenmon_chat::now_ms();
    let existing = state.store.assistants().await?.into_iter().find(|r| r.id == def.id);
    let row = AssistantRow {
        id: def.id.clone(),
        definition: serde_json::to_string(def).map_err(|e| ApiError::Internal(e.to_string()))?,
        created_at_ms: existing.as_ref().map_or(now, |r| r.created_at_ms),
        updated_at_ms: now,
    };
    state.store.put_assistant(&row).await?;
    changed(state).await?;
    Ok(existing.is_none())
}

/// Delete an admins' assistant (a built-in or config one it overrode comes back).
pub async fn delete(state: &AppState, id: &str) -> Result<(), ApiError> {
    if !state.store.delete_assistant(id).await? {
        return Err(ApiError::NotFound(format!("no assistant {id:?} defined by an admin")));
    }
    changed(state).await
}

async fn changed(state: &AppState) -> Result<(), ApiError> {
    reload(state).await?;
    if let Some(redis) = &state.redis {
        if let Err(e) = redis.announce("assistants").await {
            tracing::warn!(error = %e, "could not tell the other replicas about an assistant change");
        }
    }
    Ok(())
}

/// Reload when another replica changes the admins' assistants.
pub fn follow(state: &AppState) {
    let Some(redis) = &state.redis else { return };
    let st = state.clone();
    redis.on_notice(&state.tasks, state.shutdown.clone(), "assistants", move || {
        let st = st.clone();
        async move {
            if let Err(e) = reload(&st).await {
                tracing::error!(error = %e, "could not reload the assistants");
            }
        }
    });
}
