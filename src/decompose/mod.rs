//! Sans-I/O decomposition: everything in a message that detection can look at, as text parts
//! with locations and file facts, plus the anomalies met on the way.
//!
//! The MIME tree (mail-parser finds the parts; every base64 and quoted-printable body is decoded
//! here, leniently as mail clients do, then its charset applied; nested `message/rfc822`
//! recursively), header fields, HTML, attachments by true type (magic bytes),
//! containers (zip, gzip, tar, 7z; rar detected only), Office Open XML and OpenDocument, RTF,
//! and PDF through a [`PdfText`] service the shell provides.
//!
//! It does no I/O, reads no clock and spawns nothing: time comes in as a [`Budget`], PDF parsing as
//! a trait object (`pdf_child` is the shell's sandboxed implementation). It never fails and never
//! panics on input: whatever cannot be read becomes an [`Anomaly`], and every resource is bounded
//! by [`Limits`] (going past one is itself an anomaly).
//!
//! Security: all input is untrusted. Decompressed bytes, entries, nesting, parts and output text
//! are capped; zip bombs are caught by declared and actual ratio while inflating; XML entities are
//! never expanded; names from archives are only used as display paths (control characters
//! replaced), never as file names.

mod archive;
mod content;
mod defuse;
mod filetype;
#[doc(hidden)]
pub mod fuzz;
mod html;
mod limits;
mod mime;
mod office;
mod pdf;
pub mod pdf_child;
mod recode;
mod repair;
mod rtf;
mod sevenz;
mod text;
mod transfer;
mod walk;

#[cfg(test)]
mod tests;

use std::fmt;

pub use content::{Content, content};
pub use filetype::{ALL as ALL_FILE_TYPES, FileType};
pub use limits::{Budget, LimitKind, Limits, NoBudget};
pub use pdf::{NoPdf, PdfError, PdfText};
// For `rewrite`, which reads the MIME structure and bodies as decomposition does.
pub(crate) use defuse::defuse;
pub(crate) use recode::{QP_STAND_IN, rename_quoted_printable};
pub(crate) use transfer::Encoding as TransferEncoding;
pub(crate) use walk::segment;

/// The decomposition of one message.
#[derive(Debug, Default)]
pub struct Decomposed {
    /// Text parts in message order: headers, bodies, then attachments depth-first.
    pub parts: Vec<Part>,
    /// What was odd, unreadable or over a limit (at most a bounded number).
    pub anomalies: Vec<Anomaly>,
}

/// One piece of a message: some text (possibly empty) and, for files, what the file is.
///
/// Every file and container entry yields a part, even one with no text (an image, an encrypted
/// entry), so file rules can apply to it.
#[derive(Clone, PartialEq, Eq)]
pub struct Part {
    pub location: Location,
    /// Decoded text. Never shown in `Debug` output, which prints only its length.
    pub text: String,
    /// Set for attachments, container entries and nested messages.
    pub file: Option<FileMeta>,
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Part")
            .field("location", &self.location)
            .field("text_len", &self.text.len())
            .field("file", &self.file)
            .finish()
    }
}

/// Where a part is in the message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A header field of the message itself (`Subject`, display names of `From`, `To`, ...).
    Header(String),
    /// A body text part of the message itself.
    Body,
    /// Inside an attachment: a `/`-separated path such as `a.zip/b/c.docx`. Nested messages
    /// appear as a segment (`fwd.eml`), their header fields as `fwd.eml/[Subject]` and their
    /// bodies as `fwd.eml/[body]`.
    Attachment(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(name) => write!(f, "header:{name}"),
            Self::Body => f.write_str("body"),
            Self::Attachment(path) => write!(f, "attachment:{path}"),
        }
    }
}

/// What a text part is within its message, for detection's message-level context scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageText {
    /// A heading field: Subject, Comments or Keywords.
    Heading,
    /// A body text (text/plain, HTML, each alternative).
    Body,
}

