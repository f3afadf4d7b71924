//! Knowledge-base rows.

use serde::{Deserialize, Serialize};

/// A knowledge base (a collection of entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeBaseRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One FAQ entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbEntryRow {
    pub id: String,
    pub kb_id: String,
    pub question: String,
    /// Other ways people ask the same thing.
    pub phrasings: Vec<String>,
    pub answer: String,
    pub keywords: Vec<String>,
    pub category: String,
    pub source_url: Option<String>,
    pub question_en: Option<String>,
    pub answer_en: Option<String>,
    pub enabled: bool,
    /// Bumped on each edit.
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// An unanswered question, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnansweredRow {
    pub assistant: String,
    pub normalized: String,
    pub sample: String,
    pub hits: i64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}
