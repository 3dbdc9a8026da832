//! True file types from magic bytes (never from the name or the declared MIME type).
//!
//! Zip-based formats (OOXML, OpenDocument) look like zip here; the zip walker refines them from the
//! package's entry names. Text is recognised by the absence of binary bytes.

use std::borrow::Cow;

/// What a file really is, as far as its first bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// Text in UTF-8, UTF-16 with a byte-order mark, or an 8-bit charset.
    Text,
    Html,
    Rtf,
    Pdf,
    /// An RFC 5322 message (`.eml`, `message/rfc822`).
    Message,
    Zip,
    Gzip,
    Tar,
    SevenZip,
    Rar,
    /// Word document (Office Open XML).
    Docx,
    /// Excel workbook (Office Open XML).
    Xlsx,
    /// PowerPoint presentation (Office Open XML).
    Pptx,
    /// OpenDocument text.
    Odt,
    /// OpenDocument spreadsheet.
    Ods,
    /// OpenDocument presentation.
    Odp,
    /// OLE2 compound file: legacy Office (doc, xls, ppt, msg) or an encrypted OOXML package.
    Cfb,
    /// Windows PE executable or DLL (`MZ`).
    Exe,
    /// ELF executable or shared object.
    Elf,
    /// Mach-O executable.
    MachO,
    Png,
    Jpeg,
    Gif,
    Bmp,
    Tiff,
    Webp,
    /// An empty file.
    Empty,
    /// Binary data of no known type.
    Unknown,
}

impl FileType {
    /// Stable lower-case name used by file rules (`true_type = "docx"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Html => "html",
            Self::Rtf => "rtf",
            Self::Pdf => "pdf",
            Self::Message => "eml",
            Self::Zip => "zip",
            Self::Gzip => "gzip",
            Self::Tar => "tar",
            Self::SevenZip => "7z",
            Self::Rar => "rar",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Pptx => "pptx",
            Self::Odt => "odt",
            Self::Ods => "ods",
            Self::Odp => "odp",
            Self::Cfb => "cfb",
            Self::Exe => "exe",
            Self::Elf => "elf",
            Self::MachO => "macho",
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Gif => "gif",
            Self::Bmp => "bmp",
            Self::Tiff => "tiff",
            Self::Webp => "webp",
            Self::Empty => "empty",
            Self::Unknown => "unknown",
        }
    }

    /// Parses [`FileType::name`] back (for configuration).
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Archives and compound documents that hold other files.
    pub fn is_archive(self) -> bool {
        matches!(
            self,
            Self::Zip | Self::Gzip | Self::Tar | Self::SevenZip | Self::Rar
        )
    }

    /// Native executables.
    pub fn is_executable(self) -> bool {
        matches!(self, Self::Exe | Self::Elf | Self::MachO)
    }

    /// Images.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            Self::Png | Self::Jpeg | Self::Gif | Self::Bmp | Self::Tiff | Self::Webp
        )
    }
}

/// Every type, in a stable order.
pub const ALL: [FileType; 28] = [
    FileType::Text,
    FileType::Html,
    FileType::Rtf,
    FileType::Pdf,
    FileType::Message,
    FileType::Zip,
    FileType::Gzip,
    FileType::Tar,
    FileType::SevenZip,
    FileType::Rar,
    FileType::Docx,
    FileType::Xlsx,
    FileType::Pptx,
    FileType::Odt,
    FileType::Ods,
    FileType::Odp,
    FileType::Cfb,
    FileType::Exe,
    FileType::Elf,
    FileType::MachO,
    FileType::Png,
    FileType::Jpeg,
    FileType::Gif,
    FileType::Bmp,
    FileType::Tiff,
    FileType::Webp,
    FileType::Empty,
    FileType::Unknown,
];

/// Magic numbers at offset 0, longest first where they share a prefix.
const MAGIC: &[(&[u8], FileType)] = &[
    (b"%PDF-", FileType::Pdf),
    (b"PK\x03\x04", FileType::Zip),
    (b"PK\x05\x06", FileType::Zip), // empty archive
    (b"PK\x07\x08", FileType::Zip), // spanned archive
    (b"\x1f\x8b", FileType::Gzip),
    (b"7z\xbc\xaf\x27\x1c", FileType::SevenZip),
    (b"Rar!\x1a\x07", FileType::Rar),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", FileType::Cfb),
    (b"{\\rtf", FileType::Rtf),
    (b"\x7fELF", FileType::Elf),
    (b"\xfe\xed\xfa\xce", FileType::MachO),
    (b"\xfe\xed\xfa\xcf", FileType::MachO),
    (b"\xce\xfa\xed\xfe", FileType::MachO),
    (b"\xcf\xfa\xed\xfe", FileType::MachO),
    (b"\x89PNG\r\n\x1a\n", FileType::Png),
    (b"\xff\xd8\xff", FileType::Jpeg),
    (b"GIF87a", FileType::Gif),
    (b"GIF89a", FileType::Gif),
    (b"II*\x00", FileType::Tiff),
    (b"MM\x00*", FileType::Tiff),
];

