//! Notice templates: `${NAME}` metatags parsed once into pieces, so rendering cannot fail, and
//! expanded for one of three places (subject, plain text, HTML) with the escaping that place needs.
//!
//! Security: template text comes from the administrator; tag values come from a message
//! (addresses, subject, file names) and are untrusted. In HTML every value is escaped, so a value
//! can never add markup; in a subject every control character (CR and LF included) becomes a space,
//! so a value can never add a header field. This module does no I/O.

use std::fmt;

/// Longest rendered subject, in characters; the rest is cut (a subject is a summary, and this
/// keeps a notice's header block small whatever the original subject was).
pub const MAX_SUBJECT_CHARS: usize = 256;

/// Longest template text accepted, in bytes (a template is a page, not a document).
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// The metatags a template may use. The first five are the seed's (Symantec Mail Security),
/// the rest are Sluice's. A tag whose fact a notice does not have expands to [`Tag::fallback`]
/// (documented in `assets/sluice.toml`): an empty string for the seed's tags and the optional
/// texts, a word such as `none` for the rest, so no notice shows a dangling "Incident: ".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    /// `From:` and `To:` lines of the message.
    MsgInfo,
    /// One block per violation: policy, rule and what matched where (redacted), or the seed's
    /// subject / file-name / container-limit texts.
    ContentInfo,
    /// How the message was handled (administrator notices only).
    Disposition,
    /// Virus scan results (empty: Sluice has no virus scanner yet).
    VirusInfo,
    /// "Message contained an encrypted container" when it did.
    EncryptInfo,
    Sender,
    Recipients,
    Subject,
    Date,
    MessageId,
    Size,
    Policy,
    Severity,
    QuarantineId,
    IncidentId,
    /// The signed approve link (approval requests only).
    ApproveUrl,
    /// The signed reject link (approval requests only).
    RejectUrl,
    Expires,
    Reason,
    Hostname,
    /// The comment an approver gave with the decision (approved and rejected notices).
    ApproverComment,
}

impl Tag {
    /// Every tag, in documentation order.
    pub const ALL: [Tag; 21] = [
        Tag::MsgInfo,
        Tag::ContentInfo,
        Tag::Disposition,
        Tag::VirusInfo,
        Tag::EncryptInfo,
        Tag::Sender,
        Tag::Recipients,
        Tag::Subject,
        Tag::Date,
        Tag::MessageId,
        Tag::Size,
        Tag::Policy,
        Tag::Severity,
        Tag::QuarantineId,
        Tag::IncidentId,
        Tag::ApproveUrl,
        Tag::RejectUrl,
        Tag::Expires,
        Tag::Reason,
        Tag::Hostname,
        Tag::ApproverComment,
    ];

    /// The name written between `${` and `}`.
    pub fn name(self) -> &'static str {
        match self {
            Tag::MsgInfo => "MSGINFO",
            Tag::ContentInfo => "CONTENTINFO",
            Tag::Disposition => "DISPOSITION",
            Tag::VirusInfo => "VIRUSINFO",
            Tag::EncryptInfo => "ENCRYPTINFO",
            Tag::Sender => "SENDER",
            Tag::Recipients => "RECIPIENTS",
            Tag::Subject => "SUBJECT",
            Tag::Date => "DATE",
            Tag::MessageId => "MESSAGE_ID",
            Tag::Size => "SIZE",
            Tag::Policy => "POLICY",
            Tag::Severity => "SEVERITY",
            Tag::QuarantineId => "QUARANTINE_ID",
            Tag::IncidentId => "INCIDENT_ID",
            Tag::ApproveUrl => "APPROVE_URL",
            Tag::RejectUrl => "REJECT_URL",
            Tag::Expires => "EXPIRES",
            Tag::Reason => "REASON",
            Tag::Hostname => "HOSTNAME",
            Tag::ApproverComment => "APPROVER_COMMENT",
        }
    }

    /// What the tag expands to when the notice does not have its fact (a message without a
    /// Message-ID, a notice about a message that was not quarantined, no approver comment).
    /// Empty for the seed's tags (the seed: "tags expand to an empty string when not
    /// applicable") and for the optional texts, so a line of only such tags is left out.
    pub fn fallback(self) -> &'static str {
        match self {
            Tag::MsgInfo
            | Tag::ContentInfo
            | Tag::Disposition
            | Tag::VirusInfo
            | Tag::EncryptInfo
            | Tag::Reason
            | Tag::ApproverComment
            | Tag::ApproveUrl
            | Tag::RejectUrl => "",
            Tag::Sender => "<>",
            Tag::Subject => "(no subject)",
            Tag::Recipients
            | Tag::Date
            | Tag::MessageId
            | Tag::Size
            | Tag::Policy
            | Tag::Severity
            | Tag::IncidentId
            | Tag::Hostname => "none",
            Tag::QuarantineId => "none (not quarantined)",
            Tag::Expires => "none (no decision pending)",
        }
    }

    /// The tag with this exact (upper-case) name.
    pub fn parse(name: &str) -> Option<Tag> {
        Tag::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${{{}}}", self.name())
    }
}

