//! `[[policy]]` tables: validation of policies, their rules, exceptions and response, registering
//! every content condition's detector. A policy with any error is rejected with its `file:line:col`;
//! nothing is half-applied.

use toml::Spanned;

use super::raw;
use super::value::{Ctx, Error, Loc};
use crate::detect::{Breadth, Confidence, Detector, Registry};
use crate::policy::{self, Condition, FileRule, Glob, Join, Rule, Scope};

/// Nesting of `all` / `any` / `none` groups inside a condition list.
const MAX_GROUP_DEPTH: usize = 4;
/// Largest `words` for `near` and window settings.
const MAX_WORDS: u64 = 1000;

pub(crate) fn build_policies(
    cx: &Ctx<'_>,
    list: Vec<Spanned<raw::Policy>>,
    force_monitor: bool,
    disclaimers: &[crate::rewrite::Disclaimer],
) -> Result<policy::Policies, Error> {
    let mut registry = Registry::default();
    let mut policies = Vec::new();
    let mut seen_ids = std::collections::HashSet::new();
    for p in list {
        let whole = cx.user(p);
        let raw = whole.value().clone();
        let id = raw
            .id
            .clone()
            .ok_or_else(|| whole.error("a policy needs an `id` (a number)"))?;
        let id = cx.user(id);
        let id_num = id.value().to_owned();
        if !seen_ids.insert(id_num) {
            return Err(id.error(&format!("policy id {id_num} is used twice")));
        }
        let name = raw
            .name
            .clone()
            .map(|n| n.into_inner())
            .unwrap_or_else(|| format!("policy {id_num}"));
        let monitor = match raw.mode.clone() {
            None => false,
            Some(m) => cx
                .user(m)
                .choice(&[("enforce", false), ("monitor", true)])?,
        };
        let severity = match raw.severity.clone() {
            None => policy::Severity::Medium,
            Some(s) => cx.user(s).choice(&[
                ("info", policy::Severity::Info),
                ("low", policy::Severity::Low),
                ("medium", policy::Severity::Medium),
                ("high", policy::Severity::High),
                ("critical", policy::Severity::Critical),
            ])?,
        };
        let (join, all_mail) = match raw.join.clone() {
            None => (Join::Any, false),
            Some(j) => cx.user(j).choice(&[
                ("any", (Join::Any, false)),
                ("all", (Join::All, false)),
                ("all-mail", (Join::Any, true)),
            ])?,
        };
        let mut b = Builder {
            cx,
            registry: &mut registry,
        };
        let mut rules = Vec::new();
        for r in raw.rule.clone().map(|v| v.into_inner()).unwrap_or_default() {
            rules.push(b.rule(r)?);
        }
        if let Some(r) = b.shorthand(&whole, &raw)? {
            rules.push(r);
        }
        number_unnamed(&mut rules);
        let mut exceptions = Vec::new();
        for r in raw
            .exception
            .clone()
            .map(|v| v.into_inner())
            .unwrap_or_default()
        {
            exceptions.push(b.rule(r)?);
        }
        number_unnamed(&mut exceptions);
        let action = response(cx, &whole, &raw, disclaimers)?;
        conditions_stated(&whole, rules.is_empty(), all_mail)?;
        let mut notify = Vec::new();
        for a in strings(cx, &raw.notify) {
            let who = a.parse_with(|s| {
                policy::Audience::parse(s).ok_or_else(|| {
                    format!("unknown notify audience {s:?}: expected \"sender\", \"recipients\" or \"admin\"")
                })
            })?;
            if !notify.contains(&who) {
                notify.push(who);
            }
        }
        policies.push(policy::Policy {
            id: id_num,
            name,
            enabled: raw.enabled.clone().is_none_or(|e| e.into_inner()),
            monitor: monitor || force_monitor,
            severity,
            join,
            rules,
            exceptions,
            action,
            notify,
        });
    }
    Ok(policy::Policies::new(policies, registry))
}

/// A policy without conditions matches every message: that must be said (`match = "all-mail"`),
/// never the result of a forgotten `[[policy.rule]]`.
fn conditions_stated(
    whole: &Loc<'_, raw::Policy>,
    no_rules: bool,
    all_mail: bool,
) -> Result<(), Error> {
    match (no_rules, all_mail) {
        (true, false) => Err(whole.error(
            "this policy has no conditions, so it would match every message; add `[[policy.rule]]` tables (or keywords / regexes / senders / recipients), or say `match = \"all-mail\"` if every message is meant",
        )),
        (false, true) => Err(whole.error(
            "`match = \"all-mail\"` matches every message and takes no rules or condition keys; remove them, or use match = \"any\" / \"all\"",
        )),
        _ => Ok(()),
    }
}

