//! The authorization matrix: every REST operation, called by every kind of caller that must be
//! refused, and by the one that must not.
//!
//! The operations are `accord::api::openapi::routes()` — the table `/api/openapi.json` is built
//! from and the router's registrations are checked against (src/api/openapi/drift.rs) — and
//! each must have exactly one row in `authz/rows.rs`, so a new route without a row fails here.
//!
//! Each row is called, on fixtures made once (`authz/world.rs`):
//! - without a token → 401, code 0;
//! - with a disabled account's token (taken before it was disabled) → 401, code 0;
//! - by an unrelated user and by a banned member → Discord's hiding answer (404 Unknown X, or
//!   403 50001 Missing Access) on guild, channel and owned resources;
//! - by a member whose roles lack the permission → 403 50013 Missing Permissions;
//! - with a bot token → 403 20001 where bots are refused, else as an unrelated user;
//! - by a non-admin on `/admin/*` → 403;
//! - with a wrong secret in the path (webhook and interaction tokens) → 401/404, and with a
//!   real one where it doesn't belong (another webhook's token; the right token on a message
//!   the webhook didn't send) → 404.
//!
//! Every refusal must be a Discord error body (`code`, `message`) that shows none of the
//! resource's content (every fixture name carries a marker, and no token may appear). Then the
//! rightful caller makes the same call and gets its 2xx (a few rows name another status and why).
//! Refusals run concurrently on one server; rightful calls run after them, in row order.

mod common;

mod authz {
    pub mod rows;
    pub mod world;
}

use std::collections::{BTreeSet, HashSet};

use authz::rows::{Access, Row, Secret, rows};
use authz::world::{Who, World, upload_sticker};
use futures::StreamExt;
use reqwest::Method;
use serde_json::Value;

/// How a caller must be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denial {
    /// 401, code 0.
    Unauthorized,
    /// 404 with an Unknown X code (100xx), or 403 50001 Missing Access.
    Hidden,
    /// 403 50013.
    MissingPermissions,
    /// 403 20001 Bots cannot use this endpoint.
    BotsRefused,
    /// A wrong webhook/interaction token: 401 or 404 (0, 50027 Invalid Webhook Token, 10015
    /// Unknown Webhook, 10062 Unknown Interaction).
    WrongSecret,
    /// 403 50013 (admin required).
    NotAdmin,
    /// 403 50005 Cannot edit a message authored by another user.
    NotAuthor,
    /// 403 40007 The user is banned from this guild.
    Banned,
    /// A real webhook token on what it doesn't cover: 404 (10015 Unknown Webhook, 10008
    /// Unknown Message) or 401 50027.
    CrossedSecret,
}

impl Denial {
    fn accepts(self, status: u16, code: u64) -> bool {
        match self {
            Denial::Unauthorized => (status, code) == (401, 0),
            Denial::Hidden => {
                (status == 404 && (10001..=10099).contains(&code)) || (status, code) == (403, 50001)
            }
            Denial::MissingPermissions | Denial::NotAdmin => (status, code) == (403, 50013),
            Denial::BotsRefused => (status, code) == (403, 20001),
            Denial::WrongSecret => {
                matches!(status, 401 | 404) && matches!(code, 0 | 50027 | 10015 | 10062)
            }
            Denial::Banned => (status, code) == (403, 40007),
            Denial::NotAuthor => (status, code) == (403, 50005),
            Denial::CrossedSecret => {
                matches!((status, code), (404, 10015 | 10008 | 10062) | (401, 50027))
            }
        }
    }
}

/// The callers that must be refused somewhere.
const ATTACKERS: [Who; 6] = [
    Who::Nobody,
    Who::Outsider,
    Who::Member,
    Who::Banned,
    Who::Disabled,
    Who::Bot,
];

/// Refusals that the matrix finds wrong today and that are not fixed yet: listed so the rest of
/// the matrix guards against regressions. The test fails when an entry starts passing (remove
/// it) or when a failure is not listed (a new hole, or a wrong row). Empty since issue 18 closed
/// the last ones (teams answered strangers 404 code 0 instead of 10039 Unknown Team and served
/// bots; bots could add and remove group DM recipients).
const KNOWN_HOLES: &[&str] = &[];

/// How `who` must be refused on `row`; None: it may call it (or the row doesn't apply to it).
fn denial(row: &Row, who: Who) -> Option<Denial> {
    let open = matches!(row.access, Access::Public | Access::PathSecret);
    match who {
        Who::Nobody => match row.access {
            Access::Public => None,
            Access::PathSecret => Some(Denial::WrongSecret),
            _ => Some(Denial::Unauthorized),
        },
        Who::Disabled => (!open).then_some(Denial::Unauthorized),
        Who::Bot if row.no_bots => Some(Denial::BotsRefused),
        Who::Banned if row.path == "/invites/{code}" && row.method == "POST" => {
            Some(Denial::Banned)
        }
        // The outsider holds a real secret, used where it doesn't belong.
        Who::Outsider if row.access == Access::PathSecret => Some(Denial::CrossedSecret),
        _ if open || row.access == Access::Me => None,
        _ if row.access == Access::Admin => Some(Denial::NotAdmin),
        Who::Bot if row.bot_ok => None,
        // The bot is a member of the guild too, with the same permissions.
        Who::Member | Who::Bot => match row.access {
            Access::Channel { .. } if row.author_only => Some(Denial::NotAuthor),
            Access::Guild { perm } | Access::Channel { perm } => {
                (perm && !row.member_ok).then_some(Denial::MissingPermissions)
            }
            _ if row.member_lacks => Some(Denial::MissingPermissions),
            _ => (!row.member_ok).then_some(Denial::Hidden),
        },
        _ => Some(Denial::Hidden),
    }
}

