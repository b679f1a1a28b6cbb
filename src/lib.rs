//! Accord: a self-hostable chat server that speaks Discord's REST API and Gateway protocol.
//!
//! [`start`] wires everything: the store, the live configuration, the actors, and one HTTP
//! listener serving the REST API and the gateway WebSocket.

pub mod actors;
pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod automod;
pub mod cdn;
pub mod cluster;
pub mod config;
pub mod error;
pub mod events;
pub mod gateway;
pub mod i18n;
pub mod id;
pub mod loadgen;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod net;
pub mod permissions;
pub mod ratelimit;
pub mod search;
pub mod store;
pub mod telemetry;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use ractor::Actor;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::actors::Services;
use crate::actors::supervisor::Supervisor;
use crate::app::{App, AppState};
use crate::auth::Auth;
use crate::config::LiveConfig;
use crate::id::SnowflakeGenerator;
use crate::store::{Durability, DynStore};

/// Which storage backend to run on.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    /// The embedded store under `data_dir` (default).
    Embedded {
        data_dir: PathBuf,
        durability: Durability,
        /// When `Eventual` writes are fsynced (ignored under `Immediate`).
        eventual_flush: store::EventualFlush,
    },
    /// A ScyllaDB (or Cassandra) cluster.
    Scylla {
        nodes: Vec<String>,
        keyspace: String,
        /// CQL replication map for a keyspace that doesn't exist yet.
        replication: String,
        consistency: config::bootstrap::Consistency,
    },
}

impl StoreChoice {
    /// A Scylla cluster with the default replication (RF 1, for tests and single nodes) and
    /// `LOCAL_QUORUM`.
    pub fn scylla(nodes: Vec<String>, keyspace: String) -> Self {
        Self::Scylla {
            nodes,
            keyspace,
            replication: store::scylla::DEFAULT_REPLICATION.into(),
            consistency: config::bootstrap::Consistency::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub store: StoreChoice,
    /// Overrides `server.listen` from the stored configuration (tests use `127.0.0.1:0`).
    pub listen: Option<String>,
    /// Overrides `server.cdn_listen`: serve the CDN on its own listener.
    pub cdn_listen: Option<String>,
    /// Join a cluster (`None`: a single node; nothing of the cluster starts).
    pub cluster: Option<cluster::ClusterConfig>,
    /// The token-signing key, overriding `ACCORD_SECRET` and `instance.key`: in-process nodes
    /// of one test cluster share it without touching the process environment.
    pub secret: Option<Vec<u8>>,
}

pub async fn open_store(choice: &StoreChoice) -> anyhow::Result<DynStore> {
    Ok(match choice {
        StoreChoice::Embedded {
            data_dir,
            durability,
            eventual_flush,
        } => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            let dir = data_dir.clone();
            let (durability, flush) = (*durability, *eventual_flush);
            let store = tokio::task::spawn_blocking(move || {
                store::embedded::EmbeddedStore::open_with(&dir, durability, flush)
            })
            .await??;
            Arc::new(store)
        }
        StoreChoice::Scylla {
            nodes,
            keyspace,
            replication,
            consistency,
        } => Arc::new(
            store::scylla::ScyllaStore::connect_with(nodes, keyspace, replication, *consistency)
                .await?,
        ),
    })
}

/// The key that signs tokens. `ACCORD_SECRET` (hex, ≥ 32 bytes) wins — a cluster's nodes must
/// share it; otherwise the embedded store keeps one in `<data_dir>/instance.key`, created on
/// first start with owner-only permissions. Kept out of the database on purpose: a database
/// dump or the admin config endpoint must not be enough to forge tokens.
fn instance_secret(choice: &StoreChoice) -> anyhow::Result<Vec<u8>> {
    if let Ok(hex_key) = std::env::var("ACCORD_SECRET") {
        let key = hex::decode(hex_key.trim()).context("ACCORD_SECRET must be hex")?;
        anyhow::ensure!(
            key.len() >= 32,
            "ACCORD_SECRET must be at least 32 bytes (64 hex digits)"
        );
        return Ok(key);
    }
    let random = || {
        let mut key = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        key
    };
    match choice {
        StoreChoice::Embedded { data_dir, .. } => {
            let path = data_dir.join("instance.key");
            match std::fs::read(&path) {
                Ok(key) if key.len() >= 32 => Ok(key),
                Ok(_) => anyhow::bail!(
                    "{} is too short; delete it to make a new one",
                    path.display()
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let key = random();
                    write_private(&path, &key)
                        .with_context(|| format!("writing {}", path.display()))?;
                    Ok(key)
                }
                Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
            }
        }
        StoreChoice::Scylla { .. } => {
            tracing::warn!(
                "ACCORD_SECRET is not set: tokens will not survive a restart or work across nodes"
            );
            Ok(random())
        }
    }
}

fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(data)
}

