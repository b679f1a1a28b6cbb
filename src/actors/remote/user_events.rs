//! Cluster mode: user-scoped events (DMs, USER_UPDATE, relationships, GUILD_CREATE after a
//! join …) travel only to the nodes that hold a session of their user.
//!
//! NATS is the directory: each user's events are published on their own subject
//! ([`subject`]), and a node subscribes to it while it holds at least one session of that
//! user (parked ones awaiting a resume included). The server routes a publish only to the
//! connections that subscribed, so a node without the user's sessions never sees the event,
//! and no node keeps a table of where every user is. A node's first session of a user waits,
//! before its READY is built, until the server has confirmed the subscription (a flush), so an
//! event made after that READY cannot miss the node.
//!
//! The cost is one NATS subscription per user with sessions on a node (about 6 KiB with the
//! client's per-subscription queue), instead of every node hearing every user event.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use super::{Remote, VERSION, event_name, read_frame};
use crate::actors::Services;
use crate::events::Dispatch;
use crate::gateway::intents::Intents;
use crate::id::UserId;

/// Where `user`'s events are published; a node subscribes while it holds the user's sessions.
pub fn subject(user: UserId) -> String {
    format!("accord.user.{user}.events")
}

/// How long an identify waits for this node's subscription to its user's subject before it
/// goes on without it (NATS answering slowly; the user's events may then miss this node for
/// as long as the subscription takes).
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The first line of a user-scoped event frame; the payload bytes follow.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UserEventMeta {
    v: u16,
    from: String,
    user: u64,
    name: String,
    /// The intent a session needs for it (decided where the event was made).
    intent: Option<u64>,
}

/// One user's subject, subscribed by a task of its own; dropping it (the task aborted)
/// drops the NATS subscription, which unsubscribes.
struct Interest {
    task: tokio::task::AbortHandle,
    /// True once the server has confirmed the subscription.
    ready: watch::Receiver<bool>,
}

/// This node's subscriptions to user subjects, one per user with sessions here.
#[derive(Default)]
pub struct UserInterest {
    users: DashMap<UserId, Interest>,
    frames_received: AtomicU64,
}

impl UserInterest {
    /// The users whose events this node hears.
    pub fn subscribed(&self) -> usize {
        self.users.len()
    }

    /// User-scoped event frames this node has received from other nodes.
    pub fn frames_received(&self) -> u64 {
        self.frames_received.load(Ordering::Relaxed)
    }

    /// `user` has a first session here: subscribe to their subject. Called under the session
    /// registry's lock of that user, so arrivals and departures of one user come in order.
    pub(super) fn arrive(&self, services: Weak<Services>, remote: Weak<Remote>, user: UserId) {
        let Some(r) = remote.upgrade() else {
            return;
        };
        let (ready_tx, ready) = watch::channel(false);
        let client = r.client.clone();
        let task = tokio::spawn(async move {
            let mut frames = match client.subscribe(subject(user)).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(%user, error = %e, "user subject not subscribed");
                    return;
                }
            };
            if let Err(e) = client.flush().await {
                tracing::warn!(%user, error = %e, "user subject subscription not confirmed");
            }
            let _ = ready_tx.send(true);
            while let Some(message) = frames.next().await {
                let (Some(services), Some(remote)) = (services.upgrade(), remote.upgrade()) else {
                    break;
                };
                deliver(&services, &remote, message.payload);
            }
        });
        if let Some(old) = self.users.insert(
            user,
            Interest {
                task: task.abort_handle(),
                ready,
            },
        ) {
            old.task.abort();
        }
    }

    /// `user`'s last session here ended: unsubscribe.
    pub(super) fn leave(&self, user: UserId) {
        if let Some((_, interest)) = self.users.remove(&user) {
            interest.task.abort();
        }
    }

    /// Waits until this node's subscription to `user`'s subject is confirmed (at once when it
    /// is, or when the user has no session here).
    pub async fn ready(&self, user: UserId) {
        let Some(mut ready) = self.users.get(&user).map(|i| i.ready.clone()) else {
            return;
        };
        let confirmed = tokio::time::timeout(READY_TIMEOUT, ready.wait_for(|r| *r)).await;
        if !matches!(confirmed, Ok(Ok(_))) {
            tracing::warn!(%user, "identify goes on before its user's subject is subscribed");
        }
    }

    /// Ends every subscription (the node is stopping).
    pub(super) fn clear(&self) {
        self.users.retain(|_, i| {
            i.task.abort();
            false
        });
    }
}

impl Remote {
    /// Queues a user-scoped event for the user's sessions on the other nodes: published on the
    /// user's subject, which only the nodes holding a session of that user subscribe to.
    pub(super) fn send_user_event(&self, user: UserId, event: &Arc<Dispatch>) {
        let meta = UserEventMeta {
            v: VERSION,
            from: self.node.clone(),
            user: user.get(),
            name: event.name.to_string(),
            intent: event.intent.map(|i| i.bits()),
        };
        let Ok(mut frame) = serde_json::to_vec(&meta) else {
            return;
        };
        frame.push(b'\n');
        frame.extend_from_slice(&event.data);
        if self.user_events.try_send((user, frame.into())).is_err() {
            tracing::warn!("user event queue full: event dropped");
        }
    }
}

/// Publishes the queued user-scoped events, in order.
pub(super) async fn publish(
    client: async_nats::Client,
    mut outgoing: mpsc::Receiver<(UserId, Bytes)>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (user, frame) = tokio::select! {
            _ = stop.changed() => break,
            f = outgoing.recv() => match f {
                Some(f) => f,
                None => break,
            },
        };
        if let Err(e) = client.publish(subject(user), frame).await {
            tracing::warn!(error = %e, "user event publish failed");
        }
    }
}

/// Hands another node's user-scoped event frame to this node's sessions of its user.
fn deliver(services: &Services, remote: &Remote, frame: Bytes) {
    let Some((meta, payload)) = read_frame::<UserEventMeta>(&frame, "user event") else {
        return;
    };
    if meta.v != VERSION || meta.from == remote.node {
        return;
    }
    remote
        .user_interest
        .frames_received
        .fetch_add(1, Ordering::Relaxed);
    let Some(name) = event_name(&meta.name) else {
        return;
    };
    let event = Arc::new(Dispatch {
        name,
        data: payload,
        intent: meta.intent.map(Intents::from_bits_truncate),
        redacted: None,
    });
    services
        .sessions
        .send_to_user_here(UserId::new(meta.user), &event);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_has_a_subject_of_their_own() {
        assert_eq!(subject(UserId::new(42)), "accord.user.42.events");
        assert_ne!(subject(UserId::new(1)), subject(UserId::new(2)));
    }
}
