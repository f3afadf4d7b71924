//! Knowledge-base entry vectors: stored bit for bit, replaced, and deleted with
//! their entries on every backend; searched by pgvector on PostgreSQL, agreeing with
//! a brute-force search; and a PostgreSQL without the extension keeps working and
//! catches up once the extension arrives.

use crate::harness::{postgres_without_extensions, superuser_pg, Db, TestDb};
use crate::kb::{base, entry};
use std::sync::Arc;
use tenmon_store::{KbEntryRow, KbVectorRow, Store};

on_every_backend!(vectors_are_stored_replaced_and_deleted_with_their_entries, nearest_entries_agree_with_brute_force);

/// A deterministic pseudo-random unit vector.
pub fn random(seed: u64, dims: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    let v: Vec<f32> = (0..dims)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect();
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.into_iter().map(|a| a / n).collect()
}

pub fn vector(id: &str, model: &str, v: Vec<f32>, at: i64) -> KbVectorRow {
    KbVectorRow {
        entry_id: id.into(),
        model: model.into(),
        content_hash: format!("h-{id}-{at}"),
        vector: v,
        updated_at_ms: at,
    }
}

async fn ids(s: &Arc<dyn Store>, model: &str) -> Vec<String> {
    s.kb_vectors(model, false).await.unwrap().into_iter().map(|r| r.entry_id).collect()
}

async fn vectors_are_stored_replaced_and_deleted_with_their_entries(t: TestDb) {
    let s = &t.store;
    s.kb_put_base(&base("a", 1)).await.unwrap();
    s.kb_put_base(&base("b", 1)).await.unwrap();
    s.kb_put_entries(&[entry("e1", "a", 1), entry("e2", "a", 1), entry("e3", "b", 1), entry("e4", "b", 1)])
        .await
        .unwrap();
    let dims = 1536;
    s.kb_put_vectors(&[
        vector("e1", "m", random(1, dims), 1),
        vector("e2", "m", random(2, dims), 1),
        vector("e3", "m", random(3, dims), 1),
        vector("e4", "other", random(4, 8), 1),
    ])
    .await
    .unwrap();
    let listed = s.kb_vectors("m", true).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0], vector("e1", "m", random(1, dims), 1), "bit for bit");
    let bare = s.kb_vectors("m", false).await.unwrap();
    assert!(bare.iter().all(|r| r.vector.is_empty()), "listed without the data");
    assert_eq!((bare[1].entry_id.as_str(), bare[1].content_hash.as_str()), ("e2", "h-e2-1"));

    s.kb_put_vectors(&[vector("e1", "m", random(9, dims), 2)]).await.unwrap();
    assert_eq!(s.kb_vectors("m", true).await.unwrap()[0], vector("e1", "m", random(9, dims), 2), "replaced");
    assert!(s.kb_put_vectors(&[vector("e2", "m", vec![f32::NAN], 3)]).await.is_err(), "NaN is refused");
    assert!(s.kb_put_vectors(&[vector("e2", "m", vec![], 3)]).await.is_err(), "empty is refused");

    assert!(s.kb_delete_entry("e2").await.unwrap());
    assert_eq!(ids(s, "m").await, ["e1", "e3"], "an entry's vector goes with it");
    assert!(s.kb_delete_base("b").await.unwrap());
    assert_eq!(ids(s, "m").await, ["e1"], "a base's vectors go with its entries");
    assert!(ids(s, "other").await.is_empty());
    assert_eq!(s.kb_delete_vectors(&["e1".into(), "nope".into()]).await.unwrap(), 1);
    assert!(ids(s, "m").await.is_empty());
    assert_eq!(s.kb_entries(None).await.unwrap().len(), 1, "deleting vectors leaves the entries");
}

const DIMS: usize = 64;

