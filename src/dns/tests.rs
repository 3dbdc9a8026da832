//! Unit tests of the resolver against an in-process loopback DNS responder (UDP and TCP).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};

use hickory_proto::op::{MessageType, OpCode};
use hickory_proto::rr::Record;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA};

use super::*;

/// Given a decoded query and whether it came over TCP, the datagrams/frames to send back.
type Handler = dyn Fn(&Message, bool) -> Vec<Vec<u8>> + Send + Sync;

/// Loopback DNS responder on one port for UDP and TCP, driven by a handler closure.
struct Responder {
    addr: SocketAddr,
    udp: Arc<AtomicUsize>,
    tcp: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Responder {
    fn start(handler: impl Fn(&Message, bool) -> Vec<Vec<u8>> + Send + Sync + 'static) -> Self {
        let handler: Arc<Handler> = Arc::new(handler);
        let (listener, socket) = bind_pair();
        let addr = listener.local_addr().unwrap();
        let (udp, tcp) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let udp_thread = {
            let (handler, count, stop) = (handler.clone(), udp.clone(), stop.clone());
            socket
                .set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::SeqCst) {
                    let Ok((len, peer)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    let Ok(query) = Message::from_vec(&buf[..len]) else {
                        continue;
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    for packet in handler(&query, false) {
                        let _ = socket.send_to(&packet, peer);
                    }
                }
            })
        };
        let tcp_thread = {
            let (handler, count, stop) = (handler, tcp.clone(), stop.clone());
            listener.set_nonblocking(true).unwrap();
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok((mut stream, _)) = listener.accept() else {
                        thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(1)))
                        .unwrap();
                    let mut prefix = [0u8; 2];
                    if stream.read_exact(&mut prefix).is_err() {
                        continue;
                    }
                    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
                    if stream.read_exact(&mut buf).is_err() {
                        continue;
                    }
                    let Ok(query) = Message::from_vec(&buf) else {
                        continue;
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    for packet in handler(&query, true) {
                        let len = u16::try_from(packet.len()).unwrap().to_be_bytes();
                        let _ = stream.write_all(&len);
                        let _ = stream.write_all(&packet);
                    }
                }
            })
        };
        Responder {
            addr,
            udp,
            tcp,
            stop,
            threads: vec![udp_thread, tcp_thread],
        }
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.udp.load(Ordering::SeqCst),
            self.tcp.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// A TCP listener and a UDP socket on the same loopback port.
fn bind_pair() -> (TcpListener, UdpSocket) {
    for _ in 0..50 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        if let Ok(socket) = UdpSocket::bind(listener.local_addr().unwrap()) {
            return (listener, socket);
        }
    }
    panic!("no free port for UDP and TCP");
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn record(owner: &str, ttl: u32, data: RData) -> Record {
    Record::from_rdata(name(owner), ttl, data)
}

fn mx(owner: &str, preference: u16, exchange: &str) -> Record {
    record(owner, 300, RData::MX(MX::new(preference, name(exchange))))
}

fn a(owner: &str, ip: [u8; 4]) -> Record {
    record(owner, 300, RData::A(A(Ipv4Addr::from(ip))))
}

fn soa(owner: &str, ttl: u32, minimum: u32) -> Record {
    let data = SOA::new(name("ns."), name("host."), 1, 2, 3, 4, minimum);
    record(owner, ttl, RData::SOA(data))
}

fn reply(query: &Message, rcode: ResponseCode, answers: Vec<Record>) -> Message {
    let mut message = Message::response(query.metadata.id, OpCode::Query);
    message.metadata.response_code = rcode;
    message.metadata.recursion_desired = query.metadata.recursion_desired;
    message.add_queries(query.queries.iter().cloned());
    message.add_answers(answers);
    message
}

/// Authoritative answers from `records`, chasing CNAMEs; unknown owner => NXDOMAIN.
fn zone(records: Vec<Record>) -> impl Fn(&Message, bool) -> Vec<Vec<u8>> + Send + Sync {
    move |query, _tcp| {
        let question = &query.queries[0];
        let mut owner = question.name.clone();
        let mut answers = Vec::new();
        for _ in 0..8 {
            let hits: Vec<_> = records
                .iter()
                .filter(|r| r.name == owner && r.record_type() == question.query_type)
                .cloned()
                .collect();
            if !hits.is_empty() {
                answers.extend(hits);
                break;
            }
            let Some(cname) = records.iter().find(|r| r.name == owner) else {
                break;
            };
            let RData::CNAME(target) = &cname.data else {
                break;
            };
            answers.push(cname.clone());
            owner = target.0.clone();
        }
        let exists = records.iter().any(|r| r.name == owner);
        let rcode = if exists {
            ResponseCode::NoError
        } else {
            ResponseCode::NXDomain
        };
        vec![reply(query, rcode, answers).to_vec().unwrap()]
    }
}

