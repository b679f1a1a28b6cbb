//! Log output: one line per event, human-readable (`pretty`) or one JSON object a line
//! (`json`, for production log shippers), filtered by `RUST_LOG`.
//!
//! Spans are bounded by construction: every long-lived task (a gateway connection, a session,
//! an actor message) attaches its span with `Instrument`, and connection/session spans are roots
//! (`parent: None`), so a line carries at most one of them however many sessions share a thread.
//! A span entered with a guard held across an `.await` would leak into every task polled on that
//! thread and chain without end (10 GB of log at 10k sessions, issue 14); `tests/logging.rs`
//! guards against it coming back.

use std::io;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The default filter when `RUST_LOG` is unset: lifecycle at info, per-request and per-session
/// chatter at debug (off), ractor's own messages only when they matter.
pub const DEFAULT_FILTER: &str = "info,ractor=warn";

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable, one line per event, colours on a terminal.
    #[default]
    Pretty,
    /// One JSON object per line: `timestamp`, `level`, `target`, the event's fields flattened,
    /// and `span` (the innermost span's name and fields, e.g. a session's `id` and `user`).
    Json,
}

/// A subscriber writing to `writer` in `format`, filtered by `filter` (a `RUST_LOG` directive).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Pretty => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// Installs the process-wide subscriber: `RUST_LOG` (or [`DEFAULT_FILTER`]) to standard error.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let ansi = std::io::IsTerminal::is_terminal(&io::stderr());
    tracing::subscriber::set_global_default(subscriber(format, filter, io::stderr, ansi))
        .map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::ErrorKind::Other)?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buf {
        type Writer = Buf;
        fn make_writer(&'w self) -> Buf {
            self.clone()
        }
    }

    #[test]
    fn json_lines_are_objects_with_the_span_fields() {
        let buf = Buf::default();
        let sub = subscriber(LogFormat::Json, EnvFilter::new("info"), buf.clone(), false);
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("session", id = "abc", user = 42u64);
            let _g = span.enter();
            tracing::info!(replayed = 3, "session resumed");
            tracing::debug!("filtered out");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "session resumed");
        assert_eq!(v["replayed"], 3);
        assert_eq!(v["span"]["name"], "session");
        assert_eq!(v["span"]["id"], "abc");
        assert_eq!(v["span"]["user"], 42);
    }
}
