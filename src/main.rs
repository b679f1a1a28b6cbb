//! The `accord` command: `accord serve`, `accord admin grant`, `accord config defaults`,
//! `accord loadgen`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use accord::cluster::config::ClusterOverrides;
use accord::config::bootstrap::{Bootstrap, Consistency, DatabaseKind, Overrides};
use accord::store::Durability;
use accord::{ServeOptions, StoreChoice};

/// mimalloc instead of glibc's malloc when built with `--features mimalloc`: see the comment on
/// the dependency in Cargo.toml.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "accord",
    version,
    about = "A self-hostable, Discord-compatible chat server"
)]
struct Cli {
    /// Log lines as `pretty` (human-readable) or `json` (one object a line, for production);
    /// `RUST_LOG` sets what is logged.
    #[arg(
        long,
        global = true,
        env = "ACCORD_LOG_FORMAT",
        value_enum,
        default_value = "pretty"
    )]
    log_format: accord::telemetry::LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// Which database: the bootstrap file's `[database]` section (see `config::bootstrap`), with
/// these flags on top. Unset flags leave the file's value (or the default).
#[derive(clap::Args, Clone)]
struct StoreArgs {
    /// Bootstrap file with the `[database]` section [default: ./accord.toml when it exists].
    #[arg(long, env = "ACCORD_CONFIG")]
    config: Option<PathBuf>,
    /// `embedded` (default) or `scylla`.
    #[arg(long, env = "ACCORD_DATABASE_KIND", value_enum)]
    database: Option<DatabaseKind>,
    /// Directory of the embedded store [default: ./data].
    #[arg(long, env = "ACCORD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// How the embedded store acknowledges writes [default: immediate].
    #[arg(long, env = "ACCORD_DURABILITY", value_enum)]
    durability: Option<Durability>,
    /// With `--durability eventual`: longest time, in ms, before an acknowledged write is
    /// fsynced (a crash or power failure loses at most about this much) [default: 100].
    #[arg(long, env = "ACCORD_EVENTUAL_FLUSH_MS")]
    eventual_flush_ms: Option<u64>,
    /// ScyllaDB/Cassandra nodes (comma-separated `host:port`); selects Scylla unless
    /// `--database` says otherwise.
    #[arg(long, env = "ACCORD_SCYLLA_NODES", value_delimiter = ',')]
    scylla_nodes: Vec<String>,
    /// Keyspace [default: accord].
    #[arg(long, env = "ACCORD_SCYLLA_KEYSPACE")]
    scylla_keyspace: Option<String>,
    /// Consistency of reads and writes [default: local-quorum].
    #[arg(long, env = "ACCORD_SCYLLA_CONSISTENCY", value_enum)]
    scylla_consistency: Option<Consistency>,
}

impl StoreArgs {
    fn choice(&self) -> anyhow::Result<StoreChoice> {
        self.choice_in(Bootstrap::load(self.config.as_deref())?)
    }

    fn choice_in(&self, file: Bootstrap) -> anyhow::Result<StoreChoice> {
        file.database
            .with(Overrides {
                kind: self.database,
                data_dir: self.data_dir.clone(),
                durability: self.durability,
                eventual_flush_ms: self.eventual_flush_ms,
                nodes: self.scylla_nodes.clone(),
                keyspace: self.scylla_keyspace.clone(),
                consistency: self.scylla_consistency,
            })
            .choice()
    }
}

/// Cluster mode: the bootstrap file's `[cluster]` section with these flags on top. Without
/// NATS urls (`--cluster`) the node runs alone and never connects to NATS.
#[derive(clap::Args, Clone)]
struct ClusterArgs {
    /// Join a cluster through these NATS servers (comma-separated `nats://host:4222`).
    #[arg(long = "cluster", env = "ACCORD_CLUSTER", value_delimiter = ',')]
    nats: Vec<String>,
    /// This node's name, unique among live nodes (A-Z a-z 0-9 _ -).
    #[arg(long, env = "ACCORD_NODE_NAME")]
    node_name: Option<String>,
    /// REST base URL other nodes and clients reach this node at [default: from the bound
    /// address].
    #[arg(long, env = "ACCORD_ADVERTISE_API")]
    advertise_api: Option<String>,
    /// Gateway URL of this node [default: from the bound address].
    #[arg(long, env = "ACCORD_ADVERTISE_GATEWAY")]
    advertise_gateway: Option<String>,
    /// JetStream key-value bucket of the cluster's leases [default: accord].
    #[arg(long, env = "ACCORD_CLUSTER_BUCKET")]
    cluster_bucket: Option<String>,
    /// Lease time-to-live in ms; leases are renewed every third of it [default: 10000].
    #[arg(long, env = "ACCORD_LEASE_TTL_MS")]
    lease_ttl_ms: Option<u64>,
}

