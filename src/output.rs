//! Standard output of the command-line commands: every result a command prints goes through
//! [`Stdout`] (or [`line`] / [`bytes`]), which turns a closed pipe into a quiet exit.
//!
//! `sluice quarantine list | head -3` closes the pipe early. Rust ignores SIGPIPE, so a write then
//! fails with EPIPE; `println!` would panic on it. Here the process ends at once with
//! [`EXIT_CLOSED_PIPE`] (141, the status a shell reports for a tool ended by SIGPIPE), printing
//! nothing, as `cat` or `grep` do. Work already committed stays done (a bulk action stops between
//! two items, as it would on SIGPIPE). Other write errors are returned to the caller.

use std::io::{ErrorKind, Write};

/// Exit status when stdout was closed by its reader: 128 + SIGPIPE, as shells report it.
pub const EXIT_CLOSED_PIPE: i32 = 141;

/// Ends the process quietly: the reader of stdout went away.
fn closed() -> ! {
    std::process::exit(EXIT_CLOSED_PIPE)
}

/// The process's stdout; EPIPE ends the process quietly (see the module documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::io::stdout().lock().write(buf) {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => closed(),
            r => r,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match std::io::stdout().lock().flush() {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => closed(),
            r => r,
        }
    }
}

/// Writes `b` to stdout and flushes. A closed pipe ends the process quietly; any other failure
/// is reported on stderr once and also ends it (status 2: the output is incomplete).
pub fn bytes(b: &[u8]) {
    let mut out = Stdout;
    if let Err(e) = out.write_all(b).and_then(|()| out.flush()) {
        eprintln!("sluice: writing to stdout: {e}");
        std::process::exit(2);
    }
}

/// Writes `s` and a line break to stdout (see [`bytes`]).
pub fn line(s: impl std::fmt::Display) {
    bytes(format!("{s}\n").as_bytes());
}

/// `println!` for command results: formats a line and writes it through [`line`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
