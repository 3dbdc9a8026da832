//! Identifier definitions: the TOML shape (serde), its validation into a compiled, immutable set,
//! and the errors that name the entry and what is wrong with it.
//!
//! Nothing is half-applied: either every entry compiles or the whole set is rejected.

use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use super::Breadth;
use super::context::Words;
use super::literal::Literals;
use super::redact::Redaction;
use super::validate::{Check, Validator};
use crate::detect::Confidence;

/// Default context window, bytes each side of a candidate (about 20 words of English; Presidio
/// looks 5 words back by default). Wider windows cost scan time: the window is what gets searched.
pub(crate) const DEFAULT_WINDOW: usize = 128;
/// Default exclusion window, bytes before a candidate ("Order no. ", "version ").
pub(crate) const DEFAULT_EXCLUDE_WINDOW: usize = 24;
/// Largest window a definition may ask for.
pub(crate) const MAX_WINDOW: usize = 4096;
/// Largest `max_len` of a prefix-triggered identifier (a PEM private key block).
pub(crate) const MAX_PREFIX_MATCH: usize = 65_536;
/// Longest digit count / token length a definition may ask for.
pub(crate) const MAX_TOKEN: usize = 64;
/// Compiled size limit of one pattern, bytes (rejects patterns that would blow up).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;
/// Most identifier entries in one set (the candidate records index them with a u16).
const MAX_ENTRIES: usize = 1024;

/// A definition set that cannot be used, with the entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identifier definitions: {entry}: {problem}")]
pub struct DefinitionError {
    /// `identifier #N (NAME)`, `settings` or `file`.
    pub entry: String,
    /// What is wrong, in words an administrator can act on.
    pub problem: String,
}

/// How candidates of an identifier are found (see the header of identifiers.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    Number,
    Alnum,
    Email,
    Ipv6,
    Prefix,
    Context,
}

/// Bytes a context-triggered token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// `A-Z 0-9`
    UpperAlnum,
    /// `A-Z a-z 0-9 + /` (padding `=` excluded so `key=value` splits)
    Base64,
}

impl Charset {
    pub(crate) fn contains(self, b: u8) -> bool {
        match self {
            Charset::UpperAlnum => b.is_ascii_uppercase() || b.is_ascii_digit(),
            Charset::Base64 => b.is_ascii_alphanumeric() || b == b'+' || b == b'/',
        }
    }
}

/// Separator bits of a number span, for `requires`.
pub(crate) const SEP_SPACE: u8 = 1;
pub(crate) const SEP_DASH: u8 = 2;
pub(crate) const SEP_DOT: u8 = 4;
pub(crate) const SEP_SLASH: u8 = 8;
pub(crate) const SEP_PAREN: u8 = 16;
pub(crate) const SEP_PLUS: u8 = 32;

/// One compiled identifier entry.
pub(crate) struct Definition {
    pub name: String,
    pub trigger: Trigger,
    pub breadth: Breadth,
    pub confidence: Confidence,
    /// Anchored at the start; also at the end unless the trigger is `prefix`.
    pub pattern: Regex,
    pub digits: (usize, usize),
    pub requires: u8,
    pub length: (usize, usize),
    pub max_len: usize,
    pub charset: Charset,
    /// Context-free validators applied while collecting candidates (wide, then medium).
    pub wide: Vec<Check>,
    pub medium: Vec<Check>,
    /// Validators that need to know whether a context word is near, applied at decision time.
    pub wide_ctx: Vec<Check>,
    pub medium_ctx: Vec<Check>,
    pub window: usize,
    pub exclude_window: usize,
    pub has_context: bool,
    pub has_exclude: bool,
    pub redact: Redaction,
}