/// A rule written without a name is known by its position (1-based), as notices and logs show it
/// (`rule 2`); the keyword shorthand counts as the last rule.
fn number_unnamed(rules: &mut [Rule]) {
    for (i, r) in rules.iter_mut().enumerate() {
        if r.name.is_empty() {
            r.name = (i + 1).to_string();
        }
    }
}

struct Builder<'a, 'r> {
    cx: &'a Ctx<'a>,
    registry: &'r mut Registry,
}

fn strings<'a>(cx: &'a Ctx<'a>, v: &raw::V<Vec<Spanned<String>>>) -> Vec<Loc<'a, String>> {
    v.clone().map(|v| cx.user(v).items()).unwrap_or_default()
}

impl<'a> Builder<'a, '_> {
    fn rule(&mut self, r: Spanned<raw::Rule>) -> Result<Rule, Error> {
        let r = self.cx.user(r);
        let raw::Rule {
            name,
            join,
            conditions,
        } = r.value().clone();
        let name = name.map(|n| n.into_inner()).unwrap_or_default();
        let join = match join {
            None => Join::All,
            Some(j) => self.cx.user(j).choice(&[
                ("all", Join::All),
                ("any", Join::Any),
                ("none", Join::None),
            ])?,
        };
        let list = conditions.map(|c| c.into_inner()).unwrap_or_default();
        if list.is_empty() {
            return Err(r.error("a rule needs `conditions`, a list of at least one condition"));
        }
        let conditions = list
            .into_iter()
            .map(|c| self.condition(c, 0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rule {
            name,
            join,
            conditions,
        })
    }

    /// The first issue's policy keys (`keywords`, `regexes`, `senders`, `recipients`) as one rule:
    /// sender AND recipient AND (any keyword OR any regex), each part only when given.
    fn shorthand(
        &mut self,
        whole: &Loc<'_, raw::Policy>,
        raw: &raw::Policy,
    ) -> Result<Option<Rule>, Error> {
        let mut conditions = Vec::new();
        let senders = strings(self.cx, &raw.senders);
        if !senders.is_empty() {
            conditions.push(Condition::Sender(globs(senders)));
        }
        let recipients = strings(self.cx, &raw.recipients);
        if !recipients.is_empty() {
            conditions.push(Condition::Recipient(globs(recipients)));
        }
        let mut content = Vec::new();
        let keywords = strings(self.cx, &raw.keywords);
        if !keywords.is_empty() {
            content.push(self.keywords(keywords, Scope::CONTENT, 1)?);
        }
        for r in strings(self.cx, &raw.regexes) {
            let pattern = r.parse_with(|s| content_regex(s))?;
            content.push(self.content(
                Detector::Regex(pattern),
                1,
                Confidence::Low,
                Scope::CONTENT,
            ));
        }
        if !content.is_empty() {
            conditions.push(Condition::Group(Join::Any, content));
        }
        if conditions.is_empty() {
            return Ok(None);
        }
        if raw.rule.is_some() {
            return Err(whole.error(
                "write conditions either as `[[policy.rule]]` tables or with the keys keywords / regexes / senders / recipients, not both",
            ));
        }
        Ok(Some(Rule {
            name: String::new(),
            join: Join::All,
            conditions,
        }))
    }

    fn content(
        &mut self,
        d: Detector,
        min: u32,
        confidence: Confidence,
        scope: Scope,
    ) -> Condition {
        Condition::Content {
            detector: self.registry.register(d),
            min,
            confidence,
            scope,
        }
    }

    fn keywords(
        &mut self,
        items: Vec<Loc<'_, String>>,
        scope: Scope,
        min: u32,
    ) -> Result<Condition, Error> {
        let mut words = Vec::new();
        for k in items {
            if k.value().trim().is_empty() {
                return Err(k.error("an empty keyword would match everything"));
            }
            words.push(k.take());
        }
        Ok(self.content(Detector::Keywords(words), min, Confidence::Low, scope))
    }

    fn condition(&mut self, c: Spanned<raw::Condition>, depth: usize) -> Result<Condition, Error> {
        let c = self.cx.user(c);
        let raw = c.value().clone();
        let kinds: Vec<&str> = [
            ("identifier", raw.identifier.is_some()),
            ("dictionary", raw.dictionary.is_some()),
            ("keywords", raw.keywords.is_some()),
            ("regex", raw.regex.is_some()),
            ("pattern", raw.pattern.is_some()),
            ("near", raw.near.is_some()),
            ("edm", raw.edm.is_some()),
            (
                "file_*",
                raw.file_type.is_some()
                    || raw.file_extension.is_some()
                    || raw.file_name.is_some()
                    || raw.file_size_over.is_some()
                    || raw.encrypted.is_some(),
            ),
            ("size_over", raw.size_over.is_some()),
            ("sender", raw.sender.is_some()),
            ("recipient", raw.recipient.is_some()),
            ("sender_domain", raw.sender_domain.is_some()),
            ("recipient_domain", raw.recipient_domain.is_some()),
            ("direction", raw.direction.is_some()),
            ("header", raw.header.is_some()),
            ("subject", raw.subject.is_some()),
            ("limit_exceeded", raw.limit_exceeded.is_some()),
            ("uninspectable", raw.uninspectable.is_some()),
            ("all", raw.all.is_some()),
            ("any", raw.any.is_some()),
            ("none", raw.none.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        let kind = match kinds.as_slice() {
            [one] => *one,
            [] => return Err(c.error("a condition needs one kind key: identifier, dictionary, keywords, regex, pattern, near, edm, file_type / file_extension / file_name / file_size_over / encrypted, size_over, sender, recipient, sender_domain, recipient_domain, direction, header, subject, limit_exceeded, uninspectable, or a group all / any / none")),
            many => return Err(c.error(&format!("a condition has exactly one kind; this one has {}: split it into several conditions", many.join(", ")))),
        };
        let is_content = matches!(
            kind,
            "identifier" | "dictionary" | "keywords" | "regex" | "pattern" | "near" | "edm"
        );
        let modifier_misuse = [
            ("min", raw.min.is_some() && !is_content),
            ("in", raw.scope.is_some() && !is_content),
            ("breadth", raw.breadth.is_some() && kind != "identifier"),
            (
                "confidence",
                raw.confidence.is_some() && kind != "identifier",
            ),
            ("words", raw.words.is_some() && kind != "near"),
            ("columns", raw.columns.is_some() && kind != "edm"),
            ("matches", raw.matches.is_some() && kind != "header"),
        ];
        if let Some((key, _)) = modifier_misuse.iter().find(|(_, bad)| *bad) {
            return Err(c.error(&format!("`{key}` does not apply to a `{kind}` condition")));
        }
        let min = match raw.min.clone() {
            None => 1,
            Some(m) => self.cx.user(m).range(1, 1_000_000)? as u32,
        };
        let scope = match raw.scope.clone() {
            None => Scope::CONTENT,
            Some(list) => {
                let mut s = Scope::NOWHERE;
                for item in self.cx.user(list).items() {
                    let one = item.parse_with(|n| {
                        Scope::parse(n).ok_or_else(|| {
                            format!("unknown place {n:?}: expected \"body\", \"subject\", \"headers\" or \"attachments\"")
                        })
                    })?;
                    s = s.with(one);
                }
                if s == Scope::NOWHERE {
                    return Err(c.error("`in` needs at least one place"));
                }
                s
            }
        };
        let text = |v: raw::V<String>| v.map(|v| self.cx.user(v));
        Ok(match kind {
            "identifier" => {
                let name = text(raw.identifier).map(|n| n.parse_with(|s| check_identifier(s)));
                let name = name.transpose()?.unwrap_or_default();
                let breadth = match raw.breadth.clone() {
                    None => Breadth::Medium,
                    Some(b) => self.cx.user(b).choice(&[
                        ("wide", Breadth::Wide),
                        ("medium", Breadth::Medium),
                        ("narrow", Breadth::Narrow),
                    ])?,
                };
                let confidence = match raw.confidence.clone() {
                    None => Confidence::Low,
                    Some(b) => self.cx.user(b).choice(&[
                        ("low", Confidence::Low),
                        ("medium", Confidence::Medium),
                        ("high", Confidence::High),
                    ])?,
                };
                self.content(
                    Detector::Identifier { name, breadth },
                    min,
                    confidence,
                    scope,
                )
            }
            "dictionary" => {
                let name = text(raw.dictionary).map(|n| n.parse_with(|s| check_dictionary(s)));
                let name = name.transpose()?.unwrap_or_default();
                self.content(Detector::Dictionary(name), min, Confidence::Low, scope)
            }
            "keywords" => self.keywords(strings(self.cx, &raw.keywords), scope, min)?,
            "regex" => {
                let pattern = text(raw.regex)
                    .map(|r| r.parse_with(|s| content_regex(s)))
                    .transpose()?
                    .unwrap_or_default();
                self.content(Detector::Regex(pattern), min, Confidence::Low, scope)
            }
            "pattern" => {
                let name = text(raw.pattern).map(|n| n.parse_with(|s| check_pattern(s)));
                let name = name.transpose()?.unwrap_or_default();
                self.content(Detector::Pattern(name), min, Confidence::Low, scope)
            }
            "near" => {
                let terms = strings(self.cx, &raw.near);
                if terms.len() != 2 || terms.iter().any(|t| t.value().trim().is_empty()) {
                    return Err(c.error("`near` takes two terms, e.g. near = [\"merger\", \"dictionary:confidential\"]"));
                }
                let words = match raw.words.clone() {
                    None => {
                        return Err(c.error("`near` needs `words`: how many words apart at most"));
                    }
                    Some(w) => self.cx.user(w).range(1, MAX_WORDS)? as u32,
                };
                let mut it = terms.into_iter();
                let (Some(a), Some(b)) = (it.next(), it.next()) else {
                    return Err(c.error("`near` takes two terms"));
                };
                let (a, b) = (a.take(), b.take());
                self.content(Detector::Near { a, b, words }, min, Confidence::Low, scope)
            }
            "edm" => {
                let index = text(raw.edm)
                    .map(|n| n.parse_with(|s| check_name(s, "an EDM index")))
                    .transpose()?
                    .unwrap_or_default();
                let columns = match raw.columns.clone() {
                    None => 2,
                    Some(k) => self.cx.user(k).range(1, 64)? as u32,
                };
                self.content(
                    Detector::Edm { index, columns },
                    min,
                    Confidence::Low,
                    scope,
                )
            }
            "file_*" => Condition::File(FileRule {
                types: lower(strings(self.cx, &raw.file_type))
                    .into_iter()
                    .map(|t| t.parse_with(|s| check_file_type(s)))
                    .collect::<Result<_, _>>()?,
                extensions: lower(strings(self.cx, &raw.file_extension))
                    .into_iter()
                    .map(|e| e.take().trim_start_matches('.').to_string())
                    .collect(),
                names: globs(strings(self.cx, &raw.file_name)),
                size_over: raw
                    .file_size_over
                    .clone()
                    .map(|s| size(self.cx, s))
                    .transpose()?,
                encrypted: raw.encrypted.clone().map(|e| e.into_inner()),
            }),
            "size_over" => Condition::SizeOver(
                raw.size_over
                    .clone()
                    .map(|s| size(self.cx, s))
                    .transpose()?
                    .unwrap_or(0),
            ),
            "sender" => Condition::Sender(globs(strings(self.cx, &raw.sender))),
            "recipient" => Condition::Recipient(globs(strings(self.cx, &raw.recipient))),
            "sender_domain" => Condition::SenderDomain(globs(strings(self.cx, &raw.sender_domain))),
            "recipient_domain" => {
                Condition::RecipientDomain(globs(strings(self.cx, &raw.recipient_domain)))
            }
            "direction" => Condition::Direction(
                text(raw.direction)
                    .map(|d| {
                        d.choice(&[
                            ("outbound", policy::Direction::Outbound),
                            ("inbound", policy::Direction::Inbound),
                            ("internal", policy::Direction::Internal),
                        ])
                    })
                    .transpose()?
                    .unwrap_or(policy::Direction::Outbound),
            ),
            "header" => {
                let name = text(raw.header)
                    .map(|h| h.parse_with(|s| check_header_name(s)))
                    .transpose()?
                    .unwrap_or_default();
                let pattern = match raw.matches.clone() {
                    None => return Err(c.error(
                        "`header` needs `matches`, a regex for the field's value (\".\" for any)",
                    )),
                    Some(m) => self.cx.user(m).parse_with(|s| crate::detect::regex(s))?,
                };
                Condition::Header { name, pattern }
            }
            "subject" => Condition::Subject(globs(strings(self.cx, &raw.subject))),
            "limit_exceeded" => {
                if raw.limit_exceeded.clone().is_some_and(|v| !v.into_inner()) {
                    return Err(c.error(
                        "`limit_exceeded` can only be true (use a `none` group for the opposite)",
                    ));
                }
                Condition::LimitExceeded
            }
            "uninspectable" => {
                Condition::Uninspectable(unreadable(self.cx, raw.uninspectable.clone())?)
            }
            group => {
                if depth >= MAX_GROUP_DEPTH {
                    return Err(c.error(&format!("groups nest at most {MAX_GROUP_DEPTH} deep")));
                }
                let (join, list) = match group {
                    "all" => (Join::All, raw.all),
                    "any" => (Join::Any, raw.any),
                    _ => (Join::None, raw.none),
                };
                let list = list.map(|l| l.into_inner()).unwrap_or_default();
                if list.is_empty() {
                    return Err(c.error(&format!("`{group}` needs at least one condition")));
                }
                let inner = list
                    .into_iter()
                    .map(|x| self.condition(x, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                Condition::Group(join, inner)
            }
        })
    }
}

/// The reasons of an `uninspectable` condition: all of them for `true`, else the listed ones.
fn unreadable(
    cx: &Ctx<'_>,
    v: Option<Spanned<raw::Uninspectable>>,
) -> Result<Vec<policy::Unreadable>, Error> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let v = cx.user(v);
    match v.value().clone() {
        raw::Uninspectable::Any(true) => {
            Ok(policy::Unreadable::ALL.iter().map(|(_, r)| *r).collect())
        }
        raw::Uninspectable::Any(false) => Err(v.error(
            "`uninspectable` is true or a list of reasons (use a `none` group for the opposite)",
        )),
        raw::Uninspectable::Reasons(list) if list.is_empty() => Err(v.error(
            "`uninspectable` needs at least one reason: encrypted, unsupported, malformed, encoding, limit",
        )),
        raw::Uninspectable::Reasons(list) => {
            let mut out = Vec::new();
            for item in list {
                let r = cx.user(item).choice(&policy::Unreadable::ALL)?;
                if !out.contains(&r) {
                    out.push(r);
                }
            }
            Ok(out)
        }
    }
}

fn globs(items: Vec<Loc<'_, String>>) -> Vec<Glob> {
    items.into_iter().map(|g| Glob::new(g.value())).collect()
}

fn lower<'a>(items: Vec<Loc<'a, String>>) -> Vec<Loc<'a, String>> {
    items
        .into_iter()
        .map(|l| l.map(|s| s.to_ascii_lowercase()))
        .collect()
}

fn size(cx: &Ctx<'_>, v: Spanned<raw::Size>) -> Result<u64, Error> {
    cx.user(v).parse_with(|s| match s {
        raw::Size::Bytes(n) => Ok(*n),
        raw::Size::Text(t) => parse_size(t),
    })
}

/// "123", "10KB", "5 MB", "1GiB" -> bytes (KB/MB/GB are 1000-based, KiB/MiB/GiB 1024-based).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like \"10MB\" or 1048576"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1000,
        "mb" | "m" => 1000 * 1000,
        "gb" | "g" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?}: use B, KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// A content regex: valid, and not able to match the empty string (an empty match counts as a
