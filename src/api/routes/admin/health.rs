//! Instance health: `GET /admin/health` (JSON, for the dashboard) and `GET /metrics` (Prometheus
//! text, mounted outside `/api`), both built by [`gather`] from the same counters.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::require_admin;
use crate::actors::mailbox::{self, Kind};
use crate::api::extract::Json;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::metrics::{self, Counters, Point};
use crate::model::Timestamp;

pub fn routes() -> Router<App> {
    Router::new().route("/admin/health", get(health))
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub version: &'static str,
    pub uptime_secs: u64,
    pub started_at: Timestamp,
    pub store: StoreHealth,
    pub sessions: Sessions,
    /// Live actors by kind: `guild`, `channel`, `user`, `session` (gateway sessions are tasks fed
    /// by bounded queues, counted here as the actors they are in the design).
    pub actors: Actors,
    /// Messages waiting in actor mailboxes and session queues.
    pub mailboxes: Mailboxes,
    pub counters: Counters,
    /// The latest rates (the last point of `history`; zero before there are two samples).
    pub rates: Rates,
    /// Rates over time, oldest first (one point per sample, at most one per second).
    pub history: Vec<Point>,
    /// Open HTTP/gateway connections and what the connection limits refused or cut.
    pub connections: crate::net::ConnectionStats,
    /// This node's view of the cluster (members, its worker id, NATS round trip); `null` for a
    /// single node.
    pub cluster: Option<crate::cluster::ClusterStatus>,
}

#[derive(Debug, Serialize)]
pub struct StoreHealth {
    pub backend: &'static str,
    /// Time of one cheap read (the stored configuration); `None` when it failed.
    pub latency_ms: Option<f64>,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct Sessions {
    /// Gateway sessions registered (connected, or parked awaiting RESUME).
    pub online: usize,
    /// Sessions that can be resumed by id (a subset of `online`).
    pub resumable: usize,
}

#[derive(Debug, Serialize)]
pub struct Actors {
    pub guild: usize,
    pub channel: usize,
    pub user: usize,
    pub session: usize,
}

#[derive(Debug, Serialize)]
pub struct Mailboxes {
    /// Messages sent to guild actors and not yet handled, summed over all guild actors.
    pub guild: u64,
    pub channel: u64,
    pub user: u64,
    /// Events queued for gateway sessions and not yet written, summed over all sessions.
    pub session: usize,
    /// The deepest single session queue (a slow client nearing its overflow limit).
    pub session_max: usize,
}

#[derive(Debug, Serialize)]
pub struct Rates {
    pub messages_per_sec: f64,
    pub events_per_sec: f64,
}

/// Reads every figure. `sample` adds a point to the rate history (the dashboard's polling does;
/// a Prometheus scrape computes its own rates from the counters and does not).
pub async fn gather(app: &App, sample: bool) -> Health {
    let backend = app.store().backend_name();
    let t = Instant::now();
    let read = app.store().get_config().await;
    let latency = t.elapsed();
    if let Err(e) = &read {
        tracing::warn!(error = %e, "health: store read failed");
    }
    let online = app.services.sessions.total();
    let (guild, channel) = app.services.registry.live_counts();
    let user = app.services.registry.live_users();
    let (session_queued, session_max) = app.services.sessions.queue_depths();
    let history = if sample {
        metrics::sample(online as u64)
    } else {
        Vec::new()
    };
    let rates = history.last().map_or(
        Rates {
            messages_per_sec: 0.0,
            events_per_sec: 0.0,
        },
        |p| Rates {
            messages_per_sec: p.messages_per_sec,
            events_per_sec: p.events_per_sec,
        },
    );
    let uptime = app.started.elapsed();
    let started_at = Timestamp::from_millis(Timestamp::now().millis() - uptime.as_millis() as i64);
    Health {
        cluster: app.cluster.as_ref().map(|c| {
            let mut status = c.status();
            if let Some(remote) = app.services.remote.get() {
                status.user_subscriptions = remote.user_interest().subscribed();
                status.user_event_frames_received = remote.user_interest().frames_received();
            }
            status
        }),
        connections: app.connections.stats(),
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: uptime.as_secs(),
        started_at,
        store: StoreHealth {
            backend,
            latency_ms: read.is_ok().then(|| millis(latency)),
            ok: read.is_ok(),
        },
        sessions: Sessions {
            online,
            resumable: app.gateway.resumable.len(),
        },
        actors: Actors {
            guild,
            channel,
            user,
            session: online,
        },
        mailboxes: Mailboxes {
            guild: mailbox::depth(Kind::Guild),
            channel: mailbox::depth(Kind::Channel),
            user: mailbox::depth(Kind::User),
            session: session_queued,
            session_max,
        },
        counters: Counters::now(),
        rates,
        history,
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `GET /admin/health`: the dashboard's health figures (admins only).
async fn health(State(app): State<App>, caller: Caller) -> Result<Json<Health>, ApiError> {
    require_admin(&caller)?;
    Ok(Json(gather(&app, true).await))
}

/// `GET /metrics`: the same figures in Prometheus' text format. Admins only, like the rest of
/// the instance's internals: point Prometheus at it with `authorization: {type: Bearer,
/// credentials: <an admin token>}`.
pub async fn prometheus(State(app): State<App>, caller: Caller) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let h = gather(&app, false).await;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render_prometheus(&h),
    )
        .into_response())
}

