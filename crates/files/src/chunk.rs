//! Splitting extracted text into overlapping chunks for the knowledge base, each with an index
//! and a short title to cite it by.
//!
//! A chunk ends at the best boundary in the second half of its window: a blank line
//! (paragraph), else a sentence end (`。！？` as well as `.!?`), else a line end, else a space or
//! `、`, else the window's end. The next chunk starts up to `overlap_chars` earlier, moved
//! forward to a sentence or word start, so a fact cut at a boundary is whole in one of them.

/// How long chunks are, in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkOptions {
    /// The most characters in a chunk.
    pub target_chars: usize,
    /// About how many characters a chunk repeats from the end of the previous one (at most
    /// half of `target_chars`).
    pub overlap_chars: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self { target_chars: 800, overlap_chars: 100 }
    }
}

/// One piece of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Position in the document, from 0.
    pub index: usize,
    /// The Markdown heading the chunk falls under, else `<file name> (n/m)`.
    pub title: String,
    /// The chunk's text, trimmed.
    pub text: String,
}

/// The longest title, in characters.
const MAX_TITLE_CHARS: usize = 80;

/// Splits `text` into chunks; `file_name` names them when there is no heading.
pub fn chunk_text(text: &str, file_name: &str, options: &ChunkOptions) -> Vec<Chunk> {
    let chars: Vec<char> = text.chars().collect();
    let target = options.target_chars.max(1);
    let overlap = options.overlap_chars.min(target / 2);
    let mut spans = Vec::new();
    let mut start = skip_space(&chars, 0);
    while start < chars.len() {
        if chars.len() - start <= target {
            spans.push((start, chars.len()));
            break;
        }
        let hard = start + target;
        let end = best_break(&chars, start + target / 2, hard).unwrap_or(hard);
        spans.push((start, end));
        let back = end.saturating_sub(overlap).max(start + 1);
        start = skip_space(&chars, snap_forward(&chars, back, end));
    }
    let spans: Vec<_> = spans
        .into_iter()
        .map(|(s, e)| (s, chars[s..e].iter().collect::<String>().trim().to_owned()))
        .filter(|(_, t)| !t.is_empty())
        .collect();
    let headings = headings(&chars);
    let total = spans.len();
    spans
        .into_iter()
        .enumerate()
        .map(|(index, (start, text))| {
            let heading = headings.iter().rev().find(|(at, _)| *at <= start).map(|(_, h)| h.as_str());
            let title = match heading {
                Some(h) => h.chars().take(MAX_TITLE_CHARS).collect(),
                None => format!("{file_name} ({}/{total})", index + 1),
            };
            Chunk { index, title, text }
        })
        .collect()
}

/// Break classes, best first: after a blank line, a sentence end, a line end, a space or comma.
fn best_break(chars: &[char], lo: usize, hi: usize) -> Option<usize> {
    let after = |p: usize| chars[p - 1];
    let paragraph = |p: usize| p >= 2 && after(p) == '\n' && chars[p - 2] == '\n';
    let sentence = |p: usize| ends_sentence(chars, p);
    let line = |p: usize| after(p) == '\n';
    let word = |p: usize| after(p).is_whitespace() || matches!(after(p), '、' | '，' | ',' | ';' | '；');
    let classes: [&dyn Fn(usize) -> bool; 4] = [&paragraph, &sentence, &line, &word];
    let lo = lo.max(1);
    classes.iter().find_map(|is| (lo..=hi).rev().find(|&p| is(p)))
}

/// True when a sentence ends just before `p` (closing brackets after the mark included).
fn ends_sentence(chars: &[char], p: usize) -> bool {
    let mut q = p;
    while q > 0 && matches!(chars[q - 1], '」' | '』' | '）' | ')' | '"' | '”' | '\'') {
        q -= 1;
    }
    if q == 0 {
        return false;
    }
    match chars[q - 1] {
        '。' | '！' | '？' | '｡' => true,
        // "3.5" or "e.g.x" is no sentence end: ASCII marks need a space (or the end) after.
        '.' | '!' | '?' => chars.get(p).is_none_or(|c| c.is_whitespace()),
        _ => false,
    }
}

/// The first sentence start (else word start) in `from..to`; `from` when there is none.
fn snap_forward(chars: &[char], from: usize, to: usize) -> usize {
    let from = from.max(1);
    (from..to)
        .find(|&p| ends_sentence(chars, p) || chars[p - 1] == '\n')
        .or_else(|| (from..to).find(|&p| chars[p - 1].is_whitespace()))
        .unwrap_or(from)
}

