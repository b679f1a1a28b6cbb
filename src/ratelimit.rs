//! Discord's rate-limit contract: per-route buckets keyed by the major parameter (channel, guild,
//! webhook), a global per-user limit, and a per-IP limit for unauthenticated requests. Every
//! limited response carries `X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket`; an
//! exhausted bucket answers 429 with `retry_after`.
//!
//! Counting is a fixed window per bucket. That is what Discord's headers describe (a limit, what
//! remains, when the window resets), so the headers are exact; a GCRA limiter such as `governor`
//! has no "remaining in this window" to report. Windows live in a sharded map and expired ones are
//! swept as the map grows.
//!
//! In a cluster each account's buckets are counted at one node, its home ([`shared`]).

mod shared;

pub use shared::{CountedAt, Counters, Hit};

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dashmap::DashMap;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// What a bucket said about one request.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_after: f64,
}

#[derive(Default)]
pub struct RateLimiter {
    windows: DashMap<String, Window>,
}

impl RateLimiter {
    /// Counts one hit against `key` (limit per window) at `now`.
    pub fn hit(&self, key: &str, limit: u32, window: Duration, now: Instant) -> Verdict {
        if self.windows.len() > 100_000 {
            self.windows
                .retain(|_, w| now.duration_since(w.start) < window.max(Duration::from_secs(60)));
        }
        let mut entry = self.windows.entry(key.to_string()).or_insert(Window {
            start: now,
            count: 0,
        });
        let w = entry.value_mut();
        if now.duration_since(w.start) >= window {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        let reset_after = window
            .saturating_sub(now.duration_since(w.start))
            .as_secs_f64();
        if w.count >= limit {
            return Verdict {
                allowed: false,
                limit,
                remaining: 0,
                reset_after,
            };
        }
        w.count += 1;
        Verdict {
            allowed: true,
            limit,
            remaining: limit - w.count,
            reset_after,
        }
    }

    /// Looks at a bucket without counting.
    fn peek(&self, key: &str, limit: u32, window: Duration, now: Instant) -> Verdict {
        match self.windows.get(key) {
            Some(w) if now.duration_since(w.start) < window => Verdict {
                allowed: w.count < limit,
                limit,
                remaining: limit.saturating_sub(w.count),
                reset_after: window
                    .saturating_sub(now.duration_since(w.start))
                    .as_secs_f64(),
            },
            _ => Verdict {
                allowed: true,
                limit,
                remaining: limit,
                reset_after: window.as_secs_f64(),
            },
        }
    }
}

/// The route template without the `/api[/vN]` prefix: `/channels/{channel_id}/messages`.
fn route_of(path: &str) -> &str {
    let rest = path.strip_prefix("/api").unwrap_or(path);
    match rest.strip_prefix("/v") {
        Some(v) => v.find('/').map_or(rest, |i| &v[i..]),
        None => rest,
    }
}

/// The major parameter's value (`channel_id`, `guild_id`, `webhook_id`) from the concrete path.
fn major_of(template: &str, path: &str) -> String {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    // Aligned from the end: inside a nested router the path has lost its `/api/vN` prefix
    // while the matched template still has it (and the other way round elsewhere).
    let offset = p.len() as isize - t.len() as isize;
    for (i, seg) in t.iter().enumerate() {
        if matches!(*seg, "{channel_id}" | "{guild_id}" | "{webhook_id}") {
            let at = usize::try_from(i as isize + offset).ok();
            return at.and_then(|j| p.get(j)).copied().unwrap_or("").to_string();
        }
    }
    String::new()
}

fn bucket_hash(route: &str, method: &Method) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    route.hash(&mut h);
    method.as_str().hash(&mut h);
    format!("{:016x}", h.finish())
}

fn set_headers(headers: &mut HeaderMap, v: &Verdict, bucket: &str) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put("x-ratelimit-limit", v.limit.to_string());
    put("x-ratelimit-remaining", v.remaining.to_string());
    put("x-ratelimit-reset", format!("{:.3}", now + v.reset_after));
    put("x-ratelimit-reset-after", format!("{:.3}", v.reset_after));
    put("x-ratelimit-bucket", bucket.to_string());
}

fn limited(v: &Verdict, bucket: Option<&str>, global: bool, scope: &'static str) -> Response {
    let mut response = ApiError::RateLimited {
        retry_after: (v.reset_after * 1000.0).ceil() / 1000.0,
        global,
    }
    .into_response();
    let headers = response.headers_mut();
    if let Some(b) = bucket {
        set_headers(headers, v, b);
    }
    headers.insert("x-ratelimit-scope", HeaderValue::from_static(scope));
    response
}

