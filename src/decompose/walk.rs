//! The walker: the state of one decomposition (output, counters against [`Limits`], the budget)
//! and the dispatch of a file to its reader by true type.
//!
//! MIME lives in `mime`, containers in `archive` and `sevenz`; both call back into [`Walker::file`] for what
//! they contain, with the nesting depth, so recursion is bounded by [`Limits::max_depth`].

use std::borrow::Cow;
use std::io::Read;

use super::limits::MAX_ANOMALIES;
use super::{
    Anomaly, Budget, Decomposed, FileMeta, FileType, LimitKind, Limits, Location, Malformation,
    Part, PdfError, PdfText, filetype, html, pdf, rtf,
};

/// Read size while inflating; the budget and limits are checked after every chunk.
const CHUNK: usize = 64 << 10;
/// Read size once an entry has reached its declared size (more data is a size mismatch).
const END_PROBE: usize = 64;
/// Longest path segment kept (a name from an archive can be any length).
const MAX_SEGMENT_CHARS: usize = 255;

pub(crate) struct Walker<'a> {
    pub(super) limits: &'a Limits,
    pdf: &'a dyn PdfText,
    budget: &'a dyn Budget,
    out: Decomposed,
    /// Container entries opened so far.
    pub(super) entries: u32,
    /// Bytes inflated out of containers so far.
    pub(super) extracted: u64,
    /// MIME parts looked at so far.
    pub(super) parts_seen: u32,
    text_bytes: u64,
    /// The budget expired: nothing more is looked at.
    pub(super) stopped: bool,
    /// The extracted-bytes limit was reached (and recorded): no more entries are inflated.
    extracted_full: bool,
    /// Base64 and us-ascii bodies are decoded by `recode` rather than mail-parser (off only in
    /// tests that compare the two).
    pub(super) recode: bool,
    /// Renamed base64 bodies are cut out of mail-parser's input (off only in tests, which compare
    /// the two).
    pub(super) cut: bool,
}

