//! Discord's public OpenAPI document (`../shared/spec/discord-openapi.json`) as a response
//! oracle: it finds the operation a request path belongs to (by the spec's path templates) and
//! checks a response against that operation's 2xx responses — the status must be one Discord
//! answers with, and a JSON body must validate against the operation's schema (OpenAPI 3.1
//! schemas are JSON Schema 2020-12; their `$ref`s into `components` are resolved by the
//! `jsonschema` crate against the document itself).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

/// One operation of the spec: an HTTP method on a path template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Operation {
    /// Lowercase, as OpenAPI keys it (`get`, `post`, …).
    pub method: String,
    /// As the spec writes it, e.g. `/channels/{channel_id}/messages/{message_id}`.
    pub template: String,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method.to_uppercase(), self.template)
    }
}

/// The loaded document and the validators compiled from it so far (one per operation/status).
pub struct DiscordSpec {
    doc: Value,
    operations: Vec<Operation>,
    validators: HashMap<(Operation, u16), Arc<jsonschema::Validator>>,
}

/// Where the shared spec lives: `ACCORD_DISCORD_SPEC`, else `shared/` beside the checkout (where
/// the project's machines and CI put it).
fn spec_path() -> PathBuf {
    match std::env::var_os("ACCORD_DISCORD_SPEC") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/discord-openapi.json")
        }
    }
}

