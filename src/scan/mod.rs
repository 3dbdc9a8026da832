//! One message through decompose -> detect -> policy: the pure inspection that both the in-line proxy
//! and `sluice scan` run, so an admin testing a policy offline sees exactly what the gateway would do.

pub mod command;

use crate::config::Config;
use crate::decompose;
use crate::detect::{Detector, Engine, Findings, Registry};
use crate::message::{Envelope, header};
use crate::policy::{Direction, Facts, FileFacts, Policies, Scope, Verdict};

/// Compiled detectors and policies, shared by every inspection; immutable once built.
#[derive(Debug)]
pub struct Scanner {
    engine: Engine,
    /// The policies' detectors, then any extra ones (same ids as the policies' for the former).
    registry: Registry,
    policies: Policies,
    internal_domains: Vec<String>,
    max_scan_bytes: usize,
    needs_headers: bool,
}

/// What inspecting one message found.
#[derive(Debug, Clone)]
pub struct Report {
    pub verdict: Verdict,
    /// Where each decomposed part is (`body`, `subject`, `attachment:a.zip/b.txt`...), by part index.
    pub locations: Vec<String>,
    /// The text of each part, by part index (only callers that own the message may show it).
    pub texts: Vec<String>,
    pub findings: Findings,
}

impl Scanner {
    pub fn new(config: &Config) -> Result<Scanner, String> {
        Scanner::with(config, &[])
    }

    /// Also runs `extra` detectors, whose findings no policy looks at (for `sluice scan`).
    pub fn with(config: &Config, extra: &[Detector]) -> Result<Scanner, String> {
        let policies = config.policies.clone();
        let mut registry = policies.registry().clone();
        for d in extra {
            registry.register(d.clone());
        }
        let engine = Engine::new(&registry)?;
        let needs_headers = policies.uses_headers();
        Ok(Scanner {
            engine,
            registry,
            policies,
            internal_domains: config.inspection.internal_domains.clone(),
            max_scan_bytes: config.inspection.max_scan_bytes,
            needs_headers,
        })
    }

    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Decomposes, detects and evaluates every policy. Never fails: unparsable input is scanned as text.
    pub fn scan(&self, envelope: &Envelope, message: &[u8]) -> Report {
        let content = decompose::content(message, self.max_scan_bytes);
        let texts = vec![content.subject, content.text];
        let locations = vec!["subject".to_string(), "body".to_string()];
        let scopes = [Scope::SUBJECT, Scope::BODY];
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let findings = self.engine.scan(&refs);
        let headers: Vec<(String, String)> = if self.needs_headers {
            header::fields(message)
                .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), header::unfold(v)))
                .collect()
        } else {
            Vec::new()
        };
        let files: Vec<FileFacts> = Vec::new();
        let facts = Facts {
            envelope,
            size: message.len(),
            headers: &headers,
            subject: &texts[0],
            files: &files,
            limit_exceeded: content.truncated,
            direction: Direction::of(envelope, &self.internal_domains),
            findings: &findings,
            part_scope: &scopes,
        };
        let verdict = self.policies.evaluate(&facts);
        Report {
            verdict,
            locations,
            texts,
            findings,
        }
    }
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

    proptest! {
        /// Whatever the TCP segmentation, DATA yields the same message and the same findings.
        #[test]
        fn findings_do_not_depend_on_how_the_wire_was_chunked(cuts in proptest::collection::vec(1usize..700, 1..40)) {
            let config = Config::parse(POLICIES, "t.toml").unwrap();
            let scanner = Scanner::new(&config).unwrap();
            let original = message();
            let whole = scanner.scan(&envelope(), &original);
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
            let chunked = scanner.scan(&envelope(), &received);
            prop_assert_eq!(&whole.findings, &chunked.findings);
            prop_assert_eq!(whole.verdict, chunked.verdict);
        }
    }
}
