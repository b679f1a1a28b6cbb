//! What every configuration section and key means, for the dashboard's editor, and the editor's
//! view model built from it and `Config::default()`.
//!
//! A test keeps [`KEYS`] complete: adding a config key without describing it here fails it.
//! The order of the tables is the order of the editor. A `*` segment stands for any key of a
//! map section (`connections.providers.*.enabled` describes every provider's `enabled`).

use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, flatten};

/// Sections (dotted paths) in display order, with what they are for.
pub const SECTIONS: &[(&str, &str)] = &[
    (
        "general",
        "How the instance presents itself (instance policy routes, this dashboard).",
    ),
    (
        "server",
        "Network endpoints and request limits. Public URLs left empty are derived from the bound address.",
    ),
    (
        "limits.user",
        "Per-account limits (Discord's values by default).",
    ),
    ("limits.guild", "Per-guild limits."),
    ("limits.channel", "Per-channel limits."),
    ("limits.message", "Message limits, checked on every send."),
    (
        "limits.poll",
        "Poll limits, checked when a message with a poll is sent (Discord's values by default).",
    ),
    (
        "limits.thread",
        "Thread limits, checked when a thread is created or changed, and the auto-archive clock (Discord's values by default).",
    ),
    (
        "limits.forum",
        "Forum and media channels (tags) and thread search (Discord's values by default).",
    ),
    (
        "limits.webhook",
        "Slack- and GitHub-compatible webhook execution: how much of a payload becomes the message.",
    ),
    (
        "limits.onboarding",
        "Welcome screen, onboarding, member verification and incident action limits (Discord's values by default).",
    ),
    (
        "limits.automod",
        "Auto-moderation rule limits (Discord's values by default) and the spam heuristic.",
    ),
    (
        "limits.application",
        "Application limits: emojis, linked-role metadata, command permissions, entitlements (Discord's values by default).",
    ),
    (
        "limits.rate",
        "Rate limits: Discord-style per-route buckets, a global per-user limit, per-IP limits for unauthenticated routes.",
    ),
    (
        "limits.rate.bot",
        "Rate limits for bot accounts, in place of the per-account figures above.",
    ),
    ("register", "Who may register, and what they must provide."),
    (
        "security",
        "Tokens, password hashing cost and instance administrators.",
    ),
    (
        "gateway",
        "The WebSocket gateway: heartbeats, identify limits, resume buffer and per-session queue bounds.",
    ),
    (
        "cdn",
        "Uploaded files: where they are kept and how large they may be.",
    ),
    ("defaults.user", "What new accounts start with."),
    ("defaults.guild", "What new guilds start with."),
    ("actors", "Actor runtime tuning."),
    (
        "search",
        "Message search: the node's full-text index, its indexer, and Discord's page limits.",
    ),
    (
        "connections.providers.*",
        "A third-party account provider users may link (Discord's connections), keyed by connection type. OAuth2 authorization code flow; enable it after registering an OAuth2 application with the provider. Add another with a PATCH of `connections.providers.<type>`.",
    ),
];

