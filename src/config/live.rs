//! The live configuration: an atomic snapshot swapped on admin changes, synced with the store.

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::Value;
use tokio::sync::Mutex;

use super::{Config, add_missing_keys, merge_patch};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("stored configuration is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("stored configuration is invalid at `{path}`: {message}")]
    Invalid { path: String, message: String },
}

/// Shared, lock-free readable configuration. Reads are an atomic pointer load; writes (rare,
/// admin-driven) are serialized by `write_lock` so two concurrent patches cannot lose each other.
pub struct LiveConfig {
    current: ArcSwap<Config>,
    write_lock: Mutex<()>,
}

impl LiveConfig {
    /// A config not backed by the store (unit tests, tools).
    pub fn fixed(config: Config) -> Self {
        Self {
            current: ArcSwap::from_pointee(config),
            write_lock: Mutex::new(()),
        }
    }

    /// Loads the stored configuration, writing the defaults on first start and adding keys that
    /// this version introduced (stored values win).
    pub async fn load_or_init(store: &dyn Store) -> Result<Self, ConfigError> {
        let defaults = serde_json::to_value(Config::default())?;
        let config = match store.get_config().await? {
            None => {
                store.put_config(&defaults.to_string()).await?;
                tracing::info!("wrote default configuration to the store");
                Config::default()
            }
            Some(text) => {
                let mut stored: Value = serde_json::from_str(&text)?;
                if add_missing_keys(&mut stored, &defaults) {
                    store.put_config(&stored.to_string()).await?;
                    tracing::info!("added new configuration keys to the stored configuration");
                }
                parse(&stored)?
            }
        };
        Ok(Self::fixed(config))
    }

    /// Swaps in the stored configuration if it differs from the current one: how the other
    /// nodes of a cluster take up a change one of them stored (see `cluster::config_sync`).
    /// Returns whether anything changed. Keys this build doesn't know are ignored, and keys it
    /// knows but the stored copy lacks keep their defaults, as at start.
    pub async fn reload(&self, store: &dyn Store) -> Result<bool, ConfigError> {
        let _guard = self.write_lock.lock().await;
        let Some(text) = store.get_config().await? else {
            return Ok(false);
        };
        let mut stored: Value = serde_json::from_str(&text)?;
        add_missing_keys(&mut stored, &serde_json::to_value(Config::default())?);
        let new = parse(&stored)?;
        if *self.get() == new {
            return Ok(false);
        }
        self.current.store(Arc::new(new));
        Ok(true)
    }

    /// The current snapshot. Cheap: call it where the value is used, never cache it.
    pub fn get(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// Applies a partial update (JSON merge patch), validates it, persists it, then swaps it in.
    /// Returns the old and the new configuration (for the audit record).
    pub async fn apply_patch(
        &self,
        store: &dyn Store,
        patch: &Value,
    ) -> Result<(Arc<Config>, Arc<Config>), ApiError> {
        let _guard = self.write_lock.lock().await;
        let defaults = serde_json::to_value(Config::default()).map_err(ApiError::internal)?;
        // The patch goes over the stored document, not this node's snapshot: in a cluster
        // another node may have stored a change this one has not taken up yet, and merging
        // over the stale snapshot would silently undo it.
        let (old, mut doc) = match store.get_config().await.map_err(ApiError::internal)? {
            Some(text) => {
                let mut doc: Value = serde_json::from_str(&text).map_err(ApiError::internal)?;
                add_missing_keys(&mut doc, &defaults);
                (Arc::new(parse(&doc).map_err(ApiError::internal)?), doc)
            }
            None => {
                let old = self.get();
                let doc = serde_json::to_value(&*old).map_err(ApiError::internal)?;
                (old, doc)
            }
        };
        merge_patch(&mut doc, patch);
        add_missing_keys(&mut doc, &defaults);
        let new: Config = serde_path_to_error::deserialize(&doc).map_err(|e| {
            FieldErrors::single(
                &e.path().to_string(),
                FieldError::BadType {
                    expected: type_hint(&e),
                },
            )
        })?;
        super::validate::validate(&new)?;
        store
            .put_config(&doc.to_string())
            .await
            .map_err(ApiError::internal)?;
        let new = Arc::new(new);
        self.current.store(new.clone());
        Ok((old, new))
    }
}

fn parse(stored: &Value) -> Result<Config, ConfigError> {
    serde_path_to_error::deserialize(stored).map_err(|e| ConfigError::Invalid {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Names what was expected at a bad path, from serde's message ("invalid type: string \"x\",
/// expected u32" → "u32"), so the admin sees a useful field error.
fn type_hint(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let message = e.inner().to_string();
    message
        .rsplit_once("expected ")
        .map(|(_, expected)| {
            expected
                .split(" at line")
                .next()
                .unwrap_or(expected)
                .to_string()
        })
        .unwrap_or_else(|| "a valid value".to_string())
}
