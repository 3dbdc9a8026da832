//! The gateway's part of `sluice check-config`: `[gateway]` (relay clients, checks, custody,
//! delivery defaults), each `[[route]]`, each `[[disclaimer]]`, and the words for a policy's body
//! edits. Pure, like the rest of `show`.

use std::fmt::Write;

use super::{duration, list, on_off, section};
use crate::config::Config;
use crate::config::gateway::{LateBlock, RelayClient};
use crate::gateway::verify::Verify;
use crate::policy::BodyAction;

fn paths(p: &[std::path::PathBuf]) -> String {
    match p.is_empty() {
        true => "(system bundle)".into(),
        false => list(p.iter().map(|p| p.display().to_string())),
    }
}

fn address(a: Option<std::net::IpAddr>) -> String {
    a.map_or("(any)".into(), |a| a.to_string())
}

/// `[gateway]`, then one section per `[[route]]` and per `[[disclaimer]]`.
pub(super) fn gateway(c: &Config, out: &mut String) {
    let g = &c.gateway;
    let k = &g.checks;
    let d = &g.delivery;
    let clients = g.relay_clients.iter().map(|r| match r {
        RelayClient::Net(n) => n.to_string(),
        RelayClient::Host(h) => h.clone(),
    });
    let rate = |n: u64| match n {
        0 => "off".to_string(),
        n => n.to_string(),
    };
    section(
        out,
        "gateway",
        &[
            ("relay_clients", list(clients)),
            (
                "smart_host",
                g.routes
                    .smart_host()
                    .map_or("(none: MX delivery)".into(), |h| h.to_string()),
            ),
            (
                "blocked_address_chars",
                format!("{:?}", k.blocked_address_chars),
            ),
            ("max_connection_rate", rate(k.max_connection_rate)),
            ("max_message_rate", rate(k.max_message_rate)),
            ("rate_window", duration(k.rate_window)),
            ("callout_timeout", duration(k.callout_timeout)),
            ("callout_ttl", duration(k.callout_ttl)),
            ("callout_negative_ttl", duration(k.callout_negative_ttl)),
            ("callout_cache", k.callout_cache.to_string()),
            (
                "callout_sender",
                match k.callout_sender.is_empty() {
                    true => "<>".into(),
                    false => k.callout_sender.clone(),
                },
            ),
            ("inline_verdict", duration(g.custody.inline_verdict)),
            (
                "late_block",
                match g.custody.late_block {
                    LateBlock::Bounce => "bounce",
                    LateBlock::Drop => "drop",
                }
                .into(),
            ),
            ("inspect_retry", duration(g.custody.inspect_retry)),
            ("inspect_attempts", g.custody.inspect_attempts.to_string()),
            ("tls", d.tls.name().into()),
            ("trust_anchors", paths(&d.trust_anchors)),
            (
                "destination_concurrency",
                d.destination_concurrency.to_string(),
            ),
            ("source_address", address(d.source_address)),
            ("mx_port", d.mx_port.to_string()),
        ],
    );
    routes(c, out);
    for d in &c.disclaimers {
        section(
            out,
            "[disclaimer]",
            &[
                ("name", d.name.clone()),
                (
                    "directions",
                    list(d.directions.iter().map(|d| d.name().to_string())),
                ),
                (
                    "sender_domains",
                    match d.sender_domains.is_empty() {
                        true => "(any)".into(),
                        false => d.sender_domains.join(", "),
                    },
                ),
                ("text", format!("{} characters", d.text.chars().count())),
                (
                    "html",
                    d.html.as_ref().map_or("(the text as HTML)".into(), |h| {
                        format!("{} characters", h.chars().count())
                    }),
                ),
                ("skip_dkim_signed", on_off(d.skip_dkim_signed).into()),
            ],
        );
    }
}

