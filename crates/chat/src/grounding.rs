//! Grounded answers: what a turn retrieves from the knowledge bases, and how it
//! answers when it must not (or cannot) ask a model.

use crate::assistants::Assistant;
use std::sync::Arc;
use tenmon_kb::{KnowledgeBase, SearchResult};

/// How a turn will answer.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Ask the model; the system prompt carries the retrieved entries.
    Model { system_prompt: String },
    /// Answer with this text, no model involved.
    Fixed { text: String, model: &'static str },
}

/// The plan and the entries it rests on.
#[derive(Debug, Clone)]
pub struct Grounding {
    pub plan: Plan,
    pub sources: Sources,
    /// Nothing relevant was found for a question that needed it.
    pub unanswered: bool,
}

/// Most entries a plan rests on.
const MAX_SOURCES: usize = 3;

/// The entries a plan rests on: some of the search's shared results, by position.
/// Not copies: a result is a dozen strings, a `/v1` request never reads them, and a
/// chat turn turns them into JSON once.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    results: Option<Arc<Vec<SearchResult>>>,
    picked: [u8; MAX_SOURCES],
    len: u8,
}

impl Sources {
    /// Up to [`MAX_SOURCES`] of `results`, the first for which `keep` holds.
    fn pick(results: &Arc<Vec<SearchResult>>, keep: impl Fn(&SearchResult) -> bool) -> Self {
        let mut out = Sources { results: Some(results.clone()), ..Sources::default() };
        for (i, r) in results.iter().enumerate().take(u8::MAX as usize) {
            if usize::from(out.len) == MAX_SOURCES {
                break;
            }
            if keep(r) {
                out.picked[usize::from(out.len)] = i as u8;
                out.len += 1;
            }
        }
        out
    }

    pub fn iter(&self) -> impl Iterator<Item = &SearchResult> {
        let all = self.results.as_deref().map_or(&[][..], Vec::as_slice);
        self.picked[..usize::from(self.len)].iter().filter_map(move |&i| all.get(usize::from(i)))
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        *self = Sources::default();
    }
}

pub(crate) fn english(text: &str) -> bool {
    !text.chars().any(|c| matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x9FFF | 0xFF66..=0xFF9D))
}

/// The sources as stored in the event log and sent to clients.
pub fn sources_json<'a>(sources: impl IntoIterator<Item = &'a SearchResult>) -> serde_json::Value {
    serde_json::Value::Array(
        sources
            .into_iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id, "kb": s.kb, "question": s.question, "score": s.score,
                    "confidence": (s.confidence * 100.0).round() / 100.0, "source_url": s.source_url,
                })
            })
            .collect(),
    )
}

fn handoff(en: bool) -> String {
    if en {
        "I'm sorry, I can't answer that from the information I have. Please contact our support desk and a member of staff will help you.".into()
    } else {
        "申し訳ございません。そのご質問には、手元の情報からはお答えできません。お手数ですが、サポート窓口へお問い合わせいただければ、担当者がご案内いたします。".into()
    }
}

fn kb_answer(best: &SearchResult, related: &[&SearchResult], en: bool) -> String {
    let pick = |ja: &str, en_text: &Option<String>| {
        if en {
            en_text.clone().unwrap_or_else(|| ja.to_string())
        } else {
            ja.to_string()
        }
    };
    let mut text = pick(&best.answer, &best.answer_en);
    if !related.is_empty() {
        text.push_str(if en { "\n\nRelated questions:" } else { "\n\n関連するご質問:" });
        for r in related {
            text.push_str(if en { "\n- " } else { "\n・" });
            text.push_str(&pick(&r.question, &r.question_en));
        }
    }
    text.push_str(if en {
        "\n\n(Generative answers are off: this is the closest answer from our FAQ.)"
    } else {
        "\n\n※ 現在、生成AIによる回答はオフになっています。FAQから最も近い回答をご案内しています。"
    });
    text
}

