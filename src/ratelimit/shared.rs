//! Rate limits that hold across a cluster: each account's buckets (its global limit and its
//! per-route buckets) are counted on one node, the account's home — the node that owns the
//! user by placement (`cluster::placement`), as its user actor is. A request served elsewhere
//! asks the home to count it (one NATS request/reply carrying every bucket the request counts
//! against) and answers with the home's verdicts, so `X-RateLimit-Remaining` is the same figure
//! whichever node a client reaches. Unauthenticated requests are counted the same way at the
//! home of their IP address.
//!
//! Exact counters at one place rather than per-node counters gossiped to the others: a gossiped
//! count lets a client spread over n nodes get up to n times its limit between two exchanges,
//! and its headers would be wrong in the meantime. The price is one NATS round trip for
//! requests whose account lives on another node. When the home does not answer in time (it
//! died, NATS is reconnecting) the request is counted here instead: a limit may be exceeded
//! while a node fails over, but no request waits on a dead node.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{RateLimiter, Verdict};
use crate::cluster::Ownership;

/// The version of the count requests and replies this build speaks.
const VERSION: u16 = 1;

/// How long a request waits for its home to count it before counting it here.
const COUNT_TIMEOUT: Duration = Duration::from_millis(250);

fn subject(node: &str) -> String {
    format!("accord.node.{node}.ratelimit")
}

/// One bucket a request counts against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub key: String,
    pub limit: u32,
    pub window_ms: u64,
}

impl Hit {
    pub fn new(key: String, limit: u32, window: Duration) -> Self {
        Self {
            key,
            limit,
            window_ms: window.as_millis() as u64,
        }
    }

    fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct CountRequest {
    v: u16,
    hits: Vec<Hit>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CountReply {
    v: u16,
    verdicts: Vec<Verdict>,
}

/// Counts `hits` in order and stops at the first exhausted bucket: a request refused by its
/// global limit does not use up its route bucket too. The verdicts are those counted, so the
/// last one is the refusal if there was one.
pub fn count_all(limiter: &RateLimiter, hits: &[Hit], now: Instant) -> Vec<Verdict> {
    let mut verdicts = Vec::with_capacity(hits.len());
    for h in hits {
        let v = limiter.hit(&h.key, h.limit, h.window(), now);
        verdicts.push(v);
        if !v.allowed {
            break;
        }
    }
    verdicts
}

/// Where this node's requests are counted: here, or at their home in a cluster.
#[derive(Default)]
pub struct Counters {
    local: Arc<RateLimiter>,
    cluster: Option<Shared>,
}

struct Shared {
    client: async_nats::Client,
    ownership: Arc<Ownership>,
}

/// Whether a verdict came from this node's own counters (so they can be looked at again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedAt {
    Here,
    Elsewhere,
}

impl Counters {
    /// A cluster node's counters: answers the count requests of the other nodes for the
    /// accounts whose home this is, until `stop`. Returns once subscribed.
    pub async fn clustered(
        client: async_nats::Client,
        ownership: Arc<Ownership>,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, async_nats::SubscribeError> {
        let local = Arc::new(RateLimiter::default());
        let requests = client.subscribe(subject(ownership.node())).await?;
        tokio::spawn(answer(client.clone(), requests, local.clone(), stop));
        Ok(Self {
            local,
            cluster: Some(Shared { client, ownership }),
        })
    }

    /// This node's own counters.
    pub fn local(&self) -> &RateLimiter {
        &self.local
    }

    /// Counts `hits` for the owner of `home` (an account id, or a hash of an IP address).
    pub async fn count(&self, home: u64, hits: &[Hit]) -> (Vec<Verdict>, CountedAt) {
        if let Some(shared) = &self.cluster
            && let Ok(owner) = shared.ownership.placed(home)
            && owner != shared.ownership.node()
        {
            match ask(&shared.client, &owner, hits).await {
                Ok(verdicts) => return (verdicts, CountedAt::Elsewhere),
                Err(e) => {
                    tracing::debug!(%owner, error = %e, "counted here: the home node did not count")
                }
            }
        }
        (
            count_all(&self.local, hits, Instant::now()),
            CountedAt::Here,
        )
    }
}

#[derive(Debug, thiserror::Error)]
enum AskError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("NATS: {0}")]
    Nats(String),
    #[error("unreadable: {0}")]
    Envelope(String),
}

async fn ask(
    client: &async_nats::Client,
    owner: &str,
    hits: &[Hit],
) -> Result<Vec<Verdict>, AskError> {
    let request = CountRequest {
        v: VERSION,
        hits: hits.to_vec(),
    };
    let payload = serde_json::to_vec(&request).map_err(|e| AskError::Envelope(e.to_string()))?;
    let reply = tokio::time::timeout(
        COUNT_TIMEOUT,
        client.request(subject(owner), payload.into()),
    )
    .await
    .map_err(|_| AskError::Timeout(COUNT_TIMEOUT))?
    .map_err(|e| AskError::Nats(e.to_string()))?;
    let reply: CountReply =
        serde_json::from_slice(&reply.payload).map_err(|e| AskError::Envelope(e.to_string()))?;
    if reply.v != VERSION {
        return Err(AskError::Envelope(format!("version {}", reply.v)));
    }
    Ok(reply.verdicts)
}

/// Counts what the other nodes ask this one to. Counting is a map update, so requests are
/// answered in line, one after another, by this one task.
async fn answer(
    client: async_nats::Client,
    mut requests: async_nats::Subscriber,
    limiter: Arc<RateLimiter>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            _ = stop.changed() => break,
            m = requests.next() => match m {
                Some(m) => m,
                None => break,
            },
        };
        let Some(reply_to) = message.reply else {
            continue;
        };
        let request: CountRequest = match serde_json::from_slice(&message.payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable rate-limit count request");
                continue;
            }
        };
        if request.v != VERSION {
            // Unanswered: the asking node times out and counts the request itself.
            tracing::warn!(
                version = request.v,
                "rate-limit count request of another version"
            );
            continue;
        }
        let reply = CountReply {
            v: VERSION,
            verdicts: count_all(&limiter, &request.hits, Instant::now()),
        };
        let Ok(payload) = serde_json::to_vec(&reply) else {
            continue;
        };
        if let Err(e) = client.publish(reply_to, payload.into()).await {
            tracing::debug!(error = %e, "rate-limit count reply not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_stops_at_the_first_exhausted_bucket() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        let hits = [
            Hit::new("g".into(), 2, Duration::from_secs(1)),
            Hit::new("r".into(), 10, Duration::from_secs(60)),
        ];
        assert_eq!(count_all(&limiter, &hits, now).len(), 2);
        assert_eq!(count_all(&limiter, &hits, now).len(), 2);
        let refused = count_all(&limiter, &hits, now);
        assert_eq!(refused.len(), 1, "refused by the global limit");
        assert!(!refused[0].allowed);
        // The route bucket counted the two allowed requests only.
        let route = count_all(&limiter, &hits[1..], now);
        assert_eq!(route[0].remaining, 7);
    }

    #[test]
    fn the_wire_format_round_trips() {
        let reply = CountReply {
            v: VERSION,
            verdicts: vec![Verdict {
                allowed: true,
                limit: 5,
                remaining: 4,
                reset_after: 0.5,
            }],
        };
        let back: CountReply =
            serde_json::from_slice(&serde_json::to_vec(&reply).expect("encode")).expect("decode");
        assert_eq!(back.verdicts, reply.verdicts);
    }
}