fn config(servers: Vec<SocketAddr>) -> ResolverConfig {
    ResolverConfig {
        servers,
        timeout: Duration::from_secs(2),
        attempts: 1,
        cache_entries: 64,
    }
}

fn resolver(server: &Responder) -> Resolver {
    Resolver::new(config(vec![server.addr]))
}

fn mxs(list: &[(u16, &str)]) -> Vec<Mx> {
    list.iter()
        .map(|&(preference, exchange)| Mx {
            preference,
            exchange: exchange.to_owned(),
        })
        .collect()
}

#[test]
fn mx_sorted_by_preference_lowercase_without_dot() {
    let server = Responder::start(zone(vec![
        mx("example.com.", 20, "mx2.example.com."),
        mx("example.com.", 10, "MX1.Example.COM."),
        mx("example.com.", 30, "backup.example.net."),
        mx("example.com.", 10, "mx1.example.com."),
    ]));
    let got = smol::block_on(resolver(&server).mx("Example.com.")).unwrap();
    let want = mxs(&[
        (10, "mx1.example.com"),
        (20, "mx2.example.com"),
        (30, "backup.example.net"),
    ]);
    assert_eq!(got, want);
}

#[test]
fn nxdomain_is_permanent_and_cached() {
    let server = Responder::start(zone(vec![mx("example.com.", 10, "mx.example.com.")]));
    let resolver = resolver(&server);
    for _ in 0..2 {
        let err = smol::block_on(resolver.mx("nope.example.com")).unwrap_err();
        assert!(
            matches!(&err, Error::NxDomain(n) if n == "nope.example.com"),
            "{err}"
        );
        assert!(!err.is_temporary());
        assert!(err.to_string().contains("nope.example.com"));
    }
    assert_eq!(server.counts(), (1, 0));
}

#[test]
fn nodata_is_empty_and_cached() {
    let server = Responder::start(zone(vec![a("host.example.", [192, 0, 2, 1])]));
    let resolver = resolver(&server);
    assert_eq!(smol::block_on(resolver.mx("host.example")).unwrap(), vec![]);
    assert_eq!(smol::block_on(resolver.mx("host.example")).unwrap(), vec![]);
    assert_eq!(server.counts(), (1, 0));
}

#[test]
fn null_mx_is_reported() {
    let server = Responder::start(zone(vec![mx("nomail.example.", 0, ".")]));
    let got = smol::block_on(resolver(&server).mx("nomail.example")).unwrap();
    assert_eq!(got, mxs(&[(0, "")]));
    assert!(got[0].is_null());
}

#[test]
fn truncated_udp_reply_retries_over_tcp() {
    let records = vec![mx("big.example.", 5, "mx.big.example.")];
    let full = zone(records);
    let server = Responder::start(move |query, tcp| {
        if tcp {
            full(query, tcp)
        } else {
            let mut truncated = reply(query, ResponseCode::NoError, vec![]);
            truncated.metadata.truncation = true;
            vec![truncated.to_vec().unwrap()]
        }
    });
    let got = smol::block_on(resolver(&server).mx("big.example")).unwrap();
    assert_eq!(got, mxs(&[(5, "mx.big.example")]));
    assert_eq!(server.counts(), (1, 1));
}

