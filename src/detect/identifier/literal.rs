//! Literal triggers: one case-sensitive Aho-Corasick search (Teddy SIMD prefilter) for secret
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

/// The compiled literal search.
pub(crate) struct Literals {
    ac: AhoCorasick,
    owners: Vec<Vec<(u16, Kind)>>,
}

pub(crate) struct LiteralsBuilder {
    words: Vec<Vec<u8>>,
    owners: Vec<Vec<(u16, Kind)>>,
}

impl Literals {
    pub(crate) fn builder() -> LiteralsBuilder {
        LiteralsBuilder {
            words: Vec::new(),
            owners: Vec::new(),
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
        match self.words.iter().position(|x| *x == w) {
            Some(i) if !self.owners[i].contains(&(def, kind)) => self.owners[i].push((def, kind)),
            Some(_) => {}
            None => {
                self.words.push(w);
                self.owners.push(vec![(def, kind)]);
            }
        }
    }

    pub(crate) fn build(self) -> Result<Option<Literals>, String> {
        if self.words.is_empty() {
            return Ok(None);
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&self.words)
            .map_err(|e| format!("prefixes and trigger words: {e}"))?;
        Ok(Some(Literals {
            ac,
            owners: self.owners,
        }))
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
    // Per definition: how far context windows have been tokenised already.
    let mut scanned = vec![0usize; c.defs.len()];
    for m in lits.ac.find_iter(text) {
        for &(def, kind) in &lits.owners[m.pattern().as_usize()] {
            if plan.breadth(def).is_none() {
                continue;
            }
            match kind {
                Kind::Prefix => prefix(c, def, text, m.start(), out),
                Kind::Trigger => trigger(
                    c,
                    def,
                    text,
                    m.start(),
                    m.end(),
                    &mut scanned[usize::from(def)],
                    out,
                ),
            }
        }
    }
}

fn prefix(c: &Compiled, def: u16, text: &[u8], p: usize, out: &mut Vec<Candidate>) {
    let d = &c.defs[usize::from(def)];
    if p > 0 && is_word(text[p]) && is_word(text[p - 1]) {
        return;
    }
    let limit = (p + d.max_len).min(text.len());
    let Some(m) = d.pattern.find(&text[p..limit]) else {
        return;
    };
    let end = p + m.end();
    if end == p || (end < text.len() && is_word(text[end - 1]) && is_word(text[end])) {
        return;
    }
    push_candidate(c, def, text, p, end, out);
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
