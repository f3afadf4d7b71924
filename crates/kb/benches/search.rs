//! Search benchmark: latency and throughput on the MNP pack and on a generated
//! 100,000-entry Japanese knowledge base, index build time and memory. Writes
//! bench/results/kb-<date>.md. Run with `make bench` (or `cargo bench -p tenmon-kb`).
#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a benchmark program")]

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenmon_kb::{KbSettings, KnowledgeBase};
use tenmon_store::{DatabaseUrl, KbEntryRow, KnowledgeBaseRow, PoolOptions, Store};

fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

async fn store() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("tenmon-kb-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = DatabaseUrl::parse(&format!("sqlite://{}/kb.db", dir.display())).unwrap();
    let s = tenmon_store::open(&url, &PoolOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    s
}

fn queries() -> Vec<String> {
    include_str!("../../../bench/eval/mnp-queries.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["query"].as_str().map(String::from))
        .collect()
}

/// Run every query `rounds` times; returns (p50 ms, p99 ms, queries/s).
async fn measure(kb: &KnowledgeBase, qs: &[String], rounds: usize) -> (f64, f64, f64) {
    let mut lat = Vec::with_capacity(qs.len() * rounds);
    let start = Instant::now();
    for _ in 0..rounds {
        for q in qs {
            let t = Instant::now();
            let r = kb.search(q, &[], 5).await.unwrap();
            std::hint::black_box(r);
            lat.push(t.elapsed());
        }
    }
    let total = start.elapsed().as_secs_f64();
    lat.sort();
    (pct(&lat, 0.5), pct(&lat, 0.99), lat.len() as f64 / total)
}

/// Plausible Japanese FAQ text from the pack's own sentences, shuffled by a simple LCG.
fn generated(n: usize) -> Vec<KbEntryRow> {
    let pack: Vec<serde_json::Value> =
        tenmon_kb::pack::MNP_PACK.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut sentences: Vec<String> = Vec::new();
    for e in &pack {
        for s in e["answer"].as_str().unwrap().split('。').filter(|s| s.chars().count() > 5) {
            sentences.push(format!("{s}。"));
        }
    }
    let questions: Vec<String> = pack
        .iter()
        .flat_map(|e| e["phrasings"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()))
        .collect();
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    let mut next = move |m: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % m
    };
    (0..n)
        .map(|i| {
            let q = format!("{}（{}）", questions[next(questions.len())], i);
            let answer: String = (0..3).map(|_| sentences[next(sentences.len())].clone()).collect();
            KbEntryRow {
                id: format!("gen-{i}"),
                kb_id: "gen".into(),
                question: q,
                phrasings: vec![questions[next(questions.len())].clone()],
                answer,
                keywords: vec![],
                category: "生成".into(),
                source_url: None,
                question_en: None,
                answer_en: None,
                enabled: true,
                version: 1,
                created_at_ms: 0,
                updated_at_ms: 0,
            }
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let qs = queries();
    let nocache = KbSettings { cache_ttl: Duration::ZERO, ..KbSettings::default() };
    let rss0 = rss_mib();

    let s = store().await;
    let t = Instant::now();
    let pack = KnowledgeBase::load(s.clone(), nocache.clone()).await.unwrap();
    let pack_build = t.elapsed();
    let np = pack.indexed();
    measure(&pack, &qs, 3).await;
    let (p50, p99, qps) = measure(&pack, &qs, 50).await;
    let cached = KnowledgeBase::load(s.clone(), KbSettings::default()).await.unwrap();
    measure(&cached, &qs, 1).await;
    let (c50, c99, cqps) = measure(&cached, &qs, 50).await;
    drop((pack, cached));

    let n = 100_000;
    let rows = generated(n);
    s.kb_put_base(&KnowledgeBaseRow {
        id: "gen".into(),
        name: "gen".into(),
        description: String::new(),
        created_at_ms: 0,
        updated_at_ms: 0,
    })
    .await
    .unwrap();
    let t = Instant::now();
    s.kb_put_entries(&rows).await.unwrap();
    let store_time = t.elapsed();
    drop(rows);
    let rss_before = rss_mib();
    let t = Instant::now();
    let big = KnowledgeBase::load(s.clone(), nocache).await.unwrap();
    let big_build = t.elapsed();
    let rss_big = rss_mib();
    measure(&big, &qs, 1).await;
    let (b50, b99, bqps) = measure(&big, &qs, 5).await;

    let machine = format!(
        "{} cores, {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .unwrap_or("?")
            .trim()
    );
    let report = format!(
        "# Knowledge-base search benchmark\n\n- Machine: {machine}\n- Command: `make bench` (`cargo bench -p tenmon-kb --bench search`)\n\
         - Queries: the {nq} labelled queries of bench/eval/mnp-queries.jsonl, one thread, limit 5, all knowledge bases\n\n\
         | knowledge base | entries | index build | search p50 | search p99 | queries/s | target p99 |\n| --- | --- | --- | --- | --- | --- | --- |\n\
         | MNP pack, cache off | {np} | {pb:.1} ms | {p50:.3} ms | {p99:.3} ms | {qps:.0} | < 1 ms |\n\
         | MNP pack, cache on (repeated queries) | {np} | | {c50:.3} ms | {c99:.3} ms | {cqps:.0} | |\n\
         | generated Japanese FAQ + the pack, cache off | {nb} | {bb:.2} s | {b50:.3} ms | {b99:.3} ms | {bqps:.0} | < 10 ms |\n\n\
         - Storing the 100,000 generated entries (one SQLite transaction): {st:.2} s\n\
         - Memory: RSS {rss0:.0} MiB at start; {rb:.0} MiB before loading the 100,000 entries, {rbig:.0} MiB after (entries in memory plus the index)\n",
        nq = qs.len(),
        pb = pack_build.as_secs_f64() * 1000.0,
        nb = n as u64 + np,
        bb = big_build.as_secs_f64(),
        st = store_time.as_secs_f64(),
        rb = rss_before,
        rbig = rss_big,
    );
    println!("{report}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/results");
    std::fs::create_dir_all(&root).unwrap();
    let date = std::process::Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut f = std::fs::File::create(root.join(format!("kb-{date}.md"))).unwrap();
    f.write_all(report.as_bytes()).unwrap();
    drop(big);
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("tenmon-kb-bench-{}", std::process::id())));
}
