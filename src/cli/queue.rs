//! `sluice queue ...`: the command-line structs of the gateway's queue commands.

use std::path::PathBuf;

use argh::FromArgs;

use super::StoreArgs;

/// The delivery queue: pause or resume delivery, refuse or accept incoming mail on the gateway
/// listeners. The switches are kept in the store (they survive restarts) and take effect in the
/// running server within a second.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "queue")]
pub struct Queue {
    #[argh(subcommand)]
    pub command: QueueCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum QueueCommand {
    Pause(QueuePause),
    Resume(QueueResume),
    Reject(QueueReject),
    Accept(QueueAccept),
}

store_command!(
    /// Pause delivery: the queue keeps every message and delivers nothing until `queue resume`.
    #[argh(subcommand, name = "pause")]
    pub struct QueuePause {
        /// name recorded in the audit log (default: $USER)
        #[argh(option)]
        pub actor: Option<String>,
    }
);

store_command!(
    /// Resume delivery after `queue pause`.
    #[argh(subcommand, name = "resume")]
    pub struct QueueResume {
        /// name recorded in the audit log (default: $USER)
        #[argh(option)]
        pub actor: Option<String>,
    }
);

store_command!(
    /// Refuse incoming mail: gateway listeners answer "421 4.3.2" at connect until `queue accept`
    /// (in-line listeners are not affected).
    #[argh(subcommand, name = "reject")]
    pub struct QueueReject {
        /// name recorded in the audit log (default: $USER)
        #[argh(option)]
        pub actor: Option<String>,
    }
);

store_command!(
    /// Accept incoming mail again after `queue reject`.
    #[argh(subcommand, name = "accept")]
    pub struct QueueAccept {
        /// name recorded in the audit log (default: $USER)
        #[argh(option)]
        pub actor: Option<String>,
    }
);
