//! Who may hold a connection, and for how long: per-IP and unauthenticated connection counts,
//! and the per-connection clock that cuts slow or idle clients.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde::Serialize;

use crate::config::Server;

/// Every open connection of the HTTP listeners (the gateway's included: an upgraded socket
/// keeps its entry until it closes), counted per client IP and by whether it has authenticated.
pub struct ConnectionTable {
    per_ip: DashMap<IpAddr, u32>,
    unauthenticated: AtomicUsize,
    open: AtomicUsize,
    epoch: Instant,
    accepted: AtomicU64,
    refused_per_ip: AtomicU64,
    refused_unauthenticated: AtomicU64,
    header_timeouts: AtomicU64,
    idle_closed: AtomicU64,
    body_timeouts: AtomicU64,
}

/// Counters since start, for `/metrics`, the health page and the hostile-client tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionStats {
    pub open: usize,
    pub unauthenticated: usize,
    pub accepted: u64,
    pub refused_per_ip: u64,
    pub refused_unauthenticated: u64,
    pub header_timeouts: u64,
    pub idle_closed: u64,
    pub body_timeouts: u64,
}

/// Why a new connection was turned away at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `server.max_connections_per_ip` reached for its address.
    PerIp,
    /// `server.max_unauthenticated_connections` reached.
    Unauthenticated,
}

impl Default for ConnectionTable {
    fn default() -> Self {
        Self {
            per_ip: DashMap::new(),
            unauthenticated: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            epoch: Instant::now(),
            accepted: AtomicU64::new(0),
            refused_per_ip: AtomicU64::new(0),
            refused_unauthenticated: AtomicU64::new(0),
            header_timeouts: AtomicU64::new(0),
            idle_closed: AtomicU64::new(0),
            body_timeouts: AtomicU64::new(0),
        }
    }
}

impl ConnectionTable {
    pub fn stats(&self) -> ConnectionStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ConnectionStats {
            open: self.open.load(Ordering::Relaxed),
            unauthenticated: self.unauthenticated.load(Ordering::Relaxed),
            accepted: get(&self.accepted),
            refused_per_ip: get(&self.refused_per_ip),
            refused_unauthenticated: get(&self.refused_unauthenticated),
            header_timeouts: get(&self.header_timeouts),
            idle_closed: get(&self.idle_closed),
            body_timeouts: get(&self.body_timeouts),
        }
    }

    /// Open connections from `ip` (all of them, whether the limit applies to it or not).
    pub fn open_from(&self, ip: IpAddr) -> u32 {
        self.per_ip.get(&ip.to_canonical()).map_or(0, |n| *n)
    }

    pub(crate) fn count_body_timeout(&self) {
        self.body_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Milliseconds since the table was made, plus one: 0 is free to mean "never".
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn instant_at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms.saturating_sub(1))
    }

    /// Takes a place for a new connection from `ip`, or says why there is none. Every
    /// connection is counted (so a live change of the limits is exact at once); the limits are
    /// the configuration's at this moment.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, server: &Server) -> Result<Arc<ConnState>, Refusal> {
        let ip = ip.to_canonical();
        let max_unauthenticated = server.max_unauthenticated_connections as usize;
        let before = self.unauthenticated.fetch_add(1, Ordering::AcqRel);
        if max_unauthenticated != 0 && before >= max_unauthenticated {
            self.unauthenticated.fetch_sub(1, Ordering::AcqRel);
            self.refused_unauthenticated.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Unauthenticated);
        }
        let cap = server.max_connections_per_ip;
        let enforce = cap != 0 && !(server.per_ip_limit_exempt_loopback && ip.is_loopback());
        {
            let mut count = self.per_ip.entry(ip).or_insert(0);
            // `cap > 0` here, so a refused address already had an entry: none is left at 0.
            if enforce && *count >= cap {
                drop(count);
                self.unauthenticated.fetch_sub(1, Ordering::AcqRel);
                self.refused_per_ip.fetch_add(1, Ordering::Relaxed);
                return Err(Refusal::PerIp);
            }
            *count += 1;
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        self.accepted.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(ConnState {
            table: self.clone(),
            ip,
            authenticated: AtomicBool::new(false),
            in_flight: AtomicU32::new(0),
            served: AtomicU32::new(0),
            idle_since_ms: AtomicU64::new(self.now_ms()),
            head_started_ms: AtomicU64::new(0),
            request_ended: tokio::sync::Notify::new(),
        }))
    }
}

