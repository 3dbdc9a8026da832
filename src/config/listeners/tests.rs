//! `[listener]` and `[[listener]]`: the single form, fallbacks, and each mistake at its place.

use super::super::Config;
use super::*;

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, "t.toml").map_err(|e| e.to_string())
}

fn err(text: &str) -> String {
    parse(text).unwrap_err()
}

const TWO: &str = "[[listener]]\nname = \"in\"\nmode = \"gateway\"\naddress = \"127.0.0.1:2525\"\n\
    allowed_clients = [\"0.0.0.0/0\"]\nmax_sessions = 5\nstarttls = \"require\"\n\
    cert_file = \"/a.pem\"\nkey_file = \"/a.key\"\nshutdown_grace = \"7s\"\n\n\
    [[listener]]\nname = \"out\"\naddress = \"127.0.0.1:2526\"\nmax_message_size = 2048\n";

#[test]
fn the_single_table_is_one_listener() {
    let c = parse("[listener]\nmax_sessions = 9\nstarttls = \"off\"\n").unwrap();
    assert_eq!(c.listeners.len(), 1);
    let l = &c.listeners[0];
    assert_eq!((l.name.as_str(), l.max_sessions), ("smtp", 9));
    assert_eq!(l.starttls, Starttls::Off);
    assert_eq!(l.cert_and_key, None);
    assert_eq!(c.listener.max_sessions, 9);
    let c = parse("").unwrap();
    assert_eq!(c.listeners.len(), 1);
    assert_eq!(c.listeners[0].address, c.listener.address);
    assert_eq!(c.listeners[0].starttls, Starttls::Offer);
}

#[test]
fn tables_take_their_own_keys_and_the_embedded_defaults_for_the_rest() {
    let c = parse(TWO).unwrap();
    let def = Config::embedded().unwrap().listener;
    let [a, b] = &c.listeners[..] else {
        panic!("{:?}", c.listeners)
    };
    assert_eq!((a.name.as_str(), a.mode), ("in", ListenerMode::Gateway));
    assert_eq!(a.max_sessions, 5);
    assert_eq!(a.starttls, Starttls::Require);
    assert_eq!(
        a.cert_and_key,
        Some((PathBuf::from("/a.pem"), PathBuf::from("/a.key")))
    );
    assert_eq!(b.name, "out");
    assert_eq!(b.mode, ListenerMode::Inline);
    assert_eq!(b.limits.max_message_size, 2048);
    // Not given in the second table: the embedded defaults, not the first table's values.
    assert_eq!(b.max_sessions, def.max_sessions);
    assert_eq!(b.allowed_clients, def.allowed_clients);
    assert_eq!(b.starttls, Starttls::Offer);
    assert_eq!(b.cert_and_key, None);
    // Process-wide keys: the first table's, everywhere.
    assert_eq!(a.shutdown_grace, Duration::from_secs(7));
    assert_eq!(b.shutdown_grace, Duration::from_secs(7));
    assert_eq!(c.listener.name, "in");
}

#[test]
fn port_zero_may_repeat() {
    let text = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:0\"\n[[listener]]\nname = \"b\"\naddress = \"127.0.0.1:0\"\n";
    assert_eq!(parse(text).unwrap().listeners.len(), 2);
}

#[test]
fn mistakes_are_reported_at_their_place() {
    let dup_name = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\n[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:2\"\n";
    let e = err(dup_name);
    assert!(e.starts_with("t.toml:5:8:"), "{e}");
    assert!(e.contains("used twice"), "{e}");
    let dup_addr = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\n[[listener]]\nname = \"b\"\naddress = \"127.0.0.1:1\"\n";
    let e = err(dup_addr);
    assert!(e.starts_with("t.toml:6:11:"), "{e}");
    assert!(e.contains("already listener \"a\""), "{e}");
    let bad_name = "[[listener]]\nname = \"In Bound\"\naddress = \"127.0.0.1:1\"\n";
    let e = err(bad_name);
    assert!(e.starts_with("t.toml:2:8:"), "{e}");
    assert!(e.contains("not a listener name"), "{e}");
    let bad_addr = "[[listener]]\nname = \"a\"\naddress = \"localhost\"\n";
    let e = err(bad_addr);
    assert!(e.starts_with("t.toml:3:11:"), "{e}");
    let no_name = "[[listener]]\naddress = \"127.0.0.1:1\"\n";
    let e = err(no_name);
    assert!(
        e.starts_with("t.toml:1:") && e.contains("needs a `name`"),
        "{e}"
    );
    let no_addr = "[[listener]]\nname = \"a\"\n";
    assert!(err(no_addr).contains("needs an `address`"));
    let wide = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\n[[listener]]\nname = \"b\"\naddress = \"127.0.0.1:2\"\nspool_threshold = 100000\n";
    let e = err(wide);
    assert!(e.starts_with("t.toml:7:19:"), "{e}");
    assert!(e.contains("process-wide"), "{e}");
    let unknown = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\nmax_session = 3\n";
    let e = err(unknown);
    assert!(e.starts_with("t.toml:4:1:"), "{e}");
    let starttls = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\nstarttls = \"must\"\n";
    let e = err(starttls);
    assert!(e.starts_with("t.toml:4:12:"), "{e}");
    let half = "[listener]\ncert_file = \"/a.pem\"\n";
    let e = err(half);
    assert!(
        e.starts_with("t.toml:2:13:") && e.contains("listener.key_file"),
        "{e}"
    );
    let require = "[listener]\nstarttls = \"require\"\nextensions = [\"SIZE\"]\n";
    assert!(err(require).contains("needs STARTTLS"));
    let big = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\nmax_bytes_in_flight = 100000\nmax_message_size = 100000\n[[listener]]\nname = \"b\"\naddress = \"127.0.0.1:2\"\nmax_message_size = 200000\n";
    let e = err(big);
    assert!(e.starts_with("t.toml:9:20:"), "{e}");
}
