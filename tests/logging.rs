//! Logs stay bounded at scale: a few hundred gateway sessions (identify, events, resume, close)
//! must not chain spans into each other. Before the fix, a span entered with a guard held across
//! `.await` became the parent of every span polled after it on that thread, and at 10k sessions
//! single lines reached 382 KB (`session{…}:session{…}:…`, 5,461 deep).

mod common;

use std::io;
use std::sync::{Arc, Mutex};

use accord::telemetry::{LogFormat, subscriber};
use serde_json::json;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Capture {
    type Writer = Capture;
    fn make_writer(&'w self) -> Capture {
        self.clone()
    }
}

const SESSIONS: usize = 300;
const USERS: usize = 30;
/// A generous bound on one line: timestamps, level, one span with two ids, a message, fields.
const MAX_LINE: usize = 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_sessions_keep_log_lines_small_and_flat() {
    let capture = Capture::default();
    // Debug for our own crate, so per-session lines (identified, ended) are written too.
    let filter = EnvFilter::new("info,accord=debug,ractor=warn");
    tracing::subscriber::set_global_default(subscriber(
        LogFormat::Pretty,
        filter,
        capture.clone(),
        false,
    ))
    .expect("subscriber");

    let t = common::start().await;
    let owner = t.register("logowner").await;
    let (_guild, channel) = t.guild(&owner, "logs").await;
    let mut tokens = vec![owner.clone()];
    for i in 1..USERS {
        let tok = t.register(&format!("loguser{i}")).await;
        t.join_via_invite(&owner, &channel, &tok).await;
        tokens.push(tok);
    }

    // Identify all sessions concurrently, as a storm does.
    let url = t.gateway_url("v=10&encoding=json");
    let sessions = futures::future::join_all((0..SESSIONS).map(|i| {
        let url = url.clone();
        let token = tokens[i % USERS].clone();
        async move {
            let mut g = common::Gateway::connect(&url, false).await;
            let ready = g.identify(&token, 1 << 9 | 1).await;
            (
                g,
                ready["session_id"]
                    .as_str()
                    .expect("session id")
                    .to_string(),
            )
        }
    }))
    .await;

    // Events reach every session.
    for n in 0..3 {
        let r = t
            .post(
                &format!("/channels/{channel}/messages"),
                &owner,
                json!({ "content": format!("hello {n}") }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let mut sessions: Vec<_> =
        futures::future::join_all(sessions.into_iter().map(|(mut g, id)| async move {
            for _ in 0..3 {
                g.event("MESSAGE_CREATE").await;
            }
            (g, id)
        }))
        .await;

    // A tenth drop their socket and resume; the rest close normally (ending the session).
    let resumers: Vec<_> = sessions.drain(..SESSIONS / 10).collect();
    futures::future::join_all(resumers.into_iter().enumerate().map(|(i, (g, id))| {
        let url = url.clone();
        let token = tokens[i % USERS].clone();
        async move {
            let seq = g.seq;
            drop(g);
            let mut r = common::Gateway::connect(&url, false).await;
            assert_eq!(r.recv().await["op"], 10);
            r.send(json!({"op": 6, "d": {"token": token, "session_id": id, "seq": seq}}))
                .await;
            r.event("RESUMED").await;
            let _ = r.ws.close(None).await;
        }
    }))
    .await;
    futures::future::join_all(sessions.into_iter().map(|(mut g, _)| async move {
        let _ = g.ws.close(None).await;
    }))
    .await;
    // Every session writes "session ended" when it is over; wait for them (bounded).
    let deadline = std::time::Instant::now() + common::WAIT;
    loop {
        let ended = count_lines(&capture, "session ended");
        if ended >= SESSIONS || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    t.stop().await;

    let text = String::from_utf8(capture.0.lock().expect("log buffer").clone()).expect("utf-8");
    let mut with_session = 0;
    for line in text.lines() {
        let spans = line.matches("session{").count();
        assert!(
            spans <= 1,
            "a line carries {spans} session spans: {line:.300}"
        );
        assert!(
            line.len() <= MAX_LINE,
            "a {}-byte log line: {line:.300}",
            line.len()
        );
        with_session += usize::from(spans == 1);
    }
    // The check above means something only if session lines were written at all.
    assert!(
        count_lines(&capture, "session ended") >= SESSIONS,
        "expected {SESSIONS} 'session ended' lines"
    );
    assert!(
        with_session >= SESSIONS,
        "{with_session} lines inside a session span"
    );
}

fn count_lines(capture: &Capture, needle: &str) -> usize {
    let buf = capture.0.lock().expect("log buffer");
    String::from_utf8_lossy(&buf).matches(needle).count()
}
