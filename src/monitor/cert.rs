//! A certificate's expiry (notAfter), read from the first certificate of a PEM file.
//!
//! Only one field is needed, at a fixed place in the DER structure (RFC 5280 4.1: Certificate ->
//! tbsCertificate -> [version], serialNumber, signature, issuer, validity -> notAfter), so it is
//! walked here rather than pulling in an X.509 parser (x509-parser brings nom, asn1-rs,
//! der-parser and oid-registry for it). The walk is bounded by the input and never panics.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// notAfter (Unix seconds) of the first certificate in `pem`.
pub fn not_after_pem(pem: &[u8]) -> Option<u64> {
    let first = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    not_after(first.as_ref())
}

/// notAfter (Unix seconds) of a DER certificate.
pub fn not_after(der: &[u8]) -> Option<u64> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    let (tag, _, after) = tlv(rest)?;
    // [0] EXPLICIT version, optional.
    if tag == 0xa0 {
        rest = after;
    }
    // serialNumber, signature, issuer.
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    let (tag, validity, _) = tlv(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, after_not_before) = tlv(validity)?;
    let (tag, time, _) = tlv(after_not_before)?;
    parse_time(tag, time)
}

/// One DER tag-length-value: (tag, value, what follows). Single-byte tags only (all X.509 uses
/// up to notAfter).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, b) = b.split_first()?;
    let (len, b) = if first < 0x80 {
        (usize::from(first), b)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |l, &x| (l << 8) | usize::from(x));
        (len, &b[n..])
    };
    if b.len() < len {
        return None;
    }
    Some((tag, &b[..len], &b[len..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn parse_time(tag: u8, v: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(v).ok()?;
    let s = s.strip_suffix('Z')?;
    let (year, rest) = match (tag, s.len()) {
        (0x17, 12) => {
            let yy: u64 = s.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, s.get(2..)?)
        }
        (0x18, 14) => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| rest.get(r).and_then(|x| x.parse::<u64>().ok());
    let (month, day) = (num(0..2)?, num(2..4)?);
    let (hour, min, sec) = (num(4..6)?, num(6..8)?, num(8..10)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    Some(days * 86_400 + hour * 3600 + min * 60 + sec)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm), for dates from 1970 on.
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_until(not_after: (i32, u8, u8)) -> String {
        let mut p = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn reads_not_after_in_utc_time_and_generalized_time() {
        // 2030-06-15T00:00:00Z (UTCTime) and 2055-01-02T00:00:00Z (GeneralizedTime, after 2049).
        assert_eq!(
            not_after_pem(cert_until((2030, 6, 15)).as_bytes()),
            Some(1_907_712_000)
        );
        assert_eq!(
            not_after_pem(cert_until((2055, 1, 2)).as_bytes()),
            Some(2_682_460_800)
        );
    }

    #[test]
    fn garbage_and_truncation_give_none() {
        assert_eq!(not_after_pem(b"not a pem"), None);
        assert_eq!(not_after(&[]), None);
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        let pem = cert_until((2030, 6, 15));
        let der = CertificateDer::pem_slice_iter(pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        for cut in [1, 10, 40, 100, 150] {
            let _ = not_after(&der.as_ref()[..cut]);
        }
        assert_eq!(parse_time(0x17, b"301315000000Z"), None);
        assert_eq!(parse_time(0x17, b"30061500000Z"), None);
        assert_eq!(parse_time(0x17, b"700101000000Z"), Some(0));
    }
}
