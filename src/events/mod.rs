//! The event catalogue: every event Sluice reports (SIEM export, message tracking, the detail
//! report) as one closed, typed list. Each [`Kind`] has a stable numeric id, a dotted name, a
//! [`Category`] and a severity (0-10, with its syslog severity); each value an event carries is a
//! typed [`Field`] named after the Elastic Common Schema where ECS has a name. Pure: no I/O, no
//! clock; the store keeps [`Event`]s in its outbox and `export` formats them.
//!
//! Stability rules (a SIEM's parsers and saved searches depend on them): a kind's id and name and a
//! field's name never change meaning and are never reused; new kinds and fields are added at the
//! end of their category's range. Names an earlier release stored are still read ([`Kind::from_name`],
//! [`Field::from_name`] know the aliases).

mod field;
mod kind;

pub use field::{Field, FieldType};
pub use kind::{Category, Kind};

/// One event as the outbox keeps it: what happened (`kind`), when (Unix seconds), its place in the
/// outbox (`seq`, increasing, never reused) and its values. Ids, addresses, names and outcomes; never
/// a body, an attachment or a matched value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub seq: u64,
    pub at: u64,
    pub kind: Kind,
    /// In order; a field may repeat (one `email.to.address` per recipient).
    pub fields: Vec<(Field, String)>,
}

impl Event {
    /// The first value of `field`, if the event has it.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `field`, in order.
    pub fn all(&self, field: Field) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(move |(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }
}

/// The values of an event being built: `Fields::new().with(Field::HeldId, id)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(pub Vec<(Field, String)>);

impl Fields {
    pub fn new() -> Fields {
        Fields(Vec::new())
    }

    /// Adds `field = value`; an empty value is left out (absent, not blank, in every format).
    pub fn with(mut self, field: Field, value: impl ToString) -> Fields {
        self.push(field, value);
        self
    }

    /// Adds one value per item (`email.to.address` for each recipient).
    pub fn with_each<T: ToString>(
        mut self,
        field: Field,
        values: impl IntoIterator<Item = T>,
    ) -> Fields {
        for v in values {
            self.push(field, v);
        }
        self
    }

    pub fn push(&mut self, field: Field, value: impl ToString) {
        let value = value.to_string();
        if !value.is_empty() {
            self.0.push((field, value));
        }
    }

    pub fn into_vec(self) -> Vec<(Field, String)> {
        self.0
    }
}

impl From<Fields> for Vec<(Field, String)> {
    fn from(f: Fields) -> Self {
        f.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_left_out_and_repeats_kept() {
        let f = Fields::new()
            .with(Field::EmailSubject, "")
            .with_each(Field::EmailToAddress, ["a@x", "b@x"])
            .with(Field::HeldId, 7);
        let e = Event {
            seq: 1,
            at: 2,
            kind: Kind::MessageQuarantined,
            fields: f.into_vec(),
        };
        assert_eq!(e.get(Field::EmailSubject), None);
        assert_eq!(
            e.all(Field::EmailToAddress).collect::<Vec<_>>(),
            ["a@x", "b@x"]
        );
        assert_eq!(e.get(Field::HeldId), Some("7"));
    }

    #[test]
    fn an_event_of_the_previous_release_reads_with_its_new_names() {
        let old = r#"{"seq":3,"at":9,"kind":"quarantine.held","fields":[["held","1"],["guid","g"],["incidents","4,5"]]}"#;
        let e: Event = serde_json::from_str(old).unwrap();
        assert_eq!(e.kind, Kind::MessageQuarantined);
        assert_eq!(e.get(Field::HeldId), Some("1"));
        assert_eq!(e.get(Field::EmailLocalId), Some("g"));
        assert_eq!(e.get(Field::IncidentId), Some("4,5"));
        let again: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(again, e);
    }
}
