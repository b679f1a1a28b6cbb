//! `/users/@me/consent`: what the user agreed their data may be used for (usage statistics,
//! personalization). Discord's client reads it at start-up and changes it in its privacy
//! settings; the user actor keeps it, stored per user.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::actors::ask;
use crate::actors::user::UserMsg;
use crate::api::extract::{Json, UserAccount};
use crate::app::App;
use crate::error::ApiError;
use crate::model::UserConsent;

pub fn routes() -> Router<App> {
    Router::new().route("/users/@me/consent", get(consent).post(update))
}

/// One consent as Discord's client reads it.
#[derive(Debug, Serialize)]
pub struct Consented {
    pub consented: bool,
}

/// The consent object: one entry per consent type.
#[derive(Debug, Serialize)]
pub struct ConsentObject {
    pub usage_statistics: Consented,
    pub personalization: Consented,
}

impl From<UserConsent> for ConsentObject {
    fn from(c: UserConsent) -> Self {
        Self {
            usage_statistics: Consented {
                consented: c.usage_statistics,
            },
            personalization: Consented {
                consented: c.personalization,
            },
        }
    }
}

/// `POST /users/@me/consent`'s body: consent types to grant and to revoke.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsentChange {
    pub grant: Option<Vec<String>>,
    pub revoke: Option<Vec<String>>,
}

/// `GET /users/@me/consent`
async fn consent(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
) -> Result<Json<ConsentObject>, ApiError> {
    let actor = app.services.user(caller.user_id).await?;
    let c = ask(&app.services, &actor, UserMsg::Consent).await?;
    Ok(Json(c.into()))
}

/// `POST /users/@me/consent`: grants, then revokes; answers the new consent object.
async fn update(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Json(body): Json<ConsentChange>,
) -> Result<Json<ConsentObject>, ApiError> {
    let actor = app.services.user(caller.user_id).await?;
    let c = ask(&app.services, &actor, |reply| UserMsg::UpdateConsent {
        grant: body.grant.unwrap_or_default(),
        revoke: body.revoke.unwrap_or_default(),
        reply,
    })
    .await?;
    Ok(Json(c.into()))
}
