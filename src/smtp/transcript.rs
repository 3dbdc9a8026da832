//! Replays a whole client byte stream through the sans-I/O server (line framing, state machine and DATA
//! receiver) with the next hop accepting everything. Used by the transcript tests, the fuzz target and its
//! corpus replay; it performs no I/O.

use super::command::LineReader;
use super::data::DataReceiver;
use super::server::{Protocol, Settings, Step};
use crate::message::Envelope;

/// Reply codes in order, the (envelope, message) pairs received, and whether the session was closed.
pub type Transcript = (Vec<u16>, Vec<(Envelope, Vec<u8>)>, bool);

/// Feeds `input` split at `cuts`, accepting MAIL/RCPT as a next hop would; returns the reply codes in
/// order (354 included), the envelopes and messages received, and whether the session closed.
pub fn run(settings: Settings, input: &[u8], cuts: &[usize]) -> Transcript {
    let max_line = settings.limits.max_line_length;
    let mut p = Protocol::new(settings, "192.0.2.1".into());
    let mut reader = LineReader::new();
    let mut codes = Vec::new();
    let mut messages = Vec::new();
    let mut data: Option<DataReceiver> = None;
    let mut bounds: Vec<usize> = cuts.iter().map(|c| (*c).min(input.len())).collect();
    bounds.push(input.len());
    bounds.sort();
    let mut pos = 0;
    for b in bounds {
        if b <= pos {
            continue;
        }
        let mut chunk = input[pos..b].to_vec();
        pos = b;
        loop {
            if let Some(mut rx) = data.take() {
                let used = rx.feed(&chunk);
                chunk.drain(..used);
                if rx.is_done() {
                    let env = p.take_envelope().unwrap_or_default();
                    match rx.finish() {
                        Ok(m) => {
                            messages.push((env, m));
                            codes.push(250);
                        }
                        Err(_) => codes.push(550),
                    }
                } else {
                    data = Some(rx);
                    break;
                }
            }
            reader.extend(&chunk);
            chunk.clear();
            let Some(line) = reader.next_line(max_line) else {
                break;
            };
            match p.on_line(line) {
                Step::Reply(r) => codes.push(r.code),
                Step::Close(r) => {
                    codes.push(r.code);
                    return (codes, messages, true);
                }
                Step::Mail { sender, params } => {
                    p.accept_mail(sender, params);
                    codes.push(250);
                }
                Step::Rcpt(r) => {
                    p.accept_rcpt(r);
                    codes.push(250);
                }
                Step::StartData => {
                    codes.push(354);
                    data = Some(p.data_receiver());
                    chunk = reader.take_rest();
                }
                Step::StartTls => {
                    // What follows on a real connection is a TLS handshake, which a plaintext
                    // transcript cannot model: the conversation ends here (pipelined plaintext after
                    // STARTTLS is discarded by the session either way).
                    codes.push(220);
                    return (codes, messages, true);
                }
            }
        }
    }
    (codes, messages, false)
}

/// Settings used by the fuzz target and its corpus replay: every extension, small limits.
pub fn fuzz_settings() -> Settings {
    Settings {
        hostname: super::HostName::localhost(),
        limits: super::Limits {
            max_message_size: 4096,
            max_recipients: 5,
            max_line_length: 512,
            max_data_line_length: 1000,
            max_errors: 50,
            max_junk_commands: 100,
        },
        extensions: super::Extensions::all(),
        bare_line_endings: super::BareLineEndings::Normalize,
        starttls: super::server::Starttls::Offer,
        tls_available: true,
    }
}

/// The fuzz entry point: the first two bytes choose chunk boundaries, the rest is the session. The
/// result must not depend on the chunking; a difference panics so the fuzzer reports it.
pub fn fuzz(data: &[u8]) {
    let (cuts, input) = match data {
        [a, b, rest @ ..] => (
            vec![usize::from(*a), usize::from(*a) + usize::from(*b)],
            rest,
        ),
        _ => (Vec::new(), data),
    };
    let whole = run(fuzz_settings(), input, &[]);
    let split = run(fuzz_settings(), input, &cuts);
    assert_eq!(whole, split, "chunking changed the conversation");
    let mut reject = fuzz_settings();
    reject.bare_line_endings = super::BareLineEndings::Reject;
    let _ = run(reject, input, &cuts);
}
