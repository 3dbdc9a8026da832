//! The DATA receiver: turns the dot-stuffed byte stream after `354` into the message, bounded, in any chunking.
//!
//! Only `<CRLF>.<CRLF>` ends the message, where the CRLF before the dot is a real CRLF (or the start of DATA).
//! A bare LF or bare CR is never a line ending for that purpose: it is either normalised to CRLF or makes the
//! message refused ([`BareLineEndings`]). When Sluice relays the message it dot-stuffs every line again, so
//! `\n.\r\n` in the content can never become an end-of-data for the next hop: SMTP smuggling cannot pass.

use super::BareLineEndings;

/// Why a received message cannot be accepted (decided at end of DATA, after the terminator was read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataError {
    TooBig,
    LineTooLong,
    BareLineEnding,
    /// A NUL byte: not allowed in SMTP text (RFC 5321 4.1.1.4 "text", RFC 5322 2.3; only BINARYMIME,
    /// which Sluice does not offer, could carry one). Refused rather than stripped, so what the next
    /// hop would get is never different from what the client sent.
    Nul,
    /// The listener's budget of message bytes in flight could not cover the message (4xx: the
    /// client keeps it and tries again).
    OverBudget,
    /// The message could not be written to the spool (disk full, I/O error): 4xx as well.
    SpoolFailed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside a line.
    Text,
    /// At the start of a line that follows a real CRLF (or the start of DATA).
    LineStart,
    /// Saw `.` at the start of a line.
    Dot,
    /// Saw `.` `\r` at the start of a line.
    DotCr,
    /// Saw `\r` inside a line.
    Cr,
    Done,
}

/// Feeds on the bytes after `354`; see the module docs for the exact rules.
#[derive(Debug)]
pub struct DataReceiver {
    state: State,
    message: Vec<u8>,
    /// Bytes kept so far, including those taken out with [`DataReceiver::take_kept`].
    kept: usize,
    max_size: usize,
    max_line: usize,
    line_len: usize,
    bare: BareLineEndings,
    error: Option<DataError>,
}

impl DataReceiver {
    pub fn new(max_size: usize, max_line: usize, bare: BareLineEndings) -> DataReceiver {
        DataReceiver {
            state: State::LineStart,
            message: Vec::with_capacity(16 * 1024),
            kept: 0,
            max_size,
            max_line,
            line_len: 0,
            bare,
            error: None,
        }
    }

    /// Consumes bytes; returns how many were used. When [`DataReceiver::is_done`] turns true the rest of
    /// `input` (from the returned offset) belongs to the next command.
    pub fn feed(&mut self, input: &[u8]) -> usize {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Done => return i,
                State::Text => {
                    // Fast path: copy the run up to the next CR or LF.
                    let rest = &input[i..];
                    let run = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
                    self.push(&rest[..run]);
                    i += run;
                    if i < input.len() {
                        let b = input[i];
                        i += 1;
                        if b == b'\r' {
                            self.state = State::Cr;
                        } else {
                            self.bare_ending();
                        }
                    }
                }
                State::LineStart => {
                    if input[i] == b'.' {
                        i += 1;
                        self.state = State::Dot;
                    } else {
                        self.state = State::Text;
                    }
                }
                State::Dot => {
                    if input[i] == b'\r' {
                        i += 1;
                        self.state = State::DotCr;
                    } else {
                        // A stuffed dot: drop it, the line goes on.
                        self.state = State::Text;
                    }
                }
                State::DotCr => {
                    if input[i] == b'\n' {
                        i += 1;
                        self.state = State::Done;
                        return i;
                    }
                    // "." then a bare CR: the dot was stuffing, the CR is bare.
                    self.state = State::Text;
                    self.bare_ending();
                }
                State::Cr => {
                    if input[i] == b'\n' {
                        i += 1;
                        self.push(b"\r\n");
                        self.line_len = 0;
                        self.state = State::LineStart;
                    } else {
                        self.bare_ending();
                    }
                }
            }
        }
        i
    }

    /// A bare CR or LF: never a line start for end-of-data or dot-unstuffing purposes.
    fn bare_ending(&mut self) {
        match self.bare {
            BareLineEndings::Normalize => {
                self.push(b"\r\n");
                self.line_len = 0;
            }
            BareLineEndings::Reject => {
                self.error.get_or_insert(DataError::BareLineEnding);
            }
        }
        self.state = State::Text;
    }

    fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.line_len += bytes.len();
        if self.line_len > self.max_line {
            self.error.get_or_insert(DataError::LineTooLong);
        }
        if memchr::memchr(0, bytes).is_some() {
            self.error.get_or_insert(DataError::Nul);
        }
        if self.kept + bytes.len() > self.max_size {
            self.error.get_or_insert(DataError::TooBig);
        }
        if self.error.is_none() {
            self.message.extend_from_slice(bytes);
            self.kept += bytes.len();
        }
    }

    /// Makes room for `n` more bytes at once (the declared SIZE), so the buffer is not regrown and
    /// copied while the message arrives.
    pub fn expect(&mut self, n: usize) {
        self.message.reserve(n.min(self.max_size));
    }

    /// Stops keeping the message (its memory is freed at once) but goes on consuming it to its end,
    /// which then reports `error`.
    pub fn abandon(&mut self, error: DataError) {
        self.error.get_or_insert(error);
        self.message = Vec::new();
        self.kept = 0;
    }

    /// Whether the message is still being kept (no error so far).
    pub fn is_keeping(&self) -> bool {
        self.error.is_none()
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Bytes kept so far (for progress, the memory budget and tests).
    pub fn len(&self) -> usize {
        self.kept
    }

    pub fn is_empty(&self) -> bool {
        self.kept == 0
    }

    /// Bytes kept and not yet taken out.
    pub fn buffered(&self) -> usize {
        self.message.len()
    }

    /// Takes out the bytes kept so far (the caller stores them elsewhere: the spool); the message
    /// [`DataReceiver::finish`] returns is then only what arrived after.
    pub fn take_kept(&mut self) -> Vec<u8> {
        let capacity = self.message.capacity().min(1 << 20);
        std::mem::replace(&mut self.message, Vec::with_capacity(capacity))
    }

    /// The message (with CRLF line endings, unstuffed), or why it is refused. Call after `is_done`.
    pub fn finish(self) -> Result<Vec<u8>, DataError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.message),
        }
    }
}

