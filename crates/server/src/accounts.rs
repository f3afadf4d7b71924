//! Accounts: sign-up, login, token refresh with rotation and reuse detection, logout,
//! password change. Domain logic only: no HTTP types.
//!
//! A login is a *family*: its refresh tokens rotate on every refresh, a reused
//! refresh token revokes the family, and access tokens (short-lived JWTs) name the
//! family in `sid`. Every request checks that the family is live and reads the
//! user's current role, so logout, password change and demotion take effect at once
//! rather than when an access token expires.

use crate::auth::{hash_token, new_token};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tenmon_store::{EventPayload, NewEvent, RefreshRow, SessionRow, Store, StoreError, UserRow};

/// Who may sign up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupMode {
    Open,
    /// Reserved for invitations (not built yet): behaves as closed.
    InviteOnly,
    Closed,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("an account with this email exists")]
    EmailTaken,
    #[error("sign-up is closed")]
    SignupClosed,
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("the token is invalid or expired")]
    InvalidToken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed")]
    Hashing,
}

/// Access-token claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// The login (refresh-token family).
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    /// Always `access`, so a token of another kind signed with the same key is refused.
    pub typ: String,
}

/// What a login or refresh hands out.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    /// For the HttpOnly cookie of the web UI.
    pub cookie_token: String,
    pub family_id: String,
}

/// Settings of the account system.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    pub jwt_secret: SecretString,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub signup: SignupMode,
}

#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    settings: AccountSettings,
}

fn now_ms() -> i64 {
    tenmon_chat::now_ms()
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A plausible email: one @, a dot in the domain (not at its ends), no whitespace or
/// control characters, at most 320 characters. The API schema's pattern says the same.
pub fn validate_email(email: &str) -> Result<String, AccountError> {
    let ok = email.chars().count() <= 320
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(email.to_string())
    } else {
        Err(AccountError::Invalid { field: "email", message: "must be an email address".into() })
    }
}

/// 10 to 256 characters: length is what makes a password strong (NIST SP 800-63B);
/// composition rules are not.
pub fn validate_password(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if !(10..=256).contains(&n) {
        return Err(AccountError::Invalid { field: "password", message: "must be 10 to 256 characters".into() });
    }
    Ok(())
}

/// argon2id with the crate's defaults (19 MiB, 2 passes), on the blocking pool.
pub async fn hash_password(password: &str) -> Result<String, AccountError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| AccountError::Hashing)
    })
    .await
    .map_err(|_| AccountError::Hashing)?
}

/// Check a password against a PHC string, on the blocking pool.
pub async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a password nobody has, verified when the email is unknown so that both
/// cases take the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9Rr3lBBBzc8xPkjBmYB1C4N8pP+6CWh3mMZpDb0sDdU";

impl Accounts {
    pub fn new(store: Arc<dyn Store>, settings: AccountSettings) -> Self {
        Self { store, settings }
    }

    pub fn settings(&self) -> &AccountSettings {
        &self.settings
    }

