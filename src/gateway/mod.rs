//! The store-and-forward gateway mode (issue 14): what a gateway listener does with a message.
//! `router` (pure) says where a domain's mail goes; `gate` checks clients, senders and recipients
//! at SMTP time; custody (the durable queue's 250), inspection from the queue and delivery by
//! route follow.

pub mod callout;
pub mod clients;
pub mod control;
pub mod gate;
pub mod rate;
pub mod router;
pub mod verify;

/// What the gateway listeners of one configuration set share (built with the session set).
pub struct Context {
    pub gate: gate::Gate,
}

impl Context {
    pub fn new(config: &crate::config::Config, resolver: crate::dns::Resolver) -> Context {
        Context {
            gate: gate::Gate::new(config, resolver),
        }
    }
}