/// Dot-stuffs a CRLF message for sending and appends the terminator; the inverse of [`DataReceiver`].
pub fn stuff(message: &[u8], out: &mut Vec<u8>) {
    out.reserve(message.len() + 64);
    let mut s = Stuffer::default();
    s.chunk(message, out);
    s.end(out);
}

/// [`stuff`] a piece at a time, so a large message is sent without a dot-stuffed copy of all of it.
#[derive(Debug)]
pub struct Stuffer {
    at_line_start: bool,
}

impl Default for Stuffer {
    fn default() -> Self {
        Stuffer {
            at_line_start: true,
        }
    }
}

impl Stuffer {
    /// Appends `piece` (the next bytes of the message) dot-stuffed to `out`.
    pub fn chunk(&mut self, piece: &[u8], out: &mut Vec<u8>) {
        self.at_line_start = stuff_piece(piece, self.at_line_start, out);
    }

    /// Appends a missing final CRLF and the terminator.
    pub fn end(self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

/// Returns whether `out` now ends at a line start.
fn stuff_piece(piece: &[u8], mut at_line_start: bool, out: &mut Vec<u8>) -> bool {
    let mut rest = piece;
    while !rest.is_empty() {
        if at_line_start && rest[0] == b'.' {
            out.push(b'.');
        }
        match memchr::memchr(b'\n', rest) {
            Some(pos) => {
                out.extend_from_slice(&rest[..=pos]);
                rest = &rest[pos + 1..];
                at_line_start = true;
            }
            None => {
                out.extend_from_slice(rest);
                rest = &[];
                at_line_start = false;
            }
        }
    }
    at_line_start
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn receive(input: &[u8], bare: BareLineEndings) -> (Result<Vec<u8>, DataError>, usize, bool) {
        let mut r = DataReceiver::new(1 << 20, 1000, bare);
        let used = r.feed(input);
        let done = r.is_done();
        (r.finish(), used, done)
    }

    #[test]
    fn ends_only_at_crlf_dot_crlf_and_unstuffs() {
        let (m, used, done) = receive(
            b"Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n",
            BareLineEndings::Normalize,
        );
        assert!(done);
        assert_eq!(used, 24);
        assert_eq!(m.unwrap(), b"Subject: x\r\n\r\n.dot\r\n");
    }

    #[test]
    fn empty_message_is_just_the_terminator() {
        let (m, used, done) = receive(b".\r\n", BareLineEndings::Normalize);
        assert!(done);
        assert_eq!(used, 3);
        assert!(m.unwrap().is_empty());
    }

    #[test]
    fn smuggling_sequences_do_not_end_data() {
        for seq in [
            &b"a\n.\r\nMAIL FROM:<x>\r\n"[..],
            b"a\r\n.\nMAIL FROM:<x>\r\n",
            b"a\r.\r\nMAIL FROM:<x>\r\n",
            b"a\n.\nMAIL FROM:<x>\r\n",
            b"a\r\n.\rMAIL\r\n",
        ] {
            let mut r = DataReceiver::new(1 << 20, 1000, BareLineEndings::Normalize);
            r.feed(seq);
            assert!(
                !r.is_done(),
                "ended early on {:?}",
                String::from_utf8_lossy(seq)
            );
            r.feed(b"\r\n.\r\n");
            assert!(r.is_done());
            let msg = r.finish().unwrap();
            // Whatever survives, re-stuffing it never yields an early terminator.
            let mut wire = Vec::new();
            stuff(&msg, &mut wire);
            let mut again = DataReceiver::new(1 << 20, 1000, BareLineEndings::Reject);
            assert_eq!(again.feed(&wire), wire.len());
            assert!(again.is_done());
            assert_eq!(again.finish().unwrap(), msg);
        }
    }

    #[test]
    fn bare_lf_is_normalised_or_rejected() {
        let (m, _, _) = receive(b"a\nb\rc\r\n.\r\n", BareLineEndings::Normalize);
        assert_eq!(m.unwrap(), b"a\r\nb\r\nc\r\n");
        let (m, _, done) = receive(b"a\nb\r\n.\r\n", BareLineEndings::Reject);
        assert!(done);
        assert_eq!(m.unwrap_err(), DataError::BareLineEnding);
    }

    #[test]
    fn size_and_line_limits_are_enforced_but_data_is_still_consumed() {
        let mut r = DataReceiver::new(10, 1000, BareLineEndings::Normalize);
        r.feed(b"0123456789abcdef\r\n");
        r.feed(b".\r\n");
        assert!(r.is_done());
        assert_eq!(r.finish().unwrap_err(), DataError::TooBig);
        let mut r = DataReceiver::new(1 << 20, 1000, BareLineEndings::Normalize);
        r.feed(&[b'x'; 1100]);
        r.feed(b"\r\n.\r\n");
        assert!(r.is_done());
        assert_eq!(r.finish().unwrap_err(), DataError::LineTooLong);
    }

    #[test]
    fn nul_bytes_refuse_the_message() {
        for input in [&b"a\0b\r\n.\r\n"[..], b"\0.\r\n.\r\n", b"x\r\n\0\r\n.\r\n"] {
            let (m, used, done) = receive(input, BareLineEndings::Normalize);
            assert!(done);
            assert_eq!(used, input.len());
            assert_eq!(m.unwrap_err(), DataError::Nul);
        }
    }

    #[test]
    fn stuffing_in_pieces_matches_stuffing_at_once() {
        let msg = b".a\r\n.\r\nb.\r\n..c\r\nd";
        let mut whole = Vec::new();
        stuff(msg, &mut whole);
        for cut in 0..msg.len() {
            let mut out = Vec::new();
            let mut s = Stuffer::default();
            s.chunk(&msg[..cut], &mut out);
            s.chunk(&msg[cut..], &mut out);
            s.end(&mut out);
            assert_eq!(out, whole, "cut at {cut}");
        }
    }

    #[test]
    fn abandoning_frees_the_message_and_reports_at_the_end() {
        let mut r = DataReceiver::new(1 << 20, 1000, BareLineEndings::Normalize);
        r.expect(1 << 16);
        r.feed(b"Subject: x\r\n\r\nbody\r\n");
        assert!(r.is_keeping());
        r.abandon(DataError::OverBudget);
        assert!(r.is_empty() && !r.is_keeping());
        r.feed(b"more\r\n.\r\n");
        assert!(r.is_done());
        assert_eq!(r.finish().unwrap_err(), DataError::OverBudget);
    }

    #[test]
    fn taking_kept_bytes_out_keeps_counting_them_against_the_size_limit() {
        let mut r = DataReceiver::new(20, 1000, BareLineEndings::Normalize);
        r.feed(b"0123456789\r\n");
        assert_eq!(r.take_kept(), b"0123456789\r\n");
        assert_eq!((r.len(), r.buffered()), (12, 0));
        r.feed(b"abc\r\n");
        assert_eq!(r.buffered(), 5);
        r.feed(b"toolong\r\n.\r\n");
        assert_eq!(r.finish().unwrap_err(), DataError::TooBig);
    }

    #[test]
    fn stuffing_adds_missing_final_crlf() {
        let mut out = Vec::new();
        stuff(b".a\r\nb", &mut out);
        assert_eq!(out, b"..a\r\nb\r\n.\r\n");
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_result(body in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a')], 0..200), cuts in proptest::collection::vec(0usize..250, 0..8)) {
            let mut input = body.clone();
            input.extend_from_slice(b"\r\n.\r\nNEXT");
            let (whole, used, done) = receive(&input, BareLineEndings::Normalize);
            prop_assert!(done);
            let mut r = DataReceiver::new(1 << 20, 1000, BareLineEndings::Normalize);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort();
            let mut pos = 0;
            for c in cuts.into_iter().chain([input.len()]) {
                if c < pos || r.is_done() { continue; }
                pos += r.feed(&input[pos..c]);
            }
            prop_assert!(r.is_done());
            prop_assert_eq!(pos, used);
            prop_assert_eq!(r.finish(), whole);
        }

        #[test]
        fn stuff_then_receive_round_trips(lines in proptest::collection::vec("[.a-z ]{0,12}", 0..20)) {
            let mut msg = Vec::new();
            for l in &lines { msg.extend_from_slice(l.as_bytes()); msg.extend_from_slice(b"\r\n"); }
            let mut wire = Vec::new();
            stuff(&msg, &mut wire);
            let (got, used, done) = receive(&wire, BareLineEndings::Reject);
            prop_assert!(done);
            prop_assert_eq!(used, wire.len());
            prop_assert_eq!(got.unwrap(), msg);
        }
    }
}
