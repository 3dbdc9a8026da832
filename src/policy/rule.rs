//! Policy rules: conditions over the envelope, the message's facts and the detectors' findings, joined
//! by all / any / none, and the evidence a matching rule leaves behind (redacted only).

use crate::detect::{Confidence, DetectorId, Findings};
use crate::message::Envelope;

use super::matcher::Glob;

/// How a rule's conditions (or a policy's rules) combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// Every one holds (and there is at least one).
    All,
    /// At least one holds.
    Any,
    /// None holds.
    None,
}

impl Join {
    pub(crate) fn combine(self, mut results: impl Iterator<Item = bool>) -> bool {
        match self {
            Join::All => {
                let mut any = false;
                for r in results {
                    if !r {
                        return false;
                    }
                    any = true;
                }
                any
            }
            Join::Any => results.any(|r| r),
            Join::None => !results.any(|r| r),
        }
    }
}

/// Where in a message content conditions look (a set of places).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope(u8);

impl Scope {
    pub const BODY: Scope = Scope(1);
    pub const SUBJECT: Scope = Scope(2);
    pub const HEADERS: Scope = Scope(4);
    pub const ATTACHMENTS: Scope = Scope(8);
    /// Body, subject and attachments: where content lives (other headers only when asked for).
    pub const CONTENT: Scope = Scope(1 | 2 | 8);
    pub const NOWHERE: Scope = Scope(0);

    pub fn with(self, other: Scope) -> Scope {
        Scope(self.0 | other.0)
    }

    pub fn contains(self, other: Scope) -> bool {
        self.0 & other.0 != 0
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Some(match name {
            "body" => Scope::BODY,
            "subject" => Scope::SUBJECT,
            "headers" => Scope::HEADERS,
            "attachments" => Scope::ATTACHMENTS,
            _ => return None,
        })
    }
}

/// Which way a message goes, from the organisation's internal domains. Stored by name
/// (`inbound`, `outbound`, `internal`) in the store's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From an internal sender to at least one external recipient.
    Outbound,
    /// From an external sender.
    Inbound,
    /// Internal sender, internal recipients only.
    Internal,
}

impl Direction {
    pub const ALL: [Direction; 3] = [Direction::Inbound, Direction::Outbound, Direction::Internal];

    pub fn name(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.name() == s)
    }

    pub fn of(envelope: &Envelope, internal: &[String]) -> Direction {
        let is_internal = |addr: &str| {
            let domain = addr.rsplit_once('@').map_or("", |(_, d)| d);
            internal.iter().any(|d| {
                domain.eq_ignore_ascii_case(d)
                    || domain.len() > d.len()
                        && domain.as_bytes()[domain.len() - d.len() - 1] == b'.'
                        && domain[domain.len() - d.len()..].eq_ignore_ascii_case(d)
            })
        };
        if !is_internal(&envelope.sender) {
            Direction::Inbound
        } else if envelope.recipients.iter().all(|r| is_internal(&r.address)) {
            Direction::Internal
        } else {
            Direction::Outbound
        }
    }
}

/// What a file rule looks at; every part that is a file (attachment or container entry) has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// Index of the part in the decomposition.
    pub part: usize,
    /// Where it is, e.g. `attachment:report.zip/q3.xlsx`.
    pub location: String,
    pub name: Option<String>,
    /// The true type from magic bytes, e.g. `pdf`, `docx`, `zip`, `exe`.
    pub true_type: String,
    pub size: u64,
    pub encrypted: bool,
}

/// Why part of a message could not be inspected fully: the reasons of the `uninspectable`
/// condition, each named in the configuration by [`Unreadable::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unreadable {
    /// An encrypted file or entry (password-protected zip entry, encrypted PDF, OOXML, ODF, 7z, rar).
    Encrypted,
    /// A format whose content is not inspected (rar, legacy OLE2 Office, an archive method or a
    /// 7z that needs more than this build has).
    Unsupported,
    /// Content that could not be read as what it claims to be (a broken archive, document or
    /// PDF, a PDF whose extractor crashed or timed out, a message without a header).
    Malformed,
    /// A body whose transfer encoding (base64, quoted-printable) is broken: it was decoded
    /// leniently, as mail clients do, but may read differently elsewhere.
    Encoding,
    /// A decomposition limit (depth, entries, extracted bytes, ratio, parts, text, time) stopped
    /// inspection: what lies past it was not looked at.
    Limit,
}

