//! Semantic checks on a configuration beyond its types (ranges that would break the server).

use super::Config;
use crate::error::{ApiError, FieldError, FieldErrors};

pub(super) fn validate(c: &Config) -> Result<(), ApiError> {
    let mut errs = FieldErrors::default();
    let mut at_least = |path: &str, value: u64, min: u64| {
        if value < min {
            errs.add(path, FieldError::NumberMin { min: min as i64 });
        }
    };
    at_least(
        "limits.message.max_characters",
        c.limits.message.max_characters.into(),
        1,
    );
    at_least(
        "limits.user.min_username",
        c.limits.user.min_username.into(),
        1,
    );
    at_least("limits.guild.max_roles", c.limits.guild.max_roles.into(), 1);
    at_least(
        "limits.guild.max_channels",
        c.limits.guild.max_channels.into(),
        1,
    );
    at_least(
        "gateway.heartbeat_interval_ms",
        c.gateway.heartbeat_interval_ms,
        1000,
    );
    at_least(
        "gateway.session_queue_limit",
        c.gateway.session_queue_limit as u64,
        16,
    );
    at_least(
        "gateway.identify_max_concurrency",
        c.gateway.identify_max_concurrency.into(),
        1,
    );
    // 0 would make op 14 subscribe nothing: the web client's sidebar would never fill.
    at_least(
        "gateway.member_list_max_channels",
        c.gateway.member_list_max_channels.into(),
        1,
    );
    at_least(
        "security.argon2_iterations",
        c.security.argon2_iterations.into(),
        1,
    );
    at_least(
        "security.oauth2_access_token_ttl_secs",
        c.security.oauth2_access_token_ttl_secs,
        60,
    );
    at_least(
        "security.oauth2_code_ttl_secs",
        c.security.oauth2_code_ttl_secs,
        10,
    );
    at_least(
        "security.argon2_memory_kib",
        c.security.argon2_memory_kib.into(),
        8,
    );
    // Zero would close every connection at once (or never let a body through).
    for (path, value) in [
        (
            "server.header_read_timeout_ms",
            c.server.header_read_timeout_ms,
        ),
        ("server.body_read_timeout_ms", c.server.body_read_timeout_ms),
        ("server.request_timeout_ms", c.server.request_timeout_ms),
        (
            "server.keepalive_idle_timeout_ms",
            c.server.keepalive_idle_timeout_ms,
        ),
        ("gateway.identify_timeout_ms", c.gateway.identify_timeout_ms),
    ] {
        at_least(path, value, 100);
    }
    at_least(
        "gateway.max_payloads_per_window",
        c.gateway.max_payloads_per_window.into(),
        1,
    );
    at_least("gateway.rate_window_secs", c.gateway.rate_window_secs, 1);
    at_least(
        "server.max_body_bytes",
        c.server.max_body_bytes as u64,
        1024,
    );
    at_least(
        "limits.poll.max_answers",
        c.limits.poll.max_answers.into(),
        1,
    );
    at_least(
        "limits.poll.min_duration_hours",
        c.limits.poll.min_duration_hours.into(),
        1,
    );
    at_least("limits.poll.hour_secs", c.limits.poll.hour_secs.into(), 1);
    at_least(
        "limits.thread.minute_secs",
        c.limits.thread.minute_secs.into(),
        1,
    );
    let thread = &c.limits.thread;
    if !thread
        .auto_archive_durations
        .contains(&thread.default_auto_archive_duration)
    {
        errs.add(
            "limits.thread.default_auto_archive_duration",
            FieldError::Choice {
                allowed: thread
                    .auto_archive_durations
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        );
    }
    let poll = &c.limits.poll;
    if poll.max_duration_hours < poll.min_duration_hours {
        errs.add(
            "limits.poll.max_duration_hours",
            FieldError::NumberMin {
                min: poll.min_duration_hours.into(),
            },
        );
    }
    if !(poll.min_duration_hours..=poll.max_duration_hours).contains(&poll.default_duration_hours) {
        errs.add(
            "limits.poll.default_duration_hours",
            FieldError::NumberMin {
                min: poll.min_duration_hours.into(),
            },
        );
    }
    if c.limits.user.max_username < c.limits.user.min_username {
        errs.add(
            "limits.user.max_username",
            FieldError::NumberMin {
                min: c.limits.user.min_username.into(),
            },
        );
    }
    let mut within = |path: &str, value: u8, min: u8, max: u8| {
        if value < min {
            errs.add(path, FieldError::NumberMin { min: min.into() });
        } else if value > max {
            errs.add(path, FieldError::NumberMax { max: max.into() });
        }
    };
    within("gateway.zlib_level", c.gateway.zlib_level, 0, 9);
    within(
        "gateway.zlib_window_bits",
        c.gateway.zlib_window_bits,
        9,
        15,
    );
    within("gateway.zlib_mem_level", c.gateway.zlib_mem_level, 1, 9);
    if c.general.node_id > 31 {
        errs.add("general.node_id", FieldError::NumberMax { max: 31 });
    }
    connection_providers(c, &mut errs);
    errs.into_result()
}

/// Provider keys are URL path segments and config path segments; an enabled provider needs
/// everything the OAuth2 flow uses.
fn connection_providers(c: &Config, errs: &mut FieldErrors) {
    for (key, p) in &c.connections.providers {
        let path = format!("connections.providers.{key}");
        let key_ok = (1..=32).contains(&key.len())
            && key
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_');
        if !key_ok {
            errs.add(
                &path,
                FieldError::BadType {
                    expected: "a key of 1-32 lowercase letters, digits, '-' or '_'".into(),
                },
            );
            continue;
        }
        if !matches!(p.token_auth.as_str(), "body" | "basic") {
            errs.add(
                &format!("{path}.token_auth"),
                FieldError::Choice {
                    allowed: "body, basic".into(),
                },
            );
        }
        if !p.redirect_uri.is_empty() && !is_http_url(&p.redirect_uri) {
            errs.add(&format!("{path}.redirect_uri"), FieldError::InvalidUrl);
        }
        if !p.enabled {
            continue;
        }
        for (field, value) in [
            ("authorize_url", &p.authorize_url),
            ("token_url", &p.token_url),
            ("userinfo_url", &p.userinfo_url),
        ] {
            if value.is_empty() {
                errs.add(&format!("{path}.{field}"), FieldError::Required);
            } else if !is_http_url(value) {
                errs.add(&format!("{path}.{field}"), FieldError::InvalidUrl);
            }
        }
        for (field, value) in [("client_id", &p.client_id), ("id_field", &p.id_field)] {
            if value.trim().is_empty() {
                errs.add(&format!("{path}.{field}"), FieldError::Required);
            }
        }
    }
}

fn is_http_url(s: &str) -> bool {
    reqwest::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_providers_are_checked_when_enabled() {
        let mut c = Config::default();
        assert!(validate(&c).is_ok(), "the disabled defaults are valid");
        let github = c.connections.providers.get_mut("github").unwrap();
        github.enabled = true;
        github.token_url = "ftp://example.com/token".into();
        github.token_auth = "digest".into();
        let Err(ApiError::InvalidFormBody(errs)) = validate(&c) else {
            panic!("an enabled provider without client_id is refused");
        };
        assert!(errs.get("connections.providers.github.client_id").is_some());
        assert!(errs.get("connections.providers.github.token_url").is_some());
        assert!(
            errs.get("connections.providers.github.token_auth")
                .is_some()
        );
        assert!(
            errs.get("connections.providers.github.authorize_url")
                .is_none()
        );

        let mut c = Config::default();
        c.connections
            .providers
            .insert("Bad.Key".into(), Default::default());
        let Err(ApiError::InvalidFormBody(errs)) = validate(&c) else {
            panic!("a key with a dot is refused");
        };
        assert!(errs.get("connections.providers.Bad.Key").is_some());
    }
}