/// `{anything}` matches one path segment; everything else matches itself.
fn segment_matches(template: &str, actual: &str) -> bool {
    (template.starts_with('{') && template.ends_with('}') && !actual.is_empty())
        || template == actual
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

impl DiscordSpec {
    pub fn load() -> DiscordSpec {
        let path = spec_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "Discord's OpenAPI document is needed at {} (or ACCORD_DISCORD_SPEC): {e}",
                path.display()
            )
        });
        let doc: Value = serde_json::from_str(&text).expect("the spec is JSON");
        let mut operations = Vec::new();
        for (template, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                if matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                    operations.push(Operation {
                        method: method.clone(),
                        template: template.clone(),
                    });
                }
            }
        }
        operations.sort();
        DiscordSpec {
            doc,
            operations,
            validators: HashMap::new(),
        }
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation a request (`method`, concrete `path` without `/api/v10`) belongs to. Where
    /// templates overlap (`/users/@me` and `/users/{user_id}`), the one with more literal
    /// segments wins, as in Discord's router.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        let path = path.split('?').next().unwrap_or(path);
        let actual: Vec<&str> = path.split('/').collect();
        self.operations
            .iter()
            .filter(|op| op.method == method)
            .filter(|op| {
                let tpl: Vec<&str> = op.template.split('/').collect();
                tpl.len() == actual.len()
                    && tpl.iter().zip(&actual).all(|(t, a)| segment_matches(t, a))
            })
            .max_by_key(|op| op.template.split('/').filter(|s| !is_param(s)).count())
    }

    /// The operation with the same template shape as an Accord route path (`{param}` names may
    /// differ: Accord's `{pack_id}` is Discord's `{sticker_pack_id}`).
    pub fn operation_for_template(&self, method: &str, template: &str) -> Option<&Operation> {
        let shape = |t: &str| -> Vec<String> {
            t.split('/')
                .map(|s| if is_param(s) { "{}".into() } else { s.into() })
                .collect()
        };
        let wanted = shape(template);
        self.operations
            .iter()
            .find(|op| op.method == method && shape(&op.template) == wanted)
    }

    fn responses(&self, op: &Operation) -> &Map<String, Value> {
        self.doc["paths"][&op.template][&op.method]["responses"]
            .as_object()
            .expect("responses")
    }

    /// A response object, following a `$ref` into `components/responses`.
    fn response(&self, op: &Operation, status: &str) -> Option<&Value> {
        let r = self.responses(op).get(status)?;
        match r.get("$ref").and_then(Value::as_str) {
            Some(ptr) => self.doc.pointer(ptr.trim_start_matches('#')),
            None => Some(r),
        }
    }

    /// The 2xx statuses Discord documents for `op`.
    pub fn success_statuses(&self, op: &Operation) -> Vec<u16> {
        self.responses(op)
            .keys()
            .filter_map(|k| k.parse::<u16>().ok())
            .filter(|s| (200..300).contains(s))
            .collect()
    }

    /// Checks one response: the status is one of the operation's 2xx statuses, a body is there
    /// exactly when Discord sends one, and it validates against the schema. Returns the
    /// problems, one per line.
    pub fn check(&mut self, op: &Operation, status: u16, body: &Value) -> Result<(), String> {
        let statuses = self.success_statuses(op);
        if !statuses.contains(&status) {
            return Err(format!(
                "status {status}; Discord answers {statuses:?}; body {}",
                short(body)
            ));
        }
        let schema = self
            .response(op, &status.to_string())
            .and_then(|r| r.pointer("/content/application~1json/schema"))
            .cloned();
        let Some(schema) = schema else {
            // A body of another media type (`text/csv`, `image/png`) arrives as text.
            let other_media = self
                .response(op, &status.to_string())
                .and_then(|r| r.get("content"))
                .and_then(Value::as_object)
                .is_some_and(|c| !c.is_empty());
            return match body {
                Value::Null => Ok(()),
                Value::String(_) if other_media => Ok(()),
                other => Err(format!(
                    "status {status} has no body on Discord, got {}",
                    short(other)
                )),
            };
        };
        let validator = self.validator(op, status, schema);
        let errors: Vec<String> = validator
            .iter_errors(body)
            .filter(|e| !spec_defect(e.instance_path().as_str(), body))
            .map(|e| {
                format!(
                    "at {:?}: {}",
                    e.instance_path().as_str(),
                    cut(&e.to_string())
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }

    /// The operation's schema compiled with the spec's `components` beside it, so its
    /// `#/components/...` references resolve as they do in the document.
    fn validator(
        &mut self,
        op: &Operation,
        status: u16,
        schema: Value,
    ) -> Arc<jsonschema::Validator> {
        let key = (op.clone(), status);
        if let Some(v) = self.validators.get(&key) {
            return v.clone();
        }
        let mut root = match schema {
            Value::Object(m) => m,
            other => panic!("{op}: schema is not an object: {other}"),
        };
        root.insert("components".into(), self.doc["components"].clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("{op}: the spec's schema does not compile: {e}"));
        let validator = Arc::new(validator);
        self.validators.insert(key, validator.clone());
        validator
    }
}

/// Where the document contradicts itself, and Discord's answers follow the other half. A
/// template's snapshot numbers its roles and channels (`roles[].id`, `channels[].id` are
/// integers in the document too) and refers to them by those numbers, but the document types
/// the references (`parent_id`, `system_channel_id`, `afk_channel_id`, overwrite `id`s) as
/// snowflake strings. An integer there is what Discord sends, so it is not counted.
fn spec_defect(instance_path: &str, body: &Value) -> bool {
    let Some(at) = instance_path.find("/serialized_source_guild/") else {
        return false;
    };
    let rest = &instance_path[at + "/serialized_source_guild/".len()..];
    let parts: Vec<&str> = rest.split('/').collect();
    let is_index = |s: &str| s.parse::<usize>().is_ok();
    let reference = match parts.as_slice() {
        ["system_channel_id"] | ["afk_channel_id"] => true,
        ["channels", i, "parent_id"] => is_index(i),
        ["channels", i, "permission_overwrites", j, "id"] => is_index(i) && is_index(j),
        _ => false,
    };
    reference && body.pointer(instance_path).is_some_and(Value::is_u64)
}

/// A value's JSON cut to a readable length.
pub fn short(v: &Value) -> String {
    cut(&v.to_string())
}

fn cut(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
