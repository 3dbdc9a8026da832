//! The single byte pass: finds digits, `@` and `:` eight bytes at a time (SWAR), grows each into a
//! small candidate (number span, letter-prefixed token, email address, IPv6 token) and runs the
//! definitions' anchored patterns and cheap validators on those few bytes only.
//!
//! Word boundaries are ASCII: a candidate glued to a letter, digit or `_` (or joined to one by
//! `-`, `.`, `/`) is part of a bigger token (hash, UUID, version string, reference) and is skipped
//! whole. Bytes >= 0x80 count as boundaries.

use super::Breadth;
use super::context::is_word;
use super::definition::{
    Compiled, SEP_DASH, SEP_DOT, SEP_PAREN, SEP_PLUS, SEP_SLASH, SEP_SPACE, Trigger,
};
use super::validate;

/// Longest number span, bytes (a 19-digit card with separators is 23; a long phone number ~22).
const MAX_SPAN: usize = 64;
/// Most space- or slash-separated groups in one number span.
const MAX_CHUNKS: usize = 12;
/// Most extra space-joined groups beside a multi-group number candidate, each side.
const MAX_FLANK: usize = 1;
/// Most space-separated groups in a letter-prefixed token (an IBAN has at most 9).
const MAX_ALNUM_CHUNKS: usize = 10;
/// Longest letter-prefixed token, letters and digits (the longest IBAN).
const MAX_ALNUM: usize = 34;
/// Longest email local part and domain (RFC 5321).
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
/// Longest IPv6 token, bytes (`ffff:...:255.255.255.255` is 45).
const MAX_IPV6: usize = 45;

/// A candidate that passed its pattern and the context-free wide validators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub def: u16,
    pub start: usize,
    pub end: usize,
    /// Whether the context-free medium validators passed too.
    pub medium: bool,
}

/// Which definitions one scan call uses, at which breadth, grouped by trigger.
pub(crate) struct Plan {
    breadth: Vec<Option<Breadth>>,
    number: Vec<u16>,
    alnum: Vec<u16>,
    email: Vec<u16>,
    ipv6: Vec<u16>,
    pub literal: bool,
    min_number_digits: usize,
    max_number_digits: usize,
}

impl Plan {
    pub(crate) fn new(c: &Compiled, select: Option<&[(String, Breadth)]>) -> Plan {
        let breadth: Vec<Option<Breadth>> = c
            .defs
            .iter()
            .map(|d| match select {
                None => Some(d.breadth),
                Some(sel) => sel.iter().find(|(n, _)| *n == d.name).map(|&(_, b)| b),
            })
            .collect();
        let mut plan = Plan {
            breadth,
            number: Vec::new(),
            alnum: Vec::new(),
            email: Vec::new(),
            ipv6: Vec::new(),
            literal: false,
            min_number_digits: usize::MAX,
            max_number_digits: 0,
        };
        for (i, d) in c.defs.iter().enumerate() {
            // Definition indices fit in u16 (checked at compile).
            let Ok(idx) = u16::try_from(i) else { continue };
            if plan.breadth[i].is_none() {
                continue;
            }
            match d.trigger {
                Trigger::Number => {
                    plan.number.push(idx);
                    plan.min_number_digits = plan.min_number_digits.min(d.digits.0);
                    plan.max_number_digits = plan.max_number_digits.max(d.digits.1);
                }
                Trigger::Alnum => plan.alnum.push(idx),
                Trigger::Email => plan.email.push(idx),
                Trigger::Ipv6 => plan.ipv6.push(idx),
                Trigger::Prefix | Trigger::Context => plan.literal = true,
            }
        }
        plan
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.breadth.iter().all(Option::is_none)
    }

    pub(crate) fn breadth(&self, def: u16) -> Option<Breadth> {
        self.breadth.get(usize::from(def)).copied().flatten()
    }
}

/// Records a candidate if the context-free wide validators pass; says whether it did.
pub(crate) fn push_candidate(
    c: &Compiled,
    def: u16,
    text: &[u8],
    start: usize,
    end: usize,
    out: &mut Vec<Candidate>,
) -> bool {
    let d = &c.defs[usize::from(def)];
    let v = &text[start..end];
    if !d.wide.iter().all(|k| validate::check(k, v, None)) {
        return false;
    }
    let medium = d.medium.iter().all(|k| validate::check(k, v, None));
    out.push(Candidate {
        def,
        start,
        end,
        medium,
    });
    true
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `w` that is in 0x30..=0x40 (digits, `:;<=>?@`). No carries cross
/// bytes: the low seven bits plus 0x50 or 0x3f stay below 0x100.
#[inline]
fn marks(w: u64) -> u64 {
    let t = w & !HIGH;
    let ge_30 = t.wrapping_add(ONES * 0x50);
    let ge_41 = t.wrapping_add(ONES * 0x3f);
    ge_30 & !ge_41 & !w & HIGH
}

#[inline]
fn load(t: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&t[i..i + 8]);
    u64::from_le_bytes(a)
}

