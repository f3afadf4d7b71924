//! The application state every handler shares.

use crate::config::Config;
use crate::metrics::Metrics;
use axum::extract::Request;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tenmon_chat::{Assistants, ChatService, ChatSettings, TurnMetrics};
use tenmon_llm::{OpenAiConfig, OpenAiProvider, RetryPolicy, Timeouts, Upstream, Upstreams};
use tenmon_store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Cheap to clone: one `Arc` around [`App`].
#[derive(Clone, Debug)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// Everything that lives as long as the server.
#[derive(Debug)]
pub struct App {
    /// Settings, parsed once at start.
    pub config: Config,
    /// The database, behind the one storage trait.
    pub store: Arc<dyn Store>,
    /// Prometheus registry and the HTTP metrics.
    pub metrics: Metrics,
    /// Monotonic start, for uptime.
    pub started: Instant,
    /// Wall-clock start, for `process_start_time_seconds`.
    pub started_at: SystemTime,
    /// Every background task, so shutdown can wait for them.
    pub tasks: TaskTracker,
    /// Cancelled when shutdown begins.
    pub shutdown: CancellationToken,
    /// Cancelled when the grace period is over: running turns store what they have.
    pub hard_stop: CancellationToken,
    /// Chat turns.
    pub chat: ChatService,
    /// The LINE channel, when configured.
    pub line: Option<crate::line::LineChannel>,
    /// "Sign in with …", when configured.
    pub oidc: Option<crate::oidc::Oidc>,
    /// Knowledge bases and their search.
    pub kb: tenmon_kb::KnowledgeBase,
    /// Accounts, logins and tokens.
    pub accounts: crate::accounts::Accounts,
    /// Uploaded files and their storage.
    pub files: crate::files::Files,
    /// The /browser reader's fetcher (SSRF-safe).
    pub fetcher: tenmon_browser::Fetcher,
    /// Stripe billing, when configured.
    pub billing: Option<crate::billing::Billing>,
    /// Redis, when the replicas share one.
    pub redis: Option<Arc<crate::redis::Redis>>,
    /// Rate limits (in Redis for several replicas, else in memory).
    pub limiter: Arc<dyn crate::ratelimit::RateLimiter>,
}

impl AppState {
    /// Assemble the state around an opened, migrated store (loads the knowledge
    /// bases into the search index; seeds the MNP pack on first start).
    pub async fn build(config: Config, store: Arc<dyn Store>) -> Result<Self, BuildError> {
        let store = protect(store, &config);
        let kb = tenmon_kb::KnowledgeBase::load(store.clone(), crate::embeddings::kb_settings(&config)).await?;
        let files = crate::files::Files::new(config.files.clone(), store.clone())?;
        let fetcher = tenmon_browser::Fetcher::new(tenmon_browser::FetchSettings {
            allowed_hosts: config.browser.allowed_hosts.clone(),
            max_bytes: config.browser.max_bytes as usize,
            timeout: config.browser.timeout,
            max_redirects: config.browser.max_redirects,
            ..tenmon_browser::FetchSettings::default()
        })?;
        let state = Self::with_kb(config, store, kb, files, fetcher);
        if let Err(e) = crate::assistants::reload(&state).await {
            tracing::error!(error = %e, "could not load the admins' assistants");
        }
        crate::assistants::follow(&state);
        if let Some((email, password)) = &state.config.auth.admin {
            match state.accounts.bootstrap_admin(email, password).await {
                Ok(true) => tracing::info!("created the first admin from ADMIN_EMAIL"),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "could not create the first admin"),
            }
        }
        Ok(state)
    }

    fn with_kb(
        config: Config,
        store: Arc<dyn Store>,
        kb: tenmon_kb::KnowledgeBase,
        files: crate::files::Files,
        fetcher: tenmon_browser::Fetcher,
    ) -> Self {
        let started_at = SystemTime::now();
        let mut metrics = Metrics::new(started_at);
        let turn_metrics = TurnMetrics::default();
        turn_metrics.register(metrics.registry_mut());
        kb.metrics().register(metrics.registry_mut());
        let tasks = TaskTracker::new();
        let hard_stop = CancellationToken::new();
        let chat = ChatService::new(
            store.clone(),
            upstreams(&config).counting_retries_in(turn_metrics.retries.clone()),
            Some(kb.clone()),
            Assistants::builtin().with(config.assistants.iter().map(|a| a.0.clone()).collect()),
            tasks.clone(),
            hard_stop.clone(),
            ChatSettings {
                max_tokens: Some(config.llm.max_tokens),
                history_budget: config.chat.history_token_budget,
                max_message_chars: config.chat.max_message_chars,
                mask: config.privacy.mask,
                store_personal_data: config.privacy.store_personal_data,
                ..ChatSettings::default()
            },
            turn_metrics,
        );
        let redis = config.redis.as_ref().and_then(|r| match crate::redis::Redis::new(r) {
            Ok(redis) => Some(redis),
            Err(e) => {
                tracing::error!(error = %e, "REDIS_URL cannot be used; running without Redis");
                None
            }
        });
        let limiter: Arc<dyn crate::ratelimit::RateLimiter> = match &redis {
            Some(r) => {
                Arc::new(crate::ratelimit::RedisLimiter::new(r.clone(), config.rate_limit.api, config.rate_limit.auth))
            }
            None => Arc::new(crate::ratelimit::LocalLimiter::new(config.rate_limit.api, config.rate_limit.auth)),
        };
        let accounts = crate::accounts::Accounts::new(
            store.clone(),
            crate::accounts::AccountSettings {
                jwt_secret: config.auth.jwt_secret.clone(),
                access_ttl: config.auth.access_ttl,
                refresh_ttl: config.auth.refresh_ttl,
                signup: config.auth.signup,
            },
        );
        let line = config
            .line
            .clone()
            .map(|c| crate::line::LineChannel::new(c, store.clone(), chat.clone(), kb.clone(), tasks.clone()));
        let oidc = config.auth.oidc.clone().map(crate::oidc::Oidc::new);
        let billing = config.billing.as_ref().and_then(|b| match crate::billing::Billing::new(b, store.clone()) {
            Ok(billing) => Some(billing),
            Err(e) => {
                tracing::error!(error = %e, "billing is configured but cannot start; it stays off");
                None
            }
        });
        metrics.registry_mut().register_collector(Box::new(crate::metrics::DependencyCollector {
            store: store.clone(),
            redis: redis.clone(),
        }));
        let shutdown = CancellationToken::new();
        if config.kb.embedding.is_some() {
            let (kb, stop) = (kb.clone(), shutdown.clone());
            tasks.spawn(async move {
                kb.keep_vectors_fresh(crate::embeddings::BACKFILL_EVERY, stop.cancelled_owned()).await;
            });
        }
        if let Some(r) = &redis {
            r.start(&tasks, shutdown.clone());
            share_kb_edits(r, &kb, &tasks, &shutdown);
            kb.set_shared_cache(r.clone());
        }
        AppState(Arc::new(App {
            redis,
            oidc,
            billing,
            files,
            fetcher,
            line,
            config,
            store,
            metrics,
            started: Instant::now(),
            started_at,
            tasks,
            shutdown,
            hard_stop,
            chat,
            kb,
            accounts,
            limiter,
        }))
    }
}

