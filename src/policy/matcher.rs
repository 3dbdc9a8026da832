//! Matchers used by policy conditions: `*`/`?` address patterns (case-insensitive), and the address
//! check config validation runs. (Policy regexes are detectors: `detect::regex`.)

/// A plausible mailbox: `local@domain`, no spaces or angle brackets.
pub fn check_address(address: &str) -> Result<(), String> {
    let ok = address.len() <= 254
        && address.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && !d.is_empty() && d.contains('.') | d.eq_ignore_ascii_case("localhost")
        })
        && !address
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'<' || b == b'>' || b.is_ascii_control());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{address:?} is not an email address like review@example.com"
        ))
    }
}

/// An address pattern with `*` (any run) and `?` (one character), case-insensitive.
#[derive(Debug, Clone)]
pub struct Glob(Vec<char>);

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob(pattern.trim().to_lowercase().chars().collect())
    }

    pub fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.to_lowercase().chars().collect();
        let p = &self.0;
        // Iterative wildcard match with single backtrack point: linear-ish, no recursion.
        let (mut pi, mut ti) = (0usize, 0usize);
        let (mut star, mut mark) = (None::<usize>, 0usize);
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some(pi);
                mark = ti;
                pi += 1;
            } else if let Some(s) = star {
                pi = s + 1;
                mark += 1;
                ti = mark;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = Glob::new("*@Example.com");
        assert!(g.matches("alice@example.COM"));
        assert!(!g.matches("alice@example.com.evil"));
        assert!(Glob::new("a?c@*").matches("abc@x"));
        assert!(Glob::new("*").matches(""));
        assert!(!Glob::new("a*b*c").matches("aXbY"));
    }

    #[test]
    fn addresses_are_checked() {
        assert!(check_address("review@example.com").is_ok());
        assert!(check_address("review").is_err());
        assert!(check_address("a b@example.com").is_err());
    }
}
