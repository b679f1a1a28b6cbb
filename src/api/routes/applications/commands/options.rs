//! Discord's rules for application command names and option trees, both when an application
//! registers a command and when a user invokes one (the values must fit the definitions).

use serde_json::{Map, Value, json};

use crate::error::{FieldError, FieldErrors};
use crate::id::Snowflake;

/// Options per level, and choices per option (Discord's limits).
pub const MAX_OPTIONS: usize = 25;
pub const MAX_CHOICES: usize = 25;

/// Discord's option types.
pub mod option_kind {
    pub const SUB_COMMAND: u64 = 1;
    pub const SUB_COMMAND_GROUP: u64 = 2;
    pub const STRING: u64 = 3;
    pub const INTEGER: u64 = 4;
    pub const BOOLEAN: u64 = 5;
    pub const USER: u64 = 6;
    pub const CHANNEL: u64 = 7;
    pub const ROLE: u64 = 8;
    pub const MENTIONABLE: u64 = 9;
    pub const NUMBER: u64 = 10;
    pub const ATTACHMENT: u64 = 11;
}
use option_kind::*;

/// Integers and numbers Discord accepts: within ±2^53.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

/// A CHAT_INPUT command or option name: Discord's `^[-_\p{L}\p{N}]{1,32}$`, in lowercase where a
/// letter has case.
pub fn chat_input_name_ok(name: &str) -> bool {
    (1..=32).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| (c == '-' || c == '_' || c.is_alphanumeric()) && !c.is_uppercase())
}

/// Where in the tree a list of options sits: what types it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The command's own options: anything (subcommands not mixed with values).
    Top,
    /// A subcommand group's: subcommands only.
    Group,
    /// A subcommand's: values only.
    Subcommand,
}

impl Level {
    fn allows(self, kind: u64) -> bool {
        match self {
            Level::Top => (SUB_COMMAND..=ATTACHMENT).contains(&kind),
            Level::Group => kind == SUB_COMMAND,
            Level::Subcommand => (STRING..=ATTACHMENT).contains(&kind),
        }
    }
}

fn is_sub(kind: u64) -> bool {
    kind == SUB_COMMAND || kind == SUB_COMMAND_GROUP
}

fn path_of(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_string()
    } else {
        format!("{parent}.{field}")
    }
}

/// Checks a `{locale: text}` map: each text 1..=`max` characters (and a valid name for names).
pub fn localizations(
    errs: &mut FieldErrors,
    path: &str,
    map: Option<&Value>,
    max: u32,
    names: bool,
) -> Option<Value> {
    let map = map.filter(|v| !v.is_null())?;
    let Some(obj) = map.as_object() else {
        errs.add(
            path,
            FieldError::BadType {
                expected: "object".into(),
            },
        );
        return None;
    };
    if obj.len() > 34 {
        errs.add(path, FieldError::TooMany { max: 34 });
    }
    for (locale, text) in obj {
        let at = path_of(path, locale);
        match text.as_str() {
            Some(t) if names && !chat_input_name_ok(t) => {
                errs.add(&at, FieldError::CommandNameInvalid)
            }
            Some(t) => crate::validate::length(errs, &at, t, 1, max),
            None => errs.add(
                &at,
                FieldError::BadType {
                    expected: "string".into(),
                },
            ),
        }
    }
    Some(map.clone())
}

/// Validates a command's options tree and returns it normalized: known fields only, `null`s
/// dropped. Errors are added under `path` (`options.0.name`, …).
pub fn definitions(errs: &mut FieldErrors, path: &str, options: &[Value]) -> Vec<Value> {
    level(errs, path, options, Level::Top)
}

fn level(errs: &mut FieldErrors, path: &str, options: &[Value], at: Level) -> Vec<Value> {
    if options.len() > MAX_OPTIONS {
        errs.add(path, FieldError::TooMany { max: MAX_OPTIONS });
    }
    let mut out = Vec::with_capacity(options.len());
    let mut names: Vec<String> = Vec::new();
    let (mut subs, mut values, mut optional_seen) = (false, false, false);
    for (i, o) in options.iter().enumerate() {
        let p = path_of(path, &i.to_string());
        let Some(obj) = o.as_object() else {
            errs.add(
                &p,
                FieldError::BadType {
                    expected: "object".into(),
                },
            );
            continue;
        };
        let kind = obj.get("type").and_then(Value::as_u64).unwrap_or(0);
        if !at.allows(kind) {
            errs.add(
                &path_of(&p, "type"),
                FieldError::Choice {
                    allowed: allowed_types(at),
                },
            );
            continue;
        }
        if is_sub(kind) {
            subs = true;
        } else {
            values = true;
        }
        let required = obj
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if required && optional_seen {
            errs.add(
                &path_of(&p, "required"),
                FieldError::CommandOptionsRequiredOrder,
            );
        }
        optional_seen |= !required && !is_sub(kind);
        let name = obj.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            errs.add(&path_of(&p, "name"), FieldError::Required);
        } else if !chat_input_name_ok(name) {
            errs.add(&path_of(&p, "name"), FieldError::CommandNameInvalid);
        } else if names.iter().any(|n| n == name) {
            errs.add(&path_of(&p, "name"), FieldError::CommandNameDuplicate);
        }
        names.push(name.to_string());
        out.push(option(errs, &p, obj, kind));
    }
    if subs && values {
        errs.add(path, FieldError::CommandOptionsTypeMix);
    }
    out
}

