//! Settings of the features a deployment may leave as they are: file uploads and
//! their storage (a local directory or S3), the /browser reader, and billing.

use super::{http_url, seconds, ConfigError, Source};
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// S3-compatible object storage (`S3_BUCKET` turns it on).
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    /// For MinIO, moto or another S3-compatible server (path-style requests).
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

/// File uploads.
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// Largest accepted upload (`FILE_MAX_BYTES`).
    pub max_bytes: u64,
    /// Bytes one user may store (`FILE_QUOTA_BYTES`; 0 = unlimited).
    pub quota_bytes: u64,
    /// Where files go without S3 (`FILE_STORAGE_DIR`).
    pub dir: PathBuf,
    pub s3: Option<S3Config>,
    /// Extracted text kept per file (`FILE_MAX_TEXT_CHARS`).
    pub max_text_chars: usize,
    /// Time an upload gets (`FILE_UPLOAD_TIMEOUT_SECONDS`, default 300: 20 MiB over a
    /// slow mobile link); never less than `REQUEST_TIMEOUT_SECONDS`.
    pub upload_timeout: Duration,
}

/// The /browser reader.
#[derive(Debug, Clone)]
pub struct BrowserConfig {
    /// Hosts (names, `*.suffix`, CIDRs) that may be private addresses: an intranet
    /// allowlist (`BROWSER_ALLOWED_HOSTS`).
    pub allowed_hosts: Vec<String>,
    pub max_bytes: u64,
    pub timeout: Duration,
    pub max_redirects: usize,
}

/// Redis, shared by the replicas (`REDIS_URL`): rate limits, Socket.IO fan-out,
/// the scheduled jobs' lease.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` (TLS), with `REDIS_PASSWORD` put in when the URL
    /// has none. Secret: it may carry the password.
    pub url: SecretString,
    /// The URL without its password, for logs and `check-config`.
    pub shown: String,
}

/// Stripe billing: on only when `STRIPE_SECRET_KEY` is set.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    pub secret_key: SecretString,
    pub webhook_secret: SecretString,
    /// `STRIPE_API_BASE` (a fake in tests).
    pub api_base: String,
    /// Price ids of the paid plans (`STRIPE_PRICE_PRO`, `STRIPE_PRICE_BUSINESS`).
    pub price_pro: Option<String>,
    pub price_business: Option<String>,
    /// Monthly tokens per plan (`BILLING_FREE_TOKENS`, …).
    pub free_tokens: u64,
    pub pro_tokens: u64,
    pub business_tokens: u64,
    /// Where Checkout and the portal send the user back (`BILLING_RETURN_URL`).
    pub return_url: String,
}

pub(super) fn files(src: &Source, data_dir: Option<PathBuf>) -> Result<FilesConfig, ConfigError> {
    let max_bytes: u64 = src.parse("FILE_MAX_BYTES", 20 * 1024 * 1024, "a size in bytes, e.g. 20971520")?;
    if max_bytes < 1024 {
        return Err(ConfigError::new("FILE_MAX_BYTES", "must be at least 1024"));
    }
    let quota_bytes: u64 = src.parse("FILE_QUOTA_BYTES", 500 * 1024 * 1024, "a size in bytes (0 = unlimited)")?;
    let default_dir = data_dir.unwrap_or_else(|| PathBuf::from("data")).join("files");
    let dir = PathBuf::from(src.string("FILE_STORAGE_DIR", &default_dir.to_string_lossy()));
    let s3 = match src.opt_string("S3_BUCKET") {
        None => None,
        Some(bucket) => {
            let endpoint = src.opt_string("S3_ENDPOINT").map(|e| http_url("S3_ENDPOINT", &e)).transpose()?;
            let access_key_id = src
                .opt_string("AWS_ACCESS_KEY_ID")
                .ok_or_else(|| ConfigError::new("AWS_ACCESS_KEY_ID", "must be set when S3_BUCKET is set"))?;
            let secret_access_key = src
                .secret("AWS_SECRET_ACCESS_KEY")
                .ok_or_else(|| ConfigError::new("AWS_SECRET_ACCESS_KEY", "must be set when S3_BUCKET is set"))?;
            Some(S3Config {
                bucket,
                endpoint,
                region: src.string("S3_REGION", "ap-northeast-1"),
                access_key_id,
                secret_access_key,
            })
        }
    };
    let max_text_chars = src.parse("FILE_MAX_TEXT_CHARS", 200_000, "a number of characters")?;
    let upload_timeout = seconds(src, "FILE_UPLOAD_TIMEOUT_SECONDS", 300)?;
    Ok(FilesConfig { max_bytes, quota_bytes, dir, s3, max_text_chars, upload_timeout })
}