/// Why a template was refused. `offset` is the byte offset of the problem in the template text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown tag ${{{name}}} (known: {known})", known = known_tags())]
    UnknownTag { name: String, offset: usize },
    #[error("unclosed tag at byte {offset}: expected `}}` after `${{`")]
    Unclosed { offset: usize },
    #[error("{tag} is not allowed in {kind} notices: {why}")]
    NotAllowed {
        tag: Tag,
        kind: &'static str,
        why: &'static str,
        offset: usize,
    },
    #[error("the template is {len} bytes, more than the {max} allowed")]
    TooLong { len: usize, max: usize },
}

impl TemplateError {
    /// Byte offset of the problem in the template text (0 for a whole-template problem).
    pub fn offset(&self) -> usize {
        match self {
            TemplateError::UnknownTag { offset, .. }
            | TemplateError::Unclosed { offset }
            | TemplateError::NotAllowed { offset, .. } => *offset,
            TemplateError::TooLong { .. } => 0,
        }
    }
}

fn known_tags() -> String {
    Tag::ALL.map(Tag::name).join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Tag(Tag),
}

/// A parsed template: literal text and tags. Rendering cannot fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    /// Each tag with the byte offset it was written at (for per-kind checks).
    tags: Vec<(Tag, usize)>,
}

/// Where a rendered template goes, which decides how values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// One header line: control characters become spaces, runs of spaces collapse, and the
    /// result is cut at [`MAX_SUBJECT_CHARS`].
    Subject,
    /// A text/plain body: values keep their line breaks; other control characters are dropped.
    Text,
    /// A text/html body: values are HTML-escaped, line breaks become `<br>`.
    Html,
}

