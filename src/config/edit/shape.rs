//! The common shape of a policy, as the admin UI's form edits it: who it applies to (senders,
//! recipients), what it looks for (keywords, data identifiers, regexes, attachment types), its
//! severity, mode and response. [`PolicyShape::to_toml`] writes one `[[policy]]` table with one
//! rule (sender AND recipient AND any of the content conditions); [`PolicyShape::from_text`] reads
//! a policy back when it has that shape (else the form is not offered: the TOML editor is).

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

/// A policy the form can show and write (the API's `fields`: missing fields are empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyShape {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    /// "enforce" or "monitor".
    pub mode: String,
    /// info, low, medium, high, critical.
    pub severity: String,
    /// block, quarantine, redirect, modify, log.
    pub action: String,
    /// `block`: the reply text.
    pub reply: String,
    /// `redirect`: the one new recipient.
    pub redirect_to: String,
    /// `modify`: header lines added.
    pub headers: Vec<String>,
    pub senders: Vec<String>,
    pub recipients: Vec<String>,
    pub keywords: Vec<String>,
    /// Data identifier names (`CREDIT_CARD`, `US_SSN`, ...).
    pub identifiers: Vec<String>,
    pub regexes: Vec<String>,
    /// True file types (`exe`, `zip`, `xlsx`, ...).
    pub file_types: Vec<String>,
}

fn strings(v: Option<&toml::Value>) -> Option<Vec<String>> {
    match v {
        None => Some(Vec::new()),
        Some(toml::Value::Array(a)) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        Some(toml::Value::String(s)) => Some(vec![s.clone()]),
        Some(_) => None,
    }
}

impl PolicyShape {
    /// A new policy's starting values.
    pub fn new_policy(id: i64) -> PolicyShape {
        PolicyShape {
            id,
            enabled: true,
            mode: "enforce".into(),
            severity: "medium".into(),
            action: "log".into(),
            ..PolicyShape::default()
        }
    }

    /// The shape of a policy's text (one `[[policy]]` table), `None` when it uses anything the
    /// form cannot show (exceptions, several rules, other conditions, nested groups).
    pub fn from_text(text: &str) -> Option<PolicyShape> {
        let table: toml::Table = toml::from_str(text).ok()?;
        let p = table.get("policy")?.as_array()?.first()?.as_table()?;
        let known = [
            "id",
            "name",
            "enabled",
            "mode",
            "severity",
            "action",
            "reply",
            "redirect_to",
            "headers",
            "keywords",
            "regexes",
            "senders",
            "recipients",
            "rule",
        ];
        if p.keys().any(|k| !known.contains(&k.as_str())) {
            return None;
        }
        let s = |k: &str| p.get(k).and_then(toml::Value::as_str).map(str::to_string);
        let mut shape = PolicyShape {
            id: p.get("id")?.as_integer()?,
            name: s("name").unwrap_or_default(),
            enabled: p
                .get("enabled")
                .and_then(toml::Value::as_bool)
                .unwrap_or(true),
            mode: s("mode").unwrap_or_else(|| "enforce".into()),
            severity: s("severity").unwrap_or_else(|| "medium".into()),
            action: s("action").unwrap_or_default(),
            reply: s("reply").unwrap_or_default(),
            redirect_to: s("redirect_to").unwrap_or_default(),
            headers: strings(p.get("headers"))?,
            keywords: strings(p.get("keywords"))?,
            regexes: strings(p.get("regexes"))?,
            senders: strings(p.get("senders"))?,
            recipients: strings(p.get("recipients"))?,
            ..PolicyShape::default()
        };
        if let Some(rules) = p.get("rule") {
            let rules = rules.as_array()?;
            if rules.len() > 1 {
                return None;
            }
            for rule in rules {
                let rule = rule.as_table()?;
                if rule
                    .keys()
                    .any(|k| !["name", "match", "conditions"].contains(&k.as_str()))
                {
                    return None;
                }
                let all = rule
                    .get("match")
                    .and_then(toml::Value::as_str)
                    .unwrap_or("all");
                let conditions = rule.get("conditions")?.as_array()?;
                shape.conditions(conditions, all)?;
            }
        }
        Some(shape)
    }

