//! Detector definitions as data: named keyword dictionaries and named regexes parsed from TOML
//! (the embedded default set in `assets/definitions/dictionaries.toml`, or any string, such as a
//! future signed definition update). Parsing validates everything; nothing is half-loaded.

use serde::Deserialize;

/// The embedded default definitions.
pub const DEFAULT_DEFINITIONS: &str = include_str!("../../../assets/definitions/dictionaries.toml");

/// Format version this code reads.
pub const DEFINITIONS_VERSION: u32 = 1;
/// Longest dictionary or regex name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Most terms in one dictionary.
pub const MAX_TERMS: usize = 100_000;
/// Longest term, in bytes.
pub const MAX_TERM_BYTES: usize = 256;
/// Most words in one term (phrase).
pub const MAX_TERM_WORDS: usize = 16;
/// Longest regex pattern source, in bytes.
pub const MAX_PATTERN_BYTES: usize = 4096;
/// Most dictionaries plus regexes in one definition set.
pub const MAX_DEFINITIONS: usize = 1_000;

/// A parsed and checked definition set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definitions {
    pub dictionaries: Vec<DictionaryDef>,
    pub regexes: Vec<RegexDef>,
}

/// One named keyword list. Terms are matched case-insensitively as whole words; a term with spaces is
/// a phrase whose words may be separated by any run of whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DictionaryDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub terms: Vec<String>,
}

/// One named regex (Rust `regex` syntax, linear time).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub pattern: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    version: u32,
    #[serde(default, rename = "dictionary")]
    dictionaries: Vec<DictionaryDef>,
    #[serde(default, rename = "regex")]
    regexes: Vec<RegexDef>,
}

/// Why a definition set was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("definitions: {0}")]
    Syntax(String),
    #[error(
        "definitions: version {found} is not supported (this build reads version {DEFINITIONS_VERSION})"
    )]
    Version { found: u32 },
    #[error(
        "definitions: {kind} name {name:?} must be 1-{MAX_NAME_BYTES} characters of a-z, 0-9, '_' or '-'"
    )]
    Name { kind: &'static str, name: String },
    #[error("definitions: {kind} {name:?} is defined twice")]
    Duplicate { kind: &'static str, name: String },
    #[error("definitions: dictionary {name:?} has no terms")]
    Empty { name: String },
    #[error("definitions: dictionary {name:?} has more than {MAX_TERMS} terms")]
    TooManyTerms { name: String },
    #[error("definitions: dictionary {name:?}, term {index}: {reason}")]
    Term {
        name: String,
        index: usize,
        reason: String,
    },
    #[error("definitions: regex {name:?}: {reason}")]
    Regex { name: String, reason: String },
    #[error("definitions: more than {MAX_DEFINITIONS} dictionaries and regexes")]
    TooMany,
    #[error("definitions: {0}")]
    Reference(String),
}

impl Definitions {
    /// The embedded default set.
    pub fn embedded() -> Result<Definitions, DefinitionError> {
        Definitions::parse(DEFAULT_DEFINITIONS)
    }

    /// Parses and checks a definition set (TOML: `version = 1`, `[[dictionary]]`, `[[regex]]`).
    pub fn parse(source: &str) -> Result<Definitions, DefinitionError> {
        let raw: Raw = toml::from_str(source)
            .map_err(|e| DefinitionError::Syntax(e.to_string().trim_end().replace('\n', " | ")))?;
        if raw.version != DEFINITIONS_VERSION {
            return Err(DefinitionError::Version { found: raw.version });
        }
        if raw.dictionaries.len() + raw.regexes.len() > MAX_DEFINITIONS {
            return Err(DefinitionError::TooMany);
        }
        let defs = Definitions {
            dictionaries: raw.dictionaries,
            regexes: raw.regexes,
        };
        defs.check()?;
        Ok(defs)
    }

    fn check(&self) -> Result<(), DefinitionError> {
        let mut names = std::collections::HashSet::new();
        for d in &self.dictionaries {
            check_name("dictionary", &d.name)?;
            if !names.insert(("dictionary", d.name.as_str())) {
                return Err(DefinitionError::Duplicate {
                    kind: "dictionary",
                    name: d.name.clone(),
                });
            }
            check_terms(&d.name, &d.terms)?;
        }
        for r in &self.regexes {
            check_name("regex", &r.name)?;
            if !names.insert(("regex", r.name.as_str())) {
                return Err(DefinitionError::Duplicate {
                    kind: "regex",
                    name: r.name.clone(),
                });
            }
            crate::detect::pattern::compile(&r.pattern).map_err(|reason| {
                DefinitionError::Regex {
                    name: r.name.clone(),
                    reason,
                }
            })?;
        }
        Ok(())
    }
}

/// Checks a detector name: 1-64 bytes of `a-z`, `0-9`, `_`, `-`.
pub(crate) fn check_name(kind: &'static str, name: &str) -> Result<(), DefinitionError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(DefinitionError::Name {
            kind,
            name: name.to_owned(),
        })
    }
}

fn check_terms(name: &str, terms: &[String]) -> Result<(), DefinitionError> {
    if terms.is_empty() {
        return Err(DefinitionError::Empty {
            name: name.to_owned(),
        });
    }
    if terms.len() > MAX_TERMS {
        return Err(DefinitionError::TooManyTerms {
            name: name.to_owned(),
        });
    }
    for (index, t) in terms.iter().enumerate() {
        let bad = |reason: &str| DefinitionError::Term {
            name: name.to_owned(),
            index: index + 1,
            reason: reason.to_owned(),
        };
        let words = t.split_whitespace().count();
        if words == 0 {
            return Err(bad("empty term"));
        }
        if t.len() > MAX_TERM_BYTES {
            return Err(bad(&format!("longer than {MAX_TERM_BYTES} bytes")));
        }
        if words > MAX_TERM_WORDS {
            return Err(bad(&format!("more than {MAX_TERM_WORDS} words")));
        }
        if t.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(bad("control characters"));
        }
    }
    Ok(())
}
