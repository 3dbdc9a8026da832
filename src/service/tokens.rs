//! API tokens for scripts (`Authorization: Bearer slc_<id>_<secret>` on `/api/v1/...`): made per
//! account with an optional expiry, shown once, kept only as the BLAKE3 digest of the secret. The
//! id (12 characters) is public: lists show it and a revocation names it. A token acts with its
//! account's role as it was when the token was made; it stops working when the account's role
//! changes, when the account is disabled or removed, when it expires, or when it is revoked.

use std::time::Duration;

use serde::Serialize;

use crate::store::audit;
use crate::store::users::{self, ApiToken};

use super::{Caller, Error, Result, Role, Service};

/// What every token starts with (so a leaked one is recognisable, e.g. by secret scanners).
pub const PREFIX: &str = "slc_";
/// Characters of a token's public id: letters and digits (never a leading `-`, so it can be
/// given on a command line as it is).
pub const ID_CHARS: usize = 12;
/// Bytes of a token's secret (written as 43 characters of base64url).
pub const SECRET_BYTES: usize = 32;
/// A token's last use is written at most this often (seconds).
pub const LAST_USED_EVERY: u64 = 60;

/// The same answer for every token that does not work (unknown, wrong, expired, revoked, stale).
const REFUSED: &str = "the API token is not valid";

/// A token as lists show it (no secret, no digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenView {
    pub id: String,
    pub user: String,
    pub role: String,
    pub created: u64,
    pub expires: Option<u64>,
    pub last_used: Option<u64>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> TokenView {
        TokenView {
            id: t.id,
            user: t.user,
            role: t.role,
            created: t.created,
            expires: t.expires,
            last_used: t.last_used,
        }
    }
}

/// A fresh public id: [`ID_CHARS`] letters and digits (about 71 bits).
fn public_id() -> Result<String> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; ID_CHARS];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("random: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// `slc_<id>_<secret>` -> (id, secret); `None` when it is not of that form.
fn parse(bearer: &str) -> Option<(&str, &str)> {
    let rest = bearer.trim().strip_prefix(PREFIX)?;
    let id = rest.get(..ID_CHARS)?;
    let secret = rest.get(ID_CHARS..)?.strip_prefix('_')?;
    (!secret.is_empty()).then_some((id, secret))
}

impl Service {
    /// Makes a token for the enabled account `user`, valid for `expires` from `now` (`None`: until
    /// revoked). Returns its public id and the token itself, which is never shown again.
    pub fn create_token(
        &self,
        user: &str,
        expires: Option<Duration>,
        now: u64,
        caller: &Caller,
    ) -> Result<(String, String)> {
        let id = public_id()?;
        let secret = crate::secret::random(SECRET_BYTES).map_err(Error::Internal)?;
        let token = format!("{PREFIX}{id}_{secret}");
        let expires = expires.map(|d| now.saturating_add(d.as_secs()));
        let digest = crate::secret::digest(secret.as_bytes());
        let mut entry = caller.entry(now, "token.create", &id);
        let (name, tid) = (user.to_string(), id.clone());
        self.store.write_blocking(move |txn| {
            if users::get_token(txn, &tid)?.is_some() {
                return Err(crate::store::StoreError::Refused(
                    "a token with this id exists; try again".into(),
                ));
            }
            let u = users::get(txn, &name)?
                .ok_or_else(|| crate::store::StoreError::NotFound(format!("user {name:?}")))?;
            if u.disabled {
                return Err(crate::store::StoreError::Refused(format!(
                    "user {:?} is disabled",
                    u.name
                )));
            }
            entry.after = Some(format!("for {}", u.name));
            users::put_token(
                txn,
                &ApiToken {
                    id: tid,
                    user: u.name,
                    role: u.role,
                    hash: digest,
                    created: now,
                    expires,
                    last_used: None,
                },
            )?;
            audit::append(txn, &entry)?;
            Ok(())
        })?;
        Ok((id, token))
    }

    /// The account and role a bearer token acts as at `now`, or [`Error::Invalid`] (one message
    /// for every reason). Notes the use (at most once a [`LAST_USED_EVERY`]).
    pub fn verify_token(&self, bearer: &str, now: u64) -> Result<(String, Role)> {
        let refused = || Error::Invalid(REFUSED.into());
        let (id, secret) = parse(bearer).ok_or_else(refused)?;
        let found = self.store.read(|txn| {
            let Some(t) = users::get_token(txn, id)? else {
                return Ok(None);
            };
            Ok(users::get(txn, &t.user)?.map(|u| (t, u)))
        })?;
        let Some((token, user)) = found else {
            // As much work as a token that exists.
            crate::secret::matches_digest(secret.as_bytes(), &"0".repeat(64));
            return Err(refused());
        };
        let ok = crate::secret::matches_digest(secret.as_bytes(), &token.hash)
            && token.expires.is_none_or(|e| now < e)
            && !user.disabled
            && user.role == token.role;
        let role = Role::parse(&token.role)
            .filter(|_| ok)
            .ok_or_else(refused)?;
        if token
            .last_used
            .is_none_or(|l| now >= l.saturating_add(LAST_USED_EVERY))
        {
            let id = token.id.clone();
            self.store.write_blocking(move |txn| {
                if let Some(mut t) = users::get_token(txn, &id)? {
                    t.last_used = Some(now);
                    users::put_token(txn, &t)?;
                }
                Ok(())
            })?;
        }
        Ok((user.name, role))
    }

    /// The tokens of `user` (any case), or of every account, by id.
    pub fn list_tokens(&self, user: Option<&str>) -> Result<Vec<TokenView>> {
        let all = self.store.read(|txn| users::tokens(txn, user))?;
        Ok(all.into_iter().map(TokenView::from).collect())
    }

    /// Revokes the token `id`; with `owner`, only if it is that account's (a user revoking their
    /// own from the UI): another's is "not found" to them.
    pub fn revoke_token(&self, id: &str, owner: Option<&str>, caller: &Caller) -> Result<()> {
        let now = self.now();
        let mut entry = caller.entry(now, "token.revoke", id);
        let (id, owner) = (id.to_string(), owner.map(str::to_string));
        self.store.write_blocking(move |txn| {
            let t = users::get_token(txn, &id)?
                .filter(|t| {
                    owner
                        .as_ref()
                        .is_none_or(|o| o.eq_ignore_ascii_case(&t.user))
                })
                .ok_or_else(|| crate::store::StoreError::NotFound(format!("no token {id:?}")))?;
            users::delete_token(txn, &t.id)?;
            entry.before = Some(format!("for {}", t.user));
            audit::append(txn, &entry)?;
            Ok(())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_letters_and_digits() {
        for _ in 0..100 {
            let id = public_id().unwrap();
            assert_eq!(id.len(), ID_CHARS);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
    }

    #[test]
    fn tokens_parse_by_their_fixed_id_length() {
        // base64url ids may hold '_' themselves.
        assert_eq!(
            parse("slc_ab_cdefghijk_secret"),
            Some(("ab_cdefghijk", "secret"))
        );
        assert_eq!(parse(" slc_abcdefghijkl_s "), Some(("abcdefghijkl", "s")));
        assert_eq!(parse("slc_abcdefghijkl_"), None);
        assert_eq!(parse("slc_abcdefghijklXs"), None);
        assert_eq!(parse("abc_abcdefghijkl_s"), None);
        assert_eq!(parse("slc_é"), None);
    }
}
