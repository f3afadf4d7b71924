//! Redis, shared by the replicas: one self-reconnecting connection for commands
//! (rate limits, the jobs' lease, publishing), one subscriber task for the
//! replicas' notices. Redis is never required: while it is away every caller falls
//! back to what one replica can do alone (local limits, jobs run here), `/health`
//! says degraded, and the connection comes back by itself.

use crate::config::RedisConfig;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, RwLock};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Longest a command may take before the caller falls back.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the monitor pings.
const MONITOR_INTERVAL: Duration = Duration::from_millis(500);
/// The channel the replicas tell each other on: turns started (Socket.IO) and
/// knowledge-base edits.
pub const NOTICES_CHANNEL: &str = "tenmon:notices";

/// The shared Redis.
#[derive(Debug)]
pub struct Redis {
    client: redis::Client,
    conn: RwLock<Option<ConnectionManager>>,
    healthy: AtomicBool,
    /// Microseconds the last successful ping took.
    latency_us: AtomicU64,
    /// This replica, for leases and to skip its own notices.
    pub replica_id: String,
    /// Notices from the replicas (including this one), as published.
    notices: broadcast::Sender<String>,
    /// The subscriber is subscribed (notices flow).
    subscribed: AtomicBool,
    /// Rung when Redis comes back, so the subscriber does not sleep out its backoff.
    back: tokio::sync::Notify,
}

/// Why Redis could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RedisUnavailable {
    #[error("not connected")]
    NotConnected,
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}

impl Redis {
    /// Set up (does not wait for the server: a background task connects, now or
    /// when Redis comes up).
    pub fn new(config: &RedisConfig) -> Result<Arc<Self>, redis::RedisError> {
        let client = redis::Client::open(config.url.expose_secret())?;
        Ok(Arc::new(Self {
            client,
            conn: RwLock::new(None),
            healthy: AtomicBool::new(false),
            latency_us: AtomicU64::new(0),
            replica_id: uuid::Uuid::now_v7().to_string(),
            notices: broadcast::channel(1024).0,
            subscribed: AtomicBool::new(false),
            back: tokio::sync::Notify::new(),
        }))
    }