fn allowed_types(at: Level) -> String {
    match at {
        Level::Top => "1..11",
        Level::Group => "1",
        Level::Subcommand => "3..11",
    }
    .to_string()
}

/// One option, validated and normalized.
fn option(errs: &mut FieldErrors, p: &str, obj: &Map<String, Value>, kind: u64) -> Value {
    let mut clean = Map::new();
    clean.insert("type".into(), json!(kind));
    for key in ["name", "description", "required", "autocomplete"] {
        if let Some(v) = obj.get(key).filter(|v| !v.is_null()) {
            clean.insert(key.into(), v.clone());
        }
    }
    let description = obj
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    crate::validate::length(errs, &path_of(p, "description"), description, 1, 100);
    for (key, max, names) in [
        ("name_localizations", 32, true),
        ("description_localizations", 100, false),
    ] {
        if let Some(v) = localizations(errs, &path_of(p, key), obj.get(key), max, names) {
            clean.insert(key.into(), v);
        }
    }
    match kind {
        SUB_COMMAND | SUB_COMMAND_GROUP => {
            let inner = obj
                .get("options")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let at = if kind == SUB_COMMAND {
                Level::Subcommand
            } else {
                Level::Group
            };
            let inner = level(errs, &path_of(p, "options"), &inner, at);
            clean.insert("options".into(), Value::Array(inner));
        }
        STRING | INTEGER | NUMBER => {
            if let Some(choices) = obj.get("choices").filter(|v| !v.is_null()) {
                let choices = choice_list(errs, &path_of(p, "choices"), choices, kind);
                clean.insert("choices".into(), Value::Array(choices));
            }
            let bounds: &[&str] = if kind == STRING {
                &["min_length", "max_length"]
            } else {
                &["min_value", "max_value"]
            };
            for key in bounds {
                if let Some(v) = obj.get(*key).filter(|v| !v.is_null()) {
                    let ok = if kind == STRING {
                        v.as_u64().is_some_and(|n| n <= 6000)
                    } else {
                        v.as_f64().is_some_and(|n| n.abs() <= MAX_SAFE)
                    };
                    if !ok {
                        errs.add(
                            &path_of(p, key),
                            FieldError::BadType {
                                expected: "number".into(),
                            },
                        );
                    }
                    clean.insert((*key).into(), v.clone());
                }
            }
        }
        CHANNEL => {
            if let Some(v) = obj.get("channel_types").filter(|v| !v.is_null()) {
                if v.as_array().is_some_and(|a| a.iter().all(Value::is_u64)) {
                    clean.insert("channel_types".into(), v.clone());
                } else {
                    errs.add(
                        &path_of(p, "channel_types"),
                        FieldError::BadType {
                            expected: "array of channel types".into(),
                        },
                    );
                }
            }
        }
        _ => {}
    }
    Value::Object(clean)
}

fn choice_list(errs: &mut FieldErrors, p: &str, choices: &Value, kind: u64) -> Vec<Value> {
    let Some(list) = choices.as_array() else {
        errs.add(
            p,
            FieldError::BadType {
                expected: "array".into(),
            },
        );
        return Vec::new();
    };
    if list.len() > MAX_CHOICES {
        errs.add(p, FieldError::TooMany { max: MAX_CHOICES });
    }
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let cp = path_of(p, &i.to_string());
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        crate::validate::length(errs, &path_of(&cp, "name"), name, 1, 100);
        let value = c.get("value").cloned().unwrap_or(Value::Null);
        if !value_fits(kind, &value) {
            errs.add(
                &path_of(&cp, "value"),
                FieldError::BadType {
                    expected: expected_name(kind).into(),
                },
            );
        }
        let mut clean = json!({"name": name, "value": value});
        if let Some(l) = localizations(
            errs,
            &path_of(&cp, "name_localizations"),
            c.get("name_localizations"),
            100,
            false,
        ) {
            clean["name_localizations"] = l;
        }
        out.push(clean);
    }
    out
}