impl ClusterArgs {
    fn config(&self, file: &Bootstrap) -> Option<accord::cluster::ClusterConfig> {
        let c = file.cluster.clone().with(ClusterOverrides {
            nats: self.nats.clone(),
            node_name: self.node_name.clone(),
            advertise_api: self.advertise_api.clone(),
            advertise_gateway: self.advertise_gateway.clone(),
            bucket: self.cluster_bucket.clone(),
            lease_ttl_ms: self.lease_ttl_ms,
        });
        c.enabled().then_some(c)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (REST API and gateway on one port).
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Listen address; overrides `server.listen` of the stored configuration.
        #[arg(long, env = "ACCORD_LISTEN")]
        listen: Option<String>,
        /// Serve the CDN on its own address; overrides `server.cdn_listen`.
        #[arg(long, env = "ACCORD_CDN_LISTEN")]
        cdn_listen: Option<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Instance administration from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Message search maintenance.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Load generator: scenarios against a running server (loopback only), and the raw
    /// broadcast baseline server. See BENCHMARKS.md.
    Loadgen {
        #[command(flatten)]
        common: accord::loadgen::Common,
        #[command(subcommand)]
        command: accord::loadgen::Command,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make an account an instance administrator (by email or user id), re-enabling it if it was
    /// disabled. With the embedded store, run it while the server is stopped.
    Grant {
        #[command(flatten)]
        store: StoreArgs,
        account: String,
    },
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Rebuild the message index (`<data_dir>/search`) from the store. Run it while the server
    /// is stopped (the server holds the index). Scylla nodes keep their index in memory and
    /// rebuild it themselves.
    Reindex {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the built-in defaults as TOML (the content of `config/default.toml`).
    Defaults,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    accord::telemetry::init(cli.log_format)?;
    match cli.command {
        Command::Serve {
            store,
            listen,
            cdn_listen,
            cluster,
        } => {
            let file = Bootstrap::load(store.config.as_deref())?;
            serve(ServeOptions {
                cluster: cluster.config(&file),
                secret: None,
                store: store.choice_in(file)?,
                listen,
                cdn_listen,
            })
            .await
        }
        Command::Admin {
            command: AdminCommand::Grant { store, account },
        } => grant(store, &account).await,
        Command::Search {
            command: SearchCommand::Reindex { store },
        } => {
            let started = std::time::Instant::now();
            let (guilds, messages) = accord::reindex_search(&store.choice()?).await?;
            println!(
                "indexed {messages} messages of {guilds} guilds in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Defaults,
        } => {
            print!("{}", accord::config::Config::defaults_toml()?);
            Ok(())
        }
        Command::Loadgen { common, command } => accord::loadgen::cli(common, command).await,
    }
}

async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let server = accord::start(options).await?;
    let cdn = server
        .cdn_addr
        .map_or_else(|| server.url(), |a| format!("http://{a}"));
    println!(
        "Accord is serving {} (API: {}/api, gateway: ws://{}, CDN: {cdn})",
        server.url(),
        server.url(),
        server.addr
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

async fn grant(store: StoreArgs, account: &str) -> anyhow::Result<()> {
    let store = accord::open_store(&store.choice()?).await?;
    let user = if account.contains('@') {
        store.user_by_email(&account.to_lowercase()).await?
    } else {
        store
            .get_user(account.parse().context("not an email or a user id")?)
            .await?
    };
    let mut user = user.context("no such account")?;
    user.admin = true;
    // Also the way back in for an administrator whose account was disabled.
    let was_disabled = std::mem::replace(&mut user.disabled, false);
    store.update_user(&user).await?;
    store.flush().await?;
    println!(
        "{} ({}) is now an instance administrator{}",
        user.username,
        user.id,
        if was_disabled {
            " (the account was disabled and is enabled again)"
        } else {
            ""
        }
    );
    Ok(())
}
