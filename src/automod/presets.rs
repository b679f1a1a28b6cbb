//! The keyword presets (Discord's PROFANITY, SEXUAL_CONTENT and SLURS): word lists shipped in
//! `presets.txt` (ours, small, and said so there; Discord does not publish its lists), parsed
//! once per process.

use std::sync::OnceLock;

use crate::model::KeywordPreset;

/// The keywords of one preset.
pub fn keywords(preset: KeywordPreset) -> &'static [String] {
    static LISTS: OnceLock<[Vec<String>; 3]> = OnceLock::new();
    let lists = LISTS.get_or_init(|| {
        let mut lists: [Vec<String>; 3] = Default::default();
        for line in include_str!("presets.txt").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((n, word)) = line.split_once(' ')
                && let Ok(n) = n.parse::<usize>()
                && (1..=3).contains(&n)
            {
                lists[n - 1].push(word.trim().to_string());
            }
        }
        lists
    });
    &lists[u8::from(preset) as usize - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_has_words() {
        for p in [
            KeywordPreset::Profanity,
            KeywordPreset::SexualContent,
            KeywordPreset::Slurs,
        ] {
            assert!(!keywords(p).is_empty(), "{p:?}");
        }
    }
}