impl Unreadable {
    /// Every reason with its configuration name.
    pub const ALL: [(&'static str, Unreadable); 5] = [
        ("encrypted", Unreadable::Encrypted),
        ("unsupported", Unreadable::Unsupported),
        ("malformed", Unreadable::Malformed),
        ("encoding", Unreadable::Encoding),
        ("limit", Unreadable::Limit),
    ];

    /// The name used in the configuration and in evidence.
    pub fn name(self) -> &'static str {
        match self {
            Unreadable::Encrypted => "encrypted",
            Unreadable::Unsupported => "unsupported",
            Unreadable::Malformed => "malformed",
            Unreadable::Encoding => "encoding",
            Unreadable::Limit => "limit",
        }
    }
}

/// One place that could not be inspected fully, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uninspected {
    /// The display path of the part or entry (`report.zip/q3.xlsx`, `body`; empty for the
    /// message as a whole). Never content.
    pub location: String,
    pub reason: Unreadable,
    /// Which limit, for [`Unreadable::Limit`] (`nesting depth over 8`); shown with the reason.
    pub detail: Option<String>,
}

/// A file rule: a file matches when every given test holds.
#[derive(Debug, Clone, Default)]
pub struct FileRule {
    pub types: Vec<String>,
    pub extensions: Vec<String>,
    pub names: Vec<Glob>,
    pub size_over: Option<u64>,
    pub encrypted: Option<bool>,
}

impl FileRule {
    pub fn matches(&self, f: &FileFacts) -> bool {
        let name = f.name.as_deref().unwrap_or("");
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        (self.types.is_empty()
            || self
                .types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&f.true_type)))
            && (self.extensions.is_empty()
                || self.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)))
            && (self.names.is_empty() || self.names.iter().any(|g| g.matches(name)))
            && self.size_over.is_none_or(|s| f.size > s)
            && self.encrypted.is_none_or(|e| f.encrypted == e)
    }
}

/// One condition of a rule.
#[derive(Debug, Clone)]
pub enum Condition {
    /// A content detector found at least `min` hits of at least `confidence` in `scope`.
    Content {
        detector: DetectorId,
        min: u32,
        confidence: Confidence,
        scope: Scope,
    },
    /// At least one file in the message matches.
    File(FileRule),
    /// The message is larger than this many bytes.
    SizeOver(u64),
    Sender(Vec<Glob>),
    /// Any recipient matches.
    Recipient(Vec<Glob>),
    SenderDomain(Vec<Glob>),
    /// Any recipient's domain matches.
    RecipientDomain(Vec<Glob>),
    Direction(Direction),
    /// A header field with this name whose (unfolded) value matches.
    Header {
        name: String,
        pattern: regex::Regex,
    },
    Subject(Vec<Glob>),
    /// Decomposition went past one of its limits (depth, entries, size, ratio, time).
    LimitExceeded,
    /// Some part could not be inspected fully for one of these reasons (all of them for
    /// `uninspectable = true`).
    Uninspectable(Vec<Unreadable>),
    /// Nested conditions joined one way.
    Group(Join, Vec<Condition>),
}

/// A rule: named conditions joined one way.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub join: Join,
    pub conditions: Vec<Condition>,
}

/// Everything about one message that conditions can look at.
pub struct Facts<'a> {
    pub envelope: &'a Envelope,
    pub size: usize,
    /// Unfolded header fields (name, value), in order.
    pub headers: &'a [(String, String)],
    pub subject: &'a str,
    pub files: &'a [FileFacts],
    pub limit_exceeded: bool,
    /// Every place that could not be inspected fully (decomposition anomalies).
    pub uninspected: &'a [Uninspected],
    pub direction: Direction,
    pub findings: &'a Findings,
    /// The scope each decomposed part belongs to, by part index.
    pub part_scope: &'a [Scope],
}

