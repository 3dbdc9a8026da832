//! Administrators' accounts and their API tokens in the `admin` table: a [`User`] under `u:` and
//! its lower-cased name (names are unique without regard to case), an [`ApiToken`] under `t:` and
//! its public id. JSON records. What a password or a token secret is never reaches the store: only
//! the argon2id hash (PHC string) of a password and the BLAKE3 digest of a token's secret. The
//! rules (names, passwords, the last administrator) are the service's (`service::users`).

use serde::{Deserialize, Serialize};

use super::kv::{Order, ReadTxn, Table, WriteTxn};
use super::{Result, get_json, put_json};

const USER: &[u8] = b"u:";
const TOKEN: &[u8] = b"t:";

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// As given when the account was made (looked up without regard to case).
    pub name: String,
    /// `service::Role::name`.
    pub role: String,
    /// The password's argon2id hash as a PHC string (`$argon2id$v=19$m=...`).
    pub hash: String,
    /// Unix seconds.
    pub created: u64,
    /// Last change of the password, role or state (Unix seconds).
    pub changed: u64,
    pub disabled: bool,
    #[serde(default)]
    pub last_logon: Option<u64>,
}

/// One API token: `slc_<id>_<secret>`; only the digest of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// The public id (12 characters), shown in lists and used to revoke.
    pub id: String,
    /// The account it acts for.
    pub user: String,
    /// The account's role when the token was made; a token stops working when they differ.
    pub role: String,
    /// BLAKE3 of the secret, hex.
    pub hash: String,
    pub created: u64,
    /// Unix seconds; `None`: until revoked.
    #[serde(default)]
    pub expires: Option<u64>,
    /// Last use (Unix seconds), updated at most once a minute.
    #[serde(default)]
    pub last_used: Option<u64>,
}

fn user_key(name: &str) -> Vec<u8> {
    [USER, name.to_lowercase().as_bytes()].concat()
}

fn token_key(id: &str) -> Vec<u8> {
    [TOKEN, id.as_bytes()].concat()
}

/// The account called `name` (any case).
pub fn get(txn: &dyn ReadTxn, name: &str) -> Result<Option<User>> {
    get_json(txn, Table::Admin, &user_key(name), || {
        format!("account {name:?}")
    })
}

/// Writes the account (a new one, or a change to it).
pub fn put(txn: &mut dyn WriteTxn, user: &User) -> Result<()> {
    put_json(txn, Table::Admin, &user_key(&user.name), user)
}

/// Removes the account and its tokens; says whether it was there.
pub fn delete(txn: &mut dyn WriteTxn, name: &str) -> Result<bool> {
    for t in tokens(txn, Some(name))? {
        txn.delete(Table::Admin, &token_key(&t.id))?;
    }
    txn.delete(Table::Admin, &user_key(name))
}

/// Every account, by name.
pub fn list(txn: &dyn ReadTxn) -> Result<Vec<User>> {
    scan(txn, USER, "account")
}

fn scan<T: serde::de::DeserializeOwned>(
    txn: &dyn ReadTxn,
    prefix: &[u8],
    what: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for e in txn.prefix(Table::Admin, prefix, Order::Forward)? {
        let (k, v) = e?;
        out.push(
            serde_json::from_slice(v).map_err(|e| super::StoreError::Corrupt {
                what: format!("{what} {:?}", String::from_utf8_lossy(&k[prefix.len()..])),
                detail: e.to_string(),
            })?,
        );
    }
    Ok(out)
}

/// The token with public id `id`.
pub fn get_token(txn: &dyn ReadTxn, id: &str) -> Result<Option<ApiToken>> {
    get_json(txn, Table::Admin, &token_key(id), || {
        format!("token {id:?}")
    })
}

pub fn put_token(txn: &mut dyn WriteTxn, token: &ApiToken) -> Result<()> {
    put_json(txn, Table::Admin, &token_key(&token.id), token)
}

/// Removes a token; says whether it was there.
pub fn delete_token(txn: &mut dyn WriteTxn, id: &str) -> Result<bool> {
    txn.delete(Table::Admin, &token_key(id))
}

/// The tokens of `user` (any case), or of everyone, by id.
pub fn tokens(txn: &dyn ReadTxn, user: Option<&str>) -> Result<Vec<ApiToken>> {
    let mut all: Vec<ApiToken> = scan(txn, TOKEN, "token")?;
    if let Some(u) = user {
        all.retain(|t| t.user.eq_ignore_ascii_case(u));
    }
    Ok(all)
}

/// Whether a key of the `admin` table is an account's or a token's (backup checks).
pub(crate) fn decode(k: &[u8], v: &[u8]) -> Option<std::result::Result<(), String>> {
    let check = |r: std::result::Result<(), serde_json::Error>| r.map_err(|e| e.to_string());
    if k.starts_with(USER) {
        Some(check(serde_json::from_slice::<User>(v).map(drop)))
    } else if k.starts_with(TOKEN) {
        Some(check(serde_json::from_slice::<ApiToken>(v).map(drop)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn open(dir: &std::path::Path) -> Store {
        Store::open(dir, &crate::testing::options()).expect("open store")
    }

    crate::testing::on_both_backends!(accounts_and_tokens_are_kept_and_removed_together);

    pub(crate) fn user(name: &str, role: &str) -> User {
        User {
            name: name.into(),
            role: role.into(),
            hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
            created: 1,
            changed: 1,
            disabled: false,
            last_logon: None,
        }
    }

    fn token(id: &str, user: &str) -> ApiToken {
        ApiToken {
            id: id.into(),
            user: user.into(),
            role: "auditor".into(),
            hash: "00".repeat(32),
            created: 2,
            expires: None,
            last_used: None,
        }
    }

    fn accounts_and_tokens_are_kept_and_removed_together(store: Store) {
        store
            .write_blocking(|txn| {
                put(txn, &user("Alice", "administrator"))?;
                put(txn, &user("bob", "auditor"))?;
                put_token(txn, &token("aaaaaaaaaaaa", "Alice"))?;
                put_token(txn, &token("bbbbbbbbbbbb", "bob"))
            })
            .unwrap();
        store
            .read(|txn| {
                assert_eq!(get(txn, "alice")?.unwrap().name, "Alice");
                let names: Vec<_> = list(txn)?.into_iter().map(|u| u.name).collect();
                assert_eq!(names, ["Alice", "bob"]);
                assert_eq!(tokens(txn, Some("ALICE"))?.len(), 1);
                assert_eq!(tokens(txn, None)?.len(), 2);
                assert!(get_token(txn, "bbbbbbbbbbbb")?.is_some());
                Ok(())
            })
            .unwrap();
        assert!(store.write_blocking(|txn| delete(txn, "ALICE")).unwrap());
        store
            .read(|txn| {
                assert!(get(txn, "Alice")?.is_none());
                assert!(get_token(txn, "aaaaaaaaaaaa")?.is_none());
                assert_eq!(tokens(txn, None)?.len(), 1);
                Ok(())
            })
            .unwrap();
    }
}
