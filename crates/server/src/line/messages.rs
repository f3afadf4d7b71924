//! LINE message objects: answers split to LINE's limits, related FAQ questions as
//! quick replies. Pure functions, so the limits are tested without a network.

use serde_json::{json, Value};

/// LINE counts a text message's length in UTF-16 code units (an emoji counts two).
pub const MAX_TEXT: usize = 5000;
/// Message objects per reply or push request.
pub const MAX_PER_REQUEST: usize = 5;
/// Quick-reply buttons: LINE allows 13; a few relevant ones read better.
const MAX_QUICK_REPLIES: usize = 4;
/// A quick-reply button label: at most 20 characters.
const MAX_LABEL: usize = 20;
/// The text a postback shows as the user's message: at most 300 characters.
const MAX_DISPLAY_TEXT: usize = 300;

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Split `text` into pieces of at most `max` UTF-16 units, preferring paragraph,
/// then line, then sentence breaks, so a long answer reads naturally over several
/// messages. No piece is empty; concatenated they are the text (minus the break
/// whitespace trimmed at piece edges).
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if utf16_len(rest) <= max {
            out.push(rest.to_string());
            break;
        }
        // The longest prefix that fits, in bytes.
        let mut units = 0;
        let mut fit = 0;
        for (i, c) in rest.char_indices() {
            units += c.len_utf16();
            if units > max {
                break;
            }
            fit = i + c.len_utf8();
        }
        let window = &rest[..fit];
        let cut = ["\n\n", "\n", "。", "．", ". ", "！", "？", "! ", "? ", "、", " "]
            .iter()
            .filter_map(|sep| window.rfind(sep).map(|i| i + sep.len()))
            // Do not make tiny pieces: a break in the last fifth of the window only.
            .find(|&i| i * 5 >= fit * 4 || i >= fit)
            .unwrap_or(fit);
        let (piece, tail) = rest.split_at(cut);
        let piece = piece.trim_end();
        if !piece.is_empty() {
            out.push(piece.to_string());
        }
        rest = tail.trim_start();
    }
    out
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// A related FAQ question offered as a quick reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    pub entry_id: String,
    pub question: String,
}

/// Postback data of a quick reply: which FAQ entry was chosen.
pub fn postback_data(entry_id: &str) -> String {
    format!("faq:{entry_id}")
}

/// The FAQ entry id in a quick reply's postback data.
pub fn parse_postback(data: &str) -> Option<&str> {
    data.strip_prefix("faq:").filter(|id| !id.is_empty() && id.len() <= 64)
}

fn quick_reply(related: &[Related]) -> Option<Value> {
    let items: Vec<Value> = related
        .iter()
        .take(MAX_QUICK_REPLIES)
        .map(|r| {
            json!({
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": truncate_chars(&r.question, MAX_LABEL),
                    "data": postback_data(&r.entry_id),
                    "displayText": truncate_chars(&r.question, MAX_DISPLAY_TEXT),
                }
            })
        })
        .collect();
    (!items.is_empty()).then(|| json!({ "items": items }))
}

/// Text message objects for `answer`, the quick replies on the last one.
pub fn text_messages(answer: &str, related: &[Related]) -> Vec<Value> {
    let mut messages: Vec<Value> =
        split_text(answer, MAX_TEXT).into_iter().map(|t| json!({ "type": "text", "text": t })).collect();
    if messages.is_empty() {
        messages.push(json!({ "type": "text", "text": "…" }));
    }
    if let (Some(last), Some(qr)) = (messages.last_mut(), quick_reply(related)) {
        last["quickReply"] = qr;
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split_text("こんにちは", 10), vec!["こんにちは"]);
        assert!(split_text("   ", 10).is_empty());
    }

    #[test]
    fn every_piece_fits_and_nothing_is_lost() {
        let para = "MNP予約番号は、現在ご契約中の携帯電話会社で発行できます。有効期限は発行日を含めて15日間です。";
        let text = [para; 200].join("\n\n");
        let pieces = split_text(&text, MAX_TEXT);
        assert!(pieces.len() > 1);
        for p in &pieces {
            assert!(utf16_len(p) <= MAX_TEXT, "{}", utf16_len(p));
            assert!(!p.is_empty());
        }
        let joined: String = pieces.concat().chars().filter(|c| !c.is_whitespace()).collect();
        let original: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(joined, original);
        // Broken at paragraph ends, not mid-sentence.
        assert!(pieces.iter().all(|p| p.ends_with('。')), "{:?}", pieces.iter().map(|p| p.len()).collect::<Vec<_>>());
    }

    #[test]
    fn text_without_breaks_is_cut_hard_and_emoji_count_double() {
        let text = "あ".repeat(12_000);
        let pieces = split_text(&text, MAX_TEXT);
        assert_eq!(pieces.iter().map(|p| p.chars().count()).collect::<Vec<_>>(), vec![5000, 5000, 2000]);
        let emoji = "😀".repeat(3000); // 6000 UTF-16 units
        let pieces = split_text(&emoji, MAX_TEXT);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| utf16_len(p) <= MAX_TEXT));
        assert_eq!(pieces[0].chars().count(), 2500);
    }

    #[test]
    fn quick_replies_go_on_the_last_message_within_limits() {
        let related: Vec<Related> = (0..6)
            .map(|i| Related {
                entry_id: format!("e{i}"),
                question: format!("{i}: MNP予約番号の有効期限はいつまでですか？何日間ですか"),
            })
            .collect();
        let messages = text_messages(&"い".repeat(6000), &related);
        assert_eq!(messages.len(), 2);
        assert!(messages[0].get("quickReply").is_none());
        let items = messages[1]["quickReply"]["items"].as_array().unwrap();
        assert_eq!(items.len(), MAX_QUICK_REPLIES);
        for item in items {
            assert!(item["action"]["label"].as_str().unwrap().chars().count() <= MAX_LABEL);
            assert!(parse_postback(item["action"]["data"].as_str().unwrap()).is_some());
        }
        assert!(text_messages("x", &[])[0].get("quickReply").is_none());
    }

    #[test]
    fn postback_data_round_trips() {
        assert_eq!(parse_postback(&postback_data("abc")), Some("abc"));
        assert_eq!(parse_postback("faq:"), None);
        assert_eq!(parse_postback("other"), None);
    }
}
