//! The actors that own the state: one per guild, one per channel (messages), one per user
//! (relationships, settings, read states), one per gateway session (see `gateway::session`),
//! spawned lazily from the store and supervised.
//!
//! Rule against deadlocks: a guild actor never *calls* (awaits) a channel actor, it only casts to
//! it; channel actors may call their guild actor. Channel actors may call user actors; user actors
//! call no actor (between two user actors only casts, see `user`).

pub mod bounded;
pub mod channel;
pub(crate) mod due_timer;
pub mod guild;
pub mod interactions;
pub mod mailbox;
pub mod ownership;
pub mod polls;
pub mod registry;
pub mod remote;
pub mod sessions;
pub mod subscriptions;
pub mod supervisor;
pub mod user;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorRef, RpcReplyPort};

use crate::config::LiveConfig;
use crate::error::ApiError;
use crate::id::SnowflakeGenerator;
use crate::store::DynStore;

pub use mailbox::tell;
pub use registry::Registry;
pub use sessions::{SessionHandle, SessionRegistry};
pub use users::UserDirectory;

/// What every actor may use. Cloned as an `Arc` into each actor's arguments.
pub struct Services {
    pub config: Arc<LiveConfig>,
    pub store: DynStore,
    pub ids: SnowflakeGenerator,
    pub users: UserDirectory,
    pub sessions: SessionRegistry,
    pub registry: Registry,
    /// Live interactions (in memory, 15 minutes each).
    pub interactions: interactions::InteractionRegistry,
    /// Pending poll ends (see [`polls`]).
    pub polls: polls::PollClock,
    /// Every guild's compiled auto-moderation rules, read by channel actors per message.
    pub automod: crate::automod::RuleBook,
    /// Cluster mode: the leases deciding which actors this node may run (see [`ownership`]).
    /// Unset on a single node, where every check is one `OnceLock` read.
    pub ownership: std::sync::OnceLock<Arc<crate::cluster::Ownership>>,
    /// Cluster mode: sessions subscribed to guilds owned elsewhere, and the relays carrying
    /// this node's guild events to other nodes' sessions (see [`remote`]).
    pub remote: std::sync::OnceLock<Arc<remote::Remote>>,
    /// The node's message index (see [`crate::search`]); unset when search is off. Channel
    /// actors feed it once their writes are durable.
    pub search: std::sync::OnceLock<Arc<crate::search::MessageIndex>>,
}

impl Services {
    pub fn new(config: Arc<LiveConfig>, store: DynStore, ids: SnowflakeGenerator) -> Arc<Self> {
        Arc::new(Self {
            users: UserDirectory::new(store.clone(), config.clone()),
            config,
            store,
            ids,
            sessions: SessionRegistry::default(),
            registry: Registry::default(),
            interactions: interactions::InteractionRegistry::default(),
            polls: polls::PollClock::default(),
            automod: crate::automod::RuleBook::default(),
            ownership: std::sync::OnceLock::new(),
            remote: std::sync::OnceLock::new(),
            search: std::sync::OnceLock::new(),
        })
    }

    /// Hands a change to the message index, if search is on (never waits).
    pub fn index(&self, op: crate::search::IndexOp) {
        if let Some(index) = self.search.get() {
            index.submit(op);
        }
    }

    pub(crate) fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.config.get().actors.call_timeout_ms)
    }

    /// Asks the guild's actor (spawned from the store on first use; `Unknown Guild` if the guild
    /// doesn't exist): what nearly every guild route does.
    pub async fn ask_guild<T: Send + 'static>(
        self: &Arc<Self>,
        id: crate::id::GuildId,
        make: impl FnOnce(Reply<T>) -> guild::GuildMsg,
    ) -> Result<T, ApiError> {
        let actor = self.guild(id).await?;
        ask(self, &actor, make).await
    }
}

/// Sends `tick()` to the actor periodically (half the live idle timeout, within 0.2–30 s) until
/// it stops, so idle actors can passivate. A config change applies from the next period.
pub(crate) fn start_idle_ticker<M: mailbox::Counted>(
    me: &ActorRef<M>,
    services: Arc<Services>,
    tick: fn() -> M,
) {
    let me = me.clone();
    // Weak: a sleeping ticker must not keep the services (and the store's file lock) alive
    // after shutdown.
    let services = Arc::downgrade(&services);
    tokio::spawn(async move {
        while let Some(idle) = services
            .upgrade()
            .map(|s| s.config.get().actors.idle_passivate_secs)
        {
            let period = if idle == 0 {
                30.0
            } else {
                (idle as f64 / 2.0).clamp(0.2, 30.0)
            };
            tokio::time::sleep(Duration::from_secs_f64(period)).await;
            if mailbox::tell(&me, tick()).is_err() {
                break;
            }
        }
    });
}

/// Whether an actor last active at `since` has been idle long enough to passivate.
pub(crate) fn idle_for(since: std::time::Instant, services: &Services) -> bool {
    let secs = services.config.get().actors.idle_passivate_secs;
    secs > 0 && since.elapsed() >= Duration::from_secs(secs)
}

/// The reply every request-style actor message carries.
pub type Reply<T> = RpcReplyPort<Result<T, ApiError>>;

/// Sends a request to an actor and waits for its reply. A dead actor or a timeout is an
/// internal error for the request (the supervisor restarts the actor for the next one).
pub async fn ask<M, T>(
    services: &Services,
    actor: &ActorRef<M>,
    make: impl FnOnce(Reply<T>) -> M,
) -> Result<T, ApiError>
where
    M: mailbox::Counted,
    T: Send + 'static,
{
    match mailbox::call(actor, make, Some(services.call_timeout())).await {
        Ok(ractor::rpc::CallResult::Success(result)) => result,
        Ok(ractor::rpc::CallResult::Timeout) => Err(ApiError::internal(format!(
            "actor {} timed out",
            actor.get_id()
        ))),
        // In a cluster an actor stops, dropping what its mailbox held, when its lease lapses or
        // moves (see `ownership`): the client retries and reaches the owner.
        Ok(ractor::rpc::CallResult::SenderError)
            if services.ownership.get().is_some()
                && !matches!(actor.get_status(), ractor::ActorStatus::Running) =>
        {
            Err(services.lapsed())
        }
        Ok(ractor::rpc::CallResult::SenderError) => Err(ApiError::internal(format!(
            "actor {} dropped the reply",
            actor.get_id()
        ))),
        Err(e) => Err(ApiError::internal(format!(
            "actor {} unreachable: {e}",
            actor.get_id()
        ))),
    }
}

/// Answers a request; a caller that gave up (timeout) is not an error for the actor.
pub(crate) fn reply<T>(port: Reply<T>, value: Result<T, ApiError>)
where
    T: Send + 'static,
{
    if port.send(value).is_err() {
        tracing::debug!("caller went away before the reply");
    }
}
