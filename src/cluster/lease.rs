//! Leases in a JetStream key-value bucket: claim a key with *create* (fails when a live holder
//! has it), renew it with *update* compare-and-set on the revision, release it with a delete
//! that also checks the revision. The bucket's `max_age` is the lease TTL, so a key whose
//! holder stopped renewing disappears on its own and can be claimed again. The revision a
//! claim or renewal returns is the lease's fencing token: only its holder can produce the next
//! one.
//!
//! A lease can also be *handed over* ([`hand_over`]): instead of deleting it, the holder marks
//! it released with a note for the next holder, who takes it by compare-and-set
//! ([`claim_or_take`]) and reads the note. Ownership leases pass the old owner's last write
//! stamp this way.

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;

use super::ClusterError;

/// Why a lease operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Someone else's revision is current: the lease expired and was claimed, or was never ours.
    #[error("lease {0} was lost")]
    Lost(String),
    /// NATS did not answer or refused for another reason; the lease may still be ours.
    #[error("lease {key}: {message}")]
    Nats { key: String, message: String },
}

/// Opens the bucket, creating its stream when it does not exist yet.
///
/// The stream is created directly rather than with `create_key_value`, whose configuration
/// (of newer servers) Debian's nats-server 2.9 refuses: stream `KV_<bucket>` on subjects
/// `$KV.<bucket>.>`, one value per key, values older than the TTL dropped, roll-ups allowed and
/// message deletion denied, as every KV bucket is.
pub async fn open_bucket(
    js: &jetstream::Context,
    bucket: &str,
    ttl: Duration,
) -> Result<kv::Store, ClusterError> {
    if let Ok(store) = js.get_key_value(bucket).await {
        return Ok(store);
    }
    let config = stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age: ttl,
        // The duplicate window may not exceed max_age.
        duplicate_window: ttl.min(Duration::from_secs(120)),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        storage: stream::StorageType::File,
        num_replicas: 1,
        ..Default::default()
    };
    // Several nodes starting at once: one creates, the others find it. A create that loses the
    // race is not always answered "already exists": nats-server may check the subjects first and
    // answer "subjects overlap" (10065) while the winner's stream is being made. So a failed
    // create is followed by a few looks for the stream before the error is believed.
    let mut last_error = None;
    for attempt in 0..5u32 {
        match js.get_or_create_stream(config.clone()).await {
            Ok(_) => {
                last_error = None;
                break;
            }
            Err(e) => {
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt + 1))).await;
                if let Ok(store) = js.get_key_value(bucket).await {
                    return Ok(store);
                }
                last_error = Some(e);
            }
        }
    }
    if let Some(e) = last_error {
        return Err(ClusterError::Nats(format!(
            "creating the stream of bucket {bucket}: {e}"
        )));
    }
    js.get_key_value(bucket)
        .await
        .map_err(|e| ClusterError::Nats(format!("opening bucket {bucket}: {e}")))
}

/// Claims `key` if no live holder has it: `Some(revision)` when won, `None` when taken.
pub async fn claim(store: &kv::Store, key: &str, value: Bytes) -> Result<Option<u64>, LeaseError> {
    match store.create(key, value).await {
        Ok(revision) => Ok(Some(revision)),
        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(LeaseError::Nats {
            key: key.into(),
            message: e.to_string(),
        }),
    }
}

/// Renews `key` held at `revision`, returning the new revision (the next fencing token).
pub async fn renew(
    store: &kv::Store,
    key: &str,
    value: Bytes,
    revision: u64,
) -> Result<u64, LeaseError> {
    store
        .update(key, value, revision)
        .await
        .map_err(|e| match e.kind() {
            kv::UpdateErrorKind::WrongLastRevision => LeaseError::Lost(key.into()),
            _ => LeaseError::Nats {
                key: key.into(),
                message: e.to_string(),
            },
        })
}

/// Gives `key` up at once (instead of letting it expire), unless someone else holds it by now.
pub async fn release(store: &kv::Store, key: &str, revision: u64) -> Result<(), LeaseError> {
    store
        .delete_expect_revision(key, Some(revision))
        .await
        .map_err(|e| LeaseError::Nats {
            key: key.into(),
            message: e.to_string(),
        })
}

/// What a handed-over key's value starts with; the note follows.
const RELEASED: &[u8] = b"released:";

/// Gives `key` held at `revision` to whoever claims it next, leaving `note` for them: the key
/// stays, marked released, until [`claim_or_take`] takes it or the TTL drops it.
pub async fn hand_over(
    store: &kv::Store,
    key: &str,
    note: &[u8],
    revision: u64,
) -> Result<(), LeaseError> {
    let value = [RELEASED, note].concat();
    renew(store, key, Bytes::from(value), revision)
        .await
        .map(drop)
}

/// A claim won by [`claim_or_take`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The fencing token.
    pub revision: u64,
    /// The note the previous holder left when it handed the key over; `None` when the key was
    /// free (never held, expired or deleted).
    pub note: Option<Bytes>,
}

/// Claims `key` as [`claim`] does, or takes it over when its holder handed it over: `None`
/// while a live holder has it.
pub async fn claim_or_take(
    store: &kv::Store,
    key: &str,
    value: Bytes,
) -> Result<Option<Claimed>, LeaseError> {
    if let Some(revision) = claim(store, key, value.clone()).await? {
        return Ok(Some(Claimed {
            revision,
            note: None,
        }));
    }
    let nats = |e: &dyn std::fmt::Display| LeaseError::Nats {
        key: key.into(),
        message: e.to_string(),
    };
    let Some(entry) = store.entry(key).await.map_err(|e| nats(&e))? else {
        return Ok(None);
    };
    let Some(note) = entry.value.strip_prefix(RELEASED) else {
        return Ok(None);
    };
    let note = Bytes::copy_from_slice(note);
    match renew(store, key, value, entry.revision).await {
        Ok(revision) => Ok(Some(Claimed {
            revision,
            note: Some(note),
        })),
        // Another claimer took it first.
        Err(LeaseError::Lost(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