/// Every key (dotted path) with a one-line description.
pub const KEYS: &[(&str, &str)] = &[
    (
        "general.instance_name",
        "Name of this instance, shown to clients and on this dashboard.",
    ),
    (
        "general.instance_description",
        "One-line description returned by the instance policy routes.",
    ),
    (
        "general.front_page",
        "URL of the instance's front page (empty: none).",
    ),
    (
        "general.admin_contact",
        "How to reach the administrators (email or URL).",
    ),
    (
        "general.tos_page",
        "URL of the terms of service (empty: none).",
    ),
    (
        "general.privacy_page",
        "URL of the privacy policy (empty: none).",
    ),
    (
        "general.correspondence_email",
        "Email address for correspondence.",
    ),
    (
        "general.node_id",
        "Snowflake worker id of this node (0–31); every node of a cluster needs its own. Takes effect at the next start.",
    ),
    (
        "server.listen",
        "Listen address for the API, gateway and CDN (one port). Takes effect at the next start.",
    ),
    (
        "server.api_endpoint",
        "Public base URL of the REST API; empty = derived from the bound address.",
    ),
    (
        "server.gateway_endpoint",
        "Public gateway URL without query string; empty = derived.",
    ),
    (
        "server.cdn_listen",
        "A separate listen address for the CDN (files, avatars, icons); empty serves it on `server.listen`. Takes effect at the next start.",
    ),
    (
        "server.cdn_endpoint",
        "Public CDN base URL; empty = derived.",
    ),
    (
        "server.max_body_bytes",
        "Largest request body accepted, in bytes (at least 1024).",
    ),
    (
        "server.request_timeout_ms",
        "A request taking longer than this is answered 503 with retry_after (its work is abandoned; at least 100).",
    ),
    (
        "server.header_read_timeout_ms",
        "A client must send complete request headers within this time of its first byte (a new connection: of connecting), or it is disconnected (slowloris).",
    ),
    (
        "server.body_read_timeout_ms",
        "A JSON request body must arrive in full within this time of its headers, or the request gets 408. Uploads are bounded by request_timeout_ms.",
    ),
    (
        "server.keepalive_idle_timeout_ms",
        "An idle keep-alive connection is closed after this.",
    ),
    (
        "server.max_connections_per_ip",
        "Open connections (HTTP and gateway) per client IP; 0 = no limit. Over it, new connections get 429 and are closed.",
    ),
    (
        "server.per_ip_limit_exempt_loopback",
        "Loopback (127.0.0.0/8, ::1) skips the per-IP limit: behind a reverse proxy on this host every client arrives from loopback.",
    ),
    (
        "server.max_unauthenticated_connections",
        "Connections that have neither made an authenticated request nor identified, across all clients; 0 = no limit. Over it, new connections get 503 and are closed.",
    ),
    (
        "limits.user.max_guilds",
        "Guilds one account may be a member of.",
    ),
    (
        "limits.user.min_username",
        "Shortest username (at least 1).",
    ),
    (
        "limits.user.max_username",
        "Longest username (not below the minimum).",
    ),
    ("limits.user.max_bio", "Longest profile bio, in characters."),
    (
        "limits.user.max_friends",
        "Relationships one account may have.",
    ),
    ("limits.guild.max_roles", "Roles per guild (at least 1)."),
    (
        "limits.guild.max_channels",
        "Channels per guild (at least 1).",
    ),
    ("limits.guild.max_members", "Members per guild."),
    ("limits.guild.max_emojis", "Custom emojis per guild."),
    ("limits.guild.max_stickers", "Stickers per guild."),
    (
        "limits.guild.max_scheduled_events",
        "SCHEDULED or ACTIVE scheduled events per guild (Discord's 100).",
    ),
    (
        "limits.guild.event_auto_cancel_secs",
        "Seconds after its start time at which a scheduled event nobody started is canceled (Discord: hours; 3 h).",
    ),
    (
        "limits.guild.event_empty_end_secs",
        "Seconds an ACTIVE stage or voice event's channel may stay empty before the event completes (Discord: minutes; 5 min).",
    ),
    (
        "limits.guild.max_event_exceptions",
        "Moved or canceled occurrences kept per recurring scheduled event.",
    ),
    (
        "limits.guild.max_sticker_size",
        "Largest sticker file (PNG, APNG, GIF or Lottie JSON), in bytes.",
    ),
    (
        "limits.guild.max_soundboard_sounds",
        "Soundboard sounds per guild (Discord's 8 at boost tier 0).",
    ),
    (
        "limits.guild.max_soundboard_sound_size",
        "Largest soundboard sound file (MP3 or Ogg), in bytes (Discord's 512 KiB).",
    ),
    ("limits.guild.max_invites", "Active invites per guild."),
    (
        "limits.guild.max_invite_target_users",
        "Users an invite's target users file may list (Discord documents no number).",
    ),
    (
        "limits.guild.max_bulk_ban",
        "Users one bulk ban may name (Discord's 200).",
    ),
    ("limits.guild.min_name", "Shortest guild name."),
    ("limits.guild.max_name", "Longest guild name."),
    ("limits.channel.max_name", "Longest channel name."),
    ("limits.channel.max_topic", "Longest channel topic."),
    (
        "limits.channel.max_voice_status",
        "Longest voice channel status (Discord's 500).",
    ),
    (
        "limits.channel.max_stage_topic",
        "Longest stage instance topic (Discord's 120).",
    ),
    ("limits.channel.max_pins", "Pinned messages per channel."),
    ("limits.channel.max_webhooks", "Webhooks per channel."),
    (
        "limits.webhook.github_max_commits",
        "Commits listed in a GitHub push embed (Discord's 5).",
    ),
    (
        "limits.webhook.github_max_commit_message",
        "Longest commit message line in a GitHub push embed (Discord's 50).",
    ),
    (
        "limits.webhook.github_max_body",
        "Longest issue/comment/review body quoted in a GitHub embed (Discord's 500).",
    ),
    (
        "limits.message.max_characters",
        "Longest message content, in characters (at least 1).",
    ),
    ("limits.message.max_attachments", "Attachments per message."),
    ("limits.message.max_embeds", "Embeds per message."),
    (
        "limits.message.max_reactions",
        "Distinct reactions per message.",
    ),
    (
        "limits.message.max_bulk_delete",
        "Messages one bulk delete may remove.",
    ),
    (
        "limits.message.bulk_delete_max_age_days",
        "Messages older than this many days cannot be bulk deleted (Discord: 14).",
    ),
    ("limits.poll.max_answers", "Answers per poll (Discord: 10)."),
    (
        "limits.poll.max_question",
        "Longest poll question, in characters (Discord: 300).",
    ),
    (
        "limits.poll.max_answer_text",
        "Longest poll answer, in characters (Discord: 55).",
    ),
    (
        "limits.poll.min_duration_hours",
        "Shortest poll `duration`, in hours (Discord: 1).",
    ),
    (
        "limits.poll.max_duration_hours",
        "Longest poll `duration`, in hours (Discord: 768, 32 days).",
    ),
    (
        "limits.poll.default_duration_hours",
        "The `duration` of a poll that names none, in hours (Discord: 24).",
    ),
    (
        "limits.poll.hour_secs",
        "Seconds in one hour of a poll's `duration` (3600; smaller makes polls end sooner, for tests and demos).",
    ),
    (
        "limits.thread.max_active_per_guild",
        "Active (unarchived) threads per guild (Discord: 1000); one more fails with 160006.",
    ),
    (
        "limits.thread.auto_archive_durations",
        "The `auto_archive_duration` values a thread may have, in minutes (Discord: 60, 1440, 4320, 10080).",
    ),
    (
        "limits.thread.default_auto_archive_duration",
        "The `auto_archive_duration` of a thread created without one, in minutes (4320, three days).",
    ),
    (
        "limits.thread.minute_secs",
        "Seconds in one minute of a thread's `auto_archive_duration` (60; smaller archives idle threads sooner, for tests and demos).",
    ),
    (
        "limits.forum.max_tags",
        "Tags a forum or media channel may offer (Discord: 20).",
    ),
    (
        "limits.forum.max_tag_name",
        "Longest tag name (Discord: 20).",
    ),
    (
        "limits.forum.max_applied_tags",
        "Tags one forum post may carry (Discord: 5).",
    ),
    (
        "limits.forum.max_search_limit",
        "Most threads one thread search page answers, also its default (Discord: 25).",
    ),
    (
        "limits.forum.max_search_offset",
        "Highest `offset` of a thread search (Discord: 9975).",
    ),
    (
        "limits.onboarding.max_welcome_channels",
        "Channels a welcome screen lists (Discord: 5).",
    ),
    (
        "limits.onboarding.max_welcome_description",
        "Longest welcome screen description (Discord: 140).",
    ),
    (
        "limits.onboarding.max_welcome_channel_description",
        "Longest description of one welcome channel (Discord: 50).",
    ),
    (
        "limits.onboarding.max_prompts",
        "Onboarding prompts (Discord: 15).",
    ),
    (
        "limits.onboarding.max_prompt_title",
        "Longest onboarding prompt title (Discord: 100).",
    ),
    (
        "limits.onboarding.max_prompt_options",
        "Options per onboarding prompt (Discord: 50).",
    ),
    (
        "limits.onboarding.max_option_title",
        "Longest prompt option title (Discord: 50).",
    ),
    (
        "limits.onboarding.max_option_description",
        "Longest prompt option description (Discord: 100).",
    ),
    (
        "limits.onboarding.max_option_ids",
        "Roles, and channels, one prompt option may name (Discord: 50 each).",
    ),
    (
        "limits.onboarding.max_default_channels",
        "Onboarding default channels (Discord: 500).",
    ),
    (
        "limits.onboarding.max_incident_hours",
        "How far ahead incident actions may pause invites or DMs, in hours (Discord: 24).",
    ),
    (
        "limits.onboarding.max_verification_fields",
        "Questions of a member verification form (Discord: 5).",
    ),
    (
        "limits.onboarding.max_verification_description",
        "Longest member verification description (Discord: 300).",
    ),
    (
        "limits.onboarding.max_field_label",
        "Longest form field label, description or placeholder (Discord: 300).",
    ),
    (
        "limits.onboarding.max_field_terms",
        "Rules of one TERMS field (Discord: 16).",
    ),
    (
        "limits.onboarding.max_field_term",
        "Longest rule of a TERMS field (Discord: 300).",
    ),
    (
        "limits.onboarding.max_field_choices",
        "Choices of one MULTIPLE_CHOICE field (Discord: 8).",
    ),
    (
        "limits.onboarding.max_field_choice",
        "Longest choice of a MULTIPLE_CHOICE field (Discord: 150).",
    ),
    (
        "limits.onboarding.max_text_answer",
        "Longest answer to a TEXT_INPUT field (Discord: 150).",
    ),
    (
        "limits.onboarding.max_paragraph_answer",
        "Longest answer to a PARAGRAPH field (Discord: 1000).",
    ),
    (
        "limits.onboarding.max_rejection_reason",
        "Longest reason for rejecting a join request (Discord: 160).",
    ),
    ("limits.application.max_emojis", "Emojis per application."),
    (
        "limits.application.max_emoji_size",
        "Largest application emoji image, in bytes.",
    ),
    (
        "limits.application.max_role_connection_metadata",
        "Role connection metadata records per application.",
    ),
    (
        "limits.application.max_command_permissions",
        "Permissions per command (or application-wide) in one guild.",
    ),
    (
        "limits.application.max_entitlements_page",
        "Largest limit of an entitlement list.",
    ),
    (
        "limits.application.max_attachment_size",
        "Largest application attachment (app icon upload), in bytes.",
    ),
    (
        "limits.automod.max_name",
        "Longest rule name, in characters (Discord: 100).",
    ),
    (
        "limits.automod.max_keyword_rules",
        "KEYWORD rules per guild (Discord: 6).",
    ),
    (
        "limits.automod.max_spam_rules",
        "SPAM rules per guild (Discord: 1).",
    ),
    (
        "limits.automod.max_preset_rules",
        "KEYWORD_PRESET rules per guild (Discord: 1).",
    ),
    (
        "limits.automod.max_mention_spam_rules",
        "MENTION_SPAM rules per guild (Discord: 1).",
    ),
    (
        "limits.automod.max_profile_rules",
        "MEMBER_PROFILE rules per guild (Discord: 1).",
    ),
    (
        "limits.automod.max_keywords",
        "Entries of a rule's `keyword_filter` (Discord: 1000).",
    ),
    (
        "limits.automod.max_keyword_length",
        "Longest keyword or allow-list entry, in characters (Discord: 60).",
    ),
    (
        "limits.automod.max_regex_patterns",
        "Entries of a rule's `regex_patterns` (Discord: 10).",
    ),
    (
        "limits.automod.max_regex_length",
        "Longest regex pattern, in characters (Discord: 260).",
    ),
    (
        "limits.automod.max_keyword_allow_list",
        "Allow-list entries of a KEYWORD or MEMBER_PROFILE rule (Discord: 100).",
    ),
    (
        "limits.automod.max_preset_allow_list",
        "Allow-list entries of a KEYWORD_PRESET rule (Discord: 1000).",
    ),
    (
        "limits.automod.max_mention_total",
        "Largest `mention_total_limit` (Discord: 50).",
    ),
    (
        "limits.automod.max_timeout_seconds",
        "Longest TIMEOUT action, in seconds (Discord: 2419200, 4 weeks).",
    ),
    (
        "limits.automod.max_custom_message",
        "Longest BLOCK_MESSAGE `custom_message`, in characters (Discord: 150).",
    ),
    (
        "limits.automod.max_actions",
        "Actions per rule (Discord: 5).",
    ),
    (
        "limits.automod.max_exempt_roles",
        "`exempt_roles` per rule (Discord: 20).",
    ),
    (
        "limits.automod.max_exempt_channels",
        "`exempt_channels` per rule (Discord: 50).",
    ),
    (
        "limits.automod.spam_repeats",
        "SPAM rules fire on the Nth identical message in a row from one member in a channel (our heuristic; 0 turns it off).",
    ),
    (
        "limits.automod.spam_window_secs",
        "Seconds within which identical messages count as repeats for SPAM rules.",
    ),
    (
        "limits.automod.mention_raid_members",
        "Mention raid protection: this many different members hitting a MENTION_SPAM rule's limit within the window is a raid (our threshold; 0 turns detection off).",
    ),
    (
        "limits.automod.mention_raid_window_secs",
        "Seconds within which mention spam from different members counts toward a raid.",
    ),
    (
        "limits.automod.mention_raid_pause_minutes",
        "Minutes a detected mention raid pauses joins through invites and DMs (incident actions).",
    ),
    (
        "limits.rate.enabled",
        "Whether rate limits are enforced at all.",
    ),
    (
        "limits.rate.global_per_second",
        "Requests per second per user account, across all routes (bots: `limits.rate.bot`).",
    ),
    (
        "limits.rate.ip_count",
        "Requests per window per IP address on unauthenticated routes.",
    ),
    (
        "limits.rate.ip_window_secs",
        "Window of the per-IP limit, in seconds.",
    ),
    (
        "limits.rate.route_count",
        "Requests per window per user in one route bucket (routes without a limit of their own).",
    ),
    (
        "limits.rate.route_window_secs",
        "Window of the per-route limit, in seconds.",
    ),
    (
        "limits.rate.message_create_count",
        "Messages one user may send per window in one channel.",
    ),
    (
        "limits.rate.message_create_window_secs",
        "Window of the message send limit, in seconds.",
    ),
    (
        "limits.rate.admins_exempt",
        "Instance administrators skip rate limits.",
    ),
    (
        "limits.rate.bot.global_per_second",
        "Requests per second per bot account, across all routes (Discord: 50).",
    ),
    (
        "limits.rate.bot.route_count",
        "Requests per window per bot in one route bucket.",
    ),
    (
        "limits.rate.bot.route_window_secs",
        "Window of a bot's per-route limit, in seconds.",
    ),
    (
        "limits.rate.bot.message_create_count",
        "Messages one bot may send per window in one channel.",
    ),
    (
        "limits.rate.bot.message_create_window_secs",
        "Window of a bot's message send limit, in seconds.",
    ),
    (
        "register.allow_new_registration",
        "Whether new accounts can register.",
    ),
    (
        "register.require_invite",
        "Registration requires a guild invite.",
    ),
    (
        "register.email_required",
        "Registration requires an email address.",
    ),
    (
        "register.date_of_birth_required",
        "Registration requires a date of birth.",
    ),
    (
        "register.minimum_age",
        "Youngest age allowed to register, in years.",
    ),
    (
        "register.password_min_length",
        "Shortest password accepted.",
    ),
    (
        "register.unique_usernames",
        "Discord's new unique usernames (discriminator \"0\"); off keeps name#0001 tags.",
    ),
    (
        "register.strict_usernames",
        "Enforce Discord's strict username characters (a-z 0-9 _ .).",
    ),
    (
        "security.token_max_age_secs",
        "Tokens older than this are refused; 0 = never expire.",
    ),
    (
        "security.argon2_memory_kib",
        "argon2id memory cost for password hashes, in KiB (at least 8).",
    ),
    (
        "security.argon2_iterations",
        "argon2id iterations (at least 1).",
    ),
    ("security.argon2_parallelism", "argon2id lanes."),
    (
        "security.admin_user_ids",
        "User ids that are instance administrators besides accounts flagged with `accord admin grant`. One per line.",
    ),
    (
        "security.oauth2_access_token_ttl_secs",
        "Lifetime of OAuth2 access tokens, in seconds (Discord: 604800, a week; at least 60).",
    ),
    (
        "security.oauth2_code_ttl_secs",
        "How long an OAuth2 authorization code can be exchanged, in seconds (Discord: 600; at least 10).",
    ),
    (
        "gateway.heartbeat_interval_ms",
        "Heartbeat interval sent in HELLO (at least 1000).",
    ),
    (
        "gateway.identify_max_concurrency",
        "Identifies allowed per 5-second bucket (at least 1).",
    ),
    (
        "gateway.session_start_limit_total",
        "Session starts a bot may make per day.",
    ),
    (
        "gateway.recommended_shards",
        "Shard count suggested by GET /gateway/bot.",
    ),
    (
        "gateway.resume_buffer_events",
        "Dispatches kept per session for RESUME.",
    ),
    (
        "gateway.resume_window_secs",
        "How long a disconnected session stays resumable.",
    ),
    (
        "gateway.session_queue_limit",
        "Dispatches queued for one session before it is closed as too slow (at least 16).",
    ),
    (
        "gateway.max_payload_bytes",
        "Largest payload a client may send.",
    ),
    (
        "gateway.default_large_threshold",
        "Member count above which a guild counts as large.",
    ),
    (
        "gateway.max_sessions_per_user",
        "Concurrent gateway sessions per account.",
    ),
    (
        "gateway.max_guilds_per_shard",
        "A bot in more guilds than this per shard must shard (closed with 4011 otherwise).",
    ),
    (
        "gateway.zlib_level",
        "zlib-stream deflate level, 0-9, for new gateway connections.",
    ),
    (
        "gateway.zlib_window_bits",
        "zlib-stream history window of 2^bits bytes, 9-15, for new connections. Memory per zlib-stream connection is about 2^(bits+2) + 2^(mem_level+9) bytes + 6 KiB.",
    ),
    (
        "gateway.zlib_mem_level",
        "zlib-stream memory level, 1-9 (hash table and symbol buffer), for new connections.",
    ),
    (
        "gateway.identify_timeout_ms",
        "A connection that has not sent IDENTIFY or RESUME this long after HELLO is closed with 4009.",
    ),
    (
        "gateway.max_payloads_per_window",
        "Payloads a client may send per rate_window_secs before it is closed with 4008 (Discord: 120 per 60 s).",
    ),
    (
        "gateway.rate_window_secs",
        "The window of max_payloads_per_window.",
    ),
    (
        "gateway.request_all_members_interval_secs",
        "Op 8 for every member of a guild: once per guild per this many seconds per session, else a RATE_LIMITED dispatch (0 = no limit).",
    ),
    (
        "gateway.user_member_events_max_members",
        "User sessions (not bots) get GUILD_MEMBER_ADD/UPDATE/REMOVE without the GUILD_MEMBERS intent in guilds of at most this many members; always their own member updates (0 = only their own).",
    ),
    (
        "gateway.member_list_max_channels",
        "Channels one op 14/37 may subscribe member lists of in one guild; more are ignored.",
    ),
    (
        "gateway.member_list_offline_max_members",
        "Member lists have an offline group only in guilds of at most this many members; in bigger ones offline members leave the list (0 = never an offline group).",
    ),
    (
        "cdn.root",
        "Directory of stored files; empty = <data dir>/cdn (embedded store) or ./cdn. Read at the next start.",
    ),
    (
        "cdn.max_upload_bytes",
        "Largest attachment upload, in bytes.",
    ),
    (
        "cdn.max_avatar_bytes",
        "Largest avatar, icon or banner upload, in bytes.",
    ),
    (
        "cdn.max_image_pixels",
        "Most pixels (width × height, as declared in the file) of an uploaded image, and of an image resized for ?size=; larger ones are refused before decoding.",
    ),
    ("defaults.user.locale", "Locale of new accounts."),
    (
        "defaults.user.theme",
        "Client theme of new accounts (dark or light).",
    ),
    (
        "defaults.guild.default_message_notifications",
        "Notification level of new guilds: 0 = all messages, 1 = only mentions.",
    ),
    (
        "defaults.guild.explicit_content_filter",
        "Explicit content filter of new guilds (0 = off, 1 = members without roles, 2 = everyone).",
    ),
    (
        "defaults.guild.afk_timeout",
        "AFK timeout of new guilds, in seconds.",
    ),
    (
        "defaults.guild.preferred_locale",
        "Preferred locale of new guilds.",
    ),
    (
        "defaults.guild.text_channel_name",
        "Name of the text channel a new guild gets.",
    ),
    (
        "defaults.guild.voice_channel_name",
        "Name of the voice channel a new guild gets.",
    ),
    (
        "search.enabled",
        "Keep a message index and answer searches (off: 503, nothing indexed). Read at start.",
    ),
    (
        "search.commit_interval_ms",
        "The indexer commits at most this often (ms): a message is searchable about this long after it is sent. Read at start.",
    ),
    (
        "search.queue_capacity",
        "Changes waiting for the indexer; past this they are dropped and counted (`accord search reindex` repairs). Read at start.",
    ),
    (
        "search.writer_memory_mb",
        "Memory of the index writer before it flushes a segment (MB, at least 15). Read at start.",
    ),
    (
        "search.max_limit",
        "Messages one search page answers, also the default (Discord: 25).",
    ),
    (
        "search.max_offset",
        "Highest `offset` of a search (Discord: 9975).",
    ),
    (
        "search.max_content",
        "Longest `content` searched for (Discord: 1024).",
    ),
    (
        "actors.idle_passivate_secs",
        "A guild/channel/user actor idle this long stops; it reloads on next use.",
    ),
    (
        "actors.channel_cache_messages",
        "Newest messages a channel actor keeps in memory.",
    ),
    (
        "actors.call_timeout_ms",
        "How long a request waits for an actor's answer.",
    ),
    (
        "actors.trim_memory_secs",
        "At most this often (s), freed memory goes back to the OS after load falls; 0 = never.",
    ),
    (
        "actors.user_cache_entries",
        "User accounts kept in memory for rendering authors and members.",
    ),
    (
        "actors.channel_route_entries",
        "Cluster: channel-to-owner lookups remembered for routing requests.",
    ),
    (
        "connections.providers.*.enabled",
        "Users may link this provider (disabled providers answer Unknown Provider).",
    ),
    (
        "connections.providers.*.name",
        "Display name of the provider.",
    ),
    (
        "connections.providers.*.authorize_url",
        "The provider's OAuth2 authorization endpoint (the user is sent there).",
    ),
    (
        "connections.providers.*.token_url",
        "The provider's OAuth2 token endpoint (the server exchanges the code there).",
    ),
    (
        "connections.providers.*.userinfo_url",
        "Read with the access token to learn the linked account's id and name.",
    ),
    (
        "connections.providers.*.client_id",
        "OAuth2 client id of this instance's application at the provider.",
    ),
    (
        "connections.providers.*.client_secret",
        "OAuth2 client secret (stays on the server).",
    ),
    ("connections.providers.*.scopes", "OAuth2 scopes asked for."),
    (
        "connections.providers.*.id_field",
        "Dotted path of the account id in the user-info JSON (e.g. `id`, `data.0.id`).",
    ),
    (
        "connections.providers.*.name_field",
        "Dotted path of the account name in the user-info JSON (the id when absent).",
    ),
    (
        "connections.providers.*.redirect_uri",
        "Where the provider returns the browser; empty means `{web base}/connections/{type}`.",
    ),
    (
        "connections.providers.*.token_auth",
        "How the server authenticates at the token endpoint: `body` (form fields) or `basic` (HTTP Basic).",
    ),
];

