//! `/users/@me/billing/*`: what Discord's client asks at start-up and in its settings screens.
//! Accord sells nothing: no payment sources, no subscriptions; the country code is the one
//! `/auth/location-metadata` reports (there is no IP geolocation).

use axum::Router;
use axum::routing::get;
use serde::Serialize;

use crate::api::extract::{Json, UserAccount};

pub fn routes() -> Router<crate::app::App> {
    Router::new()
        .route("/users/@me/billing/country-code", get(country_code))
        .route("/users/@me/billing/location-info", get(country_code))
        .route("/users/@me/billing/payment-sources", get(payment_sources))
        .route("/users/@me/billing/subscriptions", get(subscriptions))
}

/// The country the client prices things in.
pub const COUNTRY_CODE: &str = "US";

#[derive(Debug, Serialize)]
pub struct CountryCode {
    pub country_code: &'static str,
}

/// `GET /users/@me/billing/country-code` and `/location-info`.
async fn country_code(UserAccount(_caller): UserAccount) -> Json<CountryCode> {
    Json(CountryCode {
        country_code: COUNTRY_CODE,
    })
}

/// `GET /users/@me/billing/payment-sources`: none (nothing is sold).
async fn payment_sources(UserAccount(_caller): UserAccount) -> Json<Vec<serde_json::Value>> {
    Json(Vec::new())
}

/// `GET /users/@me/billing/subscriptions`: none (no Nitro, no server subscriptions).
async fn subscriptions(UserAccount(_caller): UserAccount) -> Json<Vec<serde_json::Value>> {
    Json(Vec::new())
}
