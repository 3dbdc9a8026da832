//! Sluice: an email security gateway in one binary. This crate root only names the modules
//! (alphabetically).
//!
//! Data flow of a message: listener -> session -> smtp (sans-I/O protocol) -> message ->
//! decompose -> detect -> policy -> pipeline (decide) -> relay, or hold -> store -> delivery.
//! Administrators' operations on the store (CLI now, admin UI and API next) go through `service`.
//! `config` turns the TOML file into an immutable [`config::Config`]; `runtime` holds the set
//! built from it that a reload swaps (`control` is the local socket that asks for one); `app` wires
//! everything and owns shutdown. See ARCHITECTURE.md for the code map and the invariants.

// No unwrap or expect outside tests: a failure is an error value or a reply, never a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
pub mod app;
pub mod approval;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod config;
pub mod console;
pub mod control;
pub mod decompose;
pub mod delivery;
pub mod detect;
pub mod dns;
pub mod events;
pub mod export;
pub mod file;
pub mod gateway;
pub mod hold;
pub mod link;
pub mod listener;
pub mod memory;
pub mod message;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod output;
pub mod pipeline;
pub mod policy;
pub mod relay;
pub mod remediate;
pub mod report;
pub mod rewrite;
pub mod runtime;
pub mod scan;
pub mod scheduled;
pub mod secret;
pub mod service;
pub mod session;
pub mod shutdown;
pub mod smtp;
pub mod store;
pub mod task;
#[cfg(test)]
pub(crate) mod testing;
pub mod tls;
pub mod units;
