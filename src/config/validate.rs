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
    at_least(
        "security.argon2_iterations",
        c.security.argon2_iterations.into(),
        1,
    );
    at_least(
        "security.argon2_memory_kib",
        c.security.argon2_memory_kib.into(),
        8,
    );
    at_least(
        "server.max_body_bytes",
        c.server.max_body_bytes as u64,
        1024,
    );
    if c.limits.user.max_username < c.limits.user.min_username {
        errs.add(
            "limits.user.max_username",
            FieldError::NumberMin {
                min: c.limits.user.min_username.into(),
            },
        );
    }
    if c.general.node_id > 31 {
        errs.add("general.node_id", FieldError::NumberMax { max: 31 });
    }
    errs.into_result()
}