/// Whether a dotted pattern of [`KEYS`]/[`SECTIONS`] (`*` = any one segment) names `path`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('.'), path.split('.'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// Every key of the defaults with its description, wildcards expanded, in editor order.
pub fn keys() -> Vec<(String, &'static str)> {
    sections()
        .into_iter()
        .flat_map(|s| s.fields)
        .filter_map(|f| describe_key(&f.path).map(|d| (f.path, d)))
        .collect()
}

/// The input an editor field gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Bool,
    /// Whole numbers (`min` 0 when the default is unsigned).
    Integer,
    Number,
    String,
    List,
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// Dotted path, e.g. `limits.message.max_characters`.
    pub path: String,
    /// The last segment, the label.
    pub key: String,
    /// An HTML id derived from the path.
    pub id: String,
    pub kind: Kind,
    pub unsigned: bool,
    /// The default, as shown to a person.
    pub default: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub path: String,
    pub id: String,
    pub description: String,
    pub fields: Vec<Field>,
}

pub fn describe_key(path: &str) -> Option<&'static str> {
    KEYS.iter()
        .find(|(p, _)| path_matches(p, path))
        .map(|(_, d)| *d)
}

fn html_id(path: &str) -> String {
    format!("cfg-{}", path.replace('.', "-"))
}

