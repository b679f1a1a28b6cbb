//! `[cluster]` of the bootstrap file (`accord.toml`) and the `accord serve --cluster …` flags:
//! read before anything starts, like `[database]`, because they decide what starts.
//!
//! ```toml
//! [cluster]
//! nats = ["nats://10.0.0.5:4222"]          # empty (the default): a single node, no NATS
//! node_name = "n1"                         # unique per node; a NATS key token
//! advertise_api = "http://10.0.0.1:3001/api"
//! advertise_gateway = "ws://10.0.0.1:3001"
//! bucket = "accord"                        # JetStream key-value bucket of the leases
//! lease_ttl_ms = 10000
//! ```

use std::time::Duration;

use serde::Deserialize;

use super::ClusterError;

/// Where the cluster is and who this node is in it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// NATS server URLs (`nats://host:4222`). Empty: no cluster, nothing of it starts.
    pub nats: Vec<String>,
    /// This node's name: unique among live nodes (a second node claiming a live name is
    /// refused), made of `A-Z a-z 0-9 _ -`.
    pub node_name: String,
    /// The REST base URL other nodes and clients reach this node at; empty: derived from the
    /// bound address (fine on one host, wrong behind NAT).
    pub advertise_api: String,
    /// The gateway URL of this node (`resume_gateway_url`); empty: derived like `advertise_api`.
    pub advertise_gateway: String,
    /// The JetStream key-value bucket holding node, worker-id and ownership leases.
    pub bucket: String,
    /// How long a lease lives without renewal. Renewed every third of it; a node that misses
    /// renewals for this long is dropped and its worker id may be reused.
    pub lease_ttl_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            nats: Vec::new(),
            node_name: String::new(),
            advertise_api: String::new(),
            advertise_gateway: String::new(),
            bucket: "accord".into(),
            lease_ttl_ms: 10_000,
        }
    }
}

/// The shortest TTL accepted: renewals every TTL/3 must fit several NATS round trips.
pub const MIN_LEASE_TTL_MS: u64 = 1_000;

/// What the command line said; `None`/empty leaves the file's value.
#[derive(Debug, Clone, Default)]
pub struct ClusterOverrides {
    pub nats: Vec<String>,
    pub node_name: Option<String>,
    pub advertise_api: Option<String>,
    pub advertise_gateway: Option<String>,
    pub bucket: Option<String>,
    pub lease_ttl_ms: Option<u64>,
}

impl ClusterConfig {
    /// Whether this node runs in cluster mode.
    pub fn enabled(&self) -> bool {
        !self.nats.is_empty()
    }

    /// The file's settings with the command line's on top.
    pub fn with(mut self, o: ClusterOverrides) -> Self {
        if !o.nats.is_empty() {
            self.nats = o.nats;
        }
        let set = |field: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut self.node_name, o.node_name);
        set(&mut self.advertise_api, o.advertise_api);
        set(&mut self.advertise_gateway, o.advertise_gateway);
        set(&mut self.bucket, o.bucket);
        if let Some(ms) = o.lease_ttl_ms {
            self.lease_ttl_ms = ms;
        }
        self
    }

    /// Refuses settings that could only fail later, with a message naming the setting.
    pub fn validate(&self) -> Result<(), ClusterError> {
        let token = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !token(&self.node_name) {
            return Err(ClusterError::Config(format!(
                "cluster.node_name (--node-name) must be 1–64 of A-Z a-z 0-9 _ - (got {:?})",
                self.node_name
            )));
        }
        if !token(&self.bucket) {
            return Err(ClusterError::Config(format!(
                "cluster.bucket (--cluster-bucket) must be 1–64 of A-Z a-z 0-9 _ - (got {:?})",
                self.bucket
            )));
        }
        if self.lease_ttl_ms < MIN_LEASE_TTL_MS {
            return Err(ClusterError::Config(format!(
                "cluster.lease_ttl_ms (--lease-ttl-ms) must be at least {MIN_LEASE_TTL_MS}"
            )));
        }
        Ok(())
    }

    pub fn lease_ttl(&self) -> Duration {
        Duration::from_millis(self.lease_ttl_ms)
    }

    /// How often leases are renewed: a third of the TTL, so two renewals may fail in a row
    /// before a lease runs out.
    pub fn renew_every(&self) -> Duration {
        self.lease_ttl() / 3
    }

    /// How long after a successful renewal this node still trusts its leases: the TTL less a
    /// margin (a tenth, at least 200 ms) for clock drift between it and the NATS server and
    /// for the time the renewal took on the wire.
    pub fn trust_for(&self) -> Duration {
        let ttl = self.lease_ttl();
        ttl.saturating_sub((ttl / 10).max(Duration::from_millis(200)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_off_and_flags_override_the_file() {
        let c = ClusterConfig::default();
        assert!(!c.enabled());
        let c = c.with(ClusterOverrides {
            nats: vec!["nats://127.0.0.1:4222".into()],
            node_name: Some("n1".into()),
            lease_ttl_ms: Some(3_000),
            ..ClusterOverrides::default()
        });
        assert!(c.enabled());
        assert_eq!(c.node_name, "n1");
        assert_eq!(c.renew_every(), Duration::from_millis(1_000));
        assert_eq!(c.trust_for(), Duration::from_millis(2_700));
        c.validate().unwrap();
    }

    #[test]
    fn bad_names_and_short_ttls_are_refused() {
        let base = ClusterConfig {
            nats: vec!["nats://127.0.0.1:4222".into()],
            node_name: "n1".into(),
            ..ClusterConfig::default()
        };
        for name in ["", "a.b", "a b", "n*", &"x".repeat(65)] {
            let c = ClusterConfig {
                node_name: name.to_string(),
                ..base.clone()
            };
            assert!(c.validate().is_err(), "{name:?} accepted");
        }
        let c = ClusterConfig {
            lease_ttl_ms: 500,
            ..base
        };
        assert!(c.validate().is_err());
    }
}
