//! `accord loadgen`: a load generator that speaks only the public Discord API (REST + gateway),
//! so it measures Accord or any other Discord-compatible server on the same box.
//!
//! It creates its own users and guilds over REST, then runs one scenario (one module each):
//! [`sessions`] (idle identified gateway sessions, memory per session), [`fanout`] (one guild,
//! N online sessions, MESSAGE_CREATE delivery latency), [`rest`] (K concurrent clients posting
//! and reading history) and [`mixed`] (many small guilds, some large; messages, typing,
//! reactions, edits) and [`soak`] (a modest mixed load for minutes with sessions coming and
//! going and resuming, the server's memory, descriptors, log, actors and latencies sampled over
//! time with a flatness verdict per series). Every run is bounded by a count and a time, prints progress to stderr,
//! and writes a JSON result file plus PNG plots ([`plot`]). [`baseline`] is a minimal raw
//! fastwebsockets broadcast server that answers the same calls, the ceiling for ratios.
//!
//! Traffic goes to loopback addresses only (the URL is checked).

pub mod api;
pub mod baseline;
pub mod fanout;
pub mod gateway;
pub mod inflate;
pub mod mixed;
pub mod plot;
pub mod procstat;
pub mod record;
pub mod rest;
pub mod retry;
pub mod sessions;
pub mod soak;
pub mod worker;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

pub use procstat::{Memory, rss_kib};
pub use record::{Percentiles, Recorder};

/// Options every scenario shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Base URL of the server under test (loopback only), e.g. http://127.0.0.1:3001. Several
    /// (comma-separated or repeated) are the nodes of one cluster: `fanout` spreads its
    /// sessions over them round-robin; setup and posts go to the first.
    #[arg(
        long = "url",
        global = true,
        value_delimiter = ',',
        default_value = "http://127.0.0.1:3001"
    )]
    pub urls: Vec<String>,
    /// An instance administrator's token: when `PATCH /api/admin/config` accepts it, rate
    /// limits, the password hashing cost and session caps are lifted for the run and restored
    /// afterwards. Without it (or when the call fails) the run continues with the server's
    /// settings and counts 429s.
    #[arg(long, global = true, env = "ACCORD_LOADGEN_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// The server's process id: its resident memory (VmRSS from /proc/<pid>/status) is read
    /// before the load, sampled every 250 ms for the peak, and read again `--after-secs` after
    /// the load (sessions, fanout, soak; the soak also counts its open descriptors). Several
    /// (comma-separated: a cluster's nodes on this box) are summed; the soak reads the first.
    #[arg(long = "server-pid", global = true, value_delimiter = ',')]
    pub server_pids: Vec<u32>,
    /// Seconds to wait with every session closed before the last memory reading (with
    /// `--server-pid`): does the memory come back?
    #[arg(long, global = true, default_value_t = 60.0)]
    pub after_secs: f64,
    /// Attempts per session to reach READY: a failed connection or a retryable close is
    /// retried with a jittered exponential backoff (1 s doubling to 15 s), as discord.js does.
    /// 1 = no retry.
    #[arg(long, global = true, default_value_t = 6)]
    pub identify_attempts: u32,
    /// Directory for the JSON result and PNG plots.
    #[arg(long, global = true, default_value = "loadgen-results")]
    pub out: PathBuf,
    /// Name of this run in the result files (`<label>-<scenario>.json`), e.g. `accord` or
    /// `baseline`.
    #[arg(long, global = true, default_value = "accord")]
    pub label: String,
    /// Gateway sessions per created user (1 = one user per session).
    #[arg(long, global = true, default_value_t = 1)]
    pub sessions_per_user: usize,
    /// Concurrent REST calls while creating users, guilds and memberships.
    #[arg(long, global = true, default_value_t = 16)]
    pub setup_concurrency: usize,
    /// Gateway sessions opened per second.
    #[arg(long, global = true, default_value_t = 500.0)]
    pub connect_rate: f64,
    /// Sessions ask for `compress=zlib-stream` and inflate every message, as discord.js with
    /// zlib-sync and discord.py do: what a compressed session costs the server.
    #[arg(long, global = true)]
    pub zlib_stream: bool,
    /// No progress lines on stderr.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Skip the PNG plots.
    #[arg(long, global = true)]
    pub no_plots: bool,
}

impl Common {
    /// Defaults for library callers (tests): everything as on the command line.
    pub fn new(url: impl Into<String>, out: impl Into<PathBuf>) -> Self {
        Self {
            urls: vec![url.into()],
            admin_token: None,
            server_pids: Vec::new(),
            after_secs: 60.0,
            identify_attempts: 6,
            out: out.into(),
            label: "accord".into(),
            sessions_per_user: 1,
            setup_concurrency: 16,
            connect_rate: 500.0,
            zlib_stream: false,
            quiet: true,
            no_plots: false,
        }
    }

    /// The first (or only) server: where setup and REST traffic go.
    pub fn url(&self) -> &str {
        self.urls
            .first()
            .map_or("http://127.0.0.1:3001", String::as_str)
    }

