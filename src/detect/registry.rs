//! Which detectors the configured policies need: each content condition registers what it asks for
//! and gets a [`DetectorId`]; equal requests share one id, so a detector runs once per message
//! however many policies use it. The engine compiles only what is registered.

use super::Hit;

/// Symantec's breadths: how much evidence an identifier needs before it reports a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Breadth {
    /// The pattern (and cheap validators).
    Wide,
    /// Pattern and all validators.
    Medium,
    /// Validators and required context words.
    Narrow,
}

impl Breadth {
    pub fn name(self) -> &'static str {
        match self {
            Breadth::Wide => "wide",
            Breadth::Medium => "medium",
            Breadth::Narrow => "narrow",
        }
    }
}

/// What a content condition asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Detector {
    /// A data identifier (`CREDIT_CARD`, ...) at a breadth.
    Identifier { name: String, breadth: Breadth },
    /// A keyword dictionary from the definitions.
    Dictionary(String),
    /// An inline keyword list written in the policy.
    Keywords(Vec<String>),
    /// A regular expression written in the policy.
    Regex(String),
    /// A named regex from the definitions (`[[regex]]` in `assets/definitions/`).
    Pattern(String),
    /// Term (or `dictionary:NAME`) `a` within `words` words of `b`.
    Near { a: String, b: String, words: u32 },
    /// Rows of an exact-data index with at least `columns` cells found near each other.
    Edm { index: String, columns: u32 },
    /// Every data identifier at its configured breadth (what `sluice scan` shows).
    AllIdentifiers,
}

impl Detector {
    /// The name findings carry: the identifier type, `dictionary:NAME`, `keywords`, `regex`,
    /// `pattern:NAME`, `near`, or `edm:NAME`.
    pub fn label(&self) -> String {
        match self {
            Detector::Identifier { name, .. } => name.clone(),
            Detector::Dictionary(n) => format!("dictionary:{n}"),
            Detector::Keywords(_) => "keywords".into(),
            Detector::Regex(_) => "regex".into(),
            Detector::Pattern(n) => format!("pattern:{n}"),
            Detector::Near { .. } => "near".into(),
            Detector::Edm { index, .. } => format!("edm:{index}"),
            Detector::AllIdentifiers => "identifiers".into(),
        }
    }

    /// The label with the settings that change what it finds (breadth, distance, columns).
    pub fn describe(&self) -> String {
        match self {
            Detector::Identifier { name, breadth } => format!("{name}/{}", breadth.name()),
            Detector::Near { a, b, words } => format!("near:{a}~{b}/{words}"),
            Detector::Edm { index, columns } => format!("edm:{index}/{columns}"),
            Detector::AllIdentifiers => "identifiers/default".into(),
            other => other.label(),
        }
    }
}

/// Index of a registered detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DetectorId(pub usize);

/// The detectors asked for, in registration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    list: Vec<Detector>,
}

impl Registry {
    pub fn register(&mut self, d: Detector) -> DetectorId {
        if let Some(i) = self.list.iter().position(|x| *x == d) {
            return DetectorId(i);
        }
        self.list.push(d);
        DetectorId(self.list.len() - 1)
    }

    pub fn get(&self, id: DetectorId) -> Option<&Detector> {
        self.list.get(id.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = (DetectorId, &Detector)> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, d)| (DetectorId(i), d))
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// One hit in one decomposed part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Index of the part in the decomposition.
    pub part: usize,
    pub hit: Hit,
}

/// Every registered detector's hits for one message, indexed by [`DetectorId`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    by_detector: Vec<Vec<Found>>,
}

impl Findings {
    pub fn new(detectors: usize) -> Findings {
        Findings {
            by_detector: vec![Vec::new(); detectors],
        }
    }

    pub fn push(&mut self, id: DetectorId, found: Found) {
        if let Some(v) = self.by_detector.get_mut(id.0) {
            v.push(found);
        }
    }

    pub fn of(&self, id: DetectorId) -> &[Found] {
        self.by_detector.get(id.0).map_or(&[], Vec::as_slice)
    }

    pub fn iter(&self) -> impl Iterator<Item = (DetectorId, &[Found])> {
        self.by_detector
            .iter()
            .enumerate()
            .map(|(i, v)| (DetectorId(i), v.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_requests_share_one_detector() {
        let mut r = Registry::default();
        let a = r.register(Detector::Dictionary("hr".into()));
        let b = r.register(Detector::Identifier {
            name: "CREDIT_CARD".into(),
            breadth: Breadth::Medium,
        });
        let c = r.register(Detector::Dictionary("hr".into()));
        let d = r.register(Detector::Identifier {
            name: "CREDIT_CARD".into(),
            breadth: Breadth::Narrow,
        });
        assert_eq!(a, c);
        assert_ne!(b, d);
        assert_eq!(r.len(), 3);
        assert_eq!(
            r.get(b).map(Detector::label).as_deref(),
            Some("CREDIT_CARD")
        );
    }
}
