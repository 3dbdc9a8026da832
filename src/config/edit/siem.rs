//! The `[[siem]]` destinations as the settings page edits them: each one's keys as text
//! ([`Document::siem`]), one put whole (added, or replacing the one it was) and one removed, in
//! place, keeping the file's comments and the other tables as they are. Every key of a
//! destination ([`KEYS`], those `config::siem` reads) may be given; a key left empty is left out
//! of the table, so `[siem_defaults]` applies. The loader checks the result like any edit.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

use super::{Document, EditError, input};

/// Every key of a `[[siem]]` table, in the order a new table is written.
pub const KEYS: [&str; 21] = [
    "name",
    "format",
    "transport",
    "address",
    "ca_file",
    "server_name",
    "client_cert",
    "client_key",
    "min_severity",
    "categories",
    "subject",
    "leef_version",
    "facility",
    "udp_max",
    "start",
    "backoff_min",
    "backoff_max",
    "timeout",
    "batch",
    "poll_interval",
    "down_after",
];

/// One destination as written in the file: its name and the keys it sets, as text (a list's
/// items joined by ", ").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiemEntry {
    pub name: String,
    pub values: Vec<(&'static str, String)>,
}

impl SiemEntry {
    /// The text of `key`, or "" when the table leaves it to `[siem_defaults]`.
    pub fn value(&self, key: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl Document {
    /// The file's `[[siem]]` destinations, in order.
    pub fn siem(&self) -> Result<Vec<SiemEntry>, EditError> {
        let doc = self.mutable()?;
        let Some(list) = doc.get("siem").and_then(Item::as_array_of_tables) else {
            return Ok(Vec::new());
        };
        Ok(list.iter().map(entry).collect())
    }

    /// Writes one destination from `fields` (key, text as typed; every key of [`KEYS`] not given
    /// or empty is left out): it replaces the destination named `original`, or is added after
    /// the others when `original` is `None`.
    pub fn put_siem(
        &mut self,
        original: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Result<(), EditError> {
        let given = |k: &str| {
            fields
                .iter()
                .find(|(f, _)| *f == k)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let name = given("name")
            .ok_or_else(|| EditError::Refused("a SIEM destination needs a name".into()))?;
        let mut doc = self.mutable()?;
        let list = siem_mut(&mut doc)?;
        let at = |n: &str| list.iter().position(|t| entry(t).name == n);
        if at(name).is_some() && original != Some(name) {
            return Err(EditError::Refused(format!(
                "there is a SIEM destination named {name:?} already"
            )));
        }
        let what = match original {
            Some(old) => {
                let i = at(old).ok_or_else(|| missing(old))?;
                let table = list.get_mut(i).ok_or_else(|| missing(old))?;
                for key in KEYS {
                    match given(key) {
                        Some(v) => set_kept(table, key, typed(key, v)?),
                        None => {
                            table.remove(key);
                        }
                    }
                }
                match old == name {
                    true => format!("SIEM destination {name:?} changed"),
                    false => format!("SIEM destination {old:?} changed and renamed {name:?}"),
                }
            }
            None => {
                let mut table = Table::new();
                for key in KEYS {
                    if let Some(v) = given(key) {
                        table.insert(key, Item::Value(typed(key, v)?));
                    }
                }
                list.push(table);
                format!("SIEM destination {name:?} added")
            }
        };
        self.commit(doc.to_string(), what, None)
    }

    /// Removes the destination named `name` (its outbox cursor is forgotten at the reload).
    pub fn delete_siem(&mut self, name: &str) -> Result<(), EditError> {
        let mut doc = self.mutable()?;
        let list = siem_mut(&mut doc)?;
        let i = list
            .iter()
            .position(|t| entry(t).name == name)
            .ok_or_else(|| missing(name))?;
        list.remove(i);
        if list.is_empty() {
            doc.remove("siem");
        }
        self.commit(
            doc.to_string(),
            format!("SIEM destination {name:?} removed"),
            None,
        )
    }
}

fn missing(name: &str) -> EditError {
    EditError::Refused(format!("there is no SIEM destination named {name:?}"))
}

/// The `[[siem]]` array, created when the file has none; refused when `siem` is something else.
fn siem_mut(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, EditError> {
    let item = doc
        .entry("siem")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    item.as_array_of_tables_mut().ok_or_else(|| {
        EditError::Refused(
            "siem is not written as [[siem]] tables in the file: edit it in the text editor".into(),
        )
    })
}

fn entry(t: &Table) -> SiemEntry {
    let values: Vec<(&'static str, String)> = KEYS
        .iter()
        .filter_map(|k| t.get(k).and_then(Item::as_value).map(|v| (*k, text(v))))
        .collect();
    let name = values
        .iter()
        .find(|(k, _)| *k == "name")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    SiemEntry { name, values }
}

/// A value as a form shows it.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.value().clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string().trim().to_string(),
    }
}

/// Sets `key` in `table`, keeping the old value's spacing and trailing comment.
fn set_kept(table: &mut Table, key: &str, mut value: Value) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// The TOML value of a destination's key from its text: the type `[siem_defaults]` gives the
/// key (a facility may be a number or a name), a string for the keys only a destination has.
fn typed(key: &str, text: &str) -> Result<Value, EditError> {
    if key == "facility" {
        return Ok(match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::from(text),
        });
    }
    match input::default_of(&format!("siem_defaults.{key}")) {
        Some(_) => input::value_from_input(&format!("siem_defaults.{key}"), text)
            .map_err(|e| EditError::Refused(e.to_string().replacen("siem_defaults.", "", 1))),
        None => Ok(Value::from(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my settings\n[listener]\nmax_sessions = 50\n\n# the SIEM\n[[siem]]\nname = \"a\" # first\nformat = \"cef\"\ntransport = \"udp\"\naddress = \"127.0.0.1:514\"\n";

    fn fields<'a>(pairs: &'a [(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        pairs.to_vec()
    }

    #[test]
    fn destinations_are_added_changed_and_removed_keeping_the_rest() {
        let mut d = Document::new(FILE);
        assert_eq!(d.siem().unwrap()[0].value("address"), "127.0.0.1:514");
        d.put_siem(
            None,
            &fields(&[
                ("name", "b"),
                ("format", "json"),
                ("transport", "tcp"),
                ("address", "siem.example:6514"),
                ("min_severity", "4"),
                ("categories", "message, policy"),
                ("facility", "3"),
                ("batch", ""),
            ]),
        )
        .unwrap();
        let all = d.siem().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].value("categories"), "message, policy");
        assert_eq!(all[1].value("batch"), "");
        assert!(d.text().contains("min_severity = 4\n") && d.text().contains("facility = 3\n"));
        d.put_siem(
            Some("a"),
            &fields(&[
                ("name", "a"),
                ("format", "leef"),
                ("transport", "udp"),
                ("address", "127.0.0.1:515"),
            ]),
        )
        .unwrap();
        assert!(d.text().contains("name = \"a\" # first"), "{}", d.text());
        assert!(
            d.text().starts_with(
                "# my settings\n[listener]\nmax_sessions = 50\n\n# the SIEM\n[[siem]]"
            )
        );
        assert_eq!(d.siem().unwrap()[0].value("format"), "leef");
        d.delete_siem("a").unwrap();
        d.delete_siem("b").unwrap();
        assert!(d.siem().unwrap().is_empty());
        assert!(!d.text().contains("siem"), "{}", d.text());
        assert_eq!(d.changes().len(), 4, "{:?}", d.changes());
    }

    #[test]
    fn invalid_destinations_are_refused_with_the_loaders_reason() {
        let mut d = Document::new(FILE);
        let refuse = |d: &mut Document, original, f: &[(&str, &str)]| {
            let e = d.put_siem(original, f).unwrap_err().to_string();
            assert_eq!(d.text(), FILE, "nothing changed");
            e
        };
        let e = refuse(
            &mut d,
            None,
            &[
                ("name", "b"),
                ("format", "xml"),
                ("transport", "udp"),
                ("address", "h:1"),
            ],
        );
        assert!(e.contains("unknown format \"xml\""), "{e}");
        let e = refuse(
            &mut d,
            None,
            &[("name", "b"), ("format", "cef"), ("transport", "udp")],
        );
        assert!(e.contains("address"), "{e}");
        let e = refuse(
            &mut d,
            None,
            &[
                ("name", "a"),
                ("format", "cef"),
                ("transport", "udp"),
                ("address", "h:1"),
            ],
        );
        assert!(e.contains("named \"a\" already"), "{e}");
        let e = refuse(&mut d, None, &[("format", "cef")]);
        assert!(e.contains("needs a name"), "{e}");
        let e = refuse(
            &mut d,
            Some("a"),
            &[
                ("name", "a"),
                ("format", "cef"),
                ("transport", "udp"),
                ("address", "h:1"),
                ("batch", "many"),
            ],
        );
        assert!(e.starts_with("batch: expected a whole number"), "{e}");
        let e = refuse(&mut d, Some("zz"), &[("name", "zz")]);
        assert!(e.contains("no SIEM destination named \"zz\""), "{e}");
        assert!(d.delete_siem("zz").is_err());
    }
}
