//! Tests of a destination's drain loop and the exporter: the cursor moves only after a write, filters,
//! restarts, reloads, datagram transports and the down event.

use super::*;
use crate::config::Config;
use crate::events::Category;
use smol::io::AsyncReadExt;
use smol::net::TcpListener;

/// A renderer that needs nothing of the formats: `SEQ NAME`.
fn plain(e: &Event, _: &Style) -> String {
    format!("{} {}", e.seq, e.kind.name())
}

fn settings(port: u16, extra: &str) -> Siem {
    let text = format!(
        "[[siem]]\nname = \"t\"\nformat = \"rfc5424\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{port}\"\nbackoff_min = \"10ms\"\nbackoff_max = \"20ms\"\n{extra}"
    );
    Config::parse(&text, "t.toml").unwrap().siem.remove(0)
}

fn drain(store: &Store, s: Siem) -> Drain<Store> {
    let dest = Destination::load(&s).unwrap();
    let style = style(&s, "host.example", [0; 32]);
    Drain::new(
        dest,
        style,
        plain,
        Arc::new(store.clone()),
        Arc::new(Clock::fixed(1_000)),
    )
}

fn append(store: &Store, kinds: &[Kind]) {
    for &k in kinds {
        smol::block_on(store.write(move |t| store::events::append(t, 1_000, k, Fields::new())))
            .unwrap();
    }
}

/// A port nothing listens on (bound, then closed).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads octet-counted frames until `n` have come.
async fn frames(s: &mut smol::net::TcpStream, n: usize) -> Vec<String> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while out.len() < n {
        let mut chunk = [0u8; 4096];
        let got = s.read(&mut chunk).await.unwrap();
        assert!(got > 0, "connection closed after {out:?}");
        buf.extend_from_slice(&chunk[..got]);
        while let Some(sp) = buf.iter().position(|&b| b == b' ') {
            let len: usize = std::str::from_utf8(&buf[..sp]).unwrap().parse().unwrap();
            if buf.len() < sp + 1 + len {
                break;
            }
            out.push(String::from_utf8(buf[sp + 1..sp + 1 + len].to_vec()).unwrap());
            buf.drain(..sp + 1 + len);
        }
    }
    out
}

fn cursor(store: &Store) -> Option<u64> {
    store.read(|t| store::events::cursor(t, "t")).unwrap()
}

#[test]
fn the_cursor_moves_only_after_a_successful_write() {
    smol::block_on(async {
        let store = Store::memory().unwrap();
        append(
            &store,
            &[
                Kind::MessageRelayed,
                Kind::PolicyViolation,
                Kind::QueueDelivered,
            ],
        );
        let port = free_port();
        let mut d = drain(&store, settings(port, "start = \"oldest\""));
        let err = d.round().await.unwrap_err();
        assert!(matches!(err, Failure::Wire(_)), "{err}");
        assert_eq!(
            cursor(&store),
            Some(0),
            "nothing was written, nothing acknowledged"
        );

        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let round = d.round().await.unwrap();
        assert_eq!(
            round,
            Round::Moved {
                read: 3,
                sent: 3,
                bytes: 3
                    + 3 * 2
                    + "1 message.relayed2 policy.violation3 queue.delivered".len() as u64
            }
        );
        assert_eq!(cursor(&store), Some(3));
        let (mut s, _) = listener.accept().await.unwrap();
        assert_eq!(
            frames(&mut s, 3).await,
            [
                "1 message.relayed",
                "2 policy.violation",
                "3 queue.delivered"
            ]
        );
        assert_eq!(d.round().await.unwrap(), Round::Idle);
    });
}

