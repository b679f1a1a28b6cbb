//! Discord's keyword syntax, compiled once per rule change: `cat` matches the whole word,
//! `cat*` words starting with it, `*cat` words ending with it, `*cat*` anywhere; always without
//! regard to case. Every keyword of every rule goes into one Aho-Corasick automaton, so a
//! message is scanned once however many rules and keywords the guild has; the wildcard kind is
//! then a check of the characters around each hit.

/// Where a keyword may sit relative to word boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wild {
    /// `cat`: a word (or phrase) on its own.
    Whole,
    /// `cat*`: the start of a word.
    Prefix,
    /// `*cat`: the end of a word.
    Suffix,
    /// `*cat*`: anywhere, even inside a word.
    Anywhere,
}

/// A keyword split into its wildcard kind and its lower-cased core (`None` for a keyword that is
/// only asterisks, which matches nothing).
pub fn parse(keyword: &str) -> Option<(Wild, String)> {
    let trimmed = keyword.trim();
    let starts = trimmed.starts_with('*');
    let ends = trimmed.len() > 1 && trimmed.ends_with('*');
    let core = trimmed.trim_matches('*').to_lowercase();
    if core.is_empty() {
        return None;
    }
    let wild = match (starts, ends) {
        (false, false) => Wild::Whole,
        (false, true) => Wild::Prefix,
        (true, false) => Wild::Suffix,
        (true, true) => Wild::Anywhere,
    };
    Some((wild, core))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `text[start..end]` sits where `wild` allows.
pub fn fits(text: &str, start: usize, end: usize, wild: Wild) -> bool {
    let free_before = || !text[..start].chars().next_back().is_some_and(is_word);
    let free_after = || !text[end..].chars().next().is_some_and(is_word);
    match wild {
        Wild::Whole => free_before() && free_after(),
        Wild::Prefix => free_before(),
        Wild::Suffix => free_after(),
        Wild::Anywhere => true,
    }
}

/// The match widened to the whole word(s) it touches: what an allow list is compared with, and
/// what is reported as `matched_content`.
pub fn widen(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    while let Some(c) = text[..start].chars().next_back().filter(|c| is_word(*c)) {
        start -= c.len_utf8();
    }
    while let Some(c) = text[end..].chars().next().filter(|c| is_word(*c)) {
        end += c.len_utf8();
    }
    (start, end)
}

/// A rule's allow list: a widened match that one of these describes does not count.
#[derive(Debug, Default)]
pub struct AllowList(Vec<(Wild, String)>);

impl AllowList {
    pub fn new(entries: &[String]) -> Self {
        Self(entries.iter().filter_map(|e| parse(e)).collect())
    }

    /// `segment` is lower-case already.
    pub fn allows(&self, segment: &str) -> bool {
        self.0.iter().any(|(wild, core)| match wild {
            Wild::Whole => segment == core,
            Wild::Prefix => segment.starts_with(core.as_str()),
            Wild::Suffix => segment.ends_with(core.as_str()),
            Wild::Anywhere => segment.contains(core.as_str()),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_parse() {
        assert_eq!(parse("Cat"), Some((Wild::Whole, "cat".into())));
        assert_eq!(parse("cat*"), Some((Wild::Prefix, "cat".into())));
        assert_eq!(parse("*cat"), Some((Wild::Suffix, "cat".into())));
        assert_eq!(parse("*cat*"), Some((Wild::Anywhere, "cat".into())));
        assert_eq!(parse("**"), None);
        assert_eq!(parse("*"), None);
    }

    #[test]
    fn boundaries_follow_discord() {
        let t = "the catapult scat cat";
        let at = |w: &str, from: usize| t[from..].find(w).map(|i| i + from).unwrap_or(0);
        let c1 = at("cat", 0); // inside "catapult"
        assert!(!fits(t, c1, c1 + 3, Wild::Whole));
        assert!(fits(t, c1, c1 + 3, Wild::Prefix));
        assert!(!fits(t, c1, c1 + 3, Wild::Suffix));
        let c2 = at("cat", c1 + 1); // end of "scat"
        assert!(fits(t, c2, c2 + 3, Wild::Suffix));
        assert!(!fits(t, c2, c2 + 3, Wild::Prefix));
        assert!(fits(t, c2, c2 + 3, Wild::Anywhere));
        let c3 = at("cat", c2 + 1);
        assert!(fits(t, c3, c3 + 3, Wild::Whole));
        assert_eq!(widen(t, c1, c1 + 3), (c1, c1 + 8));
        // Non-ASCII letters are word characters too.
        assert!(!fits("écat", 2, 5, Wild::Whole));
    }

    #[test]
    fn allow_lists_use_the_same_wildcards() {
        let a = AllowList::new(&["catapult".into(), "dog*".into()]);
        assert!(a.allows("catapult"));
        assert!(!a.allows("catapults"));
        assert!(a.allows("doghouse"));
        assert!(!a.allows("hotdog"));
    }
}
