//! Damaged stores and backups through the real binary (issue 9): the CLI refuses a damaged store
//! with an error instead of dying on a signal, `sluice restore` refuses every damaged backup and
//! leaves the store as it was, and a store emptied or deleted under its marker is refused (CLI and
//! server) until a backup is restored. Damage is made here: truncations, zeroed pages and bit flips
//! at fixed seeds, so every failure replays.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sluice::store::records::*;
use sluice::store::{Store, held};
use support::sluice::{Sluice, forward_config};

/// Held messages in the prepared store.
const HELD: u64 = 150;

fn sluice(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("USER", "tester")
        .output()
        .expect("run sluice")
}

/// The exit code; a death by signal (SIGSEGV, SIGBUS) fails the test with what it was.
fn code(o: &Output, what: &str) -> i32 {
    match o.status.code() {
        Some(c) => c,
        None => panic!("{what}: sluice died: {:?}", o.status),
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn record(n: u64) -> Held {
    Held {
        id: HeldId(0),
        guid: format!("9b2f0c1e-0000-4000-8000-{n:012}"),
        received: 1_700_000_000 + n,
        direction: sluice::policy::Direction::Outbound,
        peer: "127.0.0.1".into(),
        sender: format!("s{n}@corp.example"),
        envid: None,
        ret_full: false,
        recipients: vec![HeldRecipient {
            address: "r@partner.example".into(),
            notify: Default::default(),
            orcpt: None,
            status: HeldStatus::Held,
        }],
        subject: format!("report {n}"),
        message_id: format!("<m{n}@corp.example>"),
        size: 0,
        policies: vec![PolicyRef {
            id: 300,
            name: "Project Falcon".into(),
            severity: sluice::policy::Severity::High,
            monitor: false,
        }],
        severity: sluice::policy::Severity::High,
        status: HeldStatus::Held,
        hold: Hold::Quarantine,
        findings: vec![],
        incidents: vec![],
        expires: u64::MAX / 2,
    }
}

/// A data dir whose store holds [`HELD`] messages (every tenth with a large body).
fn prepare(data: &Path) {
    let store = Store::open(
        &data.join("store"),
        &sluice::config::Config::embedded()
            .unwrap()
            .store
            .store_options(),
    )
    .expect("open store");
    store
        .write_blocking(|txn| {
            for n in 1..=HELD {
                let body = if n % 10 == 0 {
                    vec![b'x'; 12_000]
                } else {
                    format!("Subject: report {n}\r\n\r\nfalcon\r\n").into_bytes()
                };
                held::insert(
                    txn,
                    record(n),
                    &body,
                    sluice::config::Config::embedded().unwrap().store.caps(),
                )?;
            }
            Ok(())
        })
        .expect("fill store");
    store.close();
}

/// xorshift64*: damage at fixed seeds.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

const PAGE: usize = 4096;

/// Named damaged copies of an LMDB file's bytes: truncations, zeroed pages, and flips in the
/// headers and nodes of pages that look like tree pages (not message content, where a flip is
/// not structural).
fn damaged(bytes: &[u8], seed: u64) -> Vec<(String, Vec<u8>)> {
    let pages = bytes.len() / PAGE;
    let mut out = vec![
        ("half".to_string(), bytes[..bytes.len() / 2].to_vec()),
        ("8192 bytes".to_string(), bytes[..8192].to_vec()),
        ("three pages".to_string(), bytes[..3 * PAGE].to_vec()),
    ];
    let tree: Vec<usize> = (2..pages)
        .filter(|p| matches!(bytes[p * PAGE + 10], 1 | 2))
        .collect();
    let zeroed = [0, 1, tree[0], tree[tree.len() / 2], tree[tree.len() - 1]];
    for page in zeroed {
        let mut b = bytes.to_vec();
        b[page * PAGE..(page + 1) * PAGE].fill(0);
        let what = if page < 2 { "meta page" } else { "page" };
        out.push((format!("zeroed {what} {page}"), b));
    }
    // Page numbers and value sizes pointing past the end of the file.
    let past = (pages + 10) as u64;
    for &page in tree.iter().step_by((tree.len() / 12).max(1)) {
        let mut b = bytes.to_vec();
        let base = page * PAGE;
        let lower = u16::from_le_bytes([b[base + 12], b[base + 13]]) as usize;
        let mut hit = false;
        for i in 0..lower.saturating_sub(16) / 2 {
            let off =
                base + u16::from_le_bytes([b[base + 16 + 2 * i], b[base + 17 + 2 * i]]) as usize;
            if off + 8 > base + PAGE {
                continue;
            }
            if b[base + 10] == 1 {
                b[off..off + 4].copy_from_slice(&(past as u32).to_le_bytes());
                hit = true;
            } else {
                // A value size of a gigabyte more: LMDB hands out a slice past the file.
                b[off + 3] = 0x40;
                hit = true;
            }
        }
        if hit {
            out.push((format!("flips: pointers past the end in page {page}"), b));
        }
    }
    // Every value a gigabyte longer than it is.
    let mut b = bytes.to_vec();
    for &page in tree.iter().filter(|&&p| bytes[p * PAGE + 10] == 2) {
        let base = page * PAGE;
        let lower = u16::from_le_bytes([b[base + 12], b[base + 13]]) as usize;
        for i in 0..lower.saturating_sub(16) / 2 {
            let off =
                base + u16::from_le_bytes([b[base + 16 + 2 * i], b[base + 17 + 2 * i]]) as usize;
            if off + 8 <= base + PAGE {
                b[off + 3] |= 0x40;
            }
        }
    }
    out.push(("flips: every value a gigabyte long".to_string(), b));
    let mut rng = Rng(seed);
    for i in 0..24 {
        let mut b = bytes.to_vec();
        let page = tree[(rng.next() as usize) % tree.len()];
        let at = page * PAGE + (rng.next() as usize) % PAGE;
        b[at] ^= 1 << (rng.next() % 8);
        let at = page * PAGE + 8 + (rng.next() as usize) % 8;
        b[at] = rng.next() as u8;
        out.push((format!("flips {i} in page {page}"), b));
    }
    out
}

fn write_store(data: &Path, bytes: &[u8]) {
    let dir = data.join("store");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data.mdb"), bytes).unwrap();
    let _ = std::fs::remove_file(dir.join("lock.mdb"));
}

#[test]
fn the_cli_refuses_damaged_stores_and_never_dies_on_them() {
    let base = tempfile::tempdir().unwrap();
    prepare(base.path());
    let bytes = std::fs::read(base.path().join("store/data.mdb")).unwrap();
    let mut refused = 0;
    for (name, b) in damaged(&bytes, 0xC0FF_EE01) {
        let data = tempfile::tempdir().unwrap();
        write_store(data.path(), &b);
        let list = sluice(data.path(), &["quarantine", "list", "--limit", "1000"]);
        let c = code(&list, &name);
        let show = sluice(data.path(), &["quarantine", "show", "77"]);
        code(&show, &name);
        let incidents = sluice(data.path(), &["incident", "list"]);
        code(&incidents, &name);
        assert!(c == 0 || c == 2, "{name}: exit {c}");
        if c == 2 {
            refused += 1;
            assert!(
                stderr(&list).starts_with("sluice quarantine"),
                "{name}: {}",
                stderr(&list)
            );
        }
        // Truncated or without a meta page: always refused. A zeroed or flipped page may be a
        // free one (old content no tree reaches), which is harmless.
        if !name.starts_with("flips") && !name.starts_with("zeroed page") {
            assert_eq!(c, 2, "{name}: a damaged store was opened");
        }
    }
    assert!(refused >= 20, "only {refused} damaged stores refused");
}

/// The held ids the CLI lists, in order.
fn listed(data: &Path) -> Vec<u64> {
    let o = sluice(data, &["quarantine", "list", "--limit", "1000"]);
    assert_eq!(code(&o, "list"), 0, "{}", stderr(&o));
    let mut ids: Vec<u64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn restore_refuses_damaged_backups_and_keeps_the_store() {
    let data = tempfile::tempdir().unwrap();
    prepare(data.path());
    let file = data.path().join("backup.sbk");
    let o = sluice(data.path(), &["backup", file.to_str().unwrap()]);
    assert_eq!(code(&o, "backup"), 0, "{}", stderr(&o));
    let before = listed(data.path());
    assert_eq!(before.len() as u64, HELD);
    let bytes = std::fs::read(&file).unwrap();
    // Damage the content, wherever it starts (an LMDB file's first page has the meta magic).
    let start = (0..64)
        .find(|&i| bytes[i + 16..i + 20] == 0xBEEF_C0DEu32.to_le_bytes())
        .expect("an LMDB copy inside the backup");
    let damaged_file = data.path().join("damaged.sbk");
    for (name, content) in damaged(&bytes[start..], 0xBAC0_0002) {
        let b = [&bytes[..start], &content[..]].concat();
        std::fs::write(&damaged_file, &b).unwrap();
        let o = sluice(data.path(), &["restore", damaged_file.to_str().unwrap()]);
        assert_eq!(code(&o, &name), 2, "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("backup refused"),
            "{name}: {}",
            stderr(&o)
        );
        assert_eq!(listed(data.path()), before, "{name}: the store changed");
    }
    // A record flipped inside the content (past the structure): the checksum catches it.
    let mut b = bytes.clone();
    let last = b.len() - 100;
    b[last] ^= 0x20;
    std::fs::write(&damaged_file, &b).unwrap();
    let o = sluice(data.path(), &["restore", damaged_file.to_str().unwrap()]);
    assert_eq!(code(&o, "content flip"), 2, "{}", stderr(&o));
    // The sound backup restores.
    let o = sluice(data.path(), &["restore", file.to_str().unwrap()]);
    assert_eq!(code(&o, "restore"), 0, "{}", stderr(&o));
    assert_eq!(listed(data.path()), before);
}

fn store_file(data: &Path) -> PathBuf {
    data.join("store/data.mdb")
}

#[test]
fn an_emptied_or_deleted_store_is_refused_until_a_backup_is_restored() {
    let data = tempfile::tempdir().unwrap();
    prepare(data.path());
    let file = data.path().join("backup.sbk");
    let o = sluice(data.path(), &["backup", file.to_str().unwrap()]);
    assert_eq!(code(&o, "backup"), 0, "{}", stderr(&o));
    for emptied in [true, false] {
        if emptied {
            std::fs::File::create(store_file(data.path())).unwrap();
        } else {
            std::fs::remove_file(store_file(data.path())).unwrap();
        }
        let o = sluice(data.path(), &["quarantine", "list"]);
        assert_eq!(code(&o, "list"), 2, "a lost store was re-created empty");
        let err = stderr(&o);
        assert!(
            err.contains("store lost")
                && err.contains("sluice restore")
                && err.contains("store.marker"),
            "{err}"
        );
        // Nothing was re-created in its place.
        let len = std::fs::metadata(store_file(data.path())).map_or(0, |m| m.len());
        assert_eq!(len, 0);

        // The server refuses it too (holding fails, nothing else does) and leaves it alone.
        let config = forward_config(&["127.0.0.1:9".parse().unwrap()], "");
        let server = Sluice::start_with_data(&config, data.path());
        assert!(server.wait_log("the store cannot be opened", Duration::from_secs(10)));
        assert!(server.logs().join("\n").contains("store lost"));
        drop(server);
        let len = std::fs::metadata(store_file(data.path())).map_or(0, |m| m.len());
        assert_eq!(len, 0);

        let o = sluice(data.path(), &["restore", file.to_str().unwrap()]);
        assert_eq!(code(&o, "restore"), 0, "{}", stderr(&o));
        assert_eq!(listed(data.path()).len() as u64, HELD);
    }
}

#[test]
fn restore_over_a_damaged_store_says_how_and_then_works() {
    let data = tempfile::tempdir().unwrap();
    prepare(data.path());
    let file = data.path().join("backup.sbk");
    let o = sluice(data.path(), &["backup", file.to_str().unwrap()]);
    assert_eq!(code(&o, "backup"), 0, "{}", stderr(&o));
    let len = std::fs::metadata(store_file(data.path())).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(store_file(data.path()))
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let o = sluice(data.path(), &["restore", file.to_str().unwrap()]);
    assert_eq!(code(&o, "restore"), 2);
    assert!(stderr(&o).contains("move data.mdb aside"), "{}", stderr(&o));
    std::fs::rename(store_file(data.path()), data.path().join("damaged.mdb")).unwrap();
    let o = sluice(data.path(), &["restore", file.to_str().unwrap()]);
    assert_eq!(code(&o, "restore"), 0, "{}", stderr(&o));
    assert_eq!(listed(data.path()).len() as u64, HELD);
}