/// hit, so `x*`, `^` or `\b` would make every message, or every message with a word, violate).
fn content_regex(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("an empty regex would match every message".to_string());
    }
    crate::detect::regex(s)?;
    // Compiled above, so the syntax parses; the shortest match is a property of the pattern.
    let shortest = regex_syntax::parse(s)
        .map_err(|e| format!("invalid regex: {e}"))?
        .properties()
        .minimum_len();
    if shortest == Some(0) {
        return Err(format!(
            "{s:?} matches the empty string, so it would match every message: make it need at least one character"
        ));
    }
    Ok(s.to_string())
}

fn check_name(s: &str, what: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a valid name for {what} (letters, digits, _ - . ; at most 64)"
        ))
    }
}

fn check_identifier(s: &str) -> Result<String, String> {
    let known = crate::detect::identifier_names();
    if known.iter().any(|k| k == s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "unknown data identifier {s:?}; known: {}",
            known.join(", ")
        ))
    }
}

fn check_dictionary(s: &str) -> Result<String, String> {
    let known = crate::detect::dictionary_names();
    if known.iter().any(|k| k == s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "unknown dictionary {s:?}; known: {}",
            known.join(", ")
        ))
    }
}

fn check_pattern(s: &str) -> Result<String, String> {
    let known = crate::detect::pattern_names();
    if known.iter().any(|k| k == s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "unknown pattern {s:?}; known: {}",
            known.join(", ")
        ))
    }
}