/// The next byte at or after `from` in 0x30..=0x40.
#[inline]
fn next_mark(t: &[u8], from: usize) -> Option<usize> {
    let n = t.len();
    let mut i = from;
    while i + 16 <= n {
        let m = marks(load(t, i));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        let m = marks(load(t, i + 8));
        if m != 0 {
            return Some(i + 8 + (m.trailing_zeros() / 8) as usize);
        }
        i += 16;
    }
    while i < n {
        if (0x30..=0x40).contains(&t[i]) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Runs the byte pass for every active number, alnum, email and IPv6 definition.
pub(crate) fn run(c: &Compiled, plan: &Plan, text: &[u8], out: &mut Vec<Candidate>) {
    let digits = !plan.number.is_empty() || !plan.alnum.is_empty();
    let at = !plan.email.is_empty();
    let colon = !plan.ipv6.is_empty();
    if !(digits || at || colon) {
        return;
    }
    let mut s = Scanner {
        c,
        plan,
        t: text,
        out,
        covered: vec![0; plan.number.len()],
    };
    let mut i = 0;
    while let Some(j) = next_mark(text, i) {
        // Every handler returns a position after `j`, so the loop ends.
        i = match text[j] {
            b'0'..=b'9' if digits => s.digit(j),
            b'@' if at => s.at(j),
            b':' if colon => s.colon(j),
            _ => j + 1,
        };
    }
}

struct Scanner<'a> {
    c: &'a Compiled,
    plan: &'a Plan,
    t: &'a [u8],
    out: &'a mut Vec<Candidate>,
    /// Per active number definition: end of its last candidate in the current span.
    covered: Vec<usize>,
}

/// One space- or slash-separated group of a number span.
#[derive(Clone, Copy, Default)]
struct Chunk {
    start: usize,
    end: usize,
    digits: usize,
    /// Separators inside the group, and the break before it.
    seps: u8,
    /// Index of the first group of the space-joined run this group belongs to.
    run: usize,
}

/// Skips a word and anything joined to it by `-`, `.` or `/` (UUIDs, hashes, versions, refs).
fn skip_word(t: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < t.len() {
        if is_word(t[i])
            || (matches!(t[i], b'-' | b'.' | b'/') && i + 1 < t.len() && is_word(t[i + 1]))
        {
            i += 1;
        } else {
            break;
        }
    }
    i.max(from + 1)
}

/// Two capitals at `p`, `p + 1` that start a word.
fn upper_pair(t: &[u8], p: usize) -> bool {
    t[p].is_ascii_uppercase() && t[p + 1].is_ascii_uppercase() && (p == 0 || !is_word(t[p - 1]))
}

impl Scanner<'_> {
    fn digit(&mut self, j: usize) -> usize {
        let t = self.t;
        let prev = if j > 0 { t[j - 1] } else { b' ' };
        let alnum = !self.plan.alnum.is_empty();
        if is_word(prev) {
            if alnum
                && j >= 2
                && upper_pair(t, j - 2)
                && let Some(end) = self.alnum(j - 2)
            {
                return end;
            }
            return skip_word(t, j);
        }
        if matches!(prev, b'-' | b'.' | b'/') && j >= 2 && is_word(t[j - 2]) {
            return skip_word(t, j);
        }
        if prev == b' '
            && alnum
            && j >= 3
            && upper_pair(t, j - 3)
            && let Some(end) = self.alnum(j - 3)
        {
            return end;
        }
        self.number(j)
    }

    /// Grows a number span from the digit at `j` and tries every number definition on its groups.
    fn number(&mut self, j: usize) -> usize {
        let t = self.t;
        let n = t.len();
        let mut chunks = [Chunk::default(); MAX_CHUNKS];
        let mut count = 1;
        let mut start = j;
        let mut lead = 0;
        if j >= 1 && t[j - 1] == b'(' {
            start -= 1;
            lead |= SEP_PAREN;
        }
        if start >= 1 && t[start - 1] == b'+' && (start < 2 || !is_word(t[start - 2])) {
            start -= 1;
            lead |= SEP_PLUS;
        }
        chunks[0] = Chunk {
            start,
            end: start,
            digits: 0,
            seps: lead,
            run: 0,
        };
        let mut i = j;
        let mut total = 0;
        loop {
            let run = i;
            while i < n && t[i].is_ascii_digit() {
                i += 1;
            }
            chunks[count - 1].digits += i - run;
            total += i - run;
            if i >= n || i - start > MAX_SPAN {
                break;
            }
            // A separator: optional ')', optional one of " -./", optional '(' ; then a digit.
            let mut k = i;
            let mut seps = 0;
            let mut brk = None;
            if t[k] == b')' {
                k += 1;
                seps |= SEP_PAREN;
            }
            if k < n {
                let bit = match t[k] {
                    b' ' => SEP_SPACE,
                    b'/' => SEP_SLASH,
                    b'-' => SEP_DASH,
                    b'.' => SEP_DOT,
                    _ => 0,
                };
                if bit != 0 {
                    if bit & (SEP_SPACE | SEP_SLASH) != 0 {
                        brk = Some(k);
                    }
                    seps |= bit;
                    k += 1;
                }
            }
            if k < n && t[k] == b'(' {
                k += 1;
                seps |= SEP_PAREN;
            }
            if k == i || k >= n || !t[k].is_ascii_digit() {
                break;
            }
            match brk {
                Some(b) if count < MAX_CHUNKS => {
                    chunks[count - 1].end = b;
                    chunks[count - 1].seps |= seps;
                    let run = if seps & SEP_SPACE != 0 {
                        chunks[count - 1].run
                    } else {
                        count
                    };
                    chunks[count] = Chunk {
                        start: b + 1,
                        end: b + 1,
                        digits: 0,
                        seps,
                        run,
                    };
                    count += 1;
                }
                Some(_) => break,
                None => chunks[count - 1].seps |= seps,
            }
            i = k;
        }
        let end = i;
        chunks[count - 1].end = end;
        let glued = end < n
            && (is_word(t[end])
                || (matches!(t[end], b'-' | b'.' | b'/') && end + 1 < n && is_word(t[end + 1])));
        if glued {
            return skip_word(t, end);
        }
        if total < self.plan.min_number_digits {
            return end.max(j + 1);
        }
        self.try_numbers(&chunks[..count]);
        end.max(j + 1)
    }

    /// Tries every run of whole groups, longest first from each start, against each definition.
    ///
    /// A candidate of several space-joined groups may have at most `MAX_FLANK` more groups of the
    /// same run on each side: "card 4111 1111 1111 1111 exp" is a card, a row of a number table
    /// ("12 536 22 8741 7 95 ...") is not an SSN. This also keeps tables cheap to scan.
    fn try_numbers(&mut self, chunks: &[Chunk]) {
        self.covered.iter_mut().for_each(|c| *c = 0);
        let mut run_last = [0usize; MAX_CHUNKS];
        for i in (0..chunks.len()).rev() {
            let same_run = i + 1 < chunks.len() && chunks[i + 1].run == chunks[i].run;
            run_last[i] = if same_run { run_last[i + 1] } else { i };
        }
        let (lo, hi) = (self.plan.min_number_digits, self.plan.max_number_digits);
        for a in 0..chunks.len() {
            let s = chunks[a].start;
            let left_ok = a - chunks[a].run <= MAX_FLANK;
            // Digits and separators of a..=b, for every b up to where the digits exceed any range.
            let mut acc = [(0usize, 0u8); MAX_CHUNKS];
            let mut last = a;
            let (mut digits, mut seps) = (0, 0);
            for (b, c) in chunks.iter().enumerate().skip(a) {
                digits += c.digits;
                seps |= c.seps;
                if digits > hi || (b > a && !left_ok) {
                    break;
                }
                acc[b] = (digits, seps);
                last = b;
            }
            for b in (a..=last).rev() {
                let (digits, seps) = acc[b];
                if digits < lo {
                    break;
                }
                if b > a && run_last[b] - b > MAX_FLANK {
                    continue;
                }
                let e = chunks[b].end;
                for (slot, &def) in self.plan.number.iter().enumerate() {
                    let d = &self.c.defs[usize::from(def)];
                    if self.covered[slot] > s || digits < d.digits.0 || digits > d.digits.1 {
                        continue;
                    }
                    if d.requires & seps != d.requires || !d.pattern.is_match(&self.t[s..e]) {
                        continue;
                    }
                    if push_candidate(self.c, def, self.t, s, e, self.out) {
                        self.covered[slot] = e;
                    }
                }
            }
        }
    }

    /// A token starting with two capitals at `p`: space-separated groups of capitals and digits
    /// (IBAN, UK NINO). Returns the end of the longest token that has the shape of one (pattern
    /// and length), valid or not: the digit groups of an IBAN with a wrong check digit are part
    /// of that token, not a card or phone number of their own.
    fn alnum(&mut self, p: usize) -> Option<usize> {
        let t = self.t;
        let n = t.len();
        let mut ends = [0usize; MAX_ALNUM_CHUNKS];
        let mut lens = [0usize; MAX_ALNUM_CHUNKS];
        let mut count = 0;
        let mut total = 0;
        let mut i = p;
        let upper_digit = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
        loop {
            let cs = i;
            while i < n && upper_digit(t[i]) {
                i += 1;
            }
            if i == cs || (i < n && is_word(t[i])) || total + (i - cs) > MAX_ALNUM {
                break;
            }
            total += i - cs;
            ends[count] = i;
            lens[count] = total;
            count += 1;
            if count == MAX_ALNUM_CHUNKS || !(i + 1 < n && t[i] == b' ' && upper_digit(t[i + 1])) {
                break;
            }
            i += 1;
        }
        let mut shaped = None;
        for &def in &self.plan.alnum {
            let d = &self.c.defs[usize::from(def)];
            for k in (0..count).rev() {
                if lens[k] < d.length.0
                    || lens[k] > d.length.1
                    || !d.pattern.is_match(&t[p..ends[k]])
                {
                    continue;
                }
                shaped = shaped.max(Some(ends[k]));
                if push_candidate(self.c, def, t, p, ends[k], self.out) {
                    break;
                }
            }
        }
        shaped
    }

    /// An `@`: the local part behind it, the domain after it.
    fn at(&mut self, j: usize) -> usize {
        let t = self.t;
        let n = t.len();
        let local =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
        let domain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-');
        let mut k = j;
        while k > 0 && j - k < MAX_LOCAL && local(t[k - 1]) {
            k -= 1;
        }
        if k > 0 && local(t[k - 1]) {
            return j + 1;
        }
        while k < j && t[k] == b'.' {
            k += 1;
        }
        let mut e = j + 1;
        while e < n && e - j <= MAX_DOMAIN && domain(t[e]) {
            e += 1;
        }
        while e > j + 1 && matches!(t[e - 1], b'.' | b'-') {
            e -= 1;
        }
        if k == j || e <= j + 1 || (e < n && matches!(t[e], b'@' | b'_')) {
            return e.max(j + 1);
        }
        for &def in &self.plan.email {
            if self.c.defs[usize::from(def)].pattern.is_match(&t[k..e]) {
                push_candidate(self.c, def, t, k, e, self.out);
            }
        }
        e
    }

    /// A `:`: the run of hex digits, colons and dots around it, if it is not glued to a word.
    fn colon(&mut self, j: usize) -> usize {
        let t = self.t;
        let n = t.len();
        let v6 = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
        let near = |b: u8| b.is_ascii_hexdigit() || b == b':';
        let touches = (j > 0 && near(t[j - 1])) || (j + 1 < n && near(t[j + 1]));
        if !touches {
            return j + 1;
        }
        let mut k = j;
        while k > 0 && j - k < MAX_IPV6 && v6(t[k - 1]) {
            k -= 1;
        }
        let mut e = j + 1;
        while e < n && e - k < MAX_IPV6 && v6(t[e]) {
            e += 1;
        }
        let after = e;
        // Glued to a word, or longer than any address (the run went on past the limit).
        let glued = (k > 0 && (is_word(t[k - 1]) || v6(t[k - 1])))
            || (after < n && (is_word(t[after]) || v6(t[after])));
        while e > j + 1 && t[e - 1] == b'.' {
            e -= 1;
        }
        while k < j && t[k] == b'.' {
            k += 1;
        }
        let colons = t[k..e].iter().filter(|&&b| b == b':').count();
        if glued || colons < 2 {
            return after.max(j + 1);
        }
        for &def in &self.plan.ipv6 {
            if self.c.defs[usize::from(def)].pattern.is_match(&t[k..e]) {
                push_candidate(self.c, def, t, k, e, self.out);
            }
        }
        after.max(j + 1)
    }
}
