#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "temporary debugging tool")]
use tenmon_kb::{KbSettings, KnowledgeBase};
use tenmon_store::{DatabaseUrl, PoolOptions};

#[tokio::main]
async fn main() {
    let url = DatabaseUrl::parse("sqlite::memory:").unwrap();
    let store = tenmon_store::open(&url, &PoolOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let settings = KbSettings { cache_ttl: std::time::Duration::ZERO, ..KbSettings::default() };
    let kb = KnowledgeBase::load(store, settings).await.unwrap();
    if let Ok(f) = std::env::var("SYN") {
        kb.put_synonyms(&std::fs::read_to_string(f).unwrap()).await.unwrap();
    }
    for q in std::env::args().skip(1) {
        if let Some(f) = q.strip_prefix("time:") {
            let qs: Vec<String> = std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v["query"].as_str().map(String::from))
                .collect();
            let mut lat = Vec::new();
            for round in 0..30 {
                for q in &qs {
                    let t = std::time::Instant::now();
                    std::hint::black_box(kb.search(q, &[], 5).await.unwrap());
                    if round > 2 {
                        lat.push(t.elapsed());
                    }
                }
            }
            lat.sort();
            let p = |x: f64| lat[((lat.len() as f64 - 1.0) * x) as usize].as_secs_f64() * 1000.0;
            println!("p50 {:.3} ms p90 {:.3} p99 {:.3} max {:.3}", p(0.5), p(0.9), p(0.99), p(1.0));
            continue;
        }
        if q.ends_with(".jsonl") {
            let set = std::fs::read_to_string(&q).unwrap();
            let r = tenmon_kb::eval::evaluate(&kb, &set, &["mnp".into()]).await.unwrap();
            for m in &r.misses {
                println!("miss: {}  expected {:?}  got {:?}", m.query, m.expected, m.got);
            }
            println!("queries {}  hit@1 {:.3}  hit@3 {:.3}  MRR {:.3}", r.queries, r.hit_at_1, r.hit_at_3, r.mrr);
            continue;
        }
        println!("== {q}  norm={:?}", tenmon_kb::normalize::normalize(&q));
        for r in kb.search(&q, &[], 5).await.unwrap().results {
            println!("  {} {:.3} conf {:.2} {}", r.id, r.score, r.confidence, r.question);
        }
    }
}
