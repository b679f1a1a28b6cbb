//! OAuth2 user grants over HTTP: the consent step hands out a code, the token endpoint exchanges,
//! refreshes and revokes, bearer tokens reach only what their scopes open, and a bot adds a user
//! who granted `guilds.join` to a guild (`PUT /guilds/{id}/members/{user}`, GUILD_MEMBER_ADD).

mod common;

use common::{Gateway, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

const GUILD_MEMBERS: u64 = 1 << 1;
const REDIRECT: &str = "https://app.example/callback";
const REDIRECT_ESCAPED: &str = "https%3A%2F%2Fapp.example%2Fcallback";

/// An application with a bot, a registered redirect URI and a client secret.
struct Client {
    id: String,
    secret: String,
    bot: String,
}

async fn client(t: &TestServer, owner: &str) -> Client {
    let app = t
        .post("/applications", owner, json!({"name": "Grant Me"}))
        .await;
    assert_eq!(app.status, 201, "{}", app.body);
    let id = app.body["id"].as_str().expect("id").to_string();
    let bot = t
        .post(&format!("/applications/{id}/bot"), owner, json!({}))
        .await;
    assert_eq!(bot.status, 200, "{}", bot.body);
    let bot = format!("Bot {}", bot.body["token"].as_str().expect("token"));
    let patched = t
        .patch(
            &format!("/applications/{id}"),
            owner,
            json!({"redirect_uris": [REDIRECT, "https://other.example/cb"]}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let reset = t
        .post(&format!("/applications/{id}/reset"), owner, json!({}))
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let secret = reset.body["secret"].as_str().expect("secret").to_string();
    Client { id, secret, bot }
}

/// `POST /oauth2/authorize` as the Discord client sends it; returns the response.
async fn authorize(t: &TestServer, user: &str, c: &Client, query: &str, yes: bool) -> common::Resp {
    t.post(
        &format!("/oauth2/authorize?client_id={}&{query}", c.id),
        user,
        json!({"authorize": yes}),
    )
    .await
}

/// The `code` of a consent's redirect location (checked to go to the registered URI).
async fn code_for(t: &TestServer, user: &str, c: &Client, scope: &str) -> String {
    let r = authorize(
        t,
        user,
        c,
        &format!("response_type=code&scope={scope}&redirect_uri={REDIRECT_ESCAPED}&state=s%201"),
        true,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let location = r.body["location"].as_str().expect("location");
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    assert!(location.ends_with("&state=s%201"), "{location}");
    location
        .split("code=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("code")
        .to_string()
}

/// `POST /oauth2/token` (form body); `basic` authenticates the client by HTTP Basic instead of
/// the form. Returns (status, body).
async fn token(
    t: &TestServer,
    c: &Client,
    basic: bool,
    secret: &str,
    form: &[(&str, &str)],
    path: &str,
) -> (u16, Value) {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut r = t.http.post(t.url(path));
    if basic {
        r = r.basic_auth(&c.id, Some(secret));
    } else {
        fields.push(("client_id", &c.id));
        fields.push(("client_secret", secret));
    }
    let resp = r.form(&fields).send().await.expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

fn bearer(body: &Value) -> String {
    format!(
        "Bearer {}",
        body["access_token"].as_str().expect("access_token")
    )
}

#[tokio::test]
async fn authorization_code_grant_refresh_and_revoke() {
    let s = common::owner_and_member("OAuth Home").await;
    let t = &s.t;
    let c = client(t, &s.alice).await;
    let carol = t.register("carol").await;
    let carol_id = t.me(&carol).await["id"].as_str().unwrap().to_string();

    // Consent: an unregistered redirect, an unknown scope and a missing response_type are
    // refused as form errors; declining sends the user back with access_denied.
    let bad = authorize(
        t,
        &carol,
        &c,
        "response_type=code&scope=identify&redirect_uri=https%3A%2F%2Fevil.example%2F",
        true,
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(
        common::field_code(&bad.body, &["redirect_uri"]),
        "OAUTH2_INVALID_REDIRECT_URI"
    );
    // Two URIs are registered: none named is ambiguous.
    let unnamed = authorize(t, &carol, &c, "response_type=code&scope=identify", true).await;
    assert_eq!(unnamed.status, 400, "{}", unnamed.body);
    let openid = authorize(
        t,
        &carol,
        &c,
        &format!("response_type=code&scope=identify%20openid&redirect_uri={REDIRECT_ESCAPED}"),
        true,
    )
    .await;
    assert_eq!(
        common::field_code(&openid.body, &["scope"]),
        "BASE_TYPE_CHOICES"
    );
    let no_type = authorize(t, &carol, &c, "scope=identify%20bot", true).await;
    assert_eq!(
        common::field_code(&no_type.body, &["response_type"]),
        "BASE_TYPE_REQUIRED",
        "{}",
        no_type.body
    );
    let declined = authorize(
        t,
        &carol,
        &c,
        &format!("response_type=code&scope=identify&redirect_uri={REDIRECT_ESCAPED}&state=z"),
        false,
    )
    .await;
    assert_eq!(
        declined.body["location"],
        format!("{REDIRECT}?error=access_denied&state=z")
    );

    // The code is exchanged once, with the client's secret (Basic), for Discord's token shape.
    let code = code_for(t, &carol, &c, "identify%20guilds").await;
    let (status, wrong) = token(
        t,
        &c,
        true,
        "not-the-secret",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
        "/oauth2/token",
    )
    .await;
    assert_eq!(
        (status, wrong["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // The redirect URI must be named, and be the code's.
    for redirect in [None, Some("https://other.example/cb")] {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        form.extend(redirect.map(|r| ("redirect_uri", r)));
        let (status, body) = token(t, &c, true, &c.secret, &form, "/oauth2/token").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{redirect:?}"
        );
    }
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, first) = token(t, &c, true, &c.secret, &form, "/oauth2/token").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 604_800);
    assert_eq!(first["scope"], "identify guilds");
    assert!(
        first["refresh_token"]
            .as_str()
            .is_some_and(|r| r.len() >= 30)
    );
    let (status, replay) = token(t, &c, false, &c.secret, &form, "/oauth2/token").await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The bearer token reads what `identify` and `guilds` open, and nothing else.
    let access = bearer(&first);
    let me = t.get("/users/@me", &access).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["id"], carol_id.as_str());
    assert!(
        me.body.get("email").is_none(),
        "no email without the email scope: {}",
        me.body
    );
    assert!(me.body.get("date_of_birth").is_none(), "{}", me.body);
    assert_eq!(t.get("/users/@me/guilds", &access).await.body, json!([]));
    let grant = t.get("/oauth2/@me", &access).await;
    assert_eq!(grant.status, 200, "{}", grant.body);
    assert_eq!(grant.body["application"]["id"], c.id.as_str());
    assert_eq!(grant.body["scopes"], json!(["identify", "guilds"]));
    assert_eq!(grant.body["user"]["id"], carol_id.as_str());
    assert!(
        grant.body["expires"]
            .as_str()
            .is_some_and(|e| e.contains('T'))
    );
    let info = t.get("/oauth2/userinfo", &access).await;
    assert_eq!(info.body["sub"], carol_id.as_str());
    assert_eq!(info.body["preferred_username"], "carol");
    assert!(
        info.body["picture"]
            .as_str()
            .is_some_and(|p| p.ends_with(".png"))
    );
    assert!(info.body.get("email").is_none());
    for (method, path) in [
        (Method::PATCH, "/users/@me"),
        (Method::GET, "/users/@me/connections"),
        (Method::GET, "/users/@me/channels"),
        (Method::POST, "/guilds"),
    ] {
        let r = t
            .req(
                method.clone(),
                path,
                Some(&access),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(
            (r.status, &r.body["code"]),
            (401, &json!(0)),
            "{method} {path}"
        );
    }
    // An account token is not an OAuth2 grant.
    assert_eq!(t.get("/oauth2/@me", &carol).await.status, 401);

    // Refreshing rotates both tokens: the old pair stops working.
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, second) = token(
        t,
        &c,
        false,
        &c.secret,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        "/oauth2/token",
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["scope"], "identify guilds");
    assert_eq!(t.get("/users/@me", &access).await.status, 401);
    let (status, _) = token(
        t,
        &c,
        false,
        &c.secret,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        "/oauth2/token",
    )
    .await;
    assert_eq!(status, 400, "a refresh token is used once");

    // Revoking the access token revokes its refresh token too.
    let access2 = bearer(&second);
    assert_eq!(t.get("/users/@me", &access2).await.status, 200);
    let (status, revoked) = token(
        t,
        &c,
        true,
        &c.secret,
        &[("token", second["access_token"].as_str().unwrap())],
        "/oauth2/token/revoke",
    )
    .await;
    assert_eq!((status, revoked), (200, json!({})));
    assert_eq!(t.get("/users/@me", &access2).await.status, 401);
    let (status, dead) = token(
        t,
        &c,
        true,
        &c.secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", second["refresh_token"].as_str().unwrap()),
        ],
        "/oauth2/token",
    )
    .await;
    assert_eq!(
        (status, dead["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The `email` scope adds the address, in /users/@me and in the OpenID claims.
    let code = code_for(t, &carol, &c, "identify+email").await;
    let (_, with_email) = token(
        t,
        &c,
        true,
        &c.secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
        "/oauth2/token",
    )
    .await;
    let access = bearer(&with_email);
    assert_eq!(
        t.get("/users/@me", &access).await.body["email"],
        "carol@example.com"
    );
    let info = t.get("/oauth2/userinfo", &access).await.body;
    assert_eq!(info["email"], "carol@example.com");
    assert_eq!(info["email_verified"], false);

    // No id_tokens are signed, so the key set is empty.
    let keys = t.req(Method::GET, "/oauth2/keys", None, None).await;
    assert_eq!((keys.status, keys.body), (200, json!({"keys": []})));
    t.srv().app.store().flush().await.unwrap();
    s.t.stop().await;
}

#[tokio::test]
async fn client_credentials_are_the_owners() {
    let t = common::start().await;
    let owner = t.register("owner").await;
    let c = client(&t, &owner).await;
    let (status, body) = token(
        &t,
        &c,
        false,
        &c.secret,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "identify email"),
        ],
        "/oauth2/token",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let me = t.get("/users/@me", &bearer(&body)).await;
    assert_eq!(me.body["username"], "owner");
    assert_eq!(me.body["email"], "owner@example.com");
    // Nothing that acts in guilds without a user's consent; unknown grants are refused.
    for (form, want) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("scope", "guilds.join"),
            ],
            "invalid_scope",
        ),
        (vec![("grant_type", "password")], "unsupported_grant_type"),
        (vec![], "invalid_request"),
    ] {
        let (status, body) = token(&t, &c, true, &c.secret, &form, "/oauth2/token").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(want)),
            "{form:?}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    // A client that never reset its secret has none that works.
    let other = t
        .post("/applications", &owner, json!({"name": "No Secret"}))
        .await;
    let other = Client {
        id: other.body["id"].as_str().unwrap().to_string(),
        secret: String::new(),
        bot: String::new(),
    };
    let (status, _) = token(
        &t,
        &other,
        true,
        "",
        &[("grant_type", "client_credentials"), ("scope", "identify")],
        "/oauth2/token",
    )
    .await;
    assert_eq!(status, 401);
    t.stop().await;
}

#[tokio::test]
async fn a_bot_adds_a_user_who_granted_guilds_join() {
    let s = common::owner_and_member("Join Me").await;
    let t = &s.t;
    let c = client(t, &s.alice).await;
    // The bot joins with CREATE_INSTANT_INVITE and MANAGE_NICKNAMES only.
    let added = t
        .post(
            &format!("/oauth2/authorize?client_id={}&scope=bot", c.id),
            &s.alice,
            json!({"guild_id": s.guild, "permissions": ((1u64 << 27) | 1).to_string(), "authorize": true}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let carol = t.register("carol").await;
    let carol_id = t.me(&carol).await["id"].as_str().unwrap().to_string();
    let exchange = |code: String| {
        let c = &c;
        async move {
            let (status, body) = token(
                t,
                c,
                true,
                &c.secret,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                ],
                "/oauth2/token",
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body["access_token"].as_str().unwrap().to_string()
        }
    };
    let join_token = exchange(code_for(t, &carol, &c, "identify%20guilds.join").await).await;
    let identify_only = exchange(code_for(t, &carol, &c, "identify").await).await;
    let path = format!("/guilds/{}/members/{carol_id}", s.guild);
    let put = |token: String, body: Value| {
        let path = path.clone();
        async move { t.req(Method::PUT, &path, Some(&token), Some(body)).await }
    };

    // Refused: a grant without guilds.join, a user token (not the application's bot), a role
    // the bot may not give.
    let r = put(c.bot.clone(), json!({"access_token": identify_only})).await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (403, &json!(50025)),
        "{}",
        r.body
    );
    let r = put(s.alice.clone(), json!({"access_token": join_token})).await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (403, &json!(50025)),
        "{}",
        r.body
    );
    let role = t
        .post(
            &format!("/guilds/{}/roles", s.guild),
            &s.alice,
            json!({"name": "vip"}),
        )
        .await;
    let role = role.body["id"].as_str().unwrap().to_string();
    let r = put(
        c.bot.clone(),
        json!({"access_token": join_token, "roles": [role]}),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (403, &json!(50013)),
        "{}",
        r.body
    );
    let r = t
        .req(
            Method::PUT,
            &format!("/guilds/{}/members/{}", s.guild, s.bob_id),
            Some(&c.bot),
            Some(json!({"access_token": join_token})),
        )
        .await;
    assert_eq!(
        r.body["code"], 50025,
        "bob did not grant this token: {}",
        r.body
    );

    // Accepted: 201 with the member (nick set), GUILD_MEMBER_ADD as any join; again: 204.
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(&s.alice, GUILD_MEMBERS).await;
    let r = put(
        c.bot.clone(),
        json!({"access_token": join_token, "nick": "Caz", "mute": null}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["user"]["id"], carol_id.as_str());
    assert_eq!(r.body["nick"], "Caz");
    let event = gw.event("GUILD_MEMBER_ADD").await;
    assert_eq!(event["user"]["id"], carol_id.as_str());
    assert_eq!(event["guild_id"], s.guild.as_str());
    assert_eq!(event["nick"], "Caz");
    let again = put(c.bot.clone(), json!({"access_token": join_token})).await;
    assert_eq!((again.status, again.body), (204, Value::Null));
    let member = t.get(&path, &s.alice).await;
    assert_eq!(member.body["nick"], "Caz");
    s.t.stop().await;
}
