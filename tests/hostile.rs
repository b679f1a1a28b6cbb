//! Hostile clients on loopback: each test runs a scripted attacker against a real server with
//! small configured limits, checks the attack is cut off within the configured bound, and that
//! a normal client (REST and gateway) is served all the while.
//!
//! The attackers connect from 127.0.0.2 (all of 127.0.0.0/8 is loopback on Linux) and the
//! normal clients from 127.0.0.1, so a per-IP limit can be shown to hit one and not the other.
//! Each test prints `FIGURE` lines (times, counts) for the issue's note.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Gateway, TestServer};
use futures::SinkExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// Slack on every upper bound: the machine is shared with other builds.
const SLACK: Duration = Duration::from_millis(2500);

async fn start(patch: Value) -> TestServer {
    let t = common::start().await;
    t.srv()
        .app
        .config()
        .apply_patch(t.srv().app.store().as_ref(), &patch)
        .await
        .expect("patch");
    t
}

async fn attacker_socket(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(ATTACKER, 0))?;
    socket.connect(addr).await
}

/// Reads until the server closes (EOF or reset); returns what arrived and when it closed.
/// `None` if still open after `limit`.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<(Instant, Vec<u8>)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some((Instant::now(), got)),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A normal client working throughout an attack: REST calls on a keep-alive connection (a
/// fresh client per `fresh` call) and, optionally, a gateway session that must keep receiving.
struct Normal {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(u64, u64, Duration)>,
}

impl Normal {
    /// Calls `GET /users/@me` every 50 ms until stopped; counts successes and failures.
    fn start(t: &TestServer, token: &str, client: reqwest::Client) -> Normal {
        let stop = Arc::new(AtomicBool::new(false));
        let url = t.url("/users/@me");
        let token = token.to_string();
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let (mut ok, mut failed, mut worst) = (0u64, 0u64, Duration::ZERO);
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                let r = client
                    .get(&url)
                    .header("authorization", &token)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => ok += 1,
                    other => {
                        eprintln!("normal client failed: {other:?}");
                        failed += 1;
                    }
                }
                worst = worst.max(started.elapsed());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (ok, failed, worst)
        });
        Normal { stop, task }
    }

    /// Stops and asserts every call succeeded; returns (calls, worst latency).
    async fn finish(self, what: &str) -> (u64, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let (ok, failed, worst) = self.task.await.expect("normal client");
        eprintln!(
            "FIGURE {what}: normal client {ok} REST calls ok, {failed} failed, worst {} ms",
            worst.as_millis()
        );
        assert_eq!(failed, 0, "{what}: the normal client was refused");
        assert!(ok > 0, "{what}: the normal client made no call");
        (ok, worst)
    }
}

/// A gateway session of `token` (identified now) and a check that it still gets events.
async fn normal_gateway(t: &TestServer, token: &str) -> Gateway {
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(token, 513).await;
    gw
}

