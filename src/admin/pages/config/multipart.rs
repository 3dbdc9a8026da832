//! `multipart/form-data` bodies (RFC 7578) as the policy test's upload sends them: the parts'
//! names, file names and bytes. Pure; the body is already bounded by `admin.max_upload`.

/// One part of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

/// The parts of `body`, given the request's `Content-Type`; `None` when it is not multipart or
/// has no boundary.
pub(crate) fn parse(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"'))?;
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    // Skip the preamble up to the first delimiter.
    let at = find(rest, delimiter.as_bytes())?;
    rest = &rest[at + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content = &rest[head_end + 4..];
        let next = find(content, format!("\r\n{delimiter}").as_bytes())?;
        let (name, filename) = disposition(head)?;
        parts.push(Part {
            name,
            filename,
            bytes: content[..next].to_vec(),
        });
        rest = &content[next + 2 + delimiter.len()..];
    }
    Some(parts)
}

/// `name` and `filename` of a part's `Content-Disposition: form-data`.
fn disposition(head: &str) -> Option<(String, Option<String>)> {
    let line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    let value = |key: &str| {
        line.split(';').skip(1).find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k.eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    Some((value("name")?, value("filename")))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_with_names_file_names_and_bytes() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n[[policy]]\r\nid = 1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"eml\"; filename=\"m.eml\"\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\nbody\r\n--XyZ--\r\n";
        let parts = parse("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "text");
        assert_eq!(parts[0].bytes, b"[[policy]]\r\nid = 1");
        assert_eq!(parts[1].filename.as_deref(), Some("m.eml"));
        assert_eq!(parts[1].bytes, b"Subject: x\r\n\r\nbody");
        assert!(parse("application/x-www-form-urlencoded", body).is_none());
        assert!(parse("multipart/form-data; boundary=XyZ", b"--XyZ\r\ngarbage").is_none());
    }
}