pub(super) fn browser(src: &Source) -> Result<BrowserConfig, ConfigError> {
    let allowed_hosts = src
        .string("BROWSER_ALLOWED_HOSTS", "")
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let max_bytes: u64 = src.parse("BROWSER_MAX_BYTES", 5 * 1024 * 1024, "a size in bytes")?;
    if max_bytes < 1024 {
        return Err(ConfigError::new("BROWSER_MAX_BYTES", "must be at least 1024"));
    }
    let max_redirects = src.parse("BROWSER_MAX_REDIRECTS", 5, "a number from 0 to 20")?;
    if max_redirects > 20 {
        return Err(ConfigError::new("BROWSER_MAX_REDIRECTS", "must be from 0 to 20"));
    }
    Ok(BrowserConfig { allowed_hosts, max_bytes, timeout: seconds(src, "BROWSER_TIMEOUT_SECONDS", 15)?, max_redirects })
}

pub(super) fn billing(src: &Source) -> Result<Option<BillingConfig>, ConfigError> {
    let Some(secret_key) = src.secret("STRIPE_SECRET_KEY") else {
        if src.opt_string("STRIPE_WEBHOOK_SECRET").is_some() {
            return Err(ConfigError::new("STRIPE_SECRET_KEY", "must be set when STRIPE_WEBHOOK_SECRET is set"));
        }
        return Ok(None);
    };
    let webhook_secret = src
        .secret("STRIPE_WEBHOOK_SECRET")
        .ok_or_else(|| ConfigError::new("STRIPE_WEBHOOK_SECRET", "must be set when STRIPE_SECRET_KEY is set"))?;
    let api_base = http_url("STRIPE_API_BASE", &src.string("STRIPE_API_BASE", "https://api.stripe.com"))?;
    let return_url = http_url("BILLING_RETURN_URL", &src.string("BILLING_RETURN_URL", "http://127.0.0.1:3000/"))?;
    Ok(Some(BillingConfig {
        secret_key,
        webhook_secret,
        api_base,
        price_pro: src.opt_string("STRIPE_PRICE_PRO"),
        price_business: src.opt_string("STRIPE_PRICE_BUSINESS"),
        free_tokens: src.parse("BILLING_FREE_TOKENS", 200_000, "a number of tokens per month")?,
        pro_tokens: src.parse("BILLING_PRO_TOKENS", 5_000_000, "a number of tokens per month")?,
        business_tokens: src.parse("BILLING_BUSINESS_TOKENS", 50_000_000, "a number of tokens per month")?,
        return_url,
    }))
}

pub(super) fn redis(src: &Source) -> Result<Option<RedisConfig>, ConfigError> {
    use secrecy::ExposeSecret;
    let password = src.secret("REDIS_PASSWORD");
    let Some(raw) = src.secret("REDIS_URL") else {
        if password.is_some() {
            return Err(ConfigError::new("REDIS_URL", "must be set when REDIS_PASSWORD is set"));
        }
        return Ok(None);
    };
    let raw = raw.expose_secret().trim().to_string();
    let expected = "a Redis URL such as redis://127.0.0.1:6379/0 or rediss://host:6380";
    let (scheme, rest) = raw.split_once("://").ok_or_else(|| ConfigError::new("REDIS_URL", expected))?;
    if !matches!(scheme, "redis" | "rediss") || rest.is_empty() {
        return Err(ConfigError::new("REDIS_URL", expected));
    }
    let (userinfo, hostpart) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    if hostpart.is_empty() || hostpart.starts_with('/') {
        return Err(ConfigError::new("REDIS_URL", expected));
    }
    let url = match (userinfo, &password) {
        (None, Some(pw)) => {
            let encoded: String = pw
                .expose_secret()
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{scheme}://:{encoded}@{hostpart}")
        }
        _ => raw.clone(),
    };
    let user = userinfo.and_then(|u| u.split(':').next()).filter(|u| !u.is_empty());
    let shown = match (userinfo, user) {
        (Some(_), Some(user)) => format!("{scheme}://{user}:***@{hostpart}"),
        (Some(_), None) => format!("{scheme}://:***@{hostpart}"),
        (None, _) if password.is_some() => format!("{scheme}://:***@{hostpart}"),
        (None, _) => format!("{scheme}://{hostpart}"),
    };
    Ok(Some(RedisConfig { url: url.into(), shown }))
}