/// Knowledge-base edits made on one replica reach the others' indexes: each edit
/// here is announced on Redis; an announcement from another replica reloads the
/// index here (a burst of edits, e.g. an import, reloads once).
fn share_kb_edits(
    redis: &Arc<crate::redis::Redis>,
    kb: &tenmon_kb::KnowledgeBase,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) {
    let (r, mut edits, stop) = (redis.clone(), kb.changes(), shutdown.clone());
    tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                e = edits.recv() => if matches!(e, Err(tokio::sync::broadcast::error::RecvError::Closed)) { break },
            }
            if let Err(e) = r.announce("kb").await {
                tracing::warn!(error = %e, "could not tell the other replicas about a knowledge-base edit");
            }
        }
    });
    let kb = kb.clone();
    redis.on_notice(tasks, shutdown.clone(), "kb", move || {
        let kb = kb.clone();
        async move {
            match kb.reload().await {
                Ok(n) => tracing::info!(entries = n, "knowledge bases reloaded after an edit on another replica"),
                Err(e) => tracing::error!(error = %e, "could not reload the knowledge bases"),
            }
        }
    });
}

/// Why the state could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("knowledge base: {0}")]
    Kb(#[from] tenmon_kb::KbError),
    #[error("file storage (FILE_STORAGE_DIR / S3_*): {0}")]
    Files(#[from] tenmon_files::FileError),
    #[error("the /browser reader (BROWSER_*): {0}")]
    Browser(#[from] tenmon_browser::FetchError),
}

/// With `ENCRYPTION_KEY`, the store seals personal text at rest.
pub fn protect(store: Arc<dyn Store>, config: &Config) -> Arc<dyn Store> {
    let Some(key) = &config.privacy.encryption_key else { return store };
    match tenmon_privacy::Keyring::parse(secrecy::ExposeSecret::expose_secret(key)) {
        Ok(ring) => Arc::new(tenmon_store::EncryptedStore::new(store, ring)),
        // Checked when the configuration was loaded.
        Err(_) => store,
    }
}

/// The configured model upstreams, in order.
fn upstreams(config: &Config) -> Upstreams {
    let llm = &config.llm;
    let list = llm
        .upstreams
        .iter()
        .enumerate()
        .filter_map(|(i, u)| {
            let provider = OpenAiProvider::new(OpenAiConfig {
                name: u.name.clone(),
                base_url: u.base_url.clone(),
                api_key: u.api_key.clone(),
                model: u.model.clone(),
                connect_timeout: llm.connect_timeout,
                proxies: llm.proxies.clone(),
            });
            match provider {
                // The first upstream answers with the model the caller asked for; a
                // fallback always uses its own (the caller's may not exist there).
                Ok(p) => Some(Upstream { provider: Arc::new(p), model: (i > 0).then(|| u.model.clone()) }),
                Err(e) => {
                    tracing::error!(upstream = %u.name, error = %e, "cannot set up upstream");
                    None
                }
            }
        })
        .collect();
    Upstreams::new(
        list,
        Timeouts { first_token: llm.first_token_timeout, idle: llm.idle_timeout, completion: llm.completion_timeout },
        RetryPolicy { max_retries: llm.max_retries, base_delay: llm.retry_base, ..RetryPolicy::default() },
    )
}

/// The body limit for this request (0 when unknown).
pub fn body_limit_hint(req: &Request) -> usize {
    crate::middleware::context::RequestContext::of(req).map_or(0, |c| c.body_limit)
}