fn check_file_type(s: &str) -> Result<String, String> {
    let known = crate::detect::file_type_names();
    if known.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "unknown file type {s:?}; known: {}",
            known.join(", ")
        ))
    }
}

fn check_header_name(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a header field name"))
    }
}

/// The response rule: what a violation of this policy does.
fn response(
    cx: &Ctx<'_>,
    whole: &Loc<'_, raw::Policy>,
    raw: &raw::Policy,
    disclaimers: &[crate::rewrite::Disclaimer],
) -> Result<policy::Action, Error> {
    let action_name = raw.action.clone().ok_or_else(|| {
        whole.error(
            "a policy needs an `action`: \"block\", \"quarantine\", \"approval\", \"redirect\", \"modify\" or \"log\"",
        )
    })?;
    let action_loc = cx.user(action_name);
    let kind = action_loc.value().clone();
    let body = super::body_edits::build(cx, raw, kind == "modify", disclaimers)?;
    Ok(match kind.as_str() {
        "block" => {
            let text = raw
                .reply
                .clone()
                .map(|r| cx.user(r))
                .map(|r| r.parse_with(|s| check_reply_text(s).map(|()| s.clone())))
                .transpose()?;
            policy::Action::Block {
                reply: text.unwrap_or_else(|| policy::DEFAULT_BLOCK_TEXT.to_string()),
            }
        }
        "redirect" => {
            let to = raw
                .redirect_to
                .clone()
                .ok_or_else(|| action_loc.error("action \"redirect\" needs `redirect_to`"))?;
            let to = cx
                .user(to)
                .parse_with(|s| policy::check_address(s).map(|()| s.clone()))?;
            policy::Action::Redirect { to }
        }
        "modify" => {
            let subject = match raw.subject.clone() {
                None => None,
                Some(s) => {
                    let s = cx.user(s);
                    let raw::Subject { mode, text } = s.value();
                    let mode = mode.clone().ok_or_else(|| {
                        s.error("subject needs `mode`: \"replace\", \"prepend\" or \"append\"")
                    })?;
                    let mode = cx.user(mode).choice(&[
                        ("replace", policy::SubjectMode::Replace),
                        ("prepend", policy::SubjectMode::Prepend),
                        ("append", policy::SubjectMode::Append),
                    ])?;
                    let text = text
                        .clone()
                        .ok_or_else(|| s.error("subject needs `text`"))?;
                    let text = cx
                        .user(text)
                        .parse_with(|t| super::check_header_value(t).map(|()| t.clone()))?;
                    Some(policy::SubjectEdit { mode, text })
                }
            };
            let header_items = strings(cx, &raw.headers);
            if header_items.len() > policy::MAX_ADDED_HEADERS {
                return Err(header_items[policy::MAX_ADDED_HEADERS].error(&format!(
                    "a policy adds at most {} headers",
                    policy::MAX_ADDED_HEADERS
                )));
            }
            let mut add_headers = Vec::new();
            for h in header_items {
                add_headers.push(h.parse_with(|s| super::parse_header_line(s))?);
            }
            if subject.is_none() && add_headers.is_empty() && body.is_empty() {
                return Err(action_loc.error("action \"modify\" needs `subject`, `headers`, `strip_attachments`, `replace_attachments` or `disclaimer`"));
            }
            policy::Action::Modify {
                subject,
                headers: add_headers,
                body,
            }
        }
        "log" => policy::Action::Log,
        "quarantine" => policy::Action::Quarantine,
        "approval" => {
            let items = strings(cx, &raw.approvers);
            if items.is_empty() {
                return Err(action_loc.error(
                    "action \"approval\" needs `approvers`: addresses, or \"manager\" for the sender's manager",
                ));
            }
            let mut approvers = Vec::new();
            for a in items {
                approvers.push(a.parse_with(|s| {
                    if s == policy::MANAGER {
                        Ok(s.clone())
                    } else {
                        policy::check_address(s).map(|()| s.clone())
                    }
                })?);
            }
            policy::Action::Approval { approvers }
        }
        other => {
            return Err(action_loc.error(&format!(
                "unknown action {other:?}: expected \"block\", \"quarantine\", \"approval\", \"redirect\", \"modify\" or \"log\""
            )));
        }
    })
}

fn check_reply_text(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 400 || s.bytes().any(|b| !(32..=126).contains(&b)) {
        Err("a reply text must be 1 to 400 printable ASCII characters on one line".to_string())
    } else {
        Ok(())
    }
}
