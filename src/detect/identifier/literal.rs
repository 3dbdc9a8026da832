//! Literal triggers: case-sensitive Aho-Corasick searches (Teddy SIMD) for secret
//! prefixes (`AKIA`, `ghp_`, `xoxb-`, `-----BEGIN`, `eyJ`) and for the trigger words of
//! identifiers looked for only near a word (`SWIFT_BIC` near "SWIFT", `AWS_SECRET_KEY` near "aws").

use aho_corasick::{AhoCorasick, MatchKind};

use super::context::is_word;
use super::definition::{Compiled, MAX_TOKEN};
use super::scan::{Candidate, Plan, push_candidate};

/// Longest prefix or trigger word, bytes.
const MAX_LITERAL: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Prefix,
    Trigger,
}

/// The compiled literal searches: prefixes and trigger words apart, because one Teddy searcher
/// over both mixes dissimilar literals into its buckets and runs at a third of the speed of the two.
pub(crate) struct Literals {
    prefixes: Option<Searcher>,
    triggers: Option<Searcher>,
}

struct Searcher {
    ac: AhoCorasick,
    owners: Vec<Vec<u16>>,
}

pub(crate) struct LiteralsBuilder {
    prefixes: Vec<(Vec<u8>, Vec<u16>)>,
    triggers: Vec<(Vec<u8>, Vec<u16>)>,
}

impl Literals {
    pub(crate) fn builder() -> LiteralsBuilder {
        LiteralsBuilder {
            prefixes: Vec::new(),
            triggers: Vec::new(),
        }
    }
}

impl LiteralsBuilder {
    /// A case-sensitive prefix that starts a candidate.
    pub(crate) fn prefix(&mut self, p: &str, def: u16) -> Result<(), String> {
        if p.is_empty() || p.len() > MAX_LITERAL {
            return Err(format!("prefix {p:?} must be 1 to {MAX_LITERAL} bytes"));
        }
        self.add(p.as_bytes().to_vec(), def, Kind::Prefix);
        Ok(())
    }

    /// A trigger word, added as written and in lower and UPPER case; plain lower-case words also
    /// in Title case ("swift", "SWIFT", "Swift"; "SecretAccessKey", "secretaccesskey", ...).
    pub(crate) fn trigger(&mut self, t: &str, def: u16) -> Result<(), String> {
        if t.is_empty() || t.len() > MAX_LITERAL {
            return Err(format!(
                "trigger word {t:?} must be 1 to {MAX_LITERAL} bytes"
            ));
        }
        let lower = t.to_ascii_lowercase().into_bytes();
        if t.bytes().all(|b| b.is_ascii_lowercase()) {
            let mut title = lower.clone();
            title[0] = title[0].to_ascii_uppercase();
            self.add(title, def, Kind::Trigger);
        }
        for w in [
            t.as_bytes().to_vec(),
            t.to_ascii_uppercase().into_bytes(),
            lower,
        ] {
            self.add(w, def, Kind::Trigger);
        }
        Ok(())
    }

    fn add(&mut self, w: Vec<u8>, def: u16, kind: Kind) {
        let list = match kind {
            Kind::Prefix => &mut self.prefixes,
            Kind::Trigger => &mut self.triggers,
        };
        match list.iter_mut().find(|(x, _)| *x == w) {
            Some((_, owners)) if !owners.contains(&def) => owners.push(def),
            Some(_) => {}
            None => list.push((w, vec![def])),
        }
    }

    pub(crate) fn build(self) -> Result<Option<Literals>, String> {
        let searcher = |list: Vec<(Vec<u8>, Vec<u16>)>| -> Result<Option<Searcher>, String> {
            if list.is_empty() {
                return Ok(None);
            }
            let (words, owners): (Vec<Vec<u8>>, Vec<Vec<u16>>) = list.into_iter().unzip();
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&words)
                .map_err(|e| format!("prefixes and trigger words: {e}"))?;
            Ok(Some(Searcher { ac, owners }))
        };
        let prefixes = searcher(self.prefixes)?;
        let triggers = searcher(self.triggers)?;
        if prefixes.is_none() && triggers.is_none() {
            return Ok(None);
        }
        Ok(Some(Literals { prefixes, triggers }))
    }
}

