//! The bootstrap file (`accord.toml`): the one thing that must be known before the database is
//! open — which database. Everything else is configuration stored *in* the database
//! ([`super::LiveConfig`]); this file only says where that is.
//!
//! ```toml
//! [database]
//! kind = "scylla"                 # or "embedded" (the default)
//! nodes = ["10.0.0.1:9042", "10.0.0.2:9042"]
//! keyspace = "accord"
//! replication = "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"
//! consistency = "local_quorum"
//! # embedded only:
//! data_dir = "./data"
//! durability = "immediate"
//!
//! [cluster]                       # see `cluster::config`; absent: a single node
//! nats = ["nats://10.0.0.5:4222"]
//! node_name = "n1"
//! ```
//!
//! Command-line flags and their `ACCORD_*` variables override the file. Naming Scylla nodes
//! (`--scylla-nodes` / `ACCORD_SCYLLA_NODES`) without a kind selects Scylla, as it always has.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::StoreChoice;
use crate::store::scylla::DEFAULT_REPLICATION;
use crate::store::{Durability, EventualFlush};

/// The file read when `--config` is not given (absent is fine: defaults apply).
pub const DEFAULT_PATH: &str = "accord.toml";

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Bootstrap {
    pub database: Database,
    /// Cluster mode (off unless NATS urls are given).
    pub cluster: crate::cluster::ClusterConfig,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    #[default]
    Embedded,
    Scylla,
}

/// CQL consistency for reads and writes (lightweight transactions use the matching serial
/// level: `LOCAL_SERIAL` for the `local_*` levels, `SERIAL` otherwise).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    One,
    LocalOne,
    Quorum,
    #[default]
    LocalQuorum,
    All,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    pub kind: DatabaseKind,
    pub data_dir: PathBuf,
    pub durability: Durability,
    /// With eventual durability: the most milliseconds an acknowledged write waits for fsync.
    pub eventual_flush_ms: u64,
    pub nodes: Vec<String>,
    pub keyspace: String,
    /// CQL replication map used when the keyspace is created.
    pub replication: String,
    pub consistency: Consistency,
}

impl Default for Database {
    fn default() -> Self {
        Self {
            kind: DatabaseKind::Embedded,
            data_dir: PathBuf::from("./data"),
            durability: Durability::Immediate,
            eventual_flush_ms: EventualFlush::DEFAULT_INTERVAL_MS,
            nodes: Vec::new(),
            keyspace: "accord".into(),
            replication: DEFAULT_REPLICATION.into(),
            consistency: Consistency::LocalQuorum,
        }
    }
}

/// What the command line said; `None` leaves the file's (or the default) value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub kind: Option<DatabaseKind>,
    pub data_dir: Option<PathBuf>,
    pub durability: Option<Durability>,
    pub eventual_flush_ms: Option<u64>,
    pub nodes: Vec<String>,
    pub keyspace: Option<String>,
    pub consistency: Option<Consistency>,
}

impl Bootstrap {
    /// Reads `path`, or `accord.toml` in the working directory when no path is given (a missing
    /// default file means defaults; a missing explicit one is an error).
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_PATH), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).with_context(|| format!("reading {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }
}

impl Database {
    /// The file's settings with the command line's on top.
    pub fn with(mut self, o: Overrides) -> Self {
        if !o.nodes.is_empty() {
            self.nodes = o.nodes;
            // Nodes on the command line mean Scylla unless a kind says otherwise.
            if o.kind.is_none() {
                self.kind = DatabaseKind::Scylla;
            }
        }
        if let Some(k) = o.kind {
            self.kind = k;
        }
        if let Some(d) = o.data_dir {
            self.data_dir = d;
        }
        if let Some(d) = o.durability {
            self.durability = d;
        }
        if let Some(ms) = o.eventual_flush_ms {
            self.eventual_flush_ms = ms;
        }
        if let Some(k) = o.keyspace {
            self.keyspace = k;
        }
        if let Some(c) = o.consistency {
            self.consistency = c;
        }
        self
    }

    pub fn choice(&self) -> anyhow::Result<StoreChoice> {
        Ok(match self.kind {
            DatabaseKind::Embedded => StoreChoice::Embedded {
                data_dir: self.data_dir.clone(),
                durability: self.durability,
                eventual_flush: EventualFlush::every_ms(self.eventual_flush_ms),
            },
            DatabaseKind::Scylla => {
                anyhow::ensure!(
                    !self.nodes.is_empty(),
                    "database.kind = \"scylla\" needs database.nodes (or --scylla-nodes)"
                );
                StoreChoice::Scylla {
                    nodes: self.nodes.clone(),
                    keyspace: self.keyspace.clone(),
                    replication: self.replication.clone(),
                    consistency: self.consistency,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_store_in_data() {
        let db = Bootstrap::parse("").unwrap().database;
        assert_eq!(db, Database::default());
        assert!(matches!(
            db.choice().unwrap(),
            StoreChoice::Embedded { ref data_dir, durability: Durability::Immediate, .. }
                if data_dir == Path::new("./data")
        ));
    }

    #[test]
    fn the_file_selects_scylla_and_flags_override_it() {
        let file = Bootstrap::parse(
            r#"
            [database]
            kind = "scylla"
            nodes = ["10.0.0.1:9042"]
            keyspace = "prod"
            consistency = "quorum"
            "#,
        )
        .unwrap()
        .database;
        let StoreChoice::Scylla {
            nodes,
            keyspace,
            consistency,
            ..
        } = file.clone().choice().unwrap()
        else {
            panic!("scylla expected");
        };
        assert_eq!(nodes, ["10.0.0.1:9042"]);
        assert_eq!(keyspace, "prod");
        assert_eq!(consistency, Consistency::Quorum);
        // A flag wins over the file.
        let forced = file.with(Overrides {
            kind: Some(DatabaseKind::Embedded),
            data_dir: Some("/srv/accord".into()),
            ..Overrides::default()
        });
        assert!(matches!(
            forced.choice().unwrap(),
            StoreChoice::Embedded { .. }
        ));
    }

    #[test]
    fn nodes_on_the_command_line_mean_scylla() {
        let db = Database::default().with(Overrides {
            nodes: vec!["127.0.0.1:9042".into()],
            ..Overrides::default()
        });
        assert_eq!(db.kind, DatabaseKind::Scylla);
        assert!(
            Database {
                kind: DatabaseKind::Scylla,
                ..Database::default()
            }
            .choice()
            .is_err(),
            "scylla without nodes is refused"
        );
    }

    #[test]
    fn the_cluster_section_is_read() {
        let file = Bootstrap::parse(
            r#"
            [cluster]
            nats = ["nats://10.0.0.5:4222"]
            node_name = "n2"
            advertise_api = "http://10.0.0.2:3001/api"
            lease_ttl_ms = 5000
            "#,
        )
        .unwrap();
        assert!(file.cluster.enabled());
        assert_eq!(file.cluster.node_name, "n2");
        assert_eq!(file.cluster.lease_ttl_ms, 5000);
        assert_eq!(file.cluster.bucket, "accord");
        assert!(!Bootstrap::parse("").unwrap().cluster.enabled());
        assert!(Bootstrap::parse("[cluster]\nnode = \"n1\"").is_err());
    }

    #[test]
    fn typos_are_refused_not_ignored() {
        assert!(Bootstrap::parse("[database]\nknd = \"scylla\"").is_err());
        assert!(Bootstrap::parse("[database]\nkind = \"postgres\"").is_err());
    }
}
