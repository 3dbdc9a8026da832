//! EDM tests: import summaries, k-of-n within a window, normalisation, no plaintext in the index
//! bytes, corrupt and truncated files, and CSV quoting and bad rows.

use super::build::SkipReason;
use super::matcher::{MatchParams, find};
use super::*;

const KEY: [u8; KEY_BYTES] = [7; KEY_BYTES];

const TABLE: &str = "\
first_name,last_name,ssn,phone,address
John,Smith,123-45-6789,(555) 123-4567,12 Main Street
Maria,García,987-65-4321,555.987.6543,\"4 Elm Road, Apt 2\"
Wei,Zhang,111-22-3333,+1 555 222 3333,9 Oak Avenue
";

fn index(csv: &str) -> (Index, ImportSummary) {
    build("customers", csv.as_bytes(), KEY).unwrap()
}

fn params(k: usize, w: usize) -> MatchParams {
    MatchParams {
        min_columns: k,
        window_words: w,
    }
}

fn rows<'a>(idx: &'a Index, text: &str, k: usize, w: usize) -> Vec<(u32, Vec<&'a str>)> {
    find(idx, text, params(k, w))
        .into_iter()
        .map(|h| {
            let cols = h
                .columns
                .iter()
                .map(|&c| idx.columns()[c].name.as_str())
                .collect();
            (h.row, cols)
        })
        .collect()
}

#[test]
fn import_summary_names_columns_and_kinds() {
    let (idx, s) = index(TABLE);
    assert_eq!(s.rows, 3);
    assert_eq!(idx.rows(), 3);
    assert_eq!(idx.cells(), 15);
    let kinds: Vec<(&str, ColumnKind)> = s
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("first_name", ColumnKind::Text),
            ("last_name", ColumnKind::Text),
            ("ssn", ColumnKind::Number),
            ("phone", ColumnKind::Number),
            ("address", ColumnKind::Text)
        ]
    );
    assert_eq!(s.skipped_total, 0);
    assert!(idx.memory_bytes() > 0);
    assert!(!format!("{idx:?}").contains("Smith"));
}

#[test]
fn k_of_n_columns_in_one_row() {
    let (idx, _) = index(TABLE);
    let t = "Customer JOHN smith, SSN 123456789, called about his order.";
    assert_eq!(
        rows(&idx, t, 2, 30),
        [(1, vec!["first_name", "last_name", "ssn"])]
    );
    assert_eq!(rows(&idx, t, 3, 30).len(), 1);
    assert!(rows(&idx, t, 4, 30).is_empty());
    // Values of different rows do not add up.
    let mixed = "John Zhang, 987-65-4321";
    assert!(rows(&idx, mixed, 2, 30).is_empty());
    assert_eq!(rows(&idx, mixed, 1, 30).len(), 3);
}

#[test]
fn window_limits_how_far_apart_values_may_be() {
    let (idx, _) = index(TABLE);
    let t = "Maria wrote. one two three four five six seven eight. Her number is 555 987 6543.";
    // "Maria" is word 0, the phone spans words 13-15: 16 word positions.
    assert_eq!(rows(&idx, t, 2, 16), [(2, vec!["first_name", "phone"])]);
    assert!(rows(&idx, t, 2, 15).is_empty());
}

#[test]
fn multi_word_and_number_cells_match_in_any_layout() {
    let (idx, _) = index(TABLE);
    let t = "Ship to 4 elm\r\nROAD apt 2 for García; tel 5559876543";
    let got = rows(&idx, t, 3, 20);
    assert_eq!(got, [(2, vec!["last_name", "phone", "address"])]);
    let h = &find(&idx, t, params(3, 20))[0];
    assert_eq!(
        &t[h.start..h.end],
        "4 elm\r\nROAD apt 2 for García; tel 5559876543"
    );
    let hit = h.to_hit(&idx);
    assert_eq!(hit.detector, "edm:customers");
    assert_eq!(
        hit.redacted,
        "row 2: last_name, phone, address (3 of 5 columns)"
    );
    // A phone written with a country code and dots still joins into the same digits.
    assert_eq!(rows(&idx, "wei +1 555-222-3333", 2, 10).len(), 1);
    // Partial values do not match: "Main" alone is not "12 Main Street", "123-45" is not the SSN.
    assert!(rows(&idx, "John Main 123-45", 2, 30).is_empty());
}

#[test]
fn common_values_count_but_do_not_propose_rows() {
    let mut csv = String::from("id,city\n");
    for i in 0..200 {
        csv.push_str(&format!("{},London\n", 100_000 + i));
    }
    let (idx, _) = index(&csv);
    assert_eq!(
        rows(&idx, "id 100042 in London", 2, 10),
        [(43, vec!["id", "city"])]
    );
    assert!(rows(&idx, "London London", 1, 10).is_empty());
}

#[test]
fn index_bytes_hold_no_plaintext() {
    let (idx, _) = index(TABLE);
    let bytes = format::encode(&idx);
    let hay = String::from_utf8_lossy(&bytes).to_lowercase();
    for line in TABLE.lines().skip(1) {
        for cell in line.split(',') {
            for needle in [
                cell.trim().trim_matches('"').to_lowercase(),
                cell.chars().filter(char::is_ascii_digit).collect(),
            ] {
                if needle.len() >= 3 {
                    assert!(!hay.contains(&needle), "index contains {needle:?}");
                }
            }
            for word in cell.split_whitespace().filter(|w| w.len() >= 3) {
                assert!(
                    !hay.contains(&word.to_lowercase().trim_matches('"').to_owned()),
                    "index contains {word:?}"
                );
            }
        }
    }
    // Column names are metadata and are kept.
    assert!(hay.contains("first_name"));
}

