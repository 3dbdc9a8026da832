//! `sluice edm import` through the real binary: a temporary CSV in, the summary on stdout, the index
//! file under <data_dir>/edm/ (no cell value in its bytes, loadable, matching), and exit 2 on bad input.

use std::path::Path;
use std::process::{Command, Output};

use sluice::detect::edm::{file, matcher};

const CSV: &str = "\
name,email,ssn,address
\"Smith, Jane\",jane.smith@example.com,123-45-6789,12 Main Street
Bob Jones,bob@example.org,987-65-4321,\"4 Elm Road, Apt 2\"
broken,row
Wei Zhang,wei@example.net,111-22-3333,9 Oak Avenue
";

fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .output()
        .expect("run sluice")
}

fn write_csv(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write csv");
    path.to_string_lossy().into_owned()
}

#[test]
fn import_writes_an_index_without_plaintext_and_reports_a_summary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let csv = write_csv(tmp.path(), "customers.csv", CSV);
    let data = tmp.path().join("data");
    let out = sluice(&["edm", "import", "--data-dir", data.to_str().unwrap(), &csv]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("edm index customers: 3 rows, 4 columns"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ssn (number)") && stdout.contains("name (text)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rows skipped: 1: line 4 (2 fields)"),
        "{stdout}"
    );

    let path = data.join("edm").join("customers.edm");
    assert!(stdout.contains(&path.display().to_string()), "{stdout}");
    // Nothing a cell holds is in the output or in the file.
    let bytes = std::fs::read(&path).expect("index file");
    let hay = String::from_utf8_lossy(&bytes).to_lowercase();
    for line in CSV.lines().skip(1) {
        for cell in line.split(',') {
            let cell = cell.trim_matches('"').trim().to_lowercase();
            let digits: String = cell.chars().filter(char::is_ascii_digit).collect();
            for needle in std::iter::once(cell.clone())
                .chain(
                    cell.split(|c: char| !c.is_alphanumeric())
                        .map(str::to_owned),
                )
                .chain(std::iter::once(digits))
                .filter(|n| n.len() >= 3)
            {
                assert!(!hay.contains(&needle), "index file contains {needle:?}");
                if needle != "broken" && needle != "row" {
                    assert!(
                        !stdout.to_lowercase().contains(&needle),
                        "output names {needle:?}"
                    );
                }
            }
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(data.join("edm")).unwrap().count(), 1);

    // The file loads and finds a row.
    let index = file::read(&path).expect("load index");
    let hits = matcher::find(
        &index,
        "Please update BOB JONES, SSN 987654321.",
        matcher::MatchParams::default(),
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].row, 2);
    assert_eq!(
        hits[0].to_hit(&index).redacted,
        "row 2: name, ssn (2 of 4 columns)"
    );

    // Importing again under another name keeps the first index.
    let out = sluice(&[
        "edm",
        "import",
        "--data-dir",
        data.to_str().unwrap(),
        "--name",
        "crm-2",
        &csv,
    ]);
    assert!(out.status.success());
    assert!(data.join("edm").join("crm-2.edm").exists());
    assert!(path.exists());
}

#[test]
fn corrupt_index_gives_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let csv = write_csv(tmp.path(), "t.csv", CSV);
    let data = tmp.path().join("data");
    assert!(
        sluice(&["edm", "import", "--data-dir", data.to_str().unwrap(), &csv])
            .status
            .success()
    );
    let path = data.join("edm").join("t.edm");
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    std::fs::write(&path, &bytes[..n - 7]).unwrap();
    let e = file::read(&path).unwrap_err().to_string();
    assert!(e.contains("truncated") && e.contains("t.edm"), "{e}");
    bytes[n / 2] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let e = file::read(&path).unwrap_err().to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
}

#[test]
fn bad_input_exits_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let missing = tmp.path().join("missing.csv");
    let out = sluice(&["edm", "import", "--data-dir", d, missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.csv"));

    let header_only = write_csv(tmp.path(), "empty.csv", "a,b\n");
    let out = sluice(&["edm", "import", "--data-dir", d, &header_only]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no usable rows"));

    let dup = write_csv(tmp.path(), "dup.csv", "a,a\n1,2\n");
    let out = sluice(&["edm", "import", "--data-dir", d, &dup]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("appears twice"));

    let ok = write_csv(tmp.path(), "ok.csv", "a\n1\n");
    let out = sluice(&["edm", "import", "--data-dir", d, "--name", "../evil", &ok]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!tmp.path().join("evil.edm").exists());
    assert!(!data.join("edm").exists(), "nothing written on bad input");
}
