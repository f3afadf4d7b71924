//! Search quality on labelled query sets without building the server: the shipped
//! pack seeded into an in-memory SQLite store, as at a server's first start, then
//! the report `tenmon-ark kb eval` prints, per file, plus how many queries the top
//! result would answer (confidence at or over the threshold) rather than hand off.
//! `cargo run -p tenmon-kb --example eval -- bench/eval/mnp-blind2.jsonl [more files]`
#![allow(clippy::print_stdout, clippy::unwrap_used, reason = "a command-line example")]

use tenmon_kb::{KbSettings, KnowledgeBase};
use tenmon_store::{DatabaseUrl, PoolOptions};

#[tokio::main]
async fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: eval <queries.jsonl>...");
        std::process::exit(2);
    }
    let url = DatabaseUrl::parse("sqlite::memory:").unwrap();
    let store = tenmon_store::open(&url, &PoolOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let kb = KnowledgeBase::load(store, KbSettings::default()).await.unwrap();
    let min = kb.settings().min_confidence;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{file}: {e}")))
            .collect();
        if lines.iter().all(|v| v.get("expected").is_none()) {
            off_topic(&kb, &file, &lines, min).await;
            continue;
        }
        let r = tenmon_kb::eval::evaluate(&kb, &text, &["mnp".into()]).await.unwrap();
        println!("== {file}");
        for m in &r.misses {
            println!("miss: {}  expected {:?}  got {:?}", m.query, m.expected, m.got);
        }
        let (mut answered, mut right) = (0, 0);
        for v in &lines {
            let q = v["query"].as_str().unwrap_or_default();
            let top = kb.search(q, &["mnp".into()], 1).await.unwrap().results;
            if let Some(t) = top.first().filter(|t| t.confidence >= min) {
                answered += 1;
                right += usize::from(v["expected"].as_array().is_some_and(|e| e.iter().any(|id| *id == *t.id)));
            }
        }
        let n = r.queries.max(1) as f64;
        println!("queries {}  hit@1 {:.3}  hit@3 {:.3}  MRR {:.3}", r.queries, r.hit_at_1, r.hit_at_3, r.mrr);
        println!(
            "answered {:.3}, answered by the expected entry {:.3} (confidence >= {min})",
            answered as f64 / n,
            right as f64 / n
        );
    }
}

/// An off-topic set: the queries the top result would answer (confidence at or over
/// the threshold `mnp-support` uses without a model), which should be none.
async fn off_topic(kb: &KnowledgeBase, file: &str, lines: &[serde_json::Value], min: f32) {
    println!("== {file} (off-topic: no expected entries)");
    let mut answered = 0;
    for v in lines {
        let q = v["query"].as_str().unwrap_or_default();
        let top = kb.search(q, &["mnp".into()], 1).await.unwrap().results;
        if let Some(t) = top.first().filter(|t| t.confidence >= min) {
            answered += 1;
            println!("answered: {q}  by {} (confidence {:.2})", t.id, t.confidence);
        }
    }
    println!("queries {}  answered {answered} (confidence >= {min})", lines.len());
}