impl Template {
    /// Parses `${NAME}` tags (and `{$NAME}`, the seed guide's misprint). `$$` is a literal `$`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::TooLong {
                len: text.len(),
                max: MAX_TEMPLATE_BYTES,
            });
        }
        let mut pieces = Vec::new();
        let mut tags = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while !rest.is_empty() {
            let (consumed, tag) = if rest.starts_with("$$") {
                literal.push('$');
                (2, None)
            } else if let Some(after) = rest.strip_prefix("${").or_else(|| rest.strip_prefix("{$"))
            {
                let Some(end) = after.find('}') else {
                    return Err(TemplateError::Unclosed { offset });
                };
                let name = &after[..end];
                let tag = Tag::parse(name.trim()).ok_or_else(|| TemplateError::UnknownTag {
                    name: name.to_string(),
                    offset,
                })?;
                (2 + end + 1, Some(tag))
            } else {
                // One character (not byte) of literal text.
                let c = rest.chars().next().unwrap_or('\0');
                literal.push(c);
                (c.len_utf8(), None)
            };
            if let Some(tag) = tag {
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Tag(tag));
                tags.push((tag, offset));
            }
            rest = &rest[consumed..];
            offset += consumed;
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces, tags })
    }

    /// A template of literal text only (no tags).
    pub fn literal(text: &str) -> Template {
        Template {
            pieces: vec![Piece::Text(text.to_string())],
            tags: Vec::new(),
        }
    }

    /// The tags used, each with its byte offset in the source text.
    pub fn tags(&self) -> impl Iterator<Item = (Tag, usize)> + '_ {
        self.tags.iter().copied()
    }

    /// Expands the template with `value(tag)` for each tag, escaped for `place`. A line that
    /// holds only tags (and white space) which all expand to nothing is left out, so optional
    /// tags on lines of their own leave no gaps.
    pub fn render(&self, place: Place, value: impl Fn(Tag) -> String) -> String {
        let mut line = Line::default();
        for piece in &self.pieces {
            match piece {
                // The administrator's own text is trusted (it is markup in HTML); in a subject
                // even its line breaks are flattened below, with the values.
                Piece::Text(t) => {
                    for c in t.chars() {
                        line.literal(c);
                    }
                }
                Piece::Tag(tag) => {
                    let v = value(*tag);
                    line.has_tag = true;
                    line.has_content |= !v.trim().is_empty();
                    match place {
                        Place::Subject => line.out.push_str(&v),
                        Place::Text => push_text(&mut line.out, &v),
                        Place::Html => push_html(&mut line.out, &v),
                    }
                }
            }
        }
        let out = line.finish();
        match place {
            Place::Subject => single_line(&out, MAX_SUBJECT_CHARS),
            Place::Text | Place::Html => out,
        }
    }
}

/// Rendering state: the output and what the current line holds so far.
#[derive(Default)]
struct Line {
    out: String,
    start: usize,
    has_tag: bool,
    has_content: bool,
}

impl Line {
    fn literal(&mut self, c: char) {
        if c == '\n' {
            if self.has_tag && !self.has_content {
                // Only empty tags on this line: drop it, line break included.
                self.out.truncate(self.start);
            } else {
                self.out.push('\n');
            }
            self.start = self.out.len();
            self.has_tag = false;
            self.has_content = false;
        } else {
            self.has_content |= !c.is_whitespace();
            self.out.push(c);
        }
    }

    fn finish(mut self) -> String {
        if self.has_tag && !self.has_content {
            self.out.truncate(self.start);
        }
        self.out
    }
}

