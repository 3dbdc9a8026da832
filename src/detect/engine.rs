//! The detection engine: compiles the registered detectors once against the definition library,
//! then scans every text part of a decomposed message and collects [`Findings`]. Pure: no I/O, no
//! clock. All dictionaries and inline keyword lists share one automaton, so a part is read once for
//! all of them.

use std::collections::HashMap;
use std::sync::Arc;

use super::dictionary::definitions::RegexDef;
use super::dictionary::{DictId, Dictionaries, DictionaryDef, Selector, proximity};
use super::edm;
use super::identifier::{self, Identifiers};
use super::registry::{Breadth, Detector, DetectorId, Findings, Found, Registry};
use super::{Confidence, Hit, redact};

/// Compiled size limit for one policy regex (keeps a hostile or careless pattern from eating memory).
const REGEX_SIZE_LIMIT: usize = 4 << 20;

/// What detectors are built from: the definitions (embedded or from a signed update) and the EDM
/// indexes the policies name.
#[derive(Clone)]
pub struct Library {
    pub identifiers: Identifiers,
    pub dictionaries: Vec<DictionaryDef>,
    /// Named regexes, used by `{ pattern = "NAME" }` conditions.
    pub patterns: Vec<RegexDef>,
    /// Shared, not copied: an index can be hundreds of megabytes.
    pub edm: HashMap<String, Arc<edm::Index>>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("identifiers", &self.identifiers.names().count())
            .field("dictionaries", &self.dictionaries.len())
            .field("patterns", &self.patterns.len())
            .field("edm", &self.edm.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Library {
    /// The embedded default definitions, no EDM index.
    pub fn embedded() -> Result<Library, String> {
        let defs = super::dictionary::Definitions::embedded().map_err(|e| e.to_string())?;
        Ok(Library {
            identifiers: Identifiers::embedded(),
            dictionaries: defs.dictionaries,
            patterns: defs.regexes,
            edm: HashMap::new(),
        })
    }
}

enum Compiled {
    /// A dictionary (or inline keyword list) of the shared set.
    Terms(DictId),
    Near {
        a: Selector,
        b: Selector,
        words: u32,
    },
    Regex(regex::Regex),
    Edm(edm::MatchParams, String),
    /// Found by the identifier passes (see `Engine::identifier_passes`).
    Identifier,
}

/// One pass of the identifier scanner: identifiers each at the breadth asked for, every name at most
/// once (or all at their configured breadths), and where their hits go.
struct IdentifierPass {
    select: Option<Vec<(String, identifier::Breadth)>>,
    /// Identifier name -> detector (for `select`), or the one detector taking every hit (`None`).
    targets: Vec<(String, DetectorId)>,
    all: Option<DetectorId>,
}

/// Which message-level context scope a part's text is in (see `identifier::Shared`): the heading
/// fields (Subject, Comments, Keywords) and the body texts of one message, numbered by the
/// caller, share identifier context words; everything else keeps them to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextScope {
    Own,
    Heading(u32),
    Body(u32),
}

/// Every detector the policies need, ready to scan.
pub struct Engine {
    detectors: Vec<(DetectorId, String, Compiled)>,
    identifiers: Identifiers,
    identifier_passes: Vec<IdentifierPass>,
    terms: Dictionaries,
    /// Whether any detector needs the term scan.
    uses_terms: bool,
    edm: HashMap<String, Arc<edm::Index>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("detectors", &self.detectors.len())
            .finish()
    }
}

/// Builds the one term set: the library's dictionaries first, then inline lists and bare `near`
/// terms as dictionaries of their own.
struct TermSet {
    defs: Vec<DictionaryDef>,
}

impl TermSet {
    fn inline(&mut self, terms: Vec<String>) -> String {
        let name = format!("policy-terms-{}", self.defs.len());
        self.defs.push(DictionaryDef {
            name: name.clone(),
            description: String::new(),
            terms,
        });
        name
    }
}