    /// Reads `conditions` (joined by `join`) into the shape: sender and recipient lists at the
    /// top (only when joined by all), content conditions at the top or in one `any` group.
    fn conditions(&mut self, conditions: &[toml::Value], join: &str) -> Option<()> {
        for c in conditions {
            let c = c.as_table()?;
            if c.len() != 1 {
                return None;
            }
            let (k, v) = c.iter().next()?;
            match k.as_str() {
                "sender" if join == "all" => self.senders.extend(strings(Some(v))?),
                "recipient" if join == "all" => self.recipients.extend(strings(Some(v))?),
                "any" if join == "all" => self.conditions(v.as_array()?, "any")?,
                "keywords" => self.keywords.extend(strings(Some(v))?),
                "identifier" => self.identifiers.push(v.as_str()?.to_string()),
                "regex" => self.regexes.push(v.as_str()?.to_string()),
                "file_type" => self.file_types.extend(strings(Some(v))?),
                _ => return None,
            }
        }
        Some(())
    }

    /// One `[[policy]]` table with one rule: sender AND recipient AND any content condition.
    pub fn to_toml(&self) -> String {
        let mut t = Table::new();
        t.insert("id", toml_edit::value(self.id));
        if !self.name.trim().is_empty() {
            t.insert("name", toml_edit::value(self.name.trim()));
        }
        if !self.enabled {
            t.insert("enabled", toml_edit::value(false));
        }
        if self.mode == "monitor" {
            t.insert("mode", toml_edit::value("monitor"));
        }
        t.insert("severity", toml_edit::value(self.severity.as_str()));
        t.insert("action", toml_edit::value(self.action.as_str()));
        match self.action.as_str() {
            "block" if !self.reply.trim().is_empty() => {
                t.insert("reply", toml_edit::value(self.reply.trim()));
            }
            "redirect" => {
                t.insert("redirect_to", toml_edit::value(self.redirect_to.trim()));
            }
            "modify" if !self.headers.is_empty() => {
                t.insert("headers", toml_edit::value(list(&self.headers)));
            }
            _ => {}
        }
        let one = |k: &str, v: Value| {
            let mut c = InlineTable::new();
            c.insert(k, v);
            Value::InlineTable(c)
        };
        let mut content = Array::new();
        if !self.keywords.is_empty() {
            content.push(one("keywords", list(&self.keywords).into()));
        }
        for i in &self.identifiers {
            content.push(one("identifier", i.as_str().into()));
        }
        for r in &self.regexes {
            content.push(one("regex", r.as_str().into()));
        }
        if !self.file_types.is_empty() {
            content.push(one("file_type", list(&self.file_types).into()));
        }
        let mut conditions = Array::new();
        if !self.senders.is_empty() {
            conditions.push(one("sender", list(&self.senders).into()));
        }
        if !self.recipients.is_empty() {
            conditions.push(one("recipient", list(&self.recipients).into()));
        }
        match content.len() {
            0 => {}
            1 => conditions.extend(content),
            _ => conditions.push(one("any", content.into())),
        }
        if !conditions.is_empty() {
            let mut rule = Table::new();
            rule.insert("conditions", toml_edit::value(conditions));
            let mut rules = ArrayOfTables::new();
            rules.push(rule);
            t.insert("rule", Item::ArrayOfTables(rules));
        }
        let mut policies = ArrayOfTables::new();
        policies.push(t);
        let mut doc = DocumentMut::new();
        doc.insert("policy", Item::ArrayOfTables(policies));
        doc.to_string()
    }
}

fn list(items: &[String]) -> Array {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect()
}
