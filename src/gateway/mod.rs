//! The store-and-forward gateway mode (issue 14): what decides where a message accepted on a
//! gateway listener goes. Started with the routing list (`router`, pure); the listeners, relay
//! control, custody and inspection queues follow (see the plan in the notes).

pub mod router;
