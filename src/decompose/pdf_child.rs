//! The shell's PDF text extractor: a [`PdfText`] that re-executes the sluice binary as
//! `sluice pdf-text` (PDF on stdin, text on stdout) under rlimits and a wall-clock timeout, and the
//! child side of that subcommand.
//!
//! This is the only impure file of `decompose`: it spawns a process and reads the clock. PDF
//! parsers can panic, recurse without bound, loop or abort on hostile input; in the child that
//! costs one process, never the server. Limits: address space ([`DEFAULT_MEMORY_BYTES`]), CPU
//! seconds ([`DEFAULT_CPU_SECONDS`]), no core dumps, no file writes, a wall-clock timeout
//! ([`DEFAULT_TIMEOUT`]) after which the child is killed, and at most [`DEFAULT_MAX_OUTPUT`] bytes
//! of text read back.
//!
//! Security: the child trusts nothing it reads; the parent trusts only the child's exit status and
//! reads a bounded amount of its output, which is treated as untrusted text.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use super::{PdfError, PdfText};

/// Default wall-clock time for one PDF.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default CPU seconds for one PDF (RLIMIT_CPU).
pub const DEFAULT_CPU_SECONDS: u64 = 5;
/// Default address-space limit of the child (RLIMIT_AS).
pub const DEFAULT_MEMORY_BYTES: u64 = 1 << 30;
/// Default most text bytes read back from the child.
pub const DEFAULT_MAX_OUTPUT: usize = 8 << 20;
/// Largest PDF the child accepts on stdin.
pub const MAX_INPUT_BYTES: usize = 256 << 20;
/// The hidden subcommand the child runs.
pub const SUBCOMMAND: &str = "pdf-text";

/// Exit status of the child when the parser rejected the PDF.
const EXIT_MALFORMED: u8 = 2;
/// Exit status of the child when the parser panicked.
const EXIT_PANICKED: u8 = 3;

/// Runs PDF text extraction in a sandboxed child process.
#[derive(Debug, Clone)]
pub struct ChildPdf {
    exe: PathBuf,
    /// See [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// See [`DEFAULT_CPU_SECONDS`].
    pub cpu_seconds: u64,
    /// See [`DEFAULT_MEMORY_BYTES`].
    pub memory_bytes: u64,
    /// See [`DEFAULT_MAX_OUTPUT`].
    pub max_output: usize,
}

impl ChildPdf {
    /// An extractor running `exe pdf-text` with the default limits.
    pub fn new(exe: PathBuf) -> Self {
        Self {
            exe,
            timeout: DEFAULT_TIMEOUT,
            cpu_seconds: DEFAULT_CPU_SECONDS,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            max_output: DEFAULT_MAX_OUTPUT,
        }
    }

    /// An extractor running the current executable (the sluice binary itself).
    pub fn current_exe() -> std::io::Result<Self> {
        Ok(Self::new(std::env::current_exe()?))
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg(SUBCOMMAND)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let (cpu, mem) = (self.cpu_seconds, self.memory_bytes);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: the closure runs in the forked child before exec and only calls setrlimit,
            // which is async-signal-safe; it allocates nothing and touches no locks.
            unsafe {
                cmd.pre_exec(move || {
                    set_limit(libc::RLIMIT_CORE, 0, 0)?;
                    set_limit(libc::RLIMIT_FSIZE, 0, 0)?;
                    set_limit(libc::RLIMIT_CPU, cpu, cpu + 1)?;
                    set_limit(libc::RLIMIT_AS, mem, mem)?;
                    Ok(())
                });
            }
        }
        cmd
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Resource = libc::__rlimit_resource_t;
#[cfg(all(unix, not(all(target_os = "linux", target_env = "gnu"))))]
type Resource = libc::c_int;

#[cfg(unix)]
fn set_limit(resource: Resource, soft: u64, hard: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: `limit` is a valid rlimit for the duration of the call.
    if unsafe { libc::setrlimit(resource, &limit) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl PdfText for ChildPdf {
    fn text(&self, pdf: &[u8]) -> Result<String, PdfError> {
        let mut child = self.command().spawn().map_err(|_| PdfError::Unavailable)?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PdfError::Unavailable);
        };
        let input = pdf.to_vec();
        // The child may stop reading (crash, early error): the writer then fails with EPIPE.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let cap = self.max_output as u64;
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.take(cap).read_to_end(&mut out);
            out
        });
        let deadline = Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => break None,
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(_) => break None,
            }
        };
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = writer.join();
            let _ = reader.join();
            return Err(PdfError::Timeout);
        };
        let _ = writer.join();
        // The child has exited, so its stdout is closed and the reader ends.
        let out = reader.join().unwrap_or_default();
        outcome(status.code(), &out)
    }
}

/// What a child's exit code (`None`: killed by a signal) and output mean.
pub(crate) fn outcome(code: Option<i32>, out: &[u8]) -> Result<String, PdfError> {
    match code {
        Some(0) => Ok(String::from_utf8_lossy(out).into_owned()),
        Some(c) if c == i32::from(EXIT_MALFORMED) => Err(PdfError::Malformed),
        _ => Err(PdfError::Crashed),
    }
}

/// The child side of `sluice pdf-text`: reads a PDF from stdin, writes its text to stdout.
/// Exits 0 with the text, 2 when the parser rejects the PDF, 3 when it panics; a crash or a
/// limit kills the process, which the parent reports as such.
pub fn child_main() -> ExitCode {
    std::panic::set_hook(Box::new(|_| {}));
    let mut data = Vec::new();
    if std::io::stdin()
        .take(MAX_INPUT_BYTES as u64)
        .read_to_end(&mut data)
        .is_err()
    {
        return ExitCode::from(EXIT_MALFORMED);
    }
    match std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(&data)) {
        Ok(Ok(text)) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return ExitCode::from(EXIT_PANICKED);
            }
            ExitCode::SUCCESS
        }
        Ok(Err(_)) => ExitCode::from(EXIT_MALFORMED),
        Err(_) => ExitCode::from(EXIT_PANICKED),
    }
}