/// Prometheus exposition format (text 0.0.4).
pub fn render_prometheus(h: &Health) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    metric(
        "accord_build_info",
        "gauge",
        "Version and storage backend of this server.",
        &[(
            &format!(
                "{{version=\"{}\",backend=\"{}\"}}",
                h.version, h.store.backend
            ),
            "1".into(),
        )],
    );
    let c = &h.connections;
    metric(
        "accord_connections_open",
        "gauge",
        "Open HTTP and gateway connections, and those not yet authenticated.",
        &[
            ("", c.open.to_string()),
            ("{state=\"unauthenticated\"}", c.unauthenticated.to_string()),
        ],
    );
    metric(
        "accord_connections_limited_total",
        "counter",
        "Connections refused at accept (per-IP or unauthenticated cap) or cut (slow headers, idle keep-alive, slow body).",
        &[
            ("{reason=\"per_ip\"}", c.refused_per_ip.to_string()),
            (
                "{reason=\"unauthenticated\"}",
                c.refused_unauthenticated.to_string(),
            ),
            ("{reason=\"header_timeout\"}", c.header_timeouts.to_string()),
            ("{reason=\"idle\"}", c.idle_closed.to_string()),
            ("{reason=\"body_timeout\"}", c.body_timeouts.to_string()),
        ],
    );
    metric(
        "accord_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        &[("", h.uptime_secs.to_string())],
    );
    metric(
        "accord_sessions_online",
        "gauge",
        "Gateway sessions registered (connected or parked for resume).",
        &[("", h.sessions.online.to_string())],
    );
    metric(
        "accord_sessions_resumable",
        "gauge",
        "Gateway sessions that can be resumed.",
        &[("", h.sessions.resumable.to_string())],
    );
    metric(
        "accord_actors",
        "gauge",
        "Live actors by kind.",
        &[
            ("{kind=\"guild\"}", h.actors.guild.to_string()),
            ("{kind=\"channel\"}", h.actors.channel.to_string()),
            ("{kind=\"user\"}", h.actors.user.to_string()),
            ("{kind=\"session\"}", h.actors.session.to_string()),
        ],
    );
    metric(
        "accord_mailbox_depth",
        "gauge",
        "Messages queued for actors of a kind and not yet handled (sessions: events not yet written).",
        &[
            ("{kind=\"guild\"}", h.mailboxes.guild.to_string()),
            ("{kind=\"channel\"}", h.mailboxes.channel.to_string()),
            ("{kind=\"user\"}", h.mailboxes.user.to_string()),
            ("{kind=\"session\"}", h.mailboxes.session.to_string()),
        ],
    );
    metric(
        "accord_session_queue_max",
        "gauge",
        "Events queued for the most backed-up gateway session.",
        &[("", h.mailboxes.session_max.to_string())],
    );
    metric(
        "accord_messages_created_total",
        "counter",
        "Messages created since the process started.",
        &[("", h.counters.messages_created.to_string())],
    );
    metric(
        "accord_events_fanned_out_total",
        "counter",
        "Gateway dispatches queued for sessions since the process started (one per recipient).",
        &[("", h.counters.events_fanned_out.to_string())],
    );
    metric(
        "accord_sessions_dropped_backpressure_total",
        "counter",
        "Gateway sessions closed because their bounded queue overflowed (client too slow).",
        &[("", h.counters.sessions_dropped_backpressure.to_string())],
    );
    metric(
        "accord_store_up",
        "gauge",
        "Whether a read from the store succeeded.",
        &[("", u8::from(h.store.ok).to_string())],
    );
    if let Some(ms) = h.store.latency_ms {
        metric(
            "accord_store_read_latency_seconds",
            "gauge",
            "Duration of one cheap store read, measured at scrape time.",
            &[("", format!("{:.6}", ms / 1000.0))],
        );
    }
    if let Some(c) = &h.cluster {
        render_cluster(c, &mut metric);
    }
    out
}

