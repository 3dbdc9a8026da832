//! Where each pending recipient of a gateway entry goes (pure): its domain's route from the
//! routing list as it is now (`gateway::router::Routes::next`, so a reload's routes apply to mail
//! already queued), with the route's delivery options or the `[gateway]` defaults, and the
//! recipients grouped by destination: one connection, one transaction per group.

use crate::config::gateway::Gateway;
use crate::gateway::router::Next;
use crate::relay::route::{Aim, Way};
use crate::store::records::{Queued, RcptState};

/// The recipients of one entry that go one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub way: Way,
    /// Deliveries in flight at once to this destination.
    pub concurrency: usize,
    /// Indexes into the entry's recipients.
    pub recipients: Vec<usize>,
}

/// The domain of an address, as routes compare it (lower case, no trailing dot).
fn domain_of(address: &str) -> String {
    let d = address.rsplit_once('@').map_or(address, |(_, d)| d);
    d.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The way mail for `domain` goes, and its destination's concurrency cap.
pub fn way_for(domain: &str, gw: &Gateway) -> (Way, usize) {
    let d = &gw.delivery;
    let options = gw
        .routes
        .lookup(domain)
        .map(|r| r.options.clone())
        .unwrap_or_default();
    let mx = || Aim::Mx {
        domain: domain.to_string(),
        port: d.mx_port,
    };
    let aim = match gw.routes.next(domain) {
        Next::Local(dest) | Next::SmartHost(dest) => Aim::Host(dest.clone()),
        Next::LocalMx | Next::Mx => mx(),
    };
    // The same settings a recipient callout to this destination connects with.
    let connect = crate::gateway::callout::Connect::of(&options, d);
    let way = Way {
        aim,
        tls: connect.tls,
        anchors: connect.anchors,
        source: connect.source,
    };
    (
        way,
        options.concurrency.unwrap_or(d.destination_concurrency),
    )
}

/// The pending recipients of `entry` grouped by the way they go, in the order of their first
/// recipient.
pub fn groups(entry: &Queued, gw: &Gateway) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for (i, r) in entry.recipients.iter().enumerate() {
        if r.state != RcptState::Pending {
            continue;
        }
        let (way, concurrency) = way_for(&domain_of(&r.address), gw);
        match out.iter_mut().find(|g| g.way == way) {
            Some(g) => g.recipients.push(i),
            None => out.push(Group {
                way,
                concurrency,
                recipients: vec![i],
            }),
        }
    }
    out
}

/// The destination keys an entry's pending recipients go to (for reordering).
pub fn hops(entry: &Queued, gw: &Gateway) -> Vec<String> {
    let mut keys: Vec<String> = groups(entry, gw).iter().map(|g| g.way.key()).collect();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::gateway::router::Destination;
    use crate::store::records::{QueueId, QueueKind, QueuedRecipient};
    use crate::tls::policy::TlsPolicy;

    fn gateway(text: &str) -> Gateway {
        let anchor = crate::testing::anchor_file();
        let text = text.replace("/etc/corp.pem", &format!("{}", anchor.display()));
        Config::parse(&text, "sluice.toml").unwrap().gateway
    }

    fn entry(rcpts: &[&str]) -> Queued {
        Queued {
            id: QueueId(1),
            kind: QueueKind::Gateway {
                guid: "g".into(),
                direction: crate::policy::Direction::Inbound,
                listener: "inbound".into(),
                received: None,
            },
            created: 0,
            sender: "a@x.example".into(),
            envid: None,
            ret_full: false,
            recipients: rcpts
                .iter()
                .map(|a| QueuedRecipient {
                    address: a.to_string(),
                    notify: Default::default(),
                    orcpt: None,
                    state: RcptState::Pending,
                    last_reply: None,
                })
                .collect(),
            peer: String::new(),
            attempts: 0,
            next_attempt: 0,
            give_up_at: 0,
            delay_notice_sent: false,
            held: false,
        }
    }

    const ROUTES: &str = "[gateway]\ntls = \"encrypt\"\ndestination_concurrency = 7\nsource_address = \"127.0.0.9\"\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"10.0.0.5:2525\"\ntls = \"verify\"\ntrust_anchors = [\"/etc/corp.pem\"]\nconcurrency = 2\n\n[[route]]\ndomain = \".corp.example\"\ntls = \"none\"\n";

    #[test]
    fn each_recipient_goes_by_its_domains_route_with_its_options_or_the_defaults() {
        let gw = gateway(ROUTES);
        let e = entry(&[
            "a@corp.example",
            "b@Sales.Corp.Example",
            "c@gmail.example",
            "d@CORP.example",
            "e@sales.corp.example",
            "f@other.example",
        ]);
        let g = groups(&e, &gw);
        let keys: Vec<(String, Vec<usize>)> = g
            .iter()
            .map(|g| (g.way.key(), g.recipients.clone()))
            .collect();
        assert_eq!(
            keys,
            [
                ("10.0.0.5:2525".to_string(), vec![0, 3]),
                ("mx:sales.corp.example".to_string(), vec![1, 4]),
                ("mx:gmail.example".to_string(), vec![2]),
                ("mx:other.example".to_string(), vec![5]),
            ]
        );
        // A fixed destination with every option of its own.
        assert_eq!(g[0].way.tls, TlsPolicy::Verify);
        assert_eq!(g[0].way.anchors, [crate::testing::anchor_file()]);
        assert_eq!(g[0].concurrency, 2);
        assert_eq!(g[0].way.source, Some("127.0.0.9".parse().unwrap()));
        // A local subdomain without a destination: its MX, its own TLS, the default cap.
        assert_eq!(
            g[1].way.aim,
            Aim::Mx {
                domain: "sales.corp.example".into(),
                port: 25
            }
        );
        assert_eq!((g[1].way.tls, g[1].concurrency), (TlsPolicy::None, 7));
        // Not local, no smart host: the Internet MX with the [gateway] defaults.
        assert_eq!((g[2].way.tls, g[2].concurrency), (TlsPolicy::Encrypt, 7));
        assert!(g[2].way.anchors.is_empty());
    }

    #[test]
    fn the_smart_host_takes_every_non_local_domain_in_one_group() {
        let gw = gateway("[gateway]\nsmart_host = \"relay.isp.example:587\"\n");
        let e = entry(&["a@gmail.example", "b@other.example", "c@corp.example"]);
        let g = groups(&e, &gw);
        assert_eq!(g.len(), 1, "no route for corp.example in this file");
        assert_eq!(
            g[0].way.aim,
            Aim::Host(Destination::parse("relay.isp.example:587").unwrap())
        );
        assert_eq!(g[0].recipients, [0, 1, 2]);
        assert_eq!(hops(&e, &gw), ["relay.isp.example:587"]);
    }

    #[test]
    fn only_pending_recipients_are_grouped_and_routes_are_read_as_they_are_now() {
        let mut e = entry(&["a@corp.example", "b@corp.example"]);
        e.recipients[0].state = RcptState::Delivered {
            at: 1,
            reply: "250 ok".into(),
        };
        let g = groups(&e, &gateway(ROUTES));
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].recipients, [1]);
        // The same entry after a reload that moved corp.example elsewhere.
        let moved = gateway("[[route]]\ndomain = \"corp.example\"\ndestination = \"10.9.9.9\"\n");
        assert_eq!(hops(&e, &moved), ["10.9.9.9:25"]);
        assert_eq!(groups(&e, &moved)[0].way.tls, TlsPolicy::May, "the default");
    }
}
