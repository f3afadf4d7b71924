//! The search on the shipped MNP pack: quality on the labelled set, edits searchable
//! at once, import all-or-nothing.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use tenmon_kb::{EntryInput, Format, KbError, KbSettings, KnowledgeBase};
use tenmon_store::{DatabaseUrl, PoolOptions, Store};

async fn kb() -> (KnowledgeBase, Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&format!("sqlite://{}/kb.db", dir.path().display())).unwrap();
    let store = tenmon_store::open(&url, &PoolOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    (KnowledgeBase::load(store.clone(), KbSettings::default()).await.unwrap(), store, dir)
}

#[tokio::test]
async fn the_labelled_set_scores_well() {
    let (kb, _, _dir) = kb().await;
    assert!(kb.indexed() >= 60);
    let set = include_str!("../../../bench/eval/mnp-queries.jsonl");
    let report = tenmon_kb::eval::evaluate(&kb, set, &["mnp".into()]).await.unwrap();
    for m in &report.misses {
        println!("miss: {} expected {:?} got {:?}", m.query, m.expected, m.got);
    }
    println!("hit@1 {:.3} hit@3 {:.3} mrr {:.3} over {}", report.hit_at_1, report.hit_at_3, report.mrr, report.queries);
    assert!(report.hit_at_1 >= 0.90, "hit@1 {:.3} (measured 0.906 when written)", report.hit_at_1);
    assert!(report.hit_at_3 >= 0.95, "hit@3 {:.3}", report.hit_at_3);
}

#[tokio::test]
async fn edits_are_searchable_at_once_and_disabled_entries_are_not() {
    let (kb, _, _dir) = kb().await;
    let q = "テザリングって使える？";
    assert!(kb.search(q, &["mnp".into()], 3).await.unwrap().results.iter().all(|r| r.id != "custom-1"));
    let input = EntryInput {
        id: Some("custom-1".into()),
        question: "乗り換え後もテザリングは使えますか？".into(),
        phrasings: vec!["テザリングできる？".into()],
        answer: "テザリングの可否はご契約のプランによります。".into(),
        category: "その他".into(),
        enabled: true,
        ..Default::default()
    };
    let row = kb.put_entry("mnp", input.clone()).await.unwrap();
    assert_eq!(row.version, 1);
    assert_eq!(kb.search(q, &["mnp".into()], 3).await.unwrap().results[0].id, "custom-1");
    let row = kb.put_entry("mnp", EntryInput { answer: "新しい回答".into(), ..input }).await.unwrap();
    assert_eq!(row.version, 2, "each edit bumps the version");
    assert_eq!(
        kb.search(q, &["mnp".into()], 3).await.unwrap().results[0].answer,
        "新しい回答",
        "the cache saw the edit"
    );
    kb.set_enabled("custom-1", false).await.unwrap();
    assert!(kb.search(q, &["mnp".into()], 10).await.unwrap().results.iter().all(|r| r.id != "custom-1"));
    kb.delete_entry("custom-1").await.unwrap();
    assert!(matches!(kb.delete_entry("custom-1").await, Err(KbError::NotFound(_))));
}

#[tokio::test]
async fn an_import_with_a_bad_row_changes_nothing() {
    let (kb, store, _dir) = kb().await;
    let before = store.kb_entries(Some("mnp")).await.unwrap();
    let file = "{\"id\":\"mnp-001\",\"question\":\"上書き\",\"answer\":\"上書き\"}\n{\"id\":\"new-1\",\"question\":\"\",\"answer\":\"a\"}\n{\"id\":\"new-2\",\"question\":\"q\"}\n";
    match kb.import("mnp", file.as_bytes(), Format::Jsonl).await {
        Err(KbError::Import(errors)) => {
            let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
            assert_eq!(lines, vec![2, 3], "{errors:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.kb_entries(Some("mnp")).await.unwrap(), before, "nothing stored changed");
    assert_eq!(kb.entry("mnp-001").unwrap().question, before[0].question);
    // A good Shift_JIS CSV goes in whole.
    let csv = "id,question,answer,keywords\nsj-1,SIMカードのサイズは？,nanoSIMが主流です。,SIM|サイズ\n";
    let sjis = encoding_rs_free(csv);
    assert_eq!(kb.import("mnp", &sjis, Format::Csv).await.unwrap(), (1, 0));
    assert_eq!(kb.search("シムのサイズ", &[], 1).await.unwrap().results[0].id, "sj-1");
}

fn encoding_rs_free(s: &str) -> Vec<u8> {
    // Shift_JIS bytes via the crate's own exporter, so the test needs no extra dependency.
    let row = tenmon_store::KbEntryRow {
        id: "x".into(),
        kb_id: "x".into(),
        question: s.into(),
        phrasings: vec![],
        answer: "a".into(),
        keywords: vec![],
        category: String::new(),
        source_url: None,
        question_en: None,
        answer_en: None,
        enabled: true,
        version: 1,
        created_at_ms: 0,
        updated_at_ms: 0,
    };
    let sj = tenmon_kb::import::write(&[row], Format::CsvShiftJis);
    // Pull the encoded question cell back out: the exporter quotes it; the bytes between
    // the first `x,"` and the closing quote are the Shift_JIS text of `s`.
    let start = sj.windows(3).position(|w| w == b"x,\"").unwrap() + 3;
    let end = start + sj[start..].windows(2).position(|w| w == b"\",").unwrap();
    sj[start..end].to_vec()
}

#[tokio::test]
async fn unrelated_questions_have_low_confidence() {
    let (kb, _, _dir) = kb().await;
    for q in ["今日の天気は？", "ピザを注文したい", "おすすめのラーメン屋を教えて"] {
        let top = kb.search(q, &["mnp".into()], 1).await.unwrap().results;
        let conf = top.first().map(|r| r.confidence).unwrap_or(0.0);
        assert!(conf < kb.settings().min_confidence, "{q}: {conf}");
    }
    for q in ["予約番号の有効期限は？", "ワンストップ方式とは", "SIMロック解除は無料？"] {
        let top = kb.search(q, &["mnp".into()], 1).await.unwrap().results;
        assert!(top[0].confidence >= kb.settings().min_confidence, "{q}: {}", top[0].confidence);
    }
}
