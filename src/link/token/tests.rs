//! Token tests: round trip, tampering of every bit, expiry boundary, wrong key, bad lengths.

use super::*;

fn key(b: u8) -> Key {
    Key::from_bytes([b; KEY_BYTES])
}

fn claims() -> Claims {
    Claims {
        approval: 0x0102_0304_0506_0708,
        approver: 7,
        decision: Decision::Approve,
        expires: 1_700_000_000,
        message: message_tag("3F2504E0-4F89-11D3-9A0C-0305E82C3301"),
    }
}

fn raw(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(token).unwrap()
}

#[test]
fn round_trip_gives_the_claims_back() {
    let k = key(1);
    for decision in [Decision::Approve, Decision::Reject] {
        let c = Claims {
            decision,
            ..claims()
        };
        let t = sign(&k, &c);
        assert_eq!(t.len(), TOKEN_CHARS);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{t}"
        );
        assert_eq!(verify(&k, &t, c.expires - 1), Ok(c));
    }
}

#[test]
fn generated_keys_differ_and_sign_differently() {
    let (a, b) = (Key::generate().unwrap(), Key::generate().unwrap());
    assert_ne!(a.to_bytes(), b.to_bytes());
    assert_ne!(sign(&a, &claims()), sign(&b, &claims()));
    assert_eq!(format!("{a:?}"), "Key(..)");
    let again = Key::from_bytes(a.to_bytes());
    assert_eq!(verify(&again, &sign(&a, &claims()), 0), Ok(claims()));
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let k = key(2);
    let good = raw(&sign(&k, &claims()));
    for bit in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let t = URL_SAFE_NO_PAD.encode(&bad);
        let err = verify(&k, &t, 0).unwrap_err();
        // The version byte makes it malformed; every other bit breaks the signature.
        let want = if bit < 8 {
            TokenError::Malformed
        } else {
            TokenError::BadSignature
        };
        assert_eq!(err, want, "bit {bit}");
    }
}

#[test]
fn every_character_change_is_rejected() {
    let k = key(3);
    let good = sign(&k, &claims());
    for i in 0..good.len() {
        for replacement in ['A', '_', '-', 'z', '=', '+', '/', '%'] {
            if good.as_bytes()[i] == replacement as u8 {
                continue;
            }
            let mut t = good.clone();
            t.replace_range(i..=i, &replacement.to_string());
            assert!(verify(&k, &t, 0).is_err(), "position {i} -> {replacement}");
        }
    }
}

#[test]
fn expiry_is_exclusive_and_checked_after_the_signature() {
    let k = key(4);
    let c = claims();
    let t = sign(&k, &c);
    assert_eq!(verify(&k, &t, c.expires - 1), Ok(c));
    assert_eq!(verify(&k, &t, c.expires), Err(TokenError::Expired));
    assert_eq!(verify(&k, &t, u64::MAX), Err(TokenError::Expired));
    // A forged token never reports "expired", whatever the time: no oracle on the key.
    assert_eq!(verify(&key(5), &t, u64::MAX), Err(TokenError::BadSignature));
}

