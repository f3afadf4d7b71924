//! The MNP FAQ pack and the domain synonyms, shipped in the binary and loaded into
//! the `mnp` knowledge base on first start.

use crate::import::{parse, Format};
use crate::SYNONYMS_SETTING;
use tenmon_store::{KbEntryRow, KnowledgeBaseRow, Store, StoreError};

/// The pack: one JSON entry per line.
pub const MNP_PACK: &str = include_str!("../packs/mnp.jsonl");
/// One group of equivalent terms per line.
pub const SYNONYMS: &str = include_str!("../packs/synonyms.txt");

/// Create the `mnp` knowledge base with the pack, and the synonym dictionary, unless
/// they exist.
pub async fn seed(store: &dyn Store) -> Result<(), StoreError> {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    if store.setting(SYNONYMS_SETTING).await?.is_none() {
        store.put_setting(SYNONYMS_SETTING, SYNONYMS, now).await?;
    }
    if store.kb_bases().await?.iter().any(|b| b.id == "mnp") {
        return Ok(());
    }
    store
        .kb_put_base(&KnowledgeBaseRow {
            id: "mnp".into(),
            name: "MNP（携帯電話番号ポータビリティ）FAQ".into(),
            description: "携帯電話番号ポータビリティの手続き・費用・注意点".into(),
            created_at_ms: now,
            updated_at_ms: now,
        })
        .await?;
    let rows: Vec<KbEntryRow> = parse(MNP_PACK.as_bytes(), Format::Jsonl)
        .map_err(|e| StoreError::Corrupt(format!("the shipped MNP pack is invalid: {e:?}")))?
        .into_iter()
        .map(|(_, e)| KbEntryRow {
            id: e.id.unwrap_or_default(),
            kb_id: "mnp".into(),
            question: e.question,
            phrasings: e.phrasings,
            answer: e.answer,
            keywords: e.keywords,
            category: e.category,
            source_url: e.source_url,
            question_en: e.question_en,
            answer_en: e.answer_en,
            enabled: e.enabled,
            version: 1,
            created_at_ms: now,
            updated_at_ms: now,
        })
        .collect();
    store.kb_put_entries(&rows).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pack_and_synonyms_are_valid() {
        let entries = parse(MNP_PACK.as_bytes(), Format::Jsonl).unwrap();
        assert!(entries.len() >= 60, "{}", entries.len());
        for (line, e) in &entries {
            assert!(e.problems().is_empty(), "line {line}: {:?}", e.problems());
            assert!(e.phrasings.len() >= 2, "line {line}: several phrasings");
            assert!(e.question_en.is_some() && e.answer_en.is_some(), "line {line}: English");
        }
        let ids: std::collections::HashSet<_> = entries.iter().map(|(_, e)| e.id.clone()).collect();
        assert_eq!(ids.len(), entries.len(), "ids are unique");
        assert!(crate::Synonyms::parse(SYNONYMS).unwrap().len() >= 20);
    }
}
