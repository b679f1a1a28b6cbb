//! The `/admin` dashboard: server-rendered pages (minijinja templates) and a small script, all
//! embedded in the binary — nothing is loaded from elsewhere (the Content-Security-Policy says
//! so to the browser too).
//!
//! The pages themselves hold no instance data: they render the structure (navigation, the
//! configuration editor's every key with its default and description) and stay hidden until
//! the script has signed in (`POST /api/auth/login`, token kept in `sessionStorage`) and an admin
//! endpoint under `/api/admin/*` has answered. Everything with data goes through those JSON
//! endpoints, which check `Caller.admin`: a non-admin gets 401/403 there and sees nothing.

pub mod config_docs;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::{Environment, context};
use serde::Serialize;

use crate::api::extract::Path;
use crate::app::App;
use crate::error::ApiError;

const LAYOUT: &str = include_str!("templates/layout.html");
const HEALTH: &str = include_str!("templates/health.html");
const CONFIG: &str = include_str!("templates/config.html");
const MODERATION: &str = include_str!("templates/moderation.html");
const AUDIT: &str = include_str!("templates/audit.html");
const SCRIPT: &str = include_str!("assets/admin.js");
const STYLE: &str = include_str!("assets/admin.css");

/// Only this server's own resources; no inline script; no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The templates, parsed once. A template that does not parse is reported on every render
/// (and fails the unit tests long before that).
static TEMPLATES: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", LAYOUT),
        ("health.html", HEALTH),
        ("config.html", CONFIG),
        ("moderation.html", MODERATION),
        ("audit.html", AUDIT),
    ] {
        env.add_template(name, source)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(env)
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Health,
    Config,
    Moderation,
    Audit,
}

#[derive(Serialize)]
struct NavItem {
    page: &'static str,
    href: &'static str,
    label: &'static str,
}

const NAV: [NavItem; 4] = [
    NavItem {
        page: "health",
        href: "/admin",
        label: "Health",
    },
    NavItem {
        page: "config",
        href: "/admin/config",
        label: "Configuration",
    },
    NavItem {
        page: "moderation",
        href: "/admin/moderation",
        label: "Moderation",
    },
    NavItem {
        page: "audit",
        href: "/admin/audit",
        label: "Audit log",
    },
];

impl Page {
    fn name(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Config => "config",
            Self::Moderation => "moderation",
            Self::Audit => "audit",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Self::Health => "health.html",
            Self::Config => "config.html",
            Self::Moderation => "moderation.html",
            Self::Audit => "audit.html",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Health => "Instance health",
            Self::Config => "Configuration",
            Self::Moderation => "Moderation",
            Self::Audit => "Audit log",
        }
    }
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/admin", get(health))
        .route("/admin/", get(|| async { Redirect::permanent("/admin") }))
        .route("/admin/config", get(config))
        .route("/admin/moderation", get(moderation))
        .route("/admin/audit", get(audit))
        .route("/admin/assets/{name}", get(asset))
}

/// Renders a page of the dashboard (no instance data; see the module docs).
fn render_page(page: Page, instance_name: &str) -> Result<String, String> {
    let env = TEMPLATES.as_ref().map_err(Clone::clone)?;
    let sections = if page == Page::Config {
        config_docs::sections()
    } else {
        Vec::new()
    };
    env.get_template(page.template())
        .and_then(|t| {
            t.render(context! {
                page => page.name(),
                title => page.title(),
                nav => NAV,
                instance_name => instance_name,
                version => env!("CARGO_PKG_VERSION"),
                sections => sections,
            })
        })
        .map_err(|e| e.to_string())
}

fn secured(mut response: Response, cache: &'static str) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

fn page_response(app: &App, page: Page) -> Response {
    let name = app.config().get().general.instance_name.clone();
    match render_page(page, &name) {
        Ok(html) => secured(
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
            "no-store",
        ),
        Err(e) => {
            ApiError::internal(format!("admin template {}: {e}", page.name())).into_response()
        }
    }
}

/// `GET /admin`: instance health (the dashboard's start page).
async fn health(State(app): State<App>) -> Response {
    page_response(&app, Page::Health)
}

/// `GET /admin/config`: the configuration editor.
async fn config(State(app): State<App>) -> Response {
    page_response(&app, Page::Config)
}

/// `GET /admin/moderation`: accounts and guilds.
async fn moderation(State(app): State<App>) -> Response {
    page_response(&app, Page::Moderation)
}

/// `GET /admin/audit`: the audit log.
async fn audit(State(app): State<App>) -> Response {
    page_response(&app, Page::Audit)
}

/// `GET /admin/assets/{name}`: the script and the style sheet.
async fn asset(Path(name): Path<String>) -> Response {
    let (content_type, body) = match name.as_str() {
        "admin.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "admin.css" => ("text/css; charset=utf-8", STYLE),
        _ => return ApiError::NotFound.into_response(),
    };
    secured(
        ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        // Served from the binary: a new version is a new process; revalidate to pick it up.
        "no-cache",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_escaped_and_self_contained() {
        for page in [Page::Health, Page::Config, Page::Moderation, Page::Audit] {
            let html = render_page(page, "<Test & Co>").unwrap();
            assert!(html.starts_with("<!doctype html>"), "{}", page.name());
            assert!(
                html.contains("&lt;Test &amp; Co&gt;"),
                "instance name escaped"
            );
            assert!(!html.contains("<Test & Co>"));
            assert!(html.contains(r#"<script src="/admin/assets/admin.js" defer></script>"#));
            assert!(html.contains(r#"aria-current="page""#));
            assert!(html.contains(r#"<label for="login-email">"#));
            // Nothing from elsewhere.
            for external in ["http://", "https://", "//cdn"] {
                assert!(!html.contains(external), "{} loads {external}", page.name());
            }
            assert!(!html.contains("<script>"), "no inline script (CSP)");
            assert!(!html.contains(" style=\""), "no inline styles (CSP)");
        }
        for asset in [SCRIPT, STYLE] {
            assert!(!asset.contains("http://") && !asset.contains("https://"));
        }
    }

    #[test]
    fn config_page_has_a_labelled_input_per_key() {
        let html = render_page(Page::Config, "x").unwrap();
        for (path, _) in config_docs::keys() {
            let id = format!("cfg-{}", path.replace('.', "-"));
            assert!(
                html.contains(&format!(r#"<label for="{id}">"#)),
                "{path} has no label"
            );
            assert!(
                html.contains(&format!(r#"id="{id}""#)),
                "{path} has no input"
            );
            assert!(html.contains(&format!(r#"data-path="{path}""#)));
        }
        assert!(html.contains(r#"type="checkbox" id="cfg-limits-rate-enabled""#));
        assert!(html.contains(r#"<textarea id="cfg-security-admin_user_ids""#));
    }
}
