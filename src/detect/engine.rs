//! The detection engine: compiles the registered detectors once, then scans every text part of a
//! decomposed message with each of them and collects [`Findings`]. Pure: no I/O, no clock.

use super::keywords::{Keywords, normalize};
use super::registry::{Detector, DetectorId, Findings, Found, Registry};
use super::{Confidence, Hit, redact};

/// Compiled size limit for one policy regex (keeps a hostile or careless pattern from eating memory).
const REGEX_SIZE_LIMIT: usize = 4 << 20;

enum Compiled {
    Keywords(Keywords),
    Regex(regex::Regex),
    Nothing,
}

/// Every detector the policies need, ready to scan.
pub struct Engine {
    detectors: Vec<(DetectorId, String, Compiled)>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("detectors", &self.detectors.len())
            .finish()
    }
}

impl Engine {
    /// Compiles what `registry` lists. Fails with a message naming the detector that cannot be built.
    pub fn new(registry: &Registry) -> Result<Engine, String> {
        let mut detectors = Vec::new();
        for (id, d) in registry.iter() {
            let compiled = match d {
                Detector::Keywords(words) => Compiled::Keywords(Keywords::new(words)?),
                Detector::Regex(pattern) => Compiled::Regex(regex(pattern)?),
                // MERGE: the identifier module replaces this.
                Detector::AllIdentifiers => Compiled::Nothing,
                other => return Err(format!("detector {} is not available", other.label())),
            };
            detectors.push((id, d.label(), compiled));
        }
        Ok(Engine { detectors })
    }

    /// Scans each text part with every detector. `parts[i]` is the text of decomposed part `i`.
    pub fn scan(&self, parts: &[&str]) -> Findings {
        let mut findings = Findings::new(self.detectors.len());
        let needs_normalized = self
            .detectors
            .iter()
            .any(|(_, _, c)| matches!(c, Compiled::Keywords(_)));
        let mut hits = Vec::new();
        for (part, text) in parts.iter().enumerate() {
            let normalized = needs_normalized.then(|| normalize(text));
            for (id, label, compiled) in &self.detectors {
                hits.clear();
                match compiled {
                    Compiled::Keywords(k) => {
                        if let Some(n) = &normalized {
                            k.hits(n, label, &mut hits);
                        }
                    }
                    Compiled::Nothing => {}
                    Compiled::Regex(r) => {
                        for m in r.find_iter(text) {
                            hits.push(Hit {
                                detector: label.clone(),
                                start: m.start(),
                                end: m.end(),
                                confidence: Confidence::High,
                                redacted: redact(m.as_str()),
                            });
                        }
                    }
                }
                for hit in hits.drain(..) {
                    findings.push(*id, Found { part, hit });
                }
            }
        }
        findings
    }
}

/// A policy regex: linear time (the regex crate), bounded compiled size.
pub fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            format!(
                "invalid regex: {}",
                e.to_string().lines().last().unwrap_or("syntax error")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_regexes_report_per_part_with_redacted_evidence() {
        let mut r = Registry::default();
        let k = r.register(Detector::Keywords(vec!["secret".into()]));
        let x = r.register(Detector::Regex(r"EMP-\d{6}".into()));
        let e = Engine::new(&r).unwrap();
        let f = e.scan(&[
            "A SECRET plan",
            "badge EMP-123456 and EMP-654321, secretary",
        ]);
        let parts: Vec<usize> = f.of(k).iter().map(|f| f.part).collect();
        assert_eq!(parts, [0]);
        let ev: Vec<&str> = f.of(x).iter().map(|f| f.hit.redacted.as_str()).collect();
        assert_eq!(ev.len(), 2);
        assert!(
            ev.iter()
                .all(|e| !e.contains("123456") && !e.contains("654321"))
        );
    }

    #[test]
    fn unknown_detectors_and_bad_regexes_are_refused() {
        let mut r = Registry::default();
        r.register(Detector::Regex("(".into()));
        assert!(Engine::new(&r).unwrap_err().contains("invalid regex"));
    }
}
