//! JSON-level merging of configuration documents.
//!
//! Merging happens on `serde_json::Value` rather than on `Config` so that a stored document keeps
//! every value an operator set, even for keys this version does not know, and so that "which keys
//! are new" is a structural question with a testable answer.

use serde_json::Value;

/// Adds to `stored` every key of `defaults` it lacks, recursively, without touching values already
/// present. Returns whether anything was added (so the caller knows to write the document back).
pub fn add_missing_keys(stored: &mut Value, defaults: &Value) -> bool {
    match (stored, defaults) {
        (Value::Object(stored), Value::Object(defaults)) => {
            let mut changed = false;
            for (key, default) in defaults {
                match stored.get_mut(key) {
                    Some(existing) => changed |= add_missing_keys(existing, default),
                    None => {
                        stored.insert(key.clone(), default.clone());
                        changed = true;
                    }
                }
            }
            changed
        }
        _ => false,
    }
}

/// Applies an admin's partial update: objects merge recursively, any other value replaces, and
/// `null` removes the key (it then falls back to its default when defaults are re-added).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else if let Some(existing) = target.get_mut(key) {
                    if existing.is_object() && value.is_object() {
                        merge_patch(existing, value);
                    } else {
                        *existing = value.clone();
                    }
                } else {
                    target.insert(key.clone(), value.clone());
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// Every leaf of a document by dotted path (`limits.message.max_characters`), in document order.
/// Arrays are leaves (a list setting is one value).
pub fn flatten(doc: &Value) -> Vec<(String, Value)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, child, out);
                }
            }
            leaf => out.push((prefix.to_string(), leaf.clone())),
        }
    }
    let mut out = Vec::new();
    walk("", doc, &mut out);
    out
}

/// The leaves that differ between two documents: `(path, old, new)`; a leaf missing on one side
/// is `null` there.
pub fn changed_leaves(old: &Value, new: &Value) -> Vec<(String, Value, Value)> {
    let old = flatten(old);
    let new = flatten(new);
    let mut out: Vec<(String, Value, Value)> = Vec::new();
    for (path, n) in &new {
        let o = old
            .iter()
            .find(|(p, _)| p == path)
            .map_or(Value::Null, |(_, v)| v.clone());
        if &o != n {
            out.push((path.clone(), o, n.clone()));
        }
    }
    for (path, o) in &old {
        if !new.iter().any(|(p, _)| p == path) {
            out.push((path.clone(), o.clone(), Value::Null));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_keys_are_added_and_stored_values_kept() {
        let mut stored = json!({"limits": {"message": {"max_characters": 4000}}});
        let defaults = json!({"limits": {"message": {"max_characters": 2000, "max_embeds": 10}},
                              "general": {"instance_name": "x"}});
        assert!(add_missing_keys(&mut stored, &defaults));
        assert_eq!(
            stored,
            json!({"limits": {"message": {"max_characters": 4000, "max_embeds": 10}},
                   "general": {"instance_name": "x"}})
        );
        assert!(
            !add_missing_keys(&mut stored, &defaults),
            "second pass changes nothing"
        );
    }

    #[test]
    fn flatten_and_diff_by_dotted_path() {
        let a = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        let b = json!({"a": {"b": 2, "c": [1, 2]}, "e": true});
        assert_eq!(
            flatten(&a),
            vec![
                ("a.b".to_string(), json!(1)),
                ("a.c".to_string(), json!([1, 2])),
                ("d".to_string(), json!("x")),
            ]
        );
        assert_eq!(
            changed_leaves(&a, &b),
            vec![
                ("a.b".to_string(), json!(1), json!(2)),
                ("e".to_string(), Value::Null, json!(true)),
                ("d".to_string(), json!("x"), Value::Null),
            ]
        );
        assert!(changed_leaves(&a, &a).is_empty());
    }

    #[test]
    fn patch_merges_objects_and_null_removes() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge_patch(&mut target, &json!({"a": {"b": 5, "c": null}, "d": [2, 3]}));
        assert_eq!(target, json!({"a": {"b": 5}, "d": [2, 3]}));
    }
}
