//! Receivers' parsers, written from the specifications (RFC 5424 §6, RFC 3164 §4.1, ArcSight CEF,
//! IBM LEEF 1.0/2.0) and not from Sluice's formatters: the tests check Sluice's lines with them.
//! Each rejects what its grammar does not allow, with the reason.
#![allow(dead_code)]

/// An RFC 5424 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc5424 {
    pub facility: u8,
    pub severity: u8,
    pub version: u32,
    /// `None` for the NILVALUE.
    pub timestamp: Option<String>,
    pub hostname: Option<String>,
    pub app_name: Option<String>,
    pub procid: Option<String>,
    pub msgid: Option<String>,
    pub sd: Vec<SdElement>,
    /// MSG without its BOM.
    pub msg: Option<String>,
    /// Whether MSG started with a UTF-8 BOM.
    pub bom: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    pub id: String,
    /// PARAM-NAME and the unescaped PARAM-VALUE, in order (a name may repeat).
    pub params: Vec<(String, String)>,
}

impl Rfc5424 {
    /// The SD-ELEMENT with this SD-ID.
    pub fn element(&self, id: &str) -> Option<&SdElement> {
        self.sd.iter().find(|e| e.id == id)
    }
}

impl SdElement {
    /// The first value of `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn params_named(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// `<PRIVAL>`: facility and severity (PRIVAL = facility * 8 + severity, at most 191, no leading
/// zeros), and the rest.
fn pri(s: &str) -> Result<(u8, u8, &str), String> {
    let rest = s.strip_prefix('<').ok_or("PRI: no <")?;
    let end = rest.find('>').ok_or("PRI: no >")?;
    let digits = &rest[..end];
    if digits.is_empty()
        || digits.len() > 3
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return Err(format!("PRI: bad PRIVAL {digits:?}"));
    }
    let v: u16 = digits.parse().map_err(|_| "PRI: number")?;
    if v > 191 {
        return Err(format!("PRI: PRIVAL {v} > 191"));
    }
    Ok(((v / 8) as u8, (v % 8) as u8, &rest[end + 1..]))
}

/// The next space-terminated header field (PRINTUSASCII, 1..=max), NILVALUE as `None`.
fn header_field<'a>(
    s: &'a str,
    what: &str,
    max: usize,
) -> Result<(Option<String>, &'a str), String> {
    let end = s.find(' ').ok_or(format!("{what}: no SP after it"))?;
    let f = &s[..end];
    if f.is_empty() || f.len() > max || !f.bytes().all(|b| (33..=126).contains(&b)) {
        return Err(format!("{what}: {f:?} is not 1-{max} printable US-ASCII"));
    }
    Ok(((f != "-").then(|| f.to_string()), &s[end + 1..]))
}

/// RFC 5424 §6.2.3 TIMESTAMP (FULL-DATE "T" FULL-TIME, TIME-SECFRAC of 1-6 digits, Z or ±hh:mm).
pub fn valid_rfc5424_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || b[10] != b'T'
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        let n = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=6).contains(&n) {
            return false;
        }
        i += 1 + n;
    }
    match &t[i..] {
        "Z" => true,
        off => {
            let o = off.as_bytes();
            o.len() == 6
                && (o[0] == b'+' || o[0] == b'-')
                && o[1..3].iter().all(u8::is_ascii_digit)
                && o[3] == b':'
                && o[4..6].iter().all(u8::is_ascii_digit)
        }
    }
}

/// SD-NAME: 1-32 PRINTUSASCII except `=`, SP, `]`, `"`.
fn sd_name(s: &str) -> Result<(&str, &str), String> {
    let n = s
        .bytes()
        .take_while(|&b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"'))
        .count();
    if n == 0 || n > 32 {
        return Err(format!("SD-NAME of {n} characters at {s:?}"));
    }
    Ok((&s[..n], &s[n..]))
}

/// PARAM-VALUE after its opening quote: `\"`, `\\` and `\]` unescaped (a backslash before anything
/// else is kept, §6.3.3); an unescaped `]` is an error. Returns the value and the rest after `"`.
fn param_value(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            ']' => return Err(format!("unescaped ] in PARAM-VALUE {s:?}")),
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\' | ']'))) => out.push(e),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => return Err("PARAM-VALUE ends in a backslash".into()),
            },
            c => out.push(c),
        }
    }
    Err("PARAM-VALUE without its closing quote".into())
}

