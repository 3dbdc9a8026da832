//! One message through decompose -> detect -> policy: the pure inspection that both the in-line proxy
//! and `sluice scan` run, so an admin testing a policy offline sees exactly what the gateway would do.

pub mod command;
pub mod library;

use std::sync::Arc;

use crate::config::Config;
use crate::decompose::{
    self, Anomaly, Budget, LimitKind, Limits, Location, Malformation, MessageText, NoPdf, Part,
    PdfText,
};
use crate::detect::{ContextScope, Detector, Engine, Findings, Library, Registry};
use crate::message::{Envelope, header};
use crate::policy::{
    Direction, Facts, FileFacts, Policies, Scope, Uninspected, Unreadable, Verdict,
};

/// PDF text extraction, shared by every inspection (a sandboxed child process in the server).
pub type Pdf = Arc<dyn PdfText + Send + Sync>;

/// Compiled detectors and policies, shared by every inspection; immutable once built.
pub struct Scanner {
    engine: Engine,
    /// The policies' detectors, then any extra ones (same ids as the policies' for the former).
    registry: Registry,
    policies: Policies,
    internal_domains: Vec<String>,
    limits: Limits,
    pdf: Pdf,
    needs_headers: bool,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("engine", &self.engine)
            .field("policies", &self.policies.len())
            .finish()
    }
}

/// What inspecting one message found.
#[derive(Debug, Clone)]
pub struct Report {
    pub verdict: Verdict,
    /// Where each decomposed part is (`body`, `header:Subject`, `attachment:a.zip/b.txt`...), by
    /// part index.
    pub locations: Vec<String>,
    /// The text of each part, by part index (only callers that own the message may show it).
    pub texts: Vec<String>,
    pub findings: Findings,
    /// What decomposition met: limits exceeded, encrypted or unsupported files, malformed content.
    pub anomalies: Vec<Anomaly>,
}

impl Scanner {
    /// A scanner for the configured policies with the embedded definitions; PDFs are typed but not
    /// read (see [`Scanner::with`]).
    pub fn new(config: &Config) -> Result<Scanner, String> {
        Scanner::with(config, &[], Arc::new(NoPdf), &Library::embedded()?)
    }

    /// Also runs `extra` detectors, whose findings no policy looks at (for `sluice scan`), reads
    /// PDF text with `pdf`, and builds detectors from `library`.
    pub fn with(
        config: &Config,
        extra: &[Detector],
        pdf: Pdf,
        library: &Library,
    ) -> Result<Scanner, String> {
        let policies = config.policies.clone();
        let mut registry = policies.registry().clone();
        for d in extra {
            registry.register(d.clone());
        }
        let engine = Engine::new(&registry, library)?;
        let needs_headers = policies.uses_headers();
        let limits = config.decomposition.clone();
        Ok(Scanner {
            engine,
            registry,
            policies,
            internal_domains: config.inspection.internal_domains.clone(),
            limits,
            pdf,
            needs_headers,
        })
    }

    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The decomposition limits every scan runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decomposes, detects and evaluates every policy. Never fails: unparsable input is scanned as
    /// text, and whatever decomposition could not finish within its limits or `budget` is reported
    /// as an anomaly (which the `limit_exceeded` condition sees).
    pub fn scan(&self, envelope: &Envelope, message: &[u8], budget: &dyn Budget) -> Report {
        self.scan_as(envelope, message, budget, None)
    }

