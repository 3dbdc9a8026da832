//! Signed approval links: the token in `/approval/{token}` that says which approval, which approver,
//! which decision, and until when — signed so that nobody can make or alter one without the key.
//!
//! Pure: no clock (time comes in as `now`, Unix seconds), no I/O. The only effect is
//! [`Key::generate`], which asks the OS for randomness.
//!
//! Format (version 2): URL-safe base64 without padding of `version (1) | approval (u64 BE) | approver
//! (u32 BE) | decision (1) | expires (u64 BE) | message tag (16) | HMAC-SHA256 tag (32)`, 70 bytes,
//! 94 characters. The HMAC covers a fixed context string and every byte before it, version included.
//!
//! The message tag ([`message_tag`]) binds the link to the held message's GUID, not only to the
//! approval's number: if a number is ever handed out again (a store restored from a backup, a store
//! re-created), a link made for one message can never decide another; the desk compares the tag
//! with the held message's before it reads or decides anything. Version 1 links (without the tag,
//! 54 bytes, 72 characters; mailed by releases before the tag existed) can decide nothing: one that
//! verifies with our key is refused as [`TokenError::Outdated`], so the approver is told to ask
//! the administrators instead of being told the link was altered.
//!
//! Security: [`verify`] trusts nothing in the token before the tag is checked (in constant time);
//! it tells malformed from forged for the caller's logs, but callers must show both the same way.
//! Expiry is checked only after the signature, so an expired error proves the token was ours.
//! Single use is not a property of the token: the desk records a decision once.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The format version this code writes and accepts.
const VERSION: u8 = 2;
/// Bytes in a key.
pub const KEY_BYTES: usize = 32;
/// Bytes of the signed fields, version included.
const PAYLOAD_BYTES: usize = 1 + 8 + 4 + 1 + 8 + MESSAGE_TAG_BYTES;
/// Bytes of the message tag.
pub const MESSAGE_TAG_BYTES: usize = 16;
/// Bytes of the HMAC-SHA256 tag.
const TAG_BYTES: usize = 32;
/// Bytes of a decoded token.
const TOKEN_BYTES: usize = PAYLOAD_BYTES + TAG_BYTES;
/// Characters of an encoded token (base64 without padding: a partial last group of 2 or 3).
pub const TOKEN_CHARS: usize = (TOKEN_BYTES * 4).div_ceil(3);
/// Characters of a version 1 token (54 bytes: no message tag).
const V1_TOKEN_CHARS: usize = 72;
/// Bytes of a version 1 token's signed fields.
const V1_PAYLOAD_BYTES: usize = 1 + 8 + 4 + 1 + 8;
/// Domain separation: a tag made for anything else with the same key never verifies here.
const CONTEXT: &[u8] = b"sluice approval link\0";

/// The decision a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Deliver the held message.
    Approve,
    /// Delete it and tell the sender.
    Reject,
}

impl Decision {
    /// The word used in forms and logs: `approve` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }

    /// Parses [`Decision::as_str`]'s words, exactly.
    pub fn parse(s: &str) -> Option<Decision> {
        match s {
            "approve" => Some(Decision::Approve),
            "reject" => Some(Decision::Reject),
            _ => None,
        }
    }

    fn byte(self) -> u8 {
        match self {
            Decision::Approve => 1,
            Decision::Reject => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Decision> {
        match b {
            1 => Some(Decision::Approve),
            2 => Some(Decision::Reject),
            _ => None,
        }
    }
}

/// What a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    /// The approval (held message) this link decides.
    pub approval: u64,
    /// Which of the approval's approvers the link was sent to.
    pub approver: u32,
    /// The one decision the link may make.
    pub decision: Decision,
    /// The link works while `now < expires` (Unix seconds).
    pub expires: u64,
    /// [`message_tag`] of the held message's GUID.
    pub message: MessageTag,
}

/// What binds a link to one held message: 16 bytes of BLAKE3 over the message's GUID.
pub type MessageTag = [u8; MESSAGE_TAG_BYTES];

/// Separates message tags from any other hash of a GUID.
const MESSAGE_DOMAIN: &[u8] = b"sluice approval message\0";

/// The tag of the held message with this GUID (case and surrounding space do not matter).
pub fn message_tag(guid: &str) -> MessageTag {
    let mut h = blake3::Hasher::new();
    h.update(MESSAGE_DOMAIN);
    h.update(guid.trim().to_ascii_lowercase().as_bytes());
    let mut tag = [0u8; MESSAGE_TAG_BYTES];
    tag.copy_from_slice(&h.finalize().as_bytes()[..MESSAGE_TAG_BYTES]);
    tag
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of ours at all (length, alphabet, version).
    #[error("malformed approval token")]
    Malformed,
    /// Well formed, but the tag does not verify with our key.
    #[error("approval token signature does not verify")]
    BadSignature,
    /// Genuine, but past its expiry.
    #[error("approval token expired")]
    Expired,
    /// Genuine, but of version 1 (mailed by an earlier release, not bound to the message): it
    /// decides nothing. Carries the approval it was made for, for the page and the log.
    #[error("approval token of an earlier release (version 1) for approval {approval}")]
    Outdated { approval: u64 },
}

/// The secret that signs approval links: 32 random bytes, kept in the data dir.
#[derive(Clone)]
pub struct Key {
    bytes: [u8; KEY_BYTES],
    mac: hmac::Key,
}

impl Key {
    /// A fresh random key from the OS.
    pub fn generate() -> Result<Key, getrandom::Error> {
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Key::from_bytes(bytes))
    }