fn kind_of(v: &Value) -> (Kind, bool) {
    match v {
        Value::Bool(_) => (Kind::Bool, false),
        Value::Number(n) if n.is_u64() => (Kind::Integer, true),
        Value::Number(n) if n.is_i64() => (Kind::Integer, false),
        Value::Number(_) => (Kind::Number, false),
        Value::Array(_) => (Kind::List, false),
        _ => (Kind::String, false),
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "(empty)".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "(none)".into(),
        other => other.to_string(),
    }
}

/// The editor's sections and fields: every key of `Config::default()`, in the order of the
/// tables above (keys missing from them last, so a new key still shows up).
pub fn sections() -> Vec<Section> {
    let defaults = serde_json::to_value(Config::default())
        .map(|doc| flatten(&doc))
        .unwrap_or_default();
    let position = |path: &str| {
        KEYS.iter()
            .position(|(p, _)| path_matches(p, path))
            .unwrap_or(usize::MAX)
    };
    let mut leaves: Vec<(String, Value)> = defaults;
    leaves.sort_by_key(|(p, _)| position(p));
    let mut sections: Vec<Section> = Vec::new();
    for (path, default) in leaves {
        let (parent, key) = path.rsplit_once('.').unwrap_or(("", path.as_str()));
        let (kind, unsigned) = kind_of(&default);
        let field = Field {
            key: key.to_string(),
            id: html_id(&path),
            kind,
            unsigned,
            default: display(&default),
            description: describe_key(&path).unwrap_or_default().to_string(),
            path: path.clone(),
        };
        match sections.iter_mut().find(|s| s.path == parent) {
            Some(s) => s.fields.push(field),
            None => sections.push(Section {
                path: parent.to_string(),
                id: html_id(parent),
                description: SECTIONS
                    .iter()
                    .find(|(p, _)| path_matches(p, parent))
                    .map(|(_, d)| d.to_string())
                    .unwrap_or_default(),
                fields: vec![field],
            }),
        }
    }
    let order = |path: &str| {
        SECTIONS
            .iter()
            .position(|(p, _)| path_matches(p, path))
            .unwrap_or(usize::MAX)
    };
    sections.sort_by_key(|s| order(&s.path));
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every configuration key is described (and nothing described is gone): add a line to
    /// `KEYS` (and the section to `SECTIONS`) when adding a config key.
    #[test]
    fn every_config_key_is_described() {
        let doc = serde_json::to_value(Config::default()).unwrap();
        let leaves: Vec<String> = flatten(&doc).into_iter().map(|(p, _)| p).collect();
        for path in &leaves {
            assert!(
                describe_key(path).is_some_and(|d| !d.is_empty()),
                "config key `{path}` has no description in src/admin/config_docs.rs KEYS"
            );
            let (section, _) = path.rsplit_once('.').unwrap();
            assert!(
                SECTIONS.iter().any(|(p, _)| path_matches(p, section)),
                "config section `{section}` is missing from src/admin/config_docs.rs SECTIONS"
            );
        }
        for (path, _) in KEYS {
            assert!(
                leaves.iter().any(|l| path_matches(path, l)),
                "`{path}` is described but is not a config key"
            );
        }
    }

    #[test]
    fn sections_follow_the_tables() {
        let s = sections();
        assert_eq!(s[0].path, "general");
        for (pattern, _) in SECTIONS {
            assert!(
                s.iter().any(|s| path_matches(pattern, &s.path)),
                "{pattern}"
            );
        }
        // A map section appears once per key of the defaults, each described.
        let github = s
            .iter()
            .find(|s| s.path == "connections.providers.github")
            .unwrap();
        assert!(github.description.contains("provider"));
        assert_eq!(github.fields[0].key, "enabled");
        assert!(path_matches("a.*.c", "a.b.c"));
        assert!(!path_matches("a.*", "a.b.c") && !path_matches("a.*.c", "a.b"));
        let message = s.iter().find(|s| s.path == "limits.message").unwrap();
        let f = &message.fields[0];
        assert_eq!(f.path, "limits.message.max_characters");
        assert_eq!(f.id, "cfg-limits-message-max_characters");
        assert_eq!(f.kind, Kind::Integer);
        assert!(f.unsigned);
        assert_eq!(f.default, "2000");
        let security = s.iter().find(|s| s.path == "security").unwrap();
        let admins = security
            .fields
            .iter()
            .find(|f| f.key == "admin_user_ids")
            .unwrap();
        assert_eq!(admins.kind, Kind::List);
        assert_eq!(admins.default, "(none)");
        let total: usize = s.iter().map(|s| s.fields.len()).sum();
        assert_eq!(total, keys().len());
    }
}