fn skip_space(chars: &[char], mut p: usize) -> usize {
    while p < chars.len() && chars[p].is_whitespace() {
        p += 1;
    }
    p
}

/// Markdown ATX headings (`# Title`) with the character offset of their line.
fn headings(chars: &[char]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut line_start = 0;
    for line in chars.split(|&c| c == '\n') {
        let hashes = line.iter().take_while(|&&c| c == '#').count();
        if (1..=6).contains(&hashes) && line.get(hashes).is_some_and(|c| *c == ' ') {
            let title: String =
                line[hashes..].iter().collect::<String>().trim().trim_end_matches('#').trim().to_owned();
            if !title.is_empty() {
                out.push((line_start, title));
            }
        }
        line_start += line.len() + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(target: usize, overlap: usize) -> ChunkOptions {
        ChunkOptions { target_chars: target, overlap_chars: overlap }
    }

    #[test]
    fn short_text_is_one_chunk_named_after_the_file() {
        let chunks = chunk_text("  Hello.  \n", "notes.txt", &ChunkOptions::default());
        assert_eq!(chunks, vec![Chunk { index: 0, title: "notes.txt (1/1)".into(), text: "Hello.".into() }]);
        assert!(chunk_text(" \n\n ", "empty.txt", &ChunkOptions::default()).is_empty());
    }

    #[test]
    fn prefers_paragraph_breaks() {
        let p1 = "First paragraph sentence one. Sentence two is here.";
        let p2 = "Second paragraph, also with two sentences. Yes it does.";
        let text = format!("{p1}\n\n{p2}\n\n{p1}");
        let chunks = chunk_text(&text, "a.txt", &opts(120, 0));
        assert_eq!(chunks[0].text, format!("{p1}\n\n{p2}"));
        assert_eq!(chunks[1].text, p1);
    }

    #[test]
    fn japanese_sentences_are_boundaries() {
        let s = "これは日本語の文です。";
        let text = s.repeat(10); // 110 chars, no spaces at all
        let chunks = chunk_text(&text, "ja.txt", &opts(50, 0));
        for c in &chunks {
            assert!(c.text.ends_with('。'), "{:?}", c.text);
            assert!(c.text.chars().count() <= 50);
        }
        assert_eq!(chunks.iter().map(|c| c.text.as_str()).collect::<String>(), text);
    }

    #[test]
    fn overlap_starts_at_a_sentence() {
        let text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu. Nu xi omicron.";
        let chunks = chunk_text(text, "g.txt", &opts(40, 20));
        assert_eq!(chunks[0].text, "Alpha beta gamma. Delta epsilon zeta.");
        // The next one repeats the previous sentence rather than starting mid-word.
        assert_eq!(chunks[1].text, "Delta epsilon zeta. Eta theta iota.");
        assert!(chunks.last().unwrap().text.ends_with("Nu xi omicron."));
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.index, i);
            assert!(c.text.chars().count() <= 40);
        }
    }

    #[test]
    fn decimals_are_not_sentence_ends_and_long_words_are_cut_hard() {
        let text = format!("{} Price is 3.5 yen per unit today ok", "x".repeat(30));
        let chunks = chunk_text(&text, "n.txt", &opts(20, 0));
        assert_eq!(chunks[0].text, "x".repeat(20));
        assert!(chunks.iter().all(|c| !c.text.starts_with('5')), "{chunks:?}");
    }

    #[test]
    fn titles_come_from_markdown_headings() {
        let body = "Some words here. ".repeat(6);
        let text = format!("Intro text.\n\n# 概要\n\n{body}\n\n## Details ##\n\n{body}");
        let chunks = chunk_text(&text, "guide.md", &opts(120, 10));
        assert_eq!(chunks[0].title, format!("guide.md (1/{})", chunks.len()));
        assert!(chunks.iter().any(|c| c.title == "概要"), "{chunks:#?}");
        assert_eq!(chunks.last().unwrap().title, "Details");
    }

    #[test]
    fn default_size_is_about_800() {
        let text = "A sentence of about forty characters ok. ".repeat(100);
        let chunks = chunk_text(&text, "long.txt", &ChunkOptions::default());
        assert!(chunks.len() >= 5);
        for c in &chunks[..chunks.len() - 1] {
            let n = c.text.chars().count();
            assert!((400..=800).contains(&n), "{n}");
        }
    }
}
