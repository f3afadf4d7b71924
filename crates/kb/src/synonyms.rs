//! The domain synonym dictionary: one group of equivalent terms per line, `#` for
//! comments. Applied at query time, so an admin's edit works at once, without
//! re-indexing.

use crate::normalize::normalize;

/// Parsed groups, each term already normalised.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    groups: Vec<Vec<String>>,
    /// The text they were parsed from, for display and export.
    pub source: String,
}

impl Synonyms {
    /// Parse; every problem is reported with its line number.
    pub fn parse(text: &str) -> Result<Self, Vec<String>> {
        let mut groups = Vec::new();
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let terms: Vec<String> = line
                .split([',', '、', '，'])
                .map(|t| normalize(t).split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|t| !t.is_empty())
                .collect();
            let mut unique: Vec<String> = Vec::new();
            for t in terms {
                if !unique.contains(&t) {
                    unique.push(t);
                }
            }
            if unique.len() < 2 {
                errors.push(format!("line {}: a group needs at least two different terms", i + 1));
                continue;
            }
            groups.push(unique);
        }
        if errors.is_empty() {
            Ok(Self { groups, source: text.to_string() })
        } else {
            Err(errors)
        }
    }

    /// The concept tokens (`c<group>`) of the groups with a term in the normalised text.
    pub fn concepts(&self, normalized_text: &str) -> String {
        let mut out = String::new();
        for (i, group) in self.groups.iter().enumerate() {
            if group.iter().any(|t| t.chars().count() >= 2 && normalized_text.contains(t.as_str())) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&format!("c{i}"));
            }
        }
        out
    }

    /// The groups with a term contained in the normalised query: (the group's index,
    /// the matched term, the other terms of its group).
    pub fn matches<'a>(&'a self, normalized_query: &str) -> Vec<(usize, &'a str, Vec<&'a str>)> {
        let mut out = Vec::new();
        for (gi, group) in self.groups.iter().enumerate() {
            // The longest term of the group found in the query.
            let Some(hit) =
                group.iter().filter(|t| normalized_query.contains(t.as_str())).max_by_key(|t| t.chars().count())
            else {
                continue;
            };
            // Single ASCII letters or one kana would match everywhere.
            if hit.chars().count() < 2 {
                continue;
            }
            let others = group.iter().filter(|t| *t != hit).map(String::as_str).collect();
            out.push((gi, hit.as_str(), others));
        }
        out
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_groups_and_expands_queries() {
        let s = Synonyms::parse("# comment\n予約番号,よやくばんごう,MNP番号\n乗り換え、のりかえ\n").unwrap();
        assert_eq!(s.len(), 2);
        let q = normalize("よやくばんごうはどこ");
        let ex = s.matches(&q);
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].1, "よやくばんごう");
        assert!(ex[0].2.contains(&"予約番号"));
        assert!(ex[0].2.contains(&"mnp番号"));
    }

    #[test]
    fn bad_lines_are_reported_with_numbers() {
        let err = Synonyms::parse("a,b\nひとつだけ\n\nx,x\n").unwrap_err();
        assert_eq!(
            err,
            vec![
                "line 2: a group needs at least two different terms",
                "line 4: a group needs at least two different terms"
            ]
        );
    }
}
