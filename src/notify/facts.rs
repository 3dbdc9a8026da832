//! The value of each metatag for one message: [`value`] turns [`Facts`] into the text a tag
//! expands to, before any escaping (`template` escapes for the place it renders into).

use super::{Content, Facts, Tag};

/// The seed's `${ENCRYPTINFO}` text.
pub(crate) const ENCRYPTED: &str = "Message contained an encrypted container";

/// The seed's container-limit text for `${CONTENTINFO}`.
pub(crate) const DEPTH_EXCEEDED: &str = "The extracted attachment depth exceeded set limits.";

/// The text `tag` expands to for `facts`; empty when it does not apply.
pub(crate) fn value(tag: Tag, f: &Facts, hostname: &str) -> String {
    match tag {
        Tag::MsgInfo => {
            if f.sender.is_empty() && f.recipients.is_empty() {
                String::new()
            } else {
                format!("From: {}\nTo: {}", sender(f), f.recipients.join(", "))
            }
        }
        Tag::ContentInfo => f
            .content
            .iter()
            .map(content_line)
            .collect::<Vec<_>>()
            .join("\n"),
        Tag::Disposition => f
            .disposition
            .map(|d| d.text().to_string())
            .unwrap_or_default(),
        Tag::VirusInfo => {
            if f.viruses.is_empty() {
                String::new()
            } else {
                format!("Virus scan results follow\n{}", f.viruses.join("\n"))
            }
        }
        Tag::EncryptInfo => {
            if f.encrypted {
                ENCRYPTED.to_string()
            } else {
                String::new()
            }
        }
        Tag::Sender => {
            if f.sender.is_empty() && f.recipients.is_empty() {
                String::new()
            } else {
                sender(f).to_string()
            }
        }
        Tag::Recipients => f.recipients.join("\n"),
        Tag::Subject => f.subject.clone(),
        Tag::Date => f.date.map(date).unwrap_or_default(),
        Tag::MessageId => f.message_id.clone(),
        Tag::Size => f.size.map(size).unwrap_or_default(),
        Tag::Policy => f
            .policies
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        Tag::Severity => f
            .policies
            .iter()
            .map(|p| p.severity)
            .max()
            .map(|s| s.name().to_string())
            .unwrap_or_default(),
        Tag::QuarantineId => f.quarantine_id.clone(),
        Tag::IncidentId => f.incident_ids.join(", "),
        Tag::ApproveUrl => f.approve_url.clone(),
        Tag::RejectUrl => f.reject_url.clone(),
        Tag::Expires => f.expires.map(date).unwrap_or_default(),
        Tag::Reason => f.reason.clone(),
        Tag::Hostname => hostname.to_string(),
        Tag::ApproverComment => f.approver_comment.clone(),
    }
}

/// The envelope sender as shown: the null sender is `<>`.
fn sender(f: &Facts) -> &str {
    if f.sender.is_empty() { "<>" } else { &f.sender }
}

fn content_line(c: &Content) -> String {
    match c {
        Content::Rule {
            policy,
            rule,
            detail,
        } => {
            if rule.is_empty() {
                format!("Policy \"{policy}\": {detail}")
            } else if rule.bytes().all(|b| b.is_ascii_digit()) {
                // A rule without a name is known by its position in the policy.
                format!("Policy \"{policy}\", rule {rule}: {detail}")
            } else {
                format!("Policy \"{policy}\", rule \"{rule}\": {detail}")
            }
        }
        Content::Subject { specified, matched } => {
            format!("Subject: {specified}\nMatching Subject: {matched}")
        }
        Content::FileName { names, specified } => {
            format!(
                "File: {}\nMatching file name: {specified}",
                names.join(", ")
            )
        }
        Content::LimitExceeded { limit } => {
            if limit.is_empty() {
                DEPTH_EXCEEDED.to_string()
            } else {
                format!("The message went past a decomposition limit: {limit}.")
            }
        }
    }
}

/// An RFC 5322 date in UTC, e.g. `Tue, 14 Nov 2023 22:13:20 +0000`.
pub(crate) fn date(unix: u64) -> String {
    mail_builder::headers::date::Date::new(super::build::unix(unix)).to_rfc822()
}

/// A size for people, one decimal, binary units labelled as the notice templates have always
/// labelled them (`2.5 KB`).
pub(crate) fn size(bytes: u64) -> String {
    crate::units::size::approximate(bytes, crate::units::size::Labels::Notice)
}
