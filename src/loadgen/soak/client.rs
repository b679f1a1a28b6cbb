//! One soak member's gateway life: identify, hold, and on command either close and identify
//! anew (a client restarting) or drop the socket and RESUME (a network blip) — for as long as
//! the run lasts. What a real client does between those is the same as in the other scenarios
//! ([`gateway::hold`]: heartbeats, events counted, delivery latencies recorded).

use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::loadgen::gateway::{self, Cmd, Ctx, HoldEnd};

/// Runs until the run stops. Counters: `reconnect` (closed and identified again), `resumed`
/// (with the `resume` latency, drop to RESUMED), `delivered_replayed` (events the RESUME
/// replayed), and the errors `session_dropped` (the server closed an open session),
/// `resume_failed` (the RESUME was refused or failed; the member identifies anew) and
/// `identify_failed` (no READY even after retries; the member gives up).
pub async fn member(ctx: Ctx, token: String, mut cmds: mpsc::Receiver<Cmd>) {
    let mut first = true;
    'identify: loop {
        let Some(mut s) = gateway::identify(&ctx, &token).await else {
            if !*ctx.stop.borrow() {
                ctx.recorder.count("identify_failed", 1);
                if first {
                    ctx.tally.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            return;
        };
        if first {
            ctx.tally.ready.fetch_add(1, Ordering::Relaxed);
            first = false;
        }
        loop {
            ctx.tally.alive.fetch_add(1, Ordering::Relaxed);
            let end = gateway::hold(&ctx, &mut s, Some(&mut cmds)).await;
            ctx.tally.alive.fetch_sub(1, Ordering::Relaxed);
            match end {
                HoldEnd::Stopped => return,
                HoldEnd::Dropped => {
                    ctx.recorder.count("session_dropped", 1);
                    continue 'identify;
                }
                HoldEnd::Command(Cmd::Reconnect) => {
                    gateway::close_normally(&mut s.ws).await;
                    ctx.recorder.count("reconnect", 1);
                    continue 'identify;
                }
                HoldEnd::Command(Cmd::Resume) => {
                    let t0 = Instant::now();
                    match gateway::drop_and_resume(&ctx, &token, s).await {
                        Ok((resumed, replayed)) => {
                            ctx.recorder.latency(
                                "resume",
                                u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX),
                            );
                            ctx.recorder.count("resumed", 1);
                            ctx.recorder.count("delivered_replayed", replayed);
                            s = resumed;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "resume failed");
                            if !*ctx.stop.borrow() {
                                ctx.recorder.count("resume_failed", 1);
                            }
                            continue 'identify;
                        }
                    }
                }
            }
        }
    }
}