fn expected_name(kind: u64) -> &'static str {
    match kind {
        STRING => "string",
        INTEGER => "integer",
        NUMBER => "number",
        BOOLEAN => "boolean",
        _ => "snowflake",
    }
}

/// Whether a value has the type an option of `kind` holds.
fn value_fits(kind: u64, v: &Value) -> bool {
    match kind {
        STRING => v.as_str().is_some_and(|s| s.chars().count() <= 6000),
        INTEGER => v.as_i64().is_some_and(|n| (n as f64).abs() <= MAX_SAFE),
        NUMBER => v.as_f64().is_some_and(|n| n.abs() <= MAX_SAFE),
        BOOLEAN => v.is_boolean(),
        USER | CHANNEL | ROLE | MENTIONABLE | ATTACHMENT => snowflake(v).is_some(),
        _ => false,
    }
}

fn snowflake(v: &Value) -> Option<Snowflake> {
    serde_json::from_value(v.clone()).ok()
}

/// The ids a command's option values point at, for the interaction's `resolved`.
#[derive(Debug, Default)]
pub struct Refs {
    pub users: Vec<Snowflake>,
    pub roles: Vec<Snowflake>,
    pub channels: Vec<Snowflake>,
    /// MENTIONABLE: a user or a role.
    pub mentionables: Vec<Snowflake>,
}

/// What a user sent for a command, checked against its definitions.
pub struct Invocation {
    /// The options as the application receives them (`{name, type, value}` / `{name, type,
    /// options}`).
    pub options: Vec<Value>,
    /// The subcommand group and subcommand used, for the name shown (`cmd group sub`).
    pub path: Vec<String>,
    pub refs: Refs,
}

/// Checks the options of an invocation: known names, values of the declared type (and one of
/// the choices, within the bounds), every required option present, one subcommand at a time.
pub fn invocation(
    errs: &mut FieldErrors,
    path: &str,
    defs: &[Value],
    given: &[Value],
) -> Invocation {
    let mut inv = Invocation {
        options: Vec::new(),
        path: Vec::new(),
        refs: Refs::default(),
    };
    inv.options = invoke_level(errs, path, defs, given, &mut inv.path, &mut inv.refs);
    inv
}

fn invoke_level(
    errs: &mut FieldErrors,
    path: &str,
    defs: &[Value],
    given: &[Value],
    used: &mut Vec<String>,
    refs: &mut Refs,
) -> Vec<Value> {
    let mut out = Vec::new();
    let find = |name: &str| defs.iter().find(|d| d["name"].as_str() == Some(name));
    let subs_here = defs.iter().any(|d| d["type"].as_u64().is_some_and(is_sub));
    if subs_here && given.len() != 1 {
        errs.add(path, FieldError::Required);
        return out;
    }
    for (i, g) in given.iter().enumerate() {
        let p = path_of(path, &i.to_string());
        let name = g["name"].as_str().unwrap_or_default();
        let Some(def) = find(name) else {
            errs.add(&path_of(&p, "name"), FieldError::CommandNameInvalid);
            continue;
        };
        let kind = def["type"].as_u64().unwrap_or(0);
        if out.iter().any(|o: &Value| o["name"] == name) {
            errs.add(&path_of(&p, "name"), FieldError::CommandNameDuplicate);
            continue;
        }
        if is_sub(kind) {
            used.push(name.to_string());
            let inner_defs = def["options"].as_array().cloned().unwrap_or_default();
            let inner = g["options"].as_array().cloned().unwrap_or_default();
            let inner = invoke_level(
                errs,
                &path_of(&p, "options"),
                &inner_defs,
                &inner,
                used,
                refs,
            );
            out.push(json!({"name": name, "type": kind, "options": inner}));
            continue;
        }
        let value = g.get("value").cloned().unwrap_or(Value::Null);
        if !value_fits(kind, &value) || !within(def, kind, &value) {
            errs.add(
                &path_of(&p, "value"),
                FieldError::BadType {
                    expected: expected_name(kind).into(),
                },
            );
            continue;
        }
        let value = match (kind, snowflake(&value)) {
            (USER | CHANNEL | ROLE | MENTIONABLE | ATTACHMENT, Some(id)) => {
                let list = match kind {
                    USER => &mut refs.users,
                    CHANNEL => &mut refs.channels,
                    ROLE => &mut refs.roles,
                    MENTIONABLE => &mut refs.mentionables,
                    _ => {
                        errs.add(
                            &path_of(&p, "value"),
                            FieldError::InteractionTypeUnsupported,
                        );
                        continue;
                    }
                };
                if !list.contains(&id) {
                    list.push(id);
                }
                json!(id)
            }
            _ => value,
        };
        out.push(json!({"name": name, "type": kind, "value": value}));
    }
    if !subs_here {
        for d in defs.iter().filter(|d| d["required"] == true) {
            let name = d["name"].as_str().unwrap_or_default();
            if !out.iter().any(|o| o["name"] == name) {
                errs.add(&path_of(path, name), FieldError::Required);
            }
        }
    }
    out
}

