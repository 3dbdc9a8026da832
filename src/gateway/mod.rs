//! The store-and-forward gateway mode (issue 14): what a gateway listener does with a message.
//! `router` (pure) says where a domain's mail goes; `gate` checks clients, senders and recipients
//! at SMTP time; `intake` takes custody at the end of DATA (the 250 follows a synced store
//! write) and inspects inline for up to `gateway.inline_verdict`; `settle` carries a verdict out
//! on the message in custody; `inspect` is the worker that inspects what was not settled inline.
//! Delivery by route follows.

pub mod callout;
pub mod clients;
pub mod control;
pub mod gate;
pub mod rate;
pub mod router;
pub mod verify;

pub mod inspect;
pub mod intake;
pub mod settle;

/// A gateway listener's part of its session set: its view of the configuration's one gate
/// state (`gate::Shelf`) and the custody settings.
pub struct Context {
    pub gate: gate::Gate,
    /// Custody and inspection settings (`intake`, `settle`, `inspect`).
    pub custody: intake::Settings,
}

impl Context {
    pub fn new(config: &crate::config::Config, gate: gate::Gate) -> Context {
        Context {
            gate,
            custody: intake::Settings::new(config),
        }
    }
}