    /// [`Scanner::scan`] with the message's direction given as a fact (the gateway knows it from
    /// the client and the routing list); `None`: from `inspection.internal_domains`.
    pub fn scan_as(
        &self,
        envelope: &Envelope,
        message: &[u8],
        budget: &dyn Budget,
        direction: Option<Direction>,
    ) -> Report {
        let decomposed = decompose::decompose(message, &self.limits, self.pdf.as_ref(), budget);
        let mut texts = Vec::with_capacity(decomposed.parts.len());
        let mut locations = Vec::with_capacity(decomposed.parts.len());
        let mut scopes = Vec::with_capacity(decomposed.parts.len());
        let mut files = Vec::new();
        let mut subject = None;
        let context = context_scopes(&decomposed.parts);
        for (i, part) in decomposed.parts.into_iter().enumerate() {
            let scope = match &part.location {
                Location::Header(n) if n.eq_ignore_ascii_case("subject") => {
                    subject.get_or_insert(i);
                    Scope::SUBJECT
                }
                Location::Header(_) => Scope::HEADERS,
                Location::Body => Scope::BODY,
                Location::Attachment(_) => Scope::ATTACHMENTS,
            };
            let location = part.location.to_string();
            if let Some(meta) = &part.file {
                files.push(FileFacts {
                    part: i,
                    location: location.clone(),
                    name: meta.name.clone(),
                    true_type: meta.true_type.name().to_string(),
                    size: meta.size,
                    encrypted: meta.encrypted,
                });
            }
            scopes.push(scope);
            locations.push(location);
            texts.push(part.text);
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let findings = self.engine.scan_scoped(&refs, &context);
        let headers: Vec<(String, String)> = if self.needs_headers {
            header::fields(message)
                .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), header::unfold(v)))
                .collect()
        } else {
            Vec::new()
        };
        let limit_exceeded = decomposed
            .anomalies
            .iter()
            .any(|a| matches!(a, Anomaly::LimitExceeded { .. }));
        let uninspected = uninspected(&decomposed.anomalies, &self.limits);
        let facts = Facts {
            envelope,
            size: message.len(),
            headers: &headers,
            subject: subject.map_or("", |i| texts[i].as_str()),
            files: &files,
            limit_exceeded,
            uninspected: &uninspected,
            direction: direction.unwrap_or_else(|| Direction::of(envelope, &self.internal_domains)),
            findings: &findings,
            part_scope: &scopes,
        };
        let mut verdict = self.policies.evaluate(&facts);
        verdict.detail = describe(&verdict, &self.registry, &locations, false);
        verdict.evidence = describe(&verdict, &self.registry, &locations, true);
        Report {
            verdict,
            locations,
            texts,
            findings,
            anomalies: decomposed.anomalies,
        }
    }
}

/// Each part's message-level context scope: the heading fields and body texts of one message
/// (the message itself, or each attached one) share identifier context words.
fn context_scopes(parts: &[Part]) -> Vec<ContextScope> {
    let mut messages: Vec<&str> = Vec::new();
    parts
        .iter()
        .map(|p| match p.location.message_text() {
            None => ContextScope::Own,
            Some((msg, kind)) => {
                let n = match messages.iter().position(|m| *m == msg) {
                    Some(n) => n,
                    None => {
                        messages.push(msg);
                        messages.len() - 1
                    }
                };
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                match kind {
                    MessageText::Heading => ContextScope::Heading(n),
                    MessageText::Body => ContextScope::Body(n),
                }
            }
        })
        .collect()
}

/// Every place decomposition could not inspect fully, and why: what the `uninspectable`
/// condition sees.
fn uninspected(anomalies: &[Anomaly], limits: &Limits) -> Vec<Uninspected> {
    anomalies
        .iter()
        .map(|a| {
            let (location, reason) = match a {
                Anomaly::LimitExceeded { path, .. } => (path, Unreadable::Limit),
                Anomaly::Encrypted { path } => (path, Unreadable::Encrypted),
                Anomaly::Unsupported { path, .. } => (path, Unreadable::Unsupported),
                Anomaly::Malformed {
                    path,
                    what: Malformation::Encoding,
                } => (path, Unreadable::Encoding),
                Anomaly::Malformed { path, .. } => (path, Unreadable::Malformed),
            };
            let detail = match a {
                Anomaly::LimitExceeded { kind, .. } => Some(limit(*kind, limits)),
                _ => None,
            };
            Uninspected {
                location: location.clone(),
                reason,
                detail,
            }
        })
        .collect()
}

/// A limit as an administrator reads it: `nesting depth over 8`, `compression ratio over 100:1`.
pub fn limit(kind: LimitKind, l: &Limits) -> String {
    let size = crate::config::show::size;
    match kind {
        LimitKind::Depth => format!("nesting depth over {}", l.max_depth),
        LimitKind::Entries => format!(
            "entries in one container over {}",
            l.max_entries_per_container
        ),
        LimitKind::TotalEntries => format!("container entries over {}", l.max_entries_total),
        LimitKind::ExtractedBytes => {
            format!("extracted bytes over {}", size(l.max_extracted_bytes))
        }
        LimitKind::Ratio => format!("compression ratio over {}:1", l.max_ratio),
        LimitKind::Parts => format!("MIME parts over {}", l.max_parts),
        LimitKind::TextBytes => format!("text for detection over {}", size(l.max_text_bytes)),
        LimitKind::Time => "inspection time budget spent".to_string(),
    }
}

