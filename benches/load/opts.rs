//! The command line of `benches/load.rs`: its options, their defaults and the usage text.

use std::path::PathBuf;

pub const USAGE: &str = "cargo bench --bench load -- [options]

  --sessions N          concurrent SMTP sessions of the load generator (default 20)
  --messages N          messages per throughput run (default 5000)
  --size BYTES          message size, headers included (default 10240)
  --rounds N            alternating direct/Sluice throughput rounds; medians reported (default 3)
  --rate N              paced run: messages per second (default 500)
  --paced-secs S        paced run: duration in seconds (default 5)
  --idle N              idle sessions held open against Sluice for the memory reading (default 1000)
  --postfix-messages N  messages for the Postfix-relay run (default: --messages)
  --action A            policy action: block or modify (default block; the load never matches);
                        none: Sluice without any policy (diagnostics only, not the target setup)
  --data-ahead MODE     relay.data_ahead for Sluice: auto (default; with a block or other enforcing
                        policy DATA is not sent ahead), always (DATA sent ahead, as before issue 10), never.
                        Compare `--action block` (auto: off) with `--action block --data-ahead always`
                        (on) and `--action modify` (auto: on) for the cost of the extra round trip
  --charset NAME        charset parameter of the generated text/plain message (default us-ascii)
  --policies FILE       run Sluice with this policy set instead of the keyword policy (full detection:
                        assets/policies/default.toml)
  --attachments         multipart messages: a text body, a .docx and a .zip holding a .txt (base64),
                        --size bytes in all
  --sluice PATH         the sluice binary (default: the one cargo built for this bench, target/x86_64-unknown-linux-gnu/release/sluice)
  --log LEVEL           SLUICE_LOG for the Sluice process (default info: one line per relayed message)
  --burst N             sessions of the large-message burst, one message each (default 16)
  --burst-size BYTES    size of each burst message (default 44000000)
  --hold S              keep Sluice running S seconds after the throughput rounds under a steady load
                        (for `perf record -p PID`; default 0)
  --no-postfix --no-smtp-source --no-paced --no-idle --no-tcp-floor --no-burst   skip a part
";

#[derive(Debug, Clone)]
pub struct Opts {
    pub sessions: usize,
    pub messages: usize,
    pub size: usize,
    pub rounds: usize,
    pub rate: f64,
    pub paced_secs: f64,
    pub idle: usize,
    pub postfix_messages: Option<usize>,
    pub action: String,
    pub data_ahead: String,
    pub charset: String,
    pub policies: Option<PathBuf>,
    pub attachments: bool,
    pub sluice: PathBuf,
    pub log: String,
    pub hold: f64,
    pub postfix: bool,
    pub smtp_source: bool,
    pub paced: bool,
    pub idle_on: bool,
    pub tcp_floor: bool,
    pub burst: usize,
    pub burst_size: usize,
}

pub fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        sessions: 20,
        messages: 5000,
        size: 10240,
        rounds: 3,
        rate: 500.0,
        paced_secs: 5.0,
        idle: 1000,
        postfix_messages: None,
        action: "block".into(),
        data_ahead: "auto".into(),
        policies: None,
        attachments: false,
        charset: "us-ascii".into(),
        sluice: PathBuf::from(env!("CARGO_BIN_EXE_sluice")),
        log: "info".into(),
        hold: 0.0,
        postfix: true,
        smtp_source: true,
        paced: true,
        idle_on: true,
        tcp_floor: true,
        burst: 16,
        burst_size: 44_000_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse().map_err(|_| format!("{name}: not a number: {v}"))
        }
        match a.as_str() {
            "--bench" => {} // added by `cargo bench`
            "--sessions" => o.sessions = num("--sessions", val("--sessions")?)?,
            "--messages" => o.messages = num("--messages", val("--messages")?)?,
            "--size" => o.size = num("--size", val("--size")?)?,
            "--rounds" => o.rounds = num("--rounds", val("--rounds")?)?,
            "--rate" => o.rate = num("--rate", val("--rate")?)?,
            "--paced-secs" => o.paced_secs = num("--paced-secs", val("--paced-secs")?)?,
            "--idle" => o.idle = num("--idle", val("--idle")?)?,
            "--postfix-messages" => {
                o.postfix_messages = Some(num("--postfix-messages", val("--postfix-messages")?)?)
            }
            "--action" => o.action = val("--action")?,
            "--data-ahead" => o.data_ahead = val("--data-ahead")?,
            "--charset" => o.charset = val("--charset")?,
            "--policies" => o.policies = Some(PathBuf::from(val("--policies")?)),
            "--attachments" => o.attachments = true,
            "--sluice" => o.sluice = PathBuf::from(val("--sluice")?),
            "--log" => o.log = val("--log")?,
            "--hold" => o.hold = num("--hold", val("--hold")?)?,
            "--no-postfix" => o.postfix = false,
            "--no-smtp-source" => o.smtp_source = false,
            "--no-paced" => o.paced = false,
            "--no-idle" => o.idle_on = false,
            "--burst" => o.burst = num("--burst", val("--burst")?)?,
            "--burst-size" => o.burst_size = num("--burst-size", val("--burst-size")?)?,
            "--no-burst" => o.burst = 0,
            "--no-tcp-floor" => o.tcp_floor = false,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    if o.sessions == 0 || o.messages == 0 || o.rounds == 0 || o.size < 400 {
        return Err("--sessions, --messages and --rounds must be > 0 and --size >= 400".into());
    }
    if !matches!(o.action.as_str(), "block" | "modify" | "none") {
        return Err("--action is block, modify or none".into());
    }
    if !matches!(o.data_ahead.as_str(), "auto" | "always" | "never") {
        return Err("--data-ahead is auto, always or never".into());
    }
    Ok(o)
}
