//! Instance configuration: typed sections with Discord-like defaults.
//!
//! The defaults live here in code (and, identical, in `config/default.toml`, checked by a test).
//! On first start they are written to the store; later starts load the stored copy and add keys that
//! a newer version introduced without overwriting stored values (see [`sync`]). At run time the
//! configuration is read through [`LiveConfig::get`], an atomic snapshot: code reads it where it uses
//! it, so an admin's change applies to the very next request.

pub mod bootstrap;
mod live;
mod merge;
mod validate;

pub use live::{ConfigError, LiveConfig};
pub use merge::{add_missing_keys, changed_leaves, flatten, merge_patch};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole instance configuration. Every section defaults field by field, so a stored or
/// file config may name only what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Config {
    pub general: General,
    pub server: Server,
    pub limits: Limits,
    pub register: Register,
    pub security: Security,
    pub gateway: Gateway,
    pub cdn: Cdn,
    pub defaults: Defaults,
    pub actors: Actors,
    pub connections: Connections,
    pub search: Search,
}

/// What the instance says about itself (instance policy routes, admin dashboard).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct General {
    pub instance_name: String,
    pub instance_description: String,
    pub front_page: String,
    pub admin_contact: String,
    pub tos_page: String,
    pub privacy_page: String,
    pub correspondence_email: String,
    /// Snowflake worker id of this node; two nodes of a cluster must differ (0–31).
    pub node_id: u8,
}

impl Default for General {
    fn default() -> Self {
        Self {
            instance_name: "Accord Instance".into(),
            instance_description: "A self-hosted, Discord-compatible chat server.".into(),
            front_page: String::new(),
            admin_contact: String::new(),
            tos_page: String::new(),
            privacy_page: String::new(),
            correspondence_email: String::new(),
            node_id: 0,
        }
    }
}

