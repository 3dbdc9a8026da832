//! Starts Debian's rsyslogd (no root needed) on free loopback ports with UDP, plain TCP and TLS
//! (gtls stream driver, certificates made here with rcgen) inputs, each writing to two files of its
//! own: the raw message as received (`%rawmsg%`) and rsyslog's own parse of it (property replacer),
//! and stops and restarts it on the same ports (for outages).
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// How rsyslog's parse of a message is written, one line per message, fields separated by `\t`:
/// PRI, TIMESTAMP (RFC 3339), HOSTNAME, APP-NAME, PROCID, MSGID, STRUCTURED-DATA, MSG.
const PARSED_TEMPLATE: &str = "%pri%\\t%timereported:::date-rfc3339%\\t%hostname%\\t%app-name%\\t%procid%\\t%msgid%\\t%structured-data%\\t%msg%\\n";

/// The tag of the harness's own readiness probes (left out of every line returned).
const PROBE: &str = "rsyslog-harness-probe";

/// An input's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
    /// TCP with the gtls stream driver (TLS, anonymous clients), the server certificate for
    /// `localhost` and 127.0.0.1 issued by the harness's CA.
    Tls,
}

/// One input: its name (names its files), transport and port.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub proto: Proto,
    pub addr: SocketAddr,
}

/// rsyslog's own parse of one message (its property replacer's values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub pri: String,
    pub timestamp: String,
    pub hostname: String,
    pub app_name: String,
    pub procid: String,
    pub msgid: String,
    pub structured_data: String,
    pub msg: String,
}

pub struct Rsyslog {
    pub dir: tempfile::TempDir,
    pub inputs: Vec<Input>,
    /// The CA that issued rsyslog's TLS certificate (PEM file), for `ca_file`.
    pub ca_file: PathBuf,
    child: Option<Child>,
}

/// A free loopback port for this transport (bound, then released for rsyslog to take).
fn free_addr(proto: Proto) -> SocketAddr {
    match proto {
        Proto::Udp => UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("free udp port"),
        Proto::Tcp | Proto::Tls => TcpListener::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("free tcp port"),
    }
}

/// A CA and a server certificate for `localhost` / 127.0.0.1 signed by it, written to `dir`:
/// `ca.pem`, `cert.pem`, `key.pem`.
pub fn make_certificates(dir: &Path) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Sluice test SIEM CA");
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).expect("ca certificate");
    let mut leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    leaf.subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().expect("server key");
    let cert = leaf.signed_by(&key, &ca).expect("server certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write ca.pem");
    std::fs::write(dir.join("cert.pem"), cert.pem()).expect("write cert.pem");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write key.pem");
}

impl Rsyslog {
    /// Whether rsyslogd (and its gtls driver) is installed.
    pub fn available() -> bool {
        Path::new(RSYSLOGD).exists()
            && Path::new("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so").exists()
    }