/// A value against its definition's choices and bounds.
fn within(def: &Value, kind: u64, v: &Value) -> bool {
    if let Some(choices) = def["choices"].as_array()
        && !choices.is_empty()
        && !choices.iter().any(|c| c["value"] == *v)
    {
        return false;
    }
    match kind {
        STRING => {
            let n = v.as_str().map_or(0, |s| s.chars().count()) as u64;
            def["min_length"].as_u64().is_none_or(|m| n >= m)
                && def["max_length"].as_u64().is_none_or(|m| n <= m)
        }
        INTEGER | NUMBER => {
            let n = v.as_f64().unwrap_or(0.0);
            def["min_value"].as_f64().is_none_or(|m| n >= m)
                && def["max_value"].as_f64().is_none_or(|m| n <= m)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_discords_rule() {
        for ok in [
            "ping",
            "a",
            "echo-2",
            "über_cmd",
            "日本語",
            "x".repeat(32).as_str(),
        ] {
            assert!(chat_input_name_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "Ping",
            "with space",
            "emoji😀",
            "x".repeat(33).as_str(),
            "a.b",
        ] {
            assert!(!chat_input_name_ok(bad), "{bad}");
        }
    }

    #[test]
    fn trees_are_checked_level_by_level() {
        let mut errs = FieldErrors::default();
        let defs = definitions(
            &mut errs,
            "options",
            &[
                json!({"type": 3, "name": "text", "description": "t", "required": true, "min_length": null}),
                json!({"type": 4, "name": "n", "description": "n", "choices": [{"name": "one", "value": 1}]}),
            ],
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert!(defs[0].get("min_length").is_none());
        let mut errs = FieldErrors::default();
        definitions(
            &mut errs,
            "options",
            &[
                json!({"type": 3, "name": "a", "description": "a"}),
                json!({"type": 3, "name": "a", "description": "b", "required": true}),
                json!({"type": 1, "name": "sub", "description": "s", "options": [{"type": 1, "name": "x", "description": "x"}]}),
                json!({"type": 4, "name": "Bad", "description": ""}),
                json!({"type": 4, "name": "c", "description": "c", "choices": [{"name": "s", "value": "str"}]}),
            ],
        );
        assert!(errs.get("options.1.name").is_some(), "duplicate");
        assert!(errs.get("options.1.required").is_some(), "order");
        assert!(
            errs.get("options").is_some(),
            "subcommands mixed with values"
        );
        assert!(
            errs.get("options.2.options.0.type").is_some(),
            "nested subcommand"
        );
        assert!(
            errs.get("options.3.name").is_some() && errs.get("options.3.description").is_some()
        );
        assert!(errs.get("options.4.choices.0.value").is_some());
    }

    #[test]
    fn invocations_must_fit_the_definitions() {
        let defs = [
            json!({"type": 3, "name": "text", "description": "t", "required": true, "max_length": 5}),
            json!({"type": 6, "name": "who", "description": "w"}),
        ];
        let mut errs = FieldErrors::default();
        let inv = invocation(
            &mut errs,
            "data.options",
            &defs,
            &[
                json!({"type": 3, "name": "text", "value": "hi"}),
                json!({"type": 6, "name": "who", "value": 42}),
            ],
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(inv.options[1]["value"], "42");
        assert_eq!(inv.refs.users, vec![Snowflake::new(42)]);
        let mut errs = FieldErrors::default();
        invocation(
            &mut errs,
            "data.options",
            &defs,
            &[json!({"name": "who", "value": "x"})],
        );
        assert!(errs.get("data.options.0.value").is_some());
        assert!(
            errs.get("data.options.text").is_some(),
            "required option missing"
        );
        let mut errs = FieldErrors::default();
        invocation(
            &mut errs,
            "data.options",
            &defs,
            &[json!({"name": "text", "value": "toolong"})],
        );
        assert!(errs.get("data.options.0.value").is_some(), "max_length");

        let subs = [
            json!({"type": 1, "name": "add", "description": "a", "options": [{"type": 4, "name": "n", "description": "n", "required": true}]}),
        ];
        let mut errs = FieldErrors::default();
        let inv = invocation(
            &mut errs,
            "data.options",
            &subs,
            &[json!({"type": 1, "name": "add", "options": [{"type": 4, "name": "n", "value": 3}]})],
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(inv.path, vec!["add".to_string()]);
        assert_eq!(inv.options[0]["options"][0]["value"], 3);
    }
}
