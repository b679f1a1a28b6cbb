//! Writes and checks `discord-responses.json`, the response schemas `/api/openapi.json` takes
//! from Discord's public OpenAPI document (`../shared/spec/discord-openapi.json`, or
//! `ACCORD_DISCORD_SPEC`).
//!
//! For each route of the table whose template has the same shape as one of Discord's (`{param}`
//! names may differ: our `{pack_id}` is Discord's `{sticker_pack_id}`), it copies that
//! operation's 2xx response objects (without Discord's rate-limit headers) and, transitively,
//! every component schema they reference, plus the rate-limit schema. Routes Discord does not
//! describe are listed under `accord_only`. One place where the document contradicts Discord's
//! answers is mended on the way (see [`mend_template_references`]).
//!
//! `discord_responses_are_current` regenerates the file and fails when the vendored copy differs
//! (`ACCORD_BLESS=1 cargo test --lib discord_responses` rewrites it);
//! `discord_responses_cover_the_route_table` needs no spec and fails when a route was added or
//! removed without regenerating.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::responses::{RATELIMIT_SCHEMA, Vendored, key};
use super::routes;

/// Discord's licence for the document the schemas are taken from, kept with them.
const LICENCE: &str = "The schemas under `operations` and `schemas` are taken from Discord's \
    public OpenAPI document (github.com/discord/discord-api-spec, specs/openapi.json, snapshot \
    of 2026-07-18), Copyright (c) Discord Inc., under the MIT License: Permission is hereby \
    granted, free of charge, to any person obtaining a copy of this software and associated \
    documentation files (the \"Software\"), to deal in the Software without restriction, \
    including without limitation the rights to use, copy, modify, merge, publish, distribute, \
    sublicense, and/or sell copies of the Software, and to permit persons to whom the Software \
    is furnished to do so, subject to the following conditions: The above copyright notice and \
    this permission notice shall be included in all copies or substantial portions of the \
    Software. THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR \
    IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A \
    PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS \
    BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT \
    OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER \
    DEALINGS IN THE SOFTWARE.";

const SCHEMA_REF: &str = "#/components/schemas/";

fn vendored_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/api/openapi/discord-responses.json")
}

/// Where the shared spec lives (as in tests/shapes/spec.rs).
fn spec_path() -> PathBuf {
    match std::env::var_os("ACCORD_DISCORD_SPEC") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/discord-openapi.json")
        }
    }
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

fn shape(template: &str) -> Vec<&str> {
    template
        .split('/')
        .map(|s| if is_param(s) { "{}" } else { s })
        .collect()
}

/// Discord's template for `method` on a path of the same shape as `path`.
fn discord_template<'a>(doc: &'a Value, method: &str, path: &str) -> Option<&'a str> {
    let wanted = shape(path);
    doc["paths"]
        .as_object()?
        .iter()
        .find(|(t, item)| item.get(method).is_some() && shape(t) == wanted)
        .map(|(t, _)| t.as_str())
}

/// The component schemas `v` references directly.
fn schema_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                let name = r
                    .strip_prefix(SCHEMA_REF)
                    .unwrap_or_else(|| panic!("a reference outside the schemas: {r}"));
                out.push(name.to_string());
            }
            m.values().for_each(|v| schema_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| schema_refs(v, out)),
        _ => {}
    }
}

