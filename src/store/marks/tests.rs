//! The mark file's format (every damage is refused) and the block reservation on real stores.

use super::*;
use crate::store::tests::held;
use crate::store::{Mode, Store, held as held_db, keys};

/// A file with `body` (after the header) and a correct checksum.
fn file_with(header: &str, body: &str) -> Vec<u8> {
    let text = format!("{header}\n{body}");
    format!("{text}blake3 {}\n", blake3::hash(text.as_bytes()).to_hex()).into_bytes()
}

#[test]
fn the_file_round_trips_and_says_what_it_is() {
    let marks: Marks = [("held".to_string(), 1025), ("incident".to_string(), 7)].into();
    let bytes = render(&marks);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("sluice id high-water marks 1\n"), "{text}");
    assert!(text.contains("\nheld 1025\n"), "{text}");
    assert_eq!(parse(&bytes).unwrap(), marks);
    assert_eq!(parse(&render(&Marks::new())).unwrap(), Marks::new());
}

#[test]
fn damaged_content_is_refused_never_read_as_lower_marks() {
    let good = render(&[("held".to_string(), 1025), ("queue".to_string(), 2049)].into());
    let text = String::from_utf8(good.clone()).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "not an id high-water mark file"),
        (b"held 1025\n".to_vec(), "not an id high-water mark file"),
        (vec![0xff, 0xfe, b'\n', b'\n'], "not text"),
        (good[..good.len() - 1].to_vec(), "checksum line is missing"),
        // Truncated after a counter: the last line is not the checksum.
        (
            text.as_bytes()[..text.find("queue").unwrap()].to_vec(),
            "checksum",
        ),
        (text.replace("1025", "1005").into_bytes(), "does not match"),
        (
            text.replace("queue 2049\n", "").into_bytes(),
            "does not match",
        ),
        (
            file_with("sluice id high-water marks 2", "held 5\n"),
            "format this Sluice does not read",
        ),
        (file_with(HEADER, "held\n"), "line 2"),
        (file_with(HEADER, "held -5\n"), "line 2"),
        (file_with(HEADER, "held 18446744073709551616\n"), "line 2"),
        (file_with(HEADER, "Held 5\n"), "line 2"),
        (file_with(HEADER, "held 5\nheld 9\n"), "line 3"),
        (file_with(HEADER, "held  5\n"), "line 2"),
    ];
    for (bytes, why) in cases {
        let err = parse(&bytes).expect_err(&String::from_utf8_lossy(&bytes));
        assert!(
            err.contains(why),
            "{err:?} for {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
    assert_eq!(
        parse(&file_with(HEADER, "# a note\nevent 3\n")).unwrap(),
        [("event".to_string(), 3)].into()
    );
}

/// Allocates `n` ids of `counter` in one write; returns them.
fn allocate(store: &Store, counter: &'static str, n: u64) -> Vec<u64> {
    store
        .write_blocking(move |txn| {
            (0..n)
                .map(|_| keys::next_id(txn, counter))
                .collect::<Result<Vec<u64>>>()
        })
        .unwrap()
}

fn file_marks(dir: &Path) -> Marks {
    MarkFile::new(dir).load().unwrap().expect("mark file")
}

fn saves(store: &Store) -> u64 {
    store.lmdb().unwrap().dbs.marks.saves()
}

#[test]
fn ids_are_reserved_a_block_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &crate::testing::options()).unwrap();
    assert_eq!(saves(&store), 0, "a new store writes no marks");
    assert_eq!(allocate(&store, "held", 1), vec![1]);
    assert_eq!(saves(&store), 1);
    assert_eq!(file_marks(dir.path())["held"], 1 + BLOCK);
    // The rest of the block costs no write of the file.
    let ids = allocate(&store, "held", BLOCK - 1);
    assert_eq!(ids.last(), Some(&BLOCK));
    assert_eq!(saves(&store), 1);
    // The first id of the next block raises the mark first.
    assert_eq!(allocate(&store, "held", 1), vec![BLOCK + 1]);
    assert_eq!(saves(&store), 2);
    assert_eq!(file_marks(dir.path())["held"], 2 * BLOCK + 1);
    // Another counter gets its own mark; the others are kept.
    assert_eq!(allocate(&store, "incident", 2), vec![1, 2]);
    assert_eq!(saves(&store), 3);
    let marks = file_marks(dir.path());
    assert_eq!(
        (marks["held"], marks["incident"]),
        (2 * BLOCK + 1, 1 + BLOCK)
    );
    // A write rolled back keeps its id unused, and the mark where it is.
    let err = store
        .write_blocking(|txn| {
            keys::next_id(txn, "held")?;
            Err::<(), _>(StoreError::Refused("no".into()))
        })
        .unwrap_err();
    assert_eq!(err, StoreError::Refused("no".into()));
    assert_eq!(allocate(&store, "held", 1), vec![BLOCK + 2]);
    store.close();
    // A restart neither skips ids nor writes the file.
    let store = Store::open(dir.path(), &crate::testing::options()).unwrap();
    assert_eq!(allocate(&store, "held", 1), vec![BLOCK + 3]);
    assert_eq!(saves(&store), 0);
}

#[test]
fn an_older_data_file_put_back_is_raised_to_the_mark_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join(crate::store::DATA_FILE);
    let store = Store::open(dir.path(), &crate::testing::options()).unwrap();
    allocate(&store, "held", 3);
    store.close();
    let old = std::fs::read(&data).unwrap();
    let store = Store::open(dir.path(), &crate::testing::options()).unwrap();
    let last = *allocate(&store, "held", BLOCK + 10).last().unwrap();
    store.close();
    std::fs::write(&data, old).unwrap();
    for mode in [Mode::Existing, Mode::Serve] {
        let store = Store::open_as(dir.path(), &crate::testing::options(), mode).unwrap();
        let next = allocate(&store, "held", 1)[0];
        assert!(next > last, "{mode:?}: id {next} again (last was {last})");
        store.close();
    }
}

#[test]
fn a_damaged_mark_file_refuses_the_store_until_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &crate::testing::options()).unwrap();
    allocate(&store, "held", 5);
    store.close();
    let file = dir.path().join(FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&file, &bytes).unwrap();
    for mode in [Mode::Serve, Mode::Existing, Mode::Restore] {
        let err = Store::open_as(dir.path(), &crate::testing::options(), mode)
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(FILE) && text.contains("move the file aside"),
            "{text}"
        );
        assert!(!text.contains("data.mdb aside"), "{text}");
    }
    // Moved aside: rebuilt from the store (its data.mdb is intact), the ids go on.
    std::fs::rename(&file, dir.path().join("ids.highwater.bad")).unwrap();
    let store = Store::open(dir.path(), &crate::testing::options()).unwrap();
    assert_eq!(file_marks(dir.path())["held"], 1 + BLOCK);
    let h = held("a@b.example", &["c@d.example"], 1);
    let (id, _) = store
        .write_blocking(move |txn| held_db::insert(txn, h, b"x", crate::testing::caps()))
        .unwrap();
    assert_eq!(id, crate::store::records::HeldId(6));
}
