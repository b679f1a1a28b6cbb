//! Every response in Discord's exact shape: a walk that builds one of everything over HTTP (users,
//! a bot and its commands, a guild with channels, roles, members, messages with reactions,
//! attachments and embeds, invites, webhooks, emojis, stickers, bans, templates, DMs, an
//! interaction, an audit log) and calls every operation that both Accord serves and Discord's
//! public OpenAPI document describes. Each 2xx response is checked against that operation's 2xx
//! response schema in the shared spec (status, required fields, types, nullability, formats;
//! see `spec.rs`). The test fails on any response that does not conform and on any such
//! operation the walk does not reach, and prints how many operations conform.

#[path = "../common/mod.rs"]
mod common;
mod spec;
mod walk;

use std::collections::{BTreeMap, BTreeSet};

use common::TestServer;
use reqwest::Method;
use serde_json::Value;
use spec::{DiscordSpec, Operation};

/// Operations Accord serves that no walk can answer with a 2xx, and why.
const UNREACHABLE: &[(&str, &str, &str)] = &[(
    "get",
    "/sticker-packs/{pack_id}",
    "there are no standard sticker packs on an instance (the list is empty), so every id is 404",
)];

/// The walk's record: each operation reached and what was wrong with its responses.
pub struct Shapes {
    pub t: TestServer,
    spec: DiscordSpec,
    /// Operation → problems (empty: every response so far conformed).
    seen: BTreeMap<Operation, Vec<String>>,
    /// Requests whose path matched no operation of the spec (Accord's own routes), by path.
    outside: BTreeSet<String>,
}

/// A response: status and JSON body (`Null` when empty).
pub type Resp = common::Resp;

impl Shapes {
    fn new(t: TestServer) -> Shapes {
        Shapes {
            t,
            spec: DiscordSpec::load(),
            seen: BTreeMap::new(),
            outside: BTreeSet::new(),
        }
    }

    /// Sends a JSON request and checks the response against the spec.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let r = self.t.req(method.clone(), path, token, body).await;
        self.record(&method, path, &r);
        r
    }

    pub async fn get(&mut self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&mut self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&mut self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn put(&mut self, path: &str, token: &str, body: Option<Value>) -> Resp {
        self.call(Method::PUT, path, Some(token), body).await
    }

    pub async fn delete(&mut self, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Sends a `multipart/form-data` POST or PATCH and checks the response.
    pub async fn multipart(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        form: reqwest::multipart::Form,
    ) -> Resp {
        let r = self
            .t
            .http
            .request(method.clone(), self.t.url(path))
            .header("authorization", token)
            .multipart(form)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        let r = Resp { status, body };
        self.record(&method, path, &r);
        r
    }

    fn record(&mut self, method: &Method, path: &str, r: &Resp) {
        let method = method.as_str().to_lowercase();
        let Some(op) = self.spec.operation(&method, path).cloned() else {
            self.outside
                .insert(format!("{} {path}", method.to_uppercase()));
            return;
        };
        let problems = self.seen.entry(op.clone()).or_default();
        if let Err(e) = self.spec.check(&op, r.status, &r.body) {
            problems.push(format!("{path}: {e}"));
        }
    }
}

/// The id in a response body, or a panic that says which fixture failed.
pub fn id(r: &Resp, what: &str) -> String {
    r.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: status {} {}", r.status, r.body))
        .to_string()
}

#[tokio::test]
async fn every_response_has_discords_shape() {
    let mut s = Shapes::new(common::start().await);
    walk::run(&mut s).await;

    // Which of Accord's routes Discord's spec also describes: each must have been reached.
    let served: BTreeSet<Operation> = accord::api::openapi::routes()
        .filter_map(|(_, r)| {
            s.spec
                .operation_for_template(r.method.as_str(), r.path)
                .cloned()
        })
        .collect();
    let unreachable: BTreeSet<Operation> = UNREACHABLE
        .iter()
        .map(|(m, p, _)| Operation {
            method: m.to_string(),
            template: p.to_string(),
        })
        .collect();
    let missed: Vec<String> = served
        .iter()
        .filter(|op| !s.seen.contains_key(*op) && !unreachable.contains(*op))
        .map(|op| op.to_string())
        .collect();

    let failing: Vec<(&Operation, &Vec<String>)> =
        s.seen.iter().filter(|(_, p)| !p.is_empty()).collect();
    let conforming = s.seen.len() - failing.len();
    for (op, problems) in &failing {
        eprintln!("✗ {op}");
        for p in problems.iter().take(3) {
            eprintln!("    {}", p.replace('\n', "\n    "));
        }
    }
    eprintln!(
        "{conforming} of {} operations conform to Discord's spec ({} operations of the spec are served by Accord, {} of the spec's {} in all); {} requests were to Accord-only routes",
        s.seen.len(),
        served.len(),
        s.seen.len(),
        s.spec.operations().len(),
        s.outside.len()
    );
    assert!(
        missed.is_empty(),
        "operations Accord serves that the walk never reached: {missed:#?}"
    );
    assert!(
        failing.is_empty(),
        "{} operations answer outside Discord's schema: {:#?}",
        failing.len(),
        failing
            .iter()
            .map(|(op, _)| op.to_string())
            .collect::<Vec<_>>()
    );
    s.t.stop().await;
}
