//! Handing freed heap memory back to the operating system once load falls.
//!
//! glibc's malloc keeps freed memory in its per-thread arenas instead of returning it: after
//! 10,000 sessions came and went, a node held 1.4 GB with nothing live in it (issue 14). This
//! task watches the node's load (live sessions and actors) and, when it has fallen clearly
//! below its peak since the last trim, calls `malloc_trim(0)` on a blocking thread, which
//! releases the free pages of every arena. It never runs while load only grows, so it costs
//! nothing at steady state, and at most once per `actors.trim_memory_secs`.
//!
//! Measured (BENCHMARKS.md, "Memory after load"): glibc with this trim against mimalloc, the
//! other allocator we build with.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::actors::Services;

/// What counts as load: things that own heap memory and come and go with clients.
fn load(services: &Services) -> usize {
    let (guilds, channels) = services.registry.live_counts();
    services.sessions.total() + services.registry.live_users() + guilds + channels
}

/// Load must fall below this fraction of its peak since the last trim before trimming again.
const FALL: f64 = 0.9;

/// Starts the trimming task; it ends with `stop`. Does nothing where trimming isn't available
/// (another allocator, or not glibc).
pub fn spawn(services: Arc<Services>, mut stop: watch::Receiver<bool>) {
    if !available() {
        return;
    }
    tokio::spawn(async move {
        let mut peak = 0usize;
        let mut trimmed_at_zero = false;
        loop {
            let secs = services.config.get().actors.trim_memory_secs;
            let wait = Duration::from_secs(if secs == 0 { 60 } else { secs });
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            if secs == 0 {
                continue;
            }
            let now = load(&services);
            peak = peak.max(now);
            let fell = (now as f64) < (peak as f64) * FALL;
            // Idle after activity: one more trim catches what the last sessions freed.
            let idle_again = now == 0 && !trimmed_at_zero && peak > 0;
            if fell || idle_again {
                let released = tokio::task::spawn_blocking(trim).await.unwrap_or(false);
                tracing::debug!(load = now, peak, released, "returned free heap memory");
                peak = now;
                trimmed_at_zero = now == 0;
            } else if now > 0 {
                trimmed_at_zero = false;
            }
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
fn available() -> bool {
    true
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc"))))]
fn available() -> bool {
    false
}

/// `malloc_trim(0)`: whether memory was released.
#[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
pub fn trim() -> bool {
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks; it is documented as
    // safe to call at any time from any thread, and the binary's allocator is glibc's here
    // (the `mimalloc` feature, which replaces it, excludes this function).
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc"))))]
pub fn trim() -> bool {
    false
}