/// Network endpoints. Public URLs left empty are derived from the address actually bound, so the
/// same defaults work for `serve` on 3001 and for tests on an ephemeral port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    /// Listen address for the HTTP API, the gateway and the CDN (one port).
    pub listen: String,
    /// Public base URL of the REST API (e.g. `https://chat.example.com/api`); empty = derived.
    pub api_endpoint: String,
    /// Public gateway URL without query string (e.g. `wss://gateway.example.com`); empty = derived.
    pub gateway_endpoint: String,
    /// Public CDN base URL; empty = derived.
    pub cdn_endpoint: String,
    /// A separate listen address for the CDN (files, avatars, icons); empty = the CDN is served
    /// on `listen` with everything else. Read at start, like `listen`.
    pub cdn_listen: String,
    /// Largest request body accepted, in bytes (uploads are limited by `cdn.max_upload_bytes`).
    pub max_body_bytes: usize,
    /// A request that takes longer than this is answered 408/500 instead of hanging.
    pub request_timeout_ms: u64,
    /// A client must send a request's complete headers within this time of its first byte (and
    /// a new connection its first request's headers within this time of connecting), or the
    /// connection is closed (slowloris).
    pub header_read_timeout_ms: u64,
    /// A JSON request body must arrive in full within this time of its headers, or the request
    /// is answered 408 and the connection closed. Uploads (multipart) have `request_timeout_ms`.
    pub body_read_timeout_ms: u64,
    /// A keep-alive connection idle (no request in progress, no byte of a new one) for this
    /// long is closed.
    pub keepalive_idle_timeout_ms: u64,
    /// Open connections (HTTP and gateway) from one IP address; 0 = no limit. Over it, a new
    /// connection is answered 429 and closed.
    pub max_connections_per_ip: u32,
    /// Loopback addresses (127.0.0.0/8, ::1) skip the per-IP limit: behind a reverse proxy on
    /// the same host every client arrives from loopback, and the proxy limits per client IP.
    pub per_ip_limit_exempt_loopback: bool,
    /// Connections that have not yet made an authenticated request or identified on the
    /// gateway, across all clients; 0 = no limit. Over it, a new connection is answered 503
    /// and closed.
    pub max_unauthenticated_connections: u32,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:3001".into(),
            api_endpoint: String::new(),
            gateway_endpoint: String::new(),
            cdn_endpoint: String::new(),
            cdn_listen: String::new(),
            max_body_bytes: 1024 * 1024,
            request_timeout_ms: 30_000,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            keepalive_idle_timeout_ms: 60_000,
            max_connections_per_ip: 256,
            per_ip_limit_exempt_loopback: true,
            max_unauthenticated_connections: 5_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Limits {
    pub user: UserLimits,
    pub guild: GuildLimits,
    pub channel: ChannelLimits,
    pub webhook: WebhookLimits,
    pub message: MessageLimits,
    pub poll: PollLimits,
    pub thread: ThreadLimits,
    pub forum: ForumLimits,
    pub onboarding: OnboardingLimits,
    pub automod: AutoModLimits,
    pub application: ApplicationLimits,
    pub rate: RateLimits,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserLimits {
    pub max_guilds: u32,
    pub min_username: u32,
    pub max_username: u32,
    pub max_bio: u32,
    pub max_friends: u32,
}

impl Default for UserLimits {
    fn default() -> Self {
        Self {
            max_guilds: 100,
            min_username: 2,
            max_username: 32,
            max_bio: 190,
            max_friends: 1000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuildLimits {
    pub max_roles: u32,
    pub max_channels: u32,
    pub max_members: u32,
    pub max_emojis: u32,
    /// Stickers per guild (Discord's unboosted 5).
    pub max_stickers: u32,
    /// Largest sticker file, in bytes (Discord's 512 KiB).
    pub max_sticker_size: usize,
    /// Soundboard sounds per guild (Discord's 8 at boost tier 0).
    pub max_soundboard_sounds: u32,
    /// Largest soundboard sound file, in bytes (Discord's 512 KiB).
    pub max_soundboard_sound_size: usize,
    /// SCHEDULED or ACTIVE scheduled events per guild (Discord's 100).
    pub max_scheduled_events: u32,
    /// How long after its start an event nobody started is canceled, in seconds (Discord: "on
    /// the order of hours"; 3 hours).
    pub event_auto_cancel_secs: u32,
    /// How long an ACTIVE stage or voice event's channel may stay empty before the event
    /// completes, in seconds (Discord: "on the order of minutes"; 5 minutes).
    pub event_empty_end_secs: u32,
    /// Moved or canceled occurrences kept per recurring event (Discord documents no limit; 100).
    pub max_event_exceptions: u32,
    pub max_invites: u32,
    /// Users an invite's target users file may list. Discord documents no number; 10,000 keeps
    /// a list within one stored record of about 200 KB.
    pub max_invite_target_users: u32,
    /// Users one `POST /guilds/{id}/bulk-ban` may name (Discord's 200).
    pub max_bulk_ban: u32,
    pub min_name: u32,
    pub max_name: u32,
}

impl Default for GuildLimits {
    fn default() -> Self {
        Self {
            max_roles: 250,
            max_channels: 500,
            max_members: 250_000,
            max_emojis: 50,
            max_stickers: 5,
            max_sticker_size: 512 * 1024,
            max_soundboard_sounds: 8,
            max_soundboard_sound_size: 512 * 1024,
            max_scheduled_events: 100,
            event_auto_cancel_secs: 3 * 3600,
            event_empty_end_secs: 300,
            max_event_exceptions: 100,
            max_invites: 1000,
            max_invite_target_users: 10_000,
            max_bulk_ban: 200,
            min_name: 2,
            max_name: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelLimits {
    pub max_name: u32,
    pub max_topic: u32,
    /// Longest voice channel status (Discord's 500).
    pub max_voice_status: u32,
    /// Longest stage instance topic (Discord's 120).
    pub max_stage_topic: u32,
    pub max_pins: u32,
    pub max_webhooks: u32,
}

impl Default for ChannelLimits {
    fn default() -> Self {
        Self {
            max_name: 100,
            max_topic: 1024,
            max_voice_status: 500,
            max_stage_topic: 120,
            max_pins: 50,
            max_webhooks: 15,
        }
    }
}

/// Slack- and GitHub-compatible webhook execution: how much of a GitHub event goes into the
/// embed Discord writes for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookLimits {
    /// Commits listed in a push embed (Discord lists the first 5; the title counts them all).
    pub github_max_commits: u32,
    /// Longest commit message line in a push embed, in characters (Discord's 50).
    pub github_max_commit_message: u32,
    /// Longest issue, comment or review body quoted in an embed, in characters (Discord's 500).
    pub github_max_body: u32,
}

impl Default for WebhookLimits {
    fn default() -> Self {
        Self {
            github_max_commits: 5,
            github_max_commit_message: 50,
            github_max_body: 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageLimits {
    pub max_characters: u32,
    pub max_attachments: u32,
    pub max_embeds: u32,
    pub max_reactions: u32,
    pub max_bulk_delete: u32,
    /// Messages older than this cannot be bulk deleted (Discord: 14 days).
    pub bulk_delete_max_age_days: u32,
}

impl Default for MessageLimits {
    fn default() -> Self {
        Self {
            max_characters: 2000,
            max_attachments: 10,
            max_embeds: 10,
            max_reactions: 20,
            max_bulk_delete: 100,
            bulk_delete_max_age_days: 14,
        }
    }
}

/// Polls on messages (Discord's limits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PollLimits {
    /// Answers per poll (Discord: 10).
    pub max_answers: u32,
    /// Longest question, in characters (Discord: 300).
    pub max_question: u32,
    /// Longest answer text, in characters (Discord: 55).
    pub max_answer_text: u32,
    /// Shortest and longest `duration`, in hours (Discord: 1 to 768, i.e. 32 days).
    pub min_duration_hours: u32,
    pub max_duration_hours: u32,
    /// The `duration` of a poll that names none (Discord: 24).
    pub default_duration_hours: u32,
    /// Seconds in one hour of `duration`: 3600. A smaller figure makes polls end sooner, which
    /// tests and demos use to watch a poll expire without waiting an hour.
    pub hour_secs: u32,
}

impl Default for PollLimits {
    fn default() -> Self {
        Self {
            max_answers: 10,
            max_question: 300,
            max_answer_text: 55,
            min_duration_hours: 1,
            max_duration_hours: 768,
            default_duration_hours: 24,
            hour_secs: 3600,
        }
    }
}

/// Threads (Discord's limits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThreadLimits {
    /// Active (unarchived) threads per guild (Discord: 1000); creating one more fails with 160006.
    pub max_active_per_guild: u32,
    /// The `auto_archive_duration` values a thread may have, in minutes (Discord: 60, 1440, 4320,
    /// 10080).
    pub auto_archive_durations: Vec<u32>,
    /// The `auto_archive_duration` of a thread created without one, in minutes (Discord's
    /// client default: 4320, three days).
    pub default_auto_archive_duration: u32,
    /// Seconds in one minute of `auto_archive_duration`: 60. A smaller figure archives idle
    /// threads sooner, which tests and demos use to watch a thread archive itself.
    pub minute_secs: u32,
}

impl Default for ThreadLimits {
    fn default() -> Self {
        Self {
            max_active_per_guild: 1000,
            auto_archive_durations: vec![60, 1440, 4320, 10080],
            default_auto_archive_duration: 4320,
            minute_secs: 60,
        }
    }
}

/// Forum and media channels and thread search (Discord's limits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForumLimits {
    /// Tags a forum or media channel may offer (Discord: 20).
    pub max_tags: u32,
    /// Longest tag name (Discord: 20).
    pub max_tag_name: u32,
    /// Tags one post may carry (Discord: 5).
    pub max_applied_tags: u32,
    /// Most threads one `GET /channels/{id}/threads/search` page answers (Discord: 25, also
    /// the default).
    pub max_search_limit: u32,
    /// Highest `offset` of a thread search (Discord: 9975).
    pub max_search_offset: u32,
}

impl Default for ForumLimits {
    fn default() -> Self {
        Self {
            max_tags: 20,
            max_tag_name: 20,
            max_applied_tags: 5,
            max_search_limit: 25,
            max_search_offset: 9975,
        }
    }
}

/// Welcome screen, onboarding, member verification and incident action limits (Discord's
/// values by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OnboardingLimits {
    /// Channels a welcome screen lists (Discord: 5).
    pub max_welcome_channels: u32,
    /// Longest welcome screen description (Discord: 140).
    pub max_welcome_description: u32,
    /// Longest description of one welcome channel (Discord: 50).
    pub max_welcome_channel_description: u32,
    /// Onboarding prompts (Discord: 15).
    pub max_prompts: u32,
    /// Longest prompt title (Discord: 100).
    pub max_prompt_title: u32,
    /// Options per prompt (Discord: 50).
    pub max_prompt_options: u32,
    /// Longest option title (Discord: 50).
    pub max_option_title: u32,
    /// Longest option description (Discord: 100).
    pub max_option_description: u32,
    /// Roles, and channels, one option may name (Discord: 50 each).
    pub max_option_ids: u32,
    /// Onboarding default channels (Discord: 500).
    pub max_default_channels: u32,
    /// How far ahead incident actions may pause invites or DMs, in hours (Discord: 24).
    pub max_incident_hours: u32,
    /// Questions of a member verification form (Discord: 5).
    pub max_verification_fields: u32,
    /// Longest member verification description (Discord: 300).
    pub max_verification_description: u32,
    /// Longest form field label, description or placeholder (Discord: 300).
    pub max_field_label: u32,
    /// Rules of one TERMS field (Discord: 16).
    pub max_field_terms: u32,
    /// Longest rule of a TERMS field (Discord: 300).
    pub max_field_term: u32,
    /// Choices of one MULTIPLE_CHOICE field (Discord: 8).
    pub max_field_choices: u32,
    /// Longest choice of a MULTIPLE_CHOICE field (Discord: 150).
    pub max_field_choice: u32,
    /// Longest answer to a TEXT_INPUT field (Discord: 150).
    pub max_text_answer: u32,
    /// Longest answer to a PARAGRAPH field (Discord: 1000).
    pub max_paragraph_answer: u32,
    /// Longest reason a moderator gives for rejecting a join request (Discord: 160).
    pub max_rejection_reason: u32,
}

impl Default for OnboardingLimits {
    fn default() -> Self {
        Self {
            max_welcome_channels: 5,
            max_welcome_description: 140,
            max_welcome_channel_description: 50,
            max_prompts: 15,
            max_prompt_title: 100,
            max_prompt_options: 50,
            max_option_title: 50,
            max_option_description: 100,
            max_option_ids: 50,
            max_default_channels: 500,
            max_incident_hours: 24,
            max_verification_fields: 5,
            max_verification_description: 300,
            max_field_label: 300,
            max_field_terms: 16,
            max_field_term: 300,
            max_field_choices: 8,
            max_field_choice: 150,
            max_text_answer: 150,
            max_paragraph_answer: 1000,
            max_rejection_reason: 160,
        }
    }
}

/// Application limits (Discord's values): emojis, linked-role metadata, command permissions,
/// entitlement pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicationLimits {
    /// Emojis per application (Discord: 2000).
    pub max_emojis: u32,
    /// Largest application emoji image, in bytes (Discord: 256 KiB).
    pub max_emoji_size: usize,
    /// Role connection metadata records per application (Discord: 5).
    pub max_role_connection_metadata: u32,
    /// Permissions per command (or application-wide) in one guild (Discord: 100).
    pub max_command_permissions: u32,
    /// Largest `limit` of an entitlement list (Discord: 100).
    pub max_entitlements_page: u32,
    /// Largest `POST /applications/{id}/attachment` file, in bytes (Discord's app icon: 10 MiB).
    pub max_attachment_size: usize,
}

impl Default for ApplicationLimits {
    fn default() -> Self {
        Self {
            max_emojis: 2000,
            max_emoji_size: 256 * 1024,
            max_role_connection_metadata: 5,
            max_command_permissions: 100,
            max_entitlements_page: 100,
            max_attachment_size: 10 * 1024 * 1024,
        }
    }
}

/// Auto-moderation rules (Discord's limits) and the spam heuristic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoModLimits {
    /// Longest rule name, in characters (Discord: 100).
    pub max_name: u32,
    /// KEYWORD rules per guild (Discord: 6).
    pub max_keyword_rules: u32,
    /// SPAM rules per guild (Discord: 1).
    pub max_spam_rules: u32,
    /// KEYWORD_PRESET rules per guild (Discord: 1).
    pub max_preset_rules: u32,
    /// MENTION_SPAM rules per guild (Discord: 1).
    pub max_mention_spam_rules: u32,
    /// MEMBER_PROFILE rules per guild (Discord: 1).
    pub max_profile_rules: u32,
    /// Entries of a rule's `keyword_filter` (Discord: 1000).
    pub max_keywords: u32,
    /// Longest keyword or allow-list entry, in characters (Discord: 60).
    pub max_keyword_length: u32,
    /// Entries of a rule's `regex_patterns` (Discord: 10).
    pub max_regex_patterns: u32,
    /// Longest regex pattern, in characters (Discord: 260).
    pub max_regex_length: u32,
    /// Allow-list entries of a KEYWORD or MEMBER_PROFILE rule (Discord: 100).
    pub max_keyword_allow_list: u32,
    /// Allow-list entries of a KEYWORD_PRESET rule (Discord: 1000).
    pub max_preset_allow_list: u32,
    /// Largest `mention_total_limit` (Discord: 50).
    pub max_mention_total: u32,
    /// Longest TIMEOUT action, in seconds (Discord: 2419200, 4 weeks).
    pub max_timeout_seconds: u32,
    /// Longest BLOCK_MESSAGE `custom_message`, in characters (Discord: 150).
    pub max_custom_message: u32,
    /// Actions per rule (Discord: 5).
    pub max_actions: u32,
    /// `exempt_roles` per rule (Discord: 20).
    pub max_exempt_roles: u32,
    /// `exempt_channels` per rule (Discord: 50).
    pub max_exempt_channels: u32,
    /// SPAM rules fire on the Nth identical message in a row from one member in a channel (our heuristic; 0 turns it off).
    pub spam_repeats: u32,
    /// Seconds within which identical messages count as repeats for SPAM rules.
    pub spam_window_secs: u32,
    /// Mention raid protection (a MENTION_SPAM rule's `mention_raid_protection_enabled`): this
    /// many different members hitting the mention limit within `mention_raid_window_secs` is a
    /// raid (Discord documents the switch, not its threshold; ours; 0 turns detection off).
    pub mention_raid_members: u32,
    /// Seconds within which mention spam from different members counts toward a raid.
    pub mention_raid_window_secs: u32,
    /// Minutes a detected raid pauses joins through invites and DMs between members (the
    /// incident actions moderators can also set; at most `onboarding.max_incident_hours`).
    pub mention_raid_pause_minutes: u32,
}

impl Default for AutoModLimits {
    fn default() -> Self {
        Self {
            max_name: 100,
            max_keyword_rules: 6,
            max_spam_rules: 1,
            max_preset_rules: 1,
            max_mention_spam_rules: 1,
            max_profile_rules: 1,
            max_keywords: 1000,
            max_keyword_length: 60,
            max_regex_patterns: 10,
            max_regex_length: 260,
            max_keyword_allow_list: 100,
            max_preset_allow_list: 1000,
            max_mention_total: 50,
            max_timeout_seconds: 2_419_200,
            max_custom_message: 150,
            max_actions: 5,
            max_exempt_roles: 20,
            max_exempt_channels: 50,
            spam_repeats: 3,
            spam_window_secs: 30,
            mention_raid_members: 5,
            mention_raid_window_secs: 60,
            mention_raid_pause_minutes: 60,
        }
    }
}

/// Rate limits (Discord's contract: per-route buckets, a global per-user limit, per-IP for
/// unauthenticated routes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    pub enabled: bool,
    /// Requests per second per user or bot, across all routes.
    pub global_per_second: u32,
    /// Requests per window per IP on unauthenticated routes (login, register).
    pub ip_count: u32,
    pub ip_window_secs: u32,
    /// Per route bucket (route + major parameter) per user, for routes without their own limit.
    pub route_count: u32,
    pub route_window_secs: u32,
    /// Sending messages, per channel per user (Discord: 5 per 5 s).
    pub message_create_count: u32,
    pub message_create_window_secs: u32,
    /// Instance admins skip rate limits.
    pub admins_exempt: bool,
    /// Limits for bot accounts (`Authorization: Bot …`), which replace the user figures above
    /// for them. Discord gives bots a global 50 requests/s and the same per-route buckets.
    pub bot: BotRateLimits,
}

/// The per-account limits that differ between bots and users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BotRateLimits {
    pub global_per_second: u32,
    pub route_count: u32,
    pub route_window_secs: u32,
    pub message_create_count: u32,
    pub message_create_window_secs: u32,
}

impl Default for BotRateLimits {
    fn default() -> Self {
        Self {
            global_per_second: 50,
            route_count: 20,
            route_window_secs: 1,
            message_create_count: 5,
            message_create_window_secs: 5,
        }
    }
}

/// The limits that apply to one account: the user or the bot figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateTier {
    pub global_per_second: u32,
    pub route_count: u32,
    pub route_window_secs: u32,
    pub message_create_count: u32,
    pub message_create_window_secs: u32,
}

