//! The one CSV writer of Sluice (reports): RFC 4180 through the `csv` crate (fields quoted when
//! they hold a comma, a quote, CR or LF; quotes doubled), CRLF after every row, UTF-8, and an
//! optional byte order mark so that Excel reads UTF-8 rather than the local code page.
//!
//! Security: a report carries text Sluice did not write (subjects, addresses, policy names typed by
//! an administrator). A spreadsheet treats a cell that starts with `=`, `+`, `-` or `@` as a
//! formula (and TAB or CR can hide one), so such a cell gets a leading `'`, as OWASP's "CSV
//! Injection" page advises: the value then shows as text and runs nothing.

use std::borrow::Cow;

/// UTF-8's byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The characters that make a spreadsheet read a cell as a formula (OWASP, CSV Injection).
const FORMULA_LEADS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written: with a leading `'` when it would start a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_LEADS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Rows as CSV bytes (the first row is the header line), every cell neutralised.
pub fn write(rows: &[Vec<String>], bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(BOM);
    }
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .quote_style(::csv::QuoteStyle::Necessary)
        .flexible(true)
        .from_writer(out);
    for row in rows {
        // Writing to a Vec cannot fail for I/O; a record error would be a bug in the csv crate,
        // and the row is then left out rather than the report lost.
        let _ = w.write_record(row.iter().map(|c| neutralise(c).into_owned()));
    }
    // Flushing into a Vec cannot fail.
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Vec<Vec<String>> {
        let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn every_formula_lead_is_neutralised_and_the_rest_kept() {
        for lead in ['=', '+', '-', '@', '\t', '\r'] {
            let cell = format!("{lead}HYPERLINK(\"http://x\")");
            assert_eq!(neutralise(&cell), format!("'{cell}"), "{lead:?}");
        }
        for safe in ["plain", "a=b", " =1", "'quoted", "", "Überweisung", "1+1"] {
            assert_eq!(neutralise(safe), safe);
        }
    }

    #[test]
    fn rows_round_trip_through_a_csv_reader_with_crlf_and_quoting() {
        let rows = vec![
            vec!["Time".to_string(), "Subject".to_string()],
            vec!["2026-12-05T15:00:00Z".into(), "a, \"quoted\"\nline".into()],
            vec!["x".into(), "=cmd|' /C calc'!A0".into()],
            vec!["y".into(), "-2+3".into()],
            vec!["z".into(), "@SUM(A1)".into()],
            vec!["t".into(), "\tTAB".into()],
            vec!["r".into(), "\rCR".into()],
            vec!["u".into(), "Grüße 📎".into()],
        ];
        let bytes = write(&rows, false);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("Time,Subject\r\n"), "{text:?}");
        assert!(text.ends_with("\r\n"));
        assert_eq!(
            text.matches("\r\n").count(),
            rows.len(),
            "the quoted LF stays in its cell"
        );
        let back = read(&bytes);
        assert_eq!(back.len(), rows.len());
        for (got, want) in back.iter().zip(&rows) {
            let want: Vec<String> = want.iter().map(|c| neutralise(c).into_owned()).collect();
            assert_eq!(got, &want);
        }
        assert_eq!(back[2][1], "'=cmd|' /C calc'!A0");
        assert_eq!(back[1][1], "a, \"quoted\"\nline");
    }

    #[test]
    fn the_bom_is_written_only_when_asked() {
        let rows = vec![vec!["a".to_string()]];
        assert!(write(&rows, true).starts_with(BOM));
        assert_eq!(write(&rows, false), b"a\r\n");
    }
}
