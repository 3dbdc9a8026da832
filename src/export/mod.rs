//! SIEM export: the only module that knows syslog, CEF, LEEF and the JSON (ECS) lines. The pure
//! formatters (`syslog`: RFC 5424, RFC 3164, RFC 6587 octet counting; `cef`: ArcSight CEF; `leef`:
//! IBM LEEF 1.0/2.0; `json`: ECS JSON lines), `render` (one catalogue event in a destination's
//! format, the subject mode, the UDP datagram cap) and `reference` (the generated EVENTS.md); the
//! destinations that drain the store's event outbox over UDP, TCP, TLS and the local socket come
//! with them (issue 12).

pub mod cef;
pub mod json;
pub mod leef;
pub mod reference;
pub mod render;
pub mod syslog;
