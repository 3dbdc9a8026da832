//! Backups whole and damaged: every damaged file is refused before anything is mapped or written,
//! and the store is left as it was.

use super::*;
use crate::store::check::tests::{Rng, sample_store};
use crate::store::held as held_db;
use crate::store::tests::held;

fn store_with_backup(dir: &Path) -> (Store, Vec<u8>) {
    sample_store(&dir.join("src"));
    let src = Store::open(&dir.join("src"), &crate::testing::options()).unwrap();
    let file = dir.join("backup.sbk");
    backup(&src, &file).unwrap();
    src.close();
    let store = Store::open(&dir.join("live"), &crate::testing::options()).unwrap();
    let h = held("live@b.example", &["c@d.example"], 7);
    store
        .write_blocking(move |txn| held_db::insert(txn, h, b"live", crate::testing::caps()))
        .unwrap();
    (store, std::fs::read(&file).unwrap())
}

fn live_is_untouched(store: &Store) {
    let content = store
        .read(|txn| held_db::content(txn, crate::store::records::HeldId(1)))
        .unwrap();
    assert_eq!(content.as_deref(), Some(&b"live"[..]));
}

#[test]
fn a_backup_verifies_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let (store, bytes) = store_with_backup(dir.path());
    assert_eq!(&bytes[..8], MAGIC);
    verify_bytes(&bytes).unwrap();
    let r = restore(&store, &dir.path().join("backup.sbk")).unwrap();
    assert!(r.records > 120, "{r:?}");
    assert!(!store.path().unwrap().join("restore.partial").exists());
    // The live store's held counter (2) was below the backup's (121): ids continue from 121.
    let h = held("n@b.example", &["c@d.example"], 9);
    let (id, _) = store
        .write_blocking(move |txn| held_db::insert(txn, h, b"n", crate::testing::caps()))
        .unwrap();
    assert_eq!(id, crate::store::records::HeldId(121));
}

#[test]
fn damaged_backups_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, bytes) = store_with_backup(dir.path());
    let file = dir.path().join("damaged.sbk");
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("half".into(), bytes[..bytes.len() / 2].to_vec()),
        ("8192".into(), bytes[..8192].to_vec()),
        ("header only".into(), bytes[..HEADER].to_vec()),
        ("empty".into(), Vec::new()),
        ("longer".into(), [&bytes[..], b"x"].concat()),
    ];
    let mut rng = Rng(0xBAC4_0001);
    for i in 0..12 {
        let mut b = bytes.clone();
        let at = HEADER + (rng.next() as usize) % (b.len() - HEADER);
        b[at] ^= 1 << (rng.next() % 8);
        cases.push((format!("flip {i} at {at}"), b));
    }
    for page in [0usize, 1, 2, 5] {
        let mut b = bytes.clone();
        let start = HEADER + page * 4096;
        b[start..start + 16].copy_from_slice(&rng.next().to_le_bytes().repeat(2));
        cases.push((format!("page header {page}"), b));
    }
    for (name, b) in cases {
        assert!(verify_bytes(&b).is_err(), "{name}");
        std::fs::write(&file, &b).unwrap();
        let err = restore(&store, &file).unwrap_err();
        assert!(matches!(err, StoreError::Backup(_)), "{name}: {err}");
        live_is_untouched(&store);
    }
}

#[test]
fn a_bare_lmdb_copy_from_an_earlier_sluice_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_backup(dir.path());
    let old = dir.path().join("old.mdb");
    std::fs::copy(dir.path().join("src/data.mdb"), &old).unwrap();
    let err = restore(&store, &old).unwrap_err().to_string();
    assert!(err.contains("bare LMDB copy"), "{err}");
    // The way such a copy can still be used (tests/store_migration.rs opens one from 14e51ea).
    assert!(err.contains("<data_dir>/store/data.mdb"), "{err}");
    live_is_untouched(&store);
}

#[test]
fn a_sound_backup_holding_an_unreadable_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = Store::open(&dir.path().join("src"), &crate::testing::options()).unwrap();
    let h = held("a@b.example", &["c@d.example"], 1);
    src.write_blocking(move |txn| held_db::insert(txn, h, b"x", crate::testing::caps()))
        .unwrap();
    src.write_blocking(|txn| {
        txn.put(
            Table::Held,
            &crate::store::keys::id_key(1),
            b"{\"id\":1,\"gu",
        )?;
        Ok(())
    })
    .unwrap();
    let file = dir.path().join("b.sbk");
    backup(&src, &file).unwrap();
    src.close();
    verify_bytes(&std::fs::read(&file).unwrap()).unwrap();
    let store = Store::open(&dir.path().join("live"), &crate::testing::options()).unwrap();
    let h = held("live@b.example", &["c@d.example"], 7);
    store
        .write_blocking(move |txn| held_db::insert(txn, h, b"live", crate::testing::caps()))
        .unwrap();
    let err = restore(&store, &file).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { what, .. } if what.contains("held record 1")),
        "{err}"
    );
    live_is_untouched(&store);
}