#[test]
fn silent_server_times_out() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut config = config(vec![silent.local_addr().unwrap()]);
    config.timeout = Duration::from_millis(200);
    config.attempts = 2;
    let started = Instant::now();
    let err = smol::block_on(Resolver::new(config).mx("example.com")).unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(&err, Error::Timeout(n) if n == "example.com"),
        "{err}"
    );
    assert!(err.is_temporary());
    assert!(elapsed >= Duration::from_millis(390), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn positive_answers_cached_for_their_ttl() {
    let server = Responder::start(zone(vec![
        mx("example.com.", 10, "mx.example.com."),
        record("zero.example.", 0, RData::MX(MX::new(1, name("mx.zero.")))),
    ]));
    let resolver = resolver(&server);
    for _ in 0..3 {
        assert_eq!(
            smol::block_on(resolver.mx("EXAMPLE.com")).unwrap(),
            mxs(&[(10, "mx.example.com")])
        );
    }
    assert_eq!(server.counts(), (1, 0));
    // A clone shares the cache.
    smol::block_on(resolver.clone().mx("example.com.")).unwrap();
    assert_eq!(server.counts(), (1, 0));
    // TTL 0 is never cached.
    smol::block_on(resolver.mx("zero.example")).unwrap();
    smol::block_on(resolver.mx("zero.example")).unwrap();
    assert_eq!(server.counts(), (3, 0));
}

#[test]
fn cache_can_be_disabled() {
    let server = Responder::start(zone(vec![mx("example.com.", 10, "mx.example.com.")]));
    let mut config = config(vec![server.addr]);
    config.cache_entries = 0;
    let resolver = Resolver::new(config);
    smol::block_on(resolver.mx("example.com")).unwrap();
    smol::block_on(resolver.mx("example.com")).unwrap();
    assert_eq!(server.counts(), (2, 0));
}

#[test]
fn ips_follow_cnames_a_first() {
    let v6: Ipv6Addr = "2001:db8::25".parse().unwrap();
    let server = Responder::start(zone(vec![
        record(
            "www.example.",
            300,
            RData::CNAME(CNAME(name("alias.example."))),
        ),
        record(
            "alias.example.",
            300,
            RData::CNAME(CNAME(name("host.example."))),
        ),
        record("host.example.", 300, RData::AAAA(AAAA(v6))),
        a("host.example.", [192, 0, 2, 10]),
        a("host.example.", [192, 0, 2, 11]),
    ]));
    let got = smol::block_on(resolver(&server).ips("www.example")).unwrap();
    let want: Vec<IpAddr> = vec![
        Ipv4Addr::new(192, 0, 2, 10).into(),
        Ipv4Addr::new(192, 0, 2, 11).into(),
        v6.into(),
    ];
    assert_eq!(got, want);
    assert_eq!(server.counts(), (2, 0));
}

#[test]
fn ips_with_only_aaaa_or_nothing() {
    let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let server = Responder::start(zone(vec![
        record("six.example.", 300, RData::AAAA(AAAA(v6))),
        mx("mailonly.example.", 1, "mx.example."),
    ]));
    let resolver = resolver(&server);
    assert_eq!(
        smol::block_on(resolver.ips("six.example")).unwrap(),
        vec![IpAddr::V6(v6)]
    );
    assert_eq!(
        smol::block_on(resolver.ips("mailonly.example")).unwrap(),
        Vec::<IpAddr>::new()
    );
    let err = smol::block_on(resolver.ips("gone.example")).unwrap_err();
    assert!(matches!(err, Error::NxDomain(_)), "{err}");
}

#[test]
fn literal_ips_need_no_query() {
    let server = Responder::start(zone(vec![]));
    let resolver = resolver(&server);
    let got = smol::block_on(resolver.ips(" 192.0.2.7 ")).unwrap();
    assert_eq!(got, vec![IpAddr::from([192, 0, 2, 7])]);
    let got = smol::block_on(resolver.ips("::1")).unwrap();
    assert_eq!(got, vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]);
    assert_eq!(server.counts(), (0, 0));
}

#[test]
fn stray_and_spoofed_datagrams_are_ignored() {
    let good = zone(vec![mx("example.com.", 10, "mx.example.com.")]);
    let server = Responder::start(move |query, tcp| {
        let mut wrong_id = reply(query, ResponseCode::NXDomain, vec![]);
        wrong_id.metadata.id = query.metadata.id.wrapping_add(1);
        let mut wrong_question = query.clone();
        wrong_question.queries[0].name = name("other.example.");
        let wrong_question = reply(&wrong_question, ResponseCode::NXDomain, vec![]);
        let mut not_a_response = reply(query, ResponseCode::NXDomain, vec![]);
        not_a_response.metadata.message_type = MessageType::Query;
        let mut packets = vec![
            vec![1, 2, 3],
            wrong_id.to_vec().unwrap(),
            wrong_question.to_vec().unwrap(),
            not_a_response.to_vec().unwrap(),
        ];
        packets.extend(good(query, tcp));
        packets
    });
    let got = smol::block_on(resolver(&server).mx("example.com")).unwrap();
    assert_eq!(got, mxs(&[(10, "mx.example.com")]));
}

