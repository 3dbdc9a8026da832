//! Validators: the code half of an identifier, referenced by name from the definitions. Each takes
//! the matched bytes (ASCII by construction) and how near the nearest context word is, and says yes
//! or no.
//!
//! Names: luhn, card_issuer, same_separators, not_repeated, ssn, ssn_known_invalid,
//! formatted_or_context, near:BYTES, context, aba_checksum, aba_prefix, iban_length, iban_checksum, bic, nino,
//! sin_prefix, email, phone, ipv4, ipv6, entropy:BITS, char_classes:N, min_len:N, jwt_header,
//! pem_complete.

use super::table;

/// A validator by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Validator {
    Luhn,
    CardIssuer,
    SameSeparators,
    NotRepeated,
    Ssn,
    SsnKnownInvalid,
    FormattedOrContext,
    Near,
    Context,
    AbaChecksum,
    AbaPrefix,
    IbanLength,
    IbanChecksum,
    Bic,
    Nino,
    SinPrefix,
    Email,
    Phone,
    Ipv4,
    Ipv6,
    Entropy,
    CharClasses,
    MinLen,
    JwtHeader,
    PemComplete,
}

/// A validator with its argument (only `entropy`, `char_classes`, `min_len` and `near` take
/// one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Check {
    pub validator: Validator,
    pub arg: f64,
}

/// Longest JWT header decoded, bytes.
const MAX_JWT_HEADER: usize = 1024;

impl Validator {
    /// Parses `name` or `name:ARG`.
    pub(crate) fn parse(text: &str) -> Result<Check, String> {
        let (name, arg) = match text.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (text, None),
        };
        let validator = match name {
            "luhn" => Validator::Luhn,
            "card_issuer" => Validator::CardIssuer,
            "same_separators" => Validator::SameSeparators,
            "not_repeated" => Validator::NotRepeated,
            "ssn" => Validator::Ssn,
            "ssn_known_invalid" => Validator::SsnKnownInvalid,
            "formatted_or_context" => Validator::FormattedOrContext,
            "near" => Validator::Near,
            "context" => Validator::Context,
            "aba_checksum" => Validator::AbaChecksum,
            "aba_prefix" => Validator::AbaPrefix,
            "iban_length" => Validator::IbanLength,
            "iban_checksum" => Validator::IbanChecksum,
            "bic" => Validator::Bic,
            "nino" => Validator::Nino,
            "sin_prefix" => Validator::SinPrefix,
            "email" => Validator::Email,
            "phone" => Validator::Phone,
            "ipv4" => Validator::Ipv4,
            "ipv6" => Validator::Ipv6,
            "entropy" => Validator::Entropy,
            "char_classes" => Validator::CharClasses,
            "min_len" => Validator::MinLen,
            "jwt_header" => Validator::JwtHeader,
            "pem_complete" => Validator::PemComplete,
            _ => return Err("unknown validator".into()),
        };
        let takes_arg = matches!(
            validator,
            Validator::Entropy | Validator::CharClasses | Validator::MinLen | Validator::Near
        );
        let arg = match (takes_arg, arg) {
            (true, Some(a)) => match a.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => v,
                _ => return Err(format!("argument {a:?} is not a non-negative number")),
            },
            (true, None) => return Err("needs an argument, e.g. \"entropy:3.5\"".into()),
            (false, Some(_)) => return Err("takes no argument".into()),
            (false, None) => 0.0,
        };
        Ok(Check { validator, arg })
    }

    /// Whether the validator looks at the context word and its distance (applied after the
    /// context search).
    pub(crate) fn needs_context(self) -> bool {
        matches!(
            self,
            Validator::FormattedOrContext | Validator::Near | Validator::Context
        )
    }
}

/// Where a context word of the identifier was found: bytes between it and the value in the same
/// text, or [`ELSEWHERE`] for a word only in the message's shared scope (the subject for a body,
/// the body for a subject); `None` when there is none.
pub(crate) type Near = Option<usize>;

/// The distance a word found elsewhere in the message counts as: farther than any window.
pub(crate) const ELSEWHERE: usize = usize::MAX;

