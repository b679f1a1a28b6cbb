//! Auto-moderation enforcement: a guild's rules compiled into one immutable [`CompiledRules`]
//! whenever they change (by the guild actor), published in the [`RuleBook`], and read by the
//! channel actors on every message create and edit without asking the guild actor. A guild
//! without rules costs one atomic load and an emptiness check per message.

pub mod keyword;
pub mod presets;

use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use arc_swap::ArcSwap;
use dashmap::DashMap;
use regex::Regex;

use crate::id::{AutoModRuleId, ChannelId, GuildId, RoleId};
use crate::model::{AutoModAction, AutoModEventType, AutoModRuleRecord, TriggerType};
use keyword::{AllowList, Wild};

/// Largest compiled size of one regex pattern, so a hostile pattern cannot make a guild's
/// compile (or its matching) expensive; Discord bounds pattern length, the regex crate bounds
/// time, and this bounds memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles one of a rule's `regex_patterns` the way enforcement uses it (case-insensitive,
/// Rust's regex syntax, as Discord documents).
pub fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// One compiled rule.
#[derive(Debug)]
struct Rule {
    id: AutoModRuleId,
    trigger: TriggerType,
    exempt_roles: Box<[RoleId]>,
    exempt_channels: Box<[ChannelId]>,
    regexes: Vec<(Regex, String)>,
    allow: AllowList,
    mention_limit: u32,
    actions: Arc<[AutoModAction]>,
}

/// A keyword of the shared automaton: which rule it belongs to and how it sits in words.
#[derive(Debug)]
struct Pattern {
    rule: usize,
    wild: Wild,
    keyword: Arc<str>,
}

/// What the rules are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Where the content was posted; `None` for a member's profile, which no channel holds
    /// (so `exempt_channels` does not apply to it).
    pub channel: Option<ChannelId>,
    pub roles: &'a [RoleId],
    pub content: &'a str,
    /// Unique user and role mentions in the content.
    pub mentions: usize,
    /// How many times in a row (within the spam window) the author has sent this content,
    /// this message included.
    pub repeats: u32,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule_id: AutoModRuleId,
    pub trigger_type: TriggerType,
    pub actions: Arc<[AutoModAction]>,
    pub matched_keyword: Option<String>,
    pub matched_content: Option<String>,
}

impl Hit {
    /// Whether a BLOCK_MESSAGE action refuses the message.
    pub fn blocks(&self) -> bool {
        self.actions
            .iter()
            .any(|a| a.kind == crate::model::ActionType::BlockMessage)
    }

    /// Whether a BLOCK_MEMBER_INTERACTION action quarantines the member (profile rules).
    pub fn quarantines(&self) -> bool {
        self.actions
            .iter()
            .any(|a| a.kind == crate::model::ActionType::BlockMemberInteraction)
    }
}

/// A guild's enabled rules of one event type (MESSAGE_SEND for the channels, MEMBER_UPDATE for
/// member profiles), ready to run.
#[derive(Debug, Default)]
pub struct CompiledRules {
    rules: Vec<Rule>,
    keywords: Option<AhoCorasick>,
    patterns: Vec<Pattern>,
    /// The repetition threshold of spam rules (see [`Subject::repeats`]).
    spam_repeats: u32,
}

impl CompiledRules {
    /// Compiles the enabled message rules. A pattern that no longer compiles (validated when the
    /// rule was written, so only after a regex crate change) is left out and logged.
    pub fn compile(rules: &[AutoModRuleRecord], spam_repeats: u32) -> Self {
        Self::compile_for(rules, AutoModEventType::MessageSend, spam_repeats)
    }

