//! Applications and bots: create, token, add to a guild with OAuth2, use REST and the gateway.

mod common;

use common::Gateway;
use reqwest::Method;
use serde_json::json;

const GUILDS: u64 = 1;
const GUILD_MEMBERS: u64 = 1 << 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const MESSAGE_CONTENT: u64 = 1 << 15;

#[tokio::test]
async fn bot_lifecycle() {
    let t = common::start().await;
    let owner = t.register("owner").await;
    let (guild, channel) = t.guild(&owner, "Bot Home").await;

    let app = t
        .post("/applications", &owner, json!({"name": "Helper Bot"}))
        .await;
    assert_eq!(app.status, 201, "{}", app.body);
    let app_id = app.body["id"].as_str().unwrap().to_string();
    assert_eq!(t.get("/applications", &owner).await.body[0]["id"], app_id);
    let bot = t
        .post(&format!("/applications/{app_id}/bot"), &owner, json!({}))
        .await;
    assert_eq!(bot.status, 200, "{}", bot.body);
    assert_eq!(
        bot.body["id"], app_id,
        "the bot user shares the application id"
    );
    assert_eq!(bot.body["bot"], true);
    let token = format!("Bot {}", bot.body["token"].as_str().unwrap());

    // The bot sees itself and its application (discord.py's login calls both).
    let me = t.get("/users/@me", &token).await;
    assert_eq!(me.body["bot"], true);
    let own = t.get("/oauth2/applications/@me", &token).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["id"], app_id);
    assert_eq!(own.body["owner"]["username"], "owner");
    assert!(
        own.body.get("bot_public").is_some() && own.body.get("bot_require_code_grant").is_some()
    );

    // Not in the guild yet.
    assert_eq!(
        t.post(
            &format!("/channels/{channel}/messages"),
            &token,
            json!({"content": "x"})
        )
        .await
        .body["code"],
        10003
    );

    // OAuth2: the owner adds the bot with MANAGE_MESSAGES | SEND_MESSAGES | VIEW_CHANNEL.
    let preview = t
        .get(
            &format!("/oauth2/authorize?client_id={app_id}&scope=bot&permissions=11264"),
            &owner,
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["guilds"][0]["id"], guild);
    let a = t
        .post(
            &format!("/oauth2/authorize?client_id={app_id}&scope=bot"),
            &owner,
            json!({"guild_id": guild, "permissions": "11264", "authorize": true}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let member = t
        .get(&format!("/guilds/{guild}/members/{app_id}"), &owner)
        .await;
    assert_eq!(member.body["user"]["bot"], true);
    let roles = t.get(&format!("/guilds/{guild}/roles"), &owner).await;
    let managed = roles
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["managed"] == true)
        .expect("managed role");
    assert_eq!(managed["tags"]["bot_id"], app_id);
    assert_eq!(member.body["roles"][0], managed["id"]);

    // The bot identifies with privileged intents (allowed by default) and sees messages.
    let mut gw = Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    let ready = gw
        .identify(
            &token,
            GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | MESSAGE_CONTENT,
        )
        .await;
    assert_eq!(ready["application"]["id"], app_id);
    serde_json::from_value::<twilight_model::gateway::payload::incoming::Ready>(ready)
        .expect("twilight Ready");
    gw.event("GUILD_CREATE").await;
    t.post(
        &format!("/channels/{channel}/messages"),
        &owner,
        json!({"content": "hello bot"}),
    )
    .await;
    assert_eq!(gw.event("MESSAGE_CREATE").await["content"], "hello bot");
    let sent = t
        .post(
            &format!("/channels/{channel}/messages"),
            &token,
            json!({"content": "beep"}),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.body["author"]["bot"], true);

    // Without the content flags, MESSAGE_CONTENT is refused with 4014.
    t.patch(
        &format!("/applications/{app_id}"),
        &owner,
        json!({"flags": 0}),
    )
    .await;
    let mut gw2 = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw2.recv().await;
    gw2.send(json!({"op": 2, "d": {"token": token, "intents": GUILDS | MESSAGE_CONTENT, "properties": {}}})).await;
    assert_eq!(gw2.next().await.err(), Some(Some(4014)));
    // ...and without the intent, content is hidden from the bot but not from users.
    let mut gw3 = Gateway::connect(&t.gateway_url("v=10"), false).await;
    gw3.identify(&token, GUILDS | GUILD_MESSAGES).await;
    t.post(
        &format!("/channels/{channel}/messages"),
        &owner,
        json!({"content": "secret"}),
    )
    .await;
    assert_eq!(gw3.event("MESSAGE_CREATE").await["content"], "");

    // Token reset revokes the old token.
    let reset = t
        .post(
            &format!("/applications/{app_id}/bot/reset"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(t.get("/users/@me", &token).await.status, 401);
    let new_token = format!("Bot {}", reset.body["token"].as_str().unwrap());
    assert_eq!(t.get("/users/@me", &new_token).await.status, 200);

    // Someone else can't see or change the application.
    let other = t.register("other").await;
    assert_eq!(
        t.get(&format!("/applications/{app_id}"), &other).await.body["code"],
        10002
    );
    assert_eq!(
        t.req(
            Method::POST,
            "/applications",
            Some(&new_token),
            Some(json!({"name": "nested"}))
        )
        .await
        .status,
        403
    );
}

#[tokio::test]
async fn attachments_and_avatars_on_the_cdn() {
    use base64::Engine;
    let t = common::start().await;
    let token = t.register("uploader").await;
    let (guild, channel) = t.guild(&token, "Files").await;

    // Two files in one multipart message, like discord.js/discord.py send them.
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(128, 64)
        .write_to(&mut png, image::ImageOutputFormat::Png)
        .unwrap();
    let png = png.into_inner();
    let text = b"hello file".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("payload_json", json!({"content": "two files", "attachments": [{"id": 0, "filename": "pic.png"}, {"id": 1, "filename": "../../evil.txt"}]}).to_string())
        .part("files[0]", reqwest::multipart::Part::bytes(png.clone()).file_name("ignored.png").mime_str("image/png").unwrap())
        .part("files[1]", reqwest::multipart::Part::bytes(text.clone()).file_name("notes.txt"));
    let r = t
        .http
        .post(t.url(&format!("/channels/{channel}/messages")))
        .header("authorization", &token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let m: serde_json::Value = r.json().await.unwrap();
    assert_eq!(m["content"], "two files");
    let atts = m["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0]["filename"], "pic.png");
    assert_eq!(atts[0]["width"], 128);
    assert_eq!(atts[0]["height"], 64);
    assert_eq!(atts[0]["content_type"], "image/png");
    assert_eq!(atts[1]["filename"], "evil.txt", "no path traversal");
    assert_eq!(atts[1]["size"], text.len());
    for (a, bytes) in atts.iter().zip([&png, &text]) {
        let got = t.http.get(a["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(&got.bytes().await.unwrap().to_vec(), bytes);
    }
    assert_eq!(
        t.http
            .get(format!(
                "{}/attachments/{channel}/1/..%2F..%2Faccord.redb",
                t.srv().url()
            ))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Too large: 413 before anything is stored.
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"cdn": {"max_upload_bytes": 1000}}),
        )
        .await
        .unwrap();
    let big = reqwest::multipart::Form::new()
        .text("payload_json", "{}")
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(vec![0u8; 5000]).file_name("big.bin"),
        );
    let r = t
        .http
        .post(t.url(&format!("/channels/{channel}/messages")))
        .header("authorization", &token)
        .multipart(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // Avatar from a data URI, fetched whole and resized.
    let uri = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    let me = t.patch("/users/@me", &token, json!({"avatar": uri})).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let hash = me.body["avatar"].as_str().unwrap().to_string();
    let id = me.body["id"].as_str().unwrap();
    let full = t
        .http
        .get(format!("{}/avatars/{id}/{hash}.png", t.srv().url()))
        .send()
        .await
        .unwrap();
    assert_eq!(full.headers()["content-type"], "image/png");
    assert_eq!(full.bytes().await.unwrap().to_vec(), png);
    let small = t
        .http
        .get(format!("{}/avatars/{id}/{hash}.png?size=32", t.srv().url()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let img = image::load_from_memory(&small).unwrap();
    assert_eq!((img.width(), img.height()), (32, 16));
    // Not an image: a field error, not a crash.
    let bad = t
        .patch(
            "/users/@me",
            &token,
            json!({"avatar": "data:image/png;base64,aGVsbG8="}),
        )
        .await;
    assert_eq!(
        bad.body["errors"]["avatar"]["_errors"][0]["code"],
        "BASE_TYPE_BAD_TYPE"
    );
    // Guild icons too.
    let g = t
        .patch(&format!("/guilds/{guild}"), &token, json!({"icon": uri}))
        .await;
    assert_eq!(g.body["icon"], hash.as_str());
}

#[tokio::test]
async fn the_cdn_can_have_its_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    let server = accord::start(accord::ServeOptions {
        store: accord::StoreChoice::Embedded {
            data_dir: dir.path().to_path_buf(),
            durability: accord::store::Durability::Eventual,
            eventual_flush: Default::default(),
        },
        listen: Some("127.0.0.1:0".into()),
        cdn_listen: Some("127.0.0.1:0".into()),
        cluster: None,
        secret: None,
    })
    .await
    .unwrap();
    let cdn = server.cdn_addr.expect("a CDN listener");
    assert_ne!(cdn, server.addr);
    let t = common::wrap(server).await;
    let token = t.register("cdnuser").await;
    let (_, channel) = t.guild(&token, "Split").await;
    let form = reqwest::multipart::Form::new()
        .text("payload_json", json!({"content": "file"}).to_string())
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(b"split listener".to_vec()).file_name("a.txt"),
        );
    let m: serde_json::Value = t
        .http
        .post(t.url(&format!("/channels/{channel}/messages")))
        .header("authorization", &token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = m["attachments"][0]["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("http://{cdn}/attachments/")),
        "attachment URLs point at the CDN listener: {url}"
    );
    let got = t.http.get(&url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(&got.bytes().await.unwrap()[..], b"split listener");
    // The API port no longer serves files, and the CDN port serves nothing but files.
    let path = url.strip_prefix(&format!("http://{cdn}")).unwrap();
    let on_api = t
        .http
        .get(format!("{}{path}", t.srv().url()))
        .send()
        .await
        .unwrap();
    assert_eq!(on_api.status(), 404);
    let api_on_cdn = t
        .http
        .get(format!("http://{cdn}/api/v10/users/@me"))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(api_on_cdn.status(), 404);
    // The instance tells clients where the CDN is.
    let domains = t
        .http
        .get(t.url("/policies/instance/domains"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(domains["cdn"], format!("http://{cdn}"));
    t.stop().await;
}

/// A PNG whose header declares `w`×`h` grey pixels: valid chunks and CRCs, a tiny IDAT.
fn declared_png(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &[0u8; 4096]).unwrap();
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A GIF whose logical screen and only image declare `w`×`h`.
fn declared_gif(w: u16, h: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x2c, 0, 0, 0, 0]);
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.extend_from_slice(&[0, 2, 2, 0x4c, 0x01, 0, 0x3b]);
    out
}

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    use base64::Engine;
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Decompression bombs: a file of under 200 bytes that declares 60000×60000 pixels (3.6 G
/// pixels, 14 GB as RGBA) is refused from its header with 50035 on the field, before decoding;
/// the limit is `cdn.max_image_pixels`, read at use, and `?size=` never decodes past it either.
#[tokio::test]
async fn image_bombs_are_refused_by_declared_dimensions() {
    let t = common::start().await;
    let token = t.register("bomber").await;
    let (guild, _) = t.guild(&token, "Bombs").await;
    let png_bomb = declared_png(60_000, 60_000);
    let gif_bomb = declared_gif(60_000, 60_000);
    assert!(png_bomb.len() < 200 && gif_bomb.len() < 200);

    let expect_refused = |r: &common::Resp, field: &str| {
        assert_eq!(
            (r.status, &r.body["code"]),
            (400, &json!(50035)),
            "{}",
            r.body
        );
        assert_eq!(r.body["message"], "Invalid Form Body");
        let e = &r.body["errors"][field]["_errors"][0];
        assert_eq!(e["code"], "BASE_TYPE_BAD_TYPE", "{}", r.body);
        assert!(
            e["message"].as_str().unwrap().contains("16777216"),
            "{}",
            r.body
        );
    };
    let started = std::time::Instant::now();
    let r = t
        .patch(
            "/users/@me",
            &token,
            json!({"avatar": data_uri("image/png", &png_bomb)}),
        )
        .await;
    expect_refused(&r, "avatar");
    let r = t
        .patch(
            "/users/@me",
            &token,
            json!({"banner": data_uri("image/gif", &gif_bomb)}),
        )
        .await;
    expect_refused(&r, "banner");
    let r = t
        .patch(
            &format!("/guilds/{guild}"),
            &token,
            json!({"icon": data_uri("image/gif", &gif_bomb)}),
        )
        .await;
    expect_refused(&r, "icon");
    let r = t
        .post(
            &format!("/guilds/{guild}/emojis"),
            &token,
            json!({"name": "boom", "image": data_uri("image/png", &png_bomb)}),
        )
        .await;
    expect_refused(&r, "image");
    // Decoding even one of them would take many seconds and gigabytes.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // A real 128×64 avatar under the default limit is stored and resized…
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(128, 64)
        .write_to(&mut png, image::ImageOutputFormat::Png)
        .unwrap();
    let png = png.into_inner();
    let me = t
        .patch(
            "/users/@me",
            &token,
            json!({"avatar": data_uri("image/png", &png)}),
        )
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    let (id, hash) = (
        me.body["id"].as_str().unwrap().to_string(),
        me.body["avatar"].as_str().unwrap().to_string(),
    );
    let small_url = format!("{}/avatars/{id}/{hash}.png?size=32", t.srv().url());
    let small = t.http.get(&small_url).send().await.unwrap();
    let img = image::load_from_memory(&small.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (32, 16));

    // …and with the live limit lowered below its 8192 pixels, it is refused on upload and no
    // longer decoded for `?size=` (served as stored).
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &json!({"cdn": {"max_image_pixels": 4096}}),
        )
        .await
        .unwrap();
    let r = t
        .patch(
            &format!("/guilds/{guild}"),
            &token,
            json!({"icon": data_uri("image/png", &png)}),
        )
        .await;
    assert_eq!(r.body["code"], 50035, "{}", r.body);
    assert!(
        r.body["errors"]["icon"]["_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("4096"),
        "{}",
        r.body
    );
    let served = t.http.get(&small_url).send().await.unwrap();
    assert_eq!(served.bytes().await.unwrap().to_vec(), png);
}

#[tokio::test]
async fn bot_edits_its_own_application() {
    let t = common::start().await;
    let owner = t.register("owner").await;
    let app = t
        .post("/applications", &owner, json!({"name": "Self Editor"}))
        .await;
    let app_id = app.body["id"].as_str().unwrap().to_string();
    let bot = t
        .post(&format!("/applications/{app_id}/bot"), &owner, json!({}))
        .await;
    let token = format!("Bot {}", bot.body["token"].as_str().unwrap());

    let r = t
        .patch(
            "/applications/@me",
            &token,
            json!({"description": "I edit myself", "tags": ["utility", "fun"], "flags": 1 << 15}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], app_id);
    assert_eq!(r.body["description"], "I edit myself");
    assert_eq!(r.body["tags"], json!(["utility", "fun"]));
    // The owner sees the same application.
    let seen = t.get(&format!("/applications/{app_id}"), &owner).await;
    assert_eq!(seen.body["description"], "I edit myself");

    // Checked as PATCH /applications/{id} is.
    let r = t
        .patch(
            "/applications/@me",
            &token,
            json!({"tags": ["a", "b", "c", "d", "e", "f"], "description": "x".repeat(401)}),
        )
        .await;
    assert_eq!(r.body["code"], 50035, "{}", r.body);
    assert_eq!(
        common::field_code(&r.body, &["tags"]),
        "BASE_TYPE_MAX_ITEMS"
    );
    assert_eq!(
        common::field_code(&r.body, &["description"]),
        "BASE_TYPE_MAX_LENGTH"
    );
    // A user has no application of their own here.
    let r = t
        .patch("/applications/@me", &owner, json!({"description": "nope"}))
        .await;
    assert_eq!((r.status, r.body["code"].clone()), (404, json!(10002)));
    t.stop().await;
}