/// Sends a row's request as `token`; returns the status and the body text.
async fn call(
    t: &common::TestServer,
    w: &World,
    row: &Row,
    token: Option<&str>,
    secret: Secret,
) -> (u16, String) {
    let path = row.url(w, secret);
    if row.sticker {
        let guild = path
            .trim_start_matches("/guilds/")
            .split('/')
            .next()
            .expect("guild id");
        let (status, body) = upload_sticker(t, token, guild).await;
        return (status, body.to_string());
    }
    let method = Method::from_bytes(row.method.as_bytes()).expect("method");
    let mut r = t.http.request(method, t.url(&path));
    if row.upload {
        r = r.multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"an attachment".to_vec()).file_name("a.txt"),
        ));
    }
    if let Some(csv) = row.csv {
        r = r.multipart(reqwest::multipart::Form::new().part(
            "target_users_file",
            reqwest::multipart::Part::bytes(csv(w).into_bytes()).file_name("users.csv"),
        ));
    }
    if let Some(token) = token {
        r = r.header("authorization", token);
    }
    if let Some(body) = row.body {
        r = r.json(&body(w));
    }
    let resp = r.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// What is wrong with a refusal, if anything.
fn check_refusal(w: &World, denial: Denial, status: u16, text: &str) -> Option<String> {
    if (200..300).contains(&status) {
        return Some(format!(
            "got {status}, expected a refusal ({denial:?}): {text}"
        ));
    }
    let body: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return Some(format!("{status} with a non-JSON body: {text:?}")),
    };
    let (Some(code), Some(_)) = (body["code"].as_u64(), body["message"].as_str()) else {
        return Some(format!("{status} without a Discord error body: {text}"));
    };
    if let Some(leak) = w.leaks(text) {
        return Some(format!("{status} body {leak}: {text}"));
    }
    (!denial.accepts(status, code))
        .then(|| format!("got {status} code {code}, expected {denial:?}: {text}"))
}

fn op(row: &Row) -> String {
    format!("{} {}", row.method, row.path)
}

#[test]
fn every_route_has_exactly_one_row() {
    let routes: BTreeSet<String> = accord::api::openapi::routes()
        .map(|(_, r)| format!("{} {}", r.method.as_str().to_uppercase(), r.path))
        .collect();
    let mut seen = HashSet::new();
    let dupes: Vec<String> = rows()
        .iter()
        .map(op)
        .filter(|o| !seen.insert(o.clone()))
        .collect();
    assert!(dupes.is_empty(), "rows listed twice: {dupes:?}");
    let rows: BTreeSet<String> = seen.into_iter().collect();
    let missing: Vec<_> = routes.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&routes).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without an authorization row (add one to tests/authz/rows.rs): {missing:#?}\n\
         rows for routes that don't exist: {stale:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix() {
    let t = common::start().await;
    let w = World::build(&t).await;
    let table = rows();

    // Refusals, all at once: none of them may change anything.
    let mut refusals = Vec::new();
    for row in &table {
        for who in ATTACKERS {
            if let Some(d) = denial(row, who) {
                refusals.push((row, who, d));
            }
        }
    }
    let checked = refusals.len();
    let mut failures: Vec<String> = futures::stream::iter(refusals)
        .map(|(row, who, d)| {
            let (t, w) = (&t, &w);
            async move {
                let (secret, token) = match d {
                    Denial::WrongSecret => (Secret::Wrong, None),
                    Denial::CrossedSecret => (Secret::Crossed, None),
                    _ => (Secret::Right, w.token(who)),
                };
                let (status, text) = call(t, w, row, token, secret).await;
                check_refusal(w, d, status, &text).map(|e| format!("{} as {who:?}: {e}", op(row)))
            }
        })
        .buffer_unordered(16)
        .filter_map(|f| async { f })
        .collect()
        .await;

    // The rightful callers, in row order (later rows may rely on earlier ones' effects).
    let mut fresh = 0;
    for row in &table {
        let token = match row.by {
            Who::Fresh | Who::FreshMember => {
                fresh += 1;
                let token = World::fresh(&t, fresh).await;
                if row.by == Who::FreshMember {
                    t.join_via_invite(
                        w.token(Who::Owner).expect("owner"),
                        w.get("channel"),
                        &token,
                    )
                    .await;
                }
                Some(token)
            }
            who => w.token(who).map(str::to_string),
        };
        let (status, text) = call(&t, &w, row, token.as_deref(), Secret::Right).await;
        let ok = match row.ok_status {
            Some((want, _)) => status == want,
            None => (200..300).contains(&status),
        };
        if !ok {
            failures.push(format!(
                "{} as {:?} (rightful): got {status}, expected {}: {text}",
                op(row),
                row.by,
                row.ok_status
                    .map_or("a 2xx".to_string(), |(s, why)| format!("{s} ({why})"))
            ));
        }
    }

    // Separate the listed open holes from the rest.
    let mut open_holes = BTreeSet::new();
    failures.retain(
        |f| match KNOWN_HOLES.iter().find(|h| f.starts_with(&format!("{h}:"))) {
            Some(h) => {
                open_holes.insert(*h);
                false
            }
            None => true,
        },
    );
    for fixed in KNOWN_HOLES.iter().filter(|h| !open_holes.contains(*h)) {
        failures.push(format!(
            "{fixed}: no longer fails; remove it from KNOWN_HOLES"
        ));
    }
    eprintln!(
        "authorization matrix: {} known open holes (KNOWN_HOLES)",
        open_holes.len()
    );
    eprintln!(
        "authorization matrix: {} operations, {checked} refusals checked ({} callers), {} rightful calls, {} failures",
        table.len(),
        ATTACKERS.len(),
        table.len(),
        failures.len()
    );
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} authorization failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    t.stop().await;
}