impl Engine {
    /// Compiles what `registry` lists. Fails with a message naming the detector that cannot be built.
    pub fn new(registry: &Registry, library: &Library) -> Result<Engine, String> {
        // Only the dictionaries some detector refers to go into the term set: every extra term
        // is a lookup on every word of every message.
        let referenced = |name: &str| {
            registry.iter().any(|(_, d)| match d {
                Detector::Dictionary(n) => n == name,
                Detector::Near { a, b, .. } => [a, b]
                    .iter()
                    .any(|t| t.strip_prefix("dictionary:") == Some(name)),
                _ => false,
            })
        };
        let mut set = TermSet {
            defs: library
                .dictionaries
                .iter()
                .filter(|d| referenced(&d.name))
                .cloned()
                .collect(),
        };
        // First pass: names in the term set for every dictionary-based detector.
        enum Plan {
            Terms(String),
            Near(String, String, u32),
            Other,
        }
        let mut plans = Vec::new();
        for (_, d) in registry.iter() {
            let operand = |set: &mut TermSet, t: &str| match t.strip_prefix("dictionary:") {
                Some(name) => name.to_string(),
                None => set.inline(vec![t.to_string()]),
            };
            plans.push(match d {
                Detector::Dictionary(name) => Plan::Terms(name.clone()),
                Detector::Keywords(words) => Plan::Terms(set.inline(words.clone())),
                Detector::Near { a, b, words } => {
                    let a = operand(&mut set, a);
                    let b = operand(&mut set, b);
                    Plan::Near(a, b, *words)
                }
                _ => Plan::Other,
            });
        }
        let terms = Dictionaries::new(&set.defs).map_err(|e| e.to_string())?;
        let find = |name: &str| {
            terms
                .dictionary(name)
                .ok_or_else(|| format!("no dictionary named {name:?} in the definitions"))
        };
        let mut detectors = Vec::new();
        let mut passes: Vec<IdentifierPass> = Vec::new();
        let mut uses_terms = false;
        for ((id, d), plan) in registry.iter().zip(plans) {
            let compiled = match (d, plan) {
                (_, Plan::Terms(name)) => {
                    uses_terms = true;
                    Compiled::Terms(find(&name)?)
                }
                (_, Plan::Near(a, b, words)) => {
                    uses_terms = true;
                    Compiled::Near {
                        a: Selector::Dictionary(find(&a)?),
                        b: Selector::Dictionary(find(&b)?),
                        words,
                    }
                }
                (Detector::Regex(pattern), _) => Compiled::Regex(regex(pattern)?),
                (Detector::Pattern(name), _) => {
                    let def = library
                        .patterns
                        .iter()
                        .find(|p| p.name == *name)
                        .ok_or_else(|| format!("no pattern named {name:?} in the definitions"))?;
                    let re = super::pattern::compile(&def.pattern)
                        .map_err(|e| format!("pattern {name:?}: {e}"))?;
                    Compiled::Regex(re)
                }
                (Detector::Edm { index, columns }, _) => {
                    if !library.edm.contains_key(index) {
                        return Err(format!(
                            "EDM index {index:?} is not loaded (create it with `sluice edm import --name {index} FILE.csv`)"
                        ));
                    }
                    Compiled::Edm(
                        edm::MatchParams {
                            min_columns: *columns as usize,
                            ..edm::MatchParams::default()
                        },
                        index.clone(),
                    )
                }
                (Detector::AllIdentifiers, _) => {
                    passes.push(IdentifierPass {
                        select: None,
                        targets: Vec::new(),
                        all: Some(id),
                    });
                    Compiled::Identifier
                }
                (Detector::Identifier { name, breadth }, _) => {
                    if !library.identifiers.names().any(|n| n == name) {
                        return Err(format!(
                            "no data identifier named {name:?} in the definitions"
                        ));
                    }
                    let b = match breadth {
                        Breadth::Wide => identifier::Breadth::Wide,
                        Breadth::Medium => identifier::Breadth::Medium,
                        Breadth::Narrow => identifier::Breadth::Narrow,
                    };
                    // One pass serves many identifiers, each at its own breadth; a name asked
                    // for at a second breadth needs another pass (hits carry only the name).
                    let pass = match passes.iter_mut().find(|p| {
                        p.select
                            .as_ref()
                            .is_some_and(|s| !s.iter().any(|x| x.0 == *name))
                    }) {
                        Some(p) => p,
                        None => {
                            passes.push(IdentifierPass {
                                select: Some(Vec::new()),
                                targets: Vec::new(),
                                all: None,
                            });
                            passes.last_mut().ok_or("identifier pass")?
                        }
                    };
                    if let Some(s) = pass.select.as_mut() {
                        s.push((name.clone(), b));
                    }
                    pass.targets.push((name.clone(), id));
                    Compiled::Identifier
                }
                (other, _) => return Err(format!("detector {} is not available", other.label())),
            };
            detectors.push((id, d.label(), compiled));
        }
        Ok(Engine {
            detectors,
            identifiers: library.identifiers.clone(),
            identifier_passes: passes,
            terms,
            uses_terms,
            edm: library.edm.clone(),
        })
    }

    /// Scans each text part with every detector. `parts[i]` is the text of decomposed part `i`.
    /// Identifier context words are found within each part only (see [`Engine::scan_scoped`]).
    pub fn scan(&self, parts: &[&str]) -> Findings {
        self.scan_scoped(parts, &[])
    }

