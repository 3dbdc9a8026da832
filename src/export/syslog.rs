//! Syslog lines as SIEMs and rsyslog parse them: RFC 5424 (header, structured data with its
//! escaping, a BOM before a UTF-8 message), RFC 3164 for old receivers (packet capped at 1024
//! bytes), and RFC 6587 octet-counting framing for TCP and TLS (RFC 5425). Pure: an event's parts
//! in, bytes out; time comes in as Unix milliseconds.

/// Syslog severity (RFC 5424 §6.2.1), 0 (emergency) to 7 (debug).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}

/// The fields of the RFC 5424 header (RFC 3164 uses facility, severity, time, hostname and the
/// app name as its TAG).
#[derive(Debug, Clone)]
pub struct Header<'a> {
    /// 0..=23 (`16` is local0); a larger value is taken as 23.
    pub facility: u8,
    pub severity: Severity,
    /// Unix milliseconds.
    pub time_ms: u64,
    pub hostname: &'a str,
    pub app_name: &'a str,
    pub procid: &'a str,
    pub msgid: &'a str,
}

/// One SD-ELEMENT: an SD-ID (`name@enterprise` for private ones) and its parameters in order.
#[derive(Debug, Clone)]
pub struct Element<'a> {
    pub id: &'a str,
    pub params: &'a [(&'a str, &'a str)],
}

/// RFC 3164's packet limit.
pub const RFC3164_MAX: usize = 1024;
/// What a UTF-8 MSG starts with (RFC 5424 §6.4).
const BOM: &str = "\u{feff}";

fn pri(h: &Header<'_>) -> String {
    format!(
        "<{}>",
        u16::from(h.facility.min(23)) * 8 + h.severity as u16
    )
}

/// A header field: printable US-ASCII (33..=126) only, at most `max` characters, `-` when empty
/// (NILVALUE). Anything else is replaced by `_`, so that a bad host or app name cannot shift the
/// fields a receiver splits on spaces.
fn field(value: &str, max: usize) -> String {
    if value.is_empty() {
        return "-".into();
    }
    value
        .chars()
        .take(max)
        .map(|c| if ('!'..='~').contains(&c) { c } else { '_' })
        .collect()
}

/// An SD-NAME (SD-ID, `@enterprise` included, or PARAM-NAME): printable US-ASCII except `=`,
/// space, `]` and `"`, 1..=32 characters.
fn sd_name(value: &str, max: usize) -> String {
    let name = field(value, max);
    name.chars()
        .map(|c| if matches!(c, '=' | ']' | '"') { '_' } else { c })
        .collect()
}

/// A PARAM-VALUE: UTF-8 with `"`, `\` and `]` escaped by a backslash (RFC 5424 §6.3.3), and
/// control characters (a line break in a subject) made spaces: RFC 5424 has no escape for them and
/// a receiver writing one line per message would split it.
fn param_value(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
}

/// An RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [BOM MSG]`. With no
/// elements the structured data is `-`; elements follow each other with no space between. A
/// message that is not pure ASCII starts with a BOM.
pub fn rfc5424(h: &Header<'_>, sd: &[Element<'_>], msg: Option<&str>) -> String {
    let mut out = format!(
        "{}1 {} {} {} {} {} ",
        pri(h),
        crate::units::time::format_millis(h.time_ms),
        field(h.hostname, 255),
        field(h.app_name, 48),
        field(h.procid, 128),
        field(h.msgid, 32),
    );
    if sd.is_empty() {
        out.push('-');
    }
    for e in sd {
        out.push('[');
        out.push_str(&sd_name(e.id, 32));
        for (name, value) in e.params {
            out.push(' ');
            out.push_str(&sd_name(name, 32));
            out.push_str("=\"");
            param_value(value, &mut out);
            out.push('"');
        }
        out.push(']');
    }
    if let Some(m) = msg.filter(|m| !m.is_empty()) {
        out.push(' ');
        if !m.is_ascii() {
            out.push_str(BOM);
        }
        out.push_str(m);
    }
    out
}

