//! One live configuration for the whole cluster. The configuration is stored once (ScyllaDB),
//! but each node reads it from an in-memory snapshot; without this, an admin's
//! `PATCH /admin/config` on one node changed that node alone until the others restarted.
//!
//! The node that stored a change announces it on [`SUBJECT`]; every other node reloads the
//! stored document and swaps it in. NATS core delivery is at most once, so each node also
//! reloads every [`REFRESH`] whatever it heard: a node that missed a notice (reconnecting to
//! NATS at that moment) converges within that time instead of never.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::LiveConfig;
use crate::store::DynStore;

/// Where a node tells the others that it stored a new configuration.
pub const SUBJECT: &str = "accord.cluster.config";

/// How often a node reloads the stored configuration even without a notice.
const REFRESH: Duration = Duration::from_secs(30);

/// The version of [`ConfigNotice`] this build speaks.
const VERSION: u16 = 1;

/// "I stored a new configuration": the content is in the store, not in the notice, so a notice
/// can never carry a configuration the store doesn't hold.
#[derive(Debug, Serialize, Deserialize)]
struct ConfigNotice {
    v: u16,
    from: String,
}

/// Tells the other nodes that this one stored a new configuration.
pub async fn announce(client: &async_nats::Client, node: &str) {
    let notice = ConfigNotice {
        v: VERSION,
        from: node.to_string(),
    };
    let Ok(payload) = serde_json::to_vec(&notice) else {
        return;
    };
    if let Err(e) = client.publish(SUBJECT, payload.into()).await {
        // The others still converge at their next periodic reload.
        tracing::warn!(error = %e, "configuration change not announced");
    }
}

/// Reloads the stored configuration when another node announces a change, and every
/// [`REFRESH`], until `stop`. Returns once subscribed, so a change announced after this node
/// joined is never missed for lack of a listener.
pub async fn spawn(
    client: async_nats::Client,
    node: String,
    config: Arc<LiveConfig>,
    store: DynStore,
    mut stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, async_nats::SubscribeError> {
    let mut notices = client.subscribe(SUBJECT).await?;
    Ok(tokio::spawn(async move {
        let mut refresh = tokio::time::interval(REFRESH);
        refresh.tick().await;
        loop {
            let why = tokio::select! {
                _ = stop.changed() => break,
                _ = refresh.tick() => "periodic",
                m = notices.next() => match m {
                    None => break,
                    Some(m) => match serde_json::from_slice::<ConfigNotice>(&m.payload) {
                        Ok(n) if n.from == node => continue,
                        Ok(n) if n.v == VERSION => "announced",
                        Ok(n) => {
                            tracing::warn!(version = n.v, from = %n.from, "configuration notice of another version; reloading anyway");
                            "announced"
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "unreadable configuration notice");
                            continue;
                        }
                    },
                },
            };
            match config.reload(store.as_ref()).await {
                Ok(true) => tracing::info!(why, "configuration reloaded from the store"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, why, "configuration not reloaded"),
            }
        }
    }))
}