/// 60 entries in two bases, every seventh disabled, each with a vector of model
/// `m` except the last, whose vector is another model's, with other dimensions.
async fn sixty(s: &Arc<dyn Store>) -> Vec<(KbEntryRow, Vec<f32>)> {
    s.kb_put_base(&base("a", 1)).await.unwrap();
    s.kb_put_base(&base("b", 1)).await.unwrap();
    let mut out = Vec::new();
    for i in 0..60u64 {
        let e = KbEntryRow { enabled: i % 7 != 3, ..entry(&format!("e{i:02}"), if i % 2 == 0 { "a" } else { "b" }, 1) };
        out.push((e, random(i, DIMS)));
    }
    s.kb_put_entries(&out.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>()).await.unwrap();
    let mut rows: Vec<KbVectorRow> = out[..59].iter().map(|(e, v)| vector(&e.id, "m", v.clone(), 1)).collect();
    rows.push(vector("e59", "other", random(59, 8), 1));
    s.kb_put_vectors(&rows).await.unwrap();
    out.truncate(59);
    out
}

/// The nearest enabled entries of `kbs` by a full scan.
fn brute_force(all: &[(KbEntryRow, Vec<f32>)], q: &[f32], kbs: &[String], limit: usize) -> Vec<(String, f32)> {
    let mut v: Vec<(String, f32)> = all
        .iter()
        .filter(|(e, _)| e.enabled && (kbs.is_empty() || kbs.contains(&e.kb_id)))
        .map(|(e, v)| (e.id.clone(), v.iter().zip(q).map(|(a, b)| a * b).sum()))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(limit);
    v
}

async fn agrees(s: &Arc<dyn Store>, all: &[(KbEntryRow, Vec<f32>)]) {
    for q in 0..5 {
        let query = random(1000 + q, DIMS);
        for kbs in [vec![], vec!["a".to_string()], vec!["a".to_string(), "b".to_string()], vec!["zz".to_string()]] {
            let got = s.kb_nearest("m", &query, &kbs, 10).await.unwrap().expect("native search");
            let want = brute_force(all, &query, &kbs, 10);
            assert_eq!(
                got.iter().map(|g| &g.0).collect::<Vec<_>>(),
                want.iter().map(|w| &w.0).collect::<Vec<_>>(),
                "query {q}, kbs {kbs:?}"
            );
            for (g, w) in got.iter().zip(&want) {
                assert!((g.1 - w.1).abs() < 1e-5, "similarity of {}: {} vs {}", g.0, g.1, w.1);
            }
        }
    }
}

async fn nearest_entries_agree_with_brute_force(t: TestDb) {
    let s = &t.store;
    let native = s.kb_nearest("m", &[], &[], 0).await.unwrap().is_some();
    assert_eq!(native, t.db == Db::Postgres, "pgvector is installed for the tests' PostgreSQL");
    let all = sixty(s).await;
    if !native {
        assert!(s.kb_nearest("m", &random(1, DIMS), &[], 5).await.unwrap().is_none());
        return;
    }
    agrees(s, &all).await;
    // Another model's dimensions neither break the search nor show up in it.
    assert!(s.kb_nearest("other", &random(1, 8), &[], 5).await.unwrap().unwrap().iter().all(|r| r.0 == "e59"));
    assert!(s.kb_nearest("m", &random(1, 8), &[], 5).await.unwrap().unwrap().is_empty(), "no 8-dim vectors of m");
    // A second store (another replica, not migrated here) finds the column too.
    agrees(&t.reopen().await, &all).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_without_pgvector_falls_back_and_catches_up_when_it_arrives() {
    let (t, port) = postgres_without_extensions().await;
    t.store.migrate().await.unwrap();
    let s = &t.store;
    assert!(s.kb_nearest("m", &[], &[], 0).await.unwrap().is_none(), "the role cannot create the extension");
    let all = sixty(s).await;
    assert_eq!(s.kb_vectors("m", true).await.unwrap().len(), 59, "vectors are stored all the same");
    assert!(s.kb_nearest("m", &random(1, DIMS), &[], 5).await.unwrap().is_none());

    // A superuser installs it; the next start adds the column and fills it.
    superuser_pg(port, &t.name(), "CREATE EXTENSION vector").await;
    let restarted = t.reopen().await;
    restarted.migrate().await.unwrap();
    agrees(&restarted, &all).await;
    restarted.kb_put_vectors(&[vector("e00", "m", random(7, DIMS), 2)]).await.unwrap();
    let top = restarted.kb_nearest("m", &random(7, DIMS), &[], 1).await.unwrap().unwrap();
    assert_eq!(top[0].0, "e00", "new writes fill the column too");
    assert!((top[0].1 - 1.0).abs() < 1e-5);
}
