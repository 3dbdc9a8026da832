//! The embedded default template of every notice kind. `[notifications.templates.<kind>]` in
//! the configuration replaces any section of them.
//!
//! A line that holds only tags which all expand to nothing is left out when rendering, so the
//! seed's layout (`${VIRUSINFO}`, `${CONTENTINFO}`, `${ENCRYPTINFO}` on lines of their own)
//! leaves no gaps.

use super::{Kind, NoticeTemplate, Template};

/// The seed's default subject is "SMSSMTP Policy Violation" (the vendor's product name); this
/// is the same subject with ours.
pub(crate) const VIOLATION_SUBJECT: &str = "Sluice Policy Violation";

/// The seed's body: "The following message sent by this account has violated system policy:".
const SENDER_VIOLATION: &str = "\
The following message sent by this account has violated system policy:
${MSGINFO}
Subject: ${SUBJECT}
Date: ${DATE}

The following violations were detected:
${VIRUSINFO}
${CONTENTINFO}
${ENCRYPTINFO}
";

/// The seed's administrator version appends `${DISPOSITION}`; ours also names the policies,
/// incidents and the quarantine id so the administrator can find the message.
const ADMIN_VIOLATION: &str = "\
The following message has violated system policy:
${MSGINFO}
Subject: ${SUBJECT}
Date: ${DATE}
Message-ID: ${MESSAGE_ID}
Size: ${SIZE}
Policy: ${POLICY}
Severity: ${SEVERITY}
Incident: ${INCIDENT_ID}
Quarantine ID: ${QUARANTINE_ID}

The following violations were detected:
${VIRUSINFO}
${CONTENTINFO}
${ENCRYPTINFO}

${DISPOSITION}
";

const RECIPIENT_VIOLATION: &str = "\
The following message addressed to you has violated system policy:
${MSGINFO}
Subject: ${SUBJECT}
Date: ${DATE}

The following violations were detected:
${VIRUSINFO}
${CONTENTINFO}
${ENCRYPTINFO}

If you expected this message, ask your administrator about it, quoting this reference:
${QUARANTINE_ID}
";

const APPROVAL_REQUEST: &str = "\
A message is waiting for your approval before it is delivered.

${MSGINFO}
Subject: ${SUBJECT}
Date: ${DATE}
Size: ${SIZE}
Policy: ${POLICY}
Severity: ${SEVERITY}

Why it was held:
${CONTENTINFO}
${ENCRYPTINFO}

To approve the message and deliver it, open:
${APPROVE_URL}

To reject it (it is deleted and the sender is told), open:
${REJECT_URL}

Each link works once. If no decision is made by ${EXPIRES},
the message is returned to the sender.
";

const APPROVAL_REQUEST_HTML: &str = "\
<!DOCTYPE html>
<html><body style=\"font-family: sans-serif\">
<p>A message is waiting for your approval before it is delivered.</p>
<table>
<tr><td>From</td><td>${SENDER}</td></tr>
<tr><td>To</td><td>${RECIPIENTS}</td></tr>
<tr><td>Subject</td><td>${SUBJECT}</td></tr>
<tr><td>Date</td><td>${DATE}</td></tr>
<tr><td>Size</td><td>${SIZE}</td></tr>
<tr><td>Policy</td><td>${POLICY} (${SEVERITY})</td></tr>
</table>
<p>Why it was held:<br>
${CONTENTINFO}<br>
${ENCRYPTINFO}</p>
<p><a href=\"${APPROVE_URL}\">Approve and deliver</a> &nbsp;
<a href=\"${REJECT_URL}\">Reject</a></p>
<p>Each link works once. If no decision is made by ${EXPIRES}, the message is returned to the sender.</p>
</body></html>
";

/// The seed's confirmation reads "The sender responded Approve" (sic: it is the approver who
/// responds); ours says who did.
const APPROVED: &str = "\
Your message was approved by a moderator and has been delivered.
The approver responded Approve.

${MSGINFO}
Subject: ${SUBJECT}
Date: ${DATE}
${REASON}
";

/// The seed's text: "Your message was rejected by a moderator for these recipients".
const REJECTED: &str = "\
Your message was rejected by a moderator for these recipients:
${RECIPIENTS}

Subject: ${SUBJECT}
Date: ${DATE}
${REASON}
";

/// The seed's text: "The message has been returned to the sender because no decision was made".
const EXPIRED: &str = "\
The message has been returned to the sender because no decision was made.

Your message was held for approval, and no approver decided before ${EXPIRES}.
It was not delivered; it is attached.

${MSGINFO}
Subject: ${SUBJECT}
Date: ${DATE}
${REASON}
";

const RELEASED: &str = "\
A message held in quarantine has been released and delivered to its recipients.

${MSGINFO}
Subject: ${SUBJECT}
Date: ${DATE}
Quarantine ID: ${QUARANTINE_ID}
${REASON}
";

/// (subject, text, html) of a kind.
fn texts(kind: Kind) -> (&'static str, &'static str, Option<&'static str>) {
    match kind {
        Kind::SenderViolation => (VIOLATION_SUBJECT, SENDER_VIOLATION, None),
        Kind::AdminViolation => (
            "Sluice Policy Violation: ${POLICY} (${SEVERITY})",
            ADMIN_VIOLATION,
            None,
        ),
        Kind::RecipientViolation => (VIOLATION_SUBJECT, RECIPIENT_VIOLATION, None),
        Kind::ApprovalRequest => (
            "Approval needed: ${SUBJECT}",
            APPROVAL_REQUEST,
            Some(APPROVAL_REQUEST_HTML),
        ),
        Kind::Approved => ("Approved: ${SUBJECT}", APPROVED, None),
        Kind::Rejected => ("Rejected: ${SUBJECT}", REJECTED, None),
        Kind::Expired => ("Returned, no decision was made: ${SUBJECT}", EXPIRED, None),
        Kind::Released => ("Released from quarantine: ${SUBJECT}", RELEASED, None),
    }
}

/// The default template of `kind`. Each text is a constant that the tests parse and check
/// against [`Kind::allows`]; should one ever fail to parse it is used as literal text rather
/// than panicking.
pub(crate) fn template(kind: Kind) -> NoticeTemplate {
    let (subject, text, html) = texts(kind);
    let parse = |s: &str| Template::parse(s).unwrap_or_else(|_| Template::literal(s));
    NoticeTemplate {
        subject: parse(subject),
        text: parse(text),
        html: html.map(parse),
    }
}

/// The default texts, for tests.
#[cfg(test)]
pub(crate) fn raw(kind: Kind) -> (&'static str, &'static str, Option<&'static str>) {
    texts(kind)
}