    /// As [`Engine::scan`], with `scopes[i]` saying which message-level context scope part `i` is
    /// in (missing entries: [`ContextScope::Own`]): identifier context words in a message's
    /// heading fields count for candidates in its body texts and the other way round.
    pub fn scan_scoped(&self, parts: &[&str], scopes: &[ContextScope]) -> Findings {
        let mut findings = Findings::new(self.detectors.len());
        let mut hits = Vec::new();
        let scope = |i: usize| scopes.get(i).copied().unwrap_or(ContextScope::Own);
        // Per (message, heading?): the other side's texts, searched at most once per message.
        let mut shared: HashMap<(u32, bool), identifier::Shared<'_>> = HashMap::new();
        let mut own = identifier::Shared::none();
        for (part, text) in parts.iter().enumerate() {
            if text.is_empty() {
                continue;
            }
            let key = match scope(part) {
                ContextScope::Own => None,
                ContextScope::Heading(m) => Some((m, true)),
                ContextScope::Body(m) => Some((m, false)),
            };
            let sh = match key {
                None => &mut own,
                Some((m, heading)) => shared.entry((m, heading)).or_insert_with(|| {
                    let other = if heading {
                        ContextScope::Body(m)
                    } else {
                        ContextScope::Heading(m)
                    };
                    identifier::Shared::new(
                        (0..parts.len())
                            .filter(|&i| scope(i) == other)
                            .map(|i| parts[i])
                            .collect(),
                    )
                }),
            };
            for pass in &self.identifier_passes {
                hits.clear();
                self.identifiers
                    .scan_shared(text, pass.select.as_deref(), sh, &mut hits);
                for hit in hits.drain(..) {
                    let target = pass.all.or_else(|| {
                        pass.targets
                            .iter()
                            .find(|(n, _)| *n == hit.detector)
                            .map(|(_, id)| *id)
                    });
                    if let Some(id) = target {
                        findings.push(id, Found { part, hit });
                    }
                }
            }
            let term_scan = self.uses_terms.then(|| self.terms.scan(text));
            for (id, label, compiled) in &self.detectors {
                hits.clear();
                match compiled {
                    Compiled::Identifier => {}
                    Compiled::Terms(dict) => {
                        if let Some(s) = &term_scan {
                            for mut h in self.terms.hits(s, *dict) {
                                h.detector = label.clone();
                                hits.push(h);
                            }
                        }
                    }
                    Compiled::Near { a, b, words } => {
                        if let Some(s) = &term_scan {
                            let (sa, sb) = (s.spans(*a, &self.terms), s.spans(*b, &self.terms));
                            if let Some((x, y)) = proximity::within(text, &sa, &sb, *words) {
                                let (start, end) = (x.0.min(y.0), x.1.max(y.1));
                                hits.push(Hit {
                                    detector: label.clone(),
                                    start,
                                    end,
                                    confidence: Confidence::High,
                                    redacted: format!("within {words} words"),
                                });
                            }
                        }
                    }
                    Compiled::Regex(r) => {
                        for m in r.find_iter(text) {
                            hits.push(Hit {
                                detector: label.clone(),
                                start: m.start(),
                                end: m.end(),
                                confidence: Confidence::High,
                                redacted: redact(m.as_str()),
                            });
                        }
                    }
                    Compiled::Edm(params, name) => {
                        if let Some(index) = self.edm.get(name) {
                            for h in edm::matcher::find(index, text, *params) {
                                hits.push(h.to_hit(index));
                            }
                        }
                    }
                }
                for hit in hits.drain(..) {
                    findings.push(*id, Found { part, hit });
                }
            }
        }
        findings
    }
}