/// A 2xx response object of Discord's, its `$ref` followed and its headers dropped.
fn success_response(doc: &Value, response: &Value) -> Value {
    let response = match response.get("$ref").and_then(Value::as_str) {
        Some(ptr) => doc
            .pointer(ptr.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {ptr}")),
        None => response,
    };
    let mut out = response.as_object().expect("a response object").clone();
    out.remove("headers");
    Value::Object(out)
}

/// A template's snapshot numbers its roles and channels (`roles[].id`, `channels[].id` are
/// integers in the document too) and refers to them by those numbers, but the document types
/// the references (`system_channel_id`, `afk_channel_id`, a channel's `parent_id` and its
/// overwrites' `id`) as snowflake strings. Discord sends the numbers (tests/shapes/spec.rs
/// `spec_defect` makes the same allowance), so the vendored copy also admits an integer there.
/// The overwrite schema is shared with real channels, so the template gets its own copy.
fn mend_template_references(schemas: &mut BTreeMap<String, Value>) {
    const OVERWRITE: &str = "GuildTemplateChannelPermissionOverwriteResponse";
    fn admit_integer(property: Option<&mut Value>) {
        let alternatives = property
            .and_then(|p| p.get_mut("oneOf"))
            .and_then(Value::as_array_mut)
            .expect("a nullable snowflake (`oneOf`)");
        alternatives
            .push(json!({"type": "integer", "description": "The template's number for it"}));
    }
    let snapshot = schemas
        .get_mut("GuildTemplateSnapshotResponse")
        .expect("the template snapshot schema");
    admit_integer(snapshot.pointer_mut("/properties/system_channel_id"));
    admit_integer(snapshot.pointer_mut("/properties/afk_channel_id"));
    let channel = schemas
        .get_mut("GuildTemplateChannelResponse")
        .expect("the template channel schema");
    admit_integer(channel.pointer_mut("/properties/parent_id"));
    if let Some(items) = channel.pointer_mut("/properties/permission_overwrites/items") {
        *items = json!({"$ref": format!("{SCHEMA_REF}{OVERWRITE}")});
    }
    let mut overwrite = schemas
        .get("ChannelPermissionOverwriteResponse")
        .expect("the overwrite schema")
        .clone();
    overwrite["properties"]["id"] = json!({"oneOf": [
        {"$ref": format!("{SCHEMA_REF}SnowflakeType")},
        {"type": "integer", "description": "The template's number for the role"},
    ]});
    assert!(
        !schemas.contains_key(OVERWRITE),
        "{OVERWRITE} is Discord's now"
    );
    schemas.insert(OVERWRITE.into(), overwrite);
}

/// The vendored file's content.
fn generate(doc: &Value) -> Value {
    let mut operations = BTreeMap::new();
    let mut accord_only = BTreeSet::new();
    for (_, route) in routes() {
        let method = route.method.as_str();
        let Some(template) = discord_template(doc, method, route.path) else {
            accord_only.insert(key(route));
            continue;
        };
        let responses = doc["paths"][template][method]["responses"]
            .as_object()
            .expect("responses");
        let success: Map<String, Value> = responses
            .iter()
            .filter(|(status, _)| status.starts_with('2'))
            .map(|(status, r)| (status.clone(), success_response(doc, r)))
            .collect();
        operations.insert(key(route), Value::Object(success));
    }

    let mut pending: Vec<String> = vec![RATELIMIT_SCHEMA.into()];
    operations
        .values()
        .for_each(|v| schema_refs(v, &mut pending));
    let mut schemas = BTreeMap::new();
    while let Some(name) = pending.pop() {
        if schemas.contains_key(&name) {
            continue;
        }
        let schema = doc["components"]["schemas"]
            .get(&name)
            .unwrap_or_else(|| panic!("Discord's spec has no schema {name}"))
            .clone();
        schema_refs(&schema, &mut pending);
        schemas.insert(name, schema);
    }
    mend_template_references(&mut schemas);
    json!({
        "licence": LICENCE,
        "generated_by": "ACCORD_BLESS=1 cargo test --lib discord_responses (src/api/openapi/responses_gen.rs)",
        "accord_only": accord_only,
        "operations": operations,
        "schemas": schemas,
    })
}

#[test]
fn discord_responses_are_current() {
    let path = spec_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "Discord's OpenAPI document is needed at {} (or ACCORD_DISCORD_SPEC): {e}",
            path.display()
        )
    });
    let doc: Value = serde_json::from_str(&text).expect("the spec is JSON");
    let want = serde_json::to_string_pretty(&generate(&doc)).expect("serialize") + "\n";
    if std::env::var_os("ACCORD_BLESS").is_some() {
        std::fs::write(vendored_path(), &want).expect("write the vendored file");
        return;
    }
    let have = std::fs::read_to_string(vendored_path()).expect("the vendored file");
    assert!(
        have == want,
        "src/api/openapi/discord-responses.json is stale: run \
         `ACCORD_BLESS=1 cargo test --lib discord_responses` and commit the result"
    );
}

#[test]
fn discord_responses_cover_the_route_table() {
    let text = std::fs::read_to_string(vendored_path()).expect("the vendored file");
    let raw: Value = serde_json::from_str(&text).expect("JSON");
    let vendored = Vendored::parse(&text).expect("parses");
    let mut listed: BTreeSet<String> = vendored.operations.keys().cloned().collect();
    for k in raw["accord_only"].as_array().expect("accord_only") {
        let k = k.as_str().expect("a key").to_string();
        assert!(listed.insert(k.clone()), "{k} is listed twice");
    }
    let table: BTreeSet<String> = routes().map(|(_, r)| key(r)).collect();
    let added: Vec<&String> = table.difference(&listed).collect();
    let removed: Vec<&String> = listed.difference(&table).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "discord-responses.json is stale against the route table (routes not in it: \
         {added:?}; in it but no longer routes: {removed:?}): run \
         `ACCORD_BLESS=1 cargo test --lib discord_responses`"
    );
}

#[test]
fn every_vendored_reference_resolves() {
    let vendored =
        Vendored::parse(&std::fs::read_to_string(vendored_path()).expect("the vendored file"))
            .expect("parses");
    let mut refs = Vec::new();
    vendored
        .operations
        .values()
        .for_each(|v| schema_refs(v, &mut refs));
    vendored
        .schemas
        .values()
        .for_each(|v| schema_refs(v, &mut refs));
    for name in refs {
        assert!(vendored.schemas.contains_key(&name), "dangling {name}");
    }
}