    /// Create an account.
    pub async fn signup(
        &self,
        email: &str,
        password: &str,
        display_name: &str,
        role: &str,
    ) -> Result<UserRow, AccountError> {
        let email = validate_email(email)?;
        validate_password(password)?;
        let display_name = display_name.trim();
        if display_name.chars().count() > 100 || display_name.chars().any(char::is_control) {
            return Err(AccountError::Invalid {
                field: "display_name",
                message: "must be at most 100 characters".into(),
            });
        }
        let now = now_ms();
        let user = UserRow {
            id: new_id(),
            display_name: if display_name.is_empty() {
                email.split('@').next().unwrap_or("").to_string()
            } else {
                display_name.to_string()
            },
            email,
            role: role.into(),
            locale: "ja".into(),
            password_hash: Some(hash_password(password).await?),
            created_at_ms: now,
            updated_at_ms: now,
            disabled_at_ms: None,
        };
        match self.store.create_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Duplicate(_)) => Err(AccountError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Check the credentials and start a login.
    pub async fn login(&self, email: &str, password: &str) -> Result<(UserRow, Tokens), AccountError> {
        let user = self.store.user_by_email(email.trim()).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let ok = verify_password(password, hash.as_deref().unwrap_or(DUMMY_HASH)).await;
        match (user, ok && hash.is_some()) {
            // A disabled account gets the same answer as a wrong password.
            (Some(user), true) if user.disabled_at_ms.is_none() => {
                let tokens = self.start_login(&user).await?;
                Ok((user, tokens))
            }
            _ => Err(AccountError::InvalidCredentials),
        }
    }

    /// An account that signs in only through an identity provider (no password).
    pub async fn create_external(&self, email: &str, display_name: &str) -> Result<UserRow, AccountError> {
        let email = validate_email(email)?;
        let now = now_ms();
        let name: String = display_name.trim().chars().filter(|c| !c.is_control()).take(100).collect();
        let user = UserRow {
            id: new_id(),
            display_name: if name.is_empty() { email.split('@').next().unwrap_or("").to_string() } else { name },
            email,
            role: "user".into(),
            locale: "ja".into(),
            password_hash: None,
            created_at_ms: now,
            updated_at_ms: now,
            disabled_at_ms: None,
        };
        match self.store.create_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Duplicate(_)) => Err(AccountError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Log a user in whose identity was proven elsewhere (OpenID Connect).
    pub async fn login_verified(&self, user: &UserRow) -> Result<Tokens, AccountError> {
        self.start_login(user).await
    }

    async fn start_login(&self, user: &UserRow) -> Result<Tokens, AccountError> {
        let family_id = new_id();
        let cookie_token = new_token();
        let now = now_ms();
        self.store
            .create_session(&SessionRow {
                id: family_id.clone(),
                token_hash: hash_token(&cookie_token),
                subject_id: user.id.clone(),
                kind: "user".into(),
                created_at_ms: now,
                expires_at_ms: now + self.settings.refresh_ttl.as_millis() as i64,
            })
            .await?;
        self.issue(user, &family_id, cookie_token).await
    }

    async fn issue(&self, user: &UserRow, family_id: &str, cookie_token: String) -> Result<Tokens, AccountError> {
        let now = now_ms();
        let refresh_token = format!("tkr_{}", new_token().trim_start_matches("tks_"));
        self.store
            .insert_refresh(&RefreshRow {
                id: new_id(),
                user_id: user.id.clone(),
                family_id: family_id.to_string(),
                token_hash: hash_token(&refresh_token),
                created_at_ms: now,
                expires_at_ms: now + self.settings.refresh_ttl.as_millis() as i64,
                used_at_ms: None,
                revoked_at_ms: None,
            })
            .await?;
        let claims = Claims {
            sub: user.id.clone(),
            sid: family_id.to_string(),
            iat: now / 1000,
            exp: now / 1000 + self.settings.access_ttl.as_secs() as i64,
            typ: "access".into(),
        };
        let access_token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.settings.jwt_secret.expose_secret().as_bytes()),
        )
        .map_err(|_| AccountError::Hashing)?;
        Ok(Tokens {
            access_token,
            refresh_token,
            expires_in: self.settings.access_ttl.as_secs(),
            cookie_token,
            family_id: family_id.to_string(),
        })
    }

