//! Cluster mode: one Accord instance served by several nodes, coordinated through NATS
//! (JetStream key-value leases) with ScyllaDB as the shared source of truth. See DESIGN.md §7.
//!
//! Started only by `accord serve --cluster nats://…` (or `[cluster] nats = […]`): a single
//! node never connects to NATS and pays nothing for any of this.
//!
//! One module per job: [`config`] (the `[cluster]` settings), [`lease`] (claim / renew /
//! release of a KV key), [`identity`] (this node's name and snowflake worker id, renewed in the
//! background), [`config_sync`] (one live configuration for all nodes), [`membership`] (the
//! live members, from a watch of `node.*`) and [`placement`] (which member owns an id) and
//! [`ownership`] (the leases of the guilds, channels and users this node runs).

pub mod config;
pub mod config_sync;
pub mod forward;
pub mod identity;
pub mod lease;
pub mod membership;
pub mod ownership;
pub mod placement;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::ClusterConfig;
pub use membership::{Members, NodeInfo};
pub use ownership::{Owned, Ownership, OwnershipError};

use crate::id::IdLease;

/// Why a node could not join (or run in) the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid cluster configuration: {0}")]
    Config(String),
    #[error(
        "cluster mode needs the ScyllaDB store (--scylla-nodes, or [database] kind = \"scylla\" \
         in accord.toml): the embedded store is one node's local file, which other nodes cannot see"
    )]
    EmbeddedStore,
    #[error("cannot connect to NATS at {urls}: {message}")]
    Connect { urls: String, message: String },
    #[error("NATS: {0}")]
    Nats(String),
    #[error("node name {0:?} is held by a live node; give this node another --node-name")]
    NodeNameTaken(String),
    #[error("all 1024 snowflake worker ids are held by live nodes")]
    NoFreeWorkerId,
}

/// This node's membership of the cluster: the NATS connection, its leases (renewed in the
/// background) and its view of the other members.
pub struct Cluster {
    config: ClusterConfig,
    client: async_nats::Client,
    members: Arc<Members>,
    ownership: Arc<Ownership>,
    /// The gateway URL this node advertises (`resume_gateway_url` of its sessions).
    gateway: String,
    ids: Arc<IdLease>,
    stats: Arc<identity::Stats>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// How long connecting to NATS (and each JetStream request) may take before start fails.
const NATS_TIMEOUT: Duration = Duration::from_secs(5);

impl Cluster {
    /// Connects to NATS, claims a worker id and the node's name, and starts renewing them and
    /// watching the members. `api` and `gateway` are the URLs advertised when the
    /// configuration leaves them empty.
    pub async fn join(
        config: ClusterConfig,
        api: String,
        gateway: String,
    ) -> Result<Arc<Self>, ClusterError> {
        config.validate()?;
        let urls = config.nats.join(",");
        let client = async_nats::connect_with_options(
            config.nats.clone(),
            async_nats::ConnectOptions::new()
                .name(format!("accord {}", config.node_name))
                .connection_timeout(NATS_TIMEOUT)
                // Reconnect quickly: a lease is lost if NATS stays away for a TTL.
                .reconnect_delay_callback(|attempts| {
                    Duration::from_millis((attempts as u64 * 100).min(1_000))
                }),
        )
        .await
        .map_err(|e| ClusterError::Connect {
            urls: urls.clone(),
            message: e.to_string(),
        })?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(NATS_TIMEOUT.min(config.renew_every()));
        let store = lease::open_bucket(&js, &config.bucket, config.lease_ttl()).await?;
        let info = NodeInfo {
            name: config.node_name.clone(),
            worker_id: 0,
            api: non_empty_or(&config.advertise_api, api),
            gateway: non_empty_or(&config.advertise_gateway, gateway),
            started_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        };
        let gateway = info.gateway.clone();
        let held = identity::claim(&store, info).await?;
        tracing::info!(
            node = %held.info.name,
            worker_id = %held.worker,
            nats = %urls,
            "joined the cluster"
        );
        let ids = Arc::new(IdLease::new(config.renew_every()));
        let members = Arc::new(Members::new(config.lease_ttl()));
        let stats = Arc::new(identity::Stats::default());
        let (stop, stop_rx) = watch::channel(false);
        let ownership = Arc::new(Ownership::new(
            config.node_name.clone(),
            config.clone(),
            store.clone(),
            members.clone(),
        ));
        let mut tasks = ownership::spawn_renewal(ownership.clone(), stop_rx.clone());
        tasks.extend([
            identity::spawn_renewal(
                client.clone(),
                store.clone(),
                config.clone(),
                held,
                ids.clone(),
                stats.clone(),
                stop_rx.clone(),
            ),
            membership::spawn_watch(store, members.clone(), stop_rx),
        ]);
        Ok(Arc::new(Self {
            config,
            client,
            members,
            ownership,
            gateway,
            ids,
            stats,
            stop,
            tasks: Mutex::new(tasks),
        }))
    }

