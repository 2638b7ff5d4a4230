//! The settings schema of a manifest (a JSON Schema subset) and the checks of an
//! instance's settings and credentials against it.
//!
//! Properties with `format: "password"` are credentials: they are kept apart (encrypted)
//! whether they were given among the settings or the credentials. Values given as strings
//! (command-line `--set key=value`, HTML forms) are read as the declared type when they
//! parse. Every problem is reported with its field (`settings.base_url`,
//! `credentials.password`).

use megashop_core::error::Problems;
use serde_json::{Map, Number, Value};

const TYPES: [&str; 4] = ["string", "integer", "number", "boolean"];

/// Checks a manifest's schema; the error says what is wrong.
pub(crate) fn check_schema(schema: &Value) -> Result<(), String> {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err("config_schema must have \"type\": \"object\"".into());
    }
    let props = match schema.get("properties") {
        None => return Ok(()),
        Some(Value::Object(p)) => p,
        Some(_) => return Err("config_schema.properties must be an object".into()),
    };
    for (k, p) in props {
        let t = p.get("type").and_then(Value::as_str).unwrap_or("");
        if !TYPES.contains(&t) {
            return Err(format!("property {k:?}: type must be one of {TYPES:?}"));
        }
        if let Some(f) = p.get("format").and_then(Value::as_str) {
            if !matches!(f, "uri" | "password") || t != "string" {
                return Err(format!("property {k:?}: format {f:?} is not supported (uri and password, on strings)"));
            }
        }
        if let Some(d) = p.get("default") {
            if is_credential(p) {
                return Err(format!("property {k:?}: a password has no default"));
            }
            if coerce(p, d).is_err() {
                return Err(format!("property {k:?}: the default does not match the property"));
            }
        }
    }
    if let Some(req) = schema.get("required") {
        let ok = req.as_array().is_some_and(|r| r.iter().all(|n| n.as_str().is_some_and(|n| props.contains_key(n))));
        if !ok {
            return Err("config_schema.required must list property names".into());
        }
    }
    Ok(())
}

fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn is_credential(prop: &Value) -> bool {
    prop.get("format").and_then(Value::as_str) == Some("password")
}

/// The names of the schema's credential properties.
pub(crate) fn credential_keys(schema: &Value) -> Vec<String> {
    properties(schema)
        .map(|p| p.iter().filter(|(_, v)| is_credential(v)).map(|(k, _)| k.clone()).collect())
        .unwrap_or_default()
}

/// Settings and credentials after the checks.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Checked {
    /// Settings with defaults filled in.
    pub(crate) settings: Map<String, Value>,
    /// Credentials (strings).
    pub(crate) credentials: Map<String, Value>,
}

/// Checks `settings` and `credentials` (complete, as they will be stored) against the
/// schema, recording each problem in `p`. Null values mean "not set".
pub(crate) fn validate(
    schema: &Value,
    settings: Map<String, Value>,
    credentials: Map<String, Value>,
    p: &mut Problems,
) -> Checked {
    let empty = Map::new();
    let props = properties(schema).unwrap_or(&empty);
    let mut out = Checked::default();
    // Keys given with a bad value: reported once, not again as missing.
    let mut bad = std::collections::HashSet::new();
    // Credentials first: a password given in both places is taken from the credentials.
    for (from, map) in [("credentials", credentials), ("settings", settings)] {
        for (k, v) in map {
            if v.is_null() {
                continue;
            }
            let Some(prop) = props.get(&k) else {
                p.push(format!("{from}.{k}"), "unknown_field", "the plugin has no such setting");
                continue;
            };
            let (field, target) = if is_credential(prop) {
                (format!("credentials.{k}"), &mut out.credentials)
            } else {
                (format!("settings.{k}"), &mut out.settings)
            };
            if target.contains_key(&k) {
                continue;
            }
            match coerce(prop, &v) {
                Ok(v) => {
                    target.insert(k, v);
                }
                Err((code, msg)) => {
                    p.push(field, code, msg);
                    bad.insert(k);
                }
            }
        }
    }
    for (k, prop) in props {
        if is_credential(prop) || out.settings.contains_key(k) {
            continue;
        }
        if let Some(d) = prop.get("default").and_then(|d| coerce(prop, d).ok()) {
            out.settings.insert(k.clone(), d);
        }
    }
    for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        let Some(prop) = props.get(name) else { continue };
        if bad.contains(name) {
            continue;
        }
        if is_credential(prop) {
            if !out.credentials.contains_key(name) {
                p.push(format!("credentials.{name}"), "required", "must be set");
            }
        } else if !out.settings.contains_key(name) {
            p.push(format!("settings.{name}"), "required", "must be set");
        }
    }
    out
}