#[test]
fn undecodable_reply_is_malformed() {
    let server = Responder::start(|query, _| {
        let mut packet = reply(query, ResponseCode::NoError, vec![])
            .to_vec()
            .unwrap();
        packet[7] = 5; // claims five answers that are not there
        vec![packet]
    });
    let err = smol::block_on(resolver(&server).mx("example.com")).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
    assert!(err.is_temporary());
}

#[test]
fn error_rcodes_move_on_to_the_next_server() {
    let failing = Responder::start(|query, _| {
        let mut refused = reply(query, ResponseCode::Refused, vec![]);
        refused.queries.clear();
        vec![refused.to_vec().unwrap()]
    });
    let good = Responder::start(zone(vec![mx("example.com.", 10, "mx.example.com.")]));
    let both = Resolver::new(config(vec![failing.addr, good.addr]));
    let got = smol::block_on(both.mx("example.com")).unwrap();
    assert_eq!(got, mxs(&[(10, "mx.example.com")]));
    assert_eq!((failing.counts(), good.counts()), ((1, 0), (1, 0)));

    let mut only_failing = config(vec![failing.addr]);
    only_failing.attempts = 3;
    let err = smol::block_on(Resolver::new(only_failing).mx("example.com")).unwrap_err();
    assert!(
        matches!(&err, Error::ServFail(n, ResponseCode::Refused) if n == "example.com"),
        "{err}"
    );
    assert!(err.is_temporary());
    assert_eq!(failing.counts(), (4, 0));
}