    /// Connect in the background and keep the subscriber running until shutdown.
    pub fn start(self: &Arc<Self>, tasks: &TaskTracker, shutdown: CancellationToken) {
        let this = self.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move { this.connect_loop(stop).await });
        let this = self.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move { this.subscribe_loop(stop).await });
        let this = self.clone();
        tasks.spawn(async move { this.monitor(shutdown).await });
    }

    /// Ping every half second: the health state every caller reads. While Redis is
    /// away callers fail at once (no timeout per request); this loop notices when
    /// it is back.
    async fn monitor(&self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(MONITOR_INTERVAL) => {}
            }
            let Some(conn) = self.conn.read().await.clone() else { continue };
            let was = self.healthy();
            let start = Instant::now();
            let ping = async move {
                let mut c = conn;
                redis::cmd("PING").query_async::<String>(&mut c).await
            };
            let ok = matches!(tokio::time::timeout(COMMAND_TIMEOUT, ping).await, Ok(Ok(_)));
            if ok {
                self.latency_us.store(start.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
            self.healthy.store(ok, Ordering::Relaxed);
            if ok && !was {
                tracing::info!("Redis is back");
                self.back.notify_waiters();
            } else if !ok && was {
                tracing::warn!("Redis stopped answering; replicas work on their own until it is back");
            }
        }
    }

    async fn connect_loop(&self, shutdown: CancellationToken) {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(6)
            .set_max_delay(Duration::from_secs(2));
        let mut delay = Duration::from_millis(200);
        loop {
            match ConnectionManager::new_with_config(self.client.clone(), config.clone()).await {
                Ok(conn) => {
                    *self.conn.write().await = Some(conn);
                    self.healthy.store(true, Ordering::Relaxed);
                    tracing::info!("connected to Redis");
                    return;
                }
                Err(e) => {
                    self.healthy.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %e, "Redis is unavailable; retrying");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    async fn subscribe_loop(&self, shutdown: CancellationToken) {
        use futures::StreamExt;
        let mut delay = Duration::from_millis(200);
        loop {
            let session = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(NOTICES_CHANNEL).await?;
                self.subscribed.store(true, Ordering::Relaxed);
                let mut messages = pubsub.into_on_message();
                while let Some(msg) = messages.next().await {
                    if let Ok(payload) = msg.get_payload::<String>() {
                        let _ = self.notices.send(payload);
                    }
                }
                Ok::<(), redis::RedisError>(())
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                r = session => match r {
                    Ok(()) => tracing::warn!("Redis subscription ended; resubscribing"),
                    Err(e) => tracing::debug!(error = %e, "Redis subscription failed; retrying"),
                },
            }
            self.subscribed.store(false, Ordering::Relaxed);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
                () = self.back.notified() => {}
            }
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    /// Run one command (with the timeout), recording whether Redis answered.
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T, RedisUnavailable>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if !self.healthy() {
            // The monitor says Redis is away: do not make every request wait for it.
            return Err(RedisUnavailable::NotConnected);
        }
        let Some(conn) = self.conn.read().await.clone() else { return Err(RedisUnavailable::NotConnected) };
        let result = match tokio::time::timeout(COMMAND_TIMEOUT, op(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(RedisUnavailable::Redis(e)),
            Err(_) => Err(RedisUnavailable::Timeout(COMMAND_TIMEOUT)),
        };
        if let Err(e) = &result {
            if !matches!(e, RedisUnavailable::Redis(re) if !re.is_io_error() && !re.is_timeout() && !re.is_connection_dropped())
            {
                self.healthy.store(false, Ordering::Relaxed);
            }
        }
        result
    }

    /// Redis's state for `/health`, as the monitor last saw it: the round trip of
    /// the last ping, or why it is unavailable.
    pub fn status(&self) -> Result<Duration, &'static str> {
        if self.conn.try_read().map(|c| c.is_none()).unwrap_or(false) {
            return Err("not connected");
        }
        if !self.healthy() {
            return Err("not answering");
        }
        if !self.subscribed.load(Ordering::Relaxed) {
            return Err("resubscribing to the replicas' channel");
        }
        Ok(self.last_latency())
    }

    /// Wait (at most `limit`) for the first connection: jobs that need the lease
    /// should not start before Redis had its chance to answer.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.conn.read().await.is_some() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// The last health ping's round trip.
    pub fn last_latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }

    /// Whether the last command succeeded.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Take the lease `name` for `ttl` unless another replica holds it. `Err` when
    /// Redis is away (the caller decides whether to run anyway).
    pub async fn lease(&self, name: &str, ttl: Duration) -> Result<bool, RedisUnavailable> {
        let key = format!("tenmon:lease:{name}");
        let id = self.replica_id.clone();
        let ms = ttl.as_millis().max(1) as u64;
        let set: Option<String> = self
            .run(|mut c| async move {
                redis::cmd("SET").arg(&key).arg(&id).arg("NX").arg("PX").arg(ms).query_async(&mut c).await
            })
            .await?;
        Ok(set.is_some())
    }

    /// Tell the replicas something (best effort).
    pub async fn publish(&self, channel: &str, payload: &str) -> Result<(), RedisUnavailable> {
        let (channel, payload) = (channel.to_string(), payload.to_string());
        self.run(
            |mut c| async move { redis::cmd("PUBLISH").arg(channel).arg(payload).query_async::<i64>(&mut c).await },
        )
        .await
        .map(|_| ())
    }

    /// Tell the other replicas that `kind` changed here (`kb`, `assistants`), so they
    /// reload it (see [`Self::on_notice`]).
    pub async fn announce(&self, kind: &str) -> Result<(), RedisUnavailable> {
        let notice = serde_json::json!({"kind": kind, "replica": self.replica_id}).to_string();
        self.publish(NOTICES_CHANNEL, &notice).await
    }

    /// Run `reload` whenever another replica announces `kind`: after a burst has
    /// settled (200 ms), once; also after missed notices (the receiver lagged).
    pub fn on_notice<F, Fut>(
        self: &Arc<Self>,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
        kind: &'static str,
        reload: F,
    ) where
        F: Fn() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let this = self.clone();
        let mut notices = self.notices();
        tasks.spawn(async move {
            loop {
                let n = tokio::select! {
                    () = shutdown.cancelled() => break,
                    n = notices.recv() => n,
                };
                match n {
                    Ok(text) => {
                        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                        if v["kind"] != kind || v["replica"] == this.replica_id.as_str() {
                            continue;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                while notices.try_recv().is_ok() {}
                reload().await;
            }
        });
    }

    /// Notices published by the replicas.
    pub fn notices(&self) -> broadcast::Receiver<String> {
        self.notices.subscribe()
    }
}

/// The knowledge base's shared search cache: one replica's (embedded) search serves
/// the same question on the others. While Redis is away `run` fails at once, so a
/// search is only as slow as searching.
#[async_trait::async_trait]
impl tenmon_kb::SharedCache for Redis {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let key = key.to_string();
        self.run(|mut c| async move { redis::cmd("GET").arg(key).query_async::<Option<Vec<u8>>>(&mut c).await })
            .await
            .ok()
            .flatten()
    }

    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let (key, ms) = (key.to_string(), ttl.as_millis().max(1) as u64);
        let stored = self
            .run(|mut c| async move {
                redis::cmd("SET").arg(key).arg(value).arg("PX").arg(ms).query_async::<()>(&mut c).await
            })
            .await;
        if let Err(e) = stored {
            tracing::debug!(error = %e, "search result not shared");
        }
    }
}