/// Finds prefix- and context-triggered candidates.
pub(crate) fn run(c: &Compiled, plan: &Plan, text: &[u8], out: &mut Vec<Candidate>) {
    let Some(lits) = c.literals.as_ref() else {
        return;
    };
    if !plan.literal {
        return;
    }
    if let Some(p) = &lits.prefixes {
        // Per definition: end of its last hit; hits of one definition do not overlap.
        let mut resume = vec![0usize; c.defs.len()];
        for m in p.ac.find_iter(text) {
            for &def in &p.owners[m.pattern().as_usize()] {
                let r = &mut resume[usize::from(def)];
                if plan.breadth(def).is_some()
                    && m.start() >= *r
                    && let Some(end) = prefix(c, def, text, m.start(), out)
                {
                    *r = end;
                }
            }
        }
    }
    if let Some(t) = &lits.triggers {
        // Per definition: how far context windows have been tokenised already.
        let mut scanned = vec![0usize; c.defs.len()];
        for m in t.ac.find_iter(text) {
            for &def in &t.owners[m.pattern().as_usize()] {
                if plan.breadth(def).is_some() {
                    trigger(
                        c,
                        def,
                        text,
                        m.start(),
                        m.end(),
                        &mut scanned[usize::from(def)],
                        out,
                    );
                }
            }
        }
    }
}

/// Tries one prefix-triggered definition at `p`.
///
/// A prefix that starts with a letter or digit must start a token: the byte before it is neither a
/// word byte nor `-`. Besides fewer false hits, this keeps the work linear: a pattern's token
/// classes (base64url for JWTs) stop at such bytes, so attempts never rescan one another's bytes.
/// (Repeated PEM BEGIN lines without END lines are the exception: each may read up to `max_len`.)
fn prefix(
    c: &Compiled,
    def: u16,
    text: &[u8],
    p: usize,
    out: &mut Vec<Candidate>,
) -> Option<usize> {
    let d = &c.defs[usize::from(def)];
    if p > 0 && is_word(text[p]) && (is_word(text[p - 1]) || text[p - 1] == b'-') {
        return None;
    }
    let limit = (p + d.max_len).min(text.len());
    let m = d.pattern.find(&text[p..limit])?;
    let end = p + m.end();
    if end == p || (end < text.len() && is_word(text[end - 1]) && is_word(text[end])) {
        return None;
    }
    push_candidate(c, def, text, p, end, out).then_some(end)
}

/// Tokenises the window around a trigger word into `charset` runs and tries each of the right
/// length; `scanned` keeps overlapping windows from being read twice.
fn trigger(
    c: &Compiled,
    def: u16,
    text: &[u8],
    s: usize,
    e: usize,
    scanned: &mut usize,
    out: &mut Vec<Candidate>,
) {
    let d = &c.defs[usize::from(def)];
    let n = text.len();
    if (s > 0 && text[s - 1].is_ascii_alphabetic()) || (e < n && text[e].is_ascii_alphabetic()) {
        return;
    }
    let mut ws = s.saturating_sub(d.window).max(*scanned);
    let mut we = (e + d.window).min(n);
    if ws >= we {
        return;
    }
    // Start on a token boundary (a token cut by the previous window's end was read whole then).
    if ws > *scanned {
        let mut steps = 0;
        while ws > 0 && d.charset.contains(text[ws - 1]) && steps <= MAX_TOKEN {
            ws -= 1;
            steps += 1;
        }
    }
    let mut steps = 0;
    while we < n && d.charset.contains(text[we]) && steps <= MAX_TOKEN {
        we += 1;
        steps += 1;
    }
    let mut i = ws;
    while i < we {
        if !d.charset.contains(text[i]) {
            i += 1;
            continue;
        }
        let ts = i;
        while i < n && d.charset.contains(text[i]) {
            i += 1;
        }
        let len = i - ts;
        if len < d.length.0 || len > d.length.1 {
            continue;
        }
        if (ts > 0 && text[ts - 1].is_ascii_alphanumeric())
            || (i < n && text[i].is_ascii_alphanumeric())
        {
            continue;
        }
        if d.pattern.is_match(&text[ts..i]) {
            push_candidate(c, def, text, ts, i, out);
        }
    }
    *scanned = we.max(i);
}