/// A whole compiled set.
pub(crate) struct Compiled {
    pub defs: Vec<Definition>,
    pub names: Vec<String>,
    pub context: Option<Words>,
    pub literals: Option<Literals>,
    /// Largest window searched for context or exclusion words.
    pub max_window: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default, rename = "identifier")]
    identifiers: Vec<RawIdentifier>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    window: Option<usize>,
    exclude_window: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentifier {
    name: String,
    trigger: String,
    pattern: String,
    breadth: Option<String>,
    confidence: Option<String>,
    digits: Option<[usize; 2]>,
    requires: Option<String>,
    length: Option<[usize; 2]>,
    max_len: Option<usize>,
    prefixes: Option<Vec<String>>,
    triggers: Option<Vec<String>>,
    charset: Option<String>,
    #[serde(default)]
    wide: Vec<String>,
    #[serde(default)]
    medium: Vec<String>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    window: Option<usize>,
    exclude_window: Option<usize>,
    redact: Option<RawRedact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedact {
    style: Option<String>,
    keep_start: Option<usize>,
    keep_end: Option<usize>,
}

/// Parses and validates a definition file.
pub(crate) fn compile(text: &str) -> Result<Compiled, DefinitionError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| DefinitionError {
        entry: "file".into(),
        problem: e.to_string().trim_end().to_string(),
    })?;
    let settings_err = |problem: String| DefinitionError {
        entry: "settings".into(),
        problem,
    };
    let window = raw.settings.window.unwrap_or(DEFAULT_WINDOW);
    let exclude_window = raw
        .settings
        .exclude_window
        .unwrap_or(DEFAULT_EXCLUDE_WINDOW);
    if window > MAX_WINDOW || exclude_window > MAX_WINDOW {
        return Err(settings_err(format!(
            "windows must be at most {MAX_WINDOW} bytes"
        )));
    }
    if raw.identifiers.is_empty() {
        return Err(settings_err("no [[identifier]] entries".into()));
    }
    if raw.identifiers.len() > MAX_ENTRIES {
        return Err(settings_err(format!(
            "more than {MAX_ENTRIES} identifier entries"
        )));
    }
    let mut defs = Vec::with_capacity(raw.identifiers.len());
    let mut words = Words::builder();
    let mut literals = Literals::builder();
    for (i, r) in raw.identifiers.iter().enumerate() {
        let entry = format!("identifier #{} ({})", i + 1, r.name);
        let err = |problem: String| DefinitionError {
            entry: entry.clone(),
            problem,
        };
        // MAX_ENTRIES < u16::MAX, checked above.
        let idx = u16::try_from(i).map_err(|_| err("too many entries".into()))?;
        let def = entry_def(r, window, exclude_window).map_err(err)?;
        for w in &r.context {
            words.add(w, idx, true).map_err(err)?;
        }
        for w in &r.exclude {
            words.add(w, idx, false).map_err(err)?;
        }
        match def.trigger {
            Trigger::Prefix => {
                for p in r.prefixes.iter().flatten() {
                    literals.prefix(p, idx).map_err(err)?;
                }
            }
            Trigger::Context => {
                for t in r.triggers.iter().flatten() {
                    literals.trigger(t, idx).map_err(err)?;
                }
            }
            _ => {}
        }
        defs.push(def);
    }
    let mut names: Vec<String> = Vec::new();
    for d in &defs {
        if !names.contains(&d.name) {
            names.push(d.name.clone());
        }
    }
    // Only windows searched for context words count (a context-triggered entry's window is where
    // its tokens are looked for, not context).
    let max_window = defs
        .iter()
        .map(|d| {
            let w = if d.has_context && d.trigger != Trigger::Context {
                d.window
            } else {
                0
            };
            let x = if d.has_exclude { d.exclude_window } else { 0 };
            w.max(x)
        })
        .max()
        .unwrap_or(0);
    let build_err = |problem: String| DefinitionError {
        entry: "context words and prefixes".into(),
        problem,
    };
    Ok(Compiled {
        defs,
        names,
        context: words.build().map_err(build_err)?,
        literals: literals.build().map_err(build_err)?,
        max_window,
    })
}