/// Header fields that start a stored message (`.eml`); two of them must appear near the top.
const MESSAGE_HEADERS: &[&str] = &[
    "received:",
    "return-path:",
    "from:",
    "to:",
    "subject:",
    "date:",
    "message-id:",
    "mime-version:",
    "content-type:",
    "delivered-to:",
    "reply-to:",
    "cc:",
];

/// How many leading bytes the text/binary decision looks at.
const SNIFF_WINDOW: usize = 8192;

/// The true type of `data` from its content alone.
pub fn sniff(data: &[u8]) -> FileType {
    if data.is_empty() {
        return FileType::Empty;
    }
    if let Some(&(_, t)) = MAGIC.iter().find(|(m, _)| data.starts_with(m)) {
        return t;
    }
    if data.starts_with(b"MZ") && is_pe(data) {
        return FileType::Exe;
    }
    if data.starts_with(b"BM") && data.len() >= 26 && data[6..10] == [0, 0, 0, 0] {
        return FileType::Bmp;
    }
    if data.len() >= 12 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP" {
        return FileType::Webp;
    }
    if data.len() >= 262 && &data[257..262] == b"ustar" {
        return FileType::Tar;
    }
    if !looks_like_text(data) {
        // A zip with something before it (a self-extractor stub, a prepended header): `unzip`
        // and the zip crate find it from the end.
        if has_zip_trailer(data) {
            return FileType::Zip;
        }
        return FileType::Unknown;
    }
    let head = lowercase_head(data);
    let trimmed = head.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if trimmed.starts_with("<!doctype html")
        || trimmed.starts_with("<html")
        || trimmed.starts_with("<head")
        || trimmed.starts_with("<body")
    {
        return FileType::Html;
    }
    if is_message(&head) {
        return FileType::Message;
    }
    FileType::Text
}

/// The end-of-central-directory record a zip ends with (its comment is at most 64 KiB), found at
/// the end of data that does not start as a zip: a self-extracting archive, or a zip with bytes
/// prepended. The record must account for the end of the data exactly, as its comment length says.
pub(crate) fn has_zip_trailer(data: &[u8]) -> bool {
    const EOCD: &[u8] = b"PK\x05\x06";
    const EOCD_LEN: usize = 22;
    let tail_from = data.len().saturating_sub(EOCD_LEN + usize::from(u16::MAX));
    let tail = &data[tail_from..];
    memchr::memmem::rfind_iter(tail, EOCD).any(|at| {
        let comment = tail
            .get(at + 20..at + 22)
            .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])));
        comment.is_some_and(|c| at + EOCD_LEN + c == tail.len())
    })
}

/// A PE file has `MZ`, a pointer at 0x3c to `PE\0\0`. A bare `MZ` (DOS stub, or text starting
/// with "MZ") is not enough.
fn is_pe(data: &[u8]) -> bool {
    let Some(ptr) = data.get(0x3c..0x40) else {
        return false;
    };
    let off = u32::from_le_bytes([ptr[0], ptr[1], ptr[2], ptr[3]]) as usize;
    data.get(off..off.saturating_add(4)) == Some(b"PE\0\0")
}

/// Text: a UTF-16 byte-order mark, or no NUL and few control bytes in the first window.
pub(crate) fn looks_like_text(data: &[u8]) -> bool {
    if data.starts_with(b"\xff\xfe") || data.starts_with(b"\xfe\xff") {
        return true;
    }
    let window = &data[..data.len().min(SNIFF_WINDOW)];
    if window.contains(&0) {
        return false;
    }
    let control = window
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
        .count();
    control * 100 <= window.len()
}

fn lowercase_head(data: &[u8]) -> String {
    String::from_utf8_lossy(&data[..data.len().min(1024)]).to_ascii_lowercase()
}

fn is_message(head: &str) -> bool {
    let mut lines = head.lines();
    let Some(first) = lines.next() else {
        return false;
    };
    if !MESSAGE_HEADERS.iter().any(|h| first.starts_with(h)) {
        return false;
    }
    lines
        .take_while(|l| !l.is_empty())
        .any(|l| MESSAGE_HEADERS.iter().any(|h| l.starts_with(h)))
}