/// How reading an entry ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    Complete,
    /// Stopped at a limit (already recorded); the data read so far is usable.
    Truncated,
    /// Stopped at a bomb, or nothing read because a limit was already reached (recorded once);
    /// the data must not be used.
    Unusable,
    /// The reader failed (already recorded); the data read so far, if any, is usable.
    Failed,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(limits: &'a Limits, pdf: &'a dyn PdfText, budget: &'a dyn Budget) -> Self {
        Self {
            limits,
            pdf,
            budget,
            out: Decomposed::default(),
            entries: 0,
            extracted: 0,
            parts_seen: 0,
            text_bytes: 0,
            stopped: false,
            extracted_full: false,
            recode: true,
            cut: true,
        }
    }

    pub(crate) fn finish(self) -> Decomposed {
        self.out
    }

    /// Records an anomaly (up to [`MAX_ANOMALIES`]; identical repeats are dropped).
    pub(super) fn anomaly(&mut self, a: Anomaly) {
        if self.out.anomalies.len() < MAX_ANOMALIES && self.out.anomalies.last() != Some(&a) {
            self.out.anomalies.push(a);
        }
    }

    pub(super) fn limit(&mut self, kind: LimitKind, path: &str) {
        self.anomaly(Anomaly::LimitExceeded {
            kind,
            path: path.to_string(),
        });
    }

    /// False once the budget has expired (recorded once, at `path`).
    pub(super) fn in_time(&mut self, path: &str) -> bool {
        if self.stopped {
            return false;
        }
        if self.budget.expired() {
            self.stopped = true;
            self.limit(LimitKind::Time, path);
            return false;
        }
        true
    }

    /// True once the extracted-bytes limit was reached (and recorded): nothing more is inflated.
    pub(super) fn extraction_full(&self) -> bool {
        self.extracted_full
    }

    /// Adds a part, cutting its text at the text limit. Returns its index.
    pub(super) fn push(
        &mut self,
        location: Location,
        mut text: String,
        file: Option<FileMeta>,
    ) -> usize {
        let room = self.limits.max_text_bytes.saturating_sub(self.text_bytes);
        if text.len() as u64 > room {
            let cut = floor_char_boundary(&text, usize::try_from(room).unwrap_or(usize::MAX));
            text.truncate(cut);
            let path = location.to_string();
            self.limit(LimitKind::TextBytes, &path);
        }
        self.text_bytes += text.len() as u64;
        self.out.parts.push(Part {
            location,
            text,
            file,
        });
        self.out.parts.len() - 1
    }

    /// Adds text to an existing part (office documents gather several XML entries).
    pub(super) fn append(&mut self, index: usize, text: &str) {
        let room = self.limits.max_text_bytes.saturating_sub(self.text_bytes);
        let mut take = text;
        if take.len() as u64 > room {
            take = &text[..floor_char_boundary(text, usize::try_from(room).unwrap_or(usize::MAX))];
            let path = self.out.parts[index].location.to_string();
            self.limit(LimitKind::TextBytes, &path);
        }
        if take.is_empty() {
            return;
        }
        let part = &mut self.out.parts[index];
        if !part.text.is_empty() {
            part.text.push('\n');
            self.text_bytes += 1;
        }
        part.text.push_str(take);
        self.text_bytes += take.len() as u64;
    }

    pub(super) fn file_meta_mut(&mut self, index: usize) -> Option<&mut FileMeta> {
        self.out.parts.get_mut(index).and_then(|p| p.file.as_mut())
    }

    /// Decomposes one file found at `path` (an attachment or a container entry) at nesting
    /// `depth`, adding its part and whatever it contains.
    pub(super) fn file(
        &mut self,
        data: Cow<'_, [u8]>,
        name: Option<String>,
        declared_type: Option<String>,
        path: &str,
        depth: u32,
    ) {
        if !self.in_time(path) {
            return;
        }
        let mut true_type = filetype::sniff(&data);
        if true_type == FileType::Text
            && is_html_by_label(name.as_deref(), declared_type.as_deref())
        {
            true_type = FileType::Html;
        }
        let meta = FileMeta {
            name,
            declared_type,
            true_type,
            size: data.len() as u64,
            encrypted: false,
        };
        let location = Location::Attachment(path.to_string());
        let can_open = depth < self.limits.max_depth;
        match true_type {
            FileType::Text => {
                let text = filetype::decode_text(data).into_owned();
                self.push(location, text, Some(meta));
            }
            FileType::Html => {
                let text = html::to_text(&filetype::decode_text(data));
                self.push(location, text, Some(meta));
            }
            FileType::Rtf => {
                self.push(location, rtf::to_text(&data), Some(meta));
            }
            FileType::Pdf => self.pdf(&data, location, meta, path),
            FileType::Message
            | FileType::Zip
            | FileType::Gzip
            | FileType::Tar
            | FileType::SevenZip
                if !can_open =>
            {
                self.push(location, String::new(), Some(meta));
                self.limit(LimitKind::Depth, path);
            }
            FileType::Message => {
                self.push(location, String::new(), Some(meta));
                self.message(&data, Some(path), depth);
            }
            FileType::Zip
            | FileType::Docx
            | FileType::Xlsx
            | FileType::Pptx
            | FileType::Odt
            | FileType::Ods
            | FileType::Odp => {
                let index = self.push(location, String::new(), Some(meta));
                self.zip(&data, index, path, depth);
            }
            FileType::Gzip => {
                let index = self.push(location, String::new(), Some(meta));
                self.gzip(&data, index, path, depth);
            }
            FileType::Tar => {
                self.push(location, String::new(), Some(meta));
                self.tar(&data, path, depth);
            }
            FileType::SevenZip => {
                let index = self.push(location, String::new(), Some(meta));
                self.sevenz(&data, index, path, depth);
            }
            FileType::Rar | FileType::Cfb => {
                let encrypted = super::archive::is_encrypted_opaque(true_type, &data);
                let meta = FileMeta { encrypted, ..meta };
                self.push(location, String::new(), Some(meta));
                if encrypted {
                    self.anomaly(Anomaly::Encrypted {
                        path: path.to_string(),
                    });
                } else {
                    self.anomaly(Anomaly::Unsupported {
                        path: path.to_string(),
                        true_type,
                    });
                }
            }
            // A self-extracting archive: an executable, and the zip it carries.
            FileType::Exe | FileType::Elf | FileType::MachO
                if can_open && filetype::has_zip_trailer(&data) =>
            {
                let index = self.push(location, String::new(), Some(meta));
                self.zip(&data, index, path, depth);
            }
            FileType::Exe
            | FileType::Elf
            | FileType::MachO
            | FileType::Png
            | FileType::Jpeg
            | FileType::Gif
            | FileType::Bmp
            | FileType::Tiff
            | FileType::Webp
            | FileType::Empty
            | FileType::Unknown => {
                self.push(location, String::new(), Some(meta));
            }
        }
    }

    fn pdf(&mut self, data: &[u8], location: Location, mut meta: FileMeta, path: &str) {
        meta.encrypted = pdf::is_encrypted(data);
        if meta.encrypted {
            self.anomaly(Anomaly::Encrypted {
                path: path.to_string(),
            });
        }
        // An encrypted PDF may still open with the empty user password, so try anyway.
        let text = match self.pdf.text(data) {
            Ok(text) => text,
            Err(PdfError::Unavailable) => String::new(),
            Err(_) if meta.encrypted => String::new(),
            Err(_) => {
                self.anomaly(Anomaly::Malformed {
                    path: path.to_string(),
                    what: Malformation::Pdf,
                });
                String::new()
            }
        };
        self.push(location, text, Some(meta));
    }

    /// Reads an entry from `r`, at most what the limits allow. `compressed` is the entry's
    /// compressed size (for the ratio), `declared` its declared uncompressed size if any.
    pub(super) fn read_entry(
        &mut self,
        r: &mut dyn Read,
        compressed: u64,
        declared: Option<u64>,
        path: &str,
    ) -> (Vec<u8>, ReadEnd) {
        if self.extracted_full || self.stopped {
            return (Vec::new(), ReadEnd::Unusable);
        }
        let room = self
            .limits
            .max_extracted_bytes
            .saturating_sub(self.extracted);
        let hint = declared.unwrap_or(0).min(room).min(16 << 20);
        let mut data = Vec::with_capacity(usize::try_from(hint).unwrap_or(0) + END_PROBE);
        loop {
            if !self.in_time(path) {
                return (data, ReadEnd::Truncated);
            }
            let room = self
                .limits
                .max_extracted_bytes
                .saturating_sub(self.extracted);
            if room == 0 {
                self.extracted_full = true;
                self.limit(LimitKind::ExtractedBytes, path);
                return (data, ReadEnd::Truncated);
            }
            let len = data.len();
            // Up to the declared size, then a small read that should find the end: the buffer
            // is zeroed before each read, so a full chunk each time would cost more than the
            // inflating.
            let left = declared.map_or(CHUNK as u64, |d| d.saturating_sub(len as u64));
            let want = CHUNK
                .min(usize::try_from(room).unwrap_or(CHUNK))
                .min(usize::try_from(left).unwrap_or(CHUNK).max(END_PROBE));
            // Read straight into the output, not through a second buffer.
            data.resize(len + want, 0);
            let got = r.read(&mut data[len..]);
            data.truncate(len + got.as_ref().map_or(0, |&n| n.min(want)));
            let n = match got {
                Ok(0) => return (data, ReadEnd::Complete),
                Ok(n) => n.min(want),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.anomaly(Anomaly::Malformed {
                        path: path.to_string(),
                        what: Malformation::Archive,
                    });
                    let end = if data.is_empty() {
                        ReadEnd::Unusable
                    } else {
                        ReadEnd::Failed
                    };
                    return (data, end);
                }
            };
            self.extracted += n as u64;
            let len = data.len() as u64;
            if declared.is_some_and(|d| len > d) {
                self.anomaly(Anomaly::Malformed {
                    path: path.to_string(),
                    what: Malformation::SizeMismatch,
                });
                return (data, ReadEnd::Unusable);
            }
            if self.is_bomb(len, compressed) {
                self.limit(LimitKind::Ratio, path);
                return (data, ReadEnd::Unusable);
            }
        }
    }

    /// True when `size` bytes from `compressed` bytes is past the ratio limit.
    pub(super) fn is_bomb(&self, size: u64, compressed: u64) -> bool {
        size > self.limits.ratio_floor && size / compressed.max(1) > self.limits.max_ratio
    }
}

/// An HTML file sent without a doctype is still HTML when named or declared so.
fn is_html_by_label(name: Option<&str>, declared: Option<&str>) -> bool {
    let ext = name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    matches!(ext.as_deref(), Some("htm" | "html" | "xhtml"))
        || declared.is_some_and(|d| d.eq_ignore_ascii_case("text/html"))
}

/// A display path segment from an untrusted name: control characters replaced, length capped.
pub(crate) fn segment(name: &str) -> String {
    name.chars()
        .take(MAX_SEGMENT_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `parent/child` for display.
pub(crate) fn join(parent: &str, child: &str) -> String {
    let child = segment(child);
    if parent.is_empty() {
        child
    } else {
        format!("{parent}/{child}")
    }
}

pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
