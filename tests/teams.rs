//! Developer teams: create, invite and accept, roles, transferring an application to a team, and
//! what each role may do to the team's application and its bot.

mod common;

use serde_json::{Value, json};

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn team_roles_govern_the_application() {
    let t = common::start().await;
    let owner = t.register("owner").await;
    let dev = t.register("dev").await;
    let reader = t.register("reader").await;
    let stranger = t.register("stranger").await;
    let owner_id = id_of(&t.me(&owner).await);
    let dev_id = id_of(&t.me(&dev).await);
    let reader_id = id_of(&t.me(&reader).await);

    // The creator owns the team and is its first member (accepted admin).
    let team = t.post("/teams", &owner, json!({"name": "Crew"})).await;
    assert_eq!(team.status, 201, "{}", team.body);
    let team_id = id_of(&team.body);
    assert_eq!(team.body["owner_user_id"], owner_id);
    assert_eq!(team.body["members"][0]["user"]["id"], owner_id);
    assert_eq!(team.body["members"][0]["membership_state"], 2);
    assert_eq!(team.body["members"][0]["role"], "admin");
    assert_eq!(team.body["members"][0]["permissions"], json!(["*"]));
    let empty = t.post("/teams", &owner, json!({"name": " "})).await;
    assert_eq!(empty.status, 400);
    assert_eq!(
        empty.body["errors"]["name"]["_errors"][0]["code"],
        "BASE_TYPE_REQUIRED"
    );

    // An application with a bot, owned by the owner alone for now.
    let app = t
        .post("/applications", &owner, json!({"name": "Team Bot"}))
        .await;
    let app_id = id_of(&app.body);
    let bot = t
        .post(&format!("/applications/{app_id}/bot"), &owner, json!({}))
        .await;
    assert_eq!(bot.status, 200, "{}", bot.body);
    let first_token = format!("Bot {}", bot.body["token"].as_str().unwrap());

    // Invitations: by username and by id; only admins invite.
    let invited = t
        .post(
            &format!("/teams/{team_id}/members"),
            &owner,
            json!({"username": "dev", "discriminator": null, "role": "developer"}),
        )
        .await;
    assert_eq!(invited.status, 200, "{}", invited.body);
    assert_eq!(invited.body["user"]["id"], dev_id);
    assert_eq!(invited.body["membership_state"], 1);
    assert_eq!(invited.body["role"], "developer");
    let bad_role = t
        .post(
            &format!("/teams/{team_id}/members"),
            &owner,
            json!({"user_id": reader_id, "role": "boss"}),
        )
        .await;
    assert_eq!(bad_role.status, 400);
    assert_eq!(
        bad_role.body["errors"]["role"]["_errors"][0]["code"],
        "BASE_TYPE_CHOICES"
    );
    let r = t
        .post(
            &format!("/teams/{team_id}/members"),
            &owner,
            json!({"user_id": reader_id, "role": "read_only"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let unknown = t
        .post(
            &format!("/teams/{team_id}/members"),
            &owner,
            json!({"username": "nobody", "role": "developer"}),
        )
        .await;
    assert_eq!(unknown.body["code"], 80004);

    // A stranger can't see the team; the invited developer can, and finds it in GET /teams.
    let hidden = t.get(&format!("/teams/{team_id}"), &stranger).await;
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.body["code"], 10039, "Unknown Team: {}", hidden.body);
    assert!(
        t.get("/teams", &stranger)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    let mine = t.get("/teams", &dev).await;
    assert_eq!(mine.body[0]["id"], team_id);
    let me_there = mine.body[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == dev_id)
        .unwrap();
    assert_eq!(me_there["membership_state"], 1);

    // The owner transfers the application to the team.
    assert_eq!(
        t.post(
            &format!("/applications/{app_id}/transfer"),
            &stranger,
            json!({"team_id": team_id})
        )
        .await
        .body["code"],
        10002,
        "a stranger sees no application"
    );
    let moved = t
        .post(
            &format!("/applications/{app_id}/transfer"),
            &owner,
            json!({"team_id": team_id}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["team"]["id"], team_id);
    assert_eq!(moved.body["team"]["owner_user_id"], owner_id);
    assert_eq!(moved.body["team"]["members"].as_array().unwrap().len(), 3);
    assert_eq!(moved.body["owner"]["id"], team_id, "the team's pseudo-user");
    assert_eq!(moved.body["owner"]["flags"], 1024);
    // A client library's strict model reads the team application (team, pseudo-user owner).
    let parsed = serde_json::from_value::<twilight_model::oauth::Application>(moved.body.clone())
        .expect("twilight reads the application");
    let team_model = parsed.team.expect("team");
    assert_eq!(team_model.members.len(), 3);
    assert_eq!(team_model.members[0].permissions, vec!["*".to_string()]);
    let again = t
        .post(
            &format!("/applications/{app_id}/transfer"),
            &owner,
            json!({"team_id": team_id}),
        )
        .await;
    assert_eq!(again.status, 400, "a transfer can't be repeated");
    // The owner still manages it, through the team.
    assert_eq!(
        t.get(&format!("/applications/{app_id}"), &owner)
            .await
            .status,
        200
    );
    assert_eq!(t.get("/applications", &owner).await.body[0]["id"], app_id);

    // Invited is not yet a member: no access.
    let before = t.get(&format!("/applications/{app_id}"), &dev).await;
    assert_eq!(before.status, 404);
    assert_eq!(before.body["code"], 10002);

    // Accepting.
    let accepted = t
        .req(
            reqwest::Method::PUT,
            &format!("/teams/{team_id}/members/@me"),
            Some(&dev),
            None,
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert!(
        accepted.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user"]["id"] == dev_id && m["membership_state"] == 2)
    );
    let r = t
        .req(
            reqwest::Method::PUT,
            &format!("/teams/{team_id}/members/@me"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The developer: sees and edits the application, manages its bot (Discord lets developers
    // reset the bot token), but can't delete it or manage the team.
    let listed = t.get("/applications", &dev).await;
    assert_eq!(listed.body[0]["id"], app_id);
    let edited = t
        .patch(
            &format!("/applications/{app_id}"),
            &dev,
            json!({"description": "by the developer"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.body["description"], "by the developer");
    let reset = t
        .post(
            &format!("/applications/{app_id}/bot/reset"),
            &dev,
            json!({}),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let token = format!("Bot {}", reset.body["token"].as_str().unwrap());
    assert_eq!(t.get("/users/@me", &token).await.body["id"], app_id);
    assert_eq!(
        t.get("/users/@me", &first_token).await.status,
        401,
        "old token revoked"
    );
    for (status, code, r) in [
        (
            403,
            50013,
            t.delete(&format!("/applications/{app_id}"), &dev).await,
        ),
        (
            403,
            50013,
            t.post(
                &format!("/teams/{team_id}/members"),
                &dev,
                json!({"user_id": id_of(&t.me(&stranger).await), "role": "admin"}),
            )
            .await,
        ),
        (
            403,
            50013,
            t.patch(&format!("/teams/{team_id}"), &dev, json!({"name": "Mine"}))
                .await,
        ),
    ] {
        assert_eq!(
            (r.status, r.body["code"].as_u64()),
            (status, Some(code)),
            "{}",
            r.body
        );
    }

    // Read-only: sees the application, changes nothing.
    assert_eq!(
        t.get(&format!("/applications/{app_id}"), &reader)
            .await
            .status,
        200
    );
    for r in [
        t.patch(
            &format!("/applications/{app_id}"),
            &reader,
            json!({"description": "x"}),
        )
        .await,
        t.post(
            &format!("/applications/{app_id}/bot/reset"),
            &reader,
            json!({}),
        )
        .await,
    ] {
        assert_eq!(
            (r.status, r.body["code"].clone()),
            (403, json!(50013)),
            "{}",
            r.body
        );
    }

    // A private team bot: any member may add it to a guild, a stranger may not; the
    // authorization page doesn't show the team's members.
    let private = t
        .patch(
            &format!("/applications/{app_id}"),
            &dev,
            json!({"bot_public": false}),
        )
        .await;
    assert_eq!(private.body["bot_public"], false);
    let page = t
        .get(
            &format!("/oauth2/authorize?client_id={app_id}&scope=bot"),
            &reader,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body["application"].get("team").is_none());
    let r = t
        .get(
            &format!("/oauth2/authorize?client_id={app_id}&scope=bot"),
            &stranger,
        )
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50001)));

    // Promoted to admin: manages the bot and the team, but deleting stays the owner's.
    let promoted = t
        .patch(
            &format!("/teams/{team_id}/members/{reader_id}"),
            &owner,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert_eq!(promoted.body["role"], "admin");
    assert_eq!(
        t.post(
            &format!("/applications/{app_id}/bot/reset"),
            &reader,
            json!({})
        )
        .await
        .status,
        200
    );
    let renamed = t
        .patch(
            &format!("/teams/{team_id}"),
            &reader,
            json!({"name": "Crew 2"}),
        )
        .await;
    assert_eq!(renamed.body["name"], "Crew 2");
    let r = t.delete(&format!("/applications/{app_id}"), &reader).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(50013)));
    let r = t
        .patch(
            &format!("/teams/{team_id}/members/{owner_id}"),
            &reader,
            json!({"role": "read_only"}),
        )
        .await;
    assert_eq!(r.status, 403, "the owner's role can't be changed");
    let r = t
        .delete(&format!("/teams/{team_id}/members/{owner_id}"), &reader)
        .await;
    assert_eq!(r.status, 400, "the owner can't be removed: {}", r.body);

    // Removing the developer ends their access.
    let removed = t
        .delete(&format!("/teams/{team_id}/members/{dev_id}"), &reader)
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    let after = t.get(&format!("/applications/{app_id}"), &dev).await;
    assert_eq!(
        (after.status, after.body["code"].clone()),
        (404, json!(10002))
    );
    assert!(
        t.get("/applications", &dev)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(t.get(&format!("/teams/{team_id}"), &dev).await.status, 404);

    // The team can't go while it owns the application; the owner deletes both.
    let r = t.delete(&format!("/teams/{team_id}"), &owner).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        t.post(&format!("/teams/{team_id}/delete"), &reader, json!({}))
            .await
            .status,
        403,
        "admins don't delete teams"
    );
    assert_eq!(
        t.delete(&format!("/applications/{app_id}"), &owner)
            .await
            .status,
        204
    );
    assert_eq!(
        t.delete(&format!("/teams/{team_id}"), &owner).await.status,
        204
    );
    assert_eq!(
        t.get(&format!("/teams/{team_id}"), &owner).await.status,
        404
    );
    assert!(
        t.get("/teams", &reader)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn members_leave_decline_and_the_team_changes_hands() {
    let t = common::start().await;
    let owner = t.register("alice").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let (owner_id, bob_id, carol_id) = (
        id_of(&t.me(&owner).await),
        id_of(&t.me(&bob).await),
        id_of(&t.me(&carol).await),
    );
    let team_id = id_of(
        &t.post("/teams", &owner, json!({"name": "Hands"}))
            .await
            .body,
    );
    for (user, role) in [(&bob_id, "admin"), (&carol_id, "developer")] {
        let r = t
            .post(
                &format!("/teams/{team_id}/members"),
                &owner,
                json!({"user_id": user, "role": role}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // Carol declines; Bob accepts.
    assert_eq!(
        t.delete(&format!("/teams/{team_id}/members/@me"), &carol)
            .await
            .status,
        204
    );
    assert!(
        t.get("/teams", &carol)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    t.req(
        reqwest::Method::PUT,
        &format!("/teams/{team_id}/members/@me"),
        Some(&bob),
        None,
    )
    .await;
    let members = t.get(&format!("/teams/{team_id}/members"), &bob).await;
    assert_eq!(members.body.as_array().unwrap().len(), 2);

    // Only the owner hands the team over, and only to an accepted member.
    let r = t
        .patch(
            &format!("/teams/{team_id}"),
            &bob,
            json!({"owner_user_id": bob_id}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = t
        .patch(
            &format!("/teams/{team_id}"),
            &owner,
            json!({"owner_user_id": carol_id}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = t
        .patch(
            &format!("/teams/{team_id}"),
            &owner,
            json!({"owner_user_id": bob_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["owner_user_id"], bob_id);
    // The old owner stays, as an admin, and may now leave.
    let alice = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == owner_id)
        .unwrap()
        .clone();
    assert_eq!(
        (alice["role"].clone(), alice["membership_state"].clone()),
        (json!("admin"), json!(2))
    );
    assert_eq!(
        t.delete(&format!("/teams/{team_id}/members/@me"), &bob)
            .await
            .status,
        400,
        "the owner can't leave"
    );
    assert_eq!(
        t.delete(&format!("/teams/{team_id}/members/@me"), &owner)
            .await
            .status,
        204
    );
    assert_eq!(
        t.get(&format!("/teams/{team_id}"), &owner).await.status,
        404
    );

    // Bots don't use teams.
    let app = t
        .post("/applications", &bob, json!({"name": "Helper"}))
        .await;
    let app_id = id_of(&app.body);
    let bot = t
        .post(&format!("/applications/{app_id}/bot"), &bob, json!({}))
        .await;
    let bot_token = format!("Bot {}", bot.body["token"].as_str().unwrap());
    let r = t.get("/teams", &bot_token).await;
    assert_eq!((r.status, r.body["code"].clone()), (403, json!(20001)));
    let r = t
        .post(
            &format!("/teams/{team_id}/members"),
            &bob,
            json!({"user_id": app_id, "role": "developer"}),
        )
        .await;
    assert_eq!(r.body["code"], 50002, "a bot can't be invited: {}", r.body);

    // An application can also be created straight into the team.
    let direct = t
        .post(
            "/applications",
            &bob,
            json!({"name": "Direct", "team_id": team_id}),
        )
        .await;
    assert_eq!(direct.status, 201, "{}", direct.body);
    assert_eq!(direct.body["team"]["id"], team_id);
    let listed = t.get(&format!("/teams/{team_id}/applications"), &bob).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["name"], "Direct");
    let r = t
        .post(
            "/applications",
            &carol,
            json!({"name": "Sneaky", "team_id": team_id}),
        )
        .await;
    assert_eq!(r.status, 404, "not on the team: {}", r.body);
}
