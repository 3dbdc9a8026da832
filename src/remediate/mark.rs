//! The release mark: the header a released (or forwarded) message carries so that, when it comes back
//! through Sluice (reflecting mode: the upstream MTA sends the released copy through the proxy again),
//! the pipeline recognises an administrator's decision and does not hold it a second time.
//!
//! Pure: the key comes in as a value (the store secret `release`, see `store::schema::secret`). The
//! mark is `X-Sluice-Release: <held id>; <mac>` where the MAC is keyed BLAKE3 over a domain tag, the
//! held id and the message GUID, in hex. A mark can neither be forged without the key nor moved to
//! another held message (the id and GUID are bound into the MAC); verification compares in constant
//! time.
//!
//! Security: the header value is untrusted input (anyone can write it into a message); `parse` is
//! bounded and total, and nothing but a valid MAC makes `verify` answer yes.

/// The header field name of the release mark.
pub const HEADER: &str = "X-Sluice-Release";

/// Separates the MAC input's parts from other uses of the same key.
const DOMAIN: &[u8] = b"sluice release mark v1\0";

/// Longest header value `parse` looks at (an id, "; ", 64 hex digits, some spaces).
const MAX_VALUE: usize = 128;

/// A parsed (not yet verified) mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// The held message the mark claims to release.
    pub held: u64,
    mac: blake3::Hash,
}

fn mac(key: &[u8; 32], held: u64, guid: &str) -> blake3::Hash {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(DOMAIN);
    h.update(&held.to_be_bytes());
    h.update(guid.trim().to_ascii_lowercase().as_bytes());
    h.finalize()
}

/// The header value marking held message `held` (GUID `guid`) as released: `<id>; <hex mac>`.
pub fn sign(key: &[u8; 32], held: u64, guid: &str) -> String {
    format!("{held}; {}", mac(key, held, guid).to_hex())
}

/// Reads a mark's value (unfolded, without the field name); `None` when it is not one.
pub fn parse(value: &str) -> Option<Mark> {
    if value.len() > MAX_VALUE {
        return None;
    }
    let (id, hex) = value.trim().split_once(';')?;
    let held = id.trim().parse::<u64>().ok()?;
    let mac = blake3::Hash::from_hex(hex.trim()).ok()?;
    Some(Mark { held, mac })
}

/// Verifies a mark's value: `guid_of` gives the GUID of the held message the mark names (the shell
/// looks it up in the store; `None` when there is no such message). Returns the held id when the
/// MAC is right for that id and GUID under `key`.
pub fn verify(
    key: &[u8; 32],
    value: &str,
    guid_of: impl FnOnce(u64) -> Option<String>,
) -> Option<u64> {
    let mark = parse(value)?;
    let guid = guid_of(mark.held)?;
    // blake3::Hash's equality is constant-time.
    (mac(key, mark.held, &guid) == mark.mac).then_some(mark.held)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const GUID: &str = "3984736A-2964-437D-A0EC-67E62D4C187F";

    fn lookup(id: u64) -> Option<String> {
        (id == 17).then(|| GUID.to_string())
    }

    #[test]
    fn a_signed_mark_verifies_for_its_message() {
        let value = sign(&KEY, 17, GUID);
        assert!(value.starts_with("17; "), "{value}");
        assert_eq!(verify(&KEY, &value, lookup), Some(17));
        // The GUID is compared case-insensitively (it is shown upper-case, may come back lower).
        assert_eq!(
            verify(&KEY, &value, |_| Some(GUID.to_lowercase())),
            Some(17)
        );
    }

    #[test]
    fn a_mark_under_another_key_is_rejected() {
        let value = sign(&[8; 32], 17, GUID);
        assert_eq!(verify(&KEY, &value, lookup), None);
    }

    #[test]
    fn a_mark_moved_to_another_id_or_message_is_rejected() {
        let value = sign(&KEY, 17, GUID);
        let (_, mac) = value.split_once(';').unwrap();
        let moved = format!("18;{mac}");
        assert_eq!(verify(&KEY, &moved, |_| Some(GUID.to_string())), None);
        // Same id, another message's GUID (a store restored or ids reused).
        assert_eq!(verify(&KEY, &value, |_| Some("OTHER-GUID".into())), None);
        // No such held message.
        assert_eq!(verify(&KEY, &value, |_| None), None);
    }

    #[test]
    fn forged_or_malformed_values_are_rejected() {
        let mut value = sign(&KEY, 17, GUID);
        let last = value.pop().unwrap();
        value.push(if last == '0' { '1' } else { '0' });
        assert_eq!(verify(&KEY, &value, lookup), None);
        for bad in [
            "",
            "17",
            "17;",
            "x; 00",
            "17; zz",
            "-1; 00",
            &"9".repeat(300),
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
            assert_eq!(verify(&KEY, bad, lookup), None, "{bad:?}");
        }
    }
}
