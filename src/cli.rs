//! Command-line interface (argh): `serve`, `reload`, `status`, `check-config`, `scan`, `edm import`,
//! `quarantine`, `incident`, `events list`, `report summary|detail`, `backup`, `restore`, `user`,
//! `token`, `siem test`, `queue pause|resume|reject|accept`,
//! `version`, `help`, and
//! the internal `pdf-text` the server runs as
//! its sandboxed PDF text extractor.

use std::path::PathBuf;

use argh::FromArgs;

/// Sluice: an email security gateway (in-line DLP SMTP proxy).
#[derive(FromArgs, Debug)]
pub struct Cli {
    #[argh(subcommand)]
    pub command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    Serve(Serve),
    Reload(Reload),
    Status(Status),
    CheckConfig(CheckConfig),
    Scan(Scan),
    Edm(Edm),
    Quarantine(Quarantine),
    Incident(Incident),
    Events(Events),
    Report(Report),
    Backup(Backup),
    Restore(Restore),
    User(User),
    Token(Token),
    Siem(Siem),
    Queue(Queue),
    Version(Version),
    PdfText(PdfText),
}

/// The event outbox (what the SIEM destinations read): list events.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "events")]
pub struct Events {
    #[argh(subcommand)]
    pub command: EventsCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum EventsCommand {
    List(EventsList),
}

/// Run the SMTP service (embedded defaults when no --config is given).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "serve")]
pub struct Serve {
    /// configuration file (TOML); see assets/sluice.toml. Default: <data_dir>/sluice.toml if it
    /// exists (the admin UI writes it on its first save), else the embedded defaults
    #[argh(option)]
    pub config: Option<PathBuf>,
    /// data directory (overrides server.data_dir)
    #[argh(option)]
    pub data_dir: Option<PathBuf>,
}

/// Make the running server re-read its configuration file (and everything loaded from it) and
/// switch to it without dropping a connection. Exit 0: reloaded; 1: refused (the error is printed,
/// the server keeps its current configuration); 2: no server answers on the data dir.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "reload")]
pub struct Reload {
    /// the running server's data directory (default: server.data_dir of the embedded defaults)
    #[argh(option)]
    pub data_dir: Option<PathBuf>,
}

/// Show the running server's state: version, uptime, configuration digest, policies, listener
/// addresses, store health, next hops. Exit 2 when no server answers on the data dir.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "status")]
pub struct Status {
    /// the running server's data directory (default: server.data_dir of the embedded defaults)
    #[argh(option)]
    pub data_dir: Option<PathBuf>,
    /// print the status as one JSON object
    #[argh(switch)]
    pub json: bool,
}

/// Validate a configuration file and exit (0 when valid). Without --config: the file `serve` would
/// read, <data_dir>/sluice.toml when the admin UI has written it, else the embedded defaults.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "check-config")]
pub struct CheckConfig {
    /// configuration file to check (default: <data_dir>/sluice.toml if it exists, else the
    /// embedded defaults)
    #[argh(option)]
    pub config: Option<PathBuf>,
    /// data directory (overrides server.data_dir; where <data_dir>/sluice.toml is looked for)
    #[argh(option)]
    pub data_dir: Option<PathBuf>,
}

/// Inspect .eml files (or directories of them) offline with the engine and policies: one line per
/// finding. Exit 0: no policy violated; 1: some message violated a policy; 2: an error.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "scan")]
pub struct Scan {
    /// configuration file with the policies (embedded defaults when absent)
    #[argh(option)]
    pub config: Option<PathBuf>,
    /// one JSON object per finding (file, type, value, location, detector, confidence, policy)
    #[argh(switch)]
    pub json: bool,
    /// print matched values instead of redacted evidence (they are sensitive: mind where output goes)
    #[argh(switch)]
    pub show_matches: bool,
    /// message files or directories (searched recursively for *.eml)
    #[argh(positional)]
    pub paths: Vec<PathBuf>,
}

/// SIEM export: check the [[siem]] destinations.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "siem")]
pub struct Siem {
    #[argh(subcommand)]
    pub command: SiemCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum SiemCommand {
    Test(SiemTest),
}

/// Send one system.siem.test event straight to each [[siem]] destination (or the one named), not
/// through the outbox (no server needed), and report what the receiver did: connected (address),
/// TLS verified (certificate subject and issuer, or why not), bytes written, and whether a TCP or
/// TLS receiver closed the connection. Exit 0: every destination took it; 1: some failed; 2: bad
/// configuration or no such destination.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "test")]
pub struct SiemTest {
    /// only this destination (its `name`)
    #[argh(option)]
    pub destination: Option<String>,
    /// configuration file (default: the one the server of the data dir runs with, else the
    /// embedded defaults)
    #[argh(option)]
    pub config: Option<PathBuf>,
    /// data directory (default: server.data_dir)
    #[argh(option)]
    pub data_dir: Option<PathBuf>,
}

/// Print the version.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "version")]
pub struct Version {}

/// Internal: PDF on stdin, its text on stdout (the server runs this in a sandboxed child).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "pdf-text")]
pub struct PdfText {}
/// Exact data matching: manage EDM indexes.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "edm")]
pub struct Edm {
    #[argh(subcommand)]
    pub command: EdmCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum EdmCommand {
    Import(EdmImport),
}

/// Turn a CSV table (header row = column names) into an EDM index of salted hashes under
/// <data_dir>/edm/<name>.edm; no cell value is kept. Exit 0 when written, 2 on bad input.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "import")]
pub struct EdmImport {
    /// data directory (default: server.data_dir of --config, else of the embedded defaults)
    #[argh(option)]
    pub data_dir: Option<PathBuf>,
    /// configuration file whose server.data_dir is used when --data-dir is not given
    #[argh(option)]
    pub config: Option<PathBuf>,
    /// index name, 1-64 of A-Z a-z 0-9 _ - (default: the CSV file name without extension)
    #[argh(option)]
    pub name: Option<String>,
    /// the CSV file
    #[argh(positional)]
    pub file: PathBuf,
}

/// The search filter flags every listing and bulk command shares (see `console::query`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterArgs {
    pub status: Option<String>,
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub policy: Option<u64>,
    pub severity: Option<String>,
    pub direction: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub subject: Option<String>,
    pub limit: Option<usize>,
}

/// Where the store is: every store command takes these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreArgs {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

/// Declares a store command with `--config` and `--data-dir` (and, with `filters`, the filter
/// flags): argh has no flattening, so the shared flags are written once here.
macro_rules! store_command {
    (@store $(#[$m:meta])* pub struct $name:ident { $($body:tt)* } { $($extra:tt)* }) => {
        #[derive(FromArgs, Debug)]
        $(#[$m])*
        pub struct $name {
            $($body)*
            /// configuration file (embedded defaults when absent)
            #[argh(option)]
            pub config: Option<PathBuf>,
            /// data directory (overrides server.data_dir); the store is <data_dir>/store
            #[argh(option)]
            pub data_dir: Option<PathBuf>,
            $($extra)*
        }

        impl $name {
            /// Where the store is.
            pub fn store_args(&self) -> StoreArgs {
                StoreArgs {
                    config: self.config.clone(),
                    data_dir: self.data_dir.clone(),
                }
            }
        }
    };
    ($(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        store_command!(@store $(#[$m])* pub struct $name { $($body)* } {});
    };
    (filters $(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        store_command!(@store $(#[$m])* pub struct $name { $($body)* } {
            /// status (messages: held, awaiting_approval, released, deleted, expired, rejected;
            /// incidents: new, remediation_attempted, released, deleted, expired, rejected, resolved)
            #[argh(option)]
            pub status: Option<String>,
            /// envelope sender: an address, or @domain
            #[argh(option)]
            pub sender: Option<String>,
            /// a recipient: an address, or @domain
            #[argh(option)]
            pub recipient: Option<String>,
            /// policy id
            #[argh(option)]
            pub policy: Option<u64>,
            /// severity: info, low, medium, high, critical
            #[argh(option)]
            pub severity: Option<String>,
            /// direction: inbound, outbound, internal
            #[argh(option)]
            pub direction: Option<String>,
            /// from this time on: RFC 3339 (2024-05-01T08:00:00Z), a date (2024-05-01, UTC), or
            /// relative to now (30m, 12h, 2d, 1w)
            #[argh(option)]
            pub since: Option<String>,
            /// up to this time (same forms as --since)
            #[argh(option)]
            pub until: Option<String>,
            /// subject contains this text (case-insensitive)
            #[argh(option)]
            pub subject: Option<String>,
            /// at most this many items (listing default: 50)
            #[argh(option)]
            pub limit: Option<usize>,
        });

        impl $name {
            /// The filter flags as given.
            pub fn filter_args(&self) -> FilterArgs {
                FilterArgs {
                    status: self.status.clone(),
                    sender: self.sender.clone(),
                    recipient: self.recipient.clone(),
                    policy: self.policy,
                    severity: self.severity.clone(),
                    direction: self.direction.clone(),
                    since: self.since.clone(),
                    until: self.until.clone(),
                    subject: self.subject.clone(),
                    limit: self.limit,
                }
            }
        }
    };
}

/// Quarantined (held) messages: list, show, release, delete, forward, rescan. Works while `sluice
/// serve` runs; the server's queue delivers what a release enqueues.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "quarantine")]
pub struct Quarantine {
    #[argh(subcommand)]
    pub command: QuarantineCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum QuarantineCommand {
    List(QuarantineList),
    Show(QuarantineShow),
    Release(QuarantineRelease),
    Delete(QuarantineDelete),
    Forward(QuarantineForward),
    Rescan(QuarantineRescan),
    Stats(QuarantineStats),
}

store_command!(
    /// What the quarantine holds now (messages, bytes) and its counters over all days kept:
    /// quarantined, evicted at the caps, released, deleted, expired.
    #[argh(subcommand, name = "stats")]
    pub struct QuarantineStats {
        /// one JSON object
        #[argh(switch)]
        pub json: bool,
    }
);

store_command!(filters
    /// List held messages, newest first, as an aligned table or JSON lines.
    #[argh(subcommand, name = "list")]
    pub struct QuarantineList {
        /// one JSON object per line
        #[argh(switch)]
        pub json: bool,
    }
);

store_command!(
    /// Show one held message: metadata, findings (redacted), recipients, incident history. Exit 1 when
    /// it does not exist.
    #[argh(subcommand, name = "show")]
    pub struct QuarantineShow {
        /// held message id
        #[argh(positional)]
        pub id: u64,
        /// write the stored message (.eml) to stdout instead
        #[argh(switch)]
        pub content: bool,
        /// one JSON object
        #[argh(switch)]
        pub json: bool,
    }
);

store_command!(filters
    /// Release held messages to their recipients (ids, or --all-matching with filters; --status
    /// defaults to held then). Exit 0: all released; 1: some refused or not found; 2: an error.
    #[argh(subcommand, name = "release")]
    pub struct QuarantineRelease {
        /// held message ids
        #[argh(positional)]
        pub ids: Vec<u64>,
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
        /// header to add, e.g. "X-CFilter: Encrypt" (encrypt-and-deliver at the next hop)
        #[argh(option)]
        pub tag: Option<String>,
        /// name recorded in the history (default: $USER)
        #[argh(option)]
        pub actor: Option<String>,
    }
);

store_command!(filters
    /// Delete held messages (the record stays for the audit trail). Exit codes as for release.
    #[argh(subcommand, name = "delete")]
    pub struct QuarantineDelete {
        /// held message ids
        #[argh(positional)]
        pub ids: Vec<u64>,
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
        /// name recorded in the history (default: $USER)
        #[argh(option)]
        pub actor: Option<String>,
    }
);

store_command!(filters
    /// Send a copy of held messages to other addresses; they stay held. Exit codes as for release.
    #[argh(subcommand, name = "forward")]
    pub struct QuarantineForward {
        /// held message ids
        #[argh(positional)]
        pub ids: Vec<u64>,
        /// address to send the copy to (repeatable)
        #[argh(option)]
        pub to: Vec<String>,
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
        /// name recorded in the history (default: $USER)
        #[argh(option)]
        pub actor: Option<String>,
    }
);

store_command!(filters
    /// Inspect held messages again with the current policies; the outcome goes to their incidents'
    /// history. Exit codes as for release.
    #[argh(subcommand, name = "rescan")]
    pub struct QuarantineRescan {
        /// held message ids
        #[argh(positional)]
        pub ids: Vec<u64>,
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
        /// name recorded in the history (default: $USER)
        #[argh(option)]
        pub actor: Option<String>,
    }
);

/// Incidents: list, show, remediate.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "incident")]
pub struct Incident {
    #[argh(subcommand)]
    pub command: IncidentCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum IncidentCommand {
    List(IncidentList),
    Show(IncidentShow),
    Remediate(IncidentRemediate),
}

store_command!(filters
    /// List incidents, newest first, as an aligned table or JSON lines.
    #[argh(subcommand, name = "list")]
    pub struct IncidentList {
        /// one JSON object per line
        #[argh(switch)]
        pub json: bool,
    }
);

store_command!(
    /// Show one incident with its history. Exit 1 when it does not exist.
    #[argh(subcommand, name = "show")]
    pub struct IncidentShow {
        /// incident id
        #[argh(positional)]
        pub id: u64,
        /// one JSON object
        #[argh(switch)]
        pub json: bool,
    }
);

store_command!(filters
    /// Remediate incidents: release, delete, forward or rescan their held message, or resolve,
    /// dismiss or note the incident. Exit codes as for quarantine release.
    #[argh(subcommand, name = "remediate")]
    pub struct IncidentRemediate {
        /// release, delete, forward, rescan, resolve, dismiss or note
        #[argh(option)]
        pub action: String,
        /// incident ids
        #[argh(positional)]
        pub ids: Vec<u64>,
        /// act on every incident the filter flags match (lists them first; needs --yes or a
        /// confirmation on a terminal)
        #[argh(switch)]
        pub all_matching: bool,
        /// with --all-matching: act without asking (required when not run on a terminal)
        #[argh(switch)]
        pub yes: bool,
        /// list what would be acted on and change nothing
        #[argh(switch)]
        pub dry_run: bool,
        /// with release: header to add, e.g. "X-CFilter: Encrypt"
        #[argh(option)]
        pub tag: Option<String>,
        /// with forward: address to send the copy to (repeatable)
        #[argh(option)]
        pub to: Vec<String>,
        /// with note: the text
        #[argh(option)]
        pub note: Option<String>,
        /// name recorded in the history (default: $USER)
        #[argh(option)]
        pub actor: Option<String>,
    }
);

store_command!(
    /// Write a consistent, compacted copy of the store to FILE, with a checksum (works while
    /// serving).
    #[argh(subcommand, name = "backup")]
    pub struct Backup {
        /// the backup file to write
        #[argh(positional)]
        pub file: PathBuf,
    }
);

store_command!(
    /// Replace the store's contents with the backup in FILE, in one transaction, after verifying
    /// the whole file (works while serving: the server sees the old store or the restored one,
    /// never a mix; ids never go back). Also re-creates a store that was lost.
    #[argh(subcommand, name = "restore")]
    pub struct Restore {
        /// the backup file to read
        #[argh(positional)]
        pub file: PathBuf,
    }
);

store_command!(
    /// List events from the outbox, oldest first: one line each (sequence, time, kind, fields), or
    /// JSON lines.
    #[argh(subcommand, name = "list")]
    pub struct EventsList {
        /// one JSON object per line
        #[argh(switch)]
        pub json: bool,
        /// only events after this sequence number
        #[argh(option, default = "0")]
        pub after: u64,
        /// at most this many events (default: 100)
        #[argh(option)]
        pub limit: Option<usize>,
    }
);

/// Administrators' accounts for the admin UI (also for recovery: works while `sluice serve` runs).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "user")]
pub struct User {
    #[argh(subcommand)]
    pub command: UserCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum UserCommand {
    Add(UserAdd),
    Passwd(UserPasswd),
    List(UserList),
    Remove(UserRemove),
}

store_command!(
    /// Add an account. The password (12 to 128 characters, not the name) comes from
    /// --password-file (its first line), else is asked for twice on the terminal without echo, or
    /// read as one line from stdin when that is not a terminal.
    #[argh(subcommand, name = "add")]
    pub struct UserAdd {
        /// the account's name: 1 to 64 of A-Z a-z 0-9 . _ @ -
        #[argh(positional)]
        pub name: String,
        /// administrator, policy-author, remediator or auditor
        #[argh(option)]
        pub role: String,
        /// a file whose first line is the password
        #[argh(option)]
        pub password_file: Option<PathBuf>,
    }
);

store_command!(
    /// Set an account's password (as for `user add`); its sessions in the admin UI end.
    #[argh(subcommand, name = "passwd")]
    pub struct UserPasswd {
        /// the account's name
        #[argh(positional)]
        pub name: String,
        /// a file whose first line is the password
        #[argh(option)]
        pub password_file: Option<PathBuf>,
    }
);

store_command!(
    /// List the accounts: name, role, disabled, last logon.
    #[argh(subcommand, name = "list")]
    pub struct UserList {
        /// one JSON object per line
        #[argh(switch)]
        pub json: bool,
    }
);

store_command!(
    /// Remove an account and its API tokens (never the last enabled administrator). Exit 1 when it
    /// does not exist or is refused.
    #[argh(subcommand, name = "remove")]
    pub struct UserRemove {
        /// the account's name
        #[argh(positional)]
        pub name: String,
    }
);

/// API tokens for scripts (`Authorization: Bearer TOKEN` on /api/v1/...).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "token")]
pub struct Token {
    #[argh(subcommand)]
    pub command: TokenCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum TokenCommand {
    Create(TokenCreate),
    List(TokenList),
    Revoke(TokenRevoke),
}

store_command!(
    /// Make a token that acts as USER with the account's role; prints it once on stdout (nothing
    /// else goes to stdout). It stops working when it expires, is revoked, or the account's role
    /// changes.
    #[argh(subcommand, name = "create")]
    pub struct TokenCreate {
        /// the account the token acts as
        #[argh(option)]
        pub user: String,
        /// valid for this long (30m, 12h, 90d, 1w); default: until revoked
        #[argh(option)]
        pub expires: Option<String>,
    }
);

store_command!(
    /// List tokens (id, user, role, created, expires, last used); never their secrets.
    #[argh(subcommand, name = "list")]
    pub struct TokenList {
        /// only this account's
        #[argh(option)]
        pub user: Option<String>,
        /// one JSON object per line
        #[argh(switch)]
        pub json: bool,
    }
);

store_command!(
    /// Revoke a token by its id (the 12 characters after `slc_`). Exit 1 when there is no such token.
    #[argh(subcommand, name = "revoke")]
    pub struct TokenRevoke {
        /// the token's id
        #[argh(positional)]
        pub id: String,
    }
);

/// Reports over a date range: the summary (message totals by outcome and direction, incidents by
/// policy and severity, top senders, recipients and detectors) and the detail report (events by
/// type and text). The same numbers as the admin UI's Reports page.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "report")]
pub struct Report {
    #[argh(subcommand)]
    pub command: ReportCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum ReportCommand {
    Summary(ReportSummary),
    Detail(ReportDetail),
}

store_command!(
    /// The summary report over whole UTC days, as a readable table, JSON, or a CSV file.
    #[argh(subcommand, name = "summary")]
    pub struct ReportSummary {
        /// first day: YYYY-MM-DD or RFC 3339 (its whole UTC day counts)
        #[argh(option)]
        pub from: String,
        /// last day, inclusive: YYYY-MM-DD or RFC 3339
        #[argh(option)]
        pub to: String,
        /// write the report as CSV to FILE (`-`: stdout) instead of a table
        #[argh(option)]
        pub csv: Option<PathBuf>,
        /// start the CSV with a byte order mark (for Excel)
        #[argh(switch)]
        pub bom: bool,
        /// one JSON object
        #[argh(switch)]
        pub json: bool,
    }
);

store_command!(
    /// The detail report: events from the outbox in a time range, by type and text, oldest first.
    #[argh(subcommand, name = "detail")]
    pub struct ReportDetail {
        /// from: YYYY-MM-DD (midnight UTC) or RFC 3339
        #[argh(option)]
        pub from: String,
        /// to, inclusive: YYYY-MM-DD (the whole day) or RFC 3339
        #[argh(option)]
        pub to: String,
        /// only this event kind (message.blocked) or category (message, policy, quarantine, ...);
        /// repeatable
        #[argh(option, long = "type")]
        pub types: Vec<String>,
        /// only events with this text in a field (case-insensitive)
        #[argh(option)]
        pub text: Option<String>,
        /// at most this many rows (default and largest: reports.detail_max_rows)
        #[argh(option)]
        pub limit: Option<usize>,
        /// write the report as CSV to FILE (`-`: stdout) instead of a table
        #[argh(option)]
        pub csv: Option<PathBuf>,
        /// start the CSV with a byte order mark (for Excel)
        #[argh(switch)]
        pub bom: bool,
        /// one JSON object
        #[argh(switch)]
        pub json: bool,
    }
);

// After `store_command!` (a macro is in scope only below its definition).
mod queue;
pub use queue::{
    Queue, QueueAccept, QueueCommand, QueueDelete, QueueFilterArgs, QueueForward, QueueHold,
    QueueList, QueuePause, QueueReject, QueueRelease, QueueResume, QueueRetry, QueueSelection,
    QueueShow,
};
