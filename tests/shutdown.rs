//! Shutdown waits for the app's background work: an alert to the administrators that is being
//! sent when SIGTERM arrives is finished before the process exits (it used to run detached on
//! smol's global executor and died with the process).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use support::client::{Client, message};
use support::sluice::{Sluice, forward_config};

const WAIT: Duration = Duration::from_secs(20);

/// A next hop that answers at once, except the end of a message: that reply waits until the test
/// sends on `release`. `got` hears of each message when its last line has arrived.
fn slow_hop() -> (SocketAddr, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (got_tx, got_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = std::sync::Arc::new(std::sync::Mutex::new(release_rx));
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            let (got, release) = (got_tx.clone(), release_rx.clone());
            std::thread::spawn(move || {
                let _ = converse(tcp, &got, &release);
            });
        }
    });
    (addr, got_rx, release_tx)
}

fn converse(
    tcp: TcpStream,
    got: &mpsc::Sender<()>,
    release: &std::sync::Mutex<mpsc::Receiver<()>>,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(WAIT * 3))?;
    let mut out = tcp.try_clone()?;
    let mut lines = BufReader::new(tcp);
    out.write_all(b"220 hop ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "DATA" => {
                out.write_all(b"354 go ahead\r\n")?;
                loop {
                    line.clear();
                    if lines.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                }
                let _ = got.send(());
                let _ = release.lock().unwrap().recv_timeout(WAIT * 2);
                out.write_all(b"250 2.0.0 queued\r\n")?;
            }
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"250 OK\r\n")?,
        }
    }
}

#[test]
fn an_alert_being_sent_at_sigterm_is_sent_before_the_process_exits() {
    let (hop, got, release) = slow_hop();
    let data = tempfile::tempdir().unwrap();
    // The marker of a store whose data file is gone: the store is refused, so holding fails and
    // the administrators are alerted.
    std::fs::create_dir_all(data.path().join("store")).unwrap();
    std::fs::write(data.path().join("store").join("store.marker"), b"").unwrap();
    let extra = "[notifications]\nadmin = [\"secops@corp.example\"]\n\
                 [[policy]]\nid = 300\nname = \"Project Falcon\"\nseverity = \"high\"\n\
                 action = \"quarantine\"\nkeywords = [\"falcon\"]\n";
    let mut sluice = Sluice::start_with_data(&forward_config(&[hop], extra), data.path());
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("plans", "falcon"),
    );
    assert_eq!(r.code, 451, "{r}");
    c.quit();
    // The alert's message has reached the next hop, which holds back its reply.
    got.recv_timeout(WAIT)
        .expect("the alert reached the next hop");
    sluice.signal_term();
    assert!(sluice.wait_log("shutting down", WAIT));
    release.send(()).unwrap();
    let status = sluice.wait_exit(WAIT * 2).expect("the process exits");
    assert!(status.success(), "{status:?}");
    assert!(sluice.wait_log("app: stopped", WAIT));
    let logs = sluice.logs();
    let at = |needle: &str| logs.iter().position(|l| l.contains(needle));
    let sent = at("alert sent to the administrators");
    let stopped = at("app: stopped");
    assert!(
        sent.is_some() && sent < stopped,
        "the alert was not finished before the process stopped:\n{}",
        logs.join("\n")
    );
}