#[test]
fn filtered_events_are_skipped_but_passed() {
    smol::block_on(async {
        let store = Store::memory().unwrap();
        append(
            &store,
            &[
                Kind::MessageRelayed,  // message, 1
                Kind::PolicyViolation, // policy, 6
                Kind::IncidentNoted,   // policy, 1
                Kind::SystemStoreFull, // system, 9
                Kind::MessageBlocked,  // message, 6
            ],
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let s = settings(
            port,
            "start = \"oldest\"\nmin_severity = 5\ncategories = [\"policy\", \"system\"]",
        );
        assert_eq!(s.categories, [Category::Policy, Category::System]);
        let mut d = drain(&store, s);
        let round = d.round().await.unwrap();
        assert!(
            matches!(
                round,
                Round::Moved {
                    read: 5,
                    sent: 2,
                    ..
                }
            ),
            "{round:?}"
        );
        let (mut conn, _) = listener.accept().await.unwrap();
        assert_eq!(
            frames(&mut conn, 2).await,
            ["2 policy.violation", "4 system.store_full"]
        );
        assert_eq!(cursor(&store), Some(5));

        // A batch that the filter takes nothing of moves the cursor without a write.
        append(&store, &[Kind::MessageRelayed]);
        let round = d.round().await.unwrap();
        assert_eq!(
            round,
            Round::Moved {
                read: 1,
                sent: 0,
                bytes: 0
            }
        );
        assert_eq!(cursor(&store), Some(6));
    });
}

#[test]
fn a_restarted_destination_resumes_from_its_cursor_and_a_new_one_starts_at_the_head() {
    smol::block_on(async {
        let store = Store::memory().unwrap();
        append(&store, &[Kind::MessageRelayed, Kind::MessageBlocked]);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // start = "end" (the default): what the outbox held before is not sent.
        let mut d = drain(&store, settings(port, ""));
        assert_eq!(d.round().await.unwrap(), Round::Idle);
        assert_eq!(cursor(&store), Some(2));
        append(&store, &[Kind::QueueDelivered]);
        assert!(matches!(
            d.round().await.unwrap(),
            Round::Moved { sent: 1, .. }
        ));
        drop(d);
        let (mut first, _) = listener.accept().await.unwrap();
        assert_eq!(frames(&mut first, 1).await, ["3 queue.delivered"]);

        // A new loop for the same destination (a restart) goes on after event 3.
        append(&store, &[Kind::QueueBounced]);
        let mut again = drain(&store, settings(port, "start = \"oldest\""));
        assert!(matches!(
            again.round().await.unwrap(),
            Round::Moved { sent: 1, .. }
        ));
        let (mut second, _) = listener.accept().await.unwrap();
        assert_eq!(frames(&mut second, 1).await, ["4 queue.bounced"]);
    });
}

#[test]
fn a_receiver_that_closed_the_connection_gets_the_next_batch_on_a_new_one() {
    smol::block_on(async {
        let store = Store::memory().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut d = drain(&store, settings(port, ""));
        assert_eq!(d.round().await.unwrap(), Round::Idle);
        append(&store, &[Kind::MessageRelayed]);
        d.round().await.unwrap();
        let (mut first, _) = listener.accept().await.unwrap();
        assert_eq!(frames(&mut first, 1).await, ["1 message.relayed"]);
        drop(first);
        append(&store, &[Kind::MessageBlocked]);
        // Until the close is seen the round may fail once (and is retried); never lost.
        let mut tries = 0;
        while d.round().await.is_err() {
            tries += 1;
            assert!(tries < 3);
        }
        let (mut second, _) = listener.accept().await.unwrap();
        assert_eq!(frames(&mut second, 1).await, ["2 message.blocked"]);
        assert_eq!(cursor(&store), Some(2));
    });
}

#[test]
fn exporter_forgets_the_cursors_of_removed_destinations() {
    let ex = Arc::new(smol::Executor::new());
    let tasks = crate::task::Group::new(ex.clone());
    let store = Store::memory().unwrap();
    smol::block_on(store.write(|t| {
        store::events::set_cursor(t, "gone", 5)?;
        store::events::set_cursor(t, "t", 7)
    }))
    .unwrap();
    let shutdown = Arc::new(crate::shutdown::Shutdown::new());
    let exporter = Exporter::new(
        Arc::new(store.clone()),
        Arc::new(Clock::fixed(1)),
        tasks.clone(),
        shutdown.clone(),
        std::path::PathBuf::from("/nonexistent"),
    )
    .with_renderer(plain);
    let dest = Destination::load(&settings(free_port(), "")).unwrap();
    exporter.apply(vec![dest], "host.example");
    smol::block_on(ex.run(async {
        while store.read(store::events::cursors).unwrap().len() > 1 {
            smol::Timer::after(Duration::from_millis(5)).await;
        }
        shutdown.drain();
        tasks.join(Instant::now() + Duration::from_secs(5)).await
    }));
    assert_eq!(
        store.read(store::events::cursors).unwrap(),
        [("t".to_string(), 7)]
    );
}

fn datagram_settings(transport: &str, address: &str) -> Siem {
    let text = format!(
        "[[siem]]\nname = \"t\"\nformat = \"rfc5424\"\ntransport = \"{transport}\"\naddress = \"{address}\"\nstart = \"oldest\"\nudp_max = 480\n"
    );
    Config::parse(&text, "t.toml").unwrap().siem.remove(0)
}

#[test]
fn udp_and_the_local_socket_get_one_datagram_per_event() {
    smol::block_on(async {
        let store = Store::memory().unwrap();
        append(&store, &[Kind::MessageRelayed, Kind::MessageBlocked]);
        let udp = smol::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let at = udp.local_addr().unwrap();
        let mut d = drain(&store, datagram_settings("udp", &at.to_string()));
        assert!(matches!(
            d.round().await.unwrap(),
            Round::Moved { sent: 2, .. }
        ));
        let mut buf = [0u8; 2048];
        let n = udp.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"1 message.relayed");
        let n = udp.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"2 message.blocked");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let local = smol::net::unix::UnixDatagram::bind(&path).unwrap();
        let store = Store::memory().unwrap();
        append(&store, &[Kind::QueueDelivered]);
        let mut d = drain(&store, datagram_settings("local", path.to_str().unwrap()));
        assert!(matches!(
            d.round().await.unwrap(),
            Round::Moved { sent: 1, .. }
        ));
        let n = local.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"1 queue.delivered");
        assert_eq!(cursor(&store), Some(1));
    });
}