    pub fn node_name(&self) -> &str {
        &self.config.node_name
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The lease the snowflake generator mints under.
    pub fn id_lease(&self) -> Arc<IdLease> {
        self.ids.clone()
    }

    /// The gateway URL this node advertises.
    pub fn gateway_url(&self) -> &str {
        &self.gateway
    }

    /// The ownership leases of this node (who runs which guild, channel and user actor).
    pub fn ownership(&self) -> Arc<Ownership> {
        self.ownership.clone()
    }

    /// The live members as this node sees them, by name.
    pub fn members(&self) -> Vec<NodeInfo> {
        self.members.live()
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The figures of `/metrics` and the health page.
    pub fn status(&self) -> ClusterStatus {
        let us = |v: u64| (v > 0).then(|| v as f64 / 1000.0);
        ClusterStatus {
            node: self.config.node_name.clone(),
            worker_id: self.ids.worker().map(|w| w.get()),
            ids_available: self.ids.is_valid(),
            members: self.members(),
            nats_connected: matches!(
                self.client.connection_state(),
                async_nats::connection::State::Connected
            ),
            nats_rtt_ms: us(self.stats.rtt_us.load(Ordering::Relaxed)),
            lease_renew_ms: us(self.stats.renew_us.load(Ordering::Relaxed)),
            lease_renewals_failed: self.stats.renewals_failed.load(Ordering::Relaxed),
            leases_lost: self.stats.leases_lost.load(Ordering::Relaxed),
            ownership_leases: self.ownership.held_count(),
            // The sessions' side: filled in by the health route from `Remote::user_interest`.
            user_subscriptions: 0,
            user_event_frames_received: 0,
        }
    }

    /// Releases this node's leases (other nodes drop it at once instead of after the TTL) and
    /// stops the background tasks.
    pub async fn leave(&self) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock());
        for task in tasks {
            if tokio::time::timeout(NATS_TIMEOUT, task).await.is_err() {
                tracing::warn!("a cluster task did not stop in time");
            }
        }
    }
}

fn non_empty_or(configured: &str, derived: String) -> String {
    if configured.is_empty() {
        derived
    } else {
        configured.to_string()
    }
}

/// The `cluster` object of the health JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    pub node: String,
    /// The snowflake worker id this node holds (`None` while its lease is not valid).
    pub worker_id: Option<u16>,
    /// Whether this node may mint ids right now.
    pub ids_available: bool,
    pub members: Vec<NodeInfo>,
    pub nats_connected: bool,
    /// The last NATS round trip (PING/PONG), in milliseconds.
    pub nats_rtt_ms: Option<f64>,
    /// The last lease renewal (JetStream publish and acknowledgement), in milliseconds.
    pub lease_renew_ms: Option<f64>,
    pub lease_renewals_failed: u64,
    pub leases_lost: u64,
    /// Guild and channel ownership leases this node holds (the actors it may run).
    pub ownership_leases: usize,
    /// Users whose events subject this node subscribes to (it holds sessions of them).
    pub user_subscriptions: usize,
    /// User-scoped event frames this node received from other nodes.
    pub user_event_frames_received: u64,
}