    /// Rotate a refresh token. A token used twice revokes its whole login.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, AccountError> {
        let row = self.store.refresh_by_hash(&hash_token(refresh_token)).await?.ok_or(AccountError::InvalidToken)?;
        let now = now_ms();
        if row.revoked_at_ms.is_some() || row.expires_at_ms <= now {
            return Err(AccountError::InvalidToken);
        }
        if !self.store.use_refresh(&row.id, now).await? {
            tracing::warn!(family = %row.family_id, "refresh token reused; revoking the login");
            self.store.revoke_family(&row.family_id, now).await?;
            return Err(AccountError::InvalidToken);
        }
        let user = self
            .store
            .user_for_login(&row.user_id, &row.family_id)
            .await?
            .filter(|u| u.disabled_at_ms.is_none())
            .ok_or(AccountError::InvalidToken)?;
        // The cookie session keeps its token; API clients get a new pair.
        self.issue(&user, &row.family_id, String::new()).await
    }

    /// Verify an access token's signature, algorithm, type and expiry.
    pub fn verify_access(&self, token: &str) -> Result<Claims, AccountError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(self.settings.jwt_secret.expose_secret().as_bytes()),
            &v,
        )
        .map_err(|_| AccountError::InvalidToken)?;
        if data.claims.typ != "access" {
            return Err(AccountError::InvalidToken);
        }
        Ok(data.claims)
    }

    /// The user behind a live login.
    pub async fn user_for_login(&self, user_id: &str, family_id: &str) -> Result<Option<UserRow>, AccountError> {
        Ok(self.store.user_for_login(user_id, family_id).await?)
    }

    /// End one login.
    pub async fn logout(&self, family_id: &str) -> Result<(), AccountError> {
        Ok(self.store.revoke_family(family_id, now_ms()).await?)
    }

    /// Change a password; every login of the user ends.
    pub async fn change_password(&self, user: &UserRow, current: &str, new: &str) -> Result<(), AccountError> {
        let hash = user.password_hash.as_deref().unwrap_or(DUMMY_HASH);
        if !verify_password(current, hash).await || user.password_hash.is_none() {
            return Err(AccountError::InvalidCredentials);
        }
        validate_password(new)?;
        let now = now_ms();
        self.store.set_user_password(&user.id, &hash_password(new).await?, now).await?;
        self.store.revoke_user(&user.id, now).await?;
        Ok(())
    }

    /// Change a role; the user's logins end, so no session keeps the old rights.
    pub async fn set_role(&self, user_id: &str, role: &str) -> Result<bool, AccountError> {
        let now = now_ms();
        let changed = self.store.set_user_role(user_id, role, now).await?;
        if changed {
            self.store.revoke_user(user_id, now).await?;
        }
        Ok(changed)
    }

    /// Move a guest's conversations to the account (an event per conversation, so a
    /// replay keeps the new owner).
    pub async fn adopt_guest(&self, guest_subject: &str, user_id: &str) -> Result<usize, AccountError> {
        let mut moved = 0;
        loop {
            let page = self.store.list_conversations(guest_subject, None, 100).await?;
            if page.is_empty() {
                break;
            }
            for c in page {
                let next = self.store.next_seq(&c.id).await?;
                let event = NewEvent {
                    payload: EventPayload::ConversationOwnerChanged { owner_id: user_id.into() },
                    at_ms: now_ms(),
                };
                match self.store.append(&c.id, next, &[event]).await {
                    Ok(_) => moved += 1,
                    Err(StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(moved)
    }

    /// Create the first admin from `ADMIN_EMAIL`/`ADMIN_PASSWORD` when there are no users.
    pub async fn bootstrap_admin(&self, email: &str, password: &SecretString) -> Result<bool, AccountError> {
        if self.store.count_users().await? > 0 {
            return Ok(false);
        }
        self.signup(email, password.expose_secret(), "admin", "admin").await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h).await);
        assert!(!verify_password("correct horse batterx", &h).await);
        assert!(!verify_password("anything", DUMMY_HASH).await);
        assert!(PasswordHash::new(DUMMY_HASH).is_ok(), "the dummy hash parses, so unknown emails cost a real verify");
    }

    #[test]
    fn email_and_password_rules() {
        assert!(validate_email("a@example.jp").is_ok());
        for bad in ["", "a", "a@b", "a @b.jp", "@b.jp", "a@.jp", "a@b.jp."] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_password("short").is_err());
        assert!(validate_email(" a@example.jp").is_err(), "no trimming: what the schema says");
        assert!(validate_password("a fine passphrase").is_ok());
    }
}
