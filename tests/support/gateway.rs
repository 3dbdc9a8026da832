//! The configuration of a gateway listener for the `tests/gateway_*.rs` files: one listener in
//! gateway mode whose `[relay]` forwards to a hop (every second retried), the queue retrying every
//! second, the given `[gateway]` keys, and (with [`gateway_config`]) `corp.example` as the local
//! domain routed to the same hop.
#![allow(dead_code)]

use std::net::SocketAddr;

/// A gateway listener over `hop` with these `[gateway]` keys and `extra` top-level tables (its
/// `[[route]]` tables among them): no route of its own.
pub fn gateway_listener(hop: SocketAddr, gateway_keys: &str, extra: &str) -> String {
    super::sluice::config(
        "mode = \"gateway\"",
        &format!("mode = \"forward\"\nhosts = [\"{hop}\"]\ndead_host_retry = \"1s\""),
        &format!(
            "[queue]\nretry = [\"1s\"]\nlease = \"5s\"\n\n[gateway]\n{gateway_keys}\n\n{extra}"
        ),
    )
}

/// [`gateway_listener`] with `corp.example` local, routed to `hop`.
pub fn gateway_config(hop: SocketAddr, gateway_keys: &str, extra: &str) -> String {
    gateway_listener(
        hop,
        gateway_keys,
        &format!("[[route]]\ndomain = \"corp.example\"\ndestination = \"{hop}\"\n\n{extra}"),
    )
}
