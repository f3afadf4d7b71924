//! Dense retrieval with a test embedder: hybrid search finds what lexical search
//! cannot, failures and slowness fall back to lexical results, writes never fail for
//! the model's sake, unchanged entries are not embedded again, stale vectors are not
//! used, and the backfill catches up.

use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tenmon_kb::metrics::EmbeddingLabels;
use tenmon_kb::{DenseSettings, EmbedError, Embedder, EntryInput, Format, KbSettings, KnowledgeBase, Retrieval};
use tenmon_store::{DatabaseUrl, PoolOptions, Store};

const DIMS: usize = 64;
/// Words that share a dimension although they share no character.
const CONCEPTS: [&[&str]; 2] = [&["やめたい", "解約"], &["ワンちゃん", "ペット"]];

/// Character bigrams hashed into 60 dimensions, plus one dimension per concept.
#[derive(Debug, Default)]
struct TestEmbedder {
    calls: AtomicUsize,
    texts: AtomicUsize,
    /// Fail calls for entries (their text has a blank line), not for queries.
    fail_entries: AtomicBool,
    fail_all: AtomicBool,
    hang: AtomicBool,
}

impl TestEmbedder {
    fn vector(text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; DIMS];
        let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        for w in chars.windows(2) {
            let h = (w[0] as u32).wrapping_mul(31).wrapping_add(w[1] as u32);
            v[(h % 60) as usize] += 1.0;
        }
        for (i, words) in CONCEPTS.iter().enumerate() {
            if words.iter().any(|w| text.contains(w)) {
                v[60 + i] += 6.0;
            }
        }
        v
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Embedder for TestEmbedder {
    fn model(&self) -> &str {
        "test-embedder"
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        if self.hang.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        let entries = texts.iter().any(|t| t.contains("\n\n"));
        if self.fail_all.load(Ordering::SeqCst) || (entries && self.fail_entries.load(Ordering::SeqCst)) {
            return Err(EmbedError::new("unavailable", "the test says no"));
        }
        Ok(texts.iter().map(|t| Self::vector(t)).collect())
    }
}

struct Fixture {
    kb: KnowledgeBase,
    store: Arc<dyn Store>,
    embedder: Arc<TestEmbedder>,
    _dir: tempfile::TempDir,
}

fn settings(embedder: &Arc<TestEmbedder>) -> KbSettings {
    let mut dense = DenseSettings::new(embedder.clone());
    dense.query_timeout = Duration::from_millis(300);
    dense.write_timeout = Duration::from_millis(500);
    KbSettings { dense: Some(dense), ..KbSettings::default() }
}

fn entry(id: &str, question: &str, answer: &str) -> EntryInput {
    EntryInput {
        id: Some(id.into()),
        question: question.into(),
        answer: answer.into(),
        enabled: true,
        ..Default::default()
    }
}

/// A knowledge base "faq" without the MNP pack, with three entries.
async fn fixture(embedder: TestEmbedder) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&format!("sqlite://{}/kb.db", dir.path().display())).unwrap();
    let store = tenmon_store::open(&url, &PoolOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    store.put_setting("kb.mnp_pack_seeded", "1", 0).await.unwrap();
    let embedder = Arc::new(embedder);
    let kb = KnowledgeBase::load(store.clone(), settings(&embedder)).await.unwrap();
    kb.put_base("faq", "FAQ", "").await.unwrap();
    for e in [
        entry("cancel", "解約の手続きを教えてください", "マイページの契約メニューから解約できます。"),
        entry("tether", "テザリングは使えますか", "全プランでご利用いただけます。"),
        entry("fee", "事務手数料はいくらですか", "3,850円です。"),
    ] {
        kb.put_entry("faq", e).await.unwrap();
    }
    Fixture { kb, store, embedder, _dir: dir }
}

fn ids(r: &tenmon_kb::SearchResponse) -> Vec<&str> {
    r.results.iter().map(|r| r.id.as_str()).collect()
}

