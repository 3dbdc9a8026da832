//! Loading the file itself and the checks `check-config` used to miss (issue 9, item 11): bounded
//! and UTF-8 reads with positions, and regexes that would match every message.

use super::err;
use crate::config::Config;

#[test]
fn regexes_that_match_the_empty_string_are_refused_where_written() {
    let shorthand =
        |r: &str| format!("[[policy]]\nid = 1\naction = \"log\"\nregexes = [\"a\", {r}]\n");
    for r in [
        r#""""#,
        r#""x*""#,
        r#""^""#,
        r#""\\b""#,
        r#""(?m)^\\s*$""#,
        r#""a|""#,
    ] {
        let e = err(&shorthand(r));
        assert!(
            e.starts_with("test.toml:4:17:") && e.contains("every message"),
            "{r}: {e}"
        );
    }
    let condition = |r: &str| {
        format!(
            "[[policy]]\nid = 1\naction = \"log\"\n[[policy.rule]]\nconditions = [{{ regex = {r} }}]\n"
        )
    };
    let e = err(&condition(r#""""#));
    assert!(
        e.starts_with("test.toml:5:25:") && e.contains("empty"),
        "{e}"
    );
    let e = err(&condition(r#""[0-9]*""#));
    assert!(
        e.starts_with("test.toml:5:25:") && e.contains("every message"),
        "{e}"
    );
    // Patterns that need a character still load.
    Config::parse(&condition(r#""EMP-\\d{6}""#), "ok.toml").unwrap();
    Config::parse(&shorthand(r#""x+""#), "ok.toml").unwrap();
}

#[test]
fn a_file_that_is_not_utf8_is_reported_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    std::fs::write(&path, b"[server]\nhostname = \"caf\xe9.example\"\n").unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    let want = format!("{}:2:16: ", path.display());
    assert!(e.starts_with(&want) && e.contains("0xe9"), "{e}");
}

#[test]
fn the_config_file_is_read_bounded() {
    let e = Config::load(std::path::Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/dev/zero: ") && e.contains("larger than"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.toml");
    let big = format!("# {}\n", "x".repeat(crate::file::MAX_CONFIG as usize));
    std::fs::write(&path, big).unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    assert!(e.contains("larger than"), "{e}");
}
