//! The shell's PDF text extractor: a [`PdfText`] that re-executes the sluice binary as
//! `sluice pdf-text` (PDF on stdin, text on stdout) under rlimits and a wall-clock timeout, and the
//! child side of that subcommand.
//!
//! This is the only impure file of `decompose`: it spawns a process and reads the clock. PDF
//! parsers can panic, recurse without bound, loop or abort on hostile input; in the child that
//! costs one process, never the server. Limits ([`ChildLimits`], the `[pdf]` section of the
//! configuration): address space, CPU seconds, a wall-clock timeout after which the child is
//! killed, and the most bytes of text read back; and no core dumps, no file writes.
//!
//! Security: the child trusts nothing it reads; the parent trusts only the child's exit status and
//! reads a bounded amount of its output, which is treated as untrusted text.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use super::{PdfError, PdfText};

/// What one PDF's child may spend: `[pdf]` in the configuration (defaults in `assets/sluice.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildLimits {
    /// Wall-clock time for one PDF (`pdf.timeout`).
    pub timeout: Duration,
    /// CPU seconds for one PDF, RLIMIT_CPU (`pdf.cpu_time`).
    pub cpu_seconds: u64,
    /// Address-space limit of the child, RLIMIT_AS (`pdf.memory`).
    pub memory_bytes: u64,
    /// Most text bytes read back from the child (`pdf.max_output`).
    pub max_output: usize,
}
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
    /// See [`ChildLimits::timeout`].
    pub timeout: Duration,
    /// See [`ChildLimits::cpu_seconds`].
    pub cpu_seconds: u64,
    /// See [`ChildLimits::memory_bytes`].
    pub memory_bytes: u64,
    /// See [`ChildLimits::max_output`].
    pub max_output: usize,
}

impl ChildPdf {
    /// An extractor running `exe pdf-text` within `limits`.
    pub fn new(exe: PathBuf, limits: &ChildLimits) -> Self {
        Self {
            exe,
            timeout: limits.timeout,
            cpu_seconds: limits.cpu_seconds,
            memory_bytes: limits.memory_bytes,
            max_output: limits.max_output,
        }
    }

    /// An extractor running the current executable (the sluice binary itself).
    pub fn current_exe(limits: &ChildLimits) -> std::io::Result<Self> {
        Ok(Self::new(std::env::current_exe()?, limits))
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

/// US Letter, the page size readers assume when a page has none.
const DEFAULT_MEDIA_BOX: [i64; 4] = [0, 0, 612, 792];

/// The text of a PDF, as pdf-extract reads it once the optional page entries it insists on are
/// there: a page without a usable `/MediaBox` (own or inherited) gets the default one, and a
/// `/Resources` that is not a dictionary is dropped (readers open such files; pdf-extract would
/// panic on them).
fn extract(data: &[u8]) -> Result<String, pdf_extract::OutputError> {
    let mut doc = lopdf::Document::load_mem(data)?;
    if doc.is_encrypted() {
        // The empty user password, as pdf-extract tries.
        doc.decrypt("")?;
    }
    add_page_defaults(&mut doc);
    let mut text = String::new();
    pdf_extract::output_doc(&doc, &mut pdf_extract::PlainTextOutput::new(&mut text))?;
    Ok(text)
}

/// See [`extract`].
pub(crate) fn add_page_defaults(doc: &mut lopdf::Document) {
    for id in doc.get_pages().into_values() {
        let media_box = inherited(doc, id, b"MediaBox").and_then(|o| numbers4(doc, o));
        let resources_ok = inherited(doc, id, b"Resources")
            .is_none_or(|o| doc.dereference(o).is_ok_and(|(_, o)| o.as_dict().is_ok()));
        let Ok(page) = doc.get_object_mut(id).and_then(lopdf::Object::as_dict_mut) else {
            continue;
        };
        let media_box = media_box.unwrap_or(DEFAULT_MEDIA_BOX.map(|n| n as f32));
        page.set(
            "MediaBox",
            media_box
                .iter()
                .map(|&n| lopdf::Object::Real(n))
                .collect::<Vec<_>>(),
        );
        if !resources_ok {
            page.set("Resources", lopdf::Dictionary::new());
        }
    }
}

/// A page's entry, or its nearest ancestor's (bounded, as the page tree may loop).
fn inherited<'d>(
    doc: &'d lopdf::Document,
    page: lopdf::ObjectId,
    key: &[u8],
) -> Option<&'d lopdf::Object> {
    let mut dict = doc.get_dictionary(page).ok()?;
    for _ in 0..32 {
        if let Ok(v) = dict.get(key) {
            return Some(v);
        }
        let parent = dict
            .get(b"Parent")
            .and_then(lopdf::Object::as_reference)
            .ok()?;
        dict = doc.get_dictionary(parent).ok()?;
    }
    None
}

/// Four numbers, as a rectangle is.
fn numbers4(doc: &lopdf::Document, o: &lopdf::Object) -> Option<[f32; 4]> {
    let (_, o) = doc.dereference(o).ok()?;
    let items = o.as_array().ok()?;
    let mut out = [0f32; 4];
    if items.len() != 4 {
        return None;
    }
    for (slot, item) in out.iter_mut().zip(items) {
        *slot = match item {
            lopdf::Object::Integer(i) => *i as f32,
            lopdf::Object::Real(r) => *r,
            _ => return None,
        };
    }
    Some(out)
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
    match std::panic::catch_unwind(|| extract(&data)) {
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
