//! Command lines: framing of the byte stream into bounded lines, and parsing a line into a closed [`Command`].
//!
//! The grammar is smtp-proto's (Stalwart's RFC 5321 parser); this module maps its result onto Sluice's
//! own types so nothing else depends on the crate's representation.

use smtp_proto::{Error as ProtoError, Request};

use super::reply::Reply;
use crate::message::{Body, MailParams, Notify, Recipient, Ret};

/// Splits the incoming byte stream into CRLF- (or LF-) terminated command lines of bounded length.
#[derive(Debug, Default)]
pub struct LineReader {
    buf: Vec<u8>,
    start: usize,
    /// Set while the rest of an over-long line is being thrown away.
    discarding: bool,
}

/// One framed line: the bytes without the line ending, or the fact that it was too long.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(Vec<u8>),
    TooLong,
}

impl LineReader {
    pub fn new() -> LineReader {
        LineReader::default()
    }

    pub fn extend(&mut self, data: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete line, if one is buffered. `max` includes the line ending.
    pub fn next_line(&mut self, max: usize) -> Option<Line> {
        loop {
            let pending = &self.buf[self.start..];
            match memchr::memchr(b'\n', pending) {
                Some(pos) => {
                    let line_len = pos + 1;
                    let raw = &pending[..pos];
                    let text = raw.strip_suffix(b"\r").unwrap_or(raw);
                    let result = if self.discarding || line_len > max {
                        Line::TooLong
                    } else {
                        Line::Text(text.to_vec())
                    };
                    self.discarding = false;
                    self.start += line_len;
                    self.compact();
                    return Some(result);
                }
                None => {
                    if pending.len() >= max {
                        // Keep memory bounded: drop what we have and remember to drop up to the next LF.
                        self.discarding = true;
                        self.start = self.buf.len();
                        self.compact();
                        continue;
                    }
                    return None;
                }
            }
        }
    }

    fn compact(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Whether nothing is buffered (used to decide when to flush pipelined replies).
    pub fn is_empty(&self) -> bool {
        self.start == self.buf.len()
    }

    /// Removes and returns whatever is buffered (the start of DATA content, or plaintext sent after
    /// STARTTLS, which must be thrown away: CVE-2011-0411).
    pub fn take_rest(&mut self) -> Vec<u8> {
        let rest = self.buf[self.start..].to_vec();
        self.buf.clear();
        self.start = 0;
        self.discarding = false;
        rest
    }
}

/// An SMTP command, closed over what Sluice understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    Mail {
        sender: String,
        params: MailParams,
    },
    Rcpt(Recipient),
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
    StartTls,
    /// A known RFC command Sluice does not offer (AUTH, BDAT, EXPN, ETRN...).
    NotImplemented(&'static str),
}

impl Command {
    /// Parses one line (without its line ending).
    pub fn parse(line: &[u8]) -> Result<Command, Reply> {
        // ENVID and ORCPT are xtext that must reach the next hop unchanged (RFC 3461 section 4), with
        // any address type (utf-8 per RFC 6533): they are taken out raw before the grammar sees the line.
        let (line, raw) = take_raw_params(line)?;
        let dsn = raw.dsn;
        let mut framed = Vec::with_capacity(line.len() + 2);
        framed.extend_from_slice(&line);
        framed.extend_from_slice(b"\r\n");
        let request = Request::parse(&mut framed.iter()).map_err(map_error)?;
        Ok(match request {
            Request::Ehlo { host } => Command::Ehlo(host.into_owned()),
            Request::Helo { host } => Command::Helo(host.into_owned()),
            Request::Mail { from } => {
                let body = if from.flags & smtp_proto::MAIL_BODY_8BITMIME != 0 {
                    Body::EightBitMime
                } else if from.flags & smtp_proto::MAIL_BODY_7BIT != 0 {
                    Body::SevenBit
                } else if from.flags & smtp_proto::MAIL_BODY_BINARYMIME != 0 {
                    return Err(Reply::bad_parameter("BODY=BINARYMIME"));
                } else {
                    Body::Unspecified
                };
                let ret = if from.flags & smtp_proto::MAIL_RET_FULL != 0 {
                    Some(Ret::Full)
                } else if from.flags & smtp_proto::MAIL_RET_HDRS != 0 {
                    Some(Ret::Headers)
                } else {
                    None
                };
                let unsupported = smtp_proto::MAIL_REQUIRETLS | smtp_proto::MAIL_CONPERM;
                if from.flags & unsupported != 0
                    || from.auth.is_some()
                    || from.by != 0
                    || from.hold_for != 0
                    || from.hold_until != 0
                    || from.mtrk.is_some()
                {
                    return Err(Reply::bad_parameter("in MAIL FROM"));
                }
                let params = MailParams {
                    size: raw.size.filter(|&s| s > 0),
                    body,
                    smtputf8: from.flags & smtp_proto::MAIL_SMTPUTF8 != 0,
                    ret,
                    envid: dsn,
                };
                Command::Mail {
                    sender: from.address.into_owned(),
                    params,
                }
            }
            Request::Rcpt { to } => {
                if to.flags
                    & (smtp_proto::RCPT_CONNEG
                        | smtp_proto::RCPT_RRVS_REJECT
                        | smtp_proto::RCPT_RRVS_CONTINUE)
                    != 0
                {
                    return Err(Reply::bad_parameter("in RCPT TO"));
                }
                let notify = Notify {
                    success: to.flags & smtp_proto::RCPT_NOTIFY_SUCCESS != 0,
                    failure: to.flags & smtp_proto::RCPT_NOTIFY_FAILURE != 0,
                    delay: to.flags & smtp_proto::RCPT_NOTIFY_DELAY != 0,
                    never: to.flags & smtp_proto::RCPT_NOTIFY_NEVER != 0,
                };
                Command::Rcpt(Recipient {
                    address: to.address.into_owned(),
                    notify,
                    orcpt: dsn,
                })
            }
            Request::Data => Command::Data,
            Request::Rset => Command::Rset,
            Request::Noop { .. } => Command::Noop,
            Request::Quit => Command::Quit,
            Request::Vrfy { .. } => Command::Vrfy,
            Request::Help { .. } => Command::Help,
            Request::StartTls => Command::StartTls,
            Request::Lhlo { .. } => Command::NotImplemented("LHLO"),
            Request::Auth { .. } => Command::NotImplemented("AUTH"),
            Request::Bdat { .. } => Command::NotImplemented("BDAT"),
            Request::Expn { .. } => Command::NotImplemented("EXPN"),
            Request::Etrn { .. } => Command::NotImplemented("ETRN"),
            Request::Atrn { .. } => Command::NotImplemented("ATRN"),
            Request::Burl { .. } => Command::NotImplemented("BURL"),
        })
    }
}

/// Parameters taken out of the line before the grammar sees it: ENVID / ORCPT raw (they must reach
/// the next hop unchanged, RFC 3461 section 4) and SIZE (smtp-proto's size parser wraps around past
/// 20 digits).
#[derive(Debug, Default)]
struct RawParams {
    /// `ENVID=` of MAIL or `ORCPT=` of RCPT, validated but not decoded.
    dsn: Option<String>,
    /// `SIZE=` of MAIL, saturated at `usize::MAX` (then always over the limit).
    size: Option<usize>,
}

/// Most digits RFC 1870 allows in `SIZE=` (`size-value ::= 1*20DIGIT`).
const MAX_SIZE_DIGITS: usize = 20;

/// For MAIL, removes `ENVID=` and `SIZE=`; for RCPT, `ORCPT=`; returns the line without them and
/// their values. A malformed value is `501 5.5.4`, as Postfix answers.
fn take_raw_params(line: &[u8]) -> Result<(std::borrow::Cow<'_, [u8]>, RawParams), Reply> {
    let verb = line.get(..4).map(|v| v.to_ascii_uppercase());
    let mail = match verb.as_deref() {
        Some(b"MAIL") => true,
        Some(b"RCPT") => false,
        _ => return Ok((std::borrow::Cow::Borrowed(line), RawParams::default())),
    };
    let Some(close) = memchr::memchr(b'>', line) else {
        return Ok((std::borrow::Cow::Borrowed(line), RawParams::default()));
    };
    let (path, params) = line.split_at(close + 1);
    let mut kept = path.to_vec();
    let mut raw = RawParams::default();
    for token in params.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
        let Some((name, value)) = token
            .iter()
            .position(|&b| b == b'=')
            .map(|p| (token[..p].to_ascii_uppercase(), &token[p + 1..]))
        else {
            kept.push(b' ');
            kept.extend_from_slice(token);
            continue;
        };
        match (mail, name.as_slice()) {
            (true, b"ENVID") => {
                if raw.dsn.is_some() || !valid_envid(value) {
                    return Err(Reply::syntax_error("bad ENVID parameter"));
                }
                raw.dsn = Some(String::from_utf8_lossy(value).into_owned());
            }
            (false, b"ORCPT") => {
                if raw.dsn.is_some() || !valid_orcpt(value) {
                    return Err(Reply::syntax_error("bad ORCPT parameter"));
                }
                raw.dsn = Some(String::from_utf8_lossy(value).into_owned());
            }
            (true, b"SIZE") => {
                if raw.size.is_some()
                    || value.is_empty()
                    || value.len() > MAX_SIZE_DIGITS
                    || !value.iter().all(u8::is_ascii_digit)
                {
                    return Err(Reply::syntax_error("bad SIZE parameter"));
                }
                // At most 20 digits: fits a u128; anything past usize is over every limit.
                let n: u128 = value.iter().fold(0, |n, d| n * 10 + u128::from(d - b'0'));
                raw.size = Some(usize::try_from(n).unwrap_or(usize::MAX));
            }
            _ => {
                kept.push(b' ');
                kept.extend_from_slice(token);
            }
        }
    }
    Ok((std::borrow::Cow::Owned(kept), raw))
}

