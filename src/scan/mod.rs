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
