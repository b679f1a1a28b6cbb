//! Test harness: a real server on 127.0.0.1:0 with a fresh embedded store, and small HTTP and
//! gateway clients that talk to it the way client libraries do.
#![allow(dead_code)]

use std::time::Duration;

use accord::store::Durability;
use accord::{ServeOptions, Server, StoreChoice};
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

pub struct TestServer {
    pub server: Option<Server>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

pub async fn start() -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    start_in(dir).await
}

pub async fn start_in(dir: tempfile::TempDir) -> TestServer {
    let server = accord::start(ServeOptions {
        store: StoreChoice::Embedded {
            data_dir: dir.path().to_path_buf(),
            durability: Durability::Eventual,
            eventual_flush: Default::default(),
        },
        listen: Some("127.0.0.1:0".into()),
        cdn_listen: None,
        cluster: None,
        secret: None,
    })
    .await
    .expect("server starts");
    let mut t = wrap(server).await;
    t.dir = dir;
    t
}

/// Test settings on a started server (any backend), wrapped in the harness.
pub async fn wrap(server: Server) -> TestServer {
    // Fast hashing keeps the suite quick (the defaults are exercised by unit tests), and generous
    // rate limits keep tests that hammer one route deterministic; tests/ratelimits.rs sets its own.
    server
        .app
        .config()
        .apply_patch(
            server.app.store().as_ref(),
            &json!({
                "security": {"argon2_memory_kib": 64, "argon2_iterations": 1},
                "gateway": {"identify_max_concurrency": 1000, "max_sessions_per_user": 1000},
                "limits": {"rate": {"global_per_second": 10000, "route_count": 10000, "message_create_count": 10000, "ip_count": 10000, "bot": {"global_per_second": 10000, "route_count": 10000, "message_create_count": 10000}}},
            }),
        )
        .await
        .expect("patch");
    TestServer {
        server: Some(server),
        dir: tempfile::tempdir().expect("tempdir"),
        http: reqwest::Client::new(),
    }
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl TestServer {
    pub fn srv(&self) -> &Server {
        self.server.as_ref().expect("running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v10{}", self.srv().url(), path)
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.server.take() {
            s.shutdown().await.expect("clean shutdown");
        }
        self.dir
    }

    pub async fn req(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        self.req_with(method, path, token, body, &[]).await
    }

    pub async fn req_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut r = self.http.request(method, self.url(path));
        if let Some(t) = token {
            r = r.header("authorization", t);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp { status, body }
    }

    /// A multipart request (file uploads), answered as [`TestServer::req`] answers.
    pub async fn multipart(
        &self,
        method: Method,
        path: &str,
        token: &str,
        form: reqwest::multipart::Form,
    ) -> Resp {
        let resp = self
            .http
            .request(method, self.url(path))
            .header("authorization", token)
            .multipart(form)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp { status, body }
    }

    /// A GET whose answer need not be JSON (CSV, images): status, content type and bytes.
    pub async fn get_raw(&self, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.header("authorization", t);
        }
        let r = r.send().await.expect("request");
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, kind, r.bytes().await.expect("body").to_vec())
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.req(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.req(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.req(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.req(Method::DELETE, path, Some(token), None).await
    }

    /// Registers a user and returns its token.
    pub async fn register(&self, name: &str) -> String {
        let r = self
            .req(
                Method::POST,
                "/auth/register",
                None,
                Some(json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse battery", "date_of_birth": "2000-01-01", "consent": true})),
            )
            .await;
        assert_eq!(r.status, 200, "register {name}: {}", r.body);
        r.body["token"].as_str().expect("token").to_string()
    }

    pub async fn me(&self, token: &str) -> Value {
        let r = self.get("/users/@me", token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Creates a guild; returns (guild id, first text channel id).
    pub async fn guild(&self, token: &str, name: &str) -> (String, String) {
        let r = self.post("/guilds", token, json!({"name": name})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["id"].as_str().expect("id").to_string();
        let channels = self.get(&format!("/guilds/{id}/channels"), token).await;
        let text = channels
            .body
            .as_array()
            .expect("channels")
            .iter()
            .find(|c| c["type"] == 0)
            .expect("text channel")["id"]
            .as_str()
            .expect("id")
            .to_string();
        (id, text)
    }

    /// `joiner` joins the guild of `channel` through a fresh invite made by `inviter`.
    pub async fn join_via_invite(&self, inviter: &str, channel: &str, joiner: &str) {
        let inv = self
            .post(&format!("/channels/{channel}/invites"), inviter, json!({}))
            .await;
        assert_eq!(inv.status, 200, "invite: {}", inv.body);
        let code = inv.body["code"].as_str().expect("invite code");
        let joined = self
            .post(&format!("/invites/{code}"), joiner, json!({}))
            .await;
        assert_eq!(joined.status, 200, "join: {}", joined.body);
    }

    /// A lasting invite (no expiry, no use limit) to the guild of `channel`, made by `token`.
    pub async fn invite_code(&self, token: &str, channel: &str) -> String {
        let inv = self
            .post(
                &format!("/channels/{channel}/invites"),
                token,
                json!({"max_age": 0, "max_uses": 0}),
            )
            .await;
        assert_eq!(inv.status, 200, "{}", inv.body);
        inv.body["code"].as_str().expect("code").to_string()
    }

    /// `token`'s user joins through invite `code`.
    pub async fn join(&self, token: &str, code: &str) {
        let r = self
            .post(&format!("/invites/{code}"), token, json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// An application of `owner`'s with a bot user, added to `guild` through the OAuth2 bot
    /// flow with `scope` (URL-encoded, e.g. `bot` or `bot%20applications.commands`) and
    /// `permissions` (a bitfield string).
    pub async fn bot_in_guild(
        &self,
        owner: &str,
        guild: &str,
        name: &str,
        scope: &str,
        permissions: &str,
    ) -> BotApp {
        let app = self
            .post("/applications", owner, json!({"name": name}))
            .await;
        assert_eq!(app.status, 201, "{}", app.body);
        let app_id = app.body["id"].as_str().expect("application id").to_string();
        let bot = self
            .post(&format!("/applications/{app_id}/bot"), owner, json!({}))
            .await;
        assert!((200..300).contains(&bot.status), "{}", bot.body);
        let token = format!("Bot {}", bot.body["token"].as_str().expect("bot token"));
        let added = self
            .post(
                &format!("/oauth2/authorize?client_id={app_id}&scope={scope}"),
                owner,
                json!({"guild_id": guild, "permissions": permissions, "authorize": true}),
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.body);
        let app_json = self.get(&format!("/applications/{app_id}"), owner).await;
        let bot_id = app_json.body["bot"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("bot of {}", app_json.body))
            .to_string();
        BotApp {
            app_id,
            bot_id,
            token,
        }
    }

    /// Makes the user an instance admin, as `accord admin grant` does.
    pub async fn make_admin(&self, token: &str) {
        let me = self.me(token).await;
        let id: accord::id::UserId = me["id"].as_str().unwrap().parse().unwrap();
        let store = self.srv().app.store();
        let mut u = store.get_user(id).await.unwrap().unwrap();
        u.admin = true;
        store.update_user(&u).await.unwrap();
        self.srv().app.auth.refresh(&u);
        self.srv().app.services.users.updated(u);
    }

    pub fn gateway_url(&self, query: &str) -> String {
        format!("ws://{}/?{query}", self.srv().addr)
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An application with its bot in a guild (see [`TestServer::bot_in_guild`]).
#[allow(dead_code)] // each test crate compiles this module and uses what it needs
pub struct BotApp {
    pub app_id: String,
    pub bot_id: String,
    /// `Bot <token>`, ready for the Authorization header.
    pub token: String,
}

/// A gateway client speaking plain JSON or zlib-stream.
pub struct Gateway {
    pub ws: Ws,
    inflate: Option<flate2::Decompress>,
    buf: Vec<u8>,
    pub seq: u64,
}

pub const WAIT: Duration = Duration::from_secs(10);

impl Gateway {
    pub async fn connect(url: &str, zlib: bool) -> Gateway {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Gateway {
            ws,
            inflate: zlib.then(|| flate2::Decompress::new(true)),
            buf: Vec::new(),
            seq: 0,
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// The next gateway payload; panics on timeout or close.
    pub async fn recv(&mut self) -> Value {
        match self.next().await {
            Ok(v) => v,
            Err(close) => panic!("connection closed: {close:?}"),
        }
    }

    /// The next payload, or the close code.
    pub async fn next(&mut self) -> Result<Value, Option<u16>> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("gateway timeout");
            let Some(Ok(msg)) = msg else { return Err(None) };
            let bytes: Vec<u8> = match msg {
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Binary(b) => b.to_vec(),
                Message::Close(frame) => return Err(frame.map(|f| u16::from(f.code))),
                _ => continue,
            };
            let text = match &mut self.inflate {
                None => bytes,
                Some(z) => {
                    self.buf.extend_from_slice(&bytes);
                    if !self.buf.ends_with(&[0, 0, 0xff, 0xff]) {
                        continue;
                    }
                    let mut out = Vec::with_capacity(self.buf.len() * 8);
                    let input = std::mem::take(&mut self.buf);
                    let mut consumed = 0;
                    loop {
                        out.reserve(64 * 1024);
                        let before = z.total_in();
                        z.decompress_vec(
                            &input[consumed..],
                            &mut out,
                            flate2::FlushDecompress::Sync,
                        )
                        .expect("inflate");
                        consumed += (z.total_in() - before) as usize;
                        if consumed >= input.len() {
                            break;
                        }
                    }
                    out
                }
            };
            let v: Value = serde_json::from_slice(&text).expect("json frame");
            if let Some(s) = v["s"].as_u64() {
                self.seq = s;
            }
            return Ok(v);
        }
    }

    /// Waits for a dispatch with the given name, skipping others.
    pub async fn event(&mut self, name: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["op"] == 0 && v["t"] == name {
                return v["d"].clone();
            }
        }
    }

    /// HELLO → IDENTIFY → READY. Returns READY's data.
    pub async fn identify(&mut self, token: &str, intents: u64) -> Value {
        let hello = self.recv().await;
        assert_eq!(hello["op"], 10);
        assert!(hello["d"]["heartbeat_interval"].as_u64().unwrap() > 0);
        self.send(json!({"op": 2, "d": {"token": token, "intents": intents, "properties": {"os": "linux", "browser": "test", "device": "test"}}})).await;
        self.event("READY").await
    }
}

/// The first error code Discord's error body gives for the field at `path` (`errors.a.b._errors`),
/// or "" when there is none.
pub fn field_code(body: &Value, path: &[&str]) -> String {
    let mut v = &body["errors"];
    for p in path {
        v = &v[*p];
    }
    v["_errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A guild owned by Alice, with Bob as a plain member who joined through `invite` (lasting).
pub struct OwnerAndMember {
    pub t: TestServer,
    pub alice: String,
    pub alice_id: String,
    pub bob: String,
    pub bob_id: String,
    pub guild: String,
    pub channel: String,
    pub invite: String,
}

/// [`OwnerAndMember`] on a fresh server, the guild named `guild_name`.
pub async fn owner_and_member(guild_name: &str) -> OwnerAndMember {
    let t = start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let alice_id = t.me(&alice).await["id"].as_str().expect("id").to_string();
    let bob_id = t.me(&bob).await["id"].as_str().expect("id").to_string();
    let (guild, channel) = t.guild(&alice, guild_name).await;
    let invite = t.invite_code(&alice, &channel).await;
    t.join(&bob, &invite).await;
    OwnerAndMember {
        t,
        alice,
        alice_id,
        bob,
        bob_id,
        guild,
        channel,
        invite,
    }
}
