//! SIEM export: the only module that knows syslog, CEF and LEEF. Today the pure formatters
//! (`syslog`: RFC 5424, RFC 3164, RFC 6587 octet counting; `cef`: ArcSight CEF); the destinations that drain the
//! store's event outbox over UDP, TCP, TLS and the local socket come with them (issue 12).

pub mod cef;
pub mod destination;
pub mod render;
pub mod syslog;
pub mod test;
pub mod transport;
