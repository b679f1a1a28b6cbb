//! Guild stickers over HTTP and the gateway: multipart upload of PNG and Lottie files, the CDN
//! serving them back, modify/delete with their GUILD_STICKERS_UPDATE events and audit log
//! entries, permissions and validation, and messages sent with `sticker_ids`.

mod common;

use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_EXPRESSIONS: u64 = 1 << 3;
const GUILD_MESSAGES: u64 = 1 << 9;

/// Alice owns a guild; Bob is a plain member; Carol is in no guild.
struct Setup {
    t: common::TestServer,
    alice: String,
    bob: String,
    carol: String,
    guild: String,
    channel: String,
}

async fn setup() -> Setup {
    let t = common::start().await;
    let alice = t.register("alice").await;
    let bob = t.register("bob").await;
    let carol = t.register("carol").await;
    let (guild, channel) = t.guild(&alice, "Stickers").await;
    t.join_via_invite(&alice, &channel, &bob).await;
    Setup {
        t,
        alice,
        bob,
        carol,
        guild,
        channel,
    }
}

/// A file part: bytes and the file name sent with them.
type File = (Vec<u8>, &'static str);

/// A bad upload: its text fields, its file, and the field the error must name.
type Case = (
    Vec<(&'static str, &'static str)>,
    Option<File>,
    &'static str,
);

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgba8(w, h)
        .write_to(&mut out, image::ImageOutputFormat::Png)
        .unwrap();
    out.into_inner()
}

fn lottie() -> Vec<u8> {
    json!({"v": "5.7.4", "fr": 30, "ip": 0, "op": 60, "w": 320, "h": 320, "nm": "wave", "layers": []})
        .to_string()
        .into_bytes()
}