fn entry_def(
    r: &RawIdentifier,
    window: usize,
    exclude_window: usize,
) -> Result<Definition, String> {
    if r.name.is_empty()
        || !r
            .name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err("name must be upper snake case (A-Z, 0-9, _)".into());
    }
    let trigger = match r.trigger.as_str() {
        "number" => Trigger::Number,
        "alnum" => Trigger::Alnum,
        "email" => Trigger::Email,
        "ipv6" => Trigger::Ipv6,
        "prefix" => Trigger::Prefix,
        "context" => Trigger::Context,
        other => {
            return Err(format!(
                "unknown trigger {other:?} (expected number, alnum, email, ipv6, prefix or context)"
            ));
        }
    };
    let breadth = match r.breadth.as_deref().unwrap_or("medium") {
        "wide" => Breadth::Wide,
        "medium" => Breadth::Medium,
        "narrow" => Breadth::Narrow,
        other => {
            return Err(format!(
                "unknown breadth {other:?} (expected wide, medium or narrow)"
            ));
        }
    };
    let confidence = match r.confidence.as_deref().unwrap_or("medium") {
        "low" => Confidence::Low,
        "medium" => Confidence::Medium,
        "high" => Confidence::High,
        other => {
            return Err(format!(
                "unknown confidence {other:?} (expected low, medium or high)"
            ));
        }
    };
    only_for(trigger, Trigger::Number, "digits", r.digits.is_some())?;
    only_for(trigger, Trigger::Number, "requires", r.requires.is_some())?;
    only_for(trigger, Trigger::Prefix, "prefixes", r.prefixes.is_some())?;
    only_for(trigger, Trigger::Prefix, "max_len", r.max_len.is_some())?;
    only_for(trigger, Trigger::Context, "triggers", r.triggers.is_some())?;
    only_for(trigger, Trigger::Context, "charset", r.charset.is_some())?;
    if r.length.is_some() && !matches!(trigger, Trigger::Alnum | Trigger::Context) {
        return Err("field `length` only applies to trigger = \"alnum\" or \"context\"".into());
    }
    let digits = range("digits", r.digits, trigger == Trigger::Number)?;
    let length = range(
        "length",
        r.length,
        matches!(trigger, Trigger::Alnum | Trigger::Context),
    )?;
    let mut requires = 0;
    for b in r.requires.as_deref().unwrap_or("").bytes() {
        requires |= match b {
            b' ' => SEP_SPACE,
            b'-' => SEP_DASH,
            b'.' => SEP_DOT,
            b'/' => SEP_SLASH,
            b'(' | b')' => SEP_PAREN,
            b'+' => SEP_PLUS,
            _ => {
                return Err(format!(
                    "`requires` may only name number separators \" -./()+\", not {:?}",
                    b as char
                ));
            }
        };
    }
    let max_len = match (trigger, r.max_len) {
        (Trigger::Prefix, Some(n)) if (1..=MAX_PREFIX_MATCH).contains(&n) => n,
        (Trigger::Prefix, Some(_)) => {
            return Err(format!("max_len must be 1..={MAX_PREFIX_MATCH}"));
        }
        (Trigger::Prefix, None) => return Err("trigger = \"prefix\" needs `max_len`".into()),
        _ => 0,
    };
    if trigger == Trigger::Prefix && r.prefixes.as_ref().is_none_or(Vec::is_empty) {
        return Err("trigger = \"prefix\" needs a non-empty `prefixes` list".into());
    }
    if trigger == Trigger::Context && r.triggers.as_ref().is_none_or(Vec::is_empty) {
        return Err("trigger = \"context\" needs a non-empty `triggers` list".into());
    }
    let charset = match (trigger, r.charset.as_deref()) {
        (Trigger::Context, Some("upper_alnum")) => Charset::UpperAlnum,
        (Trigger::Context, Some("base64")) => Charset::Base64,
        (Trigger::Context, Some(other)) => {
            return Err(format!(
                "unknown charset {other:?} (expected upper_alnum or base64)"
            ));
        }
        (Trigger::Context, None) => return Err("trigger = \"context\" needs `charset`".into()),
        _ => Charset::UpperAlnum,
    };
    let anchored = if trigger == Trigger::Prefix {
        format!("^(?:{})", r.pattern)
    } else {
        format!("^(?:{})$", r.pattern)
    };
    let pattern = RegexBuilder::new(&anchored)
        .unicode(false)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("pattern does not compile: {e}"))?;
    let wide = checks("wide", &r.wide)?;
    let mut medium = wide.clone();
    medium.extend(checks("medium", &r.medium)?);
    let (wide_ctx, wide): (Vec<Check>, Vec<Check>) =
        wide.into_iter().partition(|c| c.validator.needs_context());
    let (medium_ctx, medium): (Vec<Check>, Vec<Check>) = medium
        .into_iter()
        .partition(|c| c.validator.needs_context());
    let window = r.window.unwrap_or(window);
    let exclude_window = r.exclude_window.unwrap_or(exclude_window);
    if window > MAX_WINDOW || exclude_window > MAX_WINDOW {
        return Err(format!("windows must be at most {MAX_WINDOW} bytes"));
    }
    Ok(Definition {
        name: r.name.clone(),
        trigger,
        breadth,
        confidence,
        pattern,
        digits,
        requires,
        length,
        max_len,
        charset,
        wide,
        medium,
        wide_ctx,
        medium_ctx,
        window,
        exclude_window,
        has_context: !r.context.is_empty(),
        has_exclude: !r.exclude.is_empty(),
        redact: redaction(r.redact.as_ref())?,
    })
}

