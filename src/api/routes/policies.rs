//! Spacebar's instance endpoints (`/policies/instance…`, `/ping`), which Spacebar-aware clients
//! use to discover an instance's name and endpoints.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::api::extract::Json;
use crate::app::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/policies/instance", get(instance))
        .route("/policies/instance/", get(instance))
        .route("/policies/instance/domains", get(domains))
        .route("/policies/instance/limits", get(limits))
        .route("/ping", get(ping))
}

pub async fn instance(State(app): State<App>) -> Json<Value> {
    let g = app.config().get().general.clone();
    Json(json!({
        "instanceName": g.instance_name,
        "instanceDescription": g.instance_description,
        "frontPage": g.front_page,
        "tosPage": g.tos_page,
        "correspondenceEmail": g.correspondence_email,
        "correspondenceUserID": null,
        "privacyPage": g.privacy_page,
        "adminContact": g.admin_contact,
        "image": null,
        "instanceId": null,
    }))
}

pub async fn domains(State(app): State<App>) -> Json<Value> {
    Json(json!({
        "cdn": app.cdn_endpoint(),
        "gateway": app.gateway_endpoint(),
        "defaultApiVersion": "9",
        "apiEndpoint": app.api_endpoint(),
    }))
}

async fn limits(State(app): State<App>) -> Json<Value> {
    let c = app.config().get();
    let l = &c.limits;
    Json(json!({
        "user": {"maxGuilds": l.user.max_guilds, "maxUsername": l.user.max_username, "maxFriends": l.user.max_friends, "maxBio": l.user.max_bio},
        "guild": {"maxRoles": l.guild.max_roles, "maxMembers": l.guild.max_members, "maxChannels": l.guild.max_channels, "maxEmojis": l.guild.max_emojis, "maxInvites": l.guild.max_invites},
        "message": {"maxCharacters": l.message.max_characters, "maxAttachmentSize": c.cdn.max_upload_bytes, "maxEmbeds": l.message.max_embeds, "maxReactions": l.message.max_reactions, "maxBulkDelete": l.message.max_bulk_delete},
        "channel": {"maxPins": l.channel.max_pins, "maxTopic": l.channel.max_topic, "maxWebhooks": l.channel.max_webhooks},
        "rate": {"enabled": l.rate.enabled},
    }))
}

async fn ping(State(app): State<App>) -> Json<Value> {
    let g = app.config().get().general.clone();
    Json(json!({
        "ping": "pong!",
        "instance": {"id": null, "name": g.instance_name, "description": g.instance_description, "image": null, "correspondenceEmail": g.correspondence_email, "frontPage": g.front_page, "tosPage": g.tos_page},
    }))
}
