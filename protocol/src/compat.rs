//! Forward compatibility between minor versions. A minor version only adds optional
//! fields, so a receiver reading a message from a newer minor keeps the fields its own
//! schema knows and drops the rest (an old central ignores the speeds a newer agent
//! sends). A message of the receiver's own minor or older is read strictly: an unknown
//! field there is a bug or a typo, and is rejected with its name.
//!
//! What is known is read from the type's JSON Schema (the same one `docs/schemas/`
//! publishes), so the rule needs no per-type code: objects keep the properties their
//! schema lists (through `$ref`, `allOf`/`anyOf`/`oneOf`), maps and arrays are walked
//! into with their value schema, and a schema that accepts any value is left alone.

use serde_json::{Map, Value};

/// Drops, recursively, every object key that `schema` (a root schema with `$defs`)
/// does not list.
pub(crate) fn drop_unknown_fields(value: &mut Value, schema: &Value) {
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    prune(value, schema, &defs, 0);
}

/// Nesting beyond this is left as it is (schemas of recursive types).
const MAX_DEPTH: usize = 64;

fn prune(value: &mut Value, schema: &Value, defs: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let mut alternatives = Vec::new();
    collect(schema, defs, &mut alternatives, 0);
    match value {
        Value::Object(map) => prune_object(map, &alternatives, defs, depth),
        Value::Array(items) => {
            if let Some(item_schema) = alternatives.iter().find_map(|s| s.get("items")) {
                for item in items {
                    prune(item, item_schema, defs, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn prune_object(map: &mut Map<String, Value>, alternatives: &[&Value], defs: &Value, depth: usize) {
    let listed: Vec<&Map<String, Value>> =
        alternatives.iter().filter_map(|s| s.get("properties").and_then(Value::as_object)).collect();
    // A map (`additionalProperties` is a schema) keeps every key and is walked into.
    let values = alternatives.iter().find_map(|s| s.get("additionalProperties").filter(|a| a.is_object()));
    if listed.is_empty() && values.is_none() {
        return; // any object is accepted here
    }
    map.retain(|key, _| values.is_some() || listed.iter().any(|p| p.contains_key(key)));
    for (key, field) in map.iter_mut() {
        match listed.iter().find_map(|p| p.get(key)).or(values) {
            Some(field_schema) => prune(field, field_schema, defs, depth + 1),
            None => continue,
        }
    }
}

/// The schema and every alternative or part of it, with references resolved.
fn collect<'a>(schema: &'a Value, defs: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => match reference.strip_prefix("#/$defs/").and_then(|name| defs.get(name)) {
            Some(target) => target,
            None => return,
        },
        None => schema,
    };
    out.push(schema);
    for key in ["allOf", "anyOf", "oneOf"] {
        for part in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            collect(part, defs, out, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_go_at_every_level_and_maps_keep_their_keys() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer"},
                "inner": {"$ref": "#/$defs/Inner"},
                "map": {"type": "object", "additionalProperties": {"$ref": "#/$defs/Inner"}},
                "list": {"type": "array", "items": {"$ref": "#/$defs/Inner"}},
                "maybe": {"anyOf": [{"$ref": "#/$defs/Inner"}, {"type": "null"}]},
                "any": true
            },
            "$defs": {"Inner": {"type": "object", "properties": {"x": {"type": "number"}}}}
        });
        let mut value = json!({
            "a": 1, "new": 2,
            "inner": {"x": 1.5, "new": 3},
            "map": {"k1": {"x": 1, "new": 4}, "k2": {"x": 2}},
            "list": [{"x": 1, "new": 5}],
            "maybe": {"x": 3, "new": 6},
            "any": {"whatever": 7}
        });
        drop_unknown_fields(&mut value, &schema);
        assert_eq!(
            value,
            json!({
                "a": 1,
                "inner": {"x": 1.5},
                "map": {"k1": {"x": 1}, "k2": {"x": 2}},
                "list": [{"x": 1}],
                "maybe": {"x": 3},
                "any": {"whatever": 7}
            })
        );
    }
}
