//! A policy tried before it is saved: a candidate configuration's text and one message (.eml)
//! through the same [`Scanner`] `sluice scan` runs, giving what `sluice scan --json` gives
//! (findings, anomalies, violations) and what the gateway would do with the message: send it (to
//! whom, with which subject and added header fields), refuse it (with which reply) or hold it.
//! Pure apart from the PDF text child and the EDM index files (as `sluice scan`).

use crate::decompose::pdf_child::ChildPdf;
use crate::message::header;
use crate::policy::Decision;
use crate::scan::command::{self, AnomalyLine, Finding, Violation};
use crate::scan::{Pdf, Scanner};

use super::EditError;

/// What testing one message found and what would happen to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Probe {
    pub findings: Vec<Finding>,
    pub anomalies: Vec<AnomalyLine>,
    pub violations: Vec<Violation>,
    pub outcome: Outcome,
    /// `server.trial_mode`: the outcome is what trial mode lets through (everything).
    pub trial_mode: bool,
}

/// What the gateway would do with the message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Outcome {
    /// Passed on: to the envelope's recipients, or redirected; with this subject and these
    /// header fields added on top.
    Sent {
        to: Vec<String>,
        redirected: bool,
        subject: String,
        added_headers: Vec<String>,
        /// The policies' body edits (`strip attachments (all)`, `disclaimer legal`).
        body_edits: Vec<String>,
    },
    /// Refused with this SMTP reply text.
    Refused { reply: String },
    /// Kept in the quarantine, or until one of `approvers` decides.
    Held { approvers: Vec<String> },
}

/// Tests `message` (an .eml: the envelope comes from its From, To, Cc and Bcc, as in `sluice
/// scan`) against the configuration `text` (a whole file with the candidate policy in it).
/// Errors: the text is not a valid configuration (line:col), or a detector cannot be built.
pub fn test_policy(text: &str, message: &[u8]) -> Result<Probe, EditError> {
    let config = super::validate(text, None)?;
    let pdf = ChildPdf::current_exe(&config.pdf)
        .map_err(|e| EditError::Io(format!("PDF text extraction: {e}")))?;
    test_with(&config, message, std::sync::Arc::new(pdf))
}

/// [`test_policy`] over a loaded configuration, with `pdf` reading PDF text.
pub fn test_with(
    config: &crate::config::Config,
    message: &[u8],
    pdf: Pdf,
) -> Result<Probe, EditError> {
    let library =
        crate::scan::library::load(config).map_err(|e| EditError::Refused(format!("{e:#}")))?;
    let scanner = Scanner::with(config, &[], pdf, &library).map_err(EditError::Refused)?;
    let envelope = command::envelope_of(message);
    let report = scanner.scan(&envelope, message, &crate::decompose::NoBudget);
    let to: Vec<String> = envelope
        .recipients
        .iter()
        .map(|r| r.address.clone())
        .collect();
    let subject = header::first(message, "subject").unwrap_or_default();
    let trial_mode = config.server.trial_mode;
    let verdict = &report.verdict;
    let enforcing = verdict.hits.iter().any(|h| !h.monitor);
    let mut added = Vec::new();
    if let Some(h) = &config.relay.pass_header {
        added.push(format!("{}: {}", h.name(), h.value()));
    }
    if config.inspection.tag_violations && enforcing && !trial_mode {
        let pid = verdict
            .deciding_policy
            .or(verdict.hits.first().map(|h| h.id));
        added.push("X-dlp-uniquemsgid: (a new GUID)".to_string());
        added.push(format!("X-dlp-policyid: {}", pid.unwrap_or(0)));
    }
    let sent = |to: Vec<String>, redirected, subject, added, body_edits| Outcome::Sent {
        to,
        redirected,
        subject,
        added_headers: added,
        body_edits,
    };
    let outcome = match (&verdict.decision, trial_mode) {
        (_, true) | (Decision::Pass, _) => sent(to, false, subject, added, Vec::new()),
        (Decision::Block { reply }, _) => Outcome::Refused {
            reply: crate::smtp::Reply::blocked(reply).to_string(),
        },
        (Decision::Hold { approvers }, _) => Outcome::Held {
            approvers: approvers.clone(),
        },
        (
            Decision::Relay {
                redirect_to,
                subject: edits,
                headers,
                body,
            },
            _,
        ) => {
            let body = body.iter().map(crate::config::show::body_edit).collect();
            let subject = edits.iter().fold(subject, |s, e| e.apply(&s));
            added.extend(
                headers
                    .iter()
                    .map(|h| format!("{}: {}", h.name(), h.value())),
            );
            match redirect_to.is_empty() {
                true => sent(to, false, subject, added, body),
                false => sent(redirect_to.clone(), true, subject, added, body),
            }
        }
    };
    Ok(Probe {
        findings: command::findings(&report, &scanner, false),
        anomalies: command::anomalies(&report, &scanner),
        violations: command::violations(&report),
        outcome,
        trial_mode,
    })
}