/// Why a condition held: which detector or file, how often and where, redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// A content detector's id, or `None` for file and envelope conditions.
    pub detector: Option<DetectorId>,
    pub count: usize,
    /// Distinct part indices, in order.
    pub parts: Vec<usize>,
    /// Redacted samples (at most [`MAX_SAMPLES`]); for file and `uninspectable` conditions, the
    /// places.
    pub samples: Vec<String>,
    /// What a condition without a detector matched (`file`, `uninspectable`), for descriptions.
    pub what: Option<&'static str>,
}

/// Redacted samples kept per condition.
pub const MAX_SAMPLES: usize = 5;

impl Condition {
    /// Whether the condition holds, with its evidence when it does.
    pub fn eval(&self, f: &Facts<'_>) -> Option<Evidence> {
        // A condition on the envelope or the message as a whole: its evidence is its name.
        let simple = |name: &'static str, ok: bool| {
            ok.then(|| Evidence {
                detector: None,
                count: 1,
                parts: Vec::new(),
                samples: Vec::new(),
                what: Some(name),
            })
        };
        match self {
            Condition::Content {
                detector,
                min,
                confidence,
                scope,
            } => {
                let mut ev = Evidence {
                    detector: Some(*detector),
                    count: 0,
                    parts: Vec::new(),
                    samples: Vec::new(),
                    what: None,
                };
                for found in f.findings.of(*detector) {
                    let in_scope = f
                        .part_scope
                        .get(found.part)
                        .is_some_and(|s| scope.contains(*s));
                    if !in_scope || found.hit.confidence < *confidence {
                        continue;
                    }
                    ev.count += 1;
                    if !ev.parts.contains(&found.part) {
                        ev.parts.push(found.part);
                    }
                    if ev.samples.len() < MAX_SAMPLES && !ev.samples.contains(&found.hit.redacted) {
                        ev.samples.push(found.hit.redacted.clone());
                    }
                }
                (ev.count >= (*min).max(1) as usize).then_some(ev)
            }
            Condition::File(rule) => {
                let matching: Vec<&FileFacts> =
                    f.files.iter().filter(|x| rule.matches(x)).collect();
                (!matching.is_empty()).then(|| Evidence {
                    detector: None,
                    count: matching.len(),
                    parts: matching.iter().map(|x| x.part).collect(),
                    samples: matching
                        .iter()
                        .take(MAX_SAMPLES)
                        .map(|x| x.location.clone())
                        .collect(),
                    what: Some("file"),
                })
            }
            Condition::SizeOver(n) => simple("size_over", f.size as u64 > *n),
            Condition::Sender(g) => {
                simple("sender", g.iter().any(|g| g.matches(&f.envelope.sender)))
            }
            Condition::Recipient(g) => simple(
                "recipient",
                f.envelope
                    .recipients
                    .iter()
                    .any(|r| g.iter().any(|g| g.matches(&r.address))),
            ),
            Condition::SenderDomain(g) => simple(
                "sender_domain",
                g.iter().any(|g| g.matches(domain(&f.envelope.sender))),
            ),
            Condition::RecipientDomain(g) => simple(
                "recipient_domain",
                f.envelope
                    .recipients
                    .iter()
                    .any(|r| g.iter().any(|g| g.matches(domain(&r.address)))),
            ),
            Condition::Direction(d) => simple("direction", f.direction == *d),
            Condition::Header { name, pattern } => simple(
                "header",
                f.headers
                    .iter()
                    .any(|(n, v)| n.eq_ignore_ascii_case(name) && pattern.is_match(v)),
            ),
            Condition::Subject(g) => simple("subject", g.iter().any(|g| g.matches(f.subject))),
            Condition::LimitExceeded => simple("limit_exceeded", f.limit_exceeded),
            Condition::Uninspectable(reasons) => {
                let matching: Vec<&Uninspected> = f
                    .uninspected
                    .iter()
                    .filter(|u| reasons.contains(&u.reason))
                    .collect();
                (!matching.is_empty()).then(|| Evidence {
                    detector: None,
                    count: matching.len(),
                    parts: Vec::new(),
                    samples: uninspected_samples(&matching),
                    what: Some("uninspectable"),
                })
            }
            Condition::Group(join, inner) => {
                let mut evidence = Vec::new();
                let results: Vec<bool> = inner
                    .iter()
                    .map(|c| match c.eval(f) {
                        Some(e) => {
                            evidence.push(e);
                            true
                        }
                        None => false,
                    })
                    .collect();
                if !join.combine(results.into_iter()) {
                    return None;
                }
                // A group's evidence is its first content evidence, else the first that names
                // places (files, uninspectable parts), else the first named condition.
                let pick = evidence
                    .iter()
                    .position(|e| e.detector.is_some())
                    .or_else(|| evidence.iter().position(|e| !e.samples.is_empty()))
                    .or_else(|| evidence.iter().position(|e| e.what.is_some()));
                Some(pick.map(|i| evidence.swap_remove(i)).unwrap_or(Evidence {
                    detector: None,
                    count: 1,
                    parts: Vec::new(),
                    samples: Vec::new(),
                    what: None,
                }))
            }
        }
    }
}