/// Runs one validator on a matched value.
pub(crate) fn check(c: &Check, v: &[u8], near: Near) -> bool {
    let context = near.is_some();
    match c.validator {
        Validator::Luhn => luhn(v),
        Validator::CardIssuer => card_issuer(v),
        Validator::SameSeparators => same_separators(v),
        Validator::NotRepeated => not_repeated(v),
        Validator::Ssn => ssn(v),
        Validator::SsnKnownInvalid => ssn_not_known_invalid(v),
        Validator::FormattedOrContext => context || v.iter().any(|b| !b.is_ascii_digit()),
        // A label beside the value, not a word somewhere in the window or the message.
        Validator::Near => near.is_some_and(|d| d != ELSEWHERE && d as f64 <= c.arg),
        Validator::Context => context,
        Validator::AbaChecksum => aba_checksum(v),
        Validator::AbaPrefix => aba_prefix(v),
        Validator::IbanLength => iban_length(v),
        Validator::IbanChecksum => iban_checksum(v),
        Validator::Bic => bic(v),
        Validator::Nino => nino(v),
        Validator::SinPrefix => digits(v).next().is_some_and(|d| d != 0 && d != 8),
        Validator::Email => email(v),
        Validator::Phone => phone(v),
        Validator::Ipv4 => ipv4(v),
        Validator::Ipv6 => ipv6(v),
        Validator::Entropy => entropy(v) >= c.arg,
        Validator::CharClasses => char_classes(v) as f64 >= c.arg,
        Validator::MinLen => v.len() as f64 >= c.arg,
        Validator::JwtHeader => jwt_header(v),
        Validator::PemComplete => pem_complete(v),
    }
}

/// The decimal digits of a value, as numbers.
fn digits(v: &[u8]) -> impl DoubleEndedIterator<Item = u8> + '_ {
    v.iter().filter(|b| b.is_ascii_digit()).map(|b| b - b'0')
}

/// Up to 19 digits in a fixed buffer (longer values return None).
fn digit_array(v: &[u8]) -> Option<([u8; 19], usize)> {
    let mut a = [0u8; 19];
    let mut n = 0;
    for d in digits(v) {
        *a.get_mut(n)? = d;
        n += 1;
    }
    Some((a, n))
}

/// The first `k` digits as a number.
fn prefix_num(d: &[u8], k: usize) -> u32 {
    d.iter().take(k).fold(0, |acc, &x| acc * 10 + u32::from(x))
}

pub(crate) fn luhn(v: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut n = 0;
    for (i, d) in digits(v).rev().enumerate() {
        let d = u32::from(d);
        sum += if i % 2 == 1 {
            if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
        } else {
            d
        };
        n += 1;
    }
    n >= 2 && sum.is_multiple_of(10)
}

/// Issuer identification number ranges and the lengths each issuer uses.
fn card_issuer(v: &[u8]) -> bool {
    let Some((a, n)) = digit_array(v) else {
        return false;
    };
    let d = &a[..n];
    let p = |k| prefix_num(d, k);
    let visa = d.first() == Some(&4) && matches!(n, 13 | 16 | 19);
    let mastercard = ((51..=55).contains(&p(2)) || (2221..=2720).contains(&p(4))) && n == 16;
    let amex = matches!(p(2), 34 | 37) && n == 15;
    let discover = (p(4) == 6011
        || (644..=649).contains(&p(3))
        || p(2) == 65
        || (622_126..=622_925).contains(&p(6)))
        && (16..=19).contains(&n);
    let jcb = (3528..=3589).contains(&p(4)) && (16..=19).contains(&n);
    let diners = ((300..=305).contains(&p(3)) || p(4) == 3095 || matches!(p(2), 36 | 38 | 39))
        && (14..=19).contains(&n);
    let unionpay = p(2) == 62 && (16..=19).contains(&n);
    let maestro = matches!(
        p(4),
        5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763
    ) && (12..=19).contains(&n);
    visa || mastercard || amex || discover || jcb || diners || unionpay || maestro
}

/// Every separator in the value is the same byte (`4111 1111-1111 1111` is not a card number).
fn same_separators(v: &[u8]) -> bool {
    let mut seps = v.iter().filter(|b| !b.is_ascii_alphanumeric());
    match seps.next() {
        None => true,
        Some(first) => seps.all(|b| b == first),
    }
}

/// Not one digit repeated (`0000 0000 0000 0000`, `111-11-1111`).
fn not_repeated(v: &[u8]) -> bool {
    let mut ds = digits(v);
    match ds.next() {
        None => true,
        Some(first) => ds.any(|d| d != first),
    }
}

