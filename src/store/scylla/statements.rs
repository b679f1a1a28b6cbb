//! Every statement the store runs, prepared once at connect (the session's keyspace is set, so
//! table names are unqualified).

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use super::be;
use crate::store::StoreResult;

macro_rules! statements {
    ($($name:ident = $cql:expr;)*) => {
        pub struct Statements {
            $(pub $name: PreparedStatement,)*
        }

        /// `(name, cql)` of every statement, for tests.
        #[cfg(test)]
        pub const ALL: &[(&str, &str)] = &[$((stringify!($name), $cql),)*];

        impl Statements {
            pub async fn prepare(session: &Session) -> StoreResult<Self> {
                // All at once: a hundred round trips in flight together, once per process. A
                // `Vec` of boxed futures, not `try_join!`: the macro's state for over a hundred
                // futures overflowed a 2 MiB thread stack in debug builds.
                let futures: Vec<Pending<'_>> = vec![
                    $(Box::pin(prepare(session, $cql, stringify!($name))),)*
                ];
                let mut prepared = futures::future::try_join_all(futures).await?.into_iter();
                Ok(Self {
                    $($name: prepared
                        .next()
                        .ok_or_else(|| be("fewer prepared statements than statements"))?,)*
                })
            }
        }
    };
}

/// One statement being prepared.
type Pending<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = StoreResult<PreparedStatement>> + Send + 'a>,
>;

async fn prepare(session: &Session, cql: &str, name: &str) -> StoreResult<PreparedStatement> {
    let mut statement = session
        .prepare(cql)
        .await
        .map_err(|e| be(format!("preparing {name} ({cql}): {e}")))?;
    // Reads and plain upserts/deletes can be retried or speculatively executed safely; LWTs and
    // batches are not marked (a retried compare-and-set could count twice).
    let upper = cql.to_ascii_uppercase();
    statement.set_is_idempotent(!upper.contains(" IF "));
    Ok(statement)
}

