//! Recipient verification for local domains (pure): per `[[route]]`, `verify = "off"` (default:
//! every recipient of a local domain is taken), `"list"` (only the addresses of `recipients` and
//! `recipients_file`) or `"callout"` (ask the route's destination, see `callout`).
//!
//! A list holds addresses (`user@corp.example`) and catch-alls (`@corp.example`: every address
//! of that domain). Addresses compare without case, the local part included (as Postfix's lookup
//! tables compare them): `John.Smith@Corp.Example` is `john.smith@corp.example`. A domain
//! without a catch-all and without the address is unknown.

use std::collections::HashSet;

/// How a route's recipients are verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Verify {
    #[default]
    Off,
    List(Recipients),
    Callout,
}

impl Verify {
    pub fn name(&self) -> &'static str {
        match self {
            Verify::Off => "off",
            Verify::List(_) => "list",
            Verify::Callout => "callout",
        }
    }
}

/// The valid recipients of a route (`verify = "list"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipients {
    addresses: HashSet<String>,
    /// Catch-all domains, lowercase.
    domains: HashSet<String>,
}

impl Recipients {
    /// Adds one entry: `user@domain` or `@domain`. Refused with the reason when it is neither.
    pub fn add(&mut self, entry: &str) -> Result<(), String> {
        let e = entry.trim().to_lowercase();
        match e.rsplit_once('@') {
            Some(("", d)) if valid_domain(d) => {
                self.domains.insert(d.trim_end_matches('.').to_string());
                Ok(())
            }
            Some((l, d))
                if !l.is_empty() && valid_domain(d) && !l.contains(char::is_whitespace) =>
            {
                self.addresses
                    .insert(format!("{l}@{}", d.trim_end_matches('.')));
                Ok(())
            }
            _ => Err(format!(
                "{entry:?} is not a recipient: use user@corp.example, or @corp.example for every address of the domain"
            )),
        }
    }

    /// Adds the entries of a file's text: one per line; blank lines and `#` comments skipped.
    /// A bad line is refused with its line number.
    pub fn add_lines(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            self.add(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.addresses.len() + self.domains.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `address` is a valid recipient.
    pub fn knows(&self, address: &str) -> bool {
        let a = address.trim().to_lowercase();
        let domain = a.rsplit_once('@').map_or("", |(_, d)| d);
        let domain = domain.trim_end_matches('.');
        self.domains.contains(domain) || self.addresses.contains(&a)
    }
}

fn valid_domain(d: &str) -> bool {
    let d = d.trim_end_matches('.');
    !d.is_empty()
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_catch_alls_without_case() {
        let mut r = Recipients::default();
        r.add("John.Smith@Corp.Example").unwrap();
        r.add_lines("# staff\n\nalice@corp.example  # the boss\n@branch.example\n")
            .unwrap();
        assert_eq!(r.len(), 3);
        assert!(r.knows("john.smith@corp.example"));
        assert!(r.knows("JOHN.SMITH@CORP.EXAMPLE"));
        assert!(r.knows("alice@corp.example"));
        assert!(!r.knows("bob@corp.example"));
        assert!(r.knows("anyone@branch.example"));
        assert!(r.knows("anyone@Branch.Example."));
        assert!(!r.knows("anyone@sub.branch.example"));
        assert!(!r.knows("postmaster"));
    }

    #[test]
    fn bad_entries_say_which_line() {
        let mut r = Recipients::default();
        for bad in ["nobody", "@", "user@", "a b@corp.example", "user@bad..name"] {
            assert!(r.add(bad).is_err(), "{bad}");
        }
        let e = r
            .add_lines("ok@corp.example\nnot an address\n")
            .unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        assert_eq!(Verify::default(), Verify::Off);
        assert_eq!(Verify::List(r).name(), "list");
    }
}
