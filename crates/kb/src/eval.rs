//! Search quality on a labelled query set: hit@1, hit@3 and MRR (over the top 10).

use crate::{KbError, KnowledgeBase};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
struct Labelled {
    query: String,
    expected: Vec<String>,
}

/// One query that did not rank an expected entry first.
#[derive(Debug, Serialize)]
pub struct Miss {
    pub query: String,
    pub expected: Vec<String>,
    pub got: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub queries: usize,
    pub hit_at_1: f64,
    pub hit_at_3: f64,
    pub mrr: f64,
    pub misses: Vec<Miss>,
}

/// Run every query of a JSONL set (`{"query", "expected": [ids]}`) against `kbs`.
pub async fn evaluate(kb: &KnowledgeBase, jsonl: &str, kbs: &[String]) -> Result<EvalReport, KbError> {
    let mut n = 0usize;
    let (mut h1, mut h3, mut rr) = (0usize, 0usize, 0f64);
    let mut misses = Vec::new();
    for (i, line) in jsonl.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let q: Labelled = serde_json::from_str(line)
            .map_err(|e| KbError::Invalid { field: format!("line {}", i + 1), message: e.to_string() })?;
        let got: Vec<String> = kb.search(&q.query, kbs, 10).await?.results.into_iter().map(|r| r.id).collect();
        n += 1;
        if let Some(rank) = got.iter().position(|id| q.expected.contains(id)) {
            rr += 1.0 / (rank as f64 + 1.0);
            if rank == 0 {
                h1 += 1;
            }
            if rank < 3 {
                h3 += 1;
            }
        }
        if got.first().is_none_or(|id| !q.expected.contains(id)) {
            misses.push(Miss { query: q.query, expected: q.expected, got: got.into_iter().take(3).collect() });
        }
    }
    let d = n.max(1) as f64;
    Ok(EvalReport { queries: n, hit_at_1: h1 as f64 / d, hit_at_3: h3 as f64 / d, mrr: rr / d, misses })
}
