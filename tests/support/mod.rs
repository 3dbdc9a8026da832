//! Shared helpers for integration tests.

pub mod admin;
pub mod browser;
pub mod client;
pub mod dns;
pub mod gateway;
pub mod gateway_queue;
pub mod hostile;
pub mod https;
pub mod mime;
pub mod postfix;
pub mod postfix_mta;
pub mod raw_smtp;
pub mod rsyslog;
pub mod siem_events;
pub mod sink;
pub mod sluice;
pub mod smime;
pub mod stopped;
pub mod syslog_parse;
pub mod witness;