/// One section per `[[route]]`, with its effective delivery settings.
fn routes(c: &Config, out: &mut String) {
    let g = &c.gateway;
    let d = &g.delivery;
    if g.routes.entries().is_empty() {
        let _ = writeln!(out, "[route]\n  (no local domain)");
    }
    for r in g.routes.entries() {
        let verify = g
            .checks
            .verify
            .iter()
            .find(|(domain, _)| *domain == r.domain);
        let verify = match verify.map(|(_, v)| v) {
            None | Some(Verify::Off) => "off".to_string(),
            Some(Verify::List(l)) => format!("list ({} entries)", l.len()),
            Some(Verify::Callout) => "callout".to_string(),
        };
        let o = &r.options;
        let anchors = match o.trust_anchors.is_empty() {
            true => &d.trust_anchors,
            false => &o.trust_anchors,
        };
        section(
            out,
            "[route]",
            &[
                ("domain", r.domain.clone()),
                (
                    "destination",
                    r.destination
                        .as_ref()
                        .map_or("(MX)".into(), |h| h.to_string()),
                ),
                ("verify", verify),
                ("tls", o.tls.unwrap_or(d.tls).name().into()),
                ("trust_anchors", paths(anchors)),
                (
                    "concurrency",
                    o.concurrency
                        .unwrap_or(d.destination_concurrency)
                        .to_string(),
                ),
                (
                    "source_address",
                    address(o.source_address.or(d.source_address)),
                ),
            ],
        );
    }
}

/// A policy's body edit in words: `strip attachments (matched)`, `replace attachments with a
/// notice (all)`, `disclaimer legal`.
pub fn body_action(b: &BodyAction) -> String {
    match b {
        BodyAction::Strip { all, notice } => {
            let which = if *all { "all" } else { "matched" };
            match notice {
                None => format!("strip attachments ({which})"),
                Some(_) => format!("replace attachments with a notice ({which})"),
            }
        }
        BodyAction::Disclaimer(d) => format!("disclaimer {}", d.name),
    }
}

/// A body edit a verdict asks for, in words (`sluice` policy tests): as [`body_action`], with
/// the attachments a match was found in.
pub fn body_edit(e: &crate::rewrite::Edit) -> String {
    use crate::rewrite::{Attachments, Edit};
    match e {
        Edit::Strip {
            attachments,
            notice,
        } => {
            let which = match attachments {
                Attachments::All => "all".to_string(),
                Attachments::Matched(m) => format!("matched: {}", list(m.iter().cloned())),
            };
            match notice {
                None => format!("strip attachments ({which})"),
                Some(_) => format!("replace attachments with a notice ({which})"),
            }
        }
        Edit::Disclaimer(d) => format!("disclaimer {}", d.name),
    }
}

#[cfg(test)]
mod tests {
    use super::super::summary;
    use super::*;

    #[test]
    fn the_gateway_routes_disclaimers_and_body_edits_are_shown() {
        let c = Config::parse(
            "[gateway]\nrelay_clients = [\"10.0.0.0/8\", \"mail.corp.example\"]\nsmart_host = \"relay.isp.example:587\"\nmax_connection_rate = 60\n\n\
             [[route]]\ndomain = \"corp.example\"\ndestination = \"10.0.0.5:2525\"\nverify = \"list\"\nrecipients = [\"a@corp.example\", \"b@corp.example\"]\ntls = \"encrypt\"\nsource_address = \"10.0.0.1\"\n\n\
             [[route]]\ndomain = \".corp.example\"\n\n\
             [[disclaimer]]\nname = \"legal\"\ntext = \"Confidential.\"\n\n\
             [[policy]]\nid = 3\nname = \"Strip\"\naction = \"modify\"\nkeywords = [\"secret\"]\nstrip_attachments = \"all\"\ndisclaimer = \"legal\"\n",
            "t.toml",
        )
        .unwrap();
        let text = summary(&c);
        for line in [
            "[gateway]\n  relay_clients = 10.0.0.0/8, mail.corp.example\n  smart_host = relay.isp.example:587\n",
            "  max_connection_rate = 60\n  max_message_rate = off\n",
            "[[route]]\n  domain = corp.example\n  destination = 10.0.0.5:2525\n  verify = list (2 entries)\n  tls = encrypt\n",
            "  source_address = 10.0.0.1\n",
            "[[route]]\n  domain = .corp.example\n  destination = (MX)\n  verify = off\n",
            "[[disclaimer]]\n  name = legal\n  directions = outbound\n  sender_domains = (any)\n  text = 13 characters\n",
            "  3 \"Strip\": modify, severity ",
            "body: strip attachments (all), disclaimer legal",
        ] {
            assert!(text.contains(line), "{line:?} not in {text}");
        }
        for debug in ["Some(", "None", "Net(", "Verify::"] {
            assert!(!text.contains(debug), "{debug:?} in {text}");
        }
    }
}