#[test]
fn another_key_does_not_verify() {
    let t = sign(&key(6), &claims());
    assert_eq!(verify(&key(7), &t, 0), Err(TokenError::BadSignature));
    let mut near = [6u8; KEY_BYTES];
    near[31] ^= 1;
    assert_eq!(
        verify(&Key::from_bytes(near), &t, 0),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn truncated_overlong_and_garbage_input_is_malformed() {
    let k = key(8);
    let t = sign(&k, &claims());
    for bad in [
        "",
        &t[..t.len() - 1],
        &t[..t.len() - 4],
        &format!("{t}A"),
        &format!("{t}AAAA"),
        &format!("{t}=="),
        &"A".repeat(10_000),
        &"é".repeat(TOKEN_CHARS / 2),
        &format!("+{}", &t[1..]),
        &format!("{}/", &t[..t.len() - 1]),
    ] {
        if bad == t {
            continue;
        }
        assert_eq!(verify(&k, bad, 0), Err(TokenError::Malformed), "{bad:?}");
    }
    // Right length, wrong version.
    let mut r = raw(&t);
    r[0] = 3;
    assert_eq!(
        verify(&k, &URL_SAFE_NO_PAD.encode(&r), 0),
        Err(TokenError::Malformed)
    );
}

#[test]
fn the_decision_cannot_be_swapped() {
    let k = key(9);
    let approve = sign(&k, &claims());
    let mut r = raw(&approve);
    assert_eq!(r[13], Decision::Approve.byte());
    r[13] = Decision::Reject.byte();
    assert_eq!(
        verify(&k, &URL_SAFE_NO_PAD.encode(&r), 0),
        Err(TokenError::BadSignature)
    );
    // Nor can a reject link's tag be moved onto an approve payload.
    let reject = raw(&sign(
        &k,
        &Claims {
            decision: Decision::Reject,
            ..claims()
        },
    ));
    let mut spliced = raw(&approve)[..PAYLOAD_BYTES].to_vec();
    spliced.extend_from_slice(&reject[PAYLOAD_BYTES..]);
    assert_eq!(
        verify(&k, &URL_SAFE_NO_PAD.encode(&spliced), 0),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn decision_words_round_trip_exactly() {
    for d in [Decision::Approve, Decision::Reject] {
        assert_eq!(Decision::parse(d.as_str()), Some(d));
    }
    assert_eq!(Decision::parse("Approve"), None);
    assert_eq!(Decision::parse(""), None);
}

#[test]
fn the_message_tag_is_signed_and_tells_messages_apart() {
    let k = key(4);
    let a = message_tag("3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    assert_eq!(a, message_tag(" 3F2504E0-4F89-11D3-9A0C-0305E82C3301 "));
    assert_ne!(a, message_tag("3f2504e0-4f89-11d3-9a0c-0305e82c3302"));
    let c = Claims {
        message: a,
        ..claims()
    };
    assert_eq!(verify(&k, &sign(&k, &c), 0).unwrap().message, a);
    // A version 1 token (no message tag) is not accepted, whatever its signature.
    let mut v1 = raw(&sign(&k, &c));
    v1[0] = 1;
    assert_eq!(
        verify(&k, &URL_SAFE_NO_PAD.encode(&v1), 0),
        Err(TokenError::Malformed)
    );
}

/// A version 1 token as releases before the message tag signed them.
fn sign_v1(k: &Key, approval: u64, expires: u64) -> String {
    let mut payload = vec![1u8];
    payload.extend_from_slice(&approval.to_be_bytes());
    payload.extend_from_slice(&7u32.to_be_bytes());
    payload.push(Decision::Approve.byte());
    payload.extend_from_slice(&expires.to_be_bytes());
    let tag = hmac::sign(&k.mac, &signed_input(&payload));
    payload.extend_from_slice(tag.as_ref());
    URL_SAFE_NO_PAD.encode(payload)
}

#[test]
fn a_genuine_version_1_link_is_outdated_and_a_forged_one_is_not() {
    let k = key(9);
    let t = sign_v1(&k, 42, 1_700_000_000);
    assert_eq!(t.len(), 72);
    // Genuine: outdated (whatever its expiry), never granted.
    assert_eq!(
        verify(&k, &t, 0),
        Err(TokenError::Outdated { approval: 42 })
    );
    assert_eq!(
        verify(&k, &t, u64::MAX),
        Err(TokenError::Outdated { approval: 42 })
    );
    // Another key, or any byte changed: no claim to have been ours.
    assert_eq!(verify(&key(10), &t, 0), Err(TokenError::BadSignature));
    let mut r = raw(&t);
    r[5] ^= 1;
    assert_eq!(
        verify(&k, &URL_SAFE_NO_PAD.encode(&r), 0),
        Err(TokenError::BadSignature)
    );
    r[0] = 2;
    assert_eq!(
        verify(&k, &URL_SAFE_NO_PAD.encode(&r), 0),
        Err(TokenError::Malformed)
    );
    assert_eq!(verify(&k, &"A".repeat(72), 0), Err(TokenError::Malformed));
}