/// RFC 3461 section 4 `xtext`: `xchar` (`!`..`~` except `+` and `=`) or `+` and two upper-case hex
/// digits. Not empty, at most 100 characters before decoding (ENVID's limit).
fn valid_xtext(v: &[u8]) -> bool {
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'+' => {
                let hex =
                    |b: Option<&u8>| b.is_some_and(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'));
                if !(hex(v.get(i + 1)) && hex(v.get(i + 2))) {
                    return false;
                }
                i += 3;
            }
            b'=' => return false,
            33..=126 => i += 1,
            _ => return false,
        }
    }
    !v.is_empty()
}

fn valid_envid(v: &[u8]) -> bool {
    v.len() <= 500 && valid_xtext(v)
}

/// `ORCPT=addr-type;value`: an atom, then xtext, or for the `utf-8` type (RFC 6533 section 3)
/// `utf-8-addr-xtext` / `-unitext`: QCHARs (printable ASCII but `+`, `=`, `\`), `\x{HEX}` escapes
/// and UTF-8.
fn valid_orcpt(v: &[u8]) -> bool {
    let Some(semi) = memchr::memchr(b';', v) else {
        return false;
    };
    let (kind, addr) = (&v[..semi], &v[semi + 1..]);
    let atom = !kind.is_empty() && kind.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
    if !atom || v.len() > 500 {
        return false;
    }
    if kind.eq_ignore_ascii_case(b"utf-8") {
        valid_utf8_addr_xtext(addr)
    } else {
        valid_xtext(addr)
    }
}

