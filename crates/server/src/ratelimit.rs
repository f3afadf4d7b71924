//! Rate limits: GCRA per key (the `governor` crate), behind a trait so the shared
//! Redis limiter of a multi-replica deployment can replace the in-memory one.
//! Two buckets: every API request (per client IP and per credential), and the
//! stricter one for login, sign-up and token refresh (per IP and per account).

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// Which limit applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Api,
    /// Login, sign-up and refresh, per client IP.
    Auth,
    /// Login attempts per account (more generous than per IP, so one guessing
    /// client is stopped before the account is throttled for everyone).
    Account,
}

/// A decision and what the `RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// Seconds to wait, when refused.
    pub retry_after_secs: u64,
}

#[async_trait]
pub trait RateLimiter: Send + Sync + std::fmt::Debug {
    async fn check(&self, bucket: Bucket, key: &str) -> Decision;
    /// The decision at once, for a limiter that needs no round trip (in memory);
    /// `None` sends the caller to [`check`](Self::check). Every request passes here,
    /// and the async call costs a boxed future and a copy of the key.
    fn check_now(&self, _bucket: Bucket, _key: &String) -> Option<Decision> {
        None
    }
    /// Forget idle keys (memory housekeeping).
    fn sweep(&self) {}
}

type Keyed = DefaultKeyedRateLimiter<String, StateInformationMiddleware>;

/// A quota: `max` requests per `window`, refilled evenly.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    fn quota(&self) -> Quota {
        let max = NonZeroU32::new(self.max.max(1)).unwrap_or(NonZeroU32::MIN);
        let period = (self.window / max.get()).max(Duration::from_nanos(1));
        Quota::with_period(period).unwrap_or_else(|| Quota::per_second(max)).allow_burst(max)
    }

    fn period_secs(&self) -> f64 {
        self.window.as_secs_f64() / f64::from(self.max.max(1))
    }
}

/// The in-process limiter (one replica).
pub struct LocalLimiter {
    api: Keyed,
    auth: Keyed,
    account: Keyed,
    api_limit: Limit,
    auth_limit: Limit,
    account_limit: Limit,
}

impl std::fmt::Debug for LocalLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLimiter").field("api", &self.api_limit).field("auth", &self.auth_limit).finish()
    }
}

impl LocalLimiter {
    pub fn new(api_limit: Limit, auth_limit: Limit) -> Self {
        let account_limit = Limit { max: auth_limit.max.saturating_mul(5), window: auth_limit.window };
        let keyed = |l: Limit| governor::RateLimiter::keyed(l.quota()).with_middleware::<StateInformationMiddleware>();
        Self {
            api: keyed(api_limit),
            auth: keyed(auth_limit),
            account: keyed(account_limit),
            api_limit,
            auth_limit,
            account_limit,
        }
    }
}

#[async_trait]
impl RateLimiter for LocalLimiter {
    async fn check(&self, bucket: Bucket, key: &str) -> Decision {
        self.decide(bucket, &key.to_string())
    }

    fn check_now(&self, bucket: Bucket, key: &String) -> Option<Decision> {
        Some(self.decide(bucket, key))
    }