/// The node's message index: `<data_dir>/search` with the embedded store, in memory with
/// Scylla (each guild is indexed from the store when this node starts its actor), none when
/// `search.enabled` is off.
pub async fn open_search(
    choice: &StoreChoice,
    settings: &config::Search,
) -> anyhow::Result<Option<Arc<search::MessageIndex>>> {
    if !settings.enabled {
        return Ok(None);
    }
    let dir = match choice {
        StoreChoice::Embedded { data_dir, .. } => Some(data_dir.join("search")),
        StoreChoice::Scylla { .. } => None,
    };
    let indexer = search::IndexerSettings {
        queue_capacity: settings.queue_capacity,
        commit_interval_ms: settings.commit_interval_ms,
        writer_memory_bytes: settings.writer_memory_mb.saturating_mul(1 << 20),
    };
    let index =
        tokio::task::spawn_blocking(move || search::MessageIndex::open(dir.as_deref(), indexer))
            .await??;
    Ok(Some(index))
}

/// `accord search reindex`: rebuilds the message index of an embedded store's data directory
/// from the store (the server must be stopped); returns (guilds, messages).
pub async fn reindex_search(choice: &StoreChoice) -> anyhow::Result<(u64, u64)> {
    if matches!(choice, StoreChoice::Scylla { .. }) {
        anyhow::bail!(
            "with Scylla each node keeps its index in memory and builds it from the store itself"
        );
    }
    let store = open_store(choice).await?;
    let config = LiveConfig::load_or_init(store.as_ref()).await?;
    let mut settings = config.get().search.clone();
    settings.enabled = true;
    let index = open_search(choice, &settings)
        .await?
        .context("search index")?;
    let counts = search::reindex::reindex_all(&store, &index).await?;
    drop(index);
    store.flush().await?;
    Ok(counts)
}