#[tokio::test]
async fn hybrid_search_finds_what_lexical_search_cannot() {
    let f = fixture(TestEmbedder::default()).await;
    assert_eq!(f.kb.embedded(), (3, 3), "edits are embedded on write");
    let hybrid = f.kb.search("やめたい", &[], 3).await.unwrap();
    assert_eq!(hybrid.retrieval, Retrieval::Hybrid);
    assert_eq!(hybrid.results[0].id, "cancel", "{hybrid:?}");
    assert!(hybrid.results[0].confidence >= f.kb.settings().min_confidence, "{hybrid:?}");

    // The same database searched lexically only: nothing shares a word with the query.
    let lexical = KnowledgeBase::load(f.store.clone(), KbSettings::default()).await.unwrap();
    let plain = lexical.search("やめたい", &[], 3).await.unwrap();
    assert_eq!(plain.retrieval, Retrieval::Lexical);
    assert!(!ids(&plain).contains(&"cancel"), "{plain:?}");

    // A lexical hit stays first when the dense side agrees.
    let both = f.kb.search("テザリングは使えますか", &[], 3).await.unwrap();
    assert_eq!(both.results[0].id, "tether");
    assert!((both.results[0].score - 1.0).abs() < 1e-3, "first in both rankings: {}", both.results[0].score);
    // Knowledge-base filters apply to dense hits too.
    assert!(f.kb.search("やめたい", &["other".into()], 3).await.unwrap().results.is_empty());
}

#[tokio::test]
async fn a_failing_or_slow_model_leaves_lexical_results_and_writes_work() {
    let f = fixture(TestEmbedder::default()).await;
    f.embedder.fail_all.store(true, Ordering::SeqCst);
    let r = f.kb.search("テザリング", &[], 3).await.unwrap();
    assert_eq!(r.retrieval, Retrieval::Lexical, "the query could not be embedded");
    assert_eq!(r.results[0].id, "tether");
    // Fallback results are not cached: once the model answers, the same query is hybrid.
    let r = f.kb.search("やめたい", &[], 3).await.unwrap();
    assert_eq!(r.retrieval, Retrieval::Lexical);
    assert!(!ids(&r).contains(&"cancel"), "{r:?}");
    f.embedder.fail_all.store(false, Ordering::SeqCst);
    let r = f.kb.search("やめたい", &[], 3).await.unwrap();
    assert_eq!((r.retrieval, ids(&r).first().copied()), (Retrieval::Hybrid, Some("cancel")), "{r:?}");
    f.embedder.fail_all.store(true, Ordering::SeqCst);
    let row = f.kb.put_entry("faq", entry("pet", "ペットと来店できますか", "盲導犬のみ可能です。")).await.unwrap();
    assert_eq!(row.id, "pet", "the write succeeded without its vector");
    assert_eq!(f.kb.embedded(), (3, 4));
    assert_eq!(f.kb.search("ペット", &[], 1).await.unwrap().results[0].id, "pet", "lexically at once");
    let failed = f.kb.metrics().embedding_requests.get_or_create(&labels("entries", "unavailable")).get();
    assert_eq!(failed, 1, "the failed call was counted");

    f.embedder.fail_all.store(false, Ordering::SeqCst);
    assert_eq!(f.kb.backfill().await.unwrap(), 1, "the backfill embeds what the write could not");
    assert_eq!(f.kb.embedded(), (4, 4));
    assert_eq!(f.kb.search("ワンちゃん", &[], 1).await.unwrap().results[0].id, "pet");

    // A model that does not answer costs the query timeout, not more.
    f.embedder.hang.store(true, Ordering::SeqCst);
    let start = std::time::Instant::now();
    let r = f.kb.search("手数料", &[], 3).await.unwrap();
    assert_eq!((r.retrieval, r.results[0].id.as_str()), (Retrieval::Lexical, "fee"));
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    let timeouts = f.kb.metrics().embedding_requests.get_or_create(&labels("query", "timeout")).get();
    assert_eq!(timeouts, 1);
}

fn labels(purpose: &'static str, outcome: &'static str) -> EmbeddingLabels {
    EmbeddingLabels { purpose, outcome }
}