    /// The first server process (what the soak samples).
    pub fn server_pid(&self) -> Option<u32> {
        self.server_pids.first().copied()
    }

    /// The servers' summed resident memory now, in KiB.
    pub fn server_rss_kib(&self) -> Option<u64> {
        procstat::rss_kib_all(&self.server_pids)
    }

    /// How sessions retry a failed identify.
    pub fn retry_policy(&self) -> retry::RetryPolicy {
        retry::RetryPolicy {
            max_attempts: self.identify_attempts.max(1),
            ..retry::RetryPolicy::default()
        }
    }
}

/// The scenarios.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Scenario {
    /// Open N gateway sessions at a rate and hold them with heartbeats.
    Sessions(sessions::Args),
    /// One guild with N online sessions; M messages/s over REST; delivery latency.
    Fanout(fanout::Args),
    /// K concurrent clients posting messages and reading history.
    Rest(rest::Args),
    /// Many small guilds and some large ones: messages, typing, reactions, edits.
    Mixed(mixed::Args),
    /// A modest mixed load for minutes, sessions reconnecting and resuming; the server's
    /// memory, descriptors, log, actors and latencies over time, with a flatness verdict.
    Soak(soak::Args),
}

impl Scenario {
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Sessions(_) => "sessions",
            Scenario::Fanout(_) => "fanout",
            Scenario::Rest(_) => "rest",
            Scenario::Mixed(_) => "mixed",
            Scenario::Soak(_) => "soak",
        }
    }
}

/// `accord loadgen …`: a scenario, or the baseline server.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    #[command(flatten)]
    Scenario(Scenario),
    /// Run the raw fastwebsockets broadcast baseline server (the ceiling for ratios).
    BaselineServer(baseline::Args),
    /// Hold a share of a run's sessions in this process (started by `fanout --workers`; reads
    /// its sessions from stdin, reports on stdout).
    #[command(hide = true)]
    SessionWorker,
}

/// The result of one run; written as `<out>/<label>-<scenario>.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub label: String,
    pub url: String,
    /// The scenario's parameters as given.
    pub params: serde_json::Value,
    /// Whether the admin API accepted the benchmark settings (rate limits lifted).
    pub admin_config_applied: bool,
    /// Seconds spent in the measured phase.
    pub elapsed_secs: f64,
    /// What should have arrived or succeeded (events, sessions, requests) …
    pub expected: u64,
    /// … and what did.
    pub delivered: u64,
    /// Errors: failed connections, dropped sessions, non-2xx answers other than 429.
    pub failures: u64,
    /// Scenario figures (req/s, KiB per session, 429s, per-event-type counts, …).
    pub figures: BTreeMap<String, f64>,
    /// Latency percentiles in microseconds, by what was measured.
    pub latency_us: BTreeMap<String, Percentiles>,
    /// Per-second counts over the measured phase.
    pub timeline: Vec<BTreeMap<String, u64>>,
    /// The server's memory before, at peak and after the load (with `--server-pid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// The soak's time series and flatness verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soak: Option<soak::Series>,
}

impl Report {
    /// Nothing lost and nothing failed.
    pub fn ok(&self) -> bool {
        self.failures == 0 && self.delivered == self.expected
    }
}

/// Runs one scenario and writes its JSON result (and plots unless `no_plots`).
pub async fn run(common: &Common, scenario: &Scenario) -> anyhow::Result<Report> {
    for url in &common.urls {
        check_loopback(url)?;
    }
    let api = api::Api::new(common.url())?;
    let lift = api::lift_limits(&api, common.admin_token.as_deref()).await;
    let recorder = Recorder::new();
    let progress = (!common.quiet).then(|| recorder.progress(scenario.name()));
    let result = match scenario {
        Scenario::Sessions(a) => sessions::run(common, a, &api, &recorder).await,
        Scenario::Fanout(a) => fanout::run(common, a, &api, &recorder).await,
        Scenario::Rest(a) => rest::run(common, a, &api, &recorder).await,
        Scenario::Mixed(a) => mixed::run(common, a, &api, &recorder).await,
        Scenario::Soak(a) => soak::run(common, a, &api, &recorder).await,
    };
    if let Some(p) = progress {
        p.abort();
    }
    if let Some(lift) = &lift {
        lift.restore(&api).await;
    }
    let mut report = result?;
    report.admin_config_applied = lift.is_some();
    write_results(common, &report, &recorder)?;
    Ok(report)
}

/// What the command line calls.
pub async fn cli(common: Common, command: Command) -> anyhow::Result<()> {
    match command {
        Command::BaselineServer(args) => baseline::serve_forever(args).await,
        Command::SessionWorker => worker::run().await,
        Command::Scenario(s) => {
            let report = run(&common, &s).await?;
            print_summary(&report);
            if !report.ok() {
                anyhow::bail!(
                    "{} delivered {} of {} with {} failures",
                    report.scenario,
                    report.delivered,
                    report.expected,
                    report.failures
                );
            }
            Ok(())
        }
    }
}