    /// A key from stored bytes.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Key {
        // `hmac::Key::new` panics only if aws-lc cannot allocate an HMAC context.
        let mac = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        Key { bytes, mac }
    }

    /// The raw bytes, for storing the key.
    pub fn to_bytes(&self) -> [u8; KEY_BYTES] {
        self.bytes
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

fn payload(claims: &Claims) -> [u8; PAYLOAD_BYTES] {
    let mut p = [0u8; PAYLOAD_BYTES];
    p[0] = VERSION;
    p[1..9].copy_from_slice(&claims.approval.to_be_bytes());
    p[9..13].copy_from_slice(&claims.approver.to_be_bytes());
    p[13] = claims.decision.byte();
    p[14..22].copy_from_slice(&claims.expires.to_be_bytes());
    p[22..].copy_from_slice(&claims.message);
    p
}

fn signed_input(payload: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(CONTEXT.len() + payload.len());
    input.extend_from_slice(CONTEXT);
    input.extend_from_slice(payload);
    input
}

/// The token for `claims`, ready to put in a URL path.
pub fn sign(key: &Key, claims: &Claims) -> String {
    let payload = payload(claims);
    let tag = hmac::sign(&key.mac, &signed_input(&payload));
    let mut raw = Vec::with_capacity(TOKEN_BYTES);
    raw.extend_from_slice(&payload);
    raw.extend_from_slice(tag.as_ref());
    URL_SAFE_NO_PAD.encode(raw)
}

/// Checks `token` and returns what it grants; `now` is Unix seconds.
pub fn verify(key: &Key, token: &str, now: u64) -> Result<Claims, TokenError> {
    // Length first: nothing longer is ever decoded.
    if token.len() == V1_TOKEN_CHARS {
        return Err(verify_v1(key, token));
    }
    if token.len() != TOKEN_CHARS {
        return Err(TokenError::Malformed);
    }
    // The engine is strict: no padding, no non-canonical trailing bits, URL-safe alphabet only.
    let raw = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| TokenError::Malformed)?;
    if raw.len() != TOKEN_BYTES || raw[0] != VERSION {
        return Err(TokenError::Malformed);
    }
    let (payload, tag) = raw.split_at(PAYLOAD_BYTES);
    hmac::verify(&key.mac, &signed_input(payload), tag).map_err(|_| TokenError::BadSignature)?;
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&payload[at..at + 8]);
        u64::from_be_bytes(b)
    };
    let mut approver = [0u8; 4];
    approver.copy_from_slice(&payload[9..13]);
    // A decision byte we never write cannot carry a valid tag; treat it as malformed anyway.
    let decision = Decision::from_byte(payload[13]).ok_or(TokenError::Malformed)?;
    let mut message = [0u8; MESSAGE_TAG_BYTES];
    message.copy_from_slice(&payload[22..]);
    let claims = Claims {
        approval: u64_at(1),
        approver: u32::from_be_bytes(approver),
        decision,
        expires: u64_at(14),
        message,
    };
    if now >= claims.expires {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Why a version 1 token is refused: [`TokenError::Outdated`] only when its tag verifies (so the
/// answer proves nothing to a forger), whatever its expiry.
fn verify_v1(key: &Key, token: &str) -> TokenError {
    let Ok(raw) = URL_SAFE_NO_PAD.decode(token) else {
        return TokenError::Malformed;
    };
    if raw.len() != V1_PAYLOAD_BYTES + TAG_BYTES || raw[0] != 1 {
        return TokenError::Malformed;
    }
    let (payload, tag) = raw.split_at(V1_PAYLOAD_BYTES);
    if hmac::verify(&key.mac, &signed_input(payload), tag).is_err() {
        return TokenError::BadSignature;
    }
    let mut approval = [0u8; 8];
    approval.copy_from_slice(&payload[1..9]);
    TokenError::Outdated {
        approval: u64::from_be_bytes(approval),
    }
}

#[cfg(test)]
mod tests;