#[test]
fn a_reload_starts_new_destinations_and_stops_and_forgets_removed_ones() {
    let ex = Arc::new(smol::Executor::new());
    let tasks = crate::task::Group::new(ex.clone());
    let store = Store::memory().unwrap();
    let shutdown = Arc::new(crate::shutdown::Shutdown::new());
    let exporter = Exporter::new(
        Arc::new(store.clone()),
        Arc::new(Clock::fixed(1)),
        tasks.clone(),
        shutdown.clone(),
        std::path::PathBuf::from("/nonexistent"),
    )
    .with_renderer(plain);
    let port = free_port();
    let named = |name: &str| {
        let mut s = settings(port, "");
        s.name = name.to_string();
        Destination::load(&s).unwrap()
    };
    exporter.apply(vec![named("a"), named("b")], "host.example");
    assert_eq!(exporter.names(), ["a", "b"]);
    let wait_cursors = |n: usize| {
        let store = store.clone();
        async move {
            while store.read(store::events::cursors).unwrap().len() != n {
                smol::Timer::after(Duration::from_millis(5)).await;
            }
        }
    };
    // Both loops store their starting cursor.
    smol::block_on(ex.run(wait_cursors(2)));
    exporter.apply(vec![named("b"), named("c")], "host.example");
    assert_eq!(exporter.names(), ["b", "c"]);
    smol::block_on(ex.run(async {
        loop {
            let names: Vec<String> = store
                .read(store::events::cursors)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            if names == ["b", "c"] {
                break;
            }
            smol::Timer::after(Duration::from_millis(5)).await;
        }
        shutdown.drain();
        tasks.join(Instant::now() + Duration::from_secs(5)).await
    }));
}

#[test]
fn a_destination_that_stays_down_raises_one_siem_down_event() {
    let ex = Arc::new(smol::Executor::new());
    let store = Store::memory().unwrap();
    append(&store, &[Kind::MessageRelayed]);
    let d = drain(
        &store,
        settings(free_port(), "start = \"oldest\"\ndown_after = \"1ms\""),
    );
    let (stop_tx, stop) = smol::channel::bounded(1);
    let shutdown = Arc::new(crate::shutdown::Shutdown::new());
    let task = ex.spawn(d.run(stop, shutdown));
    let downs = || {
        store
            .read(|t| store::events::since(t, 0, 100))
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == Kind::SystemSiemDown)
            .collect::<Vec<_>>()
    };
    smol::block_on(ex.run(async {
        while downs().is_empty() {
            smol::Timer::after(Duration::from_millis(5)).await;
        }
        // Several more failed rounds (the backoff is 10-20ms) raise nothing more.
        smol::Timer::after(Duration::from_millis(150)).await;
        drop(stop_tx);
        task.await;
    }));
    let downs = downs();
    assert_eq!(downs.len(), 1, "{downs:?}");
    assert_eq!(downs[0].get(Field::Destination), Some("t"));
    assert!(
        downs[0]
            .get(Field::ErrorMessage)
            .is_some_and(|e| e.contains("cannot connect")),
        "{downs:?}"
    );
    assert_eq!(cursor(&store), Some(0), "nothing was delivered");
}