/// A policy regex: linear time (the regex crate), bounded compiled size.
pub fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            format!(
                "invalid regex: {}",
                e.to_string().lines().last().unwrap_or("syntax error")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(r: &Registry) -> Engine {
        Engine::new(r, &Library::embedded().unwrap()).unwrap()
    }

    #[test]
    fn keywords_and_regexes_report_per_part_with_redacted_evidence() {
        let mut r = Registry::default();
        let k = r.register(Detector::Keywords(vec!["secret".into()]));
        let x = r.register(Detector::Regex(r"EMP-\d{6}".into()));
        let e = engine(&r);
        let f = e.scan(&[
            "A SECRET plan",
            "badge EMP-123456 and EMP-654321, secretary",
        ]);
        let parts: Vec<usize> = f.of(k).iter().map(|f| f.part).collect();
        assert_eq!(parts, [0]);
        assert_eq!(f.of(k)[0].hit.detector, "keywords");
        let ev: Vec<&str> = f.of(x).iter().map(|f| f.hit.redacted.as_str()).collect();
        assert_eq!(ev.len(), 2);
        assert!(
            ev.iter()
                .all(|e| !e.contains("123456") && !e.contains("654321"))
        );
    }

    #[test]
    fn identifiers_share_passes_unless_a_name_is_asked_for_twice() {
        let mut r = Registry::default();
        let id = |r: &mut Registry, name: &str, breadth| {
            r.register(Detector::Identifier {
                name: name.into(),
                breadth,
            })
        };
        let cc_medium = id(&mut r, "CREDIT_CARD", Breadth::Medium);
        let ssn_narrow = id(&mut r, "US_SSN", Breadth::Narrow);
        let cc_wide = id(&mut r, "CREDIT_CARD", Breadth::Wide);
        let e = engine(&r);
        assert_eq!(e.identifier_passes.len(), 2);
        let f = e.scan(&["pay with card 4111 1111 1111 1111, SSN 078-05-1121 on file"]);
        assert_eq!(f.of(cc_medium).len(), 1);
        assert_eq!(f.of(cc_wide).len(), 1);
        assert_eq!(f.of(ssn_narrow).len(), 1);
        assert_eq!(f.of(ssn_narrow)[0].hit.detector, "US_SSN");
    }

    #[test]
    fn subject_and_body_of_one_message_share_context_words() {
        let mut r = Registry::default();
        let aba = r.register(Detector::Identifier {
            name: "US_BANK_ROUTING".into(),
            breadth: Breadth::Narrow,
        });
        let e = engine(&r);
        let parts = [
            "Payroll update 021000021",                 // 0: subject of the message
            "please use the routing number above",      // 1: its body
            "Fwd: 011000015",                           // 2: subject of an attached message
            "nothing about banks here",                 // 3: its body
            "attachment text 011000028, routing below", // 4: an attachment, own scope
            "011000015",                                // 5: another attachment
        ];
        use ContextScope::*;
        let scopes = [Heading(0), Body(0), Heading(1), Body(1), Own, Own];
        let hits: Vec<(usize, &str)> = e
            .scan_scoped(&parts, &scopes)
            .of(aba)
            .iter()
            .map(|f| (f.part, &parts[f.part][f.hit.start..f.hit.end]))
            .collect();
        assert_eq!(hits, [(0, "021000021"), (4, "011000028")]);
        // Without scopes every part keeps its words to itself.
        assert_eq!(e.scan(&parts).of(aba).len(), 1);
    }

    #[test]
    fn dictionaries_and_proximity_share_one_term_scan() {
        let mut r = Registry::default();
        let d = r.register(Detector::Dictionary("confidential-en".into()));
        let n = r.register(Detector::Near {
            a: "merger".into(),
            b: "dictionary:confidential-en".into(),
            words: 3,
        });
        let e = engine(&r);
        let f = e.scan(&[
            "The merger plan is strictly\r\nconfidential.",
            "merger talk, and far far far far away: confidential",
        ]);
        assert_eq!(
            f.of(d).len(),
            3,
            "phrase and word in part 0, word in part 1"
        );
        assert_eq!(f.of(d)[0].hit.detector, "dictionary:confidential-en");
        let near: Vec<usize> = f.of(n).iter().map(|x| x.part).collect();
        assert_eq!(near, [0]);
    }

    #[test]
    fn named_patterns_come_from_the_library() {
        let mut r = Registry::default();
        let p = r.register(Detector::Pattern("internal-hostname".into()));
        let e = engine(&r);
        let f = e.scan(&["see build01.corp and www.example.com"]);
        assert_eq!(f.of(p).len(), 1);
        assert_eq!(f.of(p)[0].hit.detector, "pattern:internal-hostname");
        assert!(!f.of(p)[0].hit.redacted.contains("build01"));
        let mut r = Registry::default();
        r.register(Detector::Pattern("no-such-pattern".into()));
        let err = Engine::new(&r, &Library::embedded().unwrap()).unwrap_err();
        assert!(
            err.contains("no pattern named \"no-such-pattern\""),
            "{err}"
        );
    }

    #[test]
    fn unknown_dictionaries_missing_edm_indexes_and_bad_regexes_are_refused() {
        let lib = Library::embedded().unwrap();
        let mut r = Registry::default();
        r.register(Detector::Regex("(".into()));
        assert!(Engine::new(&r, &lib).unwrap_err().contains("invalid regex"));
        let mut r = Registry::default();
        r.register(Detector::Dictionary("nope".into()));
        assert!(
            Engine::new(&r, &lib)
                .unwrap_err()
                .contains("no dictionary named")
        );
        let mut r = Registry::default();
        r.register(Detector::Edm {
            index: "customers".into(),
            columns: 2,
        });
        assert!(
            Engine::new(&r, &lib)
                .unwrap_err()
                .contains("sluice edm import")
        );
    }
}