/// What an anomaly is, in words (the limit with its value for a limit), and where.
pub fn anomaly(a: &Anomaly, l: &Limits) -> (&'static str, String, String) {
    let place = |p: &str| {
        if p.is_empty() {
            "message".to_string()
        } else {
            p.to_string()
        }
    };
    match a {
        Anomaly::LimitExceeded { kind, path } => ("limit", limit(*kind, l), place(path)),
        Anomaly::Encrypted { path } => ("encrypted", "encrypted content".into(), place(path)),
        Anomaly::Unsupported { path, true_type } => (
            "unsupported",
            format!("{} content is not inspected", true_type.name()),
            place(path),
        ),
        Anomaly::Malformed { path, what } => {
            let what = match what {
                Malformation::Mime => "no parseable header",
                Malformation::Encoding => "broken transfer encoding",
                Malformation::Archive => "unreadable archive",
                Malformation::Document => "unparsable office document",
                Malformation::Pdf => "unreadable PDF",
                Malformation::SizeMismatch => "entry larger than declared",
            };
            ("malformed", what.to_string(), place(path))
        }
    }
}

/// `policy 100 rule "cards": CREDIT_CARD x3 in body, attachment:a.zip/b.txt` per matched rule and
/// piece of evidence; file evidence names the files' locations. No matched value appears; with
/// `samples`, the redacted evidence (`4111 **** **** 1111`) is added for incident records.
fn describe(
    verdict: &Verdict,
    registry: &Registry,
    locations: &[String],
    samples: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for hit in &verdict.hits {
        for m in &hit.matched {
            let mut parts = Vec::new();
            for e in &m.evidence {
                let what = match e.detector.and_then(|d| registry.get(d)) {
                    Some(d) => d.describe(),
                    None if !e.samples.is_empty() => e.what.unwrap_or("file").to_string(),
                    None => {
                        // A condition on the envelope or the whole message: named.
                        if let Some(w) = e.what {
                            parts.push(format!("{w} held"));
                        }
                        continue;
                    }
                };
                let places: Vec<&str> = if e.detector.is_some() {
                    e.parts
                        .iter()
                        .filter_map(|p| locations.get(*p).map(String::as_str))
                        .collect()
                } else {
                    e.samples.iter().map(String::as_str).collect()
                };
                let mut line = format!("{what} x{} in {}", e.count, places.join(", "));
                if samples && e.detector.is_some() && !e.samples.is_empty() {
                    line.push_str(&format!(" ({})", e.samples.join(", ")));
                }
                parts.push(line);
            }
            out.push(format!(
                "policy {} rule {:?}: {}",
                hit.id,
                m.rule,
                if parts.is_empty() {
                    "conditions held".to_string()
                } else {
                    parts.join("; ")
                }
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Recipient;
    use crate::smtp::data::stuff;
    use crate::smtp::{BareLineEndings, DataReceiver};
    use proptest::prelude::*;

    const POLICIES: &str = r#"
[[policy]]
id = 1
action = "log"
[[policy.rule]]
conditions = [{ keywords = ["project falcon", "secret"] }, { regex = 'EMP-\d{6}' }]
match = "any"
"#;

    fn message() -> Vec<u8> {
        let mut m = b"From: <a@corp.example>\r\nSubject: =?utf-8?q?Project_Falcon?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n".to_vec();
        for i in 0..200 {
            m.extend_from_slice(
                format!("line {i}: badge EMP-{:06} is secret; .dots\r\n", i * 7).as_bytes(),
            );
        }
        m.extend_from_slice(b"--b--\r\n");
        m
    }

    fn envelope() -> Envelope {
        Envelope {
            sender: "a@corp.example".into(),
            params: Default::default(),
            recipients: vec![Recipient::plain("b@x.example")],
        }
    }

    /// Routing numbers found in `raw` by the default identifiers, as (location, value) (no
    /// policies, so each finding is listed once).
    fn routing_numbers(raw: &str) -> Vec<(String, String)> {
        let config = Config::parse("[inspection]\nbuiltin_policies = \"off\"\n", "t.toml").unwrap();
        let scanner = Scanner::with(
            &config,
            &[Detector::AllIdentifiers],
            Arc::new(NoPdf),
            &Library::embedded().unwrap(),
        )
        .unwrap();
        let r = scanner.scan(&envelope(), raw.as_bytes(), &decompose::NoBudget);
        r.findings
            .iter()
            .flat_map(|(_, f)| f.iter())
            .filter(|f| f.hit.detector == "US_BANK_ROUTING")
            .map(|f| {
                let value = &r.texts[f.part][f.hit.start..f.hit.end];
                (r.locations[f.part].clone(), value.to_string())
            })
            .collect()
    }

    #[test]
    fn a_routing_number_in_the_subject_is_found_by_the_word_in_the_body() {
        let mail = |subject: &str, body: &str| {
            format!(
                "From: <a@corp.example>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
                 Content-Type: text/plain\r\n\r\n{body}\r\n"
            )
        };
        assert_eq!(
            routing_numbers(&mail(
                "Payroll update 021000021",
                "Hi,\r\nthe routing number for my direct deposit is in the subject."
            )),
            [("header:Subject".to_string(), "021000021".to_string())]
        );
        assert_eq!(
            routing_numbers(&mail("ABA for the vendor", "Here it is: 021000021.")),
            [("body".to_string(), "021000021".to_string())]
        );
        assert!(routing_numbers(&mail("Payroll update 021000021", "See you Monday.")).is_empty());
    }

    #[test]
    fn an_attached_message_shares_context_only_with_itself() {
        let raw = "From: <a@corp.example>\r\nSubject: Case 021000021\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
            Content-Type: text/plain\r\n\r\nSee the attached message.\r\n--b\r\n\
            Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n\
            From: <c@x.example>\r\nSubject: Deposit 011000015\r\n\r\nUse this routing number.\r\n\
            --b--\r\n";
        assert_eq!(
            routing_numbers(raw),
            [(
                "attachment:fwd.eml/[Subject]".to_string(),
                "011000015".to_string()
            )]
        );
    }

    #[test]
    fn the_conditions_that_held_are_named() {
        let config = Config::parse(
            "[[policy]]\nid = 5\naction = \"log\"\n[[policy.rule]]\nconditions = [{ size_over = 10 }, { sender = [\"a@corp.example\"] }]\n",
            "t.toml",
        )
        .unwrap();
        let scanner = Scanner::new(&config).unwrap();
        let r = scanner.scan(&envelope(), &message(), &decompose::NoBudget);
        assert_eq!(r.verdict.detail.len(), 1, "{:?}", r.verdict.detail);
        assert!(
            r.verdict.detail[0].ends_with(": size_over held; sender held"),
            "{:?}",
            r.verdict.detail
        );
    }

    proptest! {
        /// Whatever the TCP segmentation, DATA yields the same message and the same findings.
        #[test]
        fn findings_do_not_depend_on_how_the_wire_was_chunked(cuts in proptest::collection::vec(1usize..700, 1..40)) {
            let config = Config::parse(POLICIES, "t.toml").unwrap();
            let scanner = Scanner::new(&config).unwrap();
            let original = message();
            let whole = scanner.scan(&envelope(), &original, &decompose::NoBudget);
            prop_assert_eq!(whole.findings.iter().map(|(_, f)| f.len()).sum::<usize>(), 1 + 200 + 200, "subject keyword, 200 keywords, 200 ids");
            let mut wire = Vec::new();
            stuff(&original, &mut wire);
            let mut rx = DataReceiver::new(1 << 24, 1 << 20, BareLineEndings::Reject);
            let mut at = 0;
            for c in cuts.iter().cycle() {
                if at >= wire.len() || rx.is_done() {
                    break;
                }
                let end = (at + c).min(wire.len());
                at += rx.feed(&wire[at..end]);
            }
            prop_assert!(rx.is_done());
            let received = rx.finish().unwrap();
            let chunked = scanner.scan(&envelope(), &received, &decompose::NoBudget);
            prop_assert_eq!(&whole.findings, &chunked.findings);
            prop_assert_eq!(whole.verdict, chunked.verdict);
        }
    }
}