/// `POST /guilds/{id}/stickers` as discord.js and discord.py send it: text parts and `file`.
async fn upload(
    t: &common::TestServer,
    token: &str,
    guild: &str,
    fields: &[(&str, &str)],
    file: Option<File>,
) -> common::Resp {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    if let Some((bytes, name)) = file {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    let r = t
        .http
        .post(t.url(&format!("/guilds/{guild}/stickers")))
        .header("authorization", token)
        .header("x-audit-log-reason", "new sticker")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    common::Resp { status, body }
}

async fn cdn(t: &common::TestServer, path: &str) -> (u16, String, Vec<u8>) {
    let r = t
        .http
        .get(format!("{}{path}", t.srv().url()))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

async fn gateway(t: &common::TestServer, token: &str) -> (common::Gateway, Value) {
    let mut gw = common::Gateway::connect(&t.gateway_url("v=10&encoding=json"), false).await;
    gw.identify(token, GUILDS | GUILD_EXPRESSIONS | GUILD_MESSAGES)
        .await;
    let gc = gw.event("GUILD_CREATE").await;
    (gw, gc)
}

#[tokio::test]
async fn sticker_crud_round_trip() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let (mut gw, gc) = gateway(t, &s.alice).await;
    assert_eq!(gc["stickers"], json!([]));

    // A PNG: format from the bytes (the file name says nothing).
    let image = png(64, 64);
    let r = upload(
        t,
        &s.alice,
        g,
        &[
            ("name", "wave"),
            ("description", "A wave"),
            ("tags", "wave"),
        ],
        Some((image.clone(), "upload.bin")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let wave = id_of(&r.body);
    assert_eq!(r.body["name"], "wave");
    assert_eq!(r.body["description"], "A wave");
    assert_eq!(r.body["tags"], "wave");
    assert_eq!(r.body["type"], 2);
    assert_eq!(r.body["format_type"], 1);
    assert_eq!(r.body["available"], true);
    assert_eq!(r.body["guild_id"], *g);
    assert_eq!(r.body["user"]["username"], "alice");
    let sticker: twilight_model::channel::message::Sticker =
        serde_json::from_value(r.body.clone()).expect("Discord's sticker shape");
    assert_eq!(sticker.id.to_string(), wave);
    let ev = gw.event("GUILD_STICKERS_UPDATE").await;
    assert_eq!(ev["guild_id"], *g);
    assert_eq!(ev["stickers"][0]["id"], wave);
    assert!(ev["stickers"][0].get("user").is_none());

    // The CDN serves the identical bytes at the URL clients build from `format_type`, and
    // scales a static PNG down with `?size=`.
    let (status, ct, bytes) = cdn(t, &format!("/stickers/{wave}.png")).await;
    assert_eq!((status, ct.as_str()), (200, "image/png"));
    assert_eq!(bytes, image);
    let (status, _, small) = cdn(t, &format!("/stickers/{wave}.png?size=16")).await;
    assert_eq!(status, 200);
    let small = image::load_from_memory(&small).unwrap();
    assert_eq!((small.width(), small.height()), (16, 16));
    assert_eq!(cdn(t, "/stickers/12345.png").await.0, 404);

    // A Lottie animation, with no description.
    let anim = lottie();
    let r = upload(
        t,
        &s.alice,
        g,
        &[("name", "dance"), ("tags", "dancer")],
        Some((anim.clone(), "dance.json")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let dance = id_of(&r.body);
    assert_eq!(r.body["format_type"], 3);
    assert_eq!(r.body["description"], Value::Null);
    let ev = gw.event("GUILD_STICKERS_UPDATE").await;
    assert_eq!(ev["stickers"].as_array().unwrap().len(), 2);
    let (status, ct, bytes) = cdn(t, &format!("/stickers/{dance}.json")).await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    assert_eq!(bytes, anim);

    // Listed, fetched, in the guild object and in GUILD_CREATE.
    let list = t.get(&format!("/guilds/{g}/stickers"), &s.bob).await;
    assert_eq!(list.status, 200);
    let names: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["wave", "dance"]);
    let one = t
        .get(&format!("/guilds/{g}/stickers/{dance}"), &s.bob)
        .await;
    assert_eq!(one.body["name"], "dance");
    assert_eq!(
        t.get(&format!("/guilds/{g}/stickers"), &s.carol).await.body["code"],
        10004,
        "non-members see no guild"
    );
    let guild = t.get(&format!("/guilds/{g}"), &s.alice).await.body;
    assert_eq!(guild["stickers"].as_array().unwrap().len(), 2);
    let (_bob_gw, bob_gc) = gateway(t, &s.bob).await;
    assert_eq!(bob_gc["stickers"][1]["id"], dance);

    // By id alone, from outside the guild too (without the uploader).
    let r = t.get(&format!("/stickers/{wave}"), &s.carol).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "wave");
    assert_eq!(r.body["type"], 2);
    assert!(r.body.get("user").is_none());
    let r = t.get(&format!("/stickers/{wave}"), &s.alice).await;
    assert_eq!(r.body["user"]["username"], "alice");
    assert_eq!(t.get("/stickers/12345", &s.alice).await.body["code"], 10060);
    let packs = t.get("/sticker-packs", &s.alice).await;
    assert_eq!(
        (packs.status, packs.body.clone()),
        (200, json!({"sticker_packs": []}))
    );
    assert_eq!(
        t.get("/sticker-packs/847199849233514549", &s.alice)
            .await
            .body["code"],
        10061
    );

    // Modify: name, description cleared with null, tags.
    let r = t
        .patch(
            &format!("/guilds/{g}/stickers/{wave}"),
            &s.alice,
            json!({"name": "big wave", "description": null, "tags": "ocean"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "big wave");
    assert_eq!(r.body["description"], Value::Null);
    assert_eq!(r.body["tags"], "ocean");
    assert_eq!(r.body["format_type"], 1);
    let ev = gw.event("GUILD_STICKERS_UPDATE").await;
    assert_eq!(ev["stickers"][0]["name"], "big wave");
    let r = t
        .patch(
            &format!("/guilds/{g}/stickers/{wave}"),
            &s.alice,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(r.body["code"], 50035);
    assert!(r.body["errors"]["name"].is_object(), "{}", r.body);

    // Audit log: create (with the request's reason), update.
    let log = t
        .get(&format!("/guilds/{g}/audit-logs?action_type=90"), &s.alice)
        .await
        .body;
    let entries = log["audit_log_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["target_id"], wave);
    assert_eq!(entries[1]["reason"], "new sticker");
    let log = t
        .get(&format!("/guilds/{g}/audit-logs?action_type=91"), &s.alice)
        .await
        .body;
    let changes = &log["audit_log_entries"][0]["changes"];
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == "name"
                && c["old_value"] == "wave"
                && c["new_value"] == "big wave"),
        "{changes}"
    );

    // Persisted across a restart (the guild actor loads them again).
    let (alice, guild) = (s.alice.clone(), g.clone());
    drop(gw);
    drop(_bob_gw);
    let dir = s.t.stop().await;
    let t = common::start_in(dir).await;
    let list = t
        .get(&format!("/guilds/{guild}/stickers"), &alice)
        .await
        .body;
    assert_eq!(list[0]["name"], "big wave");
    assert_eq!(list[1]["name"], "dance");

    // Delete.
    let (mut gw, _) = gateway(&t, &alice).await;
    let r = t
        .delete(&format!("/guilds/{guild}/stickers/{wave}"), &alice)
        .await;
    assert_eq!(r.status, 204);
    let ev = gw.event("GUILD_STICKERS_UPDATE").await;
    assert_eq!(ev["stickers"].as_array().unwrap().len(), 1);
    assert_eq!(
        t.get(&format!("/guilds/{guild}/stickers/{wave}"), &alice)
            .await
            .body["code"],
        10060
    );
    assert_eq!(
        t.delete(&format!("/guilds/{guild}/stickers/{wave}"), &alice)
            .await
            .body["code"],
        10060
    );
    assert_eq!(
        t.get(&format!("/stickers/{wave}"), &alice).await.body["code"],
        10060
    );
    // Its file is gone from the CDN too.
    assert_eq!(cdn(&t, &format!("/stickers/{wave}.png")).await.0, 404);
    let log = t
        .get(
            &format!("/guilds/{guild}/audit-logs?action_type=92"),
            &alice,
        )
        .await
        .body;
    assert_eq!(log["audit_log_entries"][0]["target_id"], wave);
}

#[tokio::test]
async fn sticker_permissions_and_validation() {
    let s = setup().await;
    let (t, g) = (&s.t, &s.guild);
    let ok = |name: &'static str| [("name", name), ("tags", "tag")];

    // Bad forms: 50035 naming the field; nothing is created.
    let cases: Vec<Case> = vec![
        (
            vec![("name", "x"), ("tags", "t")],
            Some((png(8, 8), "a.png")),
            "name",
        ),
        (vec![("tags", "t")], Some((png(8, 8), "a.png")), "name"),
        (
            vec![("name", "ok name")],
            Some((png(8, 8), "a.png")),
            "tags",
        ),
        (
            vec![("name", "ok name"), ("tags", "t"), ("description", "d")],
            Some((png(8, 8), "a.png")),
            "description",
        ),
        (ok("no file").to_vec(), None, "file"),
        (
            ok("text file").to_vec(),
            Some((b"just some text".to_vec(), "a.png")),
            "file",
        ),
    ];
    for (fields, file, field) in cases {
        let r = upload(t, &s.alice, g, &fields, file).await;
        assert_eq!(
            (r.status, &r.body["code"]),
            (400, &json!(50035)),
            "{field}: {}",
            r.body
        );
        assert!(r.body["errors"][field].is_object(), "{field}: {}", r.body);
    }
    // JSON that is not a Lottie animation, a truncated PNG: Invalid Asset.
    let r = upload(
        t,
        &s.alice,
        g,
        &ok("json"),
        Some((br#"{"hello": 1}"#.to_vec(), "a.json")),
    )
    .await;
    assert_eq!(r.body["code"], 50046, "{}", r.body);
    let r = upload(
        t,
        &s.alice,
        g,
        &ok("cut"),
        Some((png(8, 8)[..30].to_vec(), "a.png")),
    )
    .await;
    assert_eq!(r.body["code"], 50046, "{}", r.body);
    // Larger than `limits.guild.max_sticker_size` (512 KiB).
    let big = vec![0u8; 512 * 1024 + 1];
    let r = upload(t, &s.alice, g, &ok("big"), Some((big, "big.png"))).await;
    assert_eq!(r.body["code"], 50138, "{}", r.body);
    // JSON instead of a form: the form's fields are missing.
    let r = t
        .post(
            &format!("/guilds/{g}/stickers"),
            &s.alice,
            json!({"name": "json body", "tags": "t"}),
        )
        .await;
    assert_eq!(r.body["code"], 50035, "{}", r.body);
    assert!(r.body["errors"]["file"].is_object(), "{}", r.body);
    assert_eq!(
        t.get(&format!("/guilds/{g}/stickers"), &s.alice).await.body,
        json!([])
    );

    // Non-members can't upload.
    let r = upload(t, &s.carol, g, &ok("carols"), Some((png(8, 8), "a.png"))).await;
    assert_eq!(r.body["code"], 10004);

    // Bob may create (CREATE_GUILD_EXPRESSIONS is in @everyone's defaults, as on Discord) and
    // manage his own stickers, not Alice's.
    let r = upload(t, &s.alice, g, &ok("alices"), Some((png(8, 8), "a.png"))).await;
    let alices = id_of(&r.body);
    let r = upload(t, &s.bob, g, &ok("bobs"), Some((png(8, 8), "b.png"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let bobs = id_of(&r.body);
    let r = t
        .patch(
            &format!("/guilds/{g}/stickers/{bobs}"),
            &s.bob,
            json!({"tags": "mine"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .patch(
            &format!("/guilds/{g}/stickers/{alices}"),
            &s.bob,
            json!({"name": "mine now"}),
        )
        .await;
    assert_eq!(r.body["code"], 50013);
    assert_eq!(
        t.delete(&format!("/guilds/{g}/stickers/{alices}"), &s.bob)
            .await
            .body["code"],
        50013
    );

    // Without the expression permissions (@everyone: view, send, read history), Bob can do
    // nothing, not even to his own sticker; the refused upload stores nothing.
    let r = t
        .patch(
            &format!("/guilds/{g}/roles/{g}"),
            &s.alice,
            json!({"permissions": "68608"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = upload(t, &s.bob, g, &ok("nope"), Some((png(8, 8), "n.png"))).await;
    assert_eq!((r.status, &r.body["code"]), (403, &json!(50013)));
    assert_eq!(
        t.patch(
            &format!("/guilds/{g}/stickers/{bobs}"),
            &s.bob,
            json!({"tags": "x"})
        )
        .await
        .body["code"],
        50013
    );
    assert_eq!(
        t.delete(&format!("/guilds/{g}/stickers/{bobs}"), &s.bob)
            .await
            .body["code"],
        50013
    );
    let list = t.get(&format!("/guilds/{g}/stickers"), &s.bob).await.body;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        list[0].get("user").is_none(),
        "no uploader without the permissions"
    );

    // `limits.guild.max_stickers` (5): the sixth is refused with 30039.
    for name in ["three", "four", "five"] {
        let r = upload(t, &s.alice, g, &ok(name), Some((png(8, 8), "a.png"))).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = upload(t, &s.alice, g, &ok("six"), Some((png(8, 8), "a.png"))).await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (400, &json!(30039)),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn messages_carry_sticker_items() {
    let s = setup().await;
    let (t, g, c) = (&s.t, &s.guild, &s.channel);
    let r = upload(
        t,
        &s.alice,
        g,
        &[("name", "wave"), ("tags", "wave")],
        Some((png(32, 32), "w.png")),
    )
    .await;
    let wave = id_of(&r.body);
    let r = upload(
        t,
        &s.alice,
        g,
        &[("name", "dance"), ("tags", "dance")],
        Some((lottie(), "d.json")),
    )
    .await;
    let dance = id_of(&r.body);
    let (mut gw, _) = gateway(t, &s.bob).await;

    // Stickers alone make a message.
    let r = t
        .post(
            &format!("/channels/{c}/messages"),
            &s.bob,
            json!({"sticker_ids": [wave, dance]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sent = id_of(&r.body);
    let items = json!([
        {"id": wave, "name": "wave", "format_type": 1},
        {"id": dance, "name": "dance", "format_type": 3},
    ]);
    assert_eq!(r.body["sticker_items"], items);
    let ev = gw.event("MESSAGE_CREATE").await;
    assert_eq!(ev["sticker_items"], items);
    let m: twilight_model::channel::Message =
        serde_json::from_value(ev).expect("Discord's message shape");
    assert_eq!(m.sticker_items.len(), 2);
    // A message without stickers has no `sticker_items`, as on Discord.
    let r = t
        .post(
            &format!("/channels/{c}/messages"),
            &s.bob,
            json!({"content": "plain"}),
        )
        .await;
    assert!(r.body.get("sticker_items").is_none(), "{}", r.body);

    // Refusals: too many, unknown, another guild's, and any guild sticker in a DM.
    let r = t
        .post(
            &format!("/channels/{c}/messages"),
            &s.bob,
            json!({"sticker_ids": [wave, wave, dance, dance]}),
        )
        .await;
    assert_eq!(r.body["code"], 50035, "{}", r.body);
    assert!(r.body["errors"]["sticker_ids"].is_object(), "{}", r.body);
    let r = t
        .post(
            &format!("/channels/{c}/messages"),
            &s.bob,
            json!({"sticker_ids": ["12345"]}),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (404, &json!(10060)),
        "{}",
        r.body
    );
    let (other, _) = t.guild(&s.carol, "Elsewhere").await;
    let r = upload(
        t,
        &s.carol,
        &other,
        &[("name", "theirs"), ("tags", "t")],
        Some((png(8, 8), "t.png")),
    )
    .await;
    let theirs = id_of(&r.body);
    let r = t
        .post(
            &format!("/channels/{c}/messages"),
            &s.bob,
            json!({"sticker_ids": [theirs]}),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["code"]),
        (400, &json!(50081)),
        "{}",
        r.body
    );
    let me = t.me(&s.alice).await;
    let dm = t
        .post(
            "/users/@me/channels",
            &s.bob,
            json!({"recipient_id": me["id"]}),
        )
        .await;
    assert_eq!(dm.status, 200, "{}", dm.body);
    let dm = id_of(&dm.body);
    let r = t
        .post(
            &format!("/channels/{dm}/messages"),
            &s.bob,
            json!({"sticker_ids": [wave]}),
        )
        .await;
    assert_eq!(r.body["code"], 50081, "{}", r.body);
    let r = t
        .post(
            &format!("/channels/{dm}/messages"),
            &s.bob,
            json!({"sticker_ids": ["12345"]}),
        )
        .await;
    assert_eq!(r.body["code"], 10060, "{}", r.body);

    // The items are a snapshot: renaming the sticker leaves the message as it was, and they
    // are stored (read back from the store after a restart).
    t.patch(
        &format!("/guilds/{g}/stickers/{wave}"),
        &s.alice,
        json!({"name": "renamed"}),
    )
    .await;
    let (bob, channel) = (s.bob.clone(), c.clone());
    drop(gw);
    let dir = s.t.stop().await;
    let t = common::start_in(dir).await;
    let page = t
        .get(&format!("/channels/{channel}/messages?limit=10"), &bob)
        .await
        .body;
    let m = page
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == sent)
        .expect("the sticker message");
    assert_eq!(m["sticker_items"], items);
    let one = t
        .get(&format!("/channels/{channel}/messages/{sent}"), &bob)
        .await
        .body;
    assert_eq!(one["sticker_items"][0]["name"], "wave");
}
