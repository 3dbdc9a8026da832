//! What the queue page and API tests share: a store with one message in each stage (inspect,
//! hold, deliver, deferred) whose sender and subject are hostile, a body that must never show.

use std::sync::Arc;

use crate::store::Store;
use crate::store::intake::{self, Custody, IntakeId, Params, Rcpt};
use crate::store::records::{Direction, QueueId, QueueKind, Queued};

pub(crate) use super::super::fixture::{CSRF, NOW, SCRIPT, assert_inert, call, service, text};

/// Text of every body: no page or answer may carry it.
pub(crate) const BODY: &str = "THE-PRIVATE-BODY-7c1e";
pub(crate) const EVIL_SENDER: &str = "<script>alert(1)</script>@evil.example";

pub(crate) fn content() -> Vec<u8> {
    format!(
        "From: <alice@partner.example>\r\nTo: <bob@corp.example>\r\nSubject: {SCRIPT}\r\n\r\n{BODY}\r\n"
    )
    .into_bytes()
}

/// The ids of the four entries.
pub(crate) struct Filled {
    pub inspect: IntakeId,
    pub hold: IntakeId,
    pub deliver: QueueId,
    pub deferred: QueueId,
}

fn custody(at: u64, sender: &str, body: &[u8]) -> Custody {
    let mut c = crate::store::intake::tests::custody(at, body);
    c.sender = sender.into();
    c.params = Params::default();
    c.recipients = vec![Rcpt {
        address: "bob@corp.example".into(),
        notify: Default::default(),
        orcpt: None,
    }];
    c
}

fn gateway(store: &Store, at: u64, attempts: u32) -> QueueId {
    let kind = QueueKind::Gateway {
        guid: format!("GUID-{at}"),
        direction: Direction::Inbound,
        listener: "mx".into(),
        received: Some(at),
    };
    let mut q = Queued::own(kind, &["bob@corp.example".into()], "", at, 5 * 86_400);
    q.sender = EVIL_SENDER.into();
    q.attempts = attempts;
    if attempts > 0 {
        q.next_attempt = NOW + 300;
        q.recipients[0].last_reply = Some("451 4.3.0 <b>try later</b>".into());
    }
    let body = content();
    store
        .write_blocking(move |txn| crate::store::queue::insert(txn, q, &body))
        .expect("queued")
}

/// One message in each stage.
pub(crate) fn fill(store: &Store) -> Filled {
    let take = |at: u64| {
        let body = content();
        let c = custody(at, EVIL_SENDER, &body);
        smol::block_on(intake::take(store, c, Arc::new(body), false, 60))
            .expect("custody")
            .id()
    };
    let inspect = take(NOW - 600);
    let hold = take(NOW - 500);
    store
        .write_blocking(move |txn| intake::hold(txn, hold, "inspection crashed 3 times"))
        .expect("held");
    Filled {
        inspect,
        hold,
        deliver: gateway(store, NOW - 400, 0),
        deferred: gateway(store, NOW - 300, 1),
    }
}