/// One accepted connection's place in the table and its request clock. Shared by the socket
/// (so the place is held exactly as long as the socket, through a WebSocket upgrade too) and by
/// each request's extensions (so authentication can be recorded).
pub struct ConnState {
    table: Arc<ConnectionTable>,
    ip: IpAddr,
    authenticated: AtomicBool,
    in_flight: AtomicU32,
    /// Requests answered on this connection.
    served: AtomicU32,
    /// When the connection last became idle (accepted, or a response done); see `now_ms`.
    idle_since_ms: AtomicU64,
    /// When the first byte after `idle_since_ms` arrived (0: none yet).
    head_started_ms: AtomicU64,
    /// Woken when a request ends, so the clock re-reads its deadline (it slept on a longer
    /// one while the request was in progress).
    pub(super) request_ended: tokio::sync::Notify,
}

/// Why the clock cut a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// A request's headers (or a new connection's first request) took too long.
    HeaderTimeout,
    /// Idle between requests for too long.
    Idle,
}

impl ConnState {
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The connection made an authenticated request or identified: it no longer counts against
    /// `server.max_unauthenticated_connections`.
    pub fn authenticated(&self) {
        if !self.authenticated.swap(true, Ordering::AcqRel) {
            self.table.unauthenticated.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Bytes arrived on the socket.
    pub(super) fn on_read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_started_ms.load(Ordering::Relaxed) == 0
        {
            self.head_started_ms
                .store(self.table.now_ms(), Ordering::Relaxed);
        }
    }

    pub(super) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn request_done(&self) {
        self.served.fetch_add(1, Ordering::Relaxed);
        self.idle_since_ms
            .store(self.table.now_ms(), Ordering::Relaxed);
        self.head_started_ms.store(0, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.request_ended.notify_one();
    }

    /// `Err` when the connection must be closed now; otherwise when to look again. A request in
    /// progress is the request timeout's business (and its body the body timeout's).
    pub(super) fn check(&self, server: &Server) -> Result<Instant, Cut> {
        let now = self.table.now_ms();
        let header = server.header_read_timeout_ms.max(1);
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Ok(self.table.instant_at(now + header));
        }
        let head = self.head_started_ms.load(Ordering::Relaxed);
        let (deadline, cut) = if head != 0 {
            (head + header, Cut::HeaderTimeout)
        } else if self.served.load(Ordering::Relaxed) == 0 {
            // A new connection that has sent nothing is a slow header too.
            (
                self.idle_since_ms.load(Ordering::Relaxed) + header,
                Cut::HeaderTimeout,
            )
        } else {
            (
                self.idle_since_ms.load(Ordering::Relaxed) + server.keepalive_idle_timeout_ms,
                Cut::Idle,
            )
        };
        if now >= deadline {
            let counter = match cut {
                Cut::HeaderTimeout => &self.table.header_timeouts,
                Cut::Idle => &self.table.idle_closed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            Err(cut)
        } else {
            Ok(self.table.instant_at(deadline))
        }
    }
}

impl Drop for ConnState {
    fn drop(&mut self) {
        if !self.authenticated.load(Ordering::Acquire) {
            self.table.unauthenticated.fetch_sub(1, Ordering::AcqRel);
        }
        self.table.open.fetch_sub(1, Ordering::Relaxed);
        if let dashmap::Entry::Occupied(mut e) = self.table.per_ip.entry(self.ip) {
            *e.get_mut() = e.get().saturating_sub(1);
            if *e.get() == 0 {
                e.remove();
            }
        }
    }
}

/// A request extension naming the connection it came on, so authentication (REST) and
/// IDENTIFY (gateway) can take the connection off the unauthenticated count.
#[derive(Clone)]
pub struct ConnTag(pub Arc<ConnState>);

impl ConnTag {
    pub fn authenticated(&self) {
        self.0.authenticated();
    }
}

/// Records that the request with these extensions was authenticated (no-op for requests that
/// did not come through [`super::serve`], e.g. router unit tests).
pub fn mark_authenticated(extensions: &axum::http::Extensions) {
    if let Some(tag) = extensions.get::<ConnTag>() {
        tag.authenticated();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(per_ip: u32, unauth: u32, exempt: bool) -> Server {
        Server {
            max_connections_per_ip: per_ip,
            max_unauthenticated_connections: unauth,
            per_ip_limit_exempt_loopback: exempt,
            ..Server::default()
        }
    }

    #[test]
    fn per_ip_cap_and_release() {
        let table = Arc::new(ConnectionTable::default());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let cfg = server(2, 0, true);
        let a = table.admit(ip, &cfg).unwrap();
        let _b = table.admit(ip, &cfg).unwrap();
        assert_eq!(table.admit(ip, &cfg).err(), Some(Refusal::PerIp));
        // Another address is not affected.
        assert!(table.admit("10.0.0.2".parse().unwrap(), &cfg).is_ok());
        drop(a);
        assert!(table.admit(ip, &cfg).is_ok());
        assert_eq!(table.stats().refused_per_ip, 1);
    }

    #[test]
    fn loopback_exemption_is_configurable() {
        let table = Arc::new(ConnectionTable::default());
        let lo: IpAddr = "127.0.0.2".parse().unwrap();
        let held: Vec<_> = (0..5)
            .map(|_| table.admit(lo, &server(1, 0, true)).unwrap())
            .collect();
        assert_eq!(table.open_from(lo), 5);
        assert_eq!(
            table.admit(lo, &server(1, 0, false)).err(),
            Some(Refusal::PerIp)
        );
        drop(held);
        assert_eq!(table.open_from(lo), 0);
        assert!(table.per_ip.is_empty(), "no entry left at zero");
    }

    #[test]
    fn authenticated_connections_leave_the_unauthenticated_count() {
        let table = Arc::new(ConnectionTable::default());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let cfg = server(0, 2, true);
        let a = table.admit(ip, &cfg).unwrap();
        let b = table.admit(ip, &cfg).unwrap();
        assert_eq!(table.admit(ip, &cfg).err(), Some(Refusal::Unauthenticated));
        a.authenticated();
        a.authenticated();
        let c = table.admit(ip, &cfg).unwrap();
        assert_eq!(table.stats().unauthenticated, 2);
        drop((a, b, c));
        let s = table.stats();
        assert_eq!((s.open, s.unauthenticated), (0, 0));
    }

    #[test]
    fn clock_cuts_slow_headers_and_idle_keepalive() {
        let table = Arc::new(ConnectionTable::default());
        let cfg = Server {
            header_read_timeout_ms: 0,
            keepalive_idle_timeout_ms: 0,
            ..Server::default()
        };
        let c = table
            .admit("10.0.0.1".parse().unwrap(), &Server::default())
            .unwrap();
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(c.check(&cfg), Err(Cut::HeaderTimeout));
        c.request_started();
        assert!(c.check(&cfg).is_ok(), "in flight: not the clock's business");
        c.request_done();
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(c.check(&cfg), Err(Cut::Idle));
        c.on_read();
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(c.check(&cfg), Err(Cut::HeaderTimeout));
        assert!(c.check(&Server::default()).is_ok());
    }
}
