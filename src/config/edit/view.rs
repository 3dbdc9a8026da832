//! The settings of a few sections as a settings page shows them: each key of the embedded
//! defaults with the comment above it there (its documentation), the value in force (the file's,
//! else the default) as the text a form field holds, its kind, and whether a change waits for a
//! restart. Pure: the file's text in, values out.

use toml_edit::{DocumentMut, Item};

use crate::config::DEFAULT_TOML;

/// What kind of field a setting needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Number,
    Text,
    /// A list: one item per line.
    List,
}

/// One setting as a form shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// `listener.max_sessions`.
    pub key: String,
    /// The comment above the key in `assets/sluice.toml`, without the `#`.
    pub help: String,
    pub kind: Kind,
    /// The value in force, as the field's text (a list one item per line).
    pub value: String,
    /// The file sets it (else the default applies).
    pub in_file: bool,
    /// Why a change waits for a restart, if it does.
    pub restart: Option<&'static str>,
}

/// The settings of `sections` (`"listener"`, `"relay"`, `"relay.pass_header"`) in the order the
/// defaults have them, with the values `file` gives them.
pub fn settings(sections: &[&str], file: &str) -> Vec<Setting> {
    let Ok(defaults) = DEFAULT_TOML.parse::<DocumentMut>() else {
        return Vec::new();
    };
    let own: toml::Table = toml::from_str(file).unwrap_or_default();
    let mut out = Vec::new();
    for section in sections {
        let mut table = defaults.as_table();
        for part in section.split('.') {
            match table.get(part).and_then(Item::as_table) {
                Some(t) => table = t,
                None => break,
            }
        }
        for (key, item) in table.iter() {
            let Some(default) = item.as_value() else {
                continue;
            };
            let path = format!("{section}.{key}");
            let set = lookup(&own, &path);
            let help = table
                .key(key)
                .and_then(|k| k.leaf_decor().prefix())
                .and_then(|p| p.as_str())
                .map(comment)
                .unwrap_or_default();
            let (kind, value) = match set.as_ref() {
                Some(v) => shown(v),
                None => shown(&default_value(default)),
            };
            out.push(Setting {
                restart: crate::runtime::changes::restart_reason(&path),
                key: path,
                help,
                kind,
                value,
                in_file: set.is_some(),
            });
        }
    }
    out
}

fn lookup(table: &toml::Table, path: &str) -> Option<toml::Value> {
    let mut v = toml::Value::Table(table.clone());
    for k in path.split('.') {
        v = v.as_table()?.get(k)?.clone();
    }
    Some(v)
}

/// A default's value as plain TOML.
fn default_value(v: &toml_edit::Value) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {}", v.to_string().trim()))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or(toml::Value::String(String::new()))
}

fn shown(v: &toml::Value) -> (Kind, String) {
    match v {
        toml::Value::Boolean(b) => (Kind::Bool, b.to_string()),
        toml::Value::Integer(n) => (Kind::Number, n.to_string()),
        toml::Value::Float(n) => (Kind::Number, n.to_string()),
        toml::Value::String(s) => (Kind::Text, s.clone()),
        toml::Value::Array(a) => (
            Kind::List,
            a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        other => (Kind::Text, other.to_string()),
    }
}

/// Comment lines as text: `#` and one space taken off each; blank lines dropped.
fn comment(prefix: &str) -> String {
    prefix
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The notice kinds whose templates can be set (`[notifications.templates.<kind>]`).
pub fn notice_kinds() -> Vec<&'static str> {
    crate::notify::Kind::ALL.iter().map(|k| k.name()).collect()
}

/// What `[notifications.templates.<kind>]` of `file` sets: subject, text and html (empty: the
/// built-in default's part).
pub fn notice_template(file: &str, kind: &str) -> [String; 3] {
    let own: toml::Table = toml::from_str(file).unwrap_or_default();
    ["subject", "text", "html"].map(|part| {
        lookup(&own, &format!("notifications.templates.{kind}.{part}"))
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    })
}

/// The notice `kind` as the configuration `file` would render it for a sample message (a card
/// number going out, quarantined): what the settings page previews. The file is validated
/// first, so an unknown metatag comes back as line:col.
pub fn preview_notice(file: &str, kind: &str) -> Result<crate::notify::Rendered, super::EditError> {
    use crate::notify::{Content, Disposition, Facts, Kind, PolicyFact};
    let config = super::validate(file, None)?;
    let kind = Kind::parse(kind)
        .ok_or_else(|| super::EditError::Refused(format!("no notice kind {kind:?}")))?;
    let facts = Facts {
        guid: "0f8e1c2a-7b7e-4a53-9d54-1c8f2f0b9e11".into(),
        sender: "alice@corp.example".into(),
        recipients: vec!["bob@partner.example".into()],
        subject: "Q3 payment run".into(),
        date: Some(1_800_000_000),
        message_id: "1234@corp.example".into(),
        size: Some(48_213),
        policies: vec![PolicyFact {
            id: 100,
            name: "Payment card numbers".into(),
            severity: crate::policy::Severity::High,
        }],
        content: vec![Content::Rule {
            policy: "Payment card numbers".into(),
            rule: "card numbers".into(),
            detail: "CREDIT_CARD x3 in attachment:payments.xlsx (4111********1111)".into(),
        }],
        disposition: Some(Disposition::Quarantined),
        quarantine_id: "42".into(),
        incident_ids: vec!["7".into()],
        approve_url: "https://gateway.example/approval/(signed link)".into(),
        reject_url: "https://gateway.example/approval/(signed link)".into(),
        expires: Some(1_800_086_400),
        reason: "Released after review".into(),
        approver_comment: "OK for this customer".into(),
        ..Facts::default()
    };
    Ok(config
        .notifications
        .templates
        .render(kind, &facts, config.server.hostname.as_str()))
}
