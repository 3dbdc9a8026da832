//! Office documents: which entries of an Office Open XML (docx, xlsx, pptx) or OpenDocument
//! package hold text, and the XML-to-text conversion for them (quick-xml, streaming).
//!
//! quick-xml never expands DTD-defined entities and fetches nothing, so XML bombs and external
//! entities are inert: an unknown entity reference is dropped. A parse error keeps the text read so
//! far and is reported by the caller as a malformed document.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use super::FileType;

/// The office type of a zip package from its entry names, or `None` for a plain zip.
/// `mimetype` is the content of an OpenDocument package's `mimetype` entry, when present.
pub(crate) fn classify<'a>(
    mut names: impl Iterator<Item = &'a str>,
    mimetype: Option<&[u8]>,
) -> Option<FileType> {
    if let Some(m) = mimetype {
        let m = String::from_utf8_lossy(m);
        let m = m.trim();
        return match m {
            "application/vnd.oasis.opendocument.text" => Some(FileType::Odt),
            "application/vnd.oasis.opendocument.spreadsheet" => Some(FileType::Ods),
            "application/vnd.oasis.opendocument.presentation" => Some(FileType::Odp),
            _ => None,
        };
    }
    let mut content_types = false;
    let mut kind = None;
    for n in names.by_ref() {
        match n {
            "[Content_Types].xml" => content_types = true,
            "word/document.xml" => kind = Some(FileType::Docx),
            "xl/workbook.xml" => kind = Some(FileType::Xlsx),
            "ppt/presentation.xml" => kind = Some(FileType::Pptx),
            _ => {}
        }
    }
    if content_types { kind } else { None }
}

/// True for the entries of an office package of type `kind` that hold its text.
pub(crate) fn is_text_entry(kind: FileType, name: &str) -> bool {
    let xml = name.ends_with(".xml");
    match kind {
        FileType::Docx => {
            xml && (name == "word/document.xml"
                || name == "docProps/core.xml"
                || [
                    "word/header",
                    "word/footer",
                    "word/comments",
                    "word/footnotes",
                    "word/endnotes",
                ]
                .iter()
                .any(|p| name.starts_with(p)))
        }
        FileType::Xlsx => {
            xml && (name == "xl/sharedStrings.xml"
                || name == "docProps/core.xml"
                || ["xl/worksheets/sheet", "xl/comments", "xl/threadedComments/"]
                    .iter()
                    .any(|p| name.starts_with(p)))
        }
        FileType::Pptx => {
            xml && (name == "docProps/core.xml"
                || [
                    "ppt/slides/slide",
                    "ppt/notesSlides/notesSlide",
                    "ppt/comments/",
                ]
                .iter()
                .any(|p| name.starts_with(p)))
        }
        FileType::Odt | FileType::Ods | FileType::Odp => name == "content.xml",
        _ => false,
    }
}

/// True for files embedded in an OOXML package (OLE objects, nested workbooks), which are
/// decomposed as files of their own.
pub(crate) fn is_embedding(kind: FileType, name: &str) -> bool {
    matches!(kind, FileType::Docx | FileType::Xlsx | FileType::Pptx)
        && ["word/embeddings/", "xl/embeddings/", "ppt/embeddings/"]
            .iter()
            .any(|p| name.starts_with(p))
}

/// What an element (by local name) does to the text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Ends a line of text: paragraphs, headings, rows, shared strings.
    LineEnd,
    /// A line break where it stands.
    Break,
    /// A tab where it stands.
    Tab,
    /// OpenDocument `<text:s/>`: one or more spaces.
    Space,
    /// Its text is not content (spreadsheet formulas).
    Skip,
    /// A spreadsheet cell, followed by a tab.
    Cell,
    /// A cell value: an index into the shared strings when the cell says `t="s"`.
    Value,
    Other,
}

fn role(local_name: &str) -> Role {
    match local_name {
        "p" | "h" | "si" | "row" | "tr" | "list-item" => Role::LineEnd,
        "br" | "cr" | "line-break" => Role::Break,
        "tab" => Role::Tab,
        "s" => Role::Space,
        "f" => Role::Skip,
        "c" => Role::Cell,
        "v" => Role::Value,
        _ => Role::Other,
    }
}