    fn sweep(&self) {
        for l in [&self.api, &self.auth, &self.account] {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

impl LocalLimiter {
    fn decide(&self, bucket: Bucket, key: &String) -> Decision {
        let (limiter, limit) = match bucket {
            Bucket::Api => (&self.api, self.api_limit),
            Bucket::Auth => (&self.auth, self.auth_limit),
            Bucket::Account => (&self.account, self.account_limit),
        };
        match limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = limit.max.saturating_sub(remaining);
                Decision {
                    allowed: true,
                    limit: limit.max,
                    remaining,
                    reset_secs: (f64::from(used) * limit.period_secs()).ceil() as u64,
                    retry_after_secs: 0,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Decision {
                    allowed: false,
                    limit: limit.max,
                    remaining: 0,
                    reset_secs: limit.window.as_secs().max(1),
                    retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
                }
            }
        }
    }
}

/// The limiter shared by every replica: the same GCRA as [`LocalLimiter`], kept in
/// Redis by one Lua script (read, decide and write in one atomic round trip, on
/// Redis's clock so replicas' clocks need not agree). While Redis is away it falls
/// back to the local limiter: limits then hold per replica, not globally.
#[derive(Debug)]
pub struct RedisLimiter {
    redis: std::sync::Arc<crate::redis::Redis>,
    local: LocalLimiter,
    api_limit: Limit,
    auth_limit: Limit,
    account_limit: Limit,
    script: redis::Script,
}

/// KEYS[1] = bucket key; ARGV = interval (µs per request), burst.
/// Returns {allowed, remaining, reset_us, retry_us}.
const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - (burst - 1) * interval
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
local remaining = math.floor((now - (new_tat - burst * interval)) / interval)
if remaining < 0 then remaining = 0 end
return {1, remaining, new_tat - now, 0}
"#;

impl RedisLimiter {
    pub fn new(redis: std::sync::Arc<crate::redis::Redis>, api_limit: Limit, auth_limit: Limit) -> Self {
        let account_limit = Limit { max: auth_limit.max.saturating_mul(5), window: auth_limit.window };
        Self {
            redis,
            local: LocalLimiter::new(api_limit, auth_limit),
            api_limit,
            auth_limit,
            account_limit,
            script: redis::Script::new(GCRA),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn check(&self, bucket: Bucket, key: &str) -> Decision {
        let (limit, name) = match bucket {
            Bucket::Api => (self.api_limit, "api"),
            Bucket::Auth => (self.auth_limit, "auth"),
            Bucket::Account => (self.account_limit, "account"),
        };
        let interval_us = ((limit.window.as_micros() / u128::from(limit.max.max(1))).max(1)) as u64;
        let redis_key = format!("tenmon:rl:{name}:{key}");
        let script = &self.script;
        let result = self
            .redis
            .run(|mut c| async move {
                script
                    .key(redis_key)
                    .arg(interval_us)
                    .arg(limit.max.max(1))
                    .invoke_async::<(i64, i64, i64, i64)>(&mut c)
                    .await
            })
            .await;
        match result {
            Ok((allowed, remaining, reset_us, retry_us)) => Decision {
                allowed: allowed == 1,
                limit: limit.max,
                remaining: remaining.clamp(0, i64::from(limit.max)) as u32,
                reset_secs: (reset_us.max(0) as u64).div_ceil(1_000_000),
                retry_after_secs: if allowed == 1 { 0 } else { (retry_us.max(0) as u64).div_ceil(1_000_000).max(1) },
            },
            Err(e) => {
                tracing::debug!(error = %e, "Redis rate limit unavailable; limiting locally");
                self.local.check(bucket, key).await
            }
        }
    }

    fn sweep(&self) {
        self.local.sweep();
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the
/// right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(chain) = forwarded_for else { return peer };
    let mut client = peer;
    for hop in chain.split(',').rev().map(str::trim) {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_over_the_limit_and_says_when_to_retry() {
        let l = LocalLimiter::new(
            Limit { max: 3, window: Duration::from_secs(60) },
            Limit { max: 1, window: Duration::from_secs(60) },
        );
        for left in [2, 1, 0] {
            let d = l.check(Bucket::Api, "a").await;
            assert!(d.allowed);
            assert_eq!(d.remaining, left);
        }
        let d = l.check(Bucket::Api, "a").await;
        assert!(!d.allowed);
        assert!((1..=20).contains(&d.retry_after_secs), "{d:?}");
        assert!(l.check(Bucket::Api, "b").await.allowed, "keys are separate");
        assert!(l.check(Bucket::Auth, "a").await.allowed, "buckets are separate");
        assert!(!l.check(Bucket::Auth, "a").await.allowed);
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()];
        let nginx: IpAddr = "127.0.0.1".parse().unwrap();
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(client_ip(nginx, Some("203.0.113.5"), &trusted).to_string(), "203.0.113.5");
        assert_eq!(
            client_ip(nginx, Some("1.2.3.4, 203.0.113.5, 10.1.2.3"), &trusted).to_string(),
            "203.0.113.5",
            "spoofed left-most hops are ignored"
        );
        assert_eq!(
            client_ip(stranger, Some("203.0.113.5"), &trusted),
            stranger,
            "an untrusted peer cannot choose its address"
        );
        assert_eq!(client_ip(nginx, Some("garbage"), &trusted), nginx);
    }
}