/// `s` on one line: every control character becomes a space, runs of white space collapse to
/// one, the ends are trimmed, and at most `max` characters are kept.
pub fn single_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    let mut count = 0;
    let mut space = false;
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if count + usize::from(space) + 1 > max {
            break;
        }
        if space {
            out.push(' ');
            count += 1;
            space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// A value in plain text: line breaks kept (CR LF and CR become LF), tabs kept, other control
/// characters dropped (they could upset a terminal or a mail client).
fn push_text(out: &mut String, v: &str) {
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// A value in HTML: escaped so it is always text, never markup, even inside a quoted attribute.
fn push_html(out: &mut String, v: &str) {
    let mut plain = String::with_capacity(v.len());
    push_text(&mut plain, v);
    for c in plain.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(tag: Tag) -> String {
        match tag {
            Tag::Sender => "a@example.com".into(),
            Tag::Subject => "Hi\r\nBcc: victim@example.com".into(),
            Tag::MsgInfo => "From: a@example.com\nTo: b@example.com".into(),
            Tag::Reason => "<script>alert('x')</script> & \"q\"".into(),
            _ => String::new(),
        }
    }

    #[test]
    fn parses_both_spellings_and_literal_dollars() {
        let t = Template::parse("A ${SENDER} B {$SENDER} $$5 ${ SENDER }").unwrap();
        assert_eq!(
            t.render(Place::Text, values),
            "A a@example.com B a@example.com $5 a@example.com"
        );
        let offsets: Vec<usize> = t.tags().map(|(_, o)| o).collect();
        assert_eq!(offsets, vec![2, 14, 28]);
    }

    #[test]
    fn unknown_tag_is_an_error_naming_the_tag_and_where() {
        let e = Template::parse("Hello\n${SENDR} x").unwrap_err();
        assert_eq!(e.offset(), 6);
        let text = e.to_string();
        assert!(
            text.starts_with("unknown tag ${SENDR} (known: MSGINFO, CONTENTINFO"),
            "{text}"
        );
        assert!(text.contains("HOSTNAME"), "{text}");
        let e = Template::parse("x ${SENDER").unwrap_err();
        assert_eq!(e, TemplateError::Unclosed { offset: 2 });
        assert!(e.to_string().contains("unclosed tag"));
        assert!(Template::parse(&"x".repeat(MAX_TEMPLATE_BYTES + 1)).is_err());
    }

    #[test]
    fn every_tag_name_round_trips() {
        for tag in Tag::ALL {
            assert_eq!(Tag::parse(tag.name()), Some(tag));
            let t = Template::parse(&tag.to_string()).unwrap();
            assert_eq!(t.tags().next(), Some((tag, 0)));
        }
        assert_eq!(Tag::parse("sender"), None, "tag names are upper case");
    }

    #[test]
    fn not_applicable_tags_expand_to_nothing() {
        let t = Template::parse("[${DISPOSITION}][${APPROVE_URL}]").unwrap();
        assert_eq!(t.render(Place::Text, values), "[][]");
    }

    #[test]
    fn a_subject_value_cannot_start_a_header() {
        let t = Template::parse("Re: ${SUBJECT}\r\n${MSGINFO}").unwrap();
        let s = t.render(Place::Subject, values);
        assert_eq!(
            s,
            "Re: Hi Bcc: victim@example.com From: a@example.com To: b@example.com"
        );
        assert!(!s.contains(['\r', '\n']));
        let long = Template::parse(&"x ".repeat(400)).unwrap();
        assert_eq!(
            long.render(Place::Subject, values).chars().count(),
            MAX_SUBJECT_CHARS - 1
        );
    }

    #[test]
    fn html_values_are_escaped_but_template_markup_is_kept() {
        let t = Template::parse("<p title=\"${REASON}\">${MSGINFO}</p>").unwrap();
        assert_eq!(
            t.render(Place::Html, values),
            "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\">\
             From: a@example.com<br>\nTo: b@example.com</p>"
        );
    }

    #[test]
    fn text_values_keep_lines_and_lose_control_characters() {
        let t = Template::parse("${SUBJECT}|${REASON}").unwrap();
        let v = |tag| match tag {
            Tag::Subject => "a\r\nb\rc\u{1b}[31md\te".to_string(),
            _ => String::new(),
        };
        assert_eq!(t.render(Place::Text, v), "a\nb\nc[31md\te|");
    }

    #[test]
    fn single_line_collapses_and_trims() {
        assert_eq!(single_line("  a \r\n\t b  ", 100), "a b");
        assert_eq!(single_line("abcdef", 3), "abc");
        assert_eq!(single_line("", 3), "");
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics_and_subjects_stay_one_line(
            text in "(\\$\\{?|\\{\\$?|[A-Z_]{0,12}|\\}|\\$\\$|[a-z \r\n<>&]|\\PC){0,40}",
            value in "\\PC*|[\r\n]+",
        ) {
            if let Ok(t) = Template::parse(&text) {
                let s = t.render(Place::Subject, |_| value.clone());
                proptest::prop_assert!(!s.contains(['\r', '\n']));
                proptest::prop_assert!(s.chars().count() <= MAX_SUBJECT_CHARS);
                // Markup comes only from the template: no value adds a `<` (line breaks aside,
                // which become `<br>`).
                let one_line = value.replace(['\r', '\n'], "");
                let h = t.render(Place::Html, |_| format!("<{one_line}>"));
                proptest::prop_assert!(h.matches('<').count() <= text.matches('<').count());
            }
        }
    }
}
