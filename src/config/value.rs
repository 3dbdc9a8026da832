//! Located values and configuration errors: every setting remembers where it was written, so that any
//! problem is reported as `file:line:col: what is wrong`.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::raw;
use crate::policy;

/// A configuration problem, always with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{file}: {message}")]
    Io { file: String, message: String },
    #[error("{file}:{line}:{col}: {message}")]
    At {
        file: String,
        line: usize,
        col: usize,
        message: String,
    },
}

impl Error {
    pub(crate) fn from_toml(e: &toml::de::Error, text: &str, file: &str) -> Error {
        let (line, col) = line_col(text, e.span().map_or(0, |s| s.start));
        Error::At {
            file: file.to_string(),
            line,
            col,
            message: e.message().trim().to_string(),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

/// The two documents a value can come from.
pub(crate) struct Ctx<'a> {
    file: &'a str,
    user: &'a str,
    defaults: &'a str,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(file: &'a str, user: &'a str, defaults: &'a str) -> Ctx<'a> {
        Ctx {
            file,
            user,
            defaults,
        }
    }

    /// The user's value if given, else the default's.
    pub(crate) fn pick<T>(
        &'a self,
        user: raw::V<T>,
        default: raw::V<T>,
        key: &str,
    ) -> Result<Loc<'a, T>, Error> {
        match (user, default) {
            (Some(v), _) => Ok(Loc::new(self, v, true)),
            (None, Some(v)) => Ok(Loc::new(self, v, false)),
            (None, None) => Err(Error::At {
                file: "<embedded defaults>".into(),
                line: 1,
                col: 1,
                message: format!("no default for {key} (a bug in assets/sluice.toml)"),
            }),
        }
    }

    /// A value only the user can give (policies have no defaults).
    pub(crate) fn user<T>(&'a self, v: Spanned<T>) -> Loc<'a, T> {
        Loc::new(self, v, true)
    }

    fn error(&self, span: &Range<usize>, user: bool, message: &str) -> Error {
        let (file, text) = if user {
            (self.file, self.user)
        } else {
            ("<embedded defaults>", self.defaults)
        };
        let (line, col) = line_col(text, span.start);
        Error::At {
            file: file.to_string(),
            line,
            col,
            message: message.to_string(),
        }
    }
}

/// A setting with the place it was written.
pub(crate) struct Loc<'a, T> {
    cx: &'a Ctx<'a>,
    value: T,
    span: Range<usize>,
    user: bool,
}

impl<'a, T> Loc<'a, T> {
    fn new(cx: &'a Ctx<'a>, v: Spanned<T>, user: bool) -> Loc<'a, T> {
        let span = v.span();
        Loc {
            cx,
            value: v.into_inner(),
            span,
            user,
        }
    }

    pub(crate) fn value(&self) -> &T {
        &self.value
    }

    pub(crate) fn take(self) -> T {
        self.value
    }

    pub(crate) fn error(&self, message: &str) -> Error {
        self.cx.error(&self.span, self.user, message)
    }

    pub(crate) fn parse_with<U>(self, f: impl FnOnce(&T) -> Result<U, String>) -> Result<U, Error> {
        f(&self.value).map_err(|m| self.error(&m))
    }
}

impl<'a> Loc<'a, u64> {
    pub(crate) fn range(self, min: u64, max: u64) -> Result<u64, Error> {
        let v = self.value;
        if (min..=max).contains(&v) {
            Ok(v)
        } else {
            Err(self.error(&format!("{v} is out of range: expected {min} to {max}")))
        }
    }
}

impl<'a> Loc<'a, String> {
    pub(crate) fn duration(self) -> Result<Duration, Error> {
        self.parse_with(|s| parse_duration(s))
    }

    pub(crate) fn choice<T: Copy>(self, options: &[(&str, T)]) -> Result<T, Error> {
        match options.iter().find(|(name, _)| *name == self.value) {
            Some((_, v)) => Ok(*v),
            None => {
                let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
                Err(self.error(&format!(
                    "unknown value {:?}: expected one of {}",
                    self.value,
                    names.join(", ")
                )))
            }
        }
    }
}

impl<'a> Loc<'a, Vec<Spanned<String>>> {
    pub(crate) fn items(self) -> Vec<Loc<'a, String>> {
        let (cx, user) = (self.cx, self.user);
        self.value
            .into_iter()
            .map(|v| Loc::new(cx, v, user))
            .collect()
    }
}