async fn still_receives(t: &TestServer, gw: &mut Gateway, token: &str, channel: &str) {
    let r = t
        .post(
            &format!("/channels/{channel}/messages"),
            token,
            json!({"content": "still here"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = gw.event("MESSAGE_CREATE").await;
    assert_eq!(m["content"], "still here");
}

async fn owner_with_channel(t: &TestServer, name: &str) -> (String, String) {
    let token = t.register(name).await;
    let (_, channel) = t.guild(&token, name).await;
    (token, channel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_headers_are_cut_at_the_header_timeout() {
    let t = start(json!({"server": {"header_read_timeout_ms": 1000}})).await;
    let (token, channel) = owner_with_channel(&t, "slowowner").await;
    let normal = Normal::start(&t, &token, reqwest::Client::new());
    let addr = t.srv().addr;

    const ATTACKERS: usize = 200;
    let attacks = (0..ATTACKERS).map(|i| async move {
        let mut s = attacker_socket(addr).await.expect("connect");
        let started = Instant::now();
        // One in four connects and sends nothing at all; the others send half a request and
        // then one header byte every 200 ms, never the blank line.
        let silent = i % 4 == 0;
        if !silent {
            s.write_all(b"GET /api/v10/gateway HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("write");
        }
        let (mut r, mut w) = s.into_split();
        let trickle = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if silent {
                    continue;
                }
                if w.write_all(b"X").await.is_err() {
                    return;
                }
            }
        });
        let mut buf = [0u8; 256];
        let closed = tokio::time::timeout(Duration::from_secs(1) + SLACK, async {
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        trickle.abort();
        closed.map(|()| started.elapsed())
    });
    // Meanwhile a new gateway client identifies and gets events.
    let mut gw = normal_gateway(&t, &token).await;
    let results = futures::future::join_all(attacks).await;
    still_receives(&t, &mut gw, &token, &channel).await;
    let times: Vec<Duration> = results
        .into_iter()
        .map(|r| r.expect("a slowloris connection outlived the header timeout"))
        .collect();
    let (min, max) = (times.iter().min().unwrap(), times.iter().max().unwrap());
    eprintln!(
        "FIGURE slowloris: {ATTACKERS} connections (1 in 4 silent, the rest trickling a header \
         byte every 200 ms), header timeout 1000 ms: all cut after {}–{} ms",
        min.as_millis(),
        max.as_millis()
    );
    assert!(*min >= Duration::from_millis(900), "cut too early: {min:?}");
    normal.finish("slowloris").await;
    let stats = t.srv().app.connections.stats();
    assert!(stats.header_timeouts >= ATTACKERS as u64, "{stats:?}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_get_431_and_close() {
    let t = start(json!({})).await;
    let addr = t.srv().addr;
    let mut s = attacker_socket(addr).await.expect("connect");
    s.write_all(b"GET /api/v10/gateway HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        .await
        .expect("write");
    // Far more than the 64 KiB buffer; the server stops reading long before the end.
    let pad = vec![b'a'; 256 * 1024];
    let started = Instant::now();
    let _ = s.write_all(&pad).await;
    let (closed, got) = until_closed(&mut s, SLACK)
        .await
        .expect("a connection with oversized headers stayed open");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text:.200}"
    );
    eprintln!(
        "FIGURE oversized headers: 256 KiB of one header → {} and closed in {} ms",
        if text.is_empty() { "reset" } else { "431" },
        (closed - started).as_millis()
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_get_408_at_the_body_timeout() {
    let t = start(json!({"server": {"body_read_timeout_ms": 1000}})).await;
    let (token, _) = owner_with_channel(&t, "bodyowner").await;
    let normal = Normal::start(&t, &token, reqwest::Client::new());
    let addr = t.srv().addr;

    const ATTACKERS: usize = 50;
    let attacks = (0..ATTACKERS).map(|_| async move {
        let mut s = attacker_socket(addr).await.expect("connect");
        s.write_all(
            b"POST /api/v10/auth/login HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n\
              content-length: 1000\r\n\r\n{\"login\": \"",
        )
        .await
        .expect("write");
        let started = Instant::now();
        let (mut r, mut w) = s.into_split();
        let trickle = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if w.write_all(b"a").await.is_err() {
                    return;
                }
            }
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        let closed = tokio::time::timeout(Duration::from_secs(1) + SLACK, async {
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        trickle.abort();
        (closed.map(|()| started.elapsed()), got)
    });
    let results = futures::future::join_all(attacks).await;
    let mut times = Vec::new();
    for (closed, got) in results {
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("\"code\":0"), "Discord-style body: {text}");
        times.push(closed.expect("a slow body outlived the body timeout"));
    }
    let (min, max) = (times.iter().min().unwrap(), times.iter().max().unwrap());
    eprintln!(
        "FIGURE slow body: {ATTACKERS} POSTs sending a byte every 200 ms, body timeout 1000 ms: \
         408 and closed after {}–{} ms",
        min.as_millis(),
        max.as_millis()
    );
    assert!(*min >= Duration::from_millis(900), "cut too early: {min:?}");
    normal.finish("slow body").await;
    assert!(t.srv().app.connections.stats().body_timeouts >= ATTACKERS as u64);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keepalive_connections_are_closed() {
    // The idle limit is its own: longer than the header timeout, which an idle keep-alive
    // connection (no byte of a next request yet) does not run into.
    let t = start(
        json!({"server": {"keepalive_idle_timeout_ms": 1500, "header_read_timeout_ms": 500}}),
    )
    .await;
    let addr = t.srv().addr;
    let mut s = attacker_socket(addr).await.expect("connect");
    let mut buf = [0u8; 4096];
    for pause in [Duration::ZERO, Duration::from_millis(900)] {
        tokio::time::sleep(pause).await;
        s.write_all(b"GET /api/v10/gateway HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let n = s.read(&mut buf).await.expect("response");
        assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
            "served after {pause:?} idle"
        );
    }
    let answered = Instant::now();
    let (closed, _) = until_closed(&mut s, Duration::from_millis(1500) + SLACK)
        .await
        .expect("an idle keep-alive connection stayed open");
    let idle = closed - answered;
    eprintln!(
        "FIGURE idle keep-alive: a request after 900 ms idle served (header timeout 500 ms); \
         closed {} ms after its last response (limit 1500 ms)",
        idle.as_millis()
    );
    assert!(idle >= Duration::from_millis(1400), "{idle:?}");
    assert_eq!(t.srv().app.connections.stats().idle_closed, 1);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_ip_cap_refuses_the_excess_of_one_address_only() {
    const CAP: usize = 50;
    let t = start(json!({"server": {
        "max_connections_per_ip": CAP,
        "per_ip_limit_exempt_loopback": false,
        "header_read_timeout_ms": 30000,
    }}))
    .await;
    let (token, channel) = owner_with_channel(&t, "ipowner").await;
    let normal = Normal::start(&t, &token, reqwest::Client::new());
    let addr = t.srv().addr;

    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(attacker_socket(addr).await.expect("connect"));
    }
    // The server counts a connection once it accepted it.
    let deadline = Instant::now() + common::WAIT;
    while t.srv().app.connections.open_from(ATTACKER) < CAP as u32 {
        assert!(Instant::now() < deadline, "connections not accepted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut refused_in = Vec::new();
    for _ in 0..30 {
        let mut s = attacker_socket(addr).await.expect("connect");
        let started = Instant::now();
        let (closed, got) = until_closed(&mut s, SLACK)
            .await
            .expect("a connection over the per-IP cap was kept");
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 429"),
            "{text}"
        );
        refused_in.push(closed - started);
    }
    // The normal client (another address) connects anew and identifies meanwhile.
    let mut gw = normal_gateway(&t, &token).await;
    still_receives(&t, &mut gw, &token, &channel).await;
    let fresh = t.http.get(t.url("/gateway")).send().await.expect("fresh");
    assert_eq!(fresh.status(), 200);
    assert_eq!(t.srv().app.connections.open_from(ATTACKER), CAP as u32);
    eprintln!(
        "FIGURE per-IP cap {CAP}: {CAP} held, 30 more refused (429) and closed within {} ms",
        refused_in.iter().max().unwrap().as_millis()
    );
    assert_eq!(t.srv().app.connections.stats().refused_per_ip, 30);
    normal.finish("per-IP cap").await;
    drop(held);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_cap_holds_and_recovers_after_the_header_timeout() {
    const CAP: usize = 300;
    let t = start(json!({"server": {
        "max_unauthenticated_connections": CAP,
        "header_read_timeout_ms": 2000,
    }}))
    .await;
    let (token, channel) = owner_with_channel(&t, "capowner").await;
    // Authenticated before the attack: its keep-alive connection and its session stay served.
    let client = reqwest::Client::new();
    let mut gw = normal_gateway(&t, &token).await;
    let normal = Normal::start(&t, &token, client);
    // Until each of their connections has carried a token (a slow machine takes more than a
    // fixed pause; CI once saw one still unauthenticated after 200 ms).
    let deadline = Instant::now() + common::WAIT;
    loop {
        let before = t.srv().app.connections.stats();
        if before.unauthenticated == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{before:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let addr = t.srv().addr;
    const ATTACKERS: usize = 400;
    let started = Instant::now();
    let mut sockets = Vec::new();
    for _ in 0..ATTACKERS {
        sockets.push(attacker_socket(addr).await.expect("connect"));
    }
    let outcomes = futures::future::join_all(
        sockets
            .iter_mut()
            .map(|s| until_closed(s, Duration::from_secs(2) + SLACK)),
    )
    .await;
    let mut refused = 0;
    let mut cut_after = Vec::new();
    for o in outcomes {
        let (at, got) = o.expect("an idle unauthenticated connection outlived the header timeout");
        let text = String::from_utf8_lossy(&got);
        if text.starts_with("HTTP/1.1 503") {
            refused += 1;
        } else {
            cut_after.push(at - started);
        }
    }
    // Meanwhile (cap full or not), the authenticated session kept receiving.
    still_receives(&t, &mut gw, &token, &channel).await;
    let stats = t.srv().app.connections.stats();
    eprintln!(
        "FIGURE unauthenticated cap {CAP}: {ATTACKERS} idle connections → {} held, {refused} \
         refused with 503; held ones cut {}–{} ms after the attack began (header timeout 2000 ms)",
        cut_after.len(),
        cut_after.iter().min().unwrap().as_millis(),
        cut_after.iter().max().unwrap().as_millis()
    );
    assert_eq!(cut_after.len(), CAP, "{stats:?}");
    assert_eq!(refused, ATTACKERS - CAP);
    // Capacity is back: a new, unauthenticated client is served.
    let fresh = reqwest::Client::new()
        .get(t.url("/gateway"))
        .send()
        .await
        .expect("fresh client");
    assert_eq!(fresh.status(), 200);
    normal.finish("unauthenticated cap").await;
    t.stop().await;
}

/// A frame far larger than what the server reads before refusing it still gets its 4002, every
/// time. The reader used to stop after the frame's header and the socket closed with the payload
/// unread, so the kernel's reset could overtake the close frame and the client saw "connection
/// reset" (the `gateway_session` fuzz target found it); the server now reads and drops the rest
/// (bounded) before closing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_frame_still_gets_its_4002_close() {
    let t = start(json!({})).await;
    let url = t.gateway_url("v=10&encoding=json");
    for size in [64 * 1024, 256 * 1024, 900 * 1024] {
        for _ in 0..3 {
            let mut gw = Gateway::connect(&url, false).await;
            gw.recv().await;
            gw.send(json!({"op": 1, "d": null, "pad": "x".repeat(size)}))
                .await;
            // More after it, as a client that doesn't wait would send.
            let _ = gw
                .ws
                .send(Message::Text(r#"{"op":1,"d":null}"#.into()))
                .await;
            assert_eq!(
                gw.next().await.err(),
                Some(Some(4002)),
                "a {size}-byte frame"
            );
        }
    }
    t.stop().await;
}

/// A gateway connection at the TCP level, past the WebSocket handshake: what a client library
/// would hide (masks, frame sizes) can be got wrong on purpose.
async fn raw_gateway(t: &TestServer) -> TcpStream {
    let mut tcp = TcpStream::connect(t.srv().addr).await.expect("connect");
    tcp.write_all(
        b"GET /?v=10&encoding=json HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
          Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .expect("handshake");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.expect("handshake answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

/// One client frame with FIN set: `opcode`, a payload under 126 bytes, masked (with a
/// non-zero key) or not.
fn client_frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x80 | opcode, payload.len() as u8];
    if masked {
        frame[1] |= 0x80;
        frame.extend_from_slice(&mask);
    }
    frame.extend(payload.iter().enumerate().map(
        |(i, b)| {
            if masked { b ^ mask[i % 4] } else { *b }
        },
    ));
    frame
}

/// Everything the server sends until it ends the connection (a FIN or a reset), or `None`
/// when it is still open after `limit`.
async fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// RFC 6455 §5.1 and §5.5, which the WebSocket library leaves to us: a client frame without a
/// mask, or a control frame over 125 bytes, fails the connection — nothing in it is acted on
/// and the server closes at once (not at the 30 s identify timeout). The same heartbeat sent
/// masked is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmasked_frames_and_oversize_control_frames_fail_the_connection() {
    let t = start(json!({})).await;
    let heartbeat = br#"{"op":1,"d":null}"#;
    let acked = |bytes: &[u8]| bytes.windows(7).any(|w| w == br#""op":11"#);

    let mut good = raw_gateway(&t).await;
    good.write_all(&client_frame(0x1, heartbeat, true))
        .await
        .expect("masked heartbeat");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !acked(&got) {
        let n = tokio::time::timeout(Duration::from_secs(5), good.read(&mut buf))
            .await
            .expect("the masked heartbeat is acknowledged")
            .expect("read");
        assert!(n > 0, "closed before the ACK");
        got.extend_from_slice(&buf[..n]);
    }

    let mut unmasked = raw_gateway(&t).await;
    unmasked
        .write_all(&client_frame(0x1, heartbeat, false))
        .await
        .expect("unmasked heartbeat");
    let got = read_until_closed(&mut unmasked, Duration::from_secs(10))
        .await
        .expect("an unmasked frame ends the connection");
    assert!(!acked(&got), "an unmasked heartbeat was acknowledged");

    let mut big_pong = raw_gateway(&t).await;
    let mut frame = vec![0x8a, 0x80 | 126];
    frame.extend_from_slice(&200u16.to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(&[b'p'; 200]);
    big_pong.write_all(&frame).await.expect("oversize pong");
    read_until_closed(&mut big_pong, Duration::from_secs(10))
        .await
        .expect("a 200-byte control frame ends the connection");
    t.stop().await;
}

/// The same at the TCP level, where the difference shows whatever the client library does: the
/// client sends a 64 KiB frame (the server reads its header and refuses it) and then reads to
/// the end of the stream. It must get the 4002 close frame and then a clean end (FIN), not a
/// connection reset: the server reads and drops the unread rest of the frame before closing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_frame_ends_in_a_close_frame_and_a_fin_not_a_reset() {
    let t = start(json!({})).await;
    let mut tcp = raw_gateway(&t).await;
    // A masked text frame (mask 0: the payload goes as is) of 64 KiB, over the 16 KiB limit.
    let payload = vec![b' '; 64 * 1024];
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(&payload);
    tcp.write_all(&frame).await.expect("frame");
    let mut got = Vec::new();
    let end = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut got))
        .await
        .expect("the server closes within 10 s");
    assert!(end.is_ok(), "the connection ended in {end:?}, not a FIN");
    // The close frame: FIN + opcode 8, a length, then the code 4002 (0x0FA2).
    assert!(
        got.windows(4)
            .any(|w| w[0] == 0x88 && w[2..] == [0x0f, 0xa2]),
        "no 4002 close frame in {} bytes",
        got.len()
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_endless_fragmented_gateway_messages_close_4002() {
    let t = start(json!({})).await;
    let (token, channel) = owner_with_channel(&t, "frameowner").await;
    let url = t.gateway_url("v=10&encoding=json");

    // One frame over the 16 KiB limit.
    let mut big = Gateway::connect(&url, false).await;
    big.recv().await;
    let started = Instant::now();
    // Valid JSON (a heartbeat with padding): only its size is wrong.
    big.send(json!({"op": 1, "d": null, "pad": "x".repeat(20 * 1024)}))
        .await;
    assert_eq!(big.next().await.err(), Some(Some(4002)));
    let one_frame = started.elapsed();

    // A message that never ends: 4 KiB fragments, each under the frame limit.
    let mut endless = Gateway::connect(&url, false).await;
    endless.recv().await;
    let started = Instant::now();
    let chunk = "y".repeat(4096);
    endless
        .ws
        .send(Message::Frame(Frame::message(
            chunk.clone(),
            OpCode::Data(Data::Text),
            false,
        )))
        .await
        .expect("first fragment");
    let mut sent = 4096;
    // Continuations until the message reaches the 16 KiB limit, then no more (see the op-8
    // test: a write to the closed socket would hide the close frame from tungstenite).
    while sent < 16 * 1024 {
        endless
            .ws
            .send(Message::Frame(Frame::message(
                chunk.clone(),
                OpCode::Data(Data::Continue),
                false,
            )))
            .await
            .expect("fragment");
        sent += 4096;
    }
    let closed = Some(endless.next().await.err().flatten());
    assert_eq!(closed, Some(Some(4002)), "after {sent} bytes");
    let fragmented = started.elapsed();

    let mut gw = normal_gateway(&t, &token).await;
    still_receives(&t, &mut gw, &token, &channel).await;
    eprintln!(
        "FIGURE oversized frames: a 20 KiB frame closed 4002 in {} ms; an endless fragmented \
         message (4 KiB fragments) closed 4002 at {sent} bytes ({} ms); limit 16 KiB",
        one_frame.as_millis(),
        fragmented.as_millis()
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_floods_are_closed_4008_4005_4004() {
    const MAX_SESSIONS: usize = 5;
    let t = start(json!({"gateway": {"max_sessions_per_user": MAX_SESSIONS}})).await;
    let (token, channel) = owner_with_channel(&t, "floodowner").await;
    let attacker = t.register("flooder").await;
    let url = t.gateway_url("v=10&encoding=json");

    // 40 connections identify at once with one account.
    let started = Instant::now();
    let results = futures::future::join_all((0..40).map(|_| {
        let (url, attacker) = (url.clone(), attacker.clone());
        async move {
            let mut g = Gateway::connect(&url, false).await;
            g.recv().await;
            g.send(json!({"op": 2, "d": {"token": attacker, "intents": 513, "properties": {}}}))
                .await;
            loop {
                match g.next().await {
                    Ok(v) if v["t"] == "READY" => return (Ok(()), Some(g)),
                    Ok(_) => continue,
                    Err(code) => return (Err(code), None),
                }
            }
        }
    }))
    .await;
    let ready = results.iter().filter(|(r, _)| r.is_ok()).count();
    let limited = results
        .iter()
        .filter(|(r, _)| *r == Err(Some(4008)))
        .count();
    let identify_flood = started.elapsed();
    assert_eq!(ready, MAX_SESSIONS, "sessions over the per-account limit");
    assert_eq!(ready + limited, 40);

    // A second IDENTIFY on a ready connection.
    let mut g = results
        .into_iter()
        .find_map(|(_, g)| g)
        .expect("a ready session");
    g.send(json!({"op": 2, "d": {"token": attacker, "intents": 513, "properties": {}}}))
        .await;
    let again = loop {
        match g.next().await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(again, Some(4005));

    // Bad tokens, 50 at once.
    let started = Instant::now();
    let bad = futures::future::join_all((0..50).map(|i| {
        let url = url.clone();
        async move {
            let mut g = Gateway::connect(&url, false).await;
            g.recv().await;
            g.send(json!({"op": 2, "d": {"token": format!("forged.{i}.token"), "intents": 513, "properties": {}}}))
                .await;
            g.next().await.err()
        }
    }))
    .await;
    assert!(bad.iter().all(|c| *c == Some(Some(4004))), "{bad:?}");
    let bad_flood = started.elapsed();

    let mut gw = normal_gateway(&t, &token).await;
    still_receives(&t, &mut gw, &token, &channel).await;
    eprintln!(
        "FIGURE identify flood: 40 concurrent IDENTIFYs of one account → {ready} READY, \
         {limited} closed 4008 ({} ms); a second IDENTIFY → 4005; 50 forged tokens → 4004 ({} ms)",
        identify_flood.as_millis(),
        bad_flood.as_millis()
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op8_floods_get_rate_limited_then_4008() {
    const WINDOW: usize = 30;
    let t = start(json!({"gateway": {"max_payloads_per_window": WINDOW}})).await;
    let (token, channel) = owner_with_channel(&t, "op8owner").await;
    let guild = t.get("/users/@me/guilds", &token).await.body[0]["id"].clone();
    let attacker = t.register("op8attacker").await;
    t.join_via_invite(&token, &channel, &attacker).await;
    let mut normal = normal_gateway(&t, &token).await;

    let mut a = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    a.identify(&attacker, 1 | 2 | 512).await;
    let request =
        json!({"op": 8, "d": {"guild_id": guild, "query": "", "limit": 0, "nonce": "n1"}});
    a.send(request.clone()).await;
    let chunk = a.event("GUILD_MEMBERS_CHUNK").await;
    assert_eq!(chunk["members"].as_array().unwrap().len(), 2);
    a.send(request.clone()).await;
    let limited = a.event("RATE_LIMITED").await;
    assert_eq!(limited["opcode"], 8);
    assert_eq!(limited["meta"]["guild_id"], guild);
    assert_eq!(limited["meta"]["nonce"], "n1");
    let retry = limited["retry_after"].as_f64().unwrap();
    assert!(retry > 0.0 && retry <= 30.0, "{retry}");
    // Querying by name is not the costly "everyone" request: still answered.
    a.send(json!({"op": 8, "d": {"guild_id": guild, "query": "op8", "limit": 10}}))
        .await;
    a.event("GUILD_MEMBERS_CHUNK").await;

    // Then a flood: the window (30 payloads, identify and the three above included) runs out
    // at the 31st. The attacker stops there: tungstenite, writing to a socket the server has
    // closed, reports the failed write and never reads the close frame waiting for it.
    let started = Instant::now();
    let mut sent = 4;
    while sent <= WINDOW {
        a.send(request.clone()).await;
        sent += 1;
    }
    let code = loop {
        match a.next().await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(code, Some(4008));
    still_receives(&t, &mut normal, &token, &channel).await;
    eprintln!(
        "FIGURE op-8 flood: the second all-members request within 30 s → RATE_LIMITED \
         (retry_after {retry:.1} s); a flood → 4008 after the {WINDOW}-payload window \
         ({sent} sent by the client, closed in {} ms)",
        started.elapsed().as_millis()
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_floods_count_against_the_payload_limit() {
    const WINDOW: usize = 30;
    let t = start(json!({"gateway": {"max_payloads_per_window": WINDOW}})).await;
    let (token, channel) = owner_with_channel(&t, "pingowner").await;
    let mut normal = normal_gateway(&t, &token).await;
    // Before IDENTIFY and after READY alike.
    for identified in [false, true] {
        let mut g = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
        if identified {
            g.identify(&token, 513).await;
        } else {
            g.recv().await;
        }
        for _ in 0..WINDOW + 1 {
            g.ws.send(Message::Ping(b"flood".to_vec().into()))
                .await
                .expect("ping");
        }
        let code = loop {
            match g.next().await {
                Ok(_) => continue,
                Err(code) => break code,
            }
        };
        assert_eq!(code, Some(4008), "identified: {identified}");
    }
    still_receives(&t, &mut normal, &token, &channel).await;
    eprintln!(
        "FIGURE ping flood: {} pings → 4008, before IDENTIFY and after READY",
        WINDOW + 1
    );
    t.stop().await;
}

/// Resident memory of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_identify_are_closed_4009() {
    const IDLE: usize = 400;
    const TIMEOUT: Duration = Duration::from_millis(4000);
    let t = start(json!({"gateway": {"identify_timeout_ms": TIMEOUT.as_millis() as u64}})).await;
    let (token, channel) = owner_with_channel(&t, "lurkowner").await;
    let normal = Normal::start(&t, &token, reqwest::Client::new());
    let url = t.gateway_url("v=10&encoding=json");
    let rss_before = rss_kib();

    // They heartbeat (which alone used to keep them for ever) but never identify.
    let started = Instant::now();
    let mut lurkers = Vec::new();
    for _ in 0..IDLE {
        let mut g = Gateway::connect(&url, false).await;
        let opened = Instant::now();
        assert_eq!(g.recv().await["op"], 10);
        g.send(json!({"op": 1, "d": null})).await;
        lurkers.push((g, opened));
    }
    let connected = started.elapsed();
    let pending = t.srv().app.connections.stats().unauthenticated;
    let rss_held = rss_kib();
    let mut gw = normal_gateway(&t, &token).await;
    let closes = futures::future::join_all(lurkers.into_iter().map(|(mut g, opened)| async move {
        loop {
            match g.next().await {
                Ok(_) => continue,
                Err(code) => return (code, opened.elapsed()),
            }
        }
    }))
    .await;
    assert!(
        closes.iter().all(|(c, _)| *c == Some(4009)),
        "close codes: {:?}",
        closes.iter().map(|(c, _)| *c).collect::<Vec<_>>()
    );
    let min = closes.iter().map(|(_, d)| *d).min().unwrap();
    let max = closes.iter().map(|(_, d)| *d).max().unwrap();
    still_receives(&t, &mut gw, &token, &channel).await;
    normal.finish("never identify").await;
    let grown = rss_held.saturating_sub(rss_before);
    eprintln!(
        "FIGURE never-identify: {IDLE} heartbeating connections (opened over {} ms, {pending} \
         unauthenticated at peak; RSS +{grown} KiB, {} B each with the client side) each closed \
         4009 {}–{} ms after connecting (identify timeout {} ms)",
        connected.as_millis(),
        grown * 1024 / IDLE as u64,
        min.as_millis(),
        max.as_millis(),
        TIMEOUT.as_millis()
    );
    assert!(min >= TIMEOUT - Duration::from_millis(100), "{min:?}");
    assert!(max <= TIMEOUT + SLACK, "{max:?}");
    assert!(pending >= IDLE, "pending gateway connections are counted");
    t.stop().await;
}

/// A request the server cannot finish in `request_timeout_ms` is abandoned and answered 503
/// with a retry hint (not a 500, which reads as a bug), and the abandoned work changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_request_timeout_get_503_and_change_nothing() {
    let t = common::start().await;
    let token = t.register("slowhandler").await;
    // Hashing the new password with these parameters takes far longer than 100 ms.
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"server": {"request_timeout_ms": 100},
                    "security": {"argon2_memory_kib": 65536, "argon2_iterations": 8}}),
        )
        .await
        .expect("patch");
    let started = Instant::now();
    let r = t
        .patch(
            "/users/@me",
            &token,
            json!({"password": "correct horse battery", "new_password": "a brand new password"}),
        )
        .await;
    let waited = started.elapsed();
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["code"], 0, "{}", r.body);
    assert!(
        r.body["retry_after"].as_f64().is_some_and(|s| s > 0.0),
        "{}",
        r.body
    );
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");

    // The old password still logs in: the abandoned change was never written.
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"server": {"request_timeout_ms": 30000}}),
        )
        .await
        .expect("patch");
    let login = t
        .req(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "slowhandler@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    // Below the floor is refused: zero would answer every request 503 at once.
    let refused = t
        .srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"server": {"request_timeout_ms": 0}}),
        )
        .await;
    assert!(refused.is_err());
    t.stop().await;
}