/// Issue 9 item 5: a store lost after its backup (data.mdb deleted, the marker kept) and restored
/// from that backup hands out none of the ids issued between the backup and the loss again.
#[test]
fn a_lost_store_restored_from_its_backup_reuses_no_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let insert = |store: &Store, at: u64| {
        let h = held("a@b.example", &["c@d.example"], at);
        let (id, _) = store
            .write_blocking(move |txn| held_db::insert(txn, h, b"x", crate::testing::caps()))
            .unwrap();
        id
    };
    let store = Store::open(&path, &crate::testing::options()).unwrap();
    let mut handed_out: Vec<crate::store::records::HeldId> =
        (1..=2).map(|at| insert(&store, at)).collect();
    let file = dir.path().join("backup.sbk");
    backup(&store, &file).unwrap();
    handed_out.extend((3..=5).map(|at| insert(&store, at)));
    store.close();
    std::fs::remove_file(path.join(crate::store::DATA_FILE)).unwrap();
    assert!(path.join(crate::store::MARKER).exists());
    let err = Store::open(&path, &crate::testing::options())
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Lost(_)), "{err}");
    let store = Store::open_as(
        &path,
        &crate::testing::options(),
        crate::store::Mode::Restore,
    )
    .unwrap();
    restore(&store, &file).unwrap();
    let next = insert(&store, 6);
    let highest = *handed_out.iter().max().unwrap();
    assert!(
        next > highest,
        "id {next} again after the restore (had {handed_out:?})"
    );
    store.close();
    // Reopened as the server and the CLI open it, it goes on from there.
    let store = Store::open(&path, &crate::testing::options()).unwrap();
    assert_eq!(insert(&store, 7).0, next.0 + 1);
}

/// The backup of a schema 2 store (before the `admin` table) as its Sluice wrote it: every table
/// but `admin`, one held message.
fn schema_2_backup(dir: &Path) -> Vec<u8> {
    let path = dir.join("old");
    std::fs::create_dir_all(&path).unwrap();
    let mut opts = EnvOpenOptions::new().read_txn_without_tls();
    opts.map_size(1 << 24).max_dbs(DATABASES);
    // SAFETY: a fresh directory of this test, opened once.
    let env = unsafe { opts.open(&path) }.unwrap();
    let mut txn = env.write_txn().unwrap();
    for t in Table::ALL.into_iter().filter(|t| *t != Table::Admin) {
        let db = env
            .create_database::<Bytes, Bytes>(&mut txn, Some(t.name()))
            .unwrap();
        if t == Table::Meta {
            db.put(&mut txn, b"schema", &2u32.to_be_bytes()).unwrap();
        }
    }
    txn.commit().unwrap();
    let raw = dir.join("old.mdb");
    drop(env.copy_to_path(&raw, CompactionOption::Enabled).unwrap());
    let content = std::fs::read(&raw).unwrap();
    let length = content.len() as u64;
    let mut h = hasher(length);
    h.update(&content);
    [
        &header_prefix(length)[..],
        h.finalize().as_bytes(),
        &content,
    ]
    .concat()
}

#[test]
fn a_backup_from_before_the_admin_table_restores() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = schema_2_backup(dir.path());
    verify_bytes(&bytes).unwrap();
    let file = dir.path().join("old.sbk");
    std::fs::write(&file, &bytes).unwrap();
    let store = Store::open(&dir.path().join("live"), &crate::testing::options()).unwrap();
    let r = restore(&store, &file).unwrap();
    assert_eq!(r.schema, 2);
    assert_eq!(store.read(schema::version).unwrap(), Some(schema::CURRENT));
    // The admin table is there and works.
    let user = crate::store::users::User {
        name: "root".into(),
        role: "administrator".into(),
        hash: "$argon2id$x".into(),
        created: 1,
        changed: 1,
        disabled: false,
        last_logon: None,
    };
    store
        .write_blocking(move |txn| crate::store::users::put(txn, &user))
        .unwrap();
    let found = store
        .read(|txn| crate::store::users::get(txn, "ROOT"))
        .unwrap();
    assert_eq!(found.map(|u| u.role).as_deref(), Some("administrator"));
    // A backup with the table restores it whole.
    let with = dir.path().join("with.sbk");
    backup(&store, &with).unwrap();
    store
        .write_blocking(|txn| crate::store::users::delete(txn, "root"))
        .unwrap();
    restore(&store, &with).unwrap();
    assert!(
        store
            .read(|txn| crate::store::users::get(txn, "root"))
            .unwrap()
            .is_some()
    );
}
