//! Mailbox depth per actor kind, for `/metrics`.
//!
//! ractor's mailboxes don't report their length, so we count at the edges we own: every message
//! sent to a guild, channel or user actor goes through [`tell`] or [`super::ask`], which add one
//! to the kind's gauge, and each actor's `handle` calls [`received`] first, which takes one off.
//! The gauge is therefore "messages queued and not yet picked up" summed over the kind's actors —
//! the figure that shows a hot guild falling behind. A send to an actor that is already gone is
//! taken back at once. The one drift: messages still queued when an actor *fails* are dropped by
//! ractor unhandled and stay counted (actors passivate only when idle, so a normal stop leaves
//! nothing behind); a panicking actor is a bug that shows in the logs, and the gauge is clamped
//! at zero, never below.

use std::sync::atomic::{AtomicI64, Ordering};

use ractor::{ActorRef, MessagingErr};

/// The actor kinds with counted mailboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Guild,
    Channel,
    User,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Guild, Kind::Channel, Kind::User];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Guild => "guild",
            Kind::Channel => "channel",
            Kind::User => "user",
        }
    }

    fn gauge(self) -> &'static AtomicI64 {
        &DEPTH[self as usize]
    }
}

static DEPTH: [AtomicI64; 3] = [AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)];

/// A message type whose actor's mailbox is counted.
pub trait Counted: ractor::Message {
    const KIND: Kind;
}

/// Messages queued for actors of `kind` and not yet handled (never negative).
pub fn depth(kind: Kind) -> u64 {
    kind.gauge().load(Ordering::Relaxed).max(0) as u64
}

/// Counts a message about to be sent to an actor of `M`'s kind.
#[inline]
fn sending<M: Counted>() {
    M::KIND.gauge().fetch_add(1, Ordering::Relaxed);
}

/// Takes back a message that never reached a mailbox (the actor was gone).
#[inline]
fn not_sent<M: Counted>() {
    M::KIND.gauge().fetch_sub(1, Ordering::Relaxed);
}

/// Called first thing in an actor's `handle`: one message left the mailbox.
#[inline]
pub fn received<M: Counted>() {
    M::KIND.gauge().fetch_sub(1, Ordering::Relaxed);
}

/// Sends without waiting for an answer (ractor's `cast`), counted.
pub fn tell<M: Counted>(actor: &ActorRef<M>, msg: M) -> Result<(), MessagingErr<M>> {
    sending::<M>();
    let sent = actor.cast(msg);
    if sent.is_err() {
        not_sent::<M>();
    }
    sent
}

/// ractor's `call` (send, then await the reply on a port), counted. For replies that aren't a
/// [`super::Reply`]; requests answering `Result<T, ApiError>` use [`super::ask`].
pub async fn call<M: Counted, T>(
    actor: &ActorRef<M>,
    make: impl FnOnce(ractor::RpcReplyPort<T>) -> M,
    timeout: Option<std::time::Duration>,
) -> Result<ractor::rpc::CallResult<T>, MessagingErr<M>>
where
    T: Send + 'static,
{
    sending::<M>();
    let answer = actor.call(make, timeout).await;
    if answer.is_err() {
        not_sent::<M>();
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_never_negative() {
        struct Probe;
        impl Counted for Probe {
            const KIND: Kind = Kind::User;
        }
        // Other tests in this process may be sending to user actors; only relative changes and
        // the clamp are checked.
        let before = Kind::User.gauge().load(Ordering::Relaxed);
        sending::<Probe>();
        assert_eq!(Kind::User.gauge().load(Ordering::Relaxed), before + 1);
        received::<Probe>();
        assert_eq!(Kind::User.gauge().load(Ordering::Relaxed), before);
        assert!(depth(Kind::Guild) < u64::MAX / 2);
    }
}
