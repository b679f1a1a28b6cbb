//! Auto-moderation on the message path: what one message costs against a guild holding the most
//! rules Discord allows (6 keyword rules of 1000 keywords, 10 regexes and 100 allow-list entries
//! each, a preset rule, a mention spam rule and a spam rule), next to a guild without rules (the
//! baseline, measured in the same run). Both include the per-message load of the guild's slot,
//! as the channel actor does it.

use std::hint::black_box;
use std::sync::Arc;

use accord::automod::{CompiledRules, RuleBook, Subject};
use accord::id::{AutoModRuleId, ChannelId, GuildId, RoleId, UserId};
use accord::model::{
    ActionMetadata, ActionType, AutoModAction, AutoModEventType, AutoModRuleRecord, KeywordPreset,
    TriggerMetadata, TriggerType,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn rule(n: u64, trigger: TriggerType, meta: TriggerMetadata) -> AutoModRuleRecord {
    AutoModRuleRecord {
        id: AutoModRuleId::new(1000 + n),
        guild_id: GuildId::new(1),
        name: format!("rule {n}"),
        creator_id: UserId::new(2),
        event_type: AutoModEventType::MessageSend,
        trigger_type: trigger,
        trigger_metadata: meta,
        actions: vec![AutoModAction {
            kind: ActionType::BlockMessage,
            metadata: ActionMetadata::default(),
        }],
        enabled: true,
        exempt_roles: vec![RoleId::new(99)],
        exempt_channels: vec![ChannelId::new(98)],
    }
}

/// A word list no ordinary sentence hits: made-up words in all four wildcard forms.
fn keywords(rule: u64) -> Vec<String> {
    (0..1000)
        .map(|i| {
            let w = format!("zq{rule}x{i}vk");
            match i % 4 {
                0 => w,
                1 => format!("{w}*"),
                2 => format!("*{w}"),
                _ => format!("*{w}*"),
            }
        })
        .collect()
}

fn full_guild() -> Vec<AutoModRuleRecord> {
    let mut rules: Vec<AutoModRuleRecord> = (0..6)
        .map(|n| {
            rule(
                n,
                TriggerType::Keyword,
                TriggerMetadata {
                    keyword_filter: Some(keywords(n)),
                    regex_patterns: Some(
                        (0..10)
                            .map(|i| format!(r"qq{n}{i}[a-z]{{3}}\d+(?:zz|yy)"))
                            .collect(),
                    ),
                    allow_list: Some((0..100).map(|i| format!("allowed{i}*")).collect()),
                    ..TriggerMetadata::default()
                },
            )
        })
        .collect();
    rules.push(rule(
        6,
        TriggerType::KeywordPreset,
        TriggerMetadata {
            presets: Some(vec![
                KeywordPreset::Profanity,
                KeywordPreset::SexualContent,
                KeywordPreset::Slurs,
            ]),
            allow_list: Some(Vec::new()),
            ..TriggerMetadata::default()
        },
    ));
    rules.push(rule(
        7,
        TriggerType::MentionSpam,
        TriggerMetadata {
            mention_total_limit: Some(20),
            ..TriggerMetadata::default()
        },
    ));
    rules.push(rule(8, TriggerType::Spam, TriggerMetadata::default()));
    rules
}

/// As the channel actor does it: a guard load for the emptiness check, then a full load.
fn run(slot: &arc_swap::ArcSwap<CompiledRules>, s: &Subject<'_>) -> usize {
    if slot.load().is_empty() {
        return 0;
    }
    slot.load_full().check(s).len()
}

fn automod(c: &mut Criterion) {
    let content = "Hey everyone, the meeting moved to Thursday at 15:00 — bring the slides \
                   and your laptop, we'll review the Q3 numbers together.";
    let book = RuleBook::default();
    let (empty, full) = (GuildId::new(1), GuildId::new(2));
    book.publish(empty, CompiledRules::default());
    book.publish(full, CompiledRules::compile(&full_guild(), 3));
    let (empty, full) = (book.slot(empty), book.slot(full));
    let roles: Arc<[RoleId]> = Arc::from([RoleId::new(5)]);
    let subject = Subject {
        channel: Some(ChannelId::new(7)),
        roles: &roles,
        content,
        mentions: 1,
        repeats: 1,
    };
    assert!(full.load().check(&subject).is_empty());
    let mut g = c.benchmark_group("automod");
    g.bench_function("no_rules", |b| {
        b.iter(|| run(black_box(&empty), black_box(&subject)))
    });
    g.bench_function("max_rules", |b| {
        b.iter(|| run(black_box(&full), black_box(&subject)))
    });
    let hit = Subject {
        content: "the meeting moved, zq3x42vk and stuff",
        ..subject
    };
    g.bench_function("max_rules/hit", |b| {
        b.iter(|| run(black_box(&full), black_box(&hit)))
    });
    g.bench_function("compile/max_rules", |b| {
        let rules = full_guild();
        b.iter(|| CompiledRules::compile(black_box(&rules), 3))
    });
    g.finish();
}

criterion_group!(benches, automod);
criterion_main!(benches);
