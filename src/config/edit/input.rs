//! A setting typed into a form field, turned into the TOML value of the key's type: the type the
//! embedded defaults (`assets/sluice.toml`) give that key, so a form never has to know it.

use toml_edit::{Array, Value};

use super::EditError;
use crate::config::DEFAULT_TOML;

/// The value for `path` from what was typed: a string as it is; a number, or `true` / `false`
/// (`on` / `off` from a check box), parsed; a list one item per line (or comma separated).
/// Keys the defaults do not have are taken as strings unless they parse as numbers or booleans.
pub fn value_from_input(path: &str, input: &str) -> Result<Value, EditError> {
    let input = input.trim();
    let bad = |what: &str| EditError::Refused(format!("{path}: expected {what}, got {input:?}"));
    Ok(match default_of(path) {
        Some(toml::Value::String(_)) => Value::from(input),
        Some(toml::Value::Integer(_)) => {
            Value::from(input.parse::<i64>().map_err(|_| bad("a whole number"))?)
        }
        Some(toml::Value::Float(_)) => {
            Value::from(input.parse::<f64>().map_err(|_| bad("a number"))?)
        }
        Some(toml::Value::Boolean(_)) => {
            Value::from(boolean(input).ok_or_else(|| bad("true or false"))?)
        }
        Some(toml::Value::Array(_)) => Value::Array(list(input)),
        Some(_) => {
            return Err(EditError::Refused(format!(
                "{path} cannot be set from a form field"
            )));
        }
        None => match (input.parse::<i64>(), boolean(input)) {
            (Ok(n), _) => Value::from(n),
            (_, Some(b)) => Value::from(b),
            _ => Value::from(input),
        },
    })
}

fn boolean(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Some(true),
        "false" | "off" | "no" | "0" | "" => Some(false),
        _ => None,
    }
}

/// One item per line, or comma separated on one line; blank items dropped.
fn list(input: &str) -> Array {
    let items: Vec<&str> = if input.contains('\n') {
        input.lines().collect()
    } else {
        input.split(',').collect()
    };
    items
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The embedded default of `path`, if it has one.
pub(super) fn default_of(path: &str) -> Option<toml::Value> {
    let table: toml::Table = toml::from_str(DEFAULT_TOML).ok()?;
    let mut value = toml::Value::Table(table);
    for key in path.split('.') {
        value = value.as_table()?.get(key)?.clone();
    }
    Some(value)
}
