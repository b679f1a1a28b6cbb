//! The clock that ends polls: one task holding every pending poll end in deadline order. When a
//! poll's time comes it tells the poll's channel actor ([`ChannelMsg::PollDue`]), which
//! finalizes the results, stores them and sends MESSAGE_UPDATE.
//!
//! Pending ends are stored (`Store::put_poll_expiry`, written by the channel actor in its write
//! order) and read back when the server starts, so a restart neither loses a poll's end nor
//! leaves it open forever: a poll whose time passed while the server was down ends at start.
//! Firing twice is harmless: the channel actor ignores a poll that is already final.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::Services;
use super::channel::ChannelMsg;
use crate::error::{ApiError, Unknown};
use crate::id::{ChannelId, MessageId};
use crate::model::{PollExpiry, Timestamp};

/// How long to wait before trying again when a poll's channel actor could not be reached (a
/// store hiccup, an actor restarting).
const RETRY: Duration = Duration::from_secs(30);

/// The handle channel actors arm the clock through; the task itself starts with [`spawn`].
pub struct PollClock {
    tx: mpsc::UnboundedSender<PollExpiry>,
    /// Taken by [`spawn`]; arms sent before then wait in the channel.
    rx: Mutex<Option<mpsc::UnboundedReceiver<PollExpiry>>>,
    /// Cluster mode: tells the other nodes of each poll armed here (see [`PollClock::arm`]).
    beyond: std::sync::OnceLock<Box<ArmHook>>,
}

type ArmHook = dyn Fn(&PollExpiry) + Send + Sync;

impl Default for PollClock {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            beyond: std::sync::OnceLock::new(),
        }
    }
}

impl PollClock {
    /// Schedules (or reschedules) a poll's end. The entry must already be stored for the end to
    /// survive a restart.
    ///
    /// In a cluster every node arms every poll: the channel's owner may change (or die) before
    /// the poll ends, and whichever nodes are up then hand the end to the owner of the moment.
    pub fn arm(&self, expiry: PollExpiry) {
        if let Some(hook) = self.beyond.get() {
            hook(&expiry);
        }
        self.arm_here(expiry);
    }

    /// [`PollClock::arm`] on this node only (an arm another node announced).
    pub fn arm_here(&self, expiry: PollExpiry) {
        if self.tx.send(expiry).is_err() {
            tracing::debug!("poll clock stopped; the stored end is picked up at the next start");
        }
    }
}

impl std::fmt::Debug for PollClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollClock").finish_non_exhaustive()
    }
}

impl PollClock {
    /// Cluster mode: from now on each arm is also handed to `hook` (set once, at start).
    pub fn announce_arms(&self, hook: impl Fn(&PollExpiry) + Send + Sync + 'static) {
        let _ = self.beyond.set(Box::new(hook));
    }
}

/// Starts the clock: loads the stored pending ends and runs until `shutdown`.
pub async fn spawn(services: &Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    let Some(mut rx) = services.polls.rx.lock().ok().and_then(|mut rx| rx.take()) else {
        tracing::warn!("the poll clock was started twice");
        return;
    };
    let stored = match services.store.poll_expiries().await {
        Ok(stored) => stored,
        Err(e) => {
            // The server still serves; these polls end when next touched by the timer of a
            // later start.
            tracing::error!(error = %e, "could not load pending poll ends");
            Vec::new()
        }
    };
    tracing::debug!(pending = stored.len(), "poll clock armed from the store");
    let mut due: BTreeMap<(Timestamp, MessageId), ChannelId> = stored
        .into_iter()
        .map(|e| ((e.expiry, e.message_id), e.channel_id))
        .collect();
    // Weak: a sleeping clock must not keep the services (and the store) alive after shutdown.
    let weak = Arc::downgrade(services);
    tokio::spawn(
        async move {
            loop {
                let wait = due.keys().next().map(|(at, _)| until(*at));
                tokio::select! {
                    armed = rx.recv() => match armed {
                        Some(e) => {
                            due.retain(|(_, m), _| *m != e.message_id);
                            due.insert((e.expiry, e.message_id), e.channel_id);
                        }
                        None => break,
                    },
                    () = sleep(wait) => {
                        let now = Timestamp::now();
                        let ready: Vec<_> = due
                            .range(..=(now, MessageId::new(u64::MAX)))
                            .map(|(k, c)| (*k, *c))
                            .collect();
                        for (key, channel) in ready {
                            due.remove(&key);
                            if let Some(retry) = fire(&weak, channel, key.1).await {
                                due.insert((retry, key.1), channel);
                            }
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
        }
        .instrument(tracing::debug_span!("poll_clock")),
    );
}

/// Sleeps for `wait`, or forever when nothing is pending.
async fn sleep(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// How long from now until `at` (zero when past).
fn until(at: Timestamp) -> Duration {
    Duration::from_millis(u64::try_from(at.millis() - Timestamp::now().millis()).unwrap_or(0))
}

/// Tells the poll's channel actor its poll is due. Returns when to try again if that failed
/// for a reason that may pass; a deleted channel drops the stored end.
async fn fire(
    services: &Weak<Services>,
    channel: ChannelId,
    message: MessageId,
) -> Option<Timestamp> {
    let services = services.upgrade()?;
    // Cluster mode: the channel's owner of the moment ends it (every node arms every poll;
    // the owner ignores a poll already final, so several nodes may hand it over).
    if let Ok(owned) = services.channel_owner(channel).await
        && let (Some(owner), Some(remote)) = (services.remote_owner(owned), services.remote.get())
    {
        remote.tell(
            &owner,
            super::remote::GuildCommand::PollDue {
                channel: channel.get(),
                message: message.get(),
            },
        );
        return None;
    }
    match services.channel(channel).await {
        Ok(actor) => {
            if super::tell(&actor, ChannelMsg::PollDue { id: message }).is_ok() {
                return None;
            }
        }
        Err(ApiError::Unknown(Unknown::Channel)) => {
            if let Err(e) = services.store.delete_poll_expiry(message).await {
                tracing::warn!(error = %e, "could not drop the end of a deleted channel's poll");
            }
            return None;
        }
        Err(e) => tracing::warn!(error = %e, %channel, "poll's channel unavailable; retrying"),
    }
    Some(Timestamp::from_millis(
        Timestamp::now().millis() + RETRY.as_millis() as i64,
    ))
}
