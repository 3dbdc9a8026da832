//! The built-in policy set (assets/policies/default.toml, embedded): which policies run when a
//! configuration has no `[[policy]]` of its own, in the mode of `inspection.builtin_policies`.

use toml::Spanned;

use super::value::{Ctx, Error, Loc};
use super::{DEFAULT_TOML, policies, raw};

/// The built-in policy set, run when a configuration has no `[[policy]]` of its own
/// (`inspection.builtin_policies`).
pub const BUILTIN_POLICIES: &str = include_str!("../../assets/policies/default.toml");
/// How the built-in policy set is named in errors and logs.
const BUILTIN_FILE: &str = "<built-in policies>";

/// `inspection.builtin_policies`: what runs when the configuration has no `[[policy]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    Monitor,
    Enforce,
    Off,
}

/// Where the policies in force come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    /// The configuration's own `[[policy]]` tables.
    Configured,
    /// The built-in set (assets/policies/default.toml); `monitor`: incidents only, nothing enforced.
    Builtin { monitor: bool },
    /// No policies (`inspection.builtin_policies = "off"` and none configured).
    None,
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PolicySource::Configured => "configured",
            PolicySource::Builtin { monitor: true } => "built-in, monitor mode",
            PolicySource::Builtin { monitor: false } => "built-in, enforced",
            PolicySource::None => "none",
        })
    }
}

/// The policies in force: the configuration's own, else the built-in set in the mode `mode` names.
pub(super) fn policies(
    cx: &Ctx<'_>,
    own: Option<Vec<Spanned<raw::Policy>>>,
    mode: Loc<'_, String>,
    disclaimers: &[crate::rewrite::Disclaimer],
) -> Result<(crate::policy::Policies, PolicySource), Error> {
    let mode = mode.choice(&[
        ("monitor", Builtin::Monitor),
        ("enforce", Builtin::Enforce),
        ("off", Builtin::Off),
    ])?;
    match own {
        Some(list) => Ok((
            policies::build_policies(cx, list, false, disclaimers)?,
            PolicySource::Configured,
        )),
        None => set(mode),
    }
}

/// The built-in policy set (assets/policies/default.toml) in the mode asked for, or none.
fn set(mode: Builtin) -> Result<(crate::policy::Policies, PolicySource), Error> {
    let monitor = match mode {
        Builtin::Off => {
            let none =
                policies::build_policies(&Ctx::new(BUILTIN_FILE, "", ""), Vec::new(), false, &[])?;
            return Ok((none, PolicySource::None));
        }
        Builtin::Monitor => true,
        Builtin::Enforce => false,
    };
    let set: raw::Raw = toml::from_str(BUILTIN_POLICIES)
        .map_err(|e| Error::from_toml(&e, BUILTIN_POLICIES, BUILTIN_FILE))?;
    let cx = Ctx::new(BUILTIN_FILE, BUILTIN_POLICIES, DEFAULT_TOML);
    let list = policies::build_policies(&cx, set.policy.unwrap_or_default(), monitor, &[])?;
    Ok((list, PolicySource::Builtin { monitor }))
}
