//! Sluice's events as a SIEM receives them: one raw syslog message (as rsyslog wrote it) decoded
//! with the spec parsers of `syslog_parse` into the event's sequence number, kind name and fields,
//! whatever the format (`rfc5424`, `rfc3164`, `cef`, `leef`, `json`).
#![allow(dead_code)]

use super::syslog_parse::{self, Rfc5424};

/// The SD-ID of Sluice's structured data (RFC 5424 private form, the documentation enterprise
/// number of RFC 5612).
pub const SD_ID: &str = "sluice@32473";

/// One event decoded from one received message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The outbox sequence number.
    pub seq: u64,
    /// The kind's name (`message.relayed`).
    pub action: String,
    /// The event's key/value pairs under the format's own keys (ECS names for RFC 5424, RFC 3164
    /// and JSON; CEF and LEEF keys for those), a repeated value repeated.
    pub fields: Vec<(String, String)>,
    /// The message as received.
    pub raw: String,
}

impl Received {
    /// The first value under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value under `key` (JSON arrays and CEF/LEEF comma-joined lists split).
    pub fn all(&self, key: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    /// Whether some field, whatever its key, has exactly this value (or holds it in a list).
    pub fn has_value(&self, value: &str) -> bool {
        self.fields
            .iter()
            .any(|(_, v)| v == value || v.split(',').any(|p| p == value))
    }
}

/// The RFC 5424 header every format but `rfc3164` carries, checked: version 1, APP-NAME `sluice`,
/// a timestamp, and a BOM before any MSG that is not ASCII.
pub fn header(raw: &str) -> Result<Rfc5424, String> {
    let m = syslog_parse::parse_rfc5424(raw)?;
    if m.version != 1 {
        return Err(format!("VERSION {}", m.version));
    }
    if m.app_name.as_deref() != Some("sluice") {
        return Err(format!("APP-NAME {:?}", m.app_name));
    }
    if m.timestamp.is_none() {
        return Err("no TIMESTAMP".into());
    }
    if let Some(msg) = &m.msg
        && !msg.is_ascii()
        && !m.bom
    {
        return Err("a MSG that is not ASCII without its BOM".into());
    }
    Ok(m)
}

fn seq_of(v: Option<&str>, what: &str) -> Result<u64, String> {
    v.ok_or(format!("no {what}"))?
        .parse()
        .map_err(|_| format!("{what} is not a number"))
}

/// Decodes one received message in `format`.
pub fn decode(format: &str, raw: &str) -> Result<Received, String> {
    let (seq, action, fields) = match format {
        "rfc5424" => {
            let m = header(raw)?;
            let sd = m.element(SD_ID).ok_or(format!("no [{SD_ID} ...]"))?;
            (
                seq_of(sd.param("event.sequence"), "event.sequence")?,
                sd.param("event.action")
                    .ok_or("no event.action")?
                    .to_string(),
                sd.params.clone(),
            )
        }
        "rfc3164" => {
            let m = syslog_parse::parse_rfc3164(raw)?;
            if m.tag != "sluice" {
                return Err(format!("TAG {:?}", m.tag));
            }
            // A packet cut at 1024 bytes ends in "..." and may end inside a value: keep the
            // pairs before the cut.
            let content = match m.content.strip_suffix("...") {
                Some(cut) if syslog_parse::parse_key_values(&m.content).is_err() => cut
                    .rsplit_once(' ')
                    .map(|(a, _)| a)
                    .unwrap_or("")
                    .to_string(),
                _ => m.content.clone(),
            };
            let kv = syslog_parse::parse_key_values(&content)?;
            let get = |k: &str| kv.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            (
                seq_of(get("event.sequence"), "event.sequence")?,
                get("event.action").ok_or("no event.action")?.to_string(),
                kv.clone(),
            )
        }
        "cef" => {
            let m = header(raw)?;
            let cef = syslog_parse::parse_cef(m.msg.as_deref().ok_or("no MSG")?)?;
            (
                seq_of(cef.get("externalId"), "externalId")?,
                cef.get("eventAction").ok_or("no eventAction")?.to_string(),
                cef.extension.clone(),
            )
        }
        "leef" => {
            let m = header(raw)?;
            let leef = syslog_parse::parse_leef(m.msg.as_deref().ok_or("no MSG")?)?;
            (
                seq_of(leef.get("eventSequence"), "eventSequence")?,
                leef.get("eventAction").ok_or("no eventAction")?.to_string(),
                leef.attributes.clone(),
            )
        }
        "json" => {
            let m = header(raw)?;
            let v: serde_json::Value = serde_json::from_str(m.msg.as_deref().ok_or("no MSG")?)
                .map_err(|e| format!("MSG is not JSON: {e}"))?;
            let mut fields = Vec::new();
            flatten("", &v, &mut fields);
            let get = |k: &str| {
                fields
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v): &(String, String)| v.clone())
            };
            (
                seq_of(get("event.sequence").as_deref(), "event.sequence")?,
                get("event.action").ok_or("no event.action")?,
                fields,
            )
        }
        f => return Err(format!("unknown format {f}")),
    };
    Ok(Received {
        seq,
        action,
        fields,
        raw: raw.to_string(),
    })
}

/// JSON objects flattened to dotted keys (ECS), arrays to repeated keys, scalars as text.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| flatten(prefix, i, out)),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}
