//! The live-server side of the fuzz targets: a fixture of real objects whose ids fill the path
//! parameters (so generated bodies reach the handlers' validation, not just a 404), and the
//! check every response must pass.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::common::TestServer;
use crate::inputs::PNG_1X1;

/// Real objects on the server, by path parameter name.
pub struct Fixture {
    pub owner: String,
    pub params: HashMap<&'static str, String>,
}

impl Fixture {
    /// Registers two users (`n` keeps names unique), a guild both are in, and one of most things.
    pub async fn build(t: &TestServer, n: u64) -> Fixture {
        let owner = t.register(&format!("fuzzowner{n}")).await;
        let other = t.register(&format!("fuzzother{n}")).await;
        let (guild, channel) = t.guild(&owner, "fuzz guild").await;
        t.join_via_invite(&owner, &channel, &other).await;
        let mut params: HashMap<&'static str, String> = HashMap::new();
        let id = |v: &Value| v["id"].as_str().unwrap_or("0").to_string();
        let other_id = id(&t.me(&other).await);
        let message = t
            .post(
                &format!("/channels/{channel}/messages"),
                &owner,
                json!({"content": format!("hello <@{other_id}>")}),
            )
            .await;
        let role = t
            .post(
                &format!("/guilds/{guild}/roles"),
                &owner,
                json!({"name": "r"}),
            )
            .await;
        let webhook = t
            .post(
                &format!("/channels/{channel}/webhooks"),
                &owner,
                json!({"name": "hook"}),
            )
            .await;
        let app = t
            .post("/applications", &owner, json!({"name": "fuzz app"}))
            .await;
        let team = t.post("/teams", &owner, json!({"name": "fuzz team"})).await;
        let template = t
            .post(
                &format!("/guilds/{guild}/templates"),
                &owner,
                json!({"name": "tpl"}),
            )
            .await;
        let emoji = t
            .post(
                &format!("/guilds/{guild}/emojis"),
                &owner,
                json!({"name": "fuzz", "image": format!("data:image/png;base64,{PNG_1X1}")}),
            )
            .await;
        let invite = t
            .post(&format!("/channels/{channel}/invites"), &owner, json!({}))
            .await;
        params.insert("guild_id", guild);
        params.insert("channel_id", channel);
        params.insert("user_id", other_id);
        params.insert("message_id", id(&message.body));
        params.insert("role_id", id(&role.body));
        params.insert("overwrite_id", id(&role.body));
        params.insert("webhook_id", id(&webhook.body));
        params.insert(
            "token",
            webhook.body["token"].as_str().unwrap_or("x").to_string(),
        );
        params.insert("application_id", id(&app.body));
        params.insert("team_id", id(&team.body));
        params.insert("emoji_id", id(&emoji.body));
        params.insert("emoji", "%F0%9F%91%8D".into());
        params.insert(
            "code",
            invite.body["code"]
                .as_str()
                .or_else(|| template.body["code"].as_str())
                .unwrap_or("x")
                .to_string(),
        );
        params.insert("connection_type", "github".into());
        Fixture { owner, params }
    }

    /// All ids of the fixture (for the generator's value dictionary).
    pub fn ids(&self) -> Vec<String> {
        self.params
            .values()
            .filter(|v| v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty())
            .cloned()
            .collect()
    }

    /// `path` with its `{params}` filled from the fixture (unknown ones get a fresh snowflake).
    pub fn fill(&self, path: &str) -> String {
        let mut out = String::new();
        let mut rest = path;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 1..start + end];
            out.push_str(
                self.params
                    .get(name)
                    .map_or("175928847299117063", String::as_str),
            );
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// Sends a request; the result is the status and the body text, or why there was no response.
pub async fn send(
    t: &TestServer,
    method: reqwest::Method,
    path_and_query: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<(u16, String), String> {
    let request = |client: &reqwest::Client| {
        let mut r = client.request(method.clone(), t.url(path_and_query));
        if let Some(tok) = token {
            r = r.header("authorization", tok);
        }
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        if let Some(b) = &body {
            r = r.body(b.clone());
        }
        r
    };
    let resp = match request(&t.http).send().await {
        Ok(resp) => resp,
        // A pooled keep-alive connection the server closed just as it was reused fails the
        // same way a server dropping the request would; the same request on a fresh
        // connection tells the two apart (a dropped request drops again).
        Err(first) => request(&reqwest::Client::new()).send().await.map_err(|e| {
            format!("no response, twice (connection dropped: a panic?): {first:?}; then {e:?}")
        })?,
    };
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("body cut off: {e}"))?;
    Ok((status, text))
}

/// Never a 5xx; a 4xx is a Discord error object (`code` and `message`, `errors` with 50035),
/// except on the OAuth2 token endpoints, which answer RFC 6749's `{error, error_description}`
/// as Discord's do; a 2xx body is JSON or empty.
pub fn check_response(url: &str, status: u16, text: &str) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("{status}: {}", clip(text)));
    }
    if (200..300).contains(&status) {
        // The two routes whose success is not JSON, as in Discord's spec: a CSV of user ids
        // and a PNG badge.
        let path = url.split('?').next().unwrap_or(url);
        if path.ends_with("/target-users") || path.ends_with("/widget.png") {
            return Ok(());
        }
        if !text.is_empty() && serde_json::from_str::<Value>(text).is_err() {
            return Err(format!(
                "{status} with a body that is not JSON: {}",
                clip(text)
            ));
        }
        return Ok(());
    }
    if status >= 400 {
        let v: Value = serde_json::from_str(text)
            .map_err(|_| format!("{status} with a body that is not JSON: {}", clip(text)))?;
        let token_endpoint = url
            .split('?')
            .next()
            .is_some_and(|p| p.ends_with("/oauth2/token") || p.ends_with("/oauth2/token/revoke"));
        if token_endpoint && matches!(status, 400 | 401) {
            if !v["error"].is_string() || !v["error_description"].is_string() {
                return Err(format!("{status} without an OAuth2 error: {}", clip(text)));
            }
            return Ok(());
        }
        if !v["message"].is_string() {
            return Err(format!("{status} without a message: {}", clip(text)));
        }
        if status != 429 && !v["code"].is_u64() {
            return Err(format!("{status} without a numeric code: {}", clip(text)));
        }
        if v["code"] == 50035 && !v["errors"].is_object() {
            return Err(format!("50035 without errors: {}", clip(text)));
        }
        for leak in ["panicked", "src/", ".rs:", "CQL", "redb"] {
            if text.contains(leak) {
                return Err(format!("{status} leaks internals ({leak}): {}", clip(text)));
            }
        }
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.chars().take(300).collect()
}