impl RateLimits {
    pub fn tier(&self, bot: bool) -> RateTier {
        if bot {
            let b = &self.bot;
            RateTier {
                global_per_second: b.global_per_second,
                route_count: b.route_count,
                route_window_secs: b.route_window_secs,
                message_create_count: b.message_create_count,
                message_create_window_secs: b.message_create_window_secs,
            }
        } else {
            RateTier {
                global_per_second: self.global_per_second,
                route_count: self.route_count,
                route_window_secs: self.route_window_secs,
                message_create_count: self.message_create_count,
                message_create_window_secs: self.message_create_window_secs,
            }
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            global_per_second: 50,
            ip_count: 50,
            ip_window_secs: 60,
            route_count: 20,
            route_window_secs: 1,
            message_create_count: 5,
            message_create_window_secs: 5,
            admins_exempt: true,
            bot: BotRateLimits::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Register {
    pub allow_new_registration: bool,
    pub require_invite: bool,
    pub email_required: bool,
    pub date_of_birth_required: bool,
    pub minimum_age: u8,
    pub password_min_length: u32,
    /// Discord's new-style unique usernames (discriminator "0"); false keeps #0001-style tags.
    pub unique_usernames: bool,
    /// Enforce Discord's strict username charset (a-z 0-9 _ .) on register.
    pub strict_usernames: bool,
}

impl Default for Register {
    fn default() -> Self {
        Self {
            allow_new_registration: true,
            require_invite: false,
            email_required: true,
            date_of_birth_required: true,
            minimum_age: 13,
            password_min_length: 8,
            unique_usernames: true,
            strict_usernames: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Security {
    /// Tokens older than this are refused; 0 means tokens do not expire (Discord's behaviour).
    pub token_max_age_secs: u64,
    /// argon2id parameters (OWASP's recommended minimum by default).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// User ids that are instance admins in addition to users flagged by `accord admin grant`.
    pub admin_user_ids: Vec<String>,
    /// OAuth2 access tokens' lifetime (Discord's `expires_in`: 604800, a week).
    pub oauth2_access_token_ttl_secs: u64,
    /// How long an OAuth2 authorization code may wait to be exchanged (Discord: 10 minutes).
    pub oauth2_code_ttl_secs: u64,
}

impl Default for Security {
    fn default() -> Self {
        Self {
            token_max_age_secs: 0,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            admin_user_ids: Vec::new(),
            oauth2_access_token_ttl_secs: 604_800,
            oauth2_code_ttl_secs: 600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Gateway {
    pub heartbeat_interval_ms: u64,
    /// `session_start_limit.max_concurrency`: identifies per 5 s bucket.
    pub identify_max_concurrency: u32,
    pub session_start_limit_total: u32,
    pub recommended_shards: u32,
    /// Dispatches kept per session for RESUME.
    pub resume_buffer_events: usize,
    /// How long a disconnected session stays resumable.
    pub resume_window_secs: u64,
    /// Dispatches queued for one session before it is closed as too slow (resumable).
    pub session_queue_limit: usize,
    /// Largest payload a client may send.
    pub max_payload_bytes: usize,
    pub default_large_threshold: u32,
    pub max_sessions_per_user: u32,
    /// A bot in more guilds than this must shard (close 4011 otherwise).
    pub max_guilds_per_shard: u32,
    /// zlib-stream deflate level (0–9) for new connections.
    pub zlib_level: u8,
    /// zlib-stream history window, `2^bits` bytes (9–15), for new connections.
    pub zlib_window_bits: u8,
    /// zlib-stream memory level (1–9: hash table and symbol buffer) for new connections.
    pub zlib_mem_level: u8,
    /// A connection that has not sent IDENTIFY or RESUME this long after HELLO is closed with
    /// 4009, heartbeats or not.
    pub identify_timeout_ms: u64,
    /// Payloads a client may send per `rate_window_secs` before it is closed with 4008
    /// (Discord: 120 per 60 s).
    pub max_payloads_per_window: u32,
    pub rate_window_secs: u64,
    /// Op 8 asking for every member of a guild: once per guild per this many seconds per
    /// session (Discord's limit); sooner is answered with a RATE_LIMITED dispatch. 0 = no limit.
    pub request_all_members_interval_secs: u64,
    /// User sessions (not bots) get GUILD_MEMBER_ADD/UPDATE/REMOVE without the GUILD_MEMBERS
    /// intent in guilds of at most this many members, so their member lists and role colours
    /// stay current; above it only their own member updates (a big guild's joins would flood
    /// every user's socket). 0 = only their own.
    pub user_member_events_max_members: u32,
    /// Channels one op 14/37 may subscribe member lists of in one guild; more are ignored
    /// (Discord's client keeps a handful: the open channel and the ones it just left).
    pub member_list_max_channels: u32,
    /// Member lists have an "offline" group only in guilds of at most this many members; in
    /// bigger ones offline members leave the list (Discord's client shows no offline members
    /// in guilds over 1,000). 0 = never an offline group.
    pub member_list_offline_max_members: u32,
}

impl Default for Gateway {
    fn default() -> Self {
        Self {
            heartbeat_interval_ms: 41_250,
            identify_max_concurrency: 1,
            session_start_limit_total: 1000,
            recommended_shards: 1,
            resume_buffer_events: 1000,
            resume_window_secs: 180,
            session_queue_limit: 4096,
            max_payload_bytes: 16 * 1024,
            default_large_threshold: 50,
            max_sessions_per_user: 20,
            max_guilds_per_shard: 2500,
            // ~24 KiB per zlib-stream connection instead of zlib's 262 KiB at (15, 8), for
            // 1.5× the compressed bytes on gateway traffic (BENCHMARKS.md, "zlib-stream").
            zlib_level: 6,
            zlib_window_bits: 12,
            zlib_mem_level: 2,
            identify_timeout_ms: 30_000,
            max_payloads_per_window: 120,
            rate_window_secs: 60,
            request_all_members_interval_secs: 30,
            user_member_events_max_members: 1000,
            member_list_max_channels: 5,
            member_list_offline_max_members: 1000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cdn {
    /// Directory of stored files; empty = `<data_dir>/cdn` (embedded store) or `./cdn`. Read at
    /// startup (moving files needs a restart).
    pub root: String,
    pub max_upload_bytes: usize,
    pub max_avatar_bytes: usize,
    /// Most pixels (width × height, as the file's header declares them) an uploaded image may
    /// have, and the most `?size=` resizing decodes: a decompression bomb is a few hundred
    /// bytes that declare 60000×60000 and decode to gigabytes.
    pub max_image_pixels: u64,
}

impl Default for Cdn {
    fn default() -> Self {
        Self {
            root: String::new(),
            max_upload_bytes: 25 * 1024 * 1024,
            max_avatar_bytes: 10 * 1024 * 1024,
            // 4096 × 4096: 64 MiB decoded as RGBA.
            max_image_pixels: 16_777_216,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Defaults {
    pub user: UserDefaults,
    pub guild: GuildDefaults,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserDefaults {
    pub locale: String,
    pub theme: String,
}

impl Default for UserDefaults {
    fn default() -> Self {
        Self {
            locale: "en-US".into(),
            theme: "dark".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuildDefaults {
    /// 0 = all messages, 1 = only mentions.
    pub default_message_notifications: u8,
    pub explicit_content_filter: u8,
    pub afk_timeout: u32,
    pub preferred_locale: String,
    /// Channels a new guild gets when the create body names none.
    pub text_channel_name: String,
    pub voice_channel_name: String,
}

impl Default for GuildDefaults {
    fn default() -> Self {
        Self {
            default_message_notifications: 1,
            explicit_content_filter: 0,
            afk_timeout: 300,
            preferred_locale: "en-US".into(),
            text_channel_name: "general".into(),
            voice_channel_name: "General".into(),
        }
    }
}

/// Message search (`GET /guilds/{id}/messages/search`, src/search/): the node's full-text
/// index and its indexer, and the page limits (Discord's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Search {
    /// Keep a message index and answer searches (off: searches answer 503 and nothing is
    /// indexed). Read at start.
    pub enabled: bool,
    /// The indexer commits queued changes at most this often (ms); a new message is searchable
    /// after about this long. Read at start.
    pub commit_interval_ms: u64,
    /// Changes waiting for the indexer; past this, changes are dropped (and counted) rather
    /// than slowing channels down; `accord search reindex` repairs. Read at start.
    pub queue_capacity: usize,
    /// Memory of the index writer before it flushes a segment (MB, at least 15). Read at start.
    pub writer_memory_mb: usize,
    /// Messages one search page answers, also the default (Discord: 25).
    pub max_limit: u32,
    /// Highest `offset` (Discord: 9975).
    pub max_offset: u32,
    /// Longest `content` to search for (Discord: 1024).
    pub max_content: u32,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            enabled: true,
            commit_interval_ms: 500,
            queue_capacity: 65_536,
            writer_memory_mb: 50,
            max_limit: 25,
            max_offset: 9975,
            max_content: 1024,
        }
    }
}

/// Actor runtime tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Actors {
    /// A guild/channel/user actor with no message for this long stops; it reloads on next use.
    pub idle_passivate_secs: u64,
    /// Newest messages a channel actor keeps in memory for history reads.
    pub channel_cache_messages: usize,
    /// How long a REST handler waits for an actor's answer.
    pub call_timeout_ms: u64,
    /// At most this often (seconds), freed heap memory is handed back to the OS once load
    /// (sessions, actors) has fallen; 0 = never. glibc builds only (src/memory.rs).
    pub trim_memory_secs: u64,
    /// User accounts kept in memory for rendering authors and members (read-through cache).
    pub user_cache_entries: usize,
    /// Cluster mode: channel → owning lease lookups a node remembers for routing requests
    /// (each saves a store read; running channel actors are remembered regardless).
    pub channel_route_entries: usize,
}

impl Default for Actors {
    fn default() -> Self {
        Self {
            idle_passivate_secs: 600,
            channel_cache_messages: 100,
            call_timeout_ms: 10_000,
            trim_memory_secs: 10,
            user_cache_entries: 100_000,
            channel_route_entries: 100_000,
        }
    }
}

/// Third-party accounts users may link to their profile (Discord's connections), each through
/// the provider's OAuth2 authorization-code flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Connections {
    /// Providers by connection type: the key (`github`) is the `{type}` of
    /// `/connections/{type}/authorize` and the connection's `type`. Lowercase letters, digits,
    /// `-` and `_`. Common providers are present but disabled: an operator enables one after
    /// registering an OAuth2 application with it.
    pub providers: BTreeMap<String, ConnectionProvider>,
}

impl Default for Connections {
    fn default() -> Self {
        let provider = |name: &str, authorize: &str, token: &str, userinfo: &str, scope: &str| {
            ConnectionProvider {
                name: name.into(),
                authorize_url: authorize.into(),
                token_url: token.into(),
                userinfo_url: userinfo.into(),
                scopes: vec![scope.into()],
                ..ConnectionProvider::default()
            }
        };
        let providers = BTreeMap::from([
            (
                "github".to_string(),
                ConnectionProvider {
                    name_field: "login".into(),
                    ..provider(
                        "GitHub",
                        "https://github.com/login/oauth/authorize",
                        "https://github.com/login/oauth/access_token",
                        "https://api.github.com/user",
                        "read:user",
                    )
                },
            ),
            (
                "gitlab".to_string(),
                ConnectionProvider {
                    name_field: "username".into(),
                    ..provider(
                        "GitLab",
                        "https://gitlab.com/oauth/authorize",
                        "https://gitlab.com/oauth/token",
                        "https://gitlab.com/api/v4/user",
                        "read_user",
                    )
                },
            ),
            (
                "reddit".to_string(),
                ConnectionProvider {
                    token_auth: "basic".into(),
                    ..provider(
                        "Reddit",
                        "https://www.reddit.com/api/v1/authorize",
                        "https://www.reddit.com/api/v1/access_token",
                        "https://oauth.reddit.com/api/v1/me",
                        "identity",
                    )
                },
            ),
        ]);
        Self { providers }
    }
}

/// One OAuth2 provider: where to send the user, where to exchange the code, and which fields of
/// its user-info JSON hold the account's id and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionProvider {
    /// Only enabled providers can be linked; the others answer Unknown Provider.
    pub enabled: bool,
    /// Display name (`GitHub`).
    pub name: String,
    pub authorize_url: String,
    pub token_url: String,
    /// Read with the access token (`Authorization: Bearer …`) to learn who linked.
    pub userinfo_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    /// Dotted path of the account id in the user-info JSON (`id`, `data.0.id`).
    pub id_field: String,
    /// Dotted path of the account name (`login`); the id when absent.
    pub name_field: String,
    /// Where the provider sends the browser back; empty: `{web base}/connections/{type}`, the
    /// client page that posts the code to `/connections/{type}/callback`, as Discord's does.
    pub redirect_uri: String,
    /// How the client authenticates at `token_url`: `body` (client_id/client_secret form
    /// fields) or `basic` (HTTP Basic, e.g. Reddit).
    pub token_auth: String,
}

impl Default for ConnectionProvider {
    fn default() -> Self {
        Self {
            enabled: false,
            name: String::new(),
            authorize_url: String::new(),
            token_url: String::new(),
            userinfo_url: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            scopes: Vec::new(),
            id_field: "id".into(),
            name_field: "name".into(),
            redirect_uri: String::new(),
            token_auth: "body".into(),
        }
    }
}

impl Config {
    /// The defaults as TOML (what `config/default.toml` holds and `accord config defaults` prints).
    pub fn defaults_toml() -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(&Config::default())
    }
}

#[cfg(test)]
mod default_file_tests {
    use super::Config;

    /// `config/default.toml` documents the defaults; it must say exactly what the code does.
    #[test]
    fn default_toml_matches_code() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"))
                .unwrap();
        let parsed: Config = toml::from_str(&text).unwrap();
        assert_eq!(parsed, Config::default());
        // And every key of the code's defaults is present in the file (not filled by serde defaults).
        let file: toml::Value = toml::from_str(&text).unwrap();
        let code: toml::Value = toml::Value::try_from(Config::default()).unwrap();
        assert_eq!(file, code);
    }
}
