//! Translated user-facing messages (Fluent files under `locales/`, compiled into the binary).
//!
//! The locale of a request is negotiated once by [`locale_middleware`] (Discord's
//! `X-Discord-Locale`, then `Accept-Language`) and kept in a task-local, so error rendering deep
//! inside a handler needs no extra parameter. English (en-US) is the fallback for missing
//! languages and missing keys.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use unic_langid::langid;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en-US",
        // Bidi isolation marks around arguments would end up in JSON error messages.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

pub const FALLBACK: LanguageIdentifier = langid!("en-US");

tokio::task_local! {
    static LOCALE: LanguageIdentifier;
}

/// The languages shipped under `locales/`.
static AVAILABLE: LazyLock<Vec<LanguageIdentifier>> =
    LazyLock::new(|| LOCALES.locales().cloned().collect());

/// Arguments for a message with placeholders.
#[derive(Default)]
pub struct Args(HashMap<Cow<'static, str>, FluentValue<'static>>);

impl Args {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn num(&mut self, name: &'static str, v: i64) {
        self.0.insert(Cow::Borrowed(name), FluentValue::from(v));
    }
    pub fn text(&mut self, name: &'static str, v: &str) {
        self.0
            .insert(Cow::Borrowed(name), FluentValue::from(v.to_string()));
    }
}

/// The current task's locale (en-US outside a request).
pub fn current() -> LanguageIdentifier {
    LOCALE.try_with(Clone::clone).unwrap_or(FALLBACK)
}

/// The message `key` in the current locale.
pub fn t(key: &str) -> String {
    lookup(&current(), key, None)
}

pub fn t_args(key: &str, args: &Args) -> String {
    lookup(&current(), key, Some(args))
}

pub fn lookup(lang: &LanguageIdentifier, key: &str, args: Option<&Args>) -> String {
    LOCALES
        .try_lookup_complete(lang, key, args.map(|a| &a.0))
        .or_else(|| LOCALES.try_lookup_complete(&FALLBACK, key, args.map(|a| &a.0)))
        .unwrap_or_else(|| key.to_string())
}

/// Picks the best shipped locale for a list of preferences (exact match, then same language).
pub fn negotiate<'a>(preferences: impl IntoIterator<Item = &'a str>) -> LanguageIdentifier {
    for pref in preferences {
        let Ok(wanted) = pref.trim().parse::<LanguageIdentifier>() else {
            continue;
        };
        if let Some(l) = AVAILABLE.iter().find(|l| **l == wanted) {
            return l.clone();
        }
        if let Some(l) = AVAILABLE.iter().find(|l| l.language == wanted.language) {
            return l.clone();
        }
    }
    FALLBACK
}

/// Locale from Discord's headers: `X-Discord-Locale` wins, then `Accept-Language` by q-order.
pub fn from_headers(headers: &HeaderMap) -> LanguageIdentifier {
    let discord = headers
        .get("x-discord-locale")
        .and_then(|v| v.to_str().ok());
    let mut accept: Vec<(f32, &str)> = headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .filter_map(|part| {
                    let mut it = part.split(';');
                    let tag = it.next()?.trim();
                    let q = it
                        .find_map(|p| p.trim().strip_prefix("q="))
                        .and_then(|q| q.parse::<f32>().ok())
                        .unwrap_or(1.0);
                    (!tag.is_empty() && tag != "*").then_some((q, tag))
                })
                .collect()
        })
        .unwrap_or_default();
    accept.sort_by(|a, b| b.0.total_cmp(&a.0));
    negotiate(
        discord
            .into_iter()
            .chain(accept.into_iter().map(|(_, t)| t)),
    )
}

/// Runs the rest of the request with its negotiated locale in scope.
pub async fn locale_middleware(request: Request, next: Next) -> Response {
    let locale = from_headers(request.headers());
    LOCALE.scope(locale, next.run(request)).await
}

/// Runs a future with a given locale (gateway sessions use the user's locale).
pub async fn with_locale<F: std::future::Future>(locale: LanguageIdentifier, f: F) -> F::Output {
    LOCALE.scope(locale, f).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_and_negotiation() {
        assert_eq!(t("unknown-channel"), "Unknown Channel");
        assert_eq!(negotiate(["de-DE"]), langid!("de"));
        assert_eq!(negotiate(["xx", "en-GB"]), langid!("en-US"));
        assert_eq!(negotiate(["zz"]), FALLBACK);
        let mut h = HeaderMap::new();
        h.insert("accept-language", "fr;q=0.5, de;q=0.9".parse().unwrap());
        assert_eq!(from_headers(&h), langid!("de"));
        h.insert("x-discord-locale", "en-US".parse().unwrap());
        assert_eq!(from_headers(&h), langid!("en-US"));
    }

    #[tokio::test]
    async fn task_local_locale_and_args() {
        let msg = with_locale(langid!("de"), async { t("unknown-channel") }).await;
        assert_eq!(msg, "Unbekannter Kanal");
        let mut a = Args::new();
        a.num("min", 2);
        a.num("max", 32);
        assert_eq!(
            t_args("BASE_TYPE_BAD_LENGTH", &a),
            "Must be between 2 and 32 in length."
        );
        // A key missing in German falls back to English.
        let msg = with_locale(langid!("de"), async { t("only-in-english-test-key") }).await;
        assert_eq!(msg, "English only");
    }

    /// Every key of the English file exists in every other shipped language (missing keys would
    /// silently fall back to English).
    #[test]
    fn locales_have_the_same_keys() {
        let keys = |path: &str| -> std::collections::BTreeSet<String> {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .filter_map(|l| l.split_once(" =").map(|(k, _)| k.trim().to_string()))
                .filter(|k| !k.starts_with('#') && !k.is_empty() && !k.starts_with(' '))
                .filter(|k| k != "only-in-english-test-key")
                .collect()
        };
        let en = keys("locales/en-US/errors.ftl");
        let de = keys("locales/de/errors.ftl");
        assert!(!en.is_empty());
        assert_eq!(en, de);
    }
}
