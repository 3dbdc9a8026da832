//! Located values and configuration errors: every setting remembers where it was written, so that any
//! problem is reported as `file:line:col: what is wrong`.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::raw;

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

/// A file that is not UTF-8: the error names the first invalid byte.
pub(crate) fn not_utf8(file: &str, e: std::string::FromUtf8Error) -> Error {
    let at = e.utf8_error().valid_up_to();
    let bytes = e.as_bytes();
    let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    let (line, col) = line_col(valid, at);
    Error::At {
        file: file.to_string(),
        line,
        col,
        message: format!(
            "the file is not UTF-8: byte 0x{:02x} at offset {at}",
            bytes[at]
        ),
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

    /// Whether the user's file gave this value (else the embedded defaults did).
    pub(crate) fn is_user(&self) -> bool {
        self.user
    }

    pub(crate) fn take(self) -> T {
        self.value
    }

    pub(crate) fn error(&self, message: &str) -> Error {
        self.cx.error(&self.span, self.user, message)
    }

    /// An error at the first place `needle` is written inside this value (for example one tag
    /// of a multi-line template), or at the value itself when it is not found verbatim.
    pub(crate) fn error_at(&self, needle: &str, message: &str) -> Error {
        let text = if self.user {
            self.cx.user
        } else {
            self.cx.defaults
        };
        let start = text
            .get(self.span.clone())
            .filter(|_| !needle.is_empty())
            .and_then(|src| src.find(needle))
            .map_or(self.span.start, |at| self.span.start + at);
        self.cx.error(&(start..start), self.user, message)
    }

    pub(crate) fn parse_with<U>(self, f: impl FnOnce(&T) -> Result<U, String>) -> Result<U, Error> {
        f(&self.value).map_err(|m| self.error(&m))
    }

    /// The same place with a transformed value.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Loc<'a, U> {
        Loc {
            cx: self.cx,
            value: f(self.value),
            span: self.span,
            user: self.user,
        }
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

/// A duration value in the one grammar ([`crate::units::duration`]), greater than zero.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = crate::units::duration::parse(s)?;
    if d.is_zero() {
        return Err("a duration must be greater than zero".to_string());
    }
    Ok(d)
}