fn valid_utf8_addr_xtext(v: &[u8]) -> bool {
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'\\' => {
                let Some(rest) = v[i..].strip_prefix(b"\\x{") else {
                    return false;
                };
                let Some(end) = memchr::memchr(b'}', rest) else {
                    return false;
                };
                let hex = &rest[..end];
                if hex.is_empty() || hex.len() > 6 || !hex.iter().all(u8::is_ascii_hexdigit) {
                    return false;
                }
                i += 3 + end + 1;
            }
            b'+' | b'=' => return false,
            // utf-8-addr-unitext also allows UTF-8 itself (checked whole below).
            33..=126 | 0x80.. => i += 1,
            _ => return false,
        }
    }
    !v.is_empty() && std::str::from_utf8(v).is_ok()
}

fn map_error(e: ProtoError) -> Reply {
    match e {
        ProtoError::UnknownCommand | ProtoError::NeedsMoreData { .. } => Reply::unknown_command(),
        ProtoError::SyntaxError { syntax } => Reply::syntax_error(syntax),
        ProtoError::InvalidSenderAddress => Reply::bad_sender(),
        ProtoError::InvalidRecipientAddress => Reply::bad_recipient(),
        ProtoError::InvalidParameter { param } => Reply::bad_parameter(param),
        ProtoError::UnsupportedParameter { param } => Reply::bad_parameter(
            &param
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(64)
                .collect::<String>(),
        ),
        ProtoError::ResponseTooLong => Reply::line_too_long(),
        ProtoError::InvalidResponse { .. } => Reply::unknown_command(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_lines_across_chunks() {
        let mut r = LineReader::new();
        r.extend(b"EHLO a");
        assert_eq!(r.next_line(512), None);
        r.extend(b"\r\nNOOP\r\nQU");
        assert_eq!(r.next_line(512), Some(Line::Text(b"EHLO a".to_vec())));
        assert_eq!(r.next_line(512), Some(Line::Text(b"NOOP".to_vec())));
        assert_eq!(r.next_line(512), None);
        assert_eq!(r.take_rest(), b"QU");
    }

    #[test]
    fn over_long_line_is_reported_once_and_memory_stays_bounded() {
        let mut r = LineReader::new();
        for _ in 0..100 {
            r.extend(&[b'x'; 100]);
            assert_eq!(r.next_line(512), None);
        }
        assert!(r.buf.len() < 1024);
        r.extend(b"yy\r\nNOOP\r\n");
        assert_eq!(r.next_line(512), Some(Line::TooLong));
        assert_eq!(r.next_line(512), Some(Line::Text(b"NOOP".to_vec())));
    }

    #[test]
    fn parses_mail_with_dsn_and_body_parameters() {
        let c = Command::parse(
            b"MAIL FROM:<a@example.com> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=abc123",
        )
        .unwrap();
        let Command::Mail { sender, params } = c else {
            panic!("not MAIL: {c:?}")
        };
        assert_eq!(sender, "a@example.com");
        assert_eq!(params.size, Some(1000));
        assert_eq!(params.body, Body::EightBitMime);
        assert_eq!(params.ret, Some(Ret::Headers));
        assert_eq!(params.envid.as_deref(), Some("abc123"));
        let Ok(Command::Mail { params, .. }) =
            Command::parse(b"MAIL FROM:<a@b> envid=Q+2B1 RET=FULL")
        else {
            panic!()
        };
        assert_eq!(
            params.envid.as_deref(),
            Some("Q+2B1"),
            "xtext is kept as sent"
        );
        assert_eq!(params.ret, Some(Ret::Full));
    }

    #[test]
    fn parses_null_sender_and_rcpt_notify() {
        let c = Command::parse(b"MAIL FROM:<>").unwrap();
        assert!(matches!(c, Command::Mail { ref sender, .. } if sender.is_empty()));
        let c = Command::parse(
            b"RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.com",
        )
        .unwrap();
        let Command::Rcpt(r) = c else { panic!() };
        assert_eq!(r.address, "b@example.com");
        assert!(r.notify.success && r.notify.failure && !r.notify.delay && !r.notify.never);
        assert_eq!(r.orcpt.as_deref(), Some("rfc822;b@example.com"));
        let Ok(Command::Rcpt(r)) =
            Command::parse(b"RCPT TO:<b@x> ORCPT=utf-8;c\\x{E9}a@x NOTIFY=NEVER")
        else {
            panic!()
        };
        assert_eq!(r.orcpt.as_deref(), Some("utf-8;c\\x{E9}a@x"));
        assert!(r.notify.never);
        let Ok(Command::Rcpt(r)) = Command::parse(b"RCPT TO:<b@x> ORCPT=rfc822;b+C3+A9a@x") else {
            panic!()
        };
        assert_eq!(r.orcpt.as_deref(), Some("rfc822;b+C3+A9a@x"));
        for bad in [
            &b"RCPT TO:<b@x> ORCPT=noaddrtype"[..],
            b"RCPT TO:<b@x> ORCPT=rfc822;",
            b"RCPT TO:<b@x> ORCPT=a;b ORCPT=a;c",
            b"MAIL FROM:<a@b> ENVID=",
        ] {
            assert_eq!(
                Command::parse(bad).unwrap_err().code,
                501,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn mail_size(line: &str) -> Result<Option<usize>, u16> {
        match Command::parse(line.as_bytes()) {
            Ok(Command::Mail { params, .. }) => Ok(params.size),
            Ok(c) => panic!("not MAIL: {c:?}"),
            Err(r) => Err(r.code),
        }
    }

    #[test]
    fn size_has_at_most_twenty_digits_and_saturates() {
        assert_eq!(mail_size("MAIL FROM:<a@b> SIZE=1000"), Ok(Some(1000)));
        assert_eq!(mail_size("MAIL FROM:<a@b> size=0"), Ok(None));
        // 20 digits is legal syntax (RFC 1870) and larger than any limit.
        assert_eq!(
            mail_size("MAIL FROM:<a@b> SIZE=99999999999999999999"),
            Ok(Some(usize::MAX))
        );
        assert_eq!(
            mail_size("MAIL FROM:<a@b> SIZE=18446744073709551616"),
            Ok(Some(usize::MAX))
        );
        // smtp-proto wrapped these around to a small number.
        for bad in [
            "MAIL FROM:<a@b> SIZE=999999999999999999999",
            "MAIL FROM:<a@b> SIZE=100000000000000000000001",
            "MAIL FROM:<a@b> SIZE=",
            "MAIL FROM:<a@b> SIZE=12a",
            "MAIL FROM:<a@b> SIZE=-1",
            "MAIL FROM:<a@b> SIZE=1 SIZE=2",
        ] {
            assert_eq!(mail_size(bad), Err(501), "{bad}");
        }
    }

    #[test]
    fn envid_and_orcpt_must_be_xtext() {
        for good in [
            "MAIL FROM:<a@b> ENVID=abc+2B+3Dx",
            "MAIL FROM:<a@b> ENVID=!~",
            "RCPT TO:<b@x> ORCPT=rfc822;b+2Bx@y",
            "RCPT TO:<b@x> ORCPT=UTF-8;c\\x{E9}a@x",
            "RCPT TO:<b@x> ORCPT=utf-8;c\u{e9}a@x",
        ] {
            assert!(Command::parse(good.as_bytes()).is_ok(), "{good}");
        }
        for bad in [
            "MAIL FROM:<a@b> ENVID=+ZZ",
            "MAIL FROM:<a@b> ENVID=a+2b",
            "MAIL FROM:<a@b> ENVID=a+2",
            "MAIL FROM:<a@b> ENVID=a+",
            "RCPT TO:<b@x> ORCPT=rfc822;b+ZZ@x",
            "RCPT TO:<b@x> ORCPT=rfc822;b+e9@x",
            "RCPT TO:<b@x> ORCPT=rfc 822;b@x",
            "RCPT TO:<b@x> ORCPT=;b@x",
            "RCPT TO:<b@x> ORCPT=utf-8;b+2B@x",
            "RCPT TO:<b@x> ORCPT=utf-8;b\\x{}@x",
            "RCPT TO:<b@x> ORCPT=utf-8;b\\x{E9@x",
        ] {
            let r = Command::parse(bad.as_bytes()).unwrap_err();
            assert_eq!((r.code, r.enhanced), (501, Some([5, 5, 4])), "{bad}");
        }
    }

    #[test]
    fn rejects_garbage_with_clear_replies() {
        assert_eq!(Command::parse(b"FOO bar").unwrap_err().code, 500);
        assert_eq!(Command::parse(b"MAIL FROM:a@b").unwrap_err().code, 501);
        assert_eq!(
            Command::parse(b"RCPT TO:<a@b> XFOO=1").unwrap_err().code,
            555
        );
        assert!(matches!(
            Command::parse(b"AUTH PLAIN AAAA"),
            Ok(Command::NotImplemented("AUTH"))
        ));
    }
}