/// The middleware (a route layer, so the matched route template is known).
pub async fn middleware(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let config = app.config().get();
    let rate = &config.limits.rate;
    if !rate.enabled {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let route = route_of(&template).to_string();
    let method = request.method().clone();
    let caller = match request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(raw) => app.auth.authenticate_request(raw).await.ok(),
        None => None,
    };
    let Some(caller) = caller else {
        // Unauthenticated (or a bad token, which the handler will refuse): per-IP limit.
        let ip = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        let window = Duration::from_secs(u64::from(rate.ip_window_secs.max(1)));
        let hit = Hit::new(format!("ip:{ip}"), rate.ip_count, window);
        let (verdicts, _) = app.ratelimits.count(home_of_ip(&ip), &[hit]).await;
        if let Some(v) = verdicts.first().filter(|v| !v.allowed) {
            return limited(v, None, true, "shared");
        }
        return next.run(request).await;
    };
    request.extensions_mut().insert::<Caller>(caller);
    if caller.admin && rate.admins_exempt {
        return next.run(request).await;
    }
    // Bots and users have their own figures.
    let tier = rate.tier(caller.bot);
    let major = major_of(&template, &path);
    let (limit, window) = if method == Method::POST && route == "/channels/{channel_id}/messages" {
        (tier.message_create_count, tier.message_create_window_secs)
    } else {
        (tier.route_count, tier.route_window_secs)
    };
    let window = Duration::from_secs(u64::from(window.max(1)));
    let bucket = bucket_hash(&route, &method);
    let key = format!("r:{}:{bucket}:{major}", caller.user_id);
    let hits = [
        // Global: per account per second, counted first.
        Hit::new(
            format!("g:{}", caller.user_id),
            tier.global_per_second,
            Duration::from_secs(1),
        ),
        Hit::new(key.clone(), limit, window),
    ];
    let (verdicts, counted) = app.ratelimits.count(caller.user_id.get(), &hits).await;
    let (Some(global), route_verdict) = (verdicts.first(), verdicts.get(1)) else {
        return next.run(request).await;
    };
    if !global.allowed {
        let mut r = limited(global, None, true, "global");
        r.headers_mut()
            .insert("x-ratelimit-global", HeaderValue::from_static("true"));
        return r;
    }
    let Some(&v) = route_verdict else {
        return next.run(request).await;
    };
    if !v.allowed {
        return limited(&v, Some(&bucket), false, "user");
    }
    let mut response = next.run(request).await;
    // Report the bucket as it stands after this request (concurrent requests of the same
    // bucket counted meanwhile) when it is counted here; a home elsewhere answered already.
    let remaining = match counted {
        CountedAt::Here => app
            .ratelimits
            .local()
            .peek(&key, limit, window, Instant::now())
            .remaining
            .min(v.remaining),
        CountedAt::Elsewhere => v.remaining,
    };
    set_headers(response.headers_mut(), &Verdict { remaining, ..v }, &bucket);
    response
}

/// Where an IP address's unauthenticated requests are counted in a cluster: a fixed hash
/// (FNV-1a, so every node computes the same) placed like an account id.
fn home_of_ip(ip: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in ip.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window_counts_and_resets() {
        let rl = RateLimiter::default();
        let t0 = Instant::now();
        let w = Duration::from_secs(5);
        for i in 0..5 {
            let v = rl.hit("k", 5, w, t0);
            assert!(v.allowed);
            assert_eq!(v.remaining, 4 - i);
        }
        let v = rl.hit("k", 5, w, t0 + Duration::from_secs(2));
        assert!(!v.allowed);
        assert!((v.reset_after - 3.0).abs() < 0.01);
        assert!(
            rl.hit("k", 5, w, t0 + Duration::from_secs(5)).allowed,
            "a new window"
        );
        assert!(rl.hit("other", 5, w, t0).allowed, "buckets are independent");
    }

    #[test]
    fn routes_and_major_parameters() {
        assert_eq!(
            route_of("/api/v10/channels/{channel_id}/messages"),
            "/channels/{channel_id}/messages"
        );
        assert_eq!(
            route_of("/api/channels/{channel_id}"),
            "/channels/{channel_id}"
        );
        assert_eq!(
            major_of(
                "/api/v10/channels/{channel_id}/messages",
                "/api/v10/channels/42/messages"
            ),
            "42"
        );
        assert_eq!(
            major_of(
                "/api/guilds/{guild_id}/members/{user_id}",
                "/api/guilds/7/members/9"
            ),
            "7"
        );
        assert_eq!(major_of("/api/users/@me", "/api/users/@me"), "");
        // A route layer in a nested router: the path without the prefix.
        assert_eq!(
            major_of(
                "/api/v10/channels/{channel_id}/messages",
                "/channels/42/messages"
            ),
            "42"
        );
    }
}
