//! The prompt sent upstream: the system prompt, then as much recent history as fits
//! the token budget (oldest turns dropped first). Tokens are estimated without a
//! tokenizer: about one per CJK character, one per four ASCII characters.

use tenmon_llm::{Message, Role};
use tenmon_store::{MessageRow, MessageStatus};

/// A rough token count that errs on the high side for Japanese.
pub fn estimate_tokens(text: &str) -> u32 {
    // Counted over bytes, not chars: an ASCII byte is a character, and every other
    // character has exactly one lead byte (0xC0 and up). The loop vectorizes; the
    // estimate runs on every turn over the whole prompt, system prompt included.
    let (mut ascii, mut other) = (0u32, 0u32);
    for &b in text.as_bytes() {
        ascii += u32::from(b < 0x80);
        other += u32::from(b >= 0xC0);
    }
    ascii.div_ceil(4) + other + 4
}

/// Build the messages for the model from the conversation so far. The newest user
/// message is always kept; older messages go first when the budget is exceeded.
pub fn build_prompt(system: &str, history: &[MessageRow], budget: u32) -> Vec<Message> {
    let usable: Vec<&MessageRow> = history
        .iter()
        .filter(|m| {
            m.role == "user" || (m.role == "assistant" && m.status == MessageStatus::Complete && !m.content.is_empty())
        })
        .collect();
    let mut used = estimate_tokens(system);
    let mut kept: Vec<Message> = Vec::new();
    for (i, m) in usable.iter().rev().enumerate() {
        let cost = estimate_tokens(&m.content);
        if i > 0 && used + cost > budget {
            break;
        }
        used += cost;
        let role = if m.role == "user" { Role::User } else { Role::Assistant };
        kept.push(Message::new(role, m.content.clone()));
    }
    kept.reverse();
    let mut out = Vec::with_capacity(kept.len() + 1);
    out.push(Message::new(Role::System, system));
    out.extend(kept);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, content: &str, status: MessageStatus) -> MessageRow {
        MessageRow {
            id: "x".into(),
            conversation_id: "c".into(),
            seq: 0,
            role: role.into(),
            content: content.into(),
            status,
            model: None,
            finish_reason: None,
            usage: None,
            latency_ms: None,
            sources: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn estimates_japanese_higher_than_ascii() {
        assert!(estimate_tokens("予約番号の有効期限") > estimate_tokens("reservation"));
        // One token per non-ASCII character (2-, 3- and 4-byte forms alike), a quarter
        // per ASCII one, plus four for the message's framing.
        assert_eq!(estimate_tokens(""), 4);
        assert_eq!(estimate_tokens("abcde"), 2 + 4);
        assert_eq!(estimate_tokens("é予😀"), 3 + 4);
        assert_eq!(estimate_tokens("MNP予約番号"), 1 + 4 + 4);
    }

    #[test]
    fn drops_oldest_first_and_keeps_system_and_latest() {
        let long = "あ".repeat(400);
        let history = vec![
            msg("user", &format!("古い質問{long}"), MessageStatus::Complete),
            msg("assistant", &format!("古い答え{long}"), MessageStatus::Complete),
            msg("user", "新しい質問", MessageStatus::Complete),
            msg("assistant", "", MessageStatus::Streaming),
        ];
        let p = build_prompt("system", &history, 500);
        assert_eq!(p[0].role, Role::System);
        assert_eq!(p.last().unwrap().content, "新しい質問");
        assert!(p.iter().all(|m| !m.content.starts_with("古い質問")), "{p:?}");
        let all = build_prompt("system", &history, 100_000);
        assert_eq!(all.len(), 4, "system + two old + the new question; the streaming one is skipped");
    }

    #[test]
    fn failed_and_cancelled_answers_are_not_history() {
        let history = vec![
            msg("user", "q1", MessageStatus::Complete),
            msg("assistant", "partial", MessageStatus::Cancelled),
            msg("user", "q2", MessageStatus::Complete),
        ];
        let p = build_prompt("s", &history, 10_000);
        assert!(p.iter().all(|m| m.content != "partial"));
    }
}