    /// Starts rsyslogd with these inputs (names must be unique; they name the files).
    pub fn start(inputs: &[(&str, Proto)]) -> Rsyslog {
        assert!(
            Rsyslog::available(),
            "rsyslog and rsyslog-gnutls are not installed (apt-get install rsyslog rsyslog-gnutls; .ci/test does)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("work")).expect("work dir");
        make_certificates(dir.path());
        let inputs = inputs
            .iter()
            .map(|(name, proto)| Input {
                name: name.to_string(),
                proto: *proto,
                addr: free_addr(*proto),
            })
            .collect();
        let mut r = Rsyslog {
            ca_file: dir.path().join("ca.pem"),
            dir,
            inputs,
            child: None,
        };
        std::fs::write(r.dir.path().join("rsyslog.conf"), r.config()).expect("write config");
        r.spawn();
        r
    }

    fn config(&self) -> String {
        let d = self.dir.path().display();
        let mut c = format!(
            "global(workDirectory=\"{d}/work\" net.enableDNS=\"off\" maxMessageSize=\"64k\"\n  \
             parser.escapeControlCharactersOnReceive=\"on\" parser.escapeControlCharacterTab=\"off\"\n  \
             defaultNetstreamDriverCAFile=\"{d}/ca.pem\" defaultNetstreamDriverCertFile=\"{d}/cert.pem\"\n  \
             defaultNetstreamDriverKeyFile=\"{d}/key.pem\")\n\
             module(load=\"imudp\")\nmodule(load=\"imtcp\" maxSessions=\"200\")\n\
             template(name=\"parsed\" type=\"string\" string=\"{PARSED_TEMPLATE}\")\n\
             template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n"
        );
        for i in &self.inputs {
            let (name, port) = (&i.name, i.addr.port());
            c.push_str(&format!(
                "ruleset(name=\"{name}\") {{\n  action(type=\"omfile\" file=\"{d}/{name}.raw\" template=\"raw\")\n  \
                 action(type=\"omfile\" file=\"{d}/{name}.parsed\" template=\"parsed\")\n}}\n"
            ));
            let input = match i.proto {
                Proto::Udp => format!("type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\""),
                Proto::Tcp => format!("type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\""),
                Proto::Tls => format!(
                    "type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" streamDriver.name=\"gtls\" \
                     streamDriver.mode=\"1\" streamDriver.authMode=\"anon\""
                ),
            };
            c.push_str(&format!("input({input} ruleset=\"{name}\")\n"));
        }
        // rsyslog's own messages (start, errors), for diagnosing a failed test.
        c.push_str(&format!(
            "*.* action(type=\"omfile\" file=\"{d}/internal.log\")\n"
        ));
        c
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let _ = std::fs::remove_file(d.join("rsyslogd.pid"));
        let child = Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(d.join("rsyslog.conf"))
            .arg("-i")
            .arg(d.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::File::create(d.join("stdout.log")).expect("stdout log"),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(d.join("stderr.log")).expect("stderr log"),
            ))
            .spawn()
            .expect("spawn rsyslogd");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until every TCP input accepts connections and every UDP input has written a probe.
    fn wait_ready(&mut self) {
        let end = Instant::now() + Duration::from_secs(20);
        for i in self.inputs.clone() {
            loop {
                if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                    panic!("rsyslogd exited ({status}): {}", self.diagnostics());
                }
                let ready = match i.proto {
                    Proto::Tcp | Proto::Tls => {
                        TcpStream::connect_timeout(&i.addr, Duration::from_millis(200)).is_ok()
                    }
                    Proto::Udp => {
                        let s = UdpSocket::bind("127.0.0.1:0").expect("udp probe socket");
                        let _ =
                            s.send_to(format!("<14>1 - - {PROBE} - - - ready").as_bytes(), i.addr);
                        std::thread::sleep(Duration::from_millis(50));
                        std::fs::read_to_string(self.dir.path().join(format!("{}.raw", i.name)))
                            .is_ok_and(|t| t.contains(PROBE))
                    }
                };
                if ready {
                    break;
                }
                assert!(
                    Instant::now() < end,
                    "rsyslogd input {} did not come up: {}",
                    i.name,
                    self.diagnostics()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// rsyslog's config, stderr and internal log (for failure messages).
    pub fn diagnostics(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        format!(
            "\n--- config\n{}\n--- stderr\n{}\n--- internal.log\n{}",
            read("rsyslog.conf"),
            read("stderr.log"),
            read("internal.log")
        )
    }

    pub fn input(&self, name: &str) -> &Input {
        self.inputs
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no rsyslog input {name:?}"))
    }

    /// The address of the input named `name`.
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.input(name).addr
    }

    /// Stops rsyslogd (SIGTERM, then waits; it closes its listeners and flushes its files).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts rsyslogd again with the same config, ports and files (appending to them).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    fn read_lines(&self, name: &str, suffix: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.{suffix}")))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains(PROBE))
            .map(str::to_string)
            .collect()
    }

    /// The messages the input received as they arrived (`%rawmsg%`, framing removed), one a line.
    pub fn raw(&self, name: &str) -> Vec<String> {
        self.read_lines(name, "raw")
    }

    /// rsyslog's own parse of each message the input received.
    pub fn parsed(&self, name: &str) -> Vec<Parsed> {
        self.read_lines(name, "parsed")
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.splitn(8, '\t').collect();
                assert_eq!(f.len(), 8, "rsyslog parsed line: {l:?}");
                Parsed {
                    pri: f[0].into(),
                    timestamp: f[1].into(),
                    hostname: f[2].into(),
                    app_name: f[3].into(),
                    procid: f[4].into(),
                    msgid: f[5].into(),
                    structured_data: f[6].into(),
                    msg: f[7].into(),
                }
            })
            .collect()
    }

    /// Polls the input's raw file until `done` holds for its lines, or `timeout` passes; returns
    /// the lines either way.
    pub fn wait_raw(
        &self,
        name: &str,
        timeout: Duration,
        done: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        let end = Instant::now() + timeout;
        loop {
            let lines = self.raw(name);
            if done(&lines) || Instant::now() > end {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Sends one message to an input as a plain client would: a datagram, or an octet-counted frame
/// (RFC 6587) over TCP. (TLS inputs are exercised by Sluice itself.)
pub fn send_plain(input: &Input, message: &str) {
    use std::io::Write;
    match input.proto {
        Proto::Udp => {
            let s = UdpSocket::bind("127.0.0.1:0").expect("udp socket");
            s.send_to(message.as_bytes(), input.addr)
                .expect("send datagram");
        }
        Proto::Tcp => {
            let mut s = TcpStream::connect(input.addr).expect("connect");
            write!(s, "{} {message}", message.len()).expect("write frame");
        }
        Proto::Tls => panic!("send_plain: TLS input"),
    }
}