/// `location (reason)` for the first distinct places, never content.
fn uninspected_samples(matching: &[&Uninspected]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for u in matching {
        let place = if u.location.is_empty() {
            "message"
        } else {
            u.location.as_str()
        };
        let sample = match &u.detail {
            Some(d) => format!("{place} ({}: {d})", u.reason.name()),
            None => format!("{place} ({})", u.reason.name()),
        };
        if !out.contains(&sample) {
            out.push(sample);
        }
        if out.len() == MAX_SAMPLES {
            break;
        }
    }
    out
}

fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

impl Rule {
    /// Whether the rule holds, with the evidence of the conditions that held. A `none` rule that holds
    /// has no evidence of its own.
    pub fn eval(&self, f: &Facts<'_>) -> Option<Vec<Evidence>> {
        let mut evidence = Vec::new();
        let results = self.conditions.iter().map(|c| match c.eval(f) {
            Some(e) => {
                evidence.push(e);
                true
            }
            None => false,
        });
        // Evaluate every condition (not short-circuited) so the evidence is complete.
        let results: Vec<bool> = results.collect();
        self.join
            .combine(results.into_iter())
            .then_some(if self.join == Join::None {
                Vec::new()
            } else {
                evidence
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Found, Hit};
    use crate::message::Recipient;

    fn envelope(from: &str, to: &[&str]) -> Envelope {
        Envelope {
            sender: from.into(),
            params: Default::default(),
            recipients: to.iter().map(|t| Recipient::plain(t.to_string())).collect(),
        }
    }

    fn hit(conf: Confidence, redacted: &str) -> Hit {
        Hit {
            detector: "CREDIT_CARD".into(),
            start: 0,
            end: 1,
            confidence: conf,
            redacted: redacted.into(),
        }
    }

    struct World {
        env: Envelope,
        findings: Findings,
        scopes: Vec<Scope>,
        files: Vec<FileFacts>,
        headers: Vec<(String, String)>,
        uninspected: Vec<Uninspected>,
    }

    impl World {
        fn new() -> World {
            let mut findings = Findings::new(1);
            // part 0 = body, part 1 = subject, part 2 = attachment
            for (part, conf, r) in [
                (0, Confidence::High, "4111 **** **** 1111"),
                (0, Confidence::Low, "5500 **** **** 0004"),
                (2, Confidence::Medium, "3400 ****** *0009"),
            ] {
                findings.push(
                    DetectorId(0),
                    Found {
                        part,
                        hit: hit(conf, r),
                    },
                );
            }
            World {
                env: envelope("a@corp.example", &["b@corp.example", "c@partner.example"]),
                findings,
                scopes: vec![Scope::BODY, Scope::SUBJECT, Scope::ATTACHMENTS],
                files: vec![FileFacts {
                    part: 2,
                    location: "attachment:cards.zip/list.xlsx".into(),
                    name: Some("list.xlsx".into()),
                    true_type: "xlsx".into(),
                    size: 20_000,
                    encrypted: false,
                }],
                headers: vec![("X-Mailer".into(), "Outlook 16.0".into())],
                uninspected: vec![
                    Uninspected {
                        location: "cards.zip/a.bin".into(),
                        reason: Unreadable::Unsupported,
                        detail: None,
                    },
                    Uninspected {
                        location: "body".into(),
                        reason: Unreadable::Encoding,
                        detail: None,
                    },
                ],
            }
        }

        fn facts(&self) -> Facts<'_> {
            Facts {
                envelope: &self.env,
                size: 30_000,
                headers: &self.headers,
                subject: "Card list for Q3",
                files: &self.files,
                limit_exceeded: false,
                uninspected: &self.uninspected,
                direction: Direction::of(&self.env, &["corp.example".into()]),
                findings: &self.findings,
                part_scope: &self.scopes,
            }
        }
    }

    fn content(min: u32, confidence: Confidence, scope: Scope) -> Condition {
        Condition::Content {
            detector: DetectorId(0),
            min,
            confidence,
            scope,
        }
    }

    #[test]
    fn content_counts_respect_minimum_confidence_and_scope() {
        let w = World::new();
        let f = w.facts();
        let e = content(3, Confidence::Low, Scope::CONTENT)
            .eval(&f)
            .unwrap();
        assert_eq!((e.count, e.parts.clone()), (3, vec![0, 2]));
        assert!(
            content(4, Confidence::Low, Scope::CONTENT)
                .eval(&f)
                .is_none()
        );
        assert!(
            content(3, Confidence::Medium, Scope::CONTENT)
                .eval(&f)
                .is_none()
        );
        let body = content(1, Confidence::Low, Scope::BODY).eval(&f).unwrap();
        assert_eq!(body.count, 2);
        assert!(
            content(1, Confidence::Low, Scope::SUBJECT)
                .eval(&f)
                .is_none()
        );
        assert!(
            e.samples.iter().all(|s| s.contains('*')),
            "only redacted samples"
        );
    }

    #[test]
    fn joins_all_any_none() {
        let w = World::new();
        let f = w.facts();
        let yes = content(1, Confidence::Low, Scope::CONTENT);
        let no = content(9, Confidence::Low, Scope::CONTENT);
        let rule = |join, conditions| Rule {
            name: "r".into(),
            join,
            conditions,
        };
        assert!(
            rule(Join::All, vec![yes.clone(), yes.clone()])
                .eval(&f)
                .is_some()
        );
        assert!(
            rule(Join::All, vec![yes.clone(), no.clone()])
                .eval(&f)
                .is_none()
        );
        assert!(
            rule(Join::All, vec![]).eval(&f).is_none(),
            "empty all never holds"
        );
        assert!(
            rule(Join::Any, vec![no.clone(), yes.clone()])
                .eval(&f)
                .is_some()
        );
        assert!(rule(Join::Any, vec![no.clone()]).eval(&f).is_none());
        assert!(rule(Join::None, vec![no.clone()]).eval(&f).is_some());
        assert!(rule(Join::None, vec![no, yes]).eval(&f).is_none());
    }

    #[test]
    fn envelope_direction_header_subject_and_size_conditions() {
        let w = World::new();
        let f = w.facts();
        assert_eq!(f.direction, Direction::Outbound);
        let g = |p: &str| vec![Glob::new(p)];
        assert!(Condition::Sender(g("*@corp.example")).eval(&f).is_some());
        assert!(Condition::Sender(g("*@partner.example")).eval(&f).is_none());
        assert!(Condition::Recipient(g("c@*")).eval(&f).is_some());
        assert!(
            Condition::SenderDomain(g("corp.example"))
                .eval(&f)
                .is_some()
        );
        assert!(
            Condition::RecipientDomain(g("*.example"))
                .eval(&f)
                .is_some()
        );
        assert!(
            Condition::RecipientDomain(g("other.example"))
                .eval(&f)
                .is_none()
        );
        assert!(Condition::Direction(Direction::Outbound).eval(&f).is_some());
        assert!(Condition::Direction(Direction::Inbound).eval(&f).is_none());
        let header = |n: &str, p: &str| Condition::Header {
            name: n.into(),
            pattern: regex::Regex::new(p).unwrap(),
        };
        assert!(header("x-mailer", "^Outlook").eval(&f).is_some());
        assert!(header("x-mailer", "Thunderbird").eval(&f).is_none());
        assert!(Condition::Subject(g("*q3*")).eval(&f).is_some());
        assert!(Condition::SizeOver(29_999).eval(&f).is_some());
        assert!(Condition::SizeOver(30_000).eval(&f).is_none());
        assert!(Condition::LimitExceeded.eval(&f).is_none());
    }

    #[test]
    fn uninspectable_by_reason_with_places_as_evidence() {
        let w = World::new();
        let f = w.facts();
        let any = Condition::Uninspectable(Unreadable::ALL.iter().map(|(_, r)| *r).collect());
        let ev = any.eval(&f).expect("any reason");
        assert_eq!(ev.count, 2);
        assert_eq!(
            ev.samples,
            ["cards.zip/a.bin (unsupported)", "body (encoding)"]
        );
        assert_eq!(ev.what, Some("uninspectable"));
        let ev = Condition::Uninspectable(vec![Unreadable::Encoding, Unreadable::Limit])
            .eval(&f)
            .expect("encoding");
        assert_eq!(ev.samples, ["body (encoding)"]);
        assert!(
            Condition::Uninspectable(vec![Unreadable::Encrypted, Unreadable::Malformed])
                .eval(&f)
                .is_none()
        );
        for (name, r) in Unreadable::ALL {
            assert_eq!(r.name(), name);
        }
    }

    #[test]
    fn direction_from_internal_domains_and_subdomains() {
        let internal = vec!["corp.example".to_string()];
        let d = |from: &str, to: &[&str]| Direction::of(&envelope(from, to), &internal);
        assert_eq!(
            d("a@mail.corp.example", &["b@corp.example"]),
            Direction::Internal
        );
        assert_eq!(d("a@corp.example", &["b@x.example"]), Direction::Outbound);
        assert_eq!(
            d("a@evilcorp.example", &["b@corp.example"]),
            Direction::Inbound
        );
        assert_eq!(
            d("", &["b@corp.example"]),
            Direction::Inbound,
            "null sender"
        );
    }

    #[test]
    fn file_rules_need_every_given_test() {
        let w = World::new();
        let f = w.facts();
        let rule = |r: FileRule| Condition::File(r).eval(&f);
        assert!(
            rule(FileRule {
                types: vec!["XLSX".into()],
                ..FileRule::default()
            })
            .is_some()
        );
        assert!(
            rule(FileRule {
                types: vec!["xlsx".into()],
                size_over: Some(20_000),
                ..FileRule::default()
            })
            .is_none()
        );
        assert!(
            rule(FileRule {
                extensions: vec!["xlsx".into()],
                names: vec![Glob::new("list.*")],
                encrypted: Some(false),
                ..FileRule::default()
            })
            .is_some()
        );
        let e = rule(FileRule {
            encrypted: Some(false),
            ..FileRule::default()
        })
        .unwrap();
        assert_eq!(e.samples, ["attachment:cards.zip/list.xlsx"]);
        assert!(
            rule(FileRule {
                encrypted: Some(true),
                ..FileRule::default()
            })
            .is_none()
        );
    }
}