/// Where CDN files live: `cdn.root` when set, else `<data_dir>/cdn` (embedded) or `./cdn`.
fn cdn_root(choice: &StoreChoice, configured: &str) -> PathBuf {
    if !configured.is_empty() {
        return PathBuf::from(configured);
    }
    match choice {
        StoreChoice::Embedded { data_dir, .. } => data_dir.join("cdn"),
        StoreChoice::Scylla { .. } => PathBuf::from("./cdn"),
    }
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    /// The CDN's own listener, when `server.cdn_listen` asked for one.
    pub cdn_addr: Option<SocketAddr>,
    pub app: App,
    shutdown: watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    cdn_http: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts the server and returns once it listens.
pub async fn start(options: ServeOptions) -> anyhow::Result<Server> {
    if let Some(c) = &options.cluster {
        if matches!(options.store, StoreChoice::Embedded { .. }) {
            return Err(cluster::ClusterError::EmbeddedStore.into());
        }
        c.validate()?;
    }
    let store = open_store(&options.store).await?;
    tracing::info!(backend = store.backend_name(), "store open");
    let config = Arc::new(LiveConfig::load_or_init(store.as_ref()).await?);
    let secret = match options.secret {
        Some(key) => key,
        None => instance_secret(&options.store)?,
    };
    let listen = options
        .listen
        .unwrap_or_else(|| config.get().server.listen.clone());
    let listener = TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // Cluster mode joins once the address it advertises is known, and mints ids only under the
    // worker id it leased; a single node uses its configured node id.
    let cluster = match options.cluster {
        Some(c) => {
            let server = &config.get().server;
            let api = app::public_url(&server.api_endpoint, || format!("http://{addr}/api"));
            let gateway = app::public_url(&server.gateway_endpoint, || format!("ws://{addr}"));
            Some(cluster::Cluster::join(c, api, gateway).await?)
        }
        None => None,
    };
    let ids = match &cluster {
        Some(c) => SnowflakeGenerator::leased(c.id_lease()),
        None => {
            let node = config.get().general.node_id;
            SnowflakeGenerator::new(node, (std::process::id() % 32) as u8)?
        }
    };
    let services = Services::new(config.clone(), store.clone(), ids);
    if let Some(c) = &cluster {
        services.set_ownership(c.ownership());
    }
    if let Some(index) = open_search(&options.store, &config.get().search).await? {
        let _ = services.search.set(index);
    }
    let (supervisor, _) = Actor::spawn(None, Supervisor, Arc::downgrade(&services)).await?;
    services.registry.set_supervisor(supervisor.get_cell());
    let cdn_listen = options
        .cdn_listen
        .unwrap_or_else(|| config.get().server.cdn_listen.clone());
    let cdn_listener = match cdn_listen.trim() {
        "" => None,
        at => Some(
            TcpListener::bind(at)
                .await
                .with_context(|| format!("binding the CDN listener {at}"))?,
        ),
    };
    let cdn_addr = cdn_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    if let Some(c) = &cluster {
        let remote = actors::remote::Remote::start(
            &services,
            c.client().clone(),
            c.node_name().to_string(),
            shutdown_rx.clone(),
        )
        .await?;
        let _ = services.remote.set(remote);
        cluster::config_sync::spawn(
            c.client().clone(),
            c.node_name().to_string(),
            services.config.clone(),
            services.store.clone(),
            shutdown_rx.clone(),
        )
        .await
        .context("subscribing to configuration changes")?;
    }
    let ratelimits = match &cluster {
        Some(c) => {
            ratelimit::Counters::clustered(c.client().clone(), c.ownership(), shutdown_rx.clone())
                .await
                .context("subscribing to rate-limit count requests")?
        }
        None => ratelimit::Counters::default(),
    };
    let app: App = Arc::new(AppState {
        auth: Auth::new(secret, store.clone(), config.clone()),
        services,
        gateway: Default::default(),
        ratelimits,
        cdn: cdn::Cdn::new(cdn_root(&options.store, &config.get().cdn.root)),
        bound: addr,
        cdn_bound: cdn_addr,
        started: Instant::now(),
        shutdown: shutdown_rx.clone(),
        connections: Default::default(),
        cluster,
    });
    memory::spawn(app.services.clone(), shutdown_rx.clone());
    actors::polls::spawn(&app.services, shutdown_rx.clone()).await;
    let router = api::router(app.clone());
    // Cluster mode: answer the REST requests other nodes forward here, with this same router.
    if let Some(c) = &app.cluster {
        let router = router.clone();
        cluster::forward::spawn_responder(
            c.client().clone(),
            c.node_name().to_string(),
            move |request| api::forward::serve_forwarded(router.clone(), request),
            shutdown_rx.clone(),
        )
        .await?;
    }
    let http = serve_http(&app, listener, router, shutdown_rx.clone());
    tracing::info!(%addr, "listening");
    let cdn_http = cdn_listener.map(|l| {
        tracing::info!(addr = ?cdn_addr, "CDN listening");
        serve_http(&app, l, api::cdn_router(app.clone()), shutdown_rx)
    });
    Ok(Server {
        addr,
        cdn_addr,
        app,
        shutdown,
        http,
        cdn_http,
    })
}

/// Serves `router` on `listener` until `stop` turns true, then drains in-flight requests. Both
/// listeners share one connection table: the per-IP and unauthenticated limits count across them.
fn serve_http(
    app: &App,
    listener: TcpListener,
    router: axum::Router,
    stop: watch::Receiver<bool>,
) -> JoinHandle<std::io::Result<()>> {
    net::serve(
        listener,
        router,
        app.services.config.clone(),
        app.connections.clone(),
        stop,
    )
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests, tells gateway sessions to reconnect, stops the actors and
    /// makes every acknowledged write durable.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for http in std::iter::once(self.http).chain(self.cdn_http) {
            match tokio::time::timeout(std::time::Duration::from_secs(10), http).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::warn!(error = %e, "http server error during shutdown"),
                Ok(Err(e)) => tracing::warn!(error = %e, "http task failed"),
                Err(_) => tracing::warn!("http server did not drain in 10 s"),
            }
        }
        let wait = Some(std::time::Duration::from_secs(5));
        for cell in self.app.services.registry.all_cells() {
            let _ = cell.stop_and_wait(Some("shutdown".into()), wait).await;
        }
        self.app.store().flush().await?;
        if let Some(cluster) = &self.app.cluster {
            cluster.leave().await;
        }
        // Sessions and actors hold the services; wait (bounded) for them to let go, so the
        // store is closed when this returns and the data directory can be reopened at once.
        let services = self.app.services.clone();
        let app = self.app;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while Arc::strong_count(&app) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        drop(app);
        while Arc::strong_count(&services) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        if Arc::strong_count(&services) > 1 {
            tracing::warn!("some tasks still hold the store after 5 s");
        }
        drop(services);
        tracing::info!("shut down cleanly");
        Ok(())
    }
}