/// STRUCTURED-DATA: NILVALUE or 1*SD-ELEMENT; returns the elements and what follows.
fn structured_data(s: &str) -> Result<(Vec<SdElement>, &str), String> {
    if let Some(rest) = s.strip_prefix('-') {
        return Ok((Vec::new(), rest));
    }
    let mut rest = s;
    let mut elements = Vec::new();
    while let Some(r) = rest.strip_prefix('[') {
        let (id, mut r) = sd_name(r)?;
        let mut params = Vec::new();
        loop {
            if let Some(after) = r.strip_prefix(']') {
                r = after;
                break;
            }
            let after = r
                .strip_prefix(' ')
                .ok_or(format!("SD-ELEMENT {id}: expected SP or ] at {r:?}"))?;
            let (name, after) = sd_name(after)?;
            let after = after
                .strip_prefix("=\"")
                .ok_or(format!("SD-PARAM {name}: expected =\""))?;
            let (value, after) = param_value(after)?;
            params.push((name.to_string(), value));
            r = after;
        }
        elements.push(SdElement {
            id: id.to_string(),
            params,
        });
        rest = r;
    }
    if elements.is_empty() {
        return Err(format!("STRUCTURED-DATA: neither - nor [ at {s:?}"));
    }
    Ok((elements, rest))
}

/// Parses one RFC 5424 SYSLOG-MSG (no transport framing).
pub fn parse_rfc5424(line: &str) -> Result<Rfc5424, String> {
    let (facility, severity, rest) = pri(line)?;
    let vend = rest.find(' ').ok_or("VERSION: no SP")?;
    let v = &rest[..vend];
    if v.is_empty() || v.len() > 3 || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("VERSION {v:?}"));
    }
    let version = v.parse().map_err(|_| "VERSION")?;
    let rest = &rest[vend + 1..];
    let (timestamp, rest) = header_field(rest, "TIMESTAMP", 32)?;
    if let Some(t) = &timestamp
        && !valid_rfc5424_timestamp(t)
    {
        return Err(format!("TIMESTAMP {t:?}"));
    }
    let (hostname, rest) = header_field(rest, "HOSTNAME", 255)?;
    let (app_name, rest) = header_field(rest, "APP-NAME", 48)?;
    let (procid, rest) = header_field(rest, "PROCID", 128)?;
    let (msgid, rest) = header_field(rest, "MSGID", 32)?;
    let (sd, rest) = structured_data(rest)?;
    let (msg, bom) = match rest {
        "" => (None, false),
        r => {
            let m = r
                .strip_prefix(' ')
                .ok_or(format!("expected SP before MSG at {r:?}"))?;
            match m.strip_prefix('\u{feff}') {
                Some(m) => (Some(m.to_string()), true),
                None => (Some(m.to_string()), false),
            }
        }
    };
    Ok(Rfc5424 {
        facility,
        severity,
        version,
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        sd,
        msg,
        bom,
    })
}

/// An RFC 3164 (BSD syslog) packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc3164 {
    pub facility: u8,
    pub severity: u8,
    /// `Mmm dd hh:mm:ss`.
    pub timestamp: String,
    pub hostname: String,
    pub tag: String,
    /// CONTENT after `TAG:` and its space (or after `TAG[pid]: `).
    pub content: String,
}

/// Parses one RFC 3164 packet: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: CONTENT`, packet at most 1024
/// bytes, TAG at most 32 alphanumeric characters.
pub fn parse_rfc3164(line: &str) -> Result<Rfc3164, String> {
    if line.len() > 1024 {
        return Err(format!("packet of {} bytes > 1024", line.len()));
    }
    let (facility, severity, rest) = pri(line)?;
    let ts = rest.get(..15).ok_or("TIMESTAMP: too short")?;
    let b = ts.as_bytes();
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let day_ok = (b[4] == b' ' || (b'1'..=b'3').contains(&b[4])) && b[5].is_ascii_digit();
    let time_ok = [7, 8, 10, 11, 13, 14]
        .iter()
        .all(|&i| b[i].is_ascii_digit())
        && b[9] == b':'
        && b[12] == b':';
    if !MONTHS.contains(&&ts[..3]) || b[3] != b' ' || !day_ok || b[6] != b' ' || !time_ok {
        return Err(format!("TIMESTAMP {ts:?}"));
    }
    let rest = rest[15..]
        .strip_prefix(' ')
        .ok_or("no SP after TIMESTAMP")?;
    let hend = rest.find(' ').ok_or("HOSTNAME: no SP")?;
    let hostname = &rest[..hend];
    if hostname.is_empty() {
        return Err("empty HOSTNAME".into());
    }
    let rest = &rest[hend + 1..];
    let tag_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if tag_len == 0 || tag_len > 32 {
        return Err(format!("TAG of {tag_len} alphanumeric characters"));
    }
    let tag = &rest[..tag_len];
    let mut after = &rest[tag_len..];
    if let Some(r) = after.strip_prefix('[') {
        let close = r.find(']').ok_or("TAG[pid without ]")?;
        after = &r[close + 1..];
    }
    let content = after
        .strip_prefix(": ")
        .ok_or(format!("expected \": \" after TAG at {after:?}"))?;
    Ok(Rfc3164 {
        facility,
        severity,
        timestamp: ts.to_string(),
        hostname: hostname.to_string(),
        tag: tag.to_string(),
        content: content.to_string(),
    })
}