#[test]
fn file_bytes_round_trip_and_corruption_is_detected() {
    let (idx, _) = index(TABLE);
    let bytes = format::encode(&idx);
    let back = format::decode(&bytes).unwrap();
    assert_eq!(back, idx);
    let t = "John Smith 123-45-6789";
    assert_eq!(
        find(&back, t, MatchParams::default()),
        find(&idx, t, MatchParams::default())
    );

    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    assert_eq!(format::decode(&flipped), Err(FormatError::Checksum));
    assert_eq!(
        format::decode(&bytes[..bytes.len() - 10]),
        Err(FormatError::Truncated)
    );
    assert_eq!(format::decode(&bytes[..5]), Err(FormatError::Truncated));
    assert_eq!(
        format::decode(b"hello world, not an index"),
        Err(FormatError::Magic)
    );
    let mut v2 = bytes.clone();
    v2[8] = 2;
    assert_eq!(format::decode(&v2), Err(FormatError::Version(2)));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        format::decode(&longer),
        Err(FormatError::Invalid(_))
    ));
    for e in [FormatError::Checksum, FormatError::Truncated] {
        assert!(e.to_string().starts_with("EDM index"));
    }
    // Every prefix fails cleanly.
    for n in 0..bytes.len() {
        assert!(format::decode(&bytes[..n]).is_err());
    }
}

#[test]
fn csv_quoting_and_bad_rows() {
    let csv = "\u{feff}name,\"note, quoted\",acct\r\n\
        \"Smith, Jane\",\"said \"\"hi\"\"\nthere\",4000-1234\r\n\
        too,few\r\n\
        \r\n\
        a,b,c,d\r\n\
        ,,\r\n\
        Bob Jones,x,5555-0000\r\n";
    let (idx, s) = build("t", csv.as_bytes(), KEY).unwrap();
    assert_eq!(s.rows, 2);
    assert_eq!(s.columns[1].name, "note, quoted");
    assert_eq!(s.columns[0].name, "name");
    assert_eq!(s.skipped_total, 3);
    assert_eq!(
        s.skipped,
        [
            (4, SkipReason::FieldCount { found: 2 }),
            (6, SkipReason::FieldCount { found: 4 }),
            (7, SkipReason::Empty)
        ]
    );
    assert_eq!(
        rows(&idx, "SMITH jane, acct 40001234", 2, 10),
        [(1, vec!["name", "acct"])]
    );
    assert_eq!(
        rows(&idx, "Bob Jones 5555 0000", 2, 10),
        [(2, vec!["name", "acct"])]
    );
}

#[test]
fn import_errors_and_limits() {
    let err = |csv: &str| build("t", csv.as_bytes(), KEY).unwrap_err().to_string();
    assert!(err("").contains("empty"));
    assert!(err("a,,c\n1,2,3\n").contains("column 2 has no name"));
    assert!(err("a,A\n1,2\n").contains("appears twice"));
    assert!(err("a,b\n").contains("no usable rows"));
    let wide = (0..=MAX_COLUMNS)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(err(&wide).contains("more than 64 columns"));
    assert!(build("bad name", "a\n1\n".as_bytes(), KEY).is_err());
    assert!(build("../x", "a\n1\n".as_bytes(), KEY).is_err());
    let long = format!("a,b\nx,{}\nx,y z\n", "w ".repeat(MAX_CELL_TOKENS + 1));
    let (_, s) = build("t", long.as_bytes(), KEY).unwrap();
    assert_eq!(s.long_cells, 1);
}

#[test]
fn different_keys_give_different_hashes() {
    let (a, _) = build("t", TABLE.as_bytes(), [1; KEY_BYTES]).unwrap();
    let (b, _) = build("t", TABLE.as_bytes(), [2; KEY_BYTES]).unwrap();
    assert_ne!(a.hashes, b.hashes);
    assert_eq!(rows(&a, "John Smith", 2, 5).len(), 1);
    assert_eq!(rows(&b, "John Smith", 2, 5).len(), 1);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn matching_arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let (idx, _) = index(TABLE);
            for h in find(&idx, &text, params(1, 3)) {
                prop_assert!(h.start <= h.end && h.end <= text.len());
            }
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = format::decode(&bytes);
        }
    }
}

/// A reader that hands out a few bytes per call, like a slow pipe.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn skipped_line_numbers_are_physical_lines_across_reads() {
    let mut csv = String::from("a,b\n");
    for i in 0..3000 {
        csv.push_str(&format!("\"x{i}\ny\",{i}\n")); // each row spans two lines
    }
    csv.push_str("only-one-field\r\n\r\n\n1,2\n");
    for chunk in [3, 8192] {
        let (_, s) = build("t", Trickle(csv.as_bytes(), chunk), KEY).unwrap();
        assert_eq!(s.rows, 3001);
        assert_eq!(
            s.skipped,
            [(6002, SkipReason::FieldCount { found: 1 })],
            "chunk {chunk}"
        );
    }
}
