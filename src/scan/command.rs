//! `sluice scan`: inspects .eml files (or directories of them) offline with the gateway's own engine
//! and policies, printing one line (or one JSON object) per finding, per anomaly (which limit or
//! what could not be read, and where) and per policy violated (with the conditions that held).
//! JSON objects say what they are in `kind`: `finding`, `anomaly` or `violation`.
//!
//! Exit codes follow virus scanners: 0 nothing violated a policy, 1 some message violated one,
//! 2 a file could not be read or the configuration is invalid. Matched values are shown only with
//! `--show-matches`; otherwise the redacted evidence is printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{Report, Scanner};
use crate::message::{Envelope, Recipient, header};

/// Largest file read as a message.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// What the command prints.
pub struct Options {
    pub json: bool,
    pub show_matches: bool,
}

/// Scans every path; returns the exit code.
pub fn run(scanner: &Scanner, paths: &[PathBuf], opts: &Options, out: &mut dyn Write) -> ExitCode {
    let mut files = Vec::new();
    let mut errors = 0usize;
    for p in paths {
        if let Err(e) = collect(p, &mut files) {
            eprintln!("sluice scan: {}: {e}", p.display());
            errors += 1;
        }
    }
    let mut violated = false;
    for file in &files {
        let message = match read(file) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("sluice scan: {}: {e}", file.display());
                errors += 1;
                continue;
            }
        };
        let envelope = envelope_of(&message);
        let report = scanner.scan(&envelope, &message, &crate::decompose::NoBudget);
        violated |= report.verdict.violated();
        let name = file.display().to_string();
        if print(&name, &report, scanner, opts, out).is_err() {
            return ExitCode::from(2);
        }
    }
    if errors > 0 {
        ExitCode::from(2)
    } else if violated {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A directory is walked recursively for `*.eml` (sorted, symlinks not followed); a file is taken as is.
fn collect(path: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        let m = std::fs::symlink_metadata(&e)?;
        if m.is_dir() {
            collect(&e, files)?;
        } else if m.is_file() && e.extension().is_some_and(|x| x.eq_ignore_ascii_case("eml")) {
            files.push(e);
        }
    }
    Ok(())
}

fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE_BYTES} bytes"
        )));
    }
    std::fs::read(path)
}

/// A stored message has no envelope: the sender comes from From, the recipients from To, Cc and Bcc.
pub fn envelope_of(message: &[u8]) -> Envelope {
    let addresses = |name: &str| -> Vec<String> {
        header::fields(message)
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .flat_map(|(_, v)| addresses(&header::unfold(v)))
            .collect()
    };
    let sender = addresses("from").into_iter().next().unwrap_or_default();
    let recipients = ["to", "cc", "bcc"]
        .iter()
        .flat_map(|h| addresses(h))
        .map(Recipient::plain)
        .collect();
    Envelope {
        sender,
        params: Default::default(),
        recipients,
    }
}

/// The addr-specs in an address list: split at commas outside quotes and angle brackets; each
/// mailbox is its `<addr>` part, or its bare word with an `@`.
fn addresses(value: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let (mut start, mut quoted, mut angle) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' | ';' if !quoted && !angle => {
                segments.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    segments.push(&value[start..]);
    segments
        .into_iter()
        .filter_map(|seg| {
            if let (Some(o), Some(c)) = (seg.rfind('<'), seg.rfind('>'))
                && o < c
            {
                let a = seg[o + 1..c].trim();
                return a.contains('@').then(|| a.to_string());
            }
            seg.split_whitespace()
                .find(|w| w.contains('@'))
                .map(|w| w.trim_matches('"').to_string())
        })
        .collect()
}

/// One finding, deduplicated across detectors that found the same span (what `--json` prints as
/// `kind` finding; the admin UI's policy test shows the same).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The detector's hit type (`CREDIT_CARD`, `keyword`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The redacted evidence (the matched value only with `show`).
    pub value: String,
    pub location: String,
    pub detector: String,
    pub confidence: &'static str,
    /// The first policy whose evidence used this detector.
    pub policy: Option<u64>,
}

/// One policy violated (`kind` violation in `--json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub policy: u64,
    pub name: String,
    pub severity: &'static str,
    pub action: String,
    pub monitor: bool,
    pub rules: Vec<String>,
    /// The conditions that held (detector, count and where; never a matched value).
    pub detail: Vec<String>,
}

/// One anomaly (`kind` anomaly in `--json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AnomalyLine {
    pub anomaly: &'static str,
    pub description: String,
    pub location: String,
    /// The limit's name for a limit anomaly.
    pub limit: Option<&'static str>,
}

/// The policies `report` violated, in order.
pub fn violations(report: &Report) -> Vec<Violation> {
    report
        .verdict
        .hits
        .iter()
        .map(|h| {
            let prefix = format!("policy {} rule ", h.id);
            Violation {
                policy: h.id,
                name: h.name.clone(),
                severity: h.severity.name(),
                action: h.action.to_string(),
                monitor: h.monitor,
                rules: h.matched.iter().map(|m| m.rule.clone()).collect(),
                detail: report
                    .verdict
                    .detail
                    .iter()
                    .filter(|d| d.starts_with(&prefix))
                    .cloned()
                    .collect(),
            }
        })
        .collect()
}

