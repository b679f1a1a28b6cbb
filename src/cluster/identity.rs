//! This node's identity in the cluster: its name (`node.<name>`) and a snowflake worker id
//! (`worker.<0..1023>`), both held as leases and renewed every third of the TTL. The worker-id
//! lease drives the [`IdLease`] the snowflake generator checks: ids are minted only while the
//! last successful renewal is younger than the TTL less a margin, so two live nodes never mint
//! with the same worker id — by the time a lapsed id can be claimed by another node (TTL after
//! the last renewal, by the NATS server's clock), its old holder has stopped minting.
//!
//! A lost lease (it lapsed while NATS was unreachable and someone took it, or it expired) is
//! claimed afresh: the same worker id when still free, else any free one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use bytes::Bytes;
use tokio::sync::watch;

use super::ClusterError;
use super::config::ClusterConfig;
use super::lease::{self, LeaseError};
use super::membership::NodeInfo;
use crate::id::{IdLease, WorkerId};

/// The KV key of a worker id's lease.
pub fn worker_key(worker: WorkerId) -> String {
    format!("worker.{worker}")
}

/// The KV key of a node's membership lease.
pub fn node_key(name: &str) -> String {
    format!("node.{name}")
}

/// The leases this node holds, with their current revisions.
#[derive(Debug, Clone)]
pub struct Held {
    pub info: NodeInfo,
    pub worker: WorkerId,
    pub worker_revision: u64,
    pub node_revision: u64,
}

/// Figures the renewal loop keeps for `/metrics` and the health page.
#[derive(Debug, Default)]
pub struct Stats {
    /// Last NATS round trip (PING/PONG), microseconds; 0 before the first.
    pub rtt_us: AtomicU64,
    /// Last lease renewal (a JetStream publish and its ack), microseconds.
    pub renew_us: AtomicU64,
    pub renewals_failed: AtomicU64,
    pub leases_lost: AtomicU64,
}

/// Claims a free worker id (starting from one derived from the node name, so that nodes
/// starting together rarely race for the same id), then the node's name.
pub async fn claim(store: &kv::Store, mut info: NodeInfo) -> Result<Held, ClusterError> {
    let start = super::placement::weight(0, &info.name) % u64::from(WorkerId::COUNT);
    let (worker, worker_revision) = claim_worker(store, &info.name, start as u16).await?;
    info.worker_id = worker.get();
    let key = node_key(&info.name);
    match lease::claim(store, &key, encode(&info)?).await {
        Ok(Some(node_revision)) => Ok(Held {
            info,
            worker,
            worker_revision,
            node_revision,
        }),
        taken_or_failed => {
            let _ = lease::release(store, &worker_key(worker), worker_revision).await;
            match taken_or_failed {
                Ok(_) => Err(ClusterError::NodeNameTaken(info.name)),
                Err(e) => Err(ClusterError::Nats(e.to_string())),
            }
        }
    }
}

async fn claim_worker(
    store: &kv::Store,
    name: &str,
    start: u16,
) -> Result<(WorkerId, u64), ClusterError> {
    for i in 0..WorkerId::COUNT {
        let Some(worker) = WorkerId::new((start + i) % WorkerId::COUNT) else {
            continue;
        };
        match lease::claim(store, &worker_key(worker), Bytes::from(name.to_string())).await {
            Ok(Some(revision)) => return Ok((worker, revision)),
            Ok(None) => {}
            Err(e) => return Err(ClusterError::Nats(e.to_string())),
        }
    }
    Err(ClusterError::NoFreeWorkerId)
}

fn encode(info: &NodeInfo) -> Result<Bytes, ClusterError> {
    serde_json::to_vec(info)
        .map(Bytes::from)
        .map_err(|e| ClusterError::Nats(format!("encoding the node entry: {e}")))
}

/// Renews both leases every [`ClusterConfig::renew_every`] until `stop`, keeping `ids` granted
/// while renewals succeed; then releases them.
pub fn spawn_renewal(
    client: async_nats::Client,
    store: kv::Store,
    config: ClusterConfig,
    mut held: Held,
    ids: Arc<IdLease>,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    ids.grant(held.worker, Instant::now() + config.trust_for());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(config.renew_every()) => {}
            }
            let t = Instant::now();
            // A renewal that hangs must not outlive the lease it renews.
            let renewed = tokio::time::timeout(
                config.trust_for(),
                renew_once(&store, &mut held, &ids, &stats),
            )
            .await;
            match renewed {
                Ok(Ok(())) => {
                    ids.grant(held.worker, t + config.trust_for());
                    stats
                        .renew_us
                        .store(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                }
                Ok(Err(e)) => {
                    stats.renewals_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, worker = %held.worker, "lease renewal failed");
                }
                Err(_) => {
                    stats.renewals_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(worker = %held.worker, "lease renewal timed out");
                }
            }
            let ping = Instant::now();
            if tokio::time::timeout(Duration::from_secs(2), client.flush())
                .await
                .is_ok_and(|r| r.is_ok())
            {
                stats
                    .rtt_us
                    .store(ping.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
        }
        ids.revoke();
        let _ = lease::release(&store, &node_key(&held.info.name), held.node_revision).await;
        let _ = lease::release(&store, &worker_key(held.worker), held.worker_revision).await;
        let _ = client.flush().await;
        tracing::info!(node = %held.info.name, "left the cluster");
    })
}

/// One renewal of both leases; a lost lease is claimed again.
async fn renew_once(
    store: &kv::Store,
    held: &mut Held,
    ids: &IdLease,
    stats: &Stats,
) -> Result<(), LeaseError> {
    let name = Bytes::from(held.info.name.clone());
    match lease::renew(store, &worker_key(held.worker), name, held.worker_revision).await {
        Ok(revision) => held.worker_revision = revision,
        Err(LeaseError::Lost(key)) => {
            // Another node may hold this id now: stop minting before anything else.
            ids.revoke();
            stats.leases_lost.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%key, "worker-id lease lost; claiming one again");
            let (worker, revision) = claim_worker(store, &held.info.name, held.worker.get())
                .await
                .map_err(|e| LeaseError::Nats {
                    key,
                    message: e.to_string(),
                })?;
            held.worker = worker;
            held.worker_revision = revision;
            held.info.worker_id = worker.get();
        }
        Err(e) => return Err(e),
    }
    let key = node_key(&held.info.name);
    let value = encode(&held.info).map_err(|e| LeaseError::Nats {
        key: key.clone(),
        message: e.to_string(),
    })?;
    match lease::renew(store, &key, value.clone(), held.node_revision).await {
        Ok(revision) => held.node_revision = revision,
        Err(LeaseError::Lost(_)) => match lease::claim(store, &key, value).await? {
            Some(revision) => held.node_revision = revision,
            None => {
                return Err(LeaseError::Nats {
                    key,
                    message: "another live node uses this node name".into(),
                });
            }
        },
        Err(e) => return Err(e),
    }
    Ok(())
}
