//! One pending wake-up of an actor at a wall-clock time (unix ms): the guild's thread-archive
//! clock and its scheduled-event clock each keep one.
//!
//! Why a type: both re-arm after every message, and the due time rarely moves, so re-arming
//! to the time already armed must cost nothing and a moved time must replace (not add to) the
//! sleeping task. Dropping the timer (the actor stops) cancels it; the next run re-arms from
//! the store.

use ractor::ActorRef;
use tokio::task::JoinHandle;

use super::mailbox::{self, Counted};
use crate::model::Timestamp;

#[derive(Debug, Default)]
pub(crate) struct DueTimer(Option<(i64, JoinHandle<()>)>);

impl DueTimer {
    /// Sends `wake()` to `me` at `at` (unix ms; at once when past), replacing a wake-up armed
    /// for another time; `None` cancels.
    pub(crate) fn arm<M: Counted>(&mut self, me: &ActorRef<M>, at: Option<i64>, wake: fn() -> M) {
        if self.0.as_ref().map(|(armed, _)| *armed) == at {
            return;
        }
        self.cancel();
        let Some(at) = at else {
            return;
        };
        let wait = (at - Timestamp::now().millis()).max(0) as u64;
        let me = me.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            let _ = mailbox::tell(&me, wake());
        });
        self.0 = Some((at, task));
    }

    /// Drops the pending wake-up, if any.
    pub(crate) fn cancel(&mut self) {
        if let Some((_, task)) = self.0.take() {
            task.abort();
        }
    }

    /// The wake-up arrived: its task is spent, and the next [`DueTimer::arm`] arms anew even
    /// for the same time.
    pub(crate) fn fired(&mut self) {
        self.0 = None;
    }
}

impl Drop for DueTimer {
    fn drop(&mut self) {
        self.cancel();
    }
}