/// What decomposition met in `report`.
pub fn anomalies(report: &Report, scanner: &Scanner) -> Vec<AnomalyLine> {
    report
        .anomalies
        .iter()
        .map(|a| {
            let (anomaly, description, location) = super::anomaly(a, scanner.limits());
            let limit = match a {
                crate::decompose::Anomaly::LimitExceeded { kind, .. } => Some(kind.name()),
                _ => None,
            };
            AnomalyLine {
                anomaly,
                description,
                location,
                limit,
            }
        })
        .collect()
}

/// The findings of `report`, deduplicated; matched values only when `show`.
pub fn findings(report: &Report, scanner: &Scanner, show: bool) -> Vec<Finding> {
    let registry = scanner.registry();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (id, found) in report.findings.iter() {
        let detector = registry
            .get(id)
            .map(|d| d.describe())
            .unwrap_or_else(|| "?".into());
        // The first enforcing or monitoring policy whose evidence used this detector.
        let policy = report
            .verdict
            .hits
            .iter()
            .find(|h| {
                h.matched
                    .iter()
                    .any(|m| m.evidence.iter().any(|e| e.detector == Some(id)))
            })
            .map(|h| h.id);
        for f in found {
            if !seen.insert((f.part, f.hit.start, f.hit.end, f.hit.detector.clone())) {
                continue;
            }
            let value = if show {
                report
                    .texts
                    .get(f.part)
                    .and_then(|t| t.get(f.hit.start..f.hit.end))
                    .unwrap_or(&f.hit.redacted)
                    .to_string()
            } else {
                f.hit.redacted.clone()
            };
            out.push(Finding {
                kind: f.hit.detector.clone(),
                value,
                location: report
                    .locations
                    .get(f.part)
                    .map_or("?".to_string(), String::clone),
                detector: detector.clone(),
                confidence: match f.hit.confidence {
                    crate::detect::Confidence::Low => "low",
                    crate::detect::Confidence::Medium => "medium",
                    crate::detect::Confidence::High => "high",
                },
                policy,
            });
        }
    }
    out
}

fn print(
    file: &str,
    report: &Report,
    scanner: &Scanner,
    opts: &Options,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for l in findings(report, scanner, opts.show_matches) {
        if opts.json {
            let v = serde_json::json!({
                "kind": "finding",
                "file": file,
                "type": l.kind,
                "value": l.value,
                "location": l.location,
                "detector": l.detector,
                "confidence": l.confidence,
                "policy": l.policy,
            });
            writeln!(out, "{v}")?;
        } else {
            let policy = l.policy.map(|p| format!(" policy={p}")).unwrap_or_default();
            writeln!(
                out,
                "{file}: {} {:?} in {} ({}, {}){policy}",
                l.kind, l.value, l.location, l.detector, l.confidence
            )?;
        }
    }
    for a in anomalies(report, scanner) {
        if opts.json {
            let mut v = serde_json::json!({
                "kind": "anomaly",
                "file": file,
                "anomaly": a.anomaly,
                "description": a.description,
                "location": a.location,
            });
            if let Some(limit) = a.limit {
                v["limit"] = limit.into();
            }
            writeln!(out, "{v}")?;
        } else {
            writeln!(
                out,
                "{file}: anomaly: {}: {} at {}",
                a.anomaly, a.description, a.location
            )?;
        }
    }
    for h in violations(report) {
        if opts.json {
            let v = serde_json::json!({
                "kind": "violation",
                "file": file,
                "policy": h.policy,
                "name": h.name,
                "severity": h.severity,
                "action": h.action,
                "monitor": h.monitor,
                "rules": h.rules,
                "detail": h.detail,
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(
                out,
                "{file}: violates policy {} {:?} (severity {}, action {}{}) rules: {}",
                h.policy,
                h.name,
                h.severity,
                h.action,
                if h.monitor { ", monitor" } else { "" },
                h.rules.join(", ")
            )?;
        }
    }
    if !opts.json {
        for line in &report.verdict.detail {
            writeln!(out, "{file}:   {line}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_comes_from_the_address_headers() {
        let m = b"From: \"Alice A\" <alice@corp.example>\r\nTo: bob@x.example, \"C, D\" <cd@y.example>\r\nCc: <e@z.example>\r\nSubject: s\r\n\r\nbody\r\n";
        let e = envelope_of(m);
        assert_eq!(e.sender, "alice@corp.example");
        let r: Vec<&str> = e.recipients.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(r, ["bob@x.example", "cd@y.example", "e@z.example"]);
        assert_eq!(
            addresses("bob@x.example, carl@y.example"),
            ["bob@x.example", "carl@y.example"]
        );
    }
}