/// Text of an office XML part. Returns the text and whether the XML was well-formed enough to
/// read to the end.
pub(crate) fn xml_to_text(xml: &[u8]) -> (String, bool) {
    let mut reader = Reader::from_reader(xml);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    let mut out = String::with_capacity(xml.len() / 4);
    // Inside a spreadsheet cell whose <v> is an index into the shared strings (t="s").
    let mut shared_cell = false;
    let mut skip_depth = 0u32;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let role = role(e.local_name().as_ref());
                if role == Role::Cell {
                    shared_cell = is_shared_string_cell(&e);
                }
                if role == Role::Skip || (role == Role::Value && shared_cell) {
                    skip_depth += 1;
                }
                start_or_empty(role, &mut out);
            }
            Ok(Event::Empty(e)) => start_or_empty(role(e.local_name().as_ref()), &mut out),
            Ok(Event::End(e)) => {
                let role = role(e.local_name().as_ref());
                if (role == Role::Skip || (role == Role::Value && shared_cell)) && skip_depth > 0 {
                    skip_depth -= 1;
                }
                if role == Role::Cell {
                    shared_cell = false;
                    push_sep(&mut out, '\t');
                } else if role == Role::LineEnd {
                    push_sep(&mut out, '\n');
                }
            }
            Ok(Event::Text(t)) if skip_depth == 0 => {
                let t = t.xml10_content();
                // Indentation between elements is not text.
                if !(memchr::memchr(b'\n', t.as_bytes()).is_some() && t.trim().is_empty()) {
                    out.push_str(&t);
                }
            }
            Ok(Event::CData(t)) if skip_depth == 0 => {
                out.push_str(&t);
            }
            Ok(Event::GeneralRef(r)) if skip_depth == 0 => match r.resolve_char_ref() {
                Ok(Some(c)) => out.push(c),
                Ok(None) => {
                    if let Some(s) = resolve_predefined_entity(&r.xml10_content()) {
                        out.push_str(s);
                    }
                }
                Err(_) => {}
            },
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => {
                trim_end(&mut out);
                return (out, false);
            }
        }
    }
    trim_end(&mut out);
    (out, true)
}

fn start_or_empty(role: Role, out: &mut String) {
    match role {
        Role::Break => out.push('\n'),
        Role::Tab => out.push('\t'),
        Role::Space => out.push(' '),
        _ => {}
    }
}

fn is_shared_string_cell(e: &BytesStart<'_>) -> bool {
    e.attributes()
        .with_checks(false)
        .flatten()
        .any(|a| a.key.local_name().as_ref() == "t" && a.value.as_ref() == "s")
}

/// Adds a separator unless the text already ends with a line break (no runs of empty cells).
fn push_sep(out: &mut String, sep: char) {
    if out.is_empty() || out.ends_with('\n') {
        return;
    }
    if sep == '\n' && out.ends_with('\t') {
        out.pop();
    }
    if !out.ends_with(sep) {
        out.push(sep);
    }
}

fn trim_end(out: &mut String) {
    let end = out.trim_end().len();
    out.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docx_paragraphs_tabs_and_entities() {
        let xml = br#"<?xml version="1.0"?><w:document xmlns:w="x"><w:body>
            <w:p><w:r><w:t>Card</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve">4111 1111 </w:t><w:t>1111 1111</w:t></w:r></w:p>
            <w:p><w:r><w:t>Tom &amp; Jerry &#8364;5</w:t></w:r></w:p></w:body></w:document>"#;
        let (text, ok) = xml_to_text(xml);
        assert!(ok);
        assert_eq!(text, "Card\t4111 1111 1111 1111\nTom & Jerry €5");
    }

    #[test]
    fn xlsx_cells_skip_shared_string_indexes_and_formulas() {
        let xml = br#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>123456789</v></c></row>
            <row r="2"><c t="inlineStr"><is><t>inline</t></is></c><c><f>SUM(B1)</f><v>7</v></c></row></sheetData></worksheet>"#;
        let (text, ok) = xml_to_text(xml);
        assert!(ok);
        assert_eq!(text, "123456789\ninline\t7");
    }

    #[test]
    fn odf_spaces_and_breaks() {
        let xml = br#"<office:document-content><office:body><office:text><text:h>Title</text:h><text:p>a<text:s/>b<text:line-break/>c<text:tab/>d</text:p></office:text></office:body></office:document-content>"#;
        assert_eq!(xml_to_text(xml).0, "Title\na b\nc\td");
    }

    #[test]
    fn entity_bombs_and_broken_xml_are_inert() {
        let bomb = br#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><p>&b;x</p>"#;
        let (text, _) = xml_to_text(bomb);
        assert_eq!(text, "x");
        let (text, ok) = xml_to_text(b"<p>kept</p><q attr=\"unterminated");
        assert!(!ok);
        assert_eq!(text, "kept");
    }

    #[test]
    fn classifies_packages_by_entries() {
        let docx = ["[Content_Types].xml", "word/document.xml"];
        assert_eq!(classify(docx.into_iter(), None), Some(FileType::Docx));
        // A zip that merely contains word/document.xml is not a docx.
        assert_eq!(classify(["word/document.xml"].into_iter(), None), None);
        let odt = Some(&b"application/vnd.oasis.opendocument.text"[..]);
        assert_eq!(classify(std::iter::empty(), odt), Some(FileType::Odt));
        assert!(is_text_entry(FileType::Docx, "word/footer2.xml"));
        assert!(!is_text_entry(FileType::Docx, "word/styles.xml"));
        assert!(is_text_entry(FileType::Xlsx, "xl/worksheets/sheet1.xml"));
        assert!(is_text_entry(FileType::Pptx, "ppt/slides/slide3.xml"));
    }
}
