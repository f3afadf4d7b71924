//! Account rows.

use serde::{Deserialize, Serialize};

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// `admin`, `operator` or `user`.
    pub role: String,
    pub locale: String,
    /// argon2id PHC string; `None` for accounts that only sign in with OIDC.
    pub password_hash: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Set while an admin has disabled the account.
    #[serde(default)]
    pub disabled_at_ms: Option<i64>,
}

/// A refresh token (stored hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRow {
    pub id: String,
    pub user_id: String,
    /// The login this token belongs to.
    pub family_id: String,
    pub token_hash: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// A user's API key (stored hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    pub key_hash: String,
    /// `chat`, `kb:write`.
    pub scopes: Vec<String>,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// An invitation to sign up (the token is stored hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub id: String,
    pub token_hash: String,
    /// Only this email may use it (compared case-insensitively); `None`: anyone.
    pub email: Option<String>,
    pub role: String,
    pub created_by: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
    pub used_by: Option<String>,
    pub revoked_at_ms: Option<i64>,
}