/// `key=value` pairs separated by spaces, a value either bare (no space) or double-quoted with
/// `\"`, `\\`, `\n`, `\r`, `\t` escapes. Used for the RFC 3164 CONTENT.
pub fn parse_key_values(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_end();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or(format!("no = in {rest:?}"))?;
        let key = &rest[..eq];
        if key.is_empty() || key.contains(' ') {
            return Err(format!("bad key {key:?}"));
        }
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' => match chars.next().map(|(_, e)| e) {
                        Some('n') => v.push('\n'),
                        Some('r') => v.push('\r'),
                        Some('t') => v.push('\t'),
                        Some(e) => v.push(e),
                        None => return Err("value ends in a backslash".into()),
                    },
                    c => v.push(c),
                }
            }
            let end = end.ok_or("unterminated quoted value")?;
            (v, &q[end..])
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.push((key.to_string(), value));
        rest = match next {
            "" => "",
            n => n.strip_prefix(' ').ok_or(format!("expected SP at {n:?}"))?,
        };
    }
    Ok(out)
}

/// An ArcSight CEF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cef {
    pub version: String,
    pub vendor: String,
    pub product: String,
    pub device_version: String,
    pub class_id: String,
    pub name: String,
    pub severity: u8,
    /// Extension `key=value` pairs, unescaped, in order.
    pub extension: Vec<(String, String)>,
}

impl Cef {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.extension
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits off one header field ending in an unescaped `|`, unescaping `\|` and `\\`.
fn cef_header_field(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '|' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, e @ ('|' | '\\'))) => out.push(e),
                other => return Err(format!("bad escape \\{other:?} in a CEF header field")),
            },
            '\n' | '\r' => return Err("line break in a CEF header".into()),
            c => out.push(c),
        }
    }
    Err(format!("CEF header field without its closing |: {s:?}"))
}

/// Parses a CEF record; `line` may carry a syslog header before `CEF:`.
pub fn parse_cef(line: &str) -> Result<Cef, String> {
    let start = line.find("CEF:").ok_or("no CEF: in the line")?;
    let rest = &line[start + 4..];
    let (version, rest) = cef_header_field(rest)?;
    if version != "0" && version != "1" {
        return Err(format!("CEF version {version:?}"));
    }
    let (vendor, rest) = cef_header_field(rest)?;
    let (product, rest) = cef_header_field(rest)?;
    let (device_version, rest) = cef_header_field(rest)?;
    let (class_id, rest) = cef_header_field(rest)?;
    let (name, rest) = cef_header_field(rest)?;
    let (sev, rest) = cef_header_field(rest)?;
    for (what, v, max) in [
        ("Device Vendor", &vendor, 63),
        ("Device Product", &product, 63),
        ("Device Version", &device_version, 31),
        ("Device Event Class ID", &class_id, 1023),
    ] {
        if v.chars().count() > max {
            return Err(format!("{what} longer than {max}: {v:?}"));
        }
    }
    let severity: u8 = sev
        .parse()
        .ok()
        .filter(|s| *s <= 10)
        .ok_or(format!("Severity {sev:?} is not 0-10"))?;
    Ok(Cef {
        version,
        vendor,
        product,
        device_version,
        class_id,
        name,
        severity,
        extension: cef_extension(rest)?,
    })
}