    /// Compiles the enabled rules of one event type: member profile rules (MEMBER_UPDATE) are
    /// kept apart from the message rules so the message path never looks at them.
    pub fn compile_for(
        rules: &[AutoModRuleRecord],
        event: AutoModEventType,
        spam_repeats: u32,
    ) -> Self {
        let mut out = Self {
            spam_repeats,
            ..Self::default()
        };
        let mut cores: Vec<String> = Vec::new();
        for r in rules.iter().filter(|r| r.enabled && r.event_type == event) {
            let index = out.rules.len();
            let meta = &r.trigger_metadata;
            let mut words: Vec<&str> = Vec::new();
            if let Some(list) = &meta.keyword_filter {
                words.extend(list.iter().map(String::as_str));
            }
            for preset in meta.presets.iter().flatten() {
                words.extend(presets::keywords(*preset).iter().map(String::as_str));
            }
            for w in words {
                if let Some((wild, core)) = keyword::parse(w) {
                    cores.push(core);
                    out.patterns.push(Pattern {
                        rule: index,
                        wild,
                        keyword: Arc::from(w),
                    });
                }
            }
            let regexes = meta
                .regex_patterns
                .iter()
                .flatten()
                .filter_map(|p| match compile_regex(p) {
                    Ok(re) => Some((re, p.clone())),
                    Err(e) => {
                        tracing::warn!(rule = %r.id, error = %e, "automod regex left out");
                        None
                    }
                })
                .collect();
            out.rules.push(Rule {
                id: r.id,
                trigger: r.trigger_type,
                exempt_roles: r.exempt_roles.clone().into_boxed_slice(),
                exempt_channels: r.exempt_channels.clone().into_boxed_slice(),
                regexes,
                allow: AllowList::new(meta.allow_list.as_deref().unwrap_or_default()),
                mention_limit: meta.mention_total_limit.unwrap_or(u32::MAX),
                actions: r.actions.clone().into(),
            });
        }
        if !cores.is_empty() {
            match AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&cores)
            {
                Ok(ac) => out.keywords = Some(ac),
                Err(e) => tracing::warn!(error = %e, "automod keywords could not be compiled"),
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether any rule is a spam rule (only then do channels track repeats).
    pub fn has_spam_rule(&self) -> bool {
        self.rules.iter().any(|r| r.trigger == TriggerType::Spam)
    }

    /// The rules that fire for this message, at most one hit per rule, in rule order. The
    /// caller has already left out members exempt by permission (ADMINISTRATOR, MANAGE_GUILD).
    pub fn check(&self, s: &Subject<'_>) -> Vec<Hit> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let active: Vec<bool> = self
            .rules
            .iter()
            .map(|r| {
                !s.channel.is_some_and(|c| r.exempt_channels.contains(&c))
                    && !r.exempt_roles.iter().any(|x| s.roles.contains(x))
            })
            .collect();
        let mut hits: Vec<Option<Hit>> = vec![None; self.rules.len()];
        let lower = s.content.to_lowercase();
        // Offsets in `lower` are offsets in the content when lower-casing kept every length.
        let same_layout = lower.len() == s.content.len();
        let original = |a: usize, b: usize| -> String {
            match s.content.get(a..b) {
                Some(x) if same_layout => x.to_string(),
                _ => lower[a..b].to_string(),
            }
        };
        if let Some(ac) = &self.keywords {
            for m in ac.find_overlapping_iter(&lower) {
                let p = &self.patterns[m.pattern().as_usize()];
                if !active[p.rule] || hits[p.rule].is_some() {
                    continue;
                }
                if !keyword::fits(&lower, m.start(), m.end(), p.wild) {
                    continue;
                }
                let (a, b) = keyword::widen(&lower, m.start(), m.end());
                let rule = &self.rules[p.rule];
                if !rule.allow.is_empty() && rule.allow.allows(&lower[a..b]) {
                    continue;
                }
                hits[p.rule] = Some(self.hit(p.rule, Some(p.keyword.to_string()), original(a, b)));
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if !active[i] || hits[i].is_some() {
                continue;
            }
            match rule.trigger {
                TriggerType::Keyword | TriggerType::MemberProfile => {
                    for (re, pattern) in &rule.regexes {
                        let found = re.find_iter(s.content).find(|m| {
                            rule.allow.is_empty() || !rule.allow.allows(&m.as_str().to_lowercase())
                        });
                        if let Some(m) = found {
                            let content = m.as_str().to_string();
                            hits[i] = Some(self.hit(i, Some(pattern.clone()), content));
                            break;
                        }
                    }
                }
                TriggerType::MentionSpam if s.mentions > rule.mention_limit as usize => {
                    hits[i] = Some(self.hit(i, None, String::new()));
                }
                TriggerType::Spam if self.spam_repeats > 0 && s.repeats >= self.spam_repeats => {
                    hits[i] = Some(self.hit(i, None, String::new()));
                }
                _ => {}
            }
        }
        hits.into_iter().flatten().collect()
    }

    fn hit(&self, rule: usize, keyword: Option<String>, content: String) -> Hit {
        let r = &self.rules[rule];
        Hit {
            rule_id: r.id,
            trigger_type: r.trigger,
            actions: r.actions.clone(),
            matched_keyword: keyword,
            matched_content: (!content.is_empty()).then_some(content),
        }
    }
}

/// Every guild's compiled rules on this node, by guild: the guild actor publishes, channel
/// actors hold the guild's slot and load from it per message. A slot outlives a passivated or
/// restarted guild actor (which publishes into the same slot again), so a channel never holds
/// a stale set.
#[derive(Debug, Default)]
pub struct RuleBook(DashMap<GuildId, Arc<ArcSwap<CompiledRules>>>);

impl RuleBook {
    /// The guild's slot (empty until its actor publishes).
    pub fn slot(&self, guild: GuildId) -> Arc<ArcSwap<CompiledRules>> {
        self.0
            .entry(guild)
            .or_insert_with(|| Arc::new(ArcSwap::from_pointee(CompiledRules::default())))
            .clone()
    }

    pub fn publish(&self, guild: GuildId, rules: CompiledRules) {
        self.slot(guild).store(Arc::new(rules));
    }

    /// A deleted guild's slot goes.
    pub fn remove(&self, guild: GuildId) {
        self.0.remove(&guild);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ActionMetadata, ActionType, KeywordPreset, TriggerMetadata, TriggerType as T,
    };

    fn rule(id: u64, trigger: T, meta: TriggerMetadata) -> AutoModRuleRecord {
        AutoModRuleRecord {
            id: AutoModRuleId::new(id),
            guild_id: GuildId::new(1),
            name: "r".into(),
            creator_id: crate::id::UserId::new(2),
            event_type: AutoModEventType::MessageSend,
            trigger_type: trigger,
            trigger_metadata: meta,
            actions: vec![AutoModAction {
                kind: ActionType::BlockMessage,
                metadata: ActionMetadata::default(),
            }],
            enabled: true,
            exempt_roles: vec![RoleId::new(7)],
            exempt_channels: vec![ChannelId::new(8)],
        }
    }

    fn subject(content: &str) -> Subject<'_> {
        Subject {
            channel: Some(ChannelId::new(9)),
            roles: &[],
            content,
            mentions: 0,
            repeats: 1,
        }
    }

    fn keywords(words: &[&str], allow: &[&str], regex: &[&str]) -> TriggerMetadata {
        TriggerMetadata {
            keyword_filter: Some(words.iter().map(|s| s.to_string()).collect()),
            regex_patterns: Some(regex.iter().map(|s| s.to_string()).collect()),
            allow_list: Some(allow.iter().map(|s| s.to_string()).collect()),
            ..TriggerMetadata::default()
        }
    }

    #[test]
    fn keywords_wildcards_allow_lists_and_regexes() {
        let rules = CompiledRules::compile(
            &[
                rule(
                    1,
                    T::Keyword,
                    keywords(&["cat", "dog*"], &["doghouse"], &[]),
                ),
                rule(2, T::Keyword, keywords(&["*fish*"], &[], &[r"b[a@]d\d+"])),
            ],
            3,
        );
        assert!(rules.check(&subject("a catapult")).is_empty());
        let hits = rules.check(&subject("My CAT sleeps"));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].matched_keyword.as_deref(), Some("cat"));
        assert_eq!(hits[0].matched_content.as_deref(), Some("CAT"));
        assert!(rules.check(&subject("the doghouse")).is_empty());
        assert_eq!(
            rules.check(&subject("dogs!"))[0].matched_content.as_deref(),
            Some("dogs")
        );
        let hits = rules.check(&subject("selfishness and B@D42"));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].rule_id, AutoModRuleId::new(2));
        assert_eq!(hits[0].matched_keyword.as_deref(), Some("*fish*"));
        let only_regex = rules.check(&subject("so b@d99"));
        assert_eq!(only_regex[0].matched_keyword.as_deref(), Some(r"b[a@]d\d+"));
        assert_eq!(only_regex[0].matched_content.as_deref(), Some("b@d99"));
        // Exempt channel and role.
        let mut s = subject("cat");
        s.channel = Some(ChannelId::new(8));
        assert!(rules.check(&s).is_empty());
        let exempt = [RoleId::new(7)];
        let mut s = subject("cat");
        s.roles = &exempt;
        assert!(rules.check(&s).is_empty());
    }

    #[test]
    fn presets_mentions_spam_and_disabled_rules() {
        let preset = TriggerMetadata {
            presets: Some(vec![KeywordPreset::Profanity]),
            allow_list: Some(vec!["damn".into()]),
            ..TriggerMetadata::default()
        };
        let mention = TriggerMetadata {
            mention_total_limit: Some(2),
            ..TriggerMetadata::default()
        };
        let mut off = rule(4, T::Keyword, keywords(&["hello"], &[], &[]));
        off.enabled = false;
        let rules = CompiledRules::compile(
            &[
                rule(1, T::KeywordPreset, preset),
                rule(2, T::MentionSpam, mention),
                rule(3, T::Spam, TriggerMetadata::default()),
                off,
            ],
            3,
        );
        assert!(rules.has_spam_rule());
        assert!(rules.check(&subject("hello damn")).is_empty());
        assert_eq!(rules.check(&subject("oh shit")).len(), 1);
        let mut s = subject("hi");
        s.mentions = 3;
        assert_eq!(rules.check(&s)[0].trigger_type, T::MentionSpam);
        s.mentions = 2;
        s.repeats = 3;
        assert_eq!(rules.check(&s)[0].trigger_type, T::Spam);
    }

    #[test]
    fn profile_rules_are_compiled_apart_from_message_rules() {
        let mut profile = rule(
            5,
            T::MemberProfile,
            keywords(&["*spam*"], &["spamalot"], &[]),
        );
        profile.event_type = AutoModEventType::MemberUpdate;
        let rules = [profile, rule(6, T::Keyword, keywords(&["cat"], &[], &[]))];
        let messages = CompiledRules::compile(&rules, 3);
        assert!(messages.check(&subject("spammer")).is_empty());
        assert_eq!(messages.check(&subject("cat")).len(), 1);
        let profiles = CompiledRules::compile_for(&rules, AutoModEventType::MemberUpdate, 3);
        assert!(profiles.check(&subject("cat")).is_empty());
        // A name is in no channel, so exempt channels never spare it; exempt roles do.
        let mut name = subject("SpamLord");
        name.channel = None;
        let hits = profiles.check(&name);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].blocks() && !hits[0].quarantines());
        assert_eq!(hits[0].matched_content.as_deref(), Some("SpamLord"));
        name.content = "spamalot";
        assert!(profiles.check(&name).is_empty());
        let exempt = [RoleId::new(7)];
        let mut name = subject("SpamLord");
        name.roles = &exempt;
        assert!(profiles.check(&name).is_empty());
    }
}
