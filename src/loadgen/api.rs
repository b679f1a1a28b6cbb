//! The REST side of the load generator: a thin client over the public Discord API, the setup
//! helpers (users, guilds, channels, invites) and the optional admin-config lift.

use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::{Value, json};

/// A REST client for one server (`<url>/api/v10`).
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    /// The server's root URL (for `/metrics`, outside `/api`).
    root: String,
}

/// One answer: status and body (JSON, or a string when it was not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn retry_after(&self) -> Duration {
        let secs = self.body["retry_after"].as_f64().unwrap_or(1.0);
        Duration::from_secs_f64(secs.clamp(0.01, 10.0))
    }
}

/// A user the load generator registered.
#[derive(Debug, Clone)]
pub struct User {
    pub token: String,
    pub id: String,
}

impl Api {
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            base: format!("{}/api/v10", url.trim_end_matches('/')),
            root: url.trim_end_matches('/').to_string(),
        })
    }

    /// `GET /metrics` (Prometheus text) with an admin token as a Bearer credential, the way
    /// Prometheus is configured to scrape it.
    pub async fn metrics(&self, admin_token: &str) -> anyhow::Result<String> {
        let r = self
            .http
            .get(format!("{}/metrics", self.root))
            .header("authorization", format!("Bearer {admin_token}"))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "GET /metrics: {}", r.status());
        Ok(r.text().await?)
    }

    /// One request; transport errors are errors, every HTTP status is an answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Resp, reqwest::Error> {
        self.request(method, path, token, body, true).await
    }

    /// [`Api::call`] for a measured request whose successful answer is not looked at: the body
    /// is read in full but parsed only when the status is not a success (a 429's `retry_after`,
    /// a failure's message; `body` is `null` otherwise). The client shares the CPU with the
    /// server under test, and decoding 50-message history pages it throws away took a good
    /// part of it.
    pub async fn call_measured(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Resp, reqwest::Error> {
        self.request(method, path, token, body, false).await
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        parse_success: bool,
    ) -> Result<Resp, reqwest::Error> {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.header("authorization", t);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        let resp = r.send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let body = if bytes.is_empty() || (!parse_success && (200..300).contains(&status)) {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Resp { status, body })
    }

    /// A setup call: retried on 429 (honouring `retry_after`) and on transport errors, an
    /// error for any other non-2xx answer.
    pub async fn setup(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.call(method.clone(), path, token, body).await {
                Ok(r) if r.ok() => return Ok(r.body),
                Ok(r) if r.status == 429 && attempts < 200 => {
                    tokio::time::sleep(r.retry_after()).await;
                }
                Ok(r) => anyhow::bail!("{method} {path}: {} {}", r.status, r.body),
                Err(e) if attempts < 5 => {
                    tracing::debug!(error = %e, "setup call failed, retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempts)).await;
                }
                Err(e) => return Err(e).with_context(|| format!("{method} {path}")),
            }
        }
    }

    /// Registers a user (the account the load generator works with).
    pub async fn register(&self, name: &str) -> anyhow::Result<User> {
        let body = json!({
            "username": name,
            "email": format!("{name}@example.com"),
            "password": "loadgen password 1",
            "date_of_birth": "2000-01-01",
            "consent": true,
        });
        let r = self
            .setup(Method::POST, "/auth/register", None, Some(&body))
            .await?;
        let token = r["token"]
            .as_str()
            .context("register: no token in the answer")?
            .to_string();
        let me = self
            .setup(Method::GET, "/users/@me", Some(&token), None)
            .await?;
        let id = me["id"].as_str().unwrap_or_default().to_string();
        Ok(User { token, id })
    }

    /// Registers `count` users named `<prefix><i>`, `concurrency` at a time.
    pub async fn register_many(
        &self,
        prefix: &str,
        count: usize,
        concurrency: usize,
    ) -> anyhow::Result<Vec<User>> {
        futures::stream::iter(0..count)
            .map(|i| {
                let name = format!("{prefix}{i}");
                async move { self.register(&name).await }
            })
            .buffered(concurrency.max(1))
            .try_collect()
            .await
    }

    /// Creates a guild; returns its id and its first text channel's id.
    pub async fn guild(&self, owner: &User, name: &str) -> anyhow::Result<(String, String)> {
        let g = self
            .setup(
                Method::POST,
                "/guilds",
                Some(&owner.token),
                Some(&json!({"name": name})),
            )
            .await?;
        let id = g["id"].as_str().context("guild: no id")?.to_string();
        let channels = self
            .setup(
                Method::GET,
                &format!("/guilds/{id}/channels"),
                Some(&owner.token),
                None,
            )
            .await?;
        let channel = channels
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == 0))
            .and_then(|c| c["id"].as_str())
            .context("guild: no text channel")?
            .to_string();
        Ok((id, channel))
    }

    /// Creates another text channel in a guild.
    pub async fn channel(&self, owner: &User, guild: &str, name: &str) -> anyhow::Result<String> {
        let c = self
            .setup(
                Method::POST,
                &format!("/guilds/{guild}/channels"),
                Some(&owner.token),
                Some(&json!({"name": name, "type": 0})),
            )
            .await?;
        Ok(c["id"].as_str().context("channel: no id")?.to_string())
    }

    /// An invite to a channel that never expires, and every user in `members` accepts it.
    pub async fn join_all(
        &self,
        owner: &User,
        channel: &str,
        members: &[User],
        concurrency: usize,
    ) -> anyhow::Result<()> {
        let invite = self
            .setup(
                Method::POST,
                &format!("/channels/{channel}/invites"),
                Some(&owner.token),
                Some(&json!({"max_age": 0, "max_uses": 0})),
            )
            .await?;
        let code = invite["code"].as_str().context("invite: no code")?;
        futures::stream::iter(members)
            .map(|m| async move {
                self.setup(
                    Method::POST,
                    &format!("/invites/{code}"),
                    Some(&m.token),
                    None,
                )
                .await
                .map(|_| ())
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect::<()>()
            .await
    }
}

/// A short random tag so names of one run don't collide with an earlier run's.
pub fn run_tag() -> String {
    format!("{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// Settings the load generator changes through the admin API, restored after the run.
pub struct Lift {
    restore: Vec<Value>,
    token: String,
}

/// Each change is one merge patch, tried on its own: a server that rejects one (unknown key,
/// validation) still gets the others.
type Setting = (&'static [&'static str], fn() -> Value);

const LIFTS: &[Setting] = &[
    (&["limits", "rate", "enabled"], || json!(false)),
    (&["security", "argon2_memory_kib"], || json!(64)),
    (&["security", "argon2_iterations"], || json!(1)),
    (&["gateway", "max_sessions_per_user"], || json!(100_000)),
    (&["gateway", "session_start_limit_total"], || {
        json!(10_000_000)
    }),
    (&["gateway", "identify_max_concurrency"], || json!(1024)),
];

/// Lifts rate limits and the like for the run when an admin token is given and the server has
/// Accord's admin config API; `None` otherwise (the run continues with the server's settings).
pub async fn lift_limits(api: &Api, token: Option<&str>) -> Option<Lift> {
    let token = token?;
    let current = match api
        .call(Method::GET, "/admin/config", Some(token), None)
        .await
    {
        Ok(r) if r.ok() => r.body,
        Ok(r) => {
            eprintln!(
                "loadgen: admin config not available ({}); running with the server's limits",
                r.status
            );
            return None;
        }
        Err(e) => {
            eprintln!(
                "loadgen: admin config not available ({e}); running with the server's limits"
            );
            return None;
        }
    };
    let mut restore = Vec::new();
    for (path, value) in LIFTS {
        let old = path.iter().fold(&current, |v, k| &v[*k]);
        if old.is_null() {
            continue;
        }
        let patch = nest(path, value());
        match api
            .call(Method::PATCH, "/admin/config", Some(token), Some(&patch))
            .await
        {
            Ok(r) if r.ok() => restore.push(nest(path, old.clone())),
            Ok(r) => eprintln!(
                "loadgen: admin config refused {patch}: {} {}",
                r.status, r.body
            ),
            Err(e) => eprintln!("loadgen: admin config {patch}: {e}"),
        }
    }
    Some(Lift {
        restore,
        token: token.to_string(),
    })
}

impl Lift {
    /// Puts the changed settings back.
    pub async fn restore(&self, api: &Api) {
        for patch in &self.restore {
            if let Err(e) = api
                .call(
                    Method::PATCH,
                    "/admin/config",
                    Some(&self.token),
                    Some(patch),
                )
                .await
            {
                eprintln!("loadgen: could not restore {patch}: {e}");
            }
        }
    }
}

fn nest(path: &[&str], leaf: Value) -> Value {
    path.iter()
        .rev()
        .fold(leaf, |inner, key| json!({ *key: inner }))
}