/// Decodes text bytes: UTF-16 by byte-order mark, UTF-8 when valid, else Windows-1252 (every byte
/// maps, so digits and words survive whatever the real 8-bit charset was).
pub(crate) fn decode_text(data: Cow<'_, [u8]>) -> Cow<'_, str> {
    match data {
        Cow::Borrowed(bytes) => decode_slice(bytes),
        Cow::Owned(bytes) if !has_bom(&bytes) => match String::from_utf8(bytes) {
            // Valid UTF-8 is moved, not copied.
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(windows_1252(e.as_bytes())),
        },
        Cow::Owned(bytes) => Cow::Owned(decode_slice(&bytes).into_owned()),
    }
}

fn has_bom(data: &[u8]) -> bool {
    data.starts_with(b"\xef\xbb\xbf")
        || data.starts_with(b"\xff\xfe")
        || data.starts_with(b"\xfe\xff")
}

fn decode_slice(data: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = data.strip_prefix(b"\xef\xbb\xbf") {
        return Cow::Owned(String::from_utf8_lossy(rest).into_owned());
    }
    if let Some(rest) = data.strip_prefix(b"\xff\xfe") {
        return Cow::Owned(utf16(rest, u16::from_le_bytes));
    }
    if let Some(rest) = data.strip_prefix(b"\xfe\xff") {
        return Cow::Owned(utf16(rest, u16::from_be_bytes));
    }
    match std::str::from_utf8(data) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(windows_1252(data)),
    }
}

fn windows_1252(data: &[u8]) -> String {
    match mail_parser::decoders::charsets::map::charset_decoder(b"windows-1252") {
        Some(decode) => decode(data),
        None => String::from_utf8_lossy(data).into_owned(),
    }
}

fn utf16(data: &[u8], conv: fn([u8; 2]) -> u16) -> String {
    let units = data.chunks_exact(2).map(|c| conv([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(sniff(b"%PDF-1.7\n"), FileType::Pdf);
        assert_eq!(sniff(b"PK\x03\x04rest"), FileType::Zip);
        assert_eq!(sniff(b"\x1f\x8b\x08\x00"), FileType::Gzip);
        assert_eq!(sniff(b"{\\rtf1\\ansi hello}"), FileType::Rtf);
        assert_eq!(sniff(b"\x7fELF\x02\x01"), FileType::Elf);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), FileType::Png);
        assert_eq!(sniff(b"hello world\r\n"), FileType::Text);
        assert_eq!(sniff(b""), FileType::Empty);
        assert_eq!(sniff(b"\x00\x01\x02\x03binary"), FileType::Unknown);
        assert_eq!(sniff(b"  <!DOCTYPE html><p>x"), FileType::Html);
        assert_eq!(
            sniff(b"From: a@b\r\nSubject: hi\r\n\r\nbody"),
            FileType::Message
        );
    }

    #[test]
    fn a_zip_after_other_bytes_is_found_by_its_trailer() {
        let mut eocd = b"PK\x05\x06".to_vec();
        eocd.extend_from_slice(&[0; 16]);
        eocd.extend_from_slice(&3u16.to_le_bytes());
        let mut data = vec![0u8; 4096];
        data.extend_from_slice(&eocd);
        data.extend_from_slice(b"abc");
        assert_eq!(sniff(&data), FileType::Zip);
        assert!(has_zip_trailer(&data));
        // The comment length must reach the end exactly.
        data.push(b'!');
        assert!(!has_zip_trailer(&data));
        assert_eq!(sniff(&data), FileType::Unknown);
        assert!(!has_zip_trailer(b"PK\x05\x06"));
    }

    #[test]
    fn pe_needs_the_pe_signature() {
        let mut exe = vec![0u8; 0x80];
        exe[..2].copy_from_slice(b"MZ");
        exe[0x3c] = 0x40;
        exe[0x40..0x44].copy_from_slice(b"PE\0\0");
        assert_eq!(sniff(&exe), FileType::Exe);
        // Text that happens to start with "MZ" is text.
        assert_eq!(sniff(b"MZ is a postcode prefix"), FileType::Text);
    }

    #[test]
    fn tar_is_recognised_by_ustar_magic() {
        let mut tar = vec![b'a'; 512];
        tar[257..262].copy_from_slice(b"ustar");
        tar[100] = 0;
        assert_eq!(sniff(&tar), FileType::Tar);
    }

    #[test]
    fn a_single_header_line_is_not_a_message() {
        assert_eq!(sniff(b"Subject: the meeting\nwas fine"), FileType::Text);
    }

    #[test]
    fn decodes_utf16_and_8bit_text() {
        for owned in [false, true] {
            let d = |b: &'static [u8]| {
                if owned {
                    decode_text(Cow::Owned(b.to_vec())).into_owned()
                } else {
                    decode_text(Cow::Borrowed(b)).into_owned()
                }
            };
            assert_eq!(d(b"\xff\xfeh\0i\0"), "hi");
            assert_eq!(d(b"\xfe\xff\0h\0i"), "hi");
            assert_eq!(d(b"\xef\xbb\xbfcaf\xc3\xa9\xff"), "caf\u{e9}\u{fffd}");
            assert_eq!(d(b"caf\xe9 \x80"), "caf\u{e9} \u{20ac}");
            assert_eq!(d("café".as_bytes()), "café");
        }
        // Valid UTF-8 is not copied.
        assert!(matches!(
            decode_text(Cow::Borrowed(b"abc")),
            Cow::Borrowed("abc")
        ));
    }

    #[test]
    fn names_round_trip() {
        for t in ALL {
            assert_eq!(FileType::from_name(t.name()), Some(t));
        }
    }
}