fn only_for(trigger: Trigger, wanted: Trigger, field: &str, present: bool) -> Result<(), String> {
    if present && trigger != wanted {
        let name = format!("{wanted:?}").to_lowercase();
        return Err(format!(
            "field `{field}` only applies to trigger = \"{name}\""
        ));
    }
    Ok(())
}

fn range(field: &str, value: Option<[usize; 2]>, required: bool) -> Result<(usize, usize), String> {
    match value {
        Some([lo, hi]) if lo >= 1 && lo <= hi && hi <= MAX_TOKEN => Ok((lo, hi)),
        Some([lo, hi]) => Err(format!(
            "`{field}` = [{lo}, {hi}] must satisfy 1 <= min <= max <= {MAX_TOKEN}"
        )),
        None if required => Err(format!("this trigger needs `{field}` = [min, max]")),
        None => Ok((0, 0)),
    }
}

fn checks(list: &str, names: &[String]) -> Result<Vec<Check>, String> {
    names
        .iter()
        .map(|n| {
            Validator::parse(n).map_err(|problem| format!("`{list}` validator {n:?}: {problem}"))
        })
        .collect()
}

fn redaction(r: Option<&RawRedact>) -> Result<Redaction, String> {
    let Some(r) = r else {
        return Ok(Redaction::Keep { start: 0, end: 0 });
    };
    match (r.style.as_deref(), r.keep_start, r.keep_end) {
        (Some("email"), None, None) => Ok(Redaction::Email),
        (Some("pem"), None, None) => Ok(Redaction::Pem),
        (Some("email" | "pem"), _, _) => Err("redact: `style` and `keep_*` are exclusive".into()),
        (Some(other), _, _) => Err(format!(
            "redact: unknown style {other:?} (expected email or pem)"
        )),
        (None, s, e) => {
            let (start, end) = (s.unwrap_or(0), e.unwrap_or(0));
            if start > MAX_TOKEN || end > MAX_TOKEN {
                return Err(format!(
                    "redact: keep_start and keep_end must be at most {MAX_TOKEN}"
                ));
            }
            Ok(Redaction::Keep { start, end })
        }
    }
}