/// US SSN area, group and serial rules (SSA: area 000, 666 and 900-999 are never issued).
fn ssn(v: &[u8]) -> bool {
    let Some((a, n)) = digit_array(v) else {
        return false;
    };
    if n != 9 {
        return false;
    }
    let area = prefix_num(&a[0..3], 3);
    let group = prefix_num(&a[3..5], 2);
    let serial = prefix_num(&a[5..9], 4);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// Numbers that pass the SSN rules but are publicly known not to be anyone's (advertising, the
/// Woolworth wallet card, the textbook example).
fn ssn_not_known_invalid(v: &[u8]) -> bool {
    let Some((a, n)) = digit_array(v) else {
        return false;
    };
    let x = prefix_num(&a[..n], n);
    !matches!(
        x,
        78_051_120 | 219_099_999 | 123_456_789 | 987_654_320..=987_654_329
    )
}

/// ABA routing number checksum (weights 3, 7, 1).
fn aba_checksum(v: &[u8]) -> bool {
    let Some((a, n)) = digit_array(v) else {
        return false;
    };
    if n != 9 || a[..9].iter().all(|&d| d == 0) {
        return false;
    }
    let w = [3u32, 7, 1];
    let sum: u32 = a[..9]
        .iter()
        .enumerate()
        .map(|(i, &d)| w[i % 3] * u32::from(d))
        .sum();
    sum.is_multiple_of(10)
}

/// First two digits: 00 (US government), 01-12 (Federal Reserve), 21-32 (thrift), 61-72
/// (electronic), 80 (traveller's cheques).
fn aba_prefix(v: &[u8]) -> bool {
    let Some((a, n)) = digit_array(v) else {
        return false;
    };
    n == 9 && matches!(prefix_num(&a, 2), 0..=12 | 21..=32 | 61..=72 | 80)
}

/// The value without spaces, if it is at most 34 bytes.
fn compact(v: &[u8]) -> Option<([u8; 34], usize)> {
    let mut a = [0u8; 34];
    let mut n = 0;
    for &b in v.iter().filter(|&&b| b != b' ') {
        *a.get_mut(n)? = b;
        n += 1;
    }
    Some((a, n))
}

fn iban_length(v: &[u8]) -> bool {
    let Some((a, n)) = compact(v) else {
        return false;
    };
    n >= 4 && table::iban_length([a[0], a[1]]) == Some(n)
}

/// ISO 7064 mod 97-10: country and check digits moved to the end, letters as 10..35.
fn iban_checksum(v: &[u8]) -> bool {
    let Some((a, n)) = compact(v) else {
        return false;
    };
    if n < 5 {
        return false;
    }
    let mut rem = 0u32;
    for &b in a[4..n].iter().chain(&a[..4]) {
        rem = match b {
            b'0'..=b'9' => (rem * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => (rem * 100 + u32::from(b - b'A') + 10) % 97,
            _ => return false,
        };
    }
    rem == 1
}

/// SWIFT/BIC: 4 letters (bank), ISO country, 2 location characters, optional 3 branch characters.
fn bic(v: &[u8]) -> bool {
    if v.len() != 8 && v.len() != 11 {
        return false;
    }
    let alnum = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    v[..4].iter().all(u8::is_ascii_uppercase)
        && table::is_country([v[4], v[5]])
        && v[6..].iter().all(alnum)
        && (v.len() == 8 || v[8] != b'X' || &v[8..] == b"XXX")
}

/// UK National Insurance number prefix and suffix rules (HMRC NIM39110).
fn nino(v: &[u8]) -> bool {
    let Some((a, n)) = compact(v) else {
        return false;
    };
    if n != 9 {
        return false;
    }
    let (p0, p1) = (a[0], a[1]);
    let bad_first = b"DFIQUV".contains(&p0);
    let bad_second = b"DFIQUVO".contains(&p1);
    let bad_pair = matches!(
        &[p0, p1],
        b"BG" | b"GB" | b"NK" | b"KN" | b"TN" | b"NT" | b"ZZ"
    );
    p0.is_ascii_uppercase()
        && p1.is_ascii_uppercase()
        && !bad_first
        && !bad_second
        && !bad_pair
        && a[2..8].iter().all(u8::is_ascii_digit)
        && (b'A'..=b'D').contains(&a[8])
}

/// RFC 5321-shaped address: dot-atom local part, at least two domain labels, alphabetic TLD.
fn email(v: &[u8]) -> bool {
    let Some(at) = v.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&v[..at], &v[at + 1..]);
    if local.is_empty() || local.len() > 64 || domain.len() > 253 {
        return false;
    }
    if local[0] == b'.' || local[local.len() - 1] == b'.' || local.windows(2).any(|w| w == b"..") {
        return false;
    }
    let mut labels = 0;
    let mut last: &[u8] = b"";
    for label in domain.split(|&b| b == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    let tld_ok =
        (last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)) || last.starts_with(b"xn--");
    labels >= 2 && tld_ok
}

/// NANP (area and exchange codes 2-9XX, not N11), UK national (`0` and a 10-digit national
/// number, see `uk_national`) or E.164 (`+`, an assigned country calling code, 8 to 15 digits).
fn phone(v: &[u8]) -> bool {
    let opens = v.iter().filter(|&&b| b == b'(').count();
    let closes = v.iter().filter(|&&b| b == b')').count();
    if opens != closes || opens > 1 {
        return false;
    }
    let Some((a, n)) = digit_array(v) else {
        return false;
    };
    let d = &a[..n];
    if v.first() == Some(&b'+') {
        let Some(cc) = table::calling_code_len(d) else {
            return false;
        };
        if d[0] == 1 {
            return n == 11 && nanp(&d[1..]);
        }
        return (8..=15).contains(&n) && n > cc + 3;
    }
    match n {
        10 => nanp(d),
        11 if d[0] == 1 => nanp(&d[1..]),
        11 if d[0] == 0 => uk_national(&d[1..]),
        _ => false,
    }
}

/// A UK national significant number of 10 digits (Ofcom numbering plan): geographic 1xxx and
/// 2x (London 20, Southampton 23, Portsmouth 24, Northern Ireland 28, Cardiff 29, local number
/// not starting 0 or 1), non-geographic 3xx, mobile 71-79, freephone and special 80, 84, 87.
fn uk_national(d: &[u8]) -> bool {
    d.len() == 10
        && match (d[0], d[1]) {
            (1, _) | (3, _) => true,
            (2, a) => matches!(a, 0 | 3 | 4 | 8 | 9) && d[2] >= 2,
            (7, a) => a >= 1,
            (8, a) => matches!(a, 0 | 4 | 7),
            _ => false,
        }
}

fn nanp(d: &[u8]) -> bool {
    d.len() == 10
        && d[0] >= 2
        && d[3] >= 2
        && !(d[1] == 1 && d[2] == 1)
        && !(d[4] == 1 && d[5] == 1)
}

/// Dotted quad, each octet 0-255 without leading zeros, first octet not 0.
fn ipv4(v: &[u8]) -> bool {
    let mut octets = 0;
    for (i, part) in v.split(|&b| b == b'.').enumerate() {
        if part.is_empty() || part.len() > 3 || !part.iter().all(u8::is_ascii_digit) {
            return false;
        }
        if part.len() > 1 && part[0] == b'0' {
            return false;
        }
        let x = part
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
        if x > 255 || (i == 0 && x == 0) {
            return false;
        }
        octets += 1;
    }
    octets == 4
}

/// Parses as an IPv6 address (std), has at least two colons and is not the all-zero address.
fn ipv6(v: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(v) else {
        return false;
    };
    let colons = v.iter().filter(|&&b| b == b':').count();
    match s.parse::<std::net::Ipv6Addr>() {
        Ok(addr) => colons >= 2 && !addr.is_unspecified(),
        Err(_) => false,
    }
}

/// Shannon entropy of the bytes, bits per byte.
pub(crate) fn entropy(v: &[u8]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in v {
        counts[usize::from(b)] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| f64::from(c) / n)
        .map(|p| -p * p.log2())
        .sum()
}

/// How many of upper case, lower case, digits and other bytes occur.
fn char_classes(v: &[u8]) -> u32 {
    let has = |f: fn(&u8) -> bool| u32::from(v.iter().any(f));
    has(u8::is_ascii_uppercase)
        + has(u8::is_ascii_lowercase)
        + has(u8::is_ascii_digit)
        + has(|b| !b.is_ascii_alphanumeric())
}

/// The first segment decodes (base64url) to a JSON object naming `"alg"`.
fn jwt_header(v: &[u8]) -> bool {
    let seg = v.split(|&b| b == b'.').next().unwrap_or(b"");
    let Some(json) = base64url_decode(seg, MAX_JWT_HEADER) else {
        return false;
    };
    let t = json.trim_ascii();
    t.first() == Some(&b'{') && t.last() == Some(&b'}') && t.windows(5).any(|w| w == b"\"alg\"")
}

/// Decodes unpadded base64url (either alphabet's two last characters, trailing bits ignored) with
/// the `base64` crate; None on a bad byte, a bad length or more than `max` output bytes.
pub(crate) fn base64url_decode(s: &[u8], max: usize) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    const URL: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
    );
    if s.len() % 4 == 1 || s.len() / 4 * 3 > max {
        return None;
    }
    let url: Vec<u8> = s
        .iter()
        .map(|&b| match b {
            b'+' => b'-',
            b'/' => b'_',
            _ => b,
        })
        .collect();
    URL.decode(url).ok()
}

/// A whole PEM private key block: END line with the BEGIN line's label, and a body.
fn pem_complete(v: &[u8]) -> bool {
    let label = |after: &[u8]| -> Option<Vec<u8>> {
        let end = after.windows(11).position(|w| w == b"PRIVATE KEY")?;
        Some(after[..end].to_vec())
    };
    let Some(begin_label) = v.strip_prefix(b"-----BEGIN ").and_then(label) else {
        return false;
    };
    let Some(end_at) = v.windows(9).rposition(|w| w == b"-----END ") else {
        return false;
    };
    let Some(end_label) = label(&v[end_at + 9..]) else {
        return false;
    };
    let body = v
        .iter()
        .take(end_at)
        .filter(|b| b.is_ascii_alphanumeric())
        .count();
    begin_label == end_label && body >= 64
}