/// A value as the property's type (strings that parse are accepted), or why not.
fn coerce(prop: &Value, v: &Value) -> Result<Value, (&'static str, String)> {
    let t = prop.get("type").and_then(Value::as_str).unwrap_or("string");
    let out = match (t, v) {
        ("string", Value::String(s)) => {
            let n = s.chars().count();
            if let Some(min) = prop.get("minLength").and_then(Value::as_u64) {
                if (n as u64) < min {
                    return Err(if n == 0 {
                        ("required", "must not be empty".into())
                    } else {
                        ("too_short", format!("must be at least {min} characters"))
                    });
                }
            }
            let max = prop.get("maxLength").and_then(Value::as_u64).unwrap_or(10_000);
            if n as u64 > max {
                return Err(("too_long", format!("must be at most {max} characters")));
            }
            if prop.get("format").and_then(Value::as_str) == Some("uri") {
                let ok = reqwest::Url::parse(s.trim()).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
                });
                if !ok {
                    return Err(("invalid_url", "must be an http:// or https:// URL".into()));
                }
                Value::String(s.trim().to_string())
            } else {
                v.clone()
            }
        }
        ("integer", _) => {
            let i = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            let Some(i) = i else { return Err(("invalid_type", "must be a whole number".into())) };
            range(prop, i as f64)?;
            Value::from(i)
        }
        ("number", _) => {
            let f = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().replace(',', ".").parse::<f64>().ok(),
                _ => None,
            };
            let Some(f) = f.filter(|f| f.is_finite()) else { return Err(("invalid_type", "must be a number".into())) };
            range(prop, f)?;
            Number::from_f64(f).map(Value::Number).ok_or(("invalid_type", "must be a number".to_string()))?
        }
        ("boolean", _) => match v {
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Value::Bool(true),
                "false" | "no" | "off" | "0" => Value::Bool(false),
                _ => return Err(("invalid_type", "must be true or false".into())),
            },
            _ => return Err(("invalid_type", "must be true or false".into())),
        },
        _ => return Err(("invalid_type", format!("must be a {t}"))),
    };
    if let Some(allowed) = prop.get("enum").and_then(Value::as_array) {
        if !allowed.contains(&out) {
            let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            return Err(("invalid_choice", format!("must be one of {}", list.join(", "))));
        }
    }
    Ok(out)
}

fn range(prop: &Value, x: f64) -> Result<(), (&'static str, String)> {
    if let Some(min) = prop.get("minimum").and_then(Value::as_f64) {
        if x < min {
            return Err(("out_of_range", format!("must be at least {min}")));
        }
    }
    if let Some(max) = prop.get("maximum").and_then(Value::as_f64) {
        if x > max {
            return Err(("out_of_range", format!("must be at most {max}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "base_url": {"type": "string", "format": "uri"},
                "login": {"type": "string", "minLength": 1},
                "password": {"type": "string", "format": "password"},
                "page_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                "mode": {"type": "string", "enum": ["full", "changes"], "default": "changes"},
                "archive": {"type": "boolean", "default": false}
            },
            "required": ["base_url", "password"]
        })
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn defaults_fill_in_strings_parse_and_passwords_become_credentials() {
        let mut p = Problems::default();
        let c = validate(
            &schema(),
            obj(
                json!({"base_url": " https://erp.example.com/api ", "page_size": "250", "archive": "yes", "password": "s3cret"}),
            ),
            Map::new(),
            &mut p,
        );
        assert!(p.into_inner().is_empty());
        assert_eq!(
            Value::Object(c.settings),
            json!({"base_url": "https://erp.example.com/api", "page_size": 250, "archive": true, "mode": "changes"})
        );
        assert_eq!(Value::Object(c.credentials), json!({"password": "s3cret"}));
    }

    #[test]
    fn every_problem_is_listed_by_field() {
        let mut p = Problems::default();
        validate(
            &schema(),
            obj(
                json!({"base_url": "ftp://x", "page_size": 0, "mode": "all", "archive": "maybe", "colour": "red", "login": ""}),
            ),
            obj(json!({"token": "x"})),
            &mut p,
        );
        let mut got: Vec<(String, &str)> = p.into_inner().into_iter().map(|e| (e.field, e.code)).collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("credentials.password".to_string(), "required"),
                ("credentials.token".to_string(), "unknown_field"),
                ("settings.archive".to_string(), "invalid_type"),
                ("settings.base_url".to_string(), "invalid_url"),
                ("settings.colour".to_string(), "unknown_field"),
                ("settings.login".to_string(), "required"),
                ("settings.mode".to_string(), "invalid_choice"),
                ("settings.page_size".to_string(), "out_of_range"),
            ]
        );
    }

    #[test]
    fn bad_schemas_are_refused() {
        assert!(check_schema(&schema()).is_ok());
        assert!(check_schema(&json!({"type": "array"})).is_err());
        assert!(check_schema(&json!({"type": "object", "properties": {"a": {"type": "date"}}})).is_err());
        assert!(
            check_schema(&json!({"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}})).is_err()
        );
        assert!(check_schema(&json!({"type": "object", "properties": {}, "required": ["nope"]})).is_err());
    }
}