/// An RFC 3164 message: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG`, TAG the app name cut to 32
/// alphanumeric characters, line breaks in MSG turned into spaces, and the packet cut to
/// [`RFC3164_MAX`] bytes on a character boundary (the cut marked with `...`).
pub fn rfc3164(h: &Header<'_>, msg: &str) -> String {
    let tag: String = h
        .app_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    let tag = if tag.is_empty() { "sluice".into() } else { tag };
    let mut out = format!(
        "{}{} {} {tag}: ",
        pri(h),
        crate::units::time::bsd(h.time_ms / 1000),
        field(h.hostname, 255),
    );
    out.extend(msg.chars().map(|c| if c.is_control() { ' ' } else { c }));
    if out.len() > RFC3164_MAX {
        let mut end = RFC3164_MAX - 3;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("...");
    }
    out
}

/// RFC 6587 octet counting (the framing RFC 5425 requires over TLS): `MSG-LEN SP SYSLOG-MSG`.
pub fn octet_counted(msg: &str) -> Vec<u8> {
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header<'static> {
        Header {
            facility: 1,
            severity: Severity::Informational,
            time_ms: 1_065_910_455_003,
            hostname: "mymachine.example.com",
            app_name: "evntslog",
            procid: "",
            msgid: "ID47",
        }
    }

    #[test]
    fn the_rfc_examples_come_out_exactly() {
        let params = [("iut", "3"), ("eventSource", "App")];
        let sd = [Element {
            id: "exampleSDID@32473",
            params: &params,
        }];
        assert_eq!(
            rfc5424(&header(), &sd, Some("An application event log entry...")),
            "<14>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 \
             [exampleSDID@32473 iut=\"3\" eventSource=\"App\"] An application event log entry..."
        );
        let su = Header {
            facility: 4,
            severity: Severity::Critical,
            app_name: "su",
            ..header()
        };
        assert_eq!(
            rfc5424(&su, &[], Some("'su root' failed for lonvick on /dev/pts/8")),
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \
             'su root' failed for lonvick on /dev/pts/8"
        );
    }

    #[test]
    fn param_values_escape_quote_backslash_and_bracket_and_elements_abut() {
        let a = [("subject", "a]b \"c\" d\\e\r\nf")];
        let b = [("n", "1")];
        let sd = [
            Element {
                id: "mail@32473",
                params: &a,
            },
            Element {
                id: "x@32473",
                params: &b,
            },
        ];
        let line = rfc5424(&header(), &sd, None);
        assert!(
            line.ends_with(r#"[mail@32473 subject="a\]b \"c\" d\\e  f"][x@32473 n="1"]"#),
            "{line}"
        );
    }

    #[test]
    fn a_utf8_message_starts_with_a_bom_and_an_ascii_one_does_not() {
        let line = rfc5424(&header(), &[], Some("Grüße aus Köln"));
        assert!(line.ends_with(" - \u{feff}Grüße aus Köln"), "{line}");
        assert!(!rfc5424(&header(), &[], Some("plain")).contains('\u{feff}'));
        assert!(rfc5424(&header(), &[], Some("")).ends_with(" ID47 -"));
    }

    #[test]
    fn header_fields_stay_one_token_each() {
        let h = Header {
            hostname: "bad host\n",
            app_name: "",
            msgid: "a-very-long-message-id-beyond-thirty-two-characters",
            ..header()
        };
        let line = rfc5424(&h, &[], None);
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 7, "{line}");
        assert_eq!(fields[2], "bad_host_");
        assert_eq!(fields[3], "-");
        assert_eq!(fields[5].len(), 32);
        let odd = [("a=b c", "v")];
        let sd = [Element {
            id: "i\"d]",
            params: &odd,
        }];
        assert!(rfc5424(&header(), &sd, None).ends_with(r#"[i_d_ a_b_c="v"]"#));
    }

    #[test]
    fn rfc3164_has_the_bsd_layout_one_line_and_at_most_1024_bytes() {
        let line = rfc3164(&header(), "first\nsecond");
        assert_eq!(
            line,
            "<14>Oct 11 22:14:15 mymachine.example.com evntslog: first second"
        );
        let long = "é".repeat(2000);
        let cut = rfc3164(&header(), &long);
        assert!(
            cut.len() <= RFC3164_MAX && cut.ends_with("..."),
            "{}",
            cut.len()
        );
        let h = Header {
            app_name: "sluice-export/1",
            ..header()
        };
        assert!(rfc3164(&h, "x").contains(" sluiceexport1: x"));
    }

    #[test]
    fn octet_counting_prefixes_the_byte_length() {
        assert_eq!(octet_counted("<14>1 - - - - - -"), b"17 <14>1 - - - - - -");
        assert!(octet_counted("é").starts_with(b"2 "));
    }
}
