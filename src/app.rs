//! Application state shared by every request handler and gateway connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::actors::Services;
use crate::auth::Auth;
use crate::config::LiveConfig;
use crate::store::DynStore;

pub struct AppState {
    pub services: Arc<Services>,
    pub auth: Auth,
    pub gateway: crate::gateway::server::Gateway,
    /// Rate-limit counters: this node's, or each account's home node's in a cluster.
    pub ratelimits: crate::ratelimit::Counters,
    pub cdn: crate::cdn::Cdn,
    /// The address the server actually bound (derives public URLs left empty in config).
    pub bound: SocketAddr,
    /// The CDN's own listener, if it has one (`server.cdn_listen`).
    pub cdn_bound: Option<SocketAddr>,
    pub started: Instant,
    /// Flips to true when the server begins shutting down; sessions watch it to say goodbye.
    pub shutdown: watch::Receiver<bool>,
    /// Open connections per IP and unauthenticated, and what the connection limits cut.
    pub connections: Arc<crate::net::ConnectionTable>,
    /// This node's cluster membership; `None` for a single node.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
}

pub type App = Arc<AppState>;

/// A configured public URL, or the one derived from the bound address when it is left empty.
pub fn public_url(configured: &str, derived: impl FnOnce() -> String) -> String {
    if configured.is_empty() {
        derived()
    } else {
        configured.to_string()
    }
}

impl AppState {
    pub fn config(&self) -> &LiveConfig {
        &self.services.config
    }

    pub fn store(&self) -> &DynStore {
        &self.services.store
    }

    /// Public REST base URL, e.g. `http://127.0.0.1:3001/api`.
    pub fn api_endpoint(&self) -> String {
        let c = self.config().get();
        public_url(&c.server.api_endpoint, || {
            format!("http://{}/api", self.bound)
        })
    }

    /// Public gateway URL without a query string, as `GET /gateway` returns it.
    /// This node's gateway URL. In cluster mode the one this node advertises, so that
    /// `resume_gateway_url` names the node holding the session.
    pub fn gateway_endpoint(&self) -> String {
        if let Some(cluster) = &self.cluster {
            return cluster.gateway_url().to_string();
        }
        let c = self.config().get();
        public_url(&c.server.gateway_endpoint, || {
            format!("ws://{}", self.bound)
        })
    }

    pub fn cdn_endpoint(&self) -> String {
        let c = self.config().get();
        if c.server.cdn_endpoint.is_empty() {
            format!("http://{}", self.cdn_bound.unwrap_or(self.bound))
        } else {
            c.server.cdn_endpoint.clone()
        }
    }
}