#[tokio::test]
async fn only_changed_entries_are_embedded_again_and_stale_vectors_are_not_used() {
    let f = fixture(TestEmbedder::default()).await;
    let calls = f.embedder.calls();
    // The same content again, and enabling: nothing to embed.
    f.kb.put_entry("faq", entry("fee", "事務手数料はいくらですか", "3,850円です。")).await.unwrap();
    f.kb.set_enabled("fee", true).await.unwrap();
    assert_eq!(f.embedder.calls(), calls);
    // A restart reads the stored hashes: nothing to embed either.
    let again = KnowledgeBase::load(f.store.clone(), settings(&f.embedder)).await.unwrap();
    assert_eq!(again.backfill().await.unwrap(), 0);
    assert_eq!(f.embedder.calls(), calls);

    // An edit the model cannot embed: the old vector (about cancelling) must not
    // bring the entry up for a cancelling question any more.
    f.embedder.fail_entries.store(true, Ordering::SeqCst);
    f.kb.put_entry("faq", entry("cancel", "店舗の営業時間は", "10時から19時までです。")).await.unwrap();
    let r = f.kb.search("やめたい", &[], 3).await.unwrap();
    assert_eq!(r.retrieval, Retrieval::Hybrid);
    assert!(!ids(&r).contains(&"cancel"), "a stale vector was used: {r:?}");
    f.embedder.fail_entries.store(false, Ordering::SeqCst);
    assert_eq!(f.kb.backfill().await.unwrap(), 1);
    assert_eq!(f.store.kb_vectors("test-embedder", false).await.unwrap().len(), 3);

    // Deleting an entry deletes its vector.
    f.kb.delete_entry("cancel").await.unwrap();
    assert_eq!(f.store.kb_vectors("test-embedder", false).await.unwrap().len(), 2);
}

#[tokio::test]
async fn query_vectors_are_cached_until_the_cache_is_cleared() {
    let f = fixture(TestEmbedder::default()).await;
    let calls = f.embedder.calls();
    for limit in [1, 2, 3] {
        f.kb.search("やめたい", &[], limit).await.unwrap();
    }
    assert_eq!(f.embedder.calls(), calls + 1, "one query embedding for three searches");
    f.kb.clear_cache();
    f.kb.search("やめたい", &[], 1).await.unwrap();
    assert_eq!(f.embedder.calls(), calls + 2, "erasure forgets query vectors too");
}

#[tokio::test]
async fn big_imports_are_embedded_by_the_backfill_which_retries() {
    let f = fixture(TestEmbedder::default()).await;
    let mut small = settings(&f.embedder);
    small.dense.as_mut().unwrap().batch = 2;
    let kb = KnowledgeBase::load(f.store.clone(), small).await.unwrap();
    f.embedder.fail_entries.store(true, Ordering::SeqCst);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = kb.clone();
    let task = tokio::spawn(async move {
        runner
            .keep_vectors_fresh(Duration::from_millis(50), async {
                let _ = stopped.await;
            })
            .await
    });
    let file = "{\"id\":\"a\",\"question\":\"ワンちゃんと一緒に入れますか\",\"answer\":\"はい\"}\n\
                {\"id\":\"b\",\"question\":\"駐車場はありますか\",\"answer\":\"あります\"}\n\
                {\"id\":\"c\",\"question\":\"支払い方法は\",\"answer\":\"カードです\"}\n";
    assert_eq!(kb.import("faq", file.as_bytes(), Format::Jsonl).await.unwrap(), (3, 0));
    assert_eq!(kb.embedded(), (3, 6), "more than a batch: left to the backfill");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(kb.embedded(), (3, 6), "the model still fails");
    f.embedder.fail_entries.store(false, Ordering::SeqCst);
    for _ in 0..100 {
        if kb.embedded() == (6, 6) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(kb.embedded(), (6, 6), "the periodic backfill caught up");
    assert_eq!(kb.search("ペット", &[], 1).await.unwrap().results[0].id, "a");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
}