impl Location {
    /// For a heading field or body text of a message (the message itself, or one attached to
    /// it): that message's path (`""` for the message itself, `fwd.eml` for a nested one) and
    /// which it is. `None` for other header fields (display names) and for attachments.
    pub fn message_text(&self) -> Option<(&str, MessageText)> {
        let heading = |name: &str| mime::TEXT_HEADERS.contains(&name);
        match self {
            Self::Header(name) if heading(name) => Some(("", MessageText::Heading)),
            Self::Header(_) => None,
            Self::Body => Some(("", MessageText::Body)),
            Self::Attachment(path) => {
                let (msg, last) = path.rsplit_once('/')?;
                let field = last.strip_prefix('[')?.strip_suffix(']')?;
                match field {
                    "body" => Some((msg, MessageText::Body)),
                    f if heading(f) => Some((msg, MessageText::Heading)),
                    _ => None,
                }
            }
        }
    }
}

/// Facts about a file (attachment, container entry, nested message) for file rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The file name as sent (attachment file name, archive entry name), if any.
    pub name: Option<String>,
    /// The declared MIME type (`application/pdf`), for attachments only.
    pub declared_type: Option<String>,
    /// What the content really is (magic bytes, refined for office packages).
    pub true_type: FileType,
    /// Size in bytes: decoded size for attachments, uncompressed size for entries (declared
    /// size when the entry was not extracted).
    pub size: u64,
    /// The file or something inside it is encrypted (password-protected zip entry, encrypted
    /// OOXML, encrypted PDF, 7z or rar with encrypted headers).
    pub encrypted: bool,
}

/// Something decomposition met that policies may want to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// A limit stopped decomposition of `path` (or of the rest of the message): "container limit
    /// exceeded". `path` is the display path of the part or entry where it happened.
    LimitExceeded { kind: LimitKind, path: String },
    /// An encrypted file or entry whose content could not be inspected.
    Encrypted { path: String },
    /// A file type whose content is not inspected (rar, legacy OLE2 Office, a 7z that needs a
    /// method or more memory than this build has, an unsupported zip compression method).
    Unsupported { path: String, true_type: FileType },
    /// Content that could not be read as what it claims to be.
    Malformed { path: String, what: Malformation },
}

/// What kind of malformed content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformation {
    /// The message has no parseable header; the raw bytes were used as body text.
    Mime,
    /// A transfer encoding (base64, quoted-printable) was not well formed: the body was decoded
    /// leniently anyway (bytes outside the alphabet skipped, bad escapes kept), as mail clients
    /// decode it, but another reader may see it differently.
    Encoding,
    /// A zip, gzip or tar archive could not be read (fully).
    Archive,
    /// An office XML part could not be parsed to its end.
    Document,
    /// A PDF could not be parsed, or its extractor crashed or timed out.
    Pdf,
    /// An entry inflated to more than its declared size.
    SizeMismatch,
}

/// Decomposes a raw RFC 5322 message. Never fails; see the module documentation.
pub fn decompose(
    raw_message: &[u8],
    limits: &Limits,
    pdf: &dyn PdfText,
    budget: &dyn Budget,
) -> Decomposed {
    let mut w = walk::Walker::new(limits, pdf, budget);
    w.message(raw_message, None, 0);
    w.finish()
}

/// Decomposes one file outside any message (an attachment saved to disk, a fuzz input): its
/// part is at `Location::Attachment(name)`, or `file` when unnamed.
pub fn decompose_file(
    data: &[u8],
    name: Option<&str>,
    limits: &Limits,
    pdf: &dyn PdfText,
    budget: &dyn Budget,
) -> Decomposed {
    let mut w = walk::Walker::new(limits, pdf, budget);
    let path = walk::segment(name.unwrap_or("file"));
    w.file(
        std::borrow::Cow::Borrowed(data),
        name.map(str::to_string),
        None,
        &path,
        1,
    );
    w.finish()
}
