//! SIEM export: the only module that knows syslog, CEF, LEEF and the JSON (ECS) lines. The pure
//! formatters (`syslog`: RFC 5424, RFC 3164, RFC 6587 octet counting; `cef`: ArcSight CEF; `leef`:
//! IBM LEEF 1.0/2.0; `json`: ECS JSON lines), `render` (one catalogue event in a destination's
//! format, the subject mode, the UDP datagram cap) and `reference` (the generated EVENTS.md); and
//! the shell that sends them: `transport` (UDP, TCP and TLS with octet counting, the local socket),
//! `destination` (each `[[siem]]` destination's drain loop over the store's event outbox, from its
//! own cursor, at least once and in order; the `Exporter` the server runs) and `test`
//! (`sluice siem test`).

pub mod cef;
pub mod destination;
pub mod json;
pub mod leef;
pub mod reference;
pub mod render;
pub mod syslog;
pub mod test;
pub mod transport;