/// "250ms", "30s", "5m", "1h" (a bare number is seconds).
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like \"30s\", \"5m\" or \"250ms\""))?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {s:?}: use ms, s, m or h"
            ));
        }
    };
    if d.is_zero() {
        return Err("a duration must be greater than zero".to_string());
    }
    Ok(d)
}

pub(crate) fn build_policies(
    cx: &Ctx<'_>,
    list: Vec<Spanned<raw::Policy>>,
) -> Result<policy::Policies, Error> {
    let mut specs = Vec::new();
    let mut seen_ids = std::collections::HashSet::new();
    for p in list {
        let whole = cx.user(p);
        let span_err = |m: &str| whole.error(m);
        let raw::Policy {
            id,
            name,
            mode,
            keywords,
            regexes,
            senders,
            recipients,
            action,
            reply,
            redirect_to,
            subject,
            headers,
        } = whole.value();
        let id = id
            .clone()
            .ok_or_else(|| span_err("a policy needs an `id` (a number)"))?;
        let id = cx.user(id);
        let id_num = id.value().to_owned();
        if !seen_ids.insert(id_num) {
            return Err(id.error(&format!("policy id {id_num} is used twice")));
        }
        let name = name
            .clone()
            .map(|n| n.into_inner())
            .unwrap_or_else(|| format!("policy {id_num}"));
        let monitor = match mode.clone() {
            None => false,
            Some(m) => cx
                .user(m)
                .choice(&[("enforce", false), ("monitor", true)])?,
        };
        let strings = |v: &raw::V<Vec<Spanned<String>>>| -> Vec<Loc<'_, String>> {
            v.clone().map(|v| cx.user(v).items()).unwrap_or_default()
        };
        let mut keyword_list = Vec::new();
        for k in strings(keywords) {
            if k.value().trim().is_empty() {
                return Err(k.error("an empty keyword would match everything"));
            }
            keyword_list.push(k.take());
        }
        let mut regex_list = Vec::new();
        for r in strings(regexes) {
            let checked = r.parse_with(|s| policy::check_regex(s).map(|()| s.clone()))?;
            regex_list.push(checked);
        }
        let mut sender_list = Vec::new();
        for s in strings(senders) {
            sender_list.push(s.take());
        }
        let mut recipient_list = Vec::new();
        for s in strings(recipients) {
            recipient_list.push(s.take());
        }
        let action_name = action.clone().ok_or_else(|| {
            span_err("a policy needs an `action`: \"block\", \"redirect\", \"modify\" or \"log\"")
        })?;
        let action_loc = cx.user(action_name);
        let kind = action_loc.value().clone();
        let action = match kind.as_str() {
            "block" => {
                let text = reply
                    .clone()
                    .map(|r| cx.user(r))
                    .map(|r| r.parse_with(|s| check_reply_text(s).map(|()| s.clone())))
                    .transpose()?;
                policy::Action::Block {
                    reply: text.unwrap_or_else(|| policy::DEFAULT_BLOCK_TEXT.to_string()),
                }
            }
            "redirect" => {
                let to = redirect_to
                    .clone()
                    .ok_or_else(|| action_loc.error("action \"redirect\" needs `redirect_to`"))?;
                let to = cx
                    .user(to)
                    .parse_with(|s| policy::check_address(s).map(|()| s.clone()))?;
                policy::Action::Redirect { to }
            }
            "modify" => {
                let subject = match subject.clone() {
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
                let header_items = strings(headers);
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
                if subject.is_none() && add_headers.is_empty() {
                    return Err(action_loc.error("action \"modify\" needs `subject` or `headers`"));
                }
                policy::Action::Modify {
                    subject,
                    headers: add_headers,
                }
            }
            "log" => policy::Action::Log,
            other => return Err(action_loc.error(&format!(
                "unknown action {other:?}: expected \"block\", \"redirect\", \"modify\" or \"log\""
            ))),
        };
        let spec = policy::Spec {
            id: id_num,
            name,
            monitor,
            keywords: keyword_list,
            regexes: regex_list,
            senders: sender_list,
            recipients: recipient_list,
            action,
        };
        let compiled = policy::Policy::compile(spec).map_err(|m| span_err(&m))?;
        specs.push(compiled);
    }
    Ok(policy::Policies::new(specs))
}

fn check_reply_text(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 400 || s.bytes().any(|b| !(32..=126).contains(&b)) {
        Err("a reply text must be 1 to 400 printable ASCII characters on one line".to_string())
    } else {
        Ok(())
    }
}
