//! Configuration: parsed once at start into [`Config`], validated, and never read
//! again from the environment. Variable names follow both deployment plans' `.env`
//! files so an operator can bring theirs.

mod optional;
mod source;

pub use optional::{BillingConfig, BrowserConfig, FilesConfig, RedisConfig, S3Config};

pub use source::{Origin, Resolved, Source};

use http::HeaderValue;
use secrecy::SecretString;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tenmon_store::{DatabaseUrl, PoolOptions};

/// A bad setting: names the variable and what is wrong. Start-up prints it on one
/// line and exits with code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(var: impl Into<String>, message: impl Into<String>) -> Self {
        Self { var: var.into(), message: message.into() }
    }

    fn invalid(var: &str, value: &str, expected: &str) -> Self {
        Self::new(var, format!("invalid value {:?}: expected {expected}", truncate(value)))
    }
}

fn truncate(value: &str) -> String {
    let mut s: String = value.chars().take(80).collect();
    if s.len() < value.len() {
        s.push('…');
    }
    s
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}: {}", self.var, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The deployment environment (`APP_ENV`, or `NODE_ENV` as the Node plans set it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
    Test,
}

impl AppEnv {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "development" | "dev" | "local" => AppEnv::Development,
            "production" | "prod" | "staging" => AppEnv::Production,
            "test" | "testing" => AppEnv::Test,
            _ => return None,
        })
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Same-origin only (no CORS headers).
    None,
    /// `*`: any origin, without credentials.
    Any,
    /// These origins, with credentials.
    List(Vec<HeaderValue>),
}

/// Native TLS, for deployments without nginx in front.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    pub https_port: u16,
}

/// The HTTP server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: IpAddr,
    pub port: u16,
    pub tls: Option<TlsConfig>,
    pub cors: CorsOrigins,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Time a request may take before it gets 408 (streams are exempt once started).
    pub request_timeout: Duration,
    /// Time in-flight work gets after SIGTERM.
    pub shutdown_grace: Duration,
    /// Threads that serve HTTP connections, each with an event loop of its own
    /// (default: two per core, at most 16); 0 serves them on the shared runtime.
    pub http_threads: usize,
}

/// The database.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub pool: PoolOptions,
}

/// Logging.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// An `EnvFilter` directive, already validated.
    pub filter: String,
    pub format: LogFormat,
}

/// Health checks.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// Below this much free disk where the data lives, the disk check warns.
    pub disk_min_free_bytes: u64,
}

/// One OpenAI-compatible upstream.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub name: String,
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub model: String,
}

/// The model layer.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// In order of preference: `OPENAI_*` first, then the config file's `[[upstreams]]`.
    /// Empty when no model is configured.
    pub upstreams: Vec<UpstreamConfig>,
    pub max_tokens: u32,
    pub connect_timeout: Duration,
    pub first_token_timeout: Duration,
    pub idle_timeout: Duration,
    /// A whole answer for a client that does not stream (`/v1` without `stream`).
    pub completion_timeout: Duration,
    pub max_retries: u32,
    pub retry_base: Duration,
    /// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` (or lower case), for the
    /// model and embeddings upstreams.
    pub proxies: tenmon_llm::Proxies,
}