statements! {
    // applications
    app_get = "SELECT data FROM applications WHERE id = ?";
    app_put = "INSERT INTO applications (id, data) VALUES (?, ?)";
    app_del = "DELETE FROM applications WHERE id = ?";
    app_of_owner_put = "INSERT INTO applications_by_owner (owner_id, application_id) VALUES (?, ?)";
    app_of_owner_del = "DELETE FROM applications_by_owner WHERE owner_id = ? AND application_id = ?";
    apps_of_owner = "SELECT application_id FROM applications_by_owner WHERE owner_id = ?";

    // application commands (a scope's rows by (kind, name), and the id -> scope index)
    cmd_put = "INSERT INTO application_commands (application_id, guild_id, kind, name, command_id, data) VALUES (?, ?, ?, ?, ?, ?)";
    cmd_by_name = "SELECT command_id, data FROM application_commands WHERE application_id = ? AND guild_id = ? AND kind = ? AND name = ?";
    cmd_del = "DELETE FROM application_commands WHERE application_id = ? AND guild_id = ? AND kind = ? AND name = ?";
    cmds_of_scope = "SELECT kind, name, command_id, data FROM application_commands WHERE application_id = ? AND guild_id = ?";
    cmd_index_put = "INSERT INTO application_commands_by_id (application_id, command_id, guild_id, kind, name) VALUES (?, ?, ?, ?, ?)";
    cmd_index_get = "SELECT guild_id, kind, name FROM application_commands_by_id WHERE application_id = ? AND command_id = ?";
    cmd_index_del = "DELETE FROM application_commands_by_id WHERE application_id = ? AND command_id = ?";

    // webhooks
    webhook_get = "SELECT data FROM webhooks WHERE id = ?";
    webhook_put = "INSERT INTO webhooks (id, data) VALUES (?, ?)";
    webhook_del = "DELETE FROM webhooks WHERE id = ?";
    webhook_of_channel_put = "INSERT INTO webhooks_by_channel (channel_id, webhook_id) VALUES (?, ?)";
    webhook_of_channel_del = "DELETE FROM webhooks_by_channel WHERE channel_id = ? AND webhook_id = ?";
    webhooks_of_channel = "SELECT webhook_id FROM webhooks_by_channel WHERE channel_id = ?";
    webhook_of_guild_put = "INSERT INTO webhooks_by_guild (guild_id, webhook_id) VALUES (?, ?)";
    webhook_of_guild_del = "DELETE FROM webhooks_by_guild WHERE guild_id = ? AND webhook_id = ?";
    webhooks_of_guild = "SELECT webhook_id FROM webhooks_by_guild WHERE guild_id = ?";
    webhook_of_source_put = "INSERT INTO webhooks_by_source_channel (source_channel_id, webhook_id) VALUES (?, ?)";
    webhook_of_source_del = "DELETE FROM webhooks_by_source_channel WHERE source_channel_id = ? AND webhook_id = ?";
    webhooks_of_source = "SELECT webhook_id FROM webhooks_by_source_channel WHERE source_channel_id = ?";

    // config
    config_get = "SELECT json FROM config WHERE key = ?";
    config_put = "INSERT INTO config (key, json) VALUES (?, ?)";

    // users
    user_get = "SELECT data FROM users WHERE id = ?";
    user_put = "INSERT INTO users (id, data) VALUES (?, ?)";
    email_get = "SELECT user_id FROM users_by_email WHERE email = ?";
    email_claim = "INSERT INTO users_by_email (email, user_id) VALUES (?, ?) IF NOT EXISTS";
    email_release = "DELETE FROM users_by_email WHERE email = ? IF user_id = ?";
    name_get = "SELECT user_id FROM users_by_username WHERE username_key = ?";
    name_claim = "INSERT INTO users_by_username (username_key, user_id) VALUES (?, ?) IF NOT EXISTS";
    name_release = "DELETE FROM users_by_username WHERE username_key = ? IF user_id = ?";

    // guilds
    guild_get = "SELECT data FROM guilds WHERE id = ?";
    // A full scan of the partition keys (offline maintenance only).
    guild_ids = "SELECT id FROM guilds";
    guild_put = "INSERT INTO guilds (id, data) VALUES (?, ?)";
    guild_del = "DELETE FROM guilds WHERE id = ?";
    role_put = "INSERT INTO roles (guild_id, role_id, data) VALUES (?, ?, ?)";
    role_del = "DELETE FROM roles WHERE guild_id = ? AND role_id = ?";
    roles_of_guild = "SELECT data FROM roles WHERE guild_id = ?";
    roles_del_guild = "DELETE FROM roles WHERE guild_id = ?";
    member_put = "INSERT INTO members (guild_id, user_id, data) VALUES (?, ?, ?)";
    member_del = "DELETE FROM members WHERE guild_id = ? AND user_id = ?";
    member_get = "SELECT data FROM members WHERE guild_id = ? AND user_id = ?";
    members_of_guild = "SELECT user_id, data FROM members WHERE guild_id = ?";
    members_del_guild = "DELETE FROM members WHERE guild_id = ?";
    guild_of_user_put = "INSERT INTO guilds_by_user (user_id, guild_id) VALUES (?, ?)";
    guild_of_user_del = "DELETE FROM guilds_by_user WHERE user_id = ? AND guild_id = ?";
    guilds_of_user = "SELECT guild_id FROM guilds_by_user WHERE user_id = ?";
    ban_put = "INSERT INTO bans (guild_id, user_id, data) VALUES (?, ?, ?)";
    ban_del = "DELETE FROM bans WHERE guild_id = ? AND user_id = ?";
    bans_of_guild = "SELECT data FROM bans WHERE guild_id = ?";
    bans_del_guild = "DELETE FROM bans WHERE guild_id = ?";

    // channels
    channel_get = "SELECT data FROM channels WHERE id = ?";
    channel_put = "INSERT INTO channels (id, data) VALUES (?, ?)";
    channel_del = "DELETE FROM channels WHERE id = ?";
    guild_channel_put = "INSERT INTO channels_by_guild (guild_id, channel_id, data) VALUES (?, ?, ?)";
    guild_channel_del = "DELETE FROM channels_by_guild WHERE guild_id = ? AND channel_id = ?";
    guild_channels = "SELECT channel_id, data FROM channels_by_guild WHERE guild_id = ?";
    guild_channels_del_guild = "DELETE FROM channels_by_guild WHERE guild_id = ?";
    private_channel_put = "INSERT INTO private_channels_by_user (user_id, channel_id) VALUES (?, ?)";
    private_channel_del = "DELETE FROM private_channels_by_user WHERE user_id = ? AND channel_id = ?";
    private_channels = "SELECT channel_id FROM private_channels_by_user WHERE user_id = ?";

    // messages
    message_put = "INSERT INTO messages (channel_id, bucket, message_id, data) VALUES (?, ?, ?, ?)";
    message_get = "SELECT data FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?";
    message_del = "DELETE FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?";
    messages_del_bucket = "DELETE FROM messages WHERE channel_id = ? AND bucket = ?";
    messages_newest = "SELECT data FROM messages WHERE channel_id = ? AND bucket = ? LIMIT ?";
    messages_below = "SELECT data FROM messages WHERE channel_id = ? AND bucket = ? AND message_id < ? LIMIT ?";
    messages_at_or_below =
        "SELECT data FROM messages WHERE channel_id = ? AND bucket = ? AND message_id <= ? LIMIT ?";
    messages_oldest =
        "SELECT data FROM messages WHERE channel_id = ? AND bucket = ? ORDER BY message_id ASC LIMIT ?";
    messages_above = "SELECT data FROM messages WHERE channel_id = ? AND bucket = ? AND message_id > ? \
                      ORDER BY message_id ASC LIMIT ?";
    bucket_put = "INSERT INTO message_buckets (channel_id, bucket) VALUES (?, ?)";
    buckets_down_from = "SELECT bucket FROM message_buckets WHERE channel_id = ? AND bucket <= ?";
    buckets_up_from = "SELECT bucket FROM message_buckets WHERE channel_id = ? AND bucket >= ? ORDER BY bucket ASC";
    buckets_del = "DELETE FROM message_buckets WHERE channel_id = ?";

    // invites
    invite_get = "SELECT data FROM invites WHERE code = ?";
    invite_create = "INSERT INTO invites (code, data) VALUES (?, ?) IF NOT EXISTS";
    invite_cas = "UPDATE invites SET data = ? WHERE code = ? IF data = ?";
    invite_del = "DELETE FROM invites WHERE code = ? IF EXISTS";
    guild_invite_put = "INSERT INTO invites_by_guild (guild_id, code) VALUES (?, ?)";
    guild_invite_del = "DELETE FROM invites_by_guild WHERE guild_id = ? AND code = ?";
    guild_invites = "SELECT code FROM invites_by_guild WHERE guild_id = ?";
    guild_invites_del_guild = "DELETE FROM invites_by_guild WHERE guild_id = ?";
    invite_targets_put = "INSERT INTO invite_target_users (code, data) VALUES (?, ?)";
    invite_targets_get = "SELECT data FROM invite_target_users WHERE code = ?";
    invite_targets_del = "DELETE FROM invite_target_users WHERE code = ?";

    // guild templates
    template_get = "SELECT data FROM templates WHERE code = ?";
    template_create = "INSERT INTO templates (code, data) VALUES (?, ?) IF NOT EXISTS";
    template_cas = "UPDATE templates SET data = ? WHERE code = ? IF data = ?";
    template_del = "DELETE FROM templates WHERE code = ? IF EXISTS";
    guild_template_put = "INSERT INTO templates_by_guild (guild_id, code) VALUES (?, ?)";
    guild_template_del = "DELETE FROM templates_by_guild WHERE guild_id = ? AND code = ?";
    guild_templates = "SELECT code FROM templates_by_guild WHERE guild_id = ?";
    guild_templates_del_guild = "DELETE FROM templates_by_guild WHERE guild_id = ?";

    // relationships, settings, read states (the user actor's records)
    relationship_put = "INSERT INTO relationships (user_id, peer_id, data) VALUES (?, ?, ?)";
    relationship_del = "DELETE FROM relationships WHERE user_id = ? AND peer_id = ?";
    relationship_get = "SELECT data FROM relationships WHERE user_id = ? AND peer_id = ?";
    relationships_of = "SELECT data FROM relationships WHERE user_id = ?";
    settings_get = "SELECT data FROM user_settings WHERE user_id = ?";
    settings_put = "INSERT INTO user_settings (user_id, data) VALUES (?, ?)";
    consent_get = "SELECT data FROM user_consent WHERE user_id = ?";
    consent_put = "INSERT INTO user_consent (user_id, data) VALUES (?, ?)";
    read_state_put = "INSERT INTO read_states (user_id, channel_id, data) VALUES (?, ?, ?)";
    read_states_of = "SELECT data FROM read_states WHERE user_id = ?";
    connection_put =
        "INSERT INTO connected_accounts (user_id, kind, account_id, data) VALUES (?, ?, ?, ?)";
    connection_del =
        "DELETE FROM connected_accounts WHERE user_id = ? AND kind = ? AND account_id = ?";
    connections_of = "SELECT data FROM connected_accounts WHERE user_id = ?";

    // developer teams
    team_put = "INSERT INTO teams (id, data) VALUES (?, ?)";
    team_get = "SELECT data FROM teams WHERE id = ?";
    team_del = "DELETE FROM teams WHERE id = ?";
    team_member_put = "INSERT INTO team_members (team_id, user_id, data) VALUES (?, ?, ?)";
    team_member_del = "DELETE FROM team_members WHERE team_id = ? AND user_id = ?";
    team_members_del = "DELETE FROM team_members WHERE team_id = ?";
    team_members_of = "SELECT data FROM team_members WHERE team_id = ?";
    team_of_user_put = "INSERT INTO teams_by_user (user_id, team_id) VALUES (?, ?)";
    team_of_user_del = "DELETE FROM teams_by_user WHERE user_id = ? AND team_id = ?";
    teams_of_user = "SELECT team_id FROM teams_by_user WHERE user_id = ?";

    // application extras: emojis, role connections, entitlements, command permissions
    app_emoji_put = "INSERT INTO app_emojis (application_id, emoji_id, data) VALUES (?, ?, ?)";
    app_emoji_get = "SELECT data FROM app_emojis WHERE application_id = ? AND emoji_id = ?";
    app_emoji_del = "DELETE FROM app_emojis WHERE application_id = ? AND emoji_id = ?";
    app_emojis_of = "SELECT data FROM app_emojis WHERE application_id = ?";
    app_emojis_del = "DELETE FROM app_emojis WHERE application_id = ?";
    role_connection_metadata_del = "DELETE FROM role_connection_metadata WHERE application_id = ?";
    entitlements_del = "DELETE FROM entitlements WHERE application_id = ?";
    role_connection_metadata_put =
        "INSERT INTO role_connection_metadata (application_id, data) VALUES (?, ?)";
    role_connection_metadata_get =
        "SELECT data FROM role_connection_metadata WHERE application_id = ?";
    user_role_connection_put =
        "INSERT INTO user_role_connections (user_id, application_id, data) VALUES (?, ?, ?)";
    user_role_connection_get =
        "SELECT data FROM user_role_connections WHERE user_id = ? AND application_id = ?";
    user_role_connection_del =
        "DELETE FROM user_role_connections WHERE user_id = ? AND application_id = ?";
    entitlement_put =
        "INSERT INTO entitlements (application_id, entitlement_id, data) VALUES (?, ?, ?)";
    entitlements_of = "SELECT data FROM entitlements WHERE application_id = ?";
    command_permissions_put = "INSERT INTO command_permissions (guild_id, application_id, target_id, data) VALUES (?, ?, ?, ?)";
    command_permissions_del = "DELETE FROM command_permissions WHERE guild_id = ? AND application_id = ? AND target_id = ?";
    command_permissions_of =
        "SELECT data FROM command_permissions WHERE guild_id = ? AND application_id = ?";
    command_permissions_del_all =
        "DELETE FROM command_permissions WHERE guild_id = ? AND application_id = ?";
    command_permission_guild_put =
        "INSERT INTO command_permission_guilds (application_id, guild_id) VALUES (?, ?)";
    command_permission_guild_del =
        "DELETE FROM command_permission_guilds WHERE application_id = ? AND guild_id = ?";
    command_permission_guilds_of =
        "SELECT guild_id FROM command_permission_guilds WHERE application_id = ?";
    command_permission_guilds_del =
        "DELETE FROM command_permission_guilds WHERE application_id = ?";
    role_connection_by_app_put =
        "INSERT INTO role_connections_by_app (application_id, user_id) VALUES (?, ?)";
    role_connection_by_app_del =
        "DELETE FROM role_connections_by_app WHERE application_id = ? AND user_id = ?";
    role_connections_by_app_of =
        "SELECT user_id FROM role_connections_by_app WHERE application_id = ?";
    role_connections_by_app_del = "DELETE FROM role_connections_by_app WHERE application_id = ?";

    // guild emojis and guild audit log
    emoji_put = "INSERT INTO emojis (guild_id, emoji_id, data) VALUES (?, ?, ?)";
    emoji_del = "DELETE FROM emojis WHERE guild_id = ? AND emoji_id = ?";
    emojis_of_guild = "SELECT data FROM emojis WHERE guild_id = ?";
    emojis_del_guild = "DELETE FROM emojis WHERE guild_id = ?";
    integration_put =
        "INSERT INTO integrations (guild_id, integration_id, data) VALUES (?, ?, ?)";
    integration_del = "DELETE FROM integrations WHERE guild_id = ? AND integration_id = ?";
    integrations_of_guild = "SELECT data FROM integrations WHERE guild_id = ?";
    integrations_del_guild = "DELETE FROM integrations WHERE guild_id = ?";
    join_request_put =
        "INSERT INTO join_requests (guild_id, request_id, data) VALUES (?, ?, ?)";
    join_request_del = "DELETE FROM join_requests WHERE guild_id = ? AND request_id = ?";
    join_requests_of_guild = "SELECT data FROM join_requests WHERE guild_id = ?";
    join_requests_del_guild = "DELETE FROM join_requests WHERE guild_id = ?";
    guild_setup_put = "INSERT INTO guild_setup (guild_id, data) VALUES (?, ?)";
    guild_setup_get = "SELECT data FROM guild_setup WHERE guild_id = ?";
    guild_setup_del = "DELETE FROM guild_setup WHERE guild_id = ?";
    // guild stickers (and the sticker -> guild index)
    sticker_put = "INSERT INTO stickers (guild_id, sticker_id, data) VALUES (?, ?, ?)";
    sticker_get = "SELECT data FROM stickers WHERE guild_id = ? AND sticker_id = ?";
    sticker_del = "DELETE FROM stickers WHERE guild_id = ? AND sticker_id = ?";
    stickers_of_guild = "SELECT sticker_id, data FROM stickers WHERE guild_id = ?";
    stickers_del_guild = "DELETE FROM stickers WHERE guild_id = ?";
    sticker_index_put = "INSERT INTO stickers_by_id (sticker_id, guild_id) VALUES (?, ?)";
    sticker_index_del = "DELETE FROM stickers_by_id WHERE sticker_id = ?";
    sticker_guild = "SELECT guild_id FROM stickers_by_id WHERE sticker_id = ?";
    // auto-moderation rules
    automod_put = "INSERT INTO automod_rules (guild_id, rule_id, data) VALUES (?, ?, ?)";
    automod_del = "DELETE FROM automod_rules WHERE guild_id = ? AND rule_id = ?";
    automod_of_guild = "SELECT rule_id, data FROM automod_rules WHERE guild_id = ?";
    automod_del_guild = "DELETE FROM automod_rules WHERE guild_id = ?";
    // guild scheduled events and their subscribers
    event_put = "INSERT INTO scheduled_events (guild_id, event_id, data) VALUES (?, ?, ?)";
    event_del = "DELETE FROM scheduled_events WHERE guild_id = ? AND event_id = ?";
    events_of_guild = "SELECT event_id, data FROM scheduled_events WHERE guild_id = ?";
    events_del_guild = "DELETE FROM scheduled_events WHERE guild_id = ?";
    event_user_put =
        "INSERT INTO scheduled_event_users (guild_id, event_id, user_id) VALUES (?, ?, ?)";
    event_user_del =
        "DELETE FROM scheduled_event_users WHERE guild_id = ? AND event_id = ? AND user_id = ?";
    event_users_of = "SELECT user_id FROM scheduled_event_users WHERE guild_id = ? AND event_id = ?";
    event_users_del = "DELETE FROM scheduled_event_users WHERE guild_id = ? AND event_id = ?";
    event_exception_user_put = "INSERT INTO scheduled_event_exception_users (guild_id, event_id, exception_id, user_id, response) VALUES (?, ?, ?, ?, ?)";
    event_exception_user_del = "DELETE FROM scheduled_event_exception_users WHERE guild_id = ? AND event_id = ? AND exception_id = ? AND user_id = ?";
    event_exception_users_of = "SELECT exception_id, user_id, response FROM scheduled_event_exception_users WHERE guild_id = ? AND event_id = ?";
    event_exception_users_del = "DELETE FROM scheduled_event_exception_users WHERE guild_id = ? AND event_id = ?";
    // thread members (one partition per guild)
    thread_member_put =
        "INSERT INTO thread_members (guild_id, thread_id, user_id, data) VALUES (?, ?, ?, ?)";
    thread_member_del =
        "DELETE FROM thread_members WHERE guild_id = ? AND thread_id = ? AND user_id = ?";
    thread_members_del = "DELETE FROM thread_members WHERE guild_id = ? AND thread_id = ?";
    thread_members_of_guild = "SELECT data FROM thread_members WHERE guild_id = ?";
    thread_members_del_guild = "DELETE FROM thread_members WHERE guild_id = ?";
    guild_audit_put = "INSERT INTO guild_audit_log (guild_id, id, data) VALUES (?, ?, ?)";
    guild_audit_below =
        "SELECT data FROM guild_audit_log WHERE guild_id = ? AND id < ? AND id >= ? LIMIT ?";
    guild_audit_del_guild = "DELETE FROM guild_audit_log WHERE guild_id = ?";
    // pending poll ends (one partition, scope 0)
    poll_expiry_put = "INSERT INTO poll_expiries (scope, message_id, data) VALUES (0, ?, ?)";
    poll_expiry_del = "DELETE FROM poll_expiries WHERE scope = 0 AND message_id = ?";
    poll_expiries_all = "SELECT message_id, data FROM poll_expiries WHERE scope = 0";
    // OAuth2 tokens (LWT only: a code is taken once)
    oauth_token_put =
        "INSERT INTO oauth_tokens (token_hash, data) VALUES (?, ?) IF NOT EXISTS USING TTL ?";
    oauth_token_get = "SELECT data FROM oauth_tokens WHERE token_hash = ?";
    oauth_token_del = "DELETE FROM oauth_tokens WHERE token_hash = ? IF EXISTS";

    // audit log
    audit_put = "INSERT INTO audit_log (bucket, id, data) VALUES (?, ?, ?)";
    audit_below = "SELECT data FROM audit_log WHERE bucket = ? AND id < ? LIMIT ?";
    audit_bucket_put = "INSERT INTO audit_buckets (scope, bucket) VALUES (0, ?)";
    audit_buckets_down_from = "SELECT bucket FROM audit_buckets WHERE scope = 0 AND bucket <= ?";
}

#[cfg(test)]
mod tests {
    use super::ALL;
    use crate::store::scylla::schema::{SCHEMA_CQL, created_table, statements};

    #[test]
    fn statements_use_schema_tables_and_never_filter() {
        let tables: Vec<String> = statements(SCHEMA_CQL)
            .iter()
            .filter_map(|s| created_table(s))
            .collect();
        for (name, cql) in ALL {
            let upper = cql.to_ascii_uppercase();
            assert!(!upper.contains("ALLOW FILTERING"), "{name}: {cql}");
            let table = cql
                .split_whitespace()
                .skip_while(|w| {
                    !matches!(w.to_ascii_uppercase().as_str(), "FROM" | "INTO" | "UPDATE")
                })
                .nth(1)
                .or_else(|| {
                    cql.split_whitespace()
                        .nth(1)
                        .filter(|_| upper.starts_with("UPDATE"))
                })
                .unwrap_or_default();
            assert!(
                tables.iter().any(|t| t == table),
                "{name}: table {table:?} is not in schema.cql"
            );
        }
    }
}
