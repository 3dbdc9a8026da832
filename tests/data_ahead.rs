//! How the next hop's transaction ends when a message is not relayed to its recipients (issue 10,
//! item 6), through the real binary in forward mode to a next hop that records how each of its
//! conversations ended (`support::witness`):
//! - `relay.data_ahead = "auto"` with policies that block, hold and redirect: DATA is not sent
//!   ahead, and each such transaction ends with RSET on the one connection, which carries on;
//! - `"always"`: DATA goes ahead; a blocked message still ends in order (the next hop's 354 read,
//!   then a close, never a reset), and the next message goes through;
//! - `"auto"` with only policies that cannot refuse or divert: DATA goes ahead.

mod support;

use std::time::Duration;

use support::client::{Client, message};
use support::sluice::{Sluice, config, hosts_relay};
use support::witness::{Conversation, End, Witness};

const FROM: &str = "sender@corp.example";
const TO: &str = "rcpt@partner.example";
const WAIT: Duration = Duration::from_secs(20);

const ENFORCING: &str = r#"
[[policy]]
id = 1
name = "Secret"
keywords = ["secret"]
action = "block"

[[policy]]
id = 2
name = "Hold"
keywords = ["holdme"]
action = "quarantine"

[[policy]]
id = 3
name = "Falcon"
keywords = ["falcon"]
action = "redirect"
redirect_to = "review@corp.example"
"#;

fn start(witness: &Witness, relay_extra: &str, policies: &str) -> Sluice {
    let relay = format!("{}\n{relay_extra}", hosts_relay(&[witness.addr]));
    Sluice::start(&config("", &relay, policies))
}

/// Stops Sluice (so pooled next-hop connections end too) and returns every conversation the next
/// hop had, once all have ended.
fn finish(mut sluice: Sluice, witness: &Witness) -> Vec<Conversation> {
    sluice.terminate();
    witness.wait_ended(WAIT)
}

fn count(c: &[Conversation], verb: &str) -> usize {
    c.iter()
        .flat_map(|c| &c.commands)
        .filter(|v| *v == verb)
        .count()
}

#[test]
fn blocked_held_and_redirected_messages_end_the_next_hop_transaction_with_rset() {
    let witness = Witness::start();
    let sluice = start(&witness, "", ENFORCING);
    sluice.wait_log(" listening", WAIT);
    let listening = sluice.log_line(" listening").unwrap_or_default();
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let clean = message("Lunch", "see you at noon");
    assert_eq!(c.send(FROM, &[TO], &clean).code, 250);
    let r = c.send(FROM, &[TO], &message("Plans", "the secret plan"));
    assert_eq!(r.code, 550, "{r}");
    let r = c.send(FROM, &[TO], &message("Hold", "holdme please"));
    assert_eq!(r.code, 250, "{r}");
    let r = c.send(FROM, &[TO], &message("Bird", "the falcon flies"));
    assert_eq!(r.code, 250, "{r}");
    assert_eq!(c.send(FROM, &[TO], &clean).code, 250);
    c.quit();

    let conversations = finish(sluice, &witness);
    let shown = format!("{conversations:#?}");
    // No aborted transaction and no reset: every conversation ended as SMTP intends.
    assert!(conversations.iter().all(|c| c.end.is_clean()), "{shown}");
    // All on one connection: the refusal, the hold and the redirect each ended with RSET.
    assert_eq!(conversations.len(), 1, "{shown}");
    assert_eq!(count(&conversations, "RSET"), 3, "{shown}");
    // DATA only for what was relayed: two clean messages and the redirected one.
    assert_eq!(count(&conversations, "DATA"), 3, "{shown}");
    let messages = witness.messages();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(
        messages[1].rcpts[0].contains("review@corp.example"),
        "{messages:#?}"
    );
    assert!(!messages.iter().any(|m| m.data.contains("secret")));
    assert!(!messages.iter().any(|m| m.data.contains("holdme")));
    assert!(listening.contains("data_ahead=false"), "{listening}");
}

#[test]
fn always_sends_data_ahead_and_still_ends_a_blocked_transaction_in_order() {
    let witness = Witness::start();
    let sluice = start(
        &witness,
        "data_ahead = \"always\"",
        &ENFORCING[..ENFORCING.find("[[policy]]\nid = 2").unwrap()],
    );
    assert!(
        sluice.wait_log("data_ahead=true", WAIT),
        "{:#?}",
        sluice.logs()
    );
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let clean = message("Lunch", "see you at noon");
    assert_eq!(c.send(FROM, &[TO], &clean).code, 250);
    let r = c.send(FROM, &[TO], &message("Plans", "the secret plan"));
    assert_eq!(r.code, 550, "{r}");
    assert_eq!(c.send(FROM, &[TO], &clean).code, 250);
    c.quit();

    let conversations = finish(sluice, &witness);
    let shown = format!("{conversations:#?}");
    assert_eq!(witness.messages().len(), 2, "{shown}");
    // After 354 only a close can end the transaction: an orderly one, never a reset.
    assert_eq!(conversations.len(), 2, "{shown}");
    assert_eq!(conversations[0].end, End::ClosedInData, "{shown}");
    assert!(conversations[1].end.is_clean(), "{shown}");
}

#[test]
fn auto_sends_data_ahead_when_no_policy_can_refuse_or_divert() {
    let witness = Witness::start();
    let policies = r#"
[[policy]]
id = 1
keywords = ["secret"]
action = "block"
mode = "monitor"

[[policy]]
id = 2
keywords = ["secret"]
action = "modify"
subject = { mode = "prepend", text = "[DLP] " }
"#;
    let sluice = start(&witness, "", policies);
    assert!(
        sluice.wait_log("data_ahead=true", WAIT),
        "{:#?}",
        sluice.logs()
    );
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(FROM, &[TO], &message("Plans", "the secret plan"));
    assert_eq!(r.code, 250, "{r}");
    c.quit();
    let conversations = finish(sluice, &witness);
    assert!(conversations.iter().all(|c| c.end.is_clean()));
    let messages = witness.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].data.contains("Subject: [DLP] Plans"),
        "{messages:#?}"
    );
}