/// The cluster's lines: members, this node's worker id and lease health, NATS round trip.
fn render_cluster(
    c: &crate::cluster::ClusterStatus,
    metric: &mut impl FnMut(&str, &str, &str, &[(&str, String)]),
) {
    let members: Vec<(String, String)> = c
        .members
        .iter()
        .map(|m| {
            (
                format!("{{node=\"{}\",worker_id=\"{}\"}}", m.name, m.worker_id),
                "1".to_string(),
            )
        })
        .collect();
    let members: Vec<(&str, String)> = members
        .iter()
        .map(|(l, v)| (l.as_str(), v.clone()))
        .collect();
    metric(
        "accord_cluster_members",
        "gauge",
        "Live cluster members as this node sees them.",
        &[("", c.members.len().to_string())],
    );
    metric(
        "accord_cluster_member",
        "gauge",
        "One line per live member, with its snowflake worker id.",
        &members,
    );
    metric(
        "accord_cluster_worker_id",
        "gauge",
        "The snowflake worker id this node holds (-1 while its lease is not valid).",
        &[(
            &format!("{{node=\"{}\"}}", c.node),
            c.worker_id.map_or("-1".into(), |w| w.to_string()),
        )],
    );
    metric(
        "accord_cluster_ids_available",
        "gauge",
        "Whether this node may mint ids (its worker-id lease is valid).",
        &[("", u8::from(c.ids_available).to_string())],
    );
    metric(
        "accord_cluster_nats_connected",
        "gauge",
        "Whether this node is connected to NATS.",
        &[("", u8::from(c.nats_connected).to_string())],
    );
    if let Some(ms) = c.nats_rtt_ms {
        metric(
            "accord_cluster_nats_rtt_seconds",
            "gauge",
            "The last NATS round trip (PING/PONG).",
            &[("", format!("{:.6}", ms / 1000.0))],
        );
    }
    if let Some(ms) = c.lease_renew_ms {
        metric(
            "accord_cluster_lease_renew_seconds",
            "gauge",
            "The last lease renewal (JetStream publish and acknowledgement).",
            &[("", format!("{:.6}", ms / 1000.0))],
        );
    }
    metric(
        "accord_cluster_lease_renewals_failed_total",
        "counter",
        "Lease renewals that failed or timed out.",
        &[("", c.lease_renewals_failed.to_string())],
    );
    metric(
        "accord_cluster_leases_lost_total",
        "counter",
        "Worker-id leases lost (lapsed and claimed again).",
        &[("", c.leases_lost.to_string())],
    );
    metric(
        "accord_cluster_ownership_leases",
        "gauge",
        "Guild and channel ownership leases this node holds (the actors it may run).",
        &[("", c.ownership_leases.to_string())],
    );
    metric(
        "accord_cluster_user_subscriptions",
        "gauge",
        "Users whose events subject this node subscribes to (it holds sessions of them).",
        &[("", c.user_subscriptions.to_string())],
    );
    metric(
        "accord_cluster_user_event_frames_received_total",
        "counter",
        "User-scoped event frames received from other nodes.",
        &[("", c.user_event_frames_received.to_string())],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_is_well_formed() {
        let h = Health {
            connections: Default::default(),
            version: "1.2.3",
            uptime_secs: 5,
            started_at: Timestamp::from_millis(0),
            store: StoreHealth {
                backend: "embedded",
                latency_ms: Some(0.5),
                ok: true,
            },
            sessions: Sessions {
                online: 3,
                resumable: 2,
            },
            actors: Actors {
                guild: 1,
                channel: 4,
                user: 2,
                session: 3,
            },
            mailboxes: Mailboxes {
                guild: 7,
                channel: 0,
                user: 0,
                session: 12,
                session_max: 9,
            },
            counters: Counters {
                messages_created: 10,
                events_fanned_out: 40,
                sessions_dropped_backpressure: 2,
            },
            rates: Rates {
                messages_per_sec: 0.0,
                events_per_sec: 0.0,
            },
            history: Vec::new(),
            cluster: Some(crate::cluster::ClusterStatus {
                node: "n1".into(),
                worker_id: Some(7),
                ids_available: true,
                members: vec![crate::cluster::NodeInfo {
                    name: "n1".into(),
                    worker_id: 7,
                    api: "http://127.0.0.1:3001/api".into(),
                    gateway: "ws://127.0.0.1:3001".into(),
                    started_at_ms: 0,
                }],
                nats_connected: true,
                nats_rtt_ms: Some(0.25),
                lease_renew_ms: None,
                lease_renewals_failed: 0,
                leases_lost: 0,
                ownership_leases: 0,
                user_subscriptions: 3,
                user_event_frames_received: 11,
            }),
        };
        let text = render_prometheus(&h);
        assert!(text.contains("accord_cluster_members 1\n"));
        assert!(text.contains("accord_cluster_member{node=\"n1\",worker_id=\"7\"} 1\n"));
        assert!(text.contains("accord_cluster_worker_id{node=\"n1\"} 7\n"));
        assert!(text.contains("accord_cluster_nats_rtt_seconds 0.000250\n"));
        assert!(text.contains("accord_cluster_user_subscriptions 3\n"));
        assert!(text.contains("accord_cluster_user_event_frames_received_total 11\n"));
        assert!(text.contains("accord_build_info{version=\"1.2.3\",backend=\"embedded\"} 1\n"));
        assert!(text.contains("accord_actors{kind=\"channel\"} 4\n"));
        assert!(text.contains("accord_actors{kind=\"user\"} 2\n"));
        assert!(text.contains("accord_mailbox_depth{kind=\"guild\"} 7\n"));
        assert!(text.contains("accord_mailbox_depth{kind=\"session\"} 12\n"));
        assert!(text.contains("accord_session_queue_max 9\n"));
        assert!(text.contains("accord_messages_created_total 10\n"));
        assert!(text.contains("accord_sessions_dropped_backpressure_total 2\n"));
        assert!(text.contains("accord_store_read_latency_seconds 0.000500\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(name.starts_with("accord_"), "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
