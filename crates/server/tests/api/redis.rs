//! Several replicas sharing Redis (a real `redis-server` on a random loopback port,
//! started here): one rate limit for all, the retention job on one replica, search
//! results shared, and Redis killed and restarted mid-test: degraded, local limits,
//! searches bypassing the cache, then recovery.

use crate::helpers::TestApp;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tenmon_ark::config::{Config, RedisConfig};

pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> Self {
        let mut s = RedisServer { port: crate::helpers::free_port(), dir: tempfile::tempdir().unwrap(), child: None };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (the redis-server package, installed by .ci/run)");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not start");
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn config(&self) -> RedisConfig {
        let url = format!("redis://127.0.0.1:{}/0", self.port);
        RedisConfig { url: url.clone().into(), shown: url }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Wait until `/health` says `want` about Redis.
async fn redis_health(app: &TestApp, want: &str) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        last = app.get("/health").await.json().await.unwrap();
        if last["checks"]["redis"]["status"] == want {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis never became {want}: {last}");
}

fn limited(redis: &RedisServer, max: u32) -> impl FnOnce(&mut Config) {
    let cfg = redis.config();
    move |c: &mut Config| {
        c.redis = Some(cfg);
        c.rate_limit.api.max = max;
        c.rate_limit.api.window = Duration::from_secs(3600);
    }
}

/// Requests alternating between the replicas until one is refused; how many passed.
async fn allowed_across(a: &TestApp, b: &TestApp, tries: usize) -> usize {
    let mut ok = 0;
    for i in 0..tries {
        let app = if i % 2 == 0 { a } else { b };
        let res = app.get("/api/assistants").await;
        match res.status().as_u16() {
            200 => ok += 1,
            429 => {
                assert!(res.headers().contains_key("retry-after"));
                break;
            }
            s => panic!("unexpected {s}"),
        }
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_rate_limit_and_survive_redis_going_away() {
    let mut redis = RedisServer::start();
    let a = TestApp::spawn_with(limited(&redis, 6)).await;
    let b = TestApp::spawn_with(limited(&redis, 6)).await;
    let h = redis_health(&a, "ok").await;
    assert_eq!(h["status"], "ok");
    redis_health(&b, "ok").await;
    assert_eq!(allowed_across(&a, &b, 20).await, 6, "6 in all, not 6 per replica");
    let metrics = |app: &TestApp| app.state.metrics.render();
    assert!(metrics(&a).contains("tenmon_redis_up 1"), "{}", metrics(&a));
    assert!(metrics(&a).contains("tenmon_db_pool_max_connections"));

    // Redis goes away: nothing fails, health says degraded, limits hold per replica.
    redis.kill();
    let h = redis_health(&a, "degraded").await;
    assert_eq!(h["status"], "degraded");
    assert!(h["checks"]["redis"]["message"].as_str().unwrap().contains("per replica"), "{h}");
    assert_eq!(a.get("/health/ready").await.status(), 200, "still ready: Redis is not required");
    for _ in 0..100 {
        if metrics(&a).contains("tenmon_redis_up 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(metrics(&a).contains("tenmon_redis_up 0"), "{}", metrics(&a));
    let mut ok_a = 0;
    for _ in 0..10 {
        if a.get("/api/assistants").await.status() == 200 {
            ok_a += 1;
        }
    }
    assert_eq!(ok_a, 6, "replica A alone enforces its own limit");
    assert_eq!(b.get("/api/assistants").await.status(), 200, "B counts on its own");

    // Redis is back (empty): shared again, with no restart of the replicas.
    redis.restart();
    redis_health(&a, "ok").await;
    redis_health(&b, "ok").await;
    assert_eq!(allowed_across(&a, &b, 20).await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_job_runs_on_one_replica_per_interval() {
    let redis = RedisServer::start();
    let cfg = redis.config();
    let with_retention = |c: &mut Config| {
        c.redis = Some(cfg.clone());
        c.privacy.retention_days = Some(30);
        c.privacy.retention_interval = Duration::from_secs(3600);
    };
    let a = TestApp::spawn_with(with_retention).await;
    let b = TestApp::spawn_with(with_retention).await;
    redis_health(&a, "ok").await;
    redis_health(&b, "ok").await;
    // Each replica's first tick is immediate; only the lease holder purges.
    let runs = |app: &TestApp| app.state.metrics.retention_runs.get();
    for _ in 0..100 {
        if runs(&a) + runs(&b) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(runs(&a) + runs(&b), 1, "a: {}, b: {}", runs(&a), runs(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_knowledge_base_edit_on_one_replica_is_searchable_on_the_other() {
    const KEY: &str = "operator-key-0123456789abcdef";
    let redis = RedisServer::start();
    let cfg = redis.config();
    let a = TestApp::spawn_with(|c| {
        c.redis = Some(cfg.clone());
        c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)];
    })
    .await;
    let shared = tenmon_store::DatabaseUrl::parse(&format!("sqlite://{}", a.db_path().display())).unwrap();
    let b = TestApp::spawn_with(|c| {
        c.redis = Some(cfg.clone());
        c.database.url = shared;
    })
    .await;
    redis_health(&a, "ok").await;
    redis_health(&b, "ok").await;
    let search = |app: &TestApp| {
        let url = app.url("/api/kb/search?q=%E3%81%8B%E3%81%9F%E3%81%A4%E3%82%80%E3%82%8A%E7%AA%93%E5%8F%A3&kb=mnp");
        let client = app.client.clone();
        async move {
            let v: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
            v["results"].as_array().unwrap().iter().any(|r| r["id"] == "snail-desk")
        }
    };
    assert!(!search(&b).await);
    let res = a
        .post_json(
            "/api/kb/bases/mnp/entries",
            KEY,
            serde_json::json!({"id": "snail-desk", "question": "かたつむり窓口はどこですか", "answer": "本館1階です。"}),
        )
        .await;
    assert!(res.status().is_success(), "{:?}", res.text().await);
    assert!(search(&a).await, "searchable at once where it was made");
    let mut seen = false;
    for _ in 0..100 {
        if search(&b).await {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "replica B never saw the new entry");
    let del = a.client.delete(a.url("/api/kb/entries/snail-desk")).bearer_auth(KEY).send().await.unwrap();
    assert!(del.status().is_success());
    let mut gone = false;
    for _ in 0..100 {
        if !search(&b).await {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "replica B still finds the deleted entry");
}

/// One replica's hybrid search serves the other from Redis: the question is embedded
/// once for both. An edit changes every key (the other replica's reload computes the
/// same content fingerprint); with Redis gone, searches still answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_search_results_through_redis() {
    use crate::embeddings::{ids, pet_entry, search, setup, DOG_QUERY, KEY};
    use tenmon_test_support::{Behavior, FakeOpenAi};
    let fake = FakeOpenAi::start_with(Behavior::reply("ok")).await;
    fake.set_concepts(&[&["わんこ", "ペット"]]);
    let mut redis = RedisServer::start();
    let cfg = redis.config();
    let a = TestApp::spawn_with(|c| {
        setup(c, &fake);
        c.redis = Some(cfg.clone());
    })
    .await;
    let shared = tenmon_store::DatabaseUrl::parse(&format!("sqlite://{}", a.db_path().display())).unwrap();
    let b = TestApp::spawn_with(|c| {
        setup(c, &fake);
        c.redis = Some(cfg.clone());
        c.database.url = shared;
    })
    .await;
    redis_health(&a, "ok").await;
    redis_health(&b, "ok").await;
    let res = a.post_json("/api/kb/bases/mnp/entries", KEY, pet_entry()).await;
    assert_eq!(res.status(), 201);
    // B has reloaded when it finds the entry by its own words.
    let mut reloaded = false;
    for _ in 0..100 {
        if ids(&search(&b, "ペット同伴").await).contains(&"pet-1") {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reloaded, "replica B never reloaded");
    let embedded = |fake: &FakeOpenAi| {
        fake.embedding_requests().iter().filter(|r| r["input"] == serde_json::json!([DOG_QUERY])).count()
    };
    assert_eq!(embedded(&fake), 0);

    let on_a = search(&a, DOG_QUERY).await;
    assert_eq!(on_a["retrieval"], "hybrid", "{on_a}");
    assert_eq!(ids(&on_a)[0], "pet-1", "{on_a}");
    assert_eq!(embedded(&fake), 1);
    let on_b = search(&b, DOG_QUERY).await;
    assert_eq!(on_b["results"], on_a["results"], "B answers with A's results");
    assert_eq!(on_b["retrieval"], "hybrid");
    assert_eq!(embedded(&fake), 1, "B did not embed the question again");
    let metrics = b.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"kb_shared_cache_lookups_total{outcome="hit"} 1"#), "{metrics}");

    // An edit on A: once B has reloaded, its cached (shared) answer is not served.
    let mut edited = pet_entry();
    edited["answer"] = serde_json::json!("小型犬はキャリーに入れてご入店いただけます。");
    let res = a.post_json("/api/kb/bases/mnp/entries", KEY, edited).await;
    assert!(res.status().is_success(), "{:?}", res.text().await);
    let mut fresh = false;
    for _ in 0..100 {
        let r = search(&b, DOG_QUERY).await;
        if r["results"][0]["answer"].as_str().unwrap_or("").contains("キャリー") {
            fresh = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(fresh, "replica B kept serving the answer from before the edit");

    redis.kill();
    redis_health(&b, "degraded").await;
    let without = search(&b, "わんこと一緒に入れますか").await;
    assert_eq!(ids(&without)[0], "pet-1", "searches go on without the cache: {without}");
}