/// CEF extension: a key is the run of key characters just before an unescaped `=`; its value runs
/// to the space before the next key. `\=`, `\\`, `\n`, `\r` are unescaped; a raw line break or an
/// unknown escape is an error.
pub fn cef_extension(s: &str) -> Result<Vec<(String, String)>, String> {
    if s.contains('\n') || s.contains('\r') {
        return Err("raw line break in a CEF extension".into());
    }
    let b = s.as_bytes();
    // Byte offsets of unescaped '='.
    let mut eqs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'=' => {
                eqs.push(i);
                i += 1
            }
            _ => i += 1,
        }
    }
    let is_key = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-';
    // For each '=', where its key starts.
    let starts: Vec<usize> = eqs
        .iter()
        .map(|&e| {
            let mut k = e;
            while k > 0 && is_key(b[k - 1]) {
                k -= 1;
            }
            k
        })
        .collect();
    let mut out = Vec::new();
    for (n, (&e, &k)) in eqs.iter().zip(&starts).enumerate() {
        if k == e {
            return Err(format!("unescaped = with no key before it at byte {e}"));
        }
        if k > 0 && b[k - 1] != b' ' && b[k - 1] != b'\t' {
            return Err(format!("key {:?} not preceded by a space", &s[k..e]));
        }
        if n == 0 && !s[..k].trim().is_empty() {
            return Err(format!("text before the first key: {:?}", &s[..k]));
        }
        let vend = match starts.get(n + 1) {
            Some(&next) => next - 1,
            None => s.len(),
        };
        let raw = &s[e + 1..vend.max(e + 1)];
        out.push((
            s[k..e].to_string(),
            cef_unescape(raw.trim_end_matches(' '))?,
        ));
    }
    if eqs.is_empty() && !s.trim().is_empty() {
        return Err(format!("extension without key=value: {s:?}"));
    }
    Ok(out)
}

fn cef_unescape(v: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('=') => out.push('='),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            other => return Err(format!("bad escape \\{other:?} in a CEF extension value")),
        }
    }
    Ok(out)
}

/// An IBM QRadar LEEF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leef {
    /// `1.0` or `2.0`.
    pub version: String,
    pub vendor: String,
    pub product: String,
    pub product_version: String,
    pub event_id: String,
    pub delimiter: char,
    pub attributes: Vec<(String, String)>,
}

impl Leef {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The LEEF 2.0 delimiter field: one character, or its code as `0x..`/`x..` hex.
fn leef_delimiter(f: &str) -> Result<char, String> {
    let mut chars = f.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Ok(c);
    }
    let hex = f
        .strip_prefix("0x")
        .or_else(|| f.strip_prefix("x"))
        .ok_or(format!(
            "delimiter {f:?}: neither one character nor x.. hex"
        ))?;
    u32::from_str_radix(hex, 16)
        .ok()
        .and_then(char::from_u32)
        .ok_or(format!("delimiter {f:?}: bad hex"))
}

/// Parses a LEEF 1.0 or 2.0 record; `line` may carry a syslog header before `LEEF:`. LEEF has no
/// escaping: header fields end at `|`, attributes at the delimiter, a key at its first `=`.
pub fn parse_leef(line: &str) -> Result<Leef, String> {
    let start = line.find("LEEF:").ok_or("no LEEF: in the line")?;
    let rest = &line[start + 5..];
    if rest.contains('\n') || rest.contains('\r') {
        return Err("line break in a LEEF record".into());
    }
    let mut parts = rest.splitn(6, '|');
    let mut next = |what: &str| {
        parts
            .next()
            .map(str::to_string)
            .ok_or(format!("LEEF header: no {what}"))
    };
    let version = next("version")?;
    let vendor = next("vendor")?;
    let product = next("product")?;
    let product_version = next("product version")?;
    let event_id = next("event id")?;
    let tail = next("attributes")?;
    let (delimiter, attrs) = match version.as_str() {
        "1.0" => ('\t', tail),
        "2.0" => {
            let bar = tail.find('|').ok_or("LEEF 2.0: no delimiter field")?;
            (leef_delimiter(&tail[..bar])?, tail[bar + 1..].to_string())
        }
        v => return Err(format!("LEEF version {v:?}")),
    };
    let mut attributes = Vec::new();
    for a in attrs.split(delimiter).filter(|a| !a.is_empty()) {
        let eq = a.find('=').ok_or(format!("attribute without =: {a:?}"))?;
        let key = &a[..eq];
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            return Err(format!("bad attribute key {key:?}"));
        }
        attributes.push((key.to_string(), a[eq + 1..].to_string()));
    }
    Ok(Leef {
        version,
        vendor,
        product,
        product_version,
        event_id,
        delimiter,
        attributes,
    })
}
