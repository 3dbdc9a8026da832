//! `sluice queue ...`: the command-line structs of the gateway's queue commands: the switches
//! (pause, resume, reject, accept) and the operations on queued messages (list, show, hold,
//! release, delete, retry, forward).

use std::path::PathBuf;

use argh::FromArgs;

use super::StoreArgs;

/// The gateway's queue. Messages are in one of four stages: inspect (accepted, in custody, waiting
/// for inspection), deliver (inspected, waiting for its first delivery attempt), deferred (tried
/// and waiting for the next attempt) and hold (a suspect message, or one an administrator put on
/// hold: neither inspected nor delivered until released). Ids: i<n> is a message in custody
/// (inspect, or hold as suspect), q<n> a delivery queue entry (deliver, deferred, or held); see
/// `sluice queue list`. Also the switches: pause or resume delivery, refuse or accept incoming
/// mail (kept in the store; the running server follows within a second). Exit codes: 0 all done,
/// 1 some message skipped or not found, 2 an error.
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
    List(QueueList),
    Show(QueueShow),
    Hold(QueueHold),
    Release(QueueRelease),
    Delete(QueueDelete),
    Retry(QueueRetry),
    Forward(QueueForward),
}

/// The filter flags of `queue list` and the bulk actions, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilterArgs {
    pub stage: Option<String>,
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub listener: Option<String>,
    pub direction: Option<String>,
    pub older_than: Option<String>,
    pub limit: Option<usize>,
}

/// The flags of an action on queued messages, as given (argh structs share fields, not a type).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueSelection {
    pub ids: Vec<String>,
    pub all_matching: bool,
    pub yes: bool,
    pub dry_run: bool,
    pub json: bool,
    pub actor: Option<String>,
    pub filter: QueueFilterArgs,
}

/// Declares a queue command with the store flags and the queue filter flags; `action` adds the
/// ids and the flags every action shares.
macro_rules! queue_command {
    (@filters $(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        store_command!(@store $(#[$m])* pub struct $name { $($body)* } {
            /// stage: inspect, deliver, deferred or hold
            #[argh(option)]
            pub stage: Option<String>,
            /// envelope sender: an address, or @domain
            #[argh(option)]
            pub sender: Option<String>,
            /// a recipient: an address, or @domain
            #[argh(option)]
            pub recipient: Option<String>,
            /// the gateway listener that accepted the message
            #[argh(option)]
            pub listener: Option<String>,
            /// inbound, outbound or internal
            #[argh(option)]
            pub direction: Option<String>,
            /// queued at least this long ago: 30m, 1h, 2d
            #[argh(option)]
            pub older_than: Option<String>,
            /// at most this many messages (list: 50 by default; --all-matching: all)
            #[argh(option)]
            pub limit: Option<usize>,
        });

        impl $name {
            /// The filter flags as given.
            pub fn queue_filter_args(&self) -> QueueFilterArgs {
                QueueFilterArgs {
                    stage: self.stage.clone(),
                    sender: self.sender.clone(),
                    recipient: self.recipient.clone(),
                    listener: self.listener.clone(),
                    direction: self.direction.clone(),
                    older_than: self.older_than.clone(),
                    limit: self.limit,
                }
            }
        }
    };
    (action $(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        queue_command!(@filters $(#[$m])* pub struct $name {
            /// message ids as `sluice queue list` shows them: i<n> (in custody) or q<n> (delivery
            /// queue entry)
            #[argh(positional)]
            pub ids: Vec<String>,
            /// act on every message the filter flags match (lists them first; needs --yes or a
            /// confirmation on a terminal)
            #[argh(switch)]
            pub all_matching: bool,
            /// with --all-matching: act without asking (required when not run on a terminal)
            #[argh(switch)]
            pub yes: bool,
            /// list what would be acted on and change nothing
            #[argh(switch)]
            pub dry_run: bool,
            /// one JSON object per message (id, done, detail) instead of text
            #[argh(switch)]
            pub json: bool,
            /// name recorded in the audit log (default: $USER)
            #[argh(option)]
            pub actor: Option<String>,
            $($body)*
        });

        impl $name {
            /// The selection and confirmation flags as given.
            pub fn selection(&self) -> QueueSelection {
                QueueSelection {
                    ids: self.ids.clone(),
                    all_matching: self.all_matching,
                    yes: self.yes,
                    dry_run: self.dry_run,
                    json: self.json,
                    actor: self.actor.clone(),
                    filter: self.queue_filter_args(),
                }
            }
        }
    };
}

queue_command!(@filters
    /// List queued messages, oldest first: ID (i<n> in custody, q<n> delivery entry), STAGE
    /// (inspect, deliver, deferred, hold), age, sender, recipients, attempts, last error.
    #[argh(subcommand, name = "list")]
    pub struct QueueList {
        /// one JSON object per line instead of a table
        #[argh(switch)]
        pub json: bool,
    }
);

store_command!(
    /// Show one queued message: envelope, stage, attempts, last error, each recipient's state and
    /// the header section (never the body). Exit 1 when it is not in the queue.
    #[argh(subcommand, name = "show")]
    pub struct QueueShow {
        /// i<n> (in custody) or q<n> (delivery queue entry)
        #[argh(positional)]
        pub id: String,
        /// JSON instead of text
        #[argh(switch)]
        pub json: bool,
    }
);

queue_command!(action
    /// Put messages on hold: one waiting for inspection is not inspected, a delivery entry is not
    /// delivered (an attempt under way finishes first), until `queue release`.
    #[argh(subcommand, name = "hold")]
    pub struct QueueHold {}
);

queue_command!(action
    /// Release held messages: a suspect message in custody goes back to inspection (or with
    /// --unscanned is delivered uninspected); a held delivery entry is due now.
    #[argh(subcommand, name = "release")]
    pub struct QueueRelease {
        /// deliver a suspect message without inspecting it
        #[argh(switch)]
        pub unscanned: bool,
    }
);

queue_command!(action
    /// Delete messages from the queue: never delivered, no bounce to the sender.
    #[argh(subcommand, name = "delete")]
    pub struct QueueDelete {}
);

queue_command!(action
    /// Retry now: deliver and deferred entries are due at once (their schedule is not waited
    /// out), messages waiting for inspection are inspected at once.
    #[argh(subcommand, name = "retry")]
    pub struct QueueRetry {}
);

queue_command!(action
    /// Send an uninspected copy of messages to one address (from the null sender); the messages
    /// stay where they are.
    #[argh(subcommand, name = "forward")]
    pub struct QueueForward {
        /// the address to send the copy to
        #[argh(option)]
        pub to: String,
        /// a new Subject for the copy
        #[argh(option)]
        pub subject: Option<String>,
    }
);

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