/// Chat turns and sessions.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    pub history_token_budget: u32,
    pub max_message_chars: usize,
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure`.
    pub cookie_secure: bool,
    /// Tokens a user (or guest) may use per UTC day; 0 = unlimited.
    pub daily_tokens_user: u64,
    /// Tokens an API key may use per UTC day; 0 = unlimited.
    pub daily_tokens_api_key: u64,
    /// SHA-256 (hex) of each key in `API_KEYS`: operators' keys for `/v1/*` and
    /// server-to-server calls. Only hashes are kept in memory.
    pub api_key_hashes: Vec<String>,
}

/// An assistant defined in the config file (`[[assistants]]`); one with a built-in's
/// id replaces it.
#[derive(Debug, Clone)]
pub struct AssistantConfig(pub tenmon_chat::Assistant);

/// Knowledge-base search.
#[derive(Debug, Clone)]
pub struct KbConfig {
    /// Below this confidence (0 to 1) the best entry does not answer a question.
    pub min_confidence: f32,
    pub cache_ttl: Duration,
    pub cache_size: usize,
    /// Dense retrieval, when `EMBEDDING_MODEL` is set.
    pub embedding: Option<EmbeddingConfig>,
}

/// An OpenAI-compatible embeddings endpoint for the knowledge base.
#[derive(Debug, Clone)]
pub struct EmbeddingConfig {
    pub model: String,
    /// `EMBEDDING_BASE_URL`, else the chat model's (`OPENAI_BASE_URL`).
    pub base_url: String,
    /// `EMBEDDING_API_KEY`; else `OPENAI_API_KEY` when the embeddings go to the
    /// chat model's server (the OpenAI key is never sent to another host).
    pub api_key: Option<SecretString>,
    /// One request (a batch of entries).
    pub timeout: Duration,
    /// A search waits this long for its query's vector, then answers lexically.
    pub query_timeout: Duration,
    /// Inputs per request.
    pub batch: usize,
    /// Cosine similarity that counts as confidence 0 …
    pub similarity_floor: f32,
    /// … and as confidence 1.
    pub similarity_full: f32,
}

/// Accounts and tokens.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// HS256 key for access tokens. Random per process when unset outside production
    /// (tokens then die with the process).
    pub jwt_secret: SecretString,
    pub jwt_secret_generated: bool,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub signup: crate::accounts::SignupMode,
    /// The first admin, created on first start when there are no users.
    pub admin: Option<(String, SecretString)>,
    /// Keys the CSRF tokens and the OIDC login cookie (`SESSION_SECRET`; derived from
    /// the JWT key when unset).
    pub session_secret: SecretString,
    /// "Sign in with …" (OpenID Connect), when configured.
    pub oidc: Option<OidcConfig>,
}

/// An OpenID Connect provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// `OAUTH_ISSUER_URL`: discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// `OAUTH_REDIRECT_URL`: this server's `…/api/auth/oidc/callback` as registered.
    pub redirect_url: String,
    /// Shown on the button: "Sign in with {name}".
    pub name: String,
    pub scopes: String,
}

/// Rate limits.
#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// Every API request, per client IP and per credential.
    pub api: crate::ratelimit::Limit,
    /// Login, sign-up and refresh per client IP (per account: five times this).
    pub auth: crate::ratelimit::Limit,
    /// Peers whose `X-Forwarded-For` is believed (nginx, the load balancer).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The LINE Messaging API channel (enabled when both secrets are set).
#[derive(Debug, Clone)]
pub struct LineConfig {
    pub channel_secret: SecretString,
    pub access_token: SecretString,
    /// The assistant that answers LINE users.
    pub assistant: String,
    /// `https://api.line.me`; tests point it at a fake.
    pub api_base: String,
    /// Sent when a user adds the bot as a friend.
    pub greeting: String,
    /// A reply token older than this is not tried: the answer is pushed instead.
    pub reply_token_ttl: Duration,
    /// Retries of a push on 429, 5xx and connection errors.
    pub max_retries: u32,
    pub retry_base: Duration,
}

/// Personal data: masking, retention, data subject rights, audit.
#[derive(Debug, Clone)]
pub struct PrivacyConfig {
    /// Replace personal data by placeholders before anything reaches a model.
    pub mask: bool,
    /// Keep the original text in stored messages (default: the masked text).
    pub store_personal_data: bool,
    /// Allow message text in debug logs (never in production).
    pub log_personal_data: bool,
    /// Purge conversations idle this long; `None` keeps them.
    pub retention_days: Option<u32>,
    /// How often the retention job runs.
    pub retention_interval: Duration,
    /// Ask for consent to the privacy notice before the first chat turn.
    pub require_consent: bool,
    pub notice_version: String,
    /// Record security-relevant actions in the hash-chained audit log.
    pub audit: bool,
    /// `ENCRYPTION_KEY`: base64 master keys, current first (validated at load).
    pub encryption_key: Option<SecretString>,
}

/// All settings, parsed once.
#[derive(Debug, Clone)]
pub struct Config {
    pub env: AppEnv,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub health: HealthConfig,
    pub llm: LlmConfig,
    pub chat: ChatConfig,
    /// Assistants from the config file.
    pub assistants: Vec<AssistantConfig>,
    pub kb: KbConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    /// `None`: the LINE webhook answers 404.
    pub line: Option<LineConfig>,
    pub privacy: PrivacyConfig,
    /// File uploads and their storage.
    pub files: FilesConfig,
    /// The /browser reader.
    pub browser: BrowserConfig,
    /// Stripe billing, when configured.
    pub billing: Option<BillingConfig>,
    /// Redis, when the replicas share one.
    pub redis: Option<RedisConfig>,
    /// Bearer token required on `/metrics` when set.
    pub metrics_token: Option<SecretString>,
    /// Every setting as resolved, secrets blanked (for `check-config`).
    pub resolved: Vec<Resolved>,
    /// Non-fatal findings, logged once logging is up.
    pub warnings: Vec<String>,
}

/// Where to read settings from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub dotenv: Option<PathBuf>,
    pub config_file: Option<PathBuf>,
}

impl Config {
    /// Read all layers and parse.
    pub fn load(opts: &LoadOptions) -> Result<Self, ConfigError> {
        let src = Source::load(opts.dotenv.as_deref(), opts.config_file.as_deref())?;
        Self::from_source(&src)
    }

    /// Parse from prepared layers.
    pub fn from_source(src: &Source) -> Result<Self, ConfigError> {
        let env = match src.opt_string("APP_ENV").or_else(|| src.opt_string("NODE_ENV")) {
            Some(v) => AppEnv::parse(&v).ok_or_else(|| {
                let var = if src.opt_string("APP_ENV").is_some() { "APP_ENV" } else { "NODE_ENV" };
                ConfigError::invalid(var, &v, "development, production or test")
            })?,
            None => AppEnv::Development,
        };

        let host_raw = src.string("HOST", "127.0.0.1");
        let host: IpAddr = if host_raw.eq_ignore_ascii_case("localhost") {
            IpAddr::from([127, 0, 0, 1])
        } else {
            host_raw
                .parse()
                .map_err(|_| ConfigError::invalid("HOST", &host_raw, "an IP address such as 127.0.0.1 or 0.0.0.0"))?
        };
        let port = parse_port(src, "PORT", 3000)?;
        let https_port = parse_port(src, "HTTPS_PORT", 3443)?;
        let tls = match (src.opt_string("SSL_CERT_PATH"), src.opt_string("SSL_KEY_PATH")) {
            (Some(cert), Some(key)) => {
                let cert_path = readable_file("SSL_CERT_PATH", &cert)?;
                let key_path = readable_file("SSL_KEY_PATH", &key)?;
                if https_port == port {
                    return Err(ConfigError::new("HTTPS_PORT", format!("must differ from PORT ({port})")));
                }
                Some(TlsConfig { cert_path, key_path, https_port })
            }
            (Some(_), None) => return Err(ConfigError::new("SSL_KEY_PATH", "must be set when SSL_CERT_PATH is set")),
            (None, Some(_)) => return Err(ConfigError::new("SSL_CERT_PATH", "must be set when SSL_KEY_PATH is set")),
            (None, None) => None,
        };
        let cors = cors(src)?;
        let body_limit: usize = src.parse("BODY_LIMIT_BYTES", 1_048_576, "a size in bytes, e.g. 1048576")?;
        if body_limit < 1024 {
            return Err(ConfigError::new("BODY_LIMIT_BYTES", "must be at least 1024"));
        }
        let request_timeout = seconds(src, "REQUEST_TIMEOUT_SECONDS", 30)?;
        let shutdown_grace = seconds(src, "SHUTDOWN_GRACE_SECONDS", 30)?;
        let http_threads: usize =
            src.parse("HTTP_THREADS", default_http_threads(), "a whole number (0: the shared runtime)")?;
        if http_threads > 1024 {
            return Err(ConfigError::new("HTTP_THREADS", "must be at most 1024"));
        }

        let url_raw = src.string("DATABASE_URL", "sqlite://data/tenmon-ark.db");
        let url = DatabaseUrl::parse(&url_raw).map_err(|e| ConfigError::new("DATABASE_URL", e))?;
        // Recorded again, redacted: the raw URL may carry a password.
        // SQLite reads run on their connection's own thread: readers beyond the cores
        // only add thread switches (2 readers on 2 cores served ~7% more chat turns
        // than 8). Database servers do their work elsewhere: 8.
        let default_max = match url.backend() {
            tenmon_store::Backend::Sqlite => std::thread::available_parallelism().map_or(2, |n| n.get()).max(2) as u32,
            _ => 8,
        };
        let pool_min: u32 = src.parse("DATABASE_POOL_MIN", 1, "a whole number")?;
        let pool_max: u32 = src.parse("DATABASE_POOL_MAX", default_max.max(pool_min), "a whole number from 1")?;
        if pool_max == 0 {
            return Err(ConfigError::new("DATABASE_POOL_MAX", "must be at least 1"));
        }
        if pool_min > pool_max {
            return Err(ConfigError::new(
                "DATABASE_POOL_MIN",
                format!("{pool_min} is more than DATABASE_POOL_MAX ({pool_max})"),
            ));
        }
        let ssl = src.bool("DATABASE_SSL", false)?;

        let level = src.string("LOG_LEVEL", "info");
        let filter = log_filter(&level)?;
        let default_format = if env == AppEnv::Production { "json" } else { "pretty" };
        let format = match src.string("LOG_FORMAT", default_format).to_ascii_lowercase().as_str() {
            "json" => LogFormat::Json,
            "pretty" | "text" => LogFormat::Pretty,
            other => return Err(ConfigError::invalid("LOG_FORMAT", other, "json or pretty")),
        };
        let disk_min_free_mb: u64 = src.parse("HEALTH_DISK_MIN_FREE_MB", 256, "a size in MiB")?;
        let metrics_token = src.secret("METRICS_TOKEN");
        let llm = llm(src)?;
        let assistants = assistants(src)?;
        let min_confidence: f32 = src.parse("KB_MIN_CONFIDENCE", 0.5, "a number from 0 to 1")?;
        if !(0.0..=1.0).contains(&min_confidence) {
            return Err(ConfigError::new("KB_MIN_CONFIDENCE", "must be from 0 to 1"));
        }
        let auth = auth(src, env)?;
        let rate_limit = rate_limit(src)?;
        let line = line(src)?;
        let retention_days: u32 = src.parse("DATA_RETENTION_DAYS", 0, "a number of days (0 = keep)")?;
        let privacy = PrivacyConfig {
            mask: src.bool("MASK_PERSONAL_DATA", true)?,
            store_personal_data: src.bool("STORE_PERSONAL_DATA", false)?,
            log_personal_data: src.bool("LOG_PERSONAL_DATA", false)?,
            retention_days: (retention_days > 0).then_some(retention_days),
            retention_interval: seconds(src, "DATA_RETENTION_INTERVAL_SECONDS", 3600)?,
            require_consent: src.bool("GDPR_COMPLIANCE", false)?,
            notice_version: src.string("PRIVACY_NOTICE_VERSION", "2026-11"),
            audit: src.bool("ENABLE_AUDIT_LOGS", true)?,
            encryption_key: src.secret("ENCRYPTION_KEY"),
        };
        if let Some(k) = &privacy.encryption_key {
            tenmon_privacy::Keyring::parse(secrecy::ExposeSecret::expose_secret(k)).map_err(|_| {
                ConfigError::new(
                    "ENCRYPTION_KEY",
                    "must be 32 bytes in base64 (e.g. `openssl rand -base64 32`), or NEW,OLD,… for rotation",
                )
            })?;
        }
        if privacy.retention_interval.is_zero() {
            return Err(ConfigError::new("DATA_RETENTION_INTERVAL_SECONDS", "must be at least 1"));
        }
        let kb = KbConfig {
            min_confidence,
            cache_ttl: seconds(src, "KB_CACHE_TTL_SECONDS", 300)?,
            cache_size: src.parse("KB_CACHE_SIZE", 2048, "a number of queries")?,
            embedding: embedding(src, &llm)?,
        };
        let chat = ChatConfig {
            history_token_budget: src.parse("CHAT_HISTORY_TOKEN_BUDGET", 6000, "a number of tokens")?,
            max_message_chars: src.parse("CHAT_MAX_MESSAGE_CHARS", 16_000, "a number of characters")?,
            session_ttl: Duration::from_secs(src.parse::<u64>("SESSION_TTL_HOURS", 720, "a number of hours")? * 3600),
            cookie_secure: src.bool("COOKIE_SECURE", env == AppEnv::Production)?,
            api_key_hashes: api_keys(src)?,
            daily_tokens_user: src.parse("DAILY_TOKEN_QUOTA_USER", 0, "a number of tokens (0 = unlimited)")?,
            daily_tokens_api_key: src.parse("DAILY_TOKEN_QUOTA_API_KEY", 0, "a number of tokens (0 = unlimited)")?,
        };
        if chat.session_ttl.is_zero() {
            return Err(ConfigError::new("SESSION_TTL_HOURS", "must be at least 1"));
        }

        let data_dir = match url.backend() {
            tenmon_store::Backend::Sqlite => url
                .sqlite_path()
                .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
                .filter(|p| !p.as_os_str().is_empty()),
            _ => None,
        };
        let files = optional::files(src, data_dir)?;
        let browser = optional::browser(src)?;
        let billing = optional::billing(src)?;
        let redis = optional::redis(src)?;

        let mut resolved = src.resolved();
        for r in &mut resolved {
            if r.key == "DATABASE_URL" {
                r.shown = url.redacted();
            }
            if let (true, Some(redis)) = (r.key == "REDIS_URL", &redis) {
                r.shown = redis.shown.clone();
            }
        }
        let mut warnings: Vec<String> = src
            .unknown_file_keys()
            .into_iter()
            .map(|k| format!("config file: unknown setting {k} (ignored)"))
            .collect();
        if files.s3.is_none() && redis.is_some() {
            warnings.push(format!(
                "files are stored in {} on this machine: replicas sharing Redis must share that directory or set S3_BUCKET",
                files.dir.display()
            ));
        }
        if auth.jwt_secret_generated {
            warnings.push("JWT_SECRET is not set: using a random key; logins end when the process stops".into());
        }
        Ok(Config {
            env,
            server: ServerConfig { host, port, tls, cors, body_limit, request_timeout, shutdown_grace, http_threads },
            database: DatabaseConfig { url, pool: PoolOptions { min: pool_min, max: pool_max, ssl } },
            log: LogConfig { filter, format },
            health: HealthConfig { disk_min_free_bytes: disk_min_free_mb * 1024 * 1024 },
            llm,
            chat,
            assistants,
            kb,
            auth,
            rate_limit,
            line,
            privacy,
            files,
            browser,
            billing,
            redis,
            metrics_token,
            resolved,
            warnings,
        })
    }

    /// The directory the data lives in (for the disk check); `None` when the
    /// database is a server (PostgreSQL, MySQL): its disk is not ours to watch.
    pub fn data_dir(&self) -> Option<PathBuf> {
        if self.database.url.backend() != tenmon_store::Backend::Sqlite {
            return None;
        }
        Some(
            self.database
                .url
                .sqlite_path()
                .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from(".")),
        )
    }

    /// Settings for tests: in a temp database, quiet logs.
    pub fn for_tests(database_url: &str) -> Self {
        let mut env = std::collections::HashMap::new();
        env.insert("DATABASE_URL".to_string(), database_url.to_string());
        env.insert("APP_ENV".to_string(), "test".to_string());
        let src = Source::from_layers(env, Default::default(), Default::default(), Default::default());
        #[expect(clippy::expect_used, reason = "test settings are constants")]
        let mut config = Self::from_source(&src).expect("test config is valid");
        // Tests send bursts from one address; the rate-limit tests set their own.
        config.rate_limit.api.max = 1_000_000;
        config.rate_limit.auth.max = 1_000_000;
        config
    }
}

fn api_keys(src: &Source) -> Result<Vec<String>, ConfigError> {
    use secrecy::ExposeSecret;
    use sha2::Digest;
    let Some(raw) = src.secret("API_KEYS") else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for key in raw.expose_secret().split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if key.len() < 16 {
            return Err(ConfigError::new("API_KEYS", "each key must be at least 16 characters"));
        }
        out.push(sha2::Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect());
    }
    Ok(out)
}

const LINE_GREETING: &str = "友だち追加ありがとうございます。携帯電話番号ポータビリティ（MNP）についてのご質問に、24時間お答えします。ご質問をメッセージでお送りください。\n\nThank you for adding us. Ask me anything about mobile number portability (MNP) in Japan.";

fn line(src: &Source) -> Result<Option<LineConfig>, ConfigError> {
    let (secret, token) = match (src.secret("LINE_CHANNEL_SECRET"), src.secret("LINE_CHANNEL_ACCESS_TOKEN")) {
        (Some(s), Some(t)) => (s, t),
        (Some(_), None) => {
            return Err(ConfigError::new("LINE_CHANNEL_ACCESS_TOKEN", "must be set when LINE_CHANNEL_SECRET is set"))
        }
        (None, Some(_)) => {
            return Err(ConfigError::new("LINE_CHANNEL_SECRET", "must be set when LINE_CHANNEL_ACCESS_TOKEN is set"))
        }
        (None, None) => return Ok(None),
    };
    let api_base = src.string("LINE_API_BASE", "https://api.line.me").trim_end_matches('/').to_string();
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        return Err(ConfigError::invalid("LINE_API_BASE", &api_base, "an http(s) URL such as https://api.line.me"));
    }
    let retries: u32 = src.parse("LINE_MAX_RETRIES", 4, "a whole number")?;
    Ok(Some(LineConfig {
        channel_secret: secret,
        access_token: token,
        assistant: src.string("LINE_ASSISTANT", "mnp-support"),
        api_base,
        greeting: src.string("LINE_GREETING", LINE_GREETING),
        reply_token_ttl: seconds(src, "LINE_REPLY_TOKEN_TTL_SECONDS", 50)?,
        max_retries: retries,
        retry_base: Duration::from_millis(src.parse("LINE_RETRY_BASE_MS", 500, "a number of milliseconds")?),
    }))
}

fn rate_limit(src: &Source) -> Result<RateLimitConfig, ConfigError> {
    let window_ms: u64 = src.parse("RATE_LIMIT_WINDOW_MS", 60_000, "a number of milliseconds")?;
    if window_ms < 1000 {
        return Err(ConfigError::new("RATE_LIMIT_WINDOW_MS", "must be at least 1000"));
    }
    let window = Duration::from_millis(window_ms);
    let max: u32 = src.parse("RATE_LIMIT_MAX_REQUESTS", 120, "a number of requests")?;
    let auth_max: u32 = src.parse("AUTH_RATE_LIMIT_MAX", 10, "a number of attempts")?;
    if max == 0 || auth_max == 0 {
        return Err(ConfigError::new(
            if max == 0 { "RATE_LIMIT_MAX_REQUESTS" } else { "AUTH_RATE_LIMIT_MAX" },
            "must be at least 1",
        ));
    }
    let mut trusted_proxies = Vec::new();
    for item in src.string("TRUSTED_PROXIES", "").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let net =
            item.parse::<ipnet::IpNet>().or_else(|_| item.parse::<IpAddr>().map(ipnet::IpNet::from)).map_err(|_| {
                ConfigError::invalid("TRUSTED_PROXIES", item, "IP addresses or CIDR ranges, comma-separated")
            })?;
        trusted_proxies.push(net);
    }
    Ok(RateLimitConfig {
        api: crate::ratelimit::Limit { max, window },
        auth: crate::ratelimit::Limit { max: auth_max, window },
        trusted_proxies,
    })
}

fn auth(src: &Source, env: AppEnv) -> Result<AuthConfig, ConfigError> {
    use secrecy::ExposeSecret;
    let (jwt_secret, generated) = match src.secret("JWT_SECRET") {
        Some(s) if s.expose_secret().chars().count() >= 32 => (s, false),
        Some(_) => return Err(ConfigError::new("JWT_SECRET", "must be at least 32 characters")),
        None if env == AppEnv::Production => {
            return Err(ConfigError::new("JWT_SECRET", "is required in production (32 or more random characters)"))
        }
        None => {
            use base64::Engine;
            use rand::RngCore;
            let mut key = [0u8; 48];
            rand::rng().fill_bytes(&mut key);
            (SecretString::from(base64::engine::general_purpose::STANDARD.encode(key)), true)
        }
    };
    let signup = match src.string("SIGNUP_MODE", "open").to_ascii_lowercase().as_str() {
        "open" => crate::accounts::SignupMode::Open,
        "invite" | "invite-only" | "invite_only" => crate::accounts::SignupMode::InviteOnly,
        "closed" => crate::accounts::SignupMode::Closed,
        other => return Err(ConfigError::invalid("SIGNUP_MODE", other, "open, invite-only or closed")),
    };
    let admin = match (src.opt_string("ADMIN_EMAIL"), src.secret("ADMIN_PASSWORD")) {
        (Some(email), Some(password)) => {
            crate::accounts::validate_email(&email)
                .map_err(|_| ConfigError::invalid("ADMIN_EMAIL", &email, "an email address"))?;
            crate::accounts::validate_password(secrecy::ExposeSecret::expose_secret(&password))
                .map_err(|e| ConfigError::new("ADMIN_PASSWORD", e.to_string()))?;
            Some((email, password))
        }
        (Some(_), None) => return Err(ConfigError::new("ADMIN_PASSWORD", "must be set when ADMIN_EMAIL is set")),
        (None, Some(_)) => return Err(ConfigError::new("ADMIN_EMAIL", "must be set when ADMIN_PASSWORD is set")),
        (None, None) => None,
    };
    let access: u64 = src.parse("ACCESS_TOKEN_TTL_SECONDS", 900, "a number of seconds")?;
    let refresh_days: u64 = src.parse("REFRESH_TOKEN_TTL_DAYS", 30, "a number of days")?;
    if access == 0 || refresh_days == 0 {
        return Err(ConfigError::new(
            if access == 0 { "ACCESS_TOKEN_TTL_SECONDS" } else { "REFRESH_TOKEN_TTL_DAYS" },
            "must be at least 1",
        ));
    }
    let session_secret = match src.secret("SESSION_SECRET") {
        Some(s) if secrecy::ExposeSecret::expose_secret(&s).len() < 32 => {
            return Err(ConfigError::new("SESSION_SECRET", "must be at least 32 characters"))
        }
        Some(s) => s,
        None => {
            use sha2::Digest;
            let derived = sha2::Sha256::digest(
                format!("tenmon-ark/session/{}", secrecy::ExposeSecret::expose_secret(&jwt_secret)).as_bytes(),
            );
            SecretString::from(derived.iter().map(|b| format!("{b:02x}")).collect::<String>())
        }
    };
    let oidc = match (src.opt_string("OAUTH_CLIENT_ID"), src.opt_string("OAUTH_ISSUER_URL")) {
        (None, None) => None,
        (Some(_), None) => return Err(ConfigError::new("OAUTH_ISSUER_URL", "must be set when OAUTH_CLIENT_ID is set")),
        (None, Some(_)) => return Err(ConfigError::new("OAUTH_CLIENT_ID", "must be set when OAUTH_ISSUER_URL is set")),
        (Some(client_id), Some(issuer)) => {
            let issuer = issuer.trim_end_matches('/').to_string();
            if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
                return Err(ConfigError::invalid("OAUTH_ISSUER_URL", &issuer, "an http(s) URL"));
            }
            let Some(client_secret) = src.secret("OAUTH_CLIENT_SECRET") else {
                return Err(ConfigError::new("OAUTH_CLIENT_SECRET", "must be set when OAUTH_CLIENT_ID is set"));
            };
            let Some(redirect_url) = src.opt_string("OAUTH_REDIRECT_URL") else {
                return Err(ConfigError::new(
                    "OAUTH_REDIRECT_URL",
                    "must be set with OAUTH_CLIENT_ID: https://YOUR-HOST/api/auth/oidc/callback as registered at the provider",
                ));
            };
            Some(OidcConfig {
                issuer,
                client_id,
                client_secret,
                redirect_url,
                name: src.string("OAUTH_PROVIDER_NAME", "SSO"),
                scopes: src.string("OAUTH_SCOPES", "openid email profile"),
            })
        }
    };
    Ok(AuthConfig {
        session_secret,
        oidc,
        jwt_secret,
        jwt_secret_generated: generated,
        access_ttl: Duration::from_secs(access),
        refresh_ttl: Duration::from_secs(refresh_days * 86_400),
        signup,
        admin,
    })
}

fn assistants(src: &Source) -> Result<Vec<AssistantConfig>, ConfigError> {
    let Some(list) = src.tables.get("assistants") else { return Ok(Vec::new()) };
    let list =
        list.as_array().ok_or_else(|| ConfigError::new("assistants", "must be an array of tables ([[assistants]])"))?;
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let var = |k: &str| format!("assistants[{i}].{k}");
        let t = item.as_table().ok_or_else(|| ConfigError::new(format!("assistants[{i}]"), "must be a table"))?;
        let text = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let id = text("id").ok_or_else(|| ConfigError::new(var("id"), "is required"))?;
        if id.is_empty()
            || id.len() > 64
            || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(ConfigError::new(var("id"), "must be 1 to 64 of a-z, 0-9 and -"));
        }
        let system_prompt =
            text("system_prompt").ok_or_else(|| ConfigError::new(var("system_prompt"), "is required"))?;
        let temperature = match t.get("temperature") {
            None => None,
            Some(v) => {
                let f = v.as_float().or_else(|| v.as_integer().map(|n| n as f64));
                match f {
                    Some(f) if (0.0..=2.0).contains(&f) => Some(f as f32),
                    _ => return Err(ConfigError::new(var("temperature"), "must be a number from 0 to 2")),
                }
            }
        };
        let knowledge_bases = match t.get("knowledge_bases") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
                .ok_or_else(|| ConfigError::new(var("knowledge_bases"), "must be a list of names"))?,
        };
        out.push(AssistantConfig(tenmon_chat::Assistant {
            name_ja: text("name_ja").unwrap_or_else(|| id.clone()),
            name_en: text("name_en").unwrap_or_else(|| id.clone()),
            id,
            system_prompt,
            model: text("model"),
            temperature,
            knowledge_only: t.get("knowledge_only").and_then(|v| v.as_bool()).unwrap_or(false),
            knowledge_bases,
            greeting_ja: text("greeting_ja").unwrap_or_default(),
            greeting_en: text("greeting_en").unwrap_or_default(),
        }));
    }
    Ok(out)
}

const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

fn http_url(key: &str, raw: &str) -> Result<String, ConfigError> {
    let uri: http::Uri = raw.parse().map_err(|_| ConfigError::invalid(key, raw, "an http(s) URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(ConfigError::invalid(key, raw, "an http(s) URL such as https://api.openai.com/v1"));
    }
    Ok(raw.trim_end_matches('/').to_string())
}

fn llm(src: &Source) -> Result<LlmConfig, ConfigError> {
    let api_key = src.secret("OPENAI_API_KEY");
    let base_url = src.opt_string("OPENAI_BASE_URL");
    if base_url.is_none() {
        // Recorded so check-config shows the default.
        src.string("OPENAI_BASE_URL", DEFAULT_OPENAI_BASE_URL);
    }
    let model = src.string("OPENAI_MODEL", "gpt-4o-mini");
    let max_tokens: u32 = src.parse("OPENAI_MAX_TOKENS", 1024, "a number of tokens")?;
    let mut upstreams = Vec::new();
    // A model is configured when there is a key (OpenAI) or an explicit base URL
    // (a local server such as Ollama or vLLM needs no key).
    if api_key.is_some() || base_url.is_some() {
        let base = match &base_url {
            Some(b) => http_url("OPENAI_BASE_URL", b)?,
            None => DEFAULT_OPENAI_BASE_URL.to_string(),
        };
        upstreams.push(UpstreamConfig { name: "primary".into(), base_url: base, api_key, model: model.clone() });
    }
    if let Some(list) = src.tables.get("upstreams") {
        let list = list
            .as_array()
            .ok_or_else(|| ConfigError::new("upstreams", "must be an array of tables ([[upstreams]])"))?;
        for (i, item) in list.iter().enumerate() {
            let var = format!("upstreams[{i}]");
            let t = item.as_table().ok_or_else(|| ConfigError::new(var.clone(), "must be a table"))?;
            let get = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let base = get("base_url").ok_or_else(|| ConfigError::new(format!("{var}.base_url"), "is required"))?;
            let base = http_url(&format!("{var}.base_url"), &base)?;
            let model = get("model").unwrap_or_else(|| model.clone());
            let name = get("name").unwrap_or_else(|| format!("fallback-{}", i + 1));
            upstreams.push(UpstreamConfig {
                name,
                base_url: base,
                api_key: get("api_key").map(SecretString::from),
                model,
            });
        }
    }
    let ms = |key: &'static str, default: u64| -> Result<Duration, ConfigError> {
        let v: u64 = src.parse(key, default, "a number of milliseconds")?;
        Ok(Duration::from_millis(v))
    };
    Ok(LlmConfig {
        upstreams,
        max_tokens,
        connect_timeout: seconds(src, "LLM_CONNECT_TIMEOUT_SECONDS", 5)?,
        first_token_timeout: seconds(src, "LLM_FIRST_TOKEN_TIMEOUT_SECONDS", 60)?,
        idle_timeout: seconds(src, "LLM_IDLE_TIMEOUT_SECONDS", 60)?,
        completion_timeout: seconds(src, "LLM_COMPLETION_TIMEOUT_SECONDS", 300)?,
        max_retries: src.parse("LLM_MAX_RETRIES", 2, "a whole number")?,
        retry_base: ms("LLM_RETRY_BASE_MS", 200)?,
        proxies: proxies(src),
    })
}

/// The proxy variables, upper case winning over lower case as in curl and reqwest.
fn proxies(src: &Source) -> tenmon_llm::Proxies {
    // A proxy URL may carry a password: shown redacted by check-config.
    let url = |upper: &'static str, lower: &'static str| {
        let read = |k| {
            src.secret(k).map(|s| secrecy::ExposeSecret::expose_secret(&s).trim().to_string()).filter(|v| !v.is_empty())
        };
        read(upper).or_else(|| read(lower))
    };
    let no_proxy = src.opt_string("NO_PROXY").filter(|v| !v.is_empty());
    tenmon_llm::Proxies {
        http: url("HTTP_PROXY", "http_proxy"),
        https: url("HTTPS_PROXY", "https_proxy"),
        all: url("ALL_PROXY", "all_proxy"),
        no_proxy: no_proxy.or_else(|| src.opt_string("no_proxy").filter(|v| !v.is_empty())),
    }
}

/// `EMBEDDING_*`: off unless `EMBEDDING_MODEL` names a model. Every variable is
/// read either way, so `check-config` lists them.
fn embedding(src: &Source, llm: &LlmConfig) -> Result<Option<EmbeddingConfig>, ConfigError> {
    let model = src.string("EMBEDDING_MODEL", "");
    let base = src.opt_string("EMBEDDING_BASE_URL").filter(|b| !b.is_empty());
    let key = src.secret("EMBEDDING_API_KEY");
    let timeout = seconds(src, "EMBEDDING_TIMEOUT_SECONDS", 30)?;
    let query_ms: u64 = src.parse("EMBEDDING_QUERY_TIMEOUT_MS", 2000, "a number of milliseconds")?;
    if !(1..=60_000).contains(&query_ms) {
        return Err(ConfigError::new("EMBEDDING_QUERY_TIMEOUT_MS", "must be from 1 to 60000"));
    }
    let batch: usize = src.parse("EMBEDDING_BATCH_SIZE", 128, "a number of inputs from 1 to 2048")?;
    if !(1..=2048).contains(&batch) {
        return Err(ConfigError::new("EMBEDDING_BATCH_SIZE", "must be from 1 to 2048"));
    }
    let floor: f32 = src.parse("EMBEDDING_SIMILARITY_FLOOR", 0.3, "a number from 0 to 1")?;
    let full: f32 = src.parse("EMBEDDING_SIMILARITY_FULL", 0.8, "a number from 0 to 1")?;
    if !(0.0..1.0).contains(&floor) {
        return Err(ConfigError::new("EMBEDDING_SIMILARITY_FLOOR", "must be from 0 to below 1"));
    }
    if !(full > floor && full <= 1.0) {
        return Err(ConfigError::new(
            "EMBEDDING_SIMILARITY_FULL",
            format!("must be above EMBEDDING_SIMILARITY_FLOOR ({floor}) and at most 1"),
        ));
    }
    if model.is_empty() {
        return Ok(None);
    }
    let primary = llm.upstreams.iter().find(|u| u.name == "primary");
    let (base_url, api_key) = match (base, primary) {
        (Some(b), primary) => {
            let b = http_url("EMBEDDING_BASE_URL", &b)?;
            // The chat model's key only goes to the chat model's server.
            let same = primary.filter(|p| p.base_url == b);
            (b, key.or_else(|| same.and_then(|p| p.api_key.clone())))
        }
        (None, Some(p)) => (p.base_url.clone(), key.or_else(|| p.api_key.clone())),
        (None, None) if key.is_some() => (DEFAULT_OPENAI_BASE_URL.to_string(), key),
        (None, None) => {
            return Err(ConfigError::new(
                "EMBEDDING_MODEL",
                "needs a server: set EMBEDDING_BASE_URL (or OPENAI_BASE_URL), or an API key for OpenAI \
                 (EMBEDDING_API_KEY or OPENAI_API_KEY)",
            ))
        }
    };
    Ok(Some(EmbeddingConfig {
        model,
        base_url,
        api_key,
        timeout,
        query_timeout: Duration::from_millis(query_ms),
        batch,
        similarity_floor: floor,
        similarity_full: full,
    }))
}

fn parse_port(src: &Source, key: &'static str, default: u16) -> Result<u16, ConfigError> {
    let p: u16 = src.parse(key, default, "a port number 1-65535")?;
    if p == 0 {
        return Err(ConfigError::new(key, "invalid value \"0\": expected a port number 1-65535"));
    }
    Ok(p)
}

/// Two HTTP event loops per core (see `serve::loops` for why), at most 16: each loop
/// keeps its own upstream connections, and more loops than that only mean more cold
/// connections (a TLS handshake each) when traffic is light; 16 loops proxy far more
/// than any model upstream takes.
fn default_http_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (2 * cores).min(16)
}

fn seconds(src: &Source, key: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let s: u64 = src.parse(key, default, "a number of seconds")?;
    if s == 0 || s > 86_400 {
        return Err(ConfigError::new(key, format!("{s} is out of range: expected 1 to 86400 seconds")));
    }
    Ok(Duration::from_secs(s))
}

fn readable_file(key: &str, path: &str) -> Result<PathBuf, ConfigError> {
    let p = PathBuf::from(path);
    std::fs::File::open(&p).map_err(|e| ConfigError::new(key, format!("cannot read {path}: {e}")))?;
    Ok(p)
}

fn cors(src: &Source) -> Result<CorsOrigins, ConfigError> {
    let Some(raw) = src.opt_string("CORS_ORIGIN") else {
        return Ok(CorsOrigins::None);
    };
    if raw.trim() == "*" {
        return Ok(CorsOrigins::Any);
    }
    let mut list = Vec::new();
    for origin in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let origin = origin.trim_end_matches('/');
        let uri: http::Uri = origin.parse().map_err(|_| {
            ConfigError::invalid("CORS_ORIGIN", origin, "comma-separated origins such as https://example.jp")
        })?;
        let ok_scheme = matches!(uri.scheme_str(), Some("http" | "https"));
        let bare = uri.path_and_query().is_none_or(|pq| pq.as_str() == "/" || pq.as_str().is_empty());
        if !ok_scheme || uri.host().is_none() || !bare {
            return Err(ConfigError::invalid(
                "CORS_ORIGIN",
                origin,
                "origins like https://example.jp (scheme and host, no path)",
            ));
        }
        let value =
            HeaderValue::from_str(origin).map_err(|_| ConfigError::invalid("CORS_ORIGIN", origin, "a valid origin"))?;
        list.push(value);
    }
    Ok(if list.is_empty() { CorsOrigins::None } else { CorsOrigins::List(list) })
}

fn log_filter(level: &str) -> Result<String, ConfigError> {
    let lower = level.to_ascii_lowercase();
    let directive = match lower.as_str() {
        // A bare level: keep the libraries' chatter down.
        "error" | "warn" | "info" | "debug" | "trace" | "off" => {
            format!("{lower},sqlx=warn,hyper=warn,h2=warn,rustls=warn,tower_http=warn,tantivy=warn")
        }
        _ => level.to_string(),
    };
    tracing_subscriber::EnvFilter::builder().parse(&directive).map_err(|e| {
        ConfigError::new(
            "LOG_LEVEL",
            format!("invalid value {:?}: {e} (use error, warn, info, debug or trace)", truncate(level)),
        )
    })?;
    Ok(directive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_source(&Source::from_layers(env, HashMap::new(), HashMap::new(), toml::Table::new()))
    }

    #[test]
    fn defaults() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.server.port, 3000);
        assert_eq!(c.server.host.to_string(), "127.0.0.1");
        assert_eq!(c.database.url.expose(), "sqlite://data/tenmon-ark.db");
        assert_eq!(c.env, AppEnv::Development);
        assert_eq!(c.log.format, LogFormat::Pretty);
        assert_eq!(c.server.cors, CorsOrigins::None);
        assert!(c.server.tls.is_none());
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (pairs, var) in [
            (vec![("PORT", "abc")], "PORT"),
            (vec![("PORT", "70000")], "PORT"),
            (vec![("HOST", "not-an-ip")], "HOST"),
            (vec![("DATABASE_URL", "oracle://x")], "DATABASE_URL"),
            (vec![("DATABASE_POOL_MAX", "0")], "DATABASE_POOL_MAX"),
            (vec![("DATABASE_POOL_MIN", "9"), ("DATABASE_POOL_MAX", "2")], "DATABASE_POOL_MIN"),
            (vec![("DATABASE_SSL", "maybe")], "DATABASE_SSL"),
            (vec![("LOG_LEVEL", "loud=[")], "LOG_LEVEL"),
            (vec![("LOG_FORMAT", "xml")], "LOG_FORMAT"),
            (vec![("NODE_ENV", "space")], "NODE_ENV"),
            (vec![("CORS_ORIGIN", "example.jp/path")], "CORS_ORIGIN"),
            (
                vec![("SSL_CERT_PATH", "/nonexistent/cert.pem"), ("SSL_KEY_PATH", "/nonexistent/key.pem")],
                "SSL_CERT_PATH",
            ),
            (vec![("SSL_CERT_PATH", "/etc/hostname")], "SSL_KEY_PATH"),
            (vec![("SHUTDOWN_GRACE_SECONDS", "0")], "SHUTDOWN_GRACE_SECONDS"),
            (vec![("BODY_LIMIT_BYTES", "-1")], "BODY_LIMIT_BYTES"),
            (vec![("HTTP_THREADS", "-1")], "HTTP_THREADS"),
            (vec![("FILE_UPLOAD_TIMEOUT_SECONDS", "0")], "FILE_UPLOAD_TIMEOUT_SECONDS"),
            (vec![("HTTP_THREADS", "5000")], "HTTP_THREADS"),
        ] {
            let err = parse(&pairs).unwrap_err();
            assert_eq!(err.var, var, "{pairs:?} gave {err}");
            assert!(err.to_string().starts_with(&format!("configuration error: {var}: ")), "{err}");
        }
    }

    #[test]
    fn http_threads_default_to_two_per_core_up_to_16() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(parse(&[]).unwrap().server.http_threads, (2 * cores).min(16));
        assert_eq!(parse(&[("HTTP_THREADS", "0")]).unwrap().server.http_threads, 0);
        assert_eq!(parse(&[("HTTP_THREADS", "3")]).unwrap().server.http_threads, 3);
    }

    #[test]
    fn uploads_get_five_minutes_unless_set() {
        assert_eq!(parse(&[]).unwrap().files.upload_timeout, Duration::from_secs(300));
        let set = parse(&[("FILE_UPLOAD_TIMEOUT_SECONDS", "900")]).unwrap();
        assert_eq!(set.files.upload_timeout, Duration::from_secs(900));
    }

    #[test]
    fn node_env_and_cors_list() {
        let err = parse(&[("NODE_ENV", "production")]).unwrap_err();
        assert_eq!(err.var, "JWT_SECRET", "production needs a real signing key");
        let c = parse(&[
            ("NODE_ENV", "production"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("CORS_ORIGIN", "https://a.jp, https://b.jp:8443/"),
        ])
        .unwrap();
        assert_eq!(c.env, AppEnv::Production);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(
            c.server.cors,
            CorsOrigins::List(vec![
                HeaderValue::from_static("https://a.jp"),
                HeaderValue::from_static("https://b.jp:8443")
            ])
        );
    }

    #[test]
    fn debug_and_resolved_never_show_secrets() {
        let c = parse(&[("DATABASE_URL", "postgres://app:pa55word@db/mnp"), ("METRICS_TOKEN", "tok-123456")]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("pa55word") && !shown.contains("tok-123456"), "{shown}");
        assert!(c.resolved.iter().all(|r| !r.shown.contains("pa55word") && !r.shown.contains("tok-123456")));
    }

    #[test]
    fn model_upstreams_from_env_and_file() {
        assert!(parse(&[]).unwrap().llm.upstreams.is_empty(), "no key, no URL: no model");
        let c = parse(&[("OPENAI_API_KEY", "sk-test")]).unwrap();
        assert_eq!(c.llm.upstreams[0].base_url, "https://api.openai.com/v1");
        let c = parse(&[("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/"), ("OPENAI_MODEL", "qwen")]).unwrap();
        assert_eq!(c.llm.upstreams[0].base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(c.llm.upstreams[0].model, "qwen");
        assert_eq!(parse(&[("OPENAI_BASE_URL", "ftp://x")]).unwrap_err().var, "OPENAI_BASE_URL");
        let table: toml::Table =
            "[[upstreams]]\nbase_url = \"http://10.0.0.9/v1\"\nmodel = \"backup\"\n".parse().unwrap();
        let src = Source::from_layers(
            [("OPENAI_API_KEY".to_string(), "k".to_string())].into(),
            HashMap::new(),
            HashMap::new(),
            table,
        );
        let c = Config::from_source(&src).unwrap();
        assert_eq!(c.llm.upstreams.len(), 2);
        assert_eq!(c.llm.upstreams[1].model, "backup");
        assert!(!format!("{c:?}").contains("\"k\""));
    }

    #[test]
    fn embeddings_are_off_by_default_and_borrow_the_chat_server() {
        use secrecy::ExposeSecret;
        assert!(parse(&[]).unwrap().kb.embedding.is_none());
        assert!(parse(&[("OPENAI_API_KEY", "sk-chat")]).unwrap().kb.embedding.is_none(), "off unless a model is named");
        let c = parse(&[("OPENAI_API_KEY", "sk-chat"), ("EMBEDDING_MODEL", "text-embedding-3-small")]).unwrap();
        let e = c.kb.embedding.unwrap();
        assert_eq!((e.model.as_str(), e.base_url.as_str()), ("text-embedding-3-small", "https://api.openai.com/v1"));
        assert_eq!(e.api_key.unwrap().expose_secret(), "sk-chat");
        assert_eq!((e.batch, e.query_timeout, e.timeout), (128, Duration::from_secs(2), Duration::from_secs(30)));
        // Another server: the chat model's key stays home.
        let c = parse(&[
            ("OPENAI_API_KEY", "sk-chat"),
            ("EMBEDDING_MODEL", "bge-m3"),
            ("EMBEDDING_BASE_URL", "http://10.0.0.7:8080/v1/"),
        ])
        .unwrap();
        let e = c.kb.embedding.unwrap();
        assert_eq!(e.base_url, "http://10.0.0.7:8080/v1");
        assert!(e.api_key.is_none());
        let c = parse(&[("EMBEDDING_MODEL", "m"), ("EMBEDDING_API_KEY", "sk-emb")]).unwrap();
        assert_eq!(c.kb.embedding.unwrap().base_url, "https://api.openai.com/v1");
        assert!(c.resolved.iter().all(|r| !r.shown.contains("sk-emb")));
        for (pairs, var) in [
            (vec![("EMBEDDING_MODEL", "m")], "EMBEDDING_MODEL"),
            (vec![("EMBEDDING_MODEL", "m"), ("EMBEDDING_BASE_URL", "ftp://x")], "EMBEDDING_BASE_URL"),
            (vec![("EMBEDDING_BATCH_SIZE", "0")], "EMBEDDING_BATCH_SIZE"),
            (vec![("EMBEDDING_QUERY_TIMEOUT_MS", "0")], "EMBEDDING_QUERY_TIMEOUT_MS"),
            (vec![("EMBEDDING_SIMILARITY_FULL", "0.2")], "EMBEDDING_SIMILARITY_FULL"),
        ] {
            assert_eq!(parse(&pairs).unwrap_err().var, var, "{pairs:?}");
        }
    }

    #[test]
    fn assistants_from_the_config_file() {
        let table: toml::Table = "[[assistants]]\nid = \"sales\"\nsystem_prompt = \"売る\"\ntemperature = 0.3\nknowledge_bases = [\"mnp\"]\n".parse().unwrap();
        let src = Source::from_layers(HashMap::new(), HashMap::new(), HashMap::new(), table);
        let c = Config::from_source(&src).unwrap();
        assert_eq!(c.assistants[0].0.id, "sales");
        assert_eq!(c.assistants[0].0.knowledge_bases, vec!["mnp".to_string()]);
        let bad: toml::Table = "[[assistants]]\nid = \"Bad Id\"\nsystem_prompt = \"x\"\n".parse().unwrap();
        let err =
            Config::from_source(&Source::from_layers(HashMap::new(), HashMap::new(), HashMap::new(), bad)).unwrap_err();
        assert_eq!(err.var, "assistants[0].id");
    }

    #[test]
    fn redis_url_takes_the_password_and_never_shows_it() {
        use secrecy::ExposeSecret;
        assert!(parse(&[]).unwrap().redis.is_none());
        let c = parse(&[("REDIS_URL", "redis://cache:6379/0"), ("REDIS_PASSWORD", "p@ss word")]).unwrap();
        let r = c.redis.clone().unwrap();
        assert_eq!(r.url.expose_secret(), "redis://:p%40ss%20word@cache:6379/0");
        assert_eq!(r.shown, "redis://:***@cache:6379/0");
        let c = parse(&[("REDIS_URL", "rediss://app:s3cret@cache:6380")]).unwrap();
        assert_eq!(c.redis.as_ref().unwrap().shown, "rediss://app:***@cache:6380");
        assert!(c.resolved.iter().all(|r| !r.shown.contains("s3cret")));
        assert!(!format!("{c:?}").contains("s3cret"));
        for bad in ["http://cache:6379", "cache:6379", "redis://"] {
            assert_eq!(parse(&[("REDIS_URL", bad)]).unwrap_err().var, "REDIS_URL", "{bad}");
        }
        assert_eq!(parse(&[("REDIS_PASSWORD", "x")]).unwrap_err().var, "REDIS_URL");
    }

    #[test]
    fn proxies_are_read_once_upper_case_first_and_shown_redacted() {
        let c = parse(&[
            ("http_proxy", "http://lower:3128"),
            ("HTTP_PROXY", "http://user:pw@upper:3128"),
            ("https_proxy", "http://lower-tls:3128"),
            ("no_proxy", "localhost,.internal"),
        ])
        .unwrap();
        let p = &c.llm.proxies;
        assert_eq!(p.http.as_deref(), Some("http://user:pw@upper:3128"));
        assert_eq!(p.https.as_deref(), Some("http://lower-tls:3128"));
        assert_eq!((p.all.as_deref(), p.no_proxy.as_deref()), (None, Some("localhost,.internal")));
        let shown = c.resolved.iter().find(|r| r.key == "HTTP_PROXY").unwrap();
        assert!(!shown.shown.contains("pw"), "a proxy password is not shown: {}", shown.shown);
        assert_eq!(parse(&[]).unwrap().llm.proxies, tenmon_llm::Proxies::default());
    }

    /// `.env.example` must document every variable the binary reads.
    #[test]
    fn env_example_documents_every_variable() {
        let example = include_str!("../../../../.env.example");
        let documented: Vec<&str> = example
            .lines()
            .map(|l| l.trim_start_matches('#').trim())
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .collect();
        let c = parse(&[]).unwrap();
        let missing: Vec<&str> = c.resolved.iter().map(|r| r.key).filter(|k| !documented.contains(k)).collect();
        assert!(missing.is_empty(), ".env.example lacks {missing:?}");
    }
}