fn print_summary(r: &Report) {
    println!(
        "{} [{}] {:.1}s: delivered {}/{} failures {}",
        r.scenario, r.label, r.elapsed_secs, r.delivered, r.expected, r.failures
    );
    for (k, v) in &r.figures {
        println!("  {k:<28} {v:.2}");
    }
    for (k, p) in &r.latency_us {
        println!(
            "  latency {k:<20} n={} p50={:.2}ms p90={:.2}ms p99={:.2}ms p99.9={:.2}ms max={:.2}ms",
            p.count,
            p.p50 as f64 / 1000.0,
            p.p90 as f64 / 1000.0,
            p.p99 as f64 / 1000.0,
            p.p999 as f64 / 1000.0,
            p.max as f64 / 1000.0
        );
    }
    if let Some(m) = &r.memory {
        println!("  {}", m.line());
    }
    if let Some(s) = &r.soak {
        for v in &s.verdicts {
            println!("  {}", v.line());
        }
    }
}

fn write_results(common: &Common, report: &Report, recorder: &Recorder) -> anyhow::Result<()> {
    std::fs::create_dir_all(&common.out)
        .with_context(|| format!("creating {}", common.out.display()))?;
    let stem = format!("{}-{}", common.label, report.scenario);
    let json_path = common.out.join(format!("{stem}.json"));
    std::fs::write(&json_path, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    if !common.no_plots {
        let title = format!(
            "{} {} ({})",
            common.label,
            report.scenario,
            params_line(report)
        );
        if let Err(e) = plot::latency(
            &common.out.join(format!("{stem}-latency.png")),
            &title,
            &recorder.histograms(),
        ) {
            eprintln!("loadgen: latency plot skipped: {e}");
        }
        if let Some(series) = &report.soak
            && let Err(e) = plot::panels(
                &common.out.join(format!("{stem}-series.png")),
                &format!("{} {}", common.label, report.scenario),
                &series.panels(),
            )
        {
            eprintln!("loadgen: series plot skipped: {e}");
        }
        if let Err(e) = plot::throughput(
            &common.out.join(format!("{stem}-throughput.png")),
            &title,
            &report.timeline,
        ) {
            eprintln!("loadgen: throughput plot skipped: {e}");
        }
    }
    Ok(())
}

fn params_line(report: &Report) -> String {
    match report.params.as_object() {
        Some(o) => o
            .iter()
            .filter(|(k, v)| v.is_number() && !k.ends_with("secs") && *k != "seed")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
        None => String::new(),
    }
}

/// Refuses any target that is not a loopback address.
pub fn check_loopback(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("bad URL {url}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ok = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    anyhow::ensure!(
        ok,
        "loadgen only targets loopback addresses (127.0.0.0/8, ::1, localhost), not {url}"
    );
    Ok(())
}

/// The gateway URL for a server base URL.
pub fn gateway_url(base: &str) -> String {
    let host = base
        .trim_end_matches('/')
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    format!("ws://{host}/?v=10&encoding=json")
}

/// Resolves once `stop` is (or becomes) true; also when its sender is gone.
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// A seconds value from the command line as a Duration.
pub(crate) fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// The latency marker put into message content: `lg <seq> <µs since run start>`.
pub(crate) fn marker(seq: u64, t_us: u64) -> String {
    format!("lg {seq} {t_us}")
}

/// Finds the marker in a raw MESSAGE_CREATE/MESSAGE_UPDATE frame: (seq, µs at send).
pub(crate) fn parse_marker(raw: &str) -> Option<(u64, u64)> {
    let at = raw.find("\"content\":\"lg ")? + "\"content\":\"lg ".len();
    let rest = raw.get(at..)?;
    let end = rest.find('"')?;
    let mut parts = rest.get(..end)?.split(' ');
    let seq = parts.next()?.parse().ok()?;
    let t = parts.next()?.parse().ok()?;
    Some((seq, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip() {
        let m = marker(42, 123456);
        let frame =
            format!(r#"{{"t":"MESSAGE_CREATE","s":3,"op":0,"d":{{"content":"{m}","id":"1"}}}}"#);
        assert_eq!(parse_marker(&frame), Some((42, 123456)));
        assert_eq!(parse_marker(r#"{"d":{"content":"hello"}}"#), None);
    }

    #[test]
    fn loopback_only() {
        assert!(check_loopback("http://127.0.0.1:3001").is_ok());
        assert!(check_loopback("http://127.0.0.5:1").is_ok());
        assert!(check_loopback("http://localhost:3001").is_ok());
        assert!(check_loopback("http://[::1]:3001").is_ok());
        assert!(check_loopback("http://10.0.0.1:3001").is_err());
        assert!(check_loopback("http://example.com").is_err());
    }

    #[test]
    fn gateway_url_from_base() {
        assert_eq!(
            gateway_url("http://127.0.0.1:3001/"),
            "ws://127.0.0.1:3001/?v=10&encoding=json"
        );
    }
}