/// Decide how to answer `message` as `assistant`.
pub async fn plan(
    kb: Option<&KnowledgeBase>,
    assistant: &Assistant,
    message: &str,
    model_available: bool,
) -> Grounding {
    let en = english(message);
    let base = || Grounding {
        plan: Plan::Model { system_prompt: assistant.system_prompt.clone() },
        sources: Sources::default(),
        unanswered: false,
    };
    let Some(kb) = kb else {
        return base();
    };
    // With a model, only assistants with knowledge bases retrieve; without one, every
    // assistant answers from the knowledge (all of it when it names none).
    if model_available && assistant.knowledge_bases.is_empty() {
        return base();
    }
    let results = match kb.search_shared(message, &assistant.knowledge_bases, 6).await {
        Ok(r) => r.results,
        Err(e) => {
            tracing::error!(error = %e, "knowledge search failed");
            Default::default()
        }
    };
    let min = kb.settings().min_confidence;
    if !model_available {
        return match results.iter().find(|r| r.confidence >= min) {
            Some(best) => {
                let related: Vec<&SearchResult> =
                    results.iter().filter(|r| r.id != best.id && r.confidence >= min * 0.6).take(3).collect();
                let text = kb_answer(best, &related, en);
                let sources = Sources::pick(&results, |r| std::ptr::eq(r, best));
                Grounding { plan: Plan::Fixed { text, model: "knowledge-base" }, sources, unanswered: false }
            }
            None => Grounding {
                plan: Plan::Fixed { text: handoff(en), model: "knowledge-base" },
                sources: Sources::default(),
                unanswered: true,
            },
        };
    }
    // The shared results are pointed at, not copied: this runs on every grounded
    // turn (and /v1 request).
    let good = Sources::pick(&results, |r| r.confidence >= min);
    if good.is_empty() {
        if assistant.knowledge_only {
            return Grounding {
                plan: Plan::Fixed { text: handoff(en), model: "knowledge-base" },
                sources: Sources::default(),
                unanswered: true,
            };
        }
        return base();
    }
    let mut prompt = assistant.system_prompt.clone();
    prompt.push_str(
        "\n\n# 参考情報（ナレッジベース）\n次の項目だけに基づいて答えてください。使った項目の ID を [mnp-001] のように文末に示してください。\
         項目に答えがない部分は、分からないと伝えてください。\n",
    );
    prompt.reserve(good.iter().map(|s| s.id.len() + s.question.len() + s.answer.len() + 12).sum());
    for s in good.iter() {
        for part in ["\n[", &s.id, "] Q: ", &s.question, "\nA: ", &s.answer, "\n"] {
            prompt.push_str(part);
        }
    }
    Grounding { plan: Plan::Model { system_prompt: prompt }, sources: good, unanswered: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, confidence: f32) -> SearchResult {
        SearchResult {
            id: id.into(),
            kb: "mnp".into(),
            question: format!("{id}?"),
            answer: String::new(),
            category: String::new(),
            score: confidence,
            confidence,
            highlights: Vec::new(),
            question_en: None,
            answer_en: None,
            source_url: None,
        }
    }

    #[test]
    fn sources_point_at_the_first_three_results_that_qualify() {
        let results = Arc::new(
            ["a", "b", "c", "d", "e"].iter().zip([0.9, 0.1, 0.8, 0.7, 0.6]).map(|(id, c)| result(id, c)).collect(),
        );
        let mut picked = Sources::pick(&results, |r| r.confidence >= 0.5);
        assert_eq!(picked.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a", "c", "d"]);
        assert_eq!(picked.len(), 3);
        let json = sources_json(picked.iter());
        assert_eq!(json[1]["id"], "c");
        assert_eq!(json[1]["question"], "c?");
        picked.clear();
        assert!(picked.is_empty() && picked.iter().next().is_none());
        assert!(Sources::pick(&results, |r| r.confidence > 0.95).is_empty());
        let best = &results[3];
        assert_eq!(Sources::pick(&results, |r| std::ptr::eq(r, best)).iter().next().unwrap().id, "d");
    }
}
