//! Keyspace and table creation from `schema.cql` (embedded in the binary).

use scylla::client::session::Session;

use super::be;
use crate::store::{StoreError, StoreResult};

/// The schema, as shipped at the repository root.
pub const SCHEMA_CQL: &str = include_str!("../../../schema.cql");

/// Replication used when the caller does not choose one: fine for one node and for tests.
pub const DEFAULT_REPLICATION: &str = "{'class': 'SimpleStrategy', 'replication_factor': 1}";

/// The statements of `schema.cql`: comment lines and blank lines dropped, split on `;`.
pub fn statements(cql: &str) -> Vec<String> {
    let without_comments: String = cql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .map(|l| format!("{l}\n"))
        .collect();
    without_comments
        .split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The table a `CREATE TABLE [IF NOT EXISTS] name (` statement creates, lowercased.
pub fn created_table(statement: &str) -> Option<String> {
    let rest = statement.strip_prefix("CREATE TABLE ")?;
    let rest = rest.strip_prefix("IF NOT EXISTS ").unwrap_or(rest);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

/// Keyspace names are spliced into CQL text, so only plain identifiers are accepted (and they are
/// case-insensitive in CQL, hence lowercased).
pub fn checked_keyspace(keyspace: &str) -> StoreResult<String> {
    let ok = (1..=48).contains(&keyspace.len())
        && keyspace.starts_with(|c: char| c.is_ascii_alphabetic())
        && keyspace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(keyspace.to_ascii_lowercase())
    } else {
        Err(StoreError::Backend(format!(
            "invalid keyspace name {keyspace:?}: use 1-48 letters, digits or '_', starting with a letter"
        )))
    }
}

/// Creates the keyspace if needed, makes it the session's keyspace, and applies `schema.cql` when
/// one of its tables is missing (every statement is `IF NOT EXISTS`, so applying twice is harmless).
pub async fn ensure(session: &Session, keyspace: &str, replication: &str) -> StoreResult<()> {
    let replication = replication.trim();
    if !(replication.starts_with('{') && replication.ends_with('}')) || replication.contains(';') {
        return Err(StoreError::Backend(format!(
            "invalid replication map {replication:?}"
        )));
    }
    session
        .query_unpaged(
            format!("CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {replication}"),
            (),
        )
        .await
        .map_err(be)?;
    session.use_keyspace(keyspace, false).await.map_err(be)?;

    let existing: Vec<(String,)> = session
        .query_unpaged(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
            (keyspace,),
        )
        .await
        .map_err(be)?
        .into_rows_result()
        .map_err(be)?
        .rows::<(String,)>()
        .map_err(be)?
        .collect::<Result<_, _>>()
        .map_err(be)?;
    let statements = statements(SCHEMA_CQL);
    let missing = statements
        .iter()
        .filter_map(|s| created_table(s))
        .any(|t| !existing.iter().any(|(e,)| *e == t));
    if !missing {
        return Ok(());
    }
    tracing::info!(keyspace, "creating the Scylla schema");
    for statement in &statements {
        session
            .query_unpaged(statement.as_str(), ())
            .await
            .map_err(|e| {
                StoreError::Backend(format!("schema statement failed: {e}: {statement}"))
            })?;
    }
    session.await_schema_agreement().await.map_err(be)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_splits_into_create_statements() {
        let statements = statements(SCHEMA_CQL);
        assert!(statements.len() >= 15, "{statements:#?}");
        for s in &statements {
            assert!(s.starts_with("CREATE TABLE IF NOT EXISTS "), "{s}");
            assert!(!s.contains("--"), "{s}");
        }
        let tables: Vec<String> = statements.iter().filter_map(|s| created_table(s)).collect();
        for t in [
            "users",
            "messages",
            "message_buckets",
            "invites_by_guild",
            "invite_target_users",
            "channels_by_guild",
            "guild_setup",
            "integrations",
            "join_requests",
        ] {
            assert!(tables.iter().any(|x| x == t), "{t} missing from {tables:?}");
        }
        assert!(
            statements
                .iter()
                .all(|s| !s.to_uppercase().contains("ALLOW FILTERING"))
        );
    }

    #[test]
    fn keyspace_names_are_checked() {
        assert_eq!(
            checked_keyspace("Accord_1").ok().as_deref(),
            Some("accord_1")
        );
        for bad in ["", "1abc", "a-b", "a;drop", "a b", &"x".repeat(49)] {
            assert!(checked_keyspace(bad).is_err(), "{bad}");
        }
    }
}