#[test]
fn unreachable_server_fails_over_quickly() {
    let dead = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let good = Responder::start(zone(vec![mx("example.com.", 10, "mx.example.com.")]));
    let mut config = config(vec![dead, good.addr]);
    config.timeout = Duration::from_secs(5);
    let started = Instant::now();
    let got = smol::block_on(Resolver::new(config).mx("example.com")).unwrap();
    assert_eq!(got, mxs(&[(10, "mx.example.com")]));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn invalid_names_are_permanent_errors() {
    let resolver = Resolver::new(config(vec![SocketAddr::from(([127, 0, 0, 1], 9))]));
    let long_label = format!("{}.example", "a".repeat(64));
    for bad in ["", " ", ".", "a..b", long_label.as_str()] {
        let err = smol::block_on(resolver.mx(bad)).unwrap_err();
        assert!(matches!(err, Error::InvalidName(..)), "{bad:?}: {err}");
        assert!(!err.is_temporary());
    }
}

#[test]
fn no_servers_is_an_io_error() {
    let err = smol::block_on(Resolver::new(config(vec![])).ips("example.com")).unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
}

fn message(rcode: ResponseCode, answers: Vec<Record>, authorities: Vec<Record>) -> Message {
    let mut query = Message::query();
    query.add_query(Query::query(name("q.example."), RecordType::MX));
    let mut message = reply(&query, rcode, answers);
    message.add_authorities(authorities);
    message
}

#[test]
fn negative_ttl_uses_soa_minimum_capped() {
    let qname = name("q.example.");
    let with_soa = |ttl, minimum| {
        message(
            ResponseCode::NXDomain,
            vec![],
            vec![soa("example.", ttl, minimum)],
        )
    };
    assert_eq!(
        interpret(&with_soa(3600, 30), &qname, RecordType::MX),
        (Outcome::NxDomain, 30)
    );
    assert_eq!(
        interpret(&with_soa(20, 30), &qname, RecordType::MX),
        (Outcome::NxDomain, 20)
    );
    assert_eq!(
        interpret(&with_soa(86400, 86400), &qname, RecordType::MX).1,
        300
    );
    let bare = message(ResponseCode::NoError, vec![], vec![]);
    assert_eq!(
        interpret(&bare, &qname, RecordType::MX),
        (Outcome::NoData, 60)
    );
}

#[test]
fn positive_ttl_is_chain_minimum_capped() {
    let qname = name("q.example.");
    let chain = message(
        ResponseCode::NoError,
        vec![
            record("q.example.", 50, RData::CNAME(CNAME(name("t.example.")))),
            record("t.example.", 90, RData::MX(MX::new(1, name("mx.example.")))),
        ],
        vec![],
    );
    let (outcome, ttl) = interpret(&chain, &qname, RecordType::MX);
    assert!(matches!(outcome, Outcome::Records(ref r) if r.len() == 1));
    assert_eq!(ttl, 50);
    let long = message(
        ResponseCode::NoError,
        vec![mx("q.example.", 1, "mx.example.")],
        vec![],
    );
    let mut long = long;
    long.answers[0].ttl = 86400;
    assert_eq!(interpret(&long, &qname, RecordType::MX).1, 3600);
}

#[test]
fn cname_loop_and_unrelated_records_give_nodata() {
    let qname = name("q.example.");
    let looped = message(
        ResponseCode::NoError,
        vec![
            record("q.example.", 50, RData::CNAME(CNAME(name("r.example.")))),
            record("r.example.", 50, RData::CNAME(CNAME(name("q.example.")))),
            mx("unrelated.example.", 1, "mx.example."),
        ],
        vec![],
    );
    assert_eq!(
        interpret(&looped, &qname, RecordType::MX).0,
        Outcome::NoData
    );
}

#[test]
fn null_mx_among_real_ones_is_dropped() {
    let rdata = vec![
        RData::MX(MX::new(0, Name::root())),
        RData::MX(MX::new(10, name("mx.example."))),
    ];
    assert_eq!(mx_list(&rdata), mxs(&[(10, "mx.example")]));
}

#[test]
fn idn_names_are_queried_in_ascii_form() {
    let target = Target::parse(" Bücher.Example. ").unwrap();
    assert_eq!(target.key, "xn--bcher-kva.example");
    assert_eq!(target.shown, "Bücher.Example");
    let server = Responder::start(zone(vec![mx(
        "xn--bcher-kva.example.",
        5,
        "mx.xn--bcher-kva.example.",
    )]));
    let got = smol::block_on(resolver(&server).mx("bücher.example")).unwrap();
    assert_eq!(got, mxs(&[(5, "mx.xn--bcher-kva.example")]));
}

#[test]
fn reverse_names_for_v4_v6_and_mapped_addresses() {
    assert_eq!(
        reverse_name("192.0.2.7".parse().unwrap()),
        "7.2.0.192.in-addr.arpa"
    );
    assert_eq!(
        reverse_name("::ffff:192.0.2.7".parse().unwrap()),
        "7.2.0.192.in-addr.arpa"
    );
    assert_eq!(
        reverse_name("2001:db8::567:89ab".parse().unwrap()),
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    );
}

#[test]
fn ptr_names_lowercase_deduplicated_cached_and_nxdomain() {
    let ptr = |owner: &str, target: &str| record(owner, 300, RData::PTR(PTR(name(target))));
    let server = Responder::start(zone(vec![
        ptr("7.2.0.192.in-addr.arpa.", "Mail.Corp.Example."),
        ptr("7.2.0.192.in-addr.arpa.", "mail.corp.example."),
        ptr("7.2.0.192.in-addr.arpa.", "alias.corp.example."),
        a("8.2.0.192.in-addr.arpa.", [192, 0, 2, 8]),
    ]));
    let resolver = resolver(&server);
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    for _ in 0..2 {
        let names = smol::block_on(resolver.ptr(ip)).unwrap();
        assert_eq!(names, ["mail.corp.example", "alias.corp.example"]);
    }
    assert_eq!(server.counts(), (1, 0));
    // A reverse name without PTR records: none; no reverse name: NXDOMAIN (permanent).
    assert!(
        smol::block_on(resolver.ptr("192.0.2.8".parse().unwrap()))
            .unwrap()
            .is_empty()
    );
    let err = smol::block_on(resolver.ptr("192.0.2.9".parse().unwrap())).unwrap_err();
    assert!(matches!(err, Error::NxDomain(_)), "{err}");
}

#[test]
fn resolver_and_its_futures_are_send() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}
    let dns = crate::config::Config::embedded().unwrap().dns;
    let resolver = Resolver::new(crate::app::resolver_config(&dns));
    assert_send_sync(&resolver);
    assert_send(resolver.mx("example.com"));
    assert_send(resolver.ips("example.com"));
    assert_send(resolver.ptr(IpAddr::V4(Ipv4Addr::LOCALHOST)));
}
