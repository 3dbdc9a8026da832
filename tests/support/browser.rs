//! Real-browser tests: finds node, Debian's chromium and the npm modules `.ci/test` installs
//! (`tests/browser/package.json`: playwright-core, axe-core), runs one scenario script
//! (`tests/browser/NAME.mjs`, built on `tests/browser/lib.mjs`) against a running Sluice, and
//! collects what it reports (JSON lines on stdout: steps, screenshots, results, the outcome).
//!
//! Like the other real peers (Postfix, rsyslog), a missing browser fails the test with what to
//! install; only `SLUICE_BROWSER_TESTS=skip` turns that into a skip (printed), so that CI cannot
//! pass by silently not running them.
//!
//! Environment: `SLUICE_NODE` (default `node` on PATH), `SLUICE_CHROMIUM` (default Debian's
//! `/usr/lib/chromium/chromium`, else `chromium` on PATH), `SLUICE_BROWSER_DIR` (where `npm ci`
//! put `node_modules`; default `<cargo target dir>/browser`, where `.ci/test` installs them),
//! `SLUICE_UI_SCREENSHOTS` (default `target/ui-screenshots` in the checkout).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sluice::Sluice;

/// How long one scenario script may run before it is killed (they take seconds).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(240);

/// The environment variable that lets a machine without a browser skip these tests.
pub const SKIP_VAR: &str = "SLUICE_BROWSER_TESTS";

/// The programs and modules a scenario needs, found.
#[derive(Debug, Clone)]
pub struct Browser {
    pub node: PathBuf,
    pub chromium: PathBuf,
    /// The directory holding `node_modules` (playwright-core, axe-core).
    pub modules: PathBuf,
    pub screenshots: PathBuf,
}

/// What a scenario reported.
#[derive(Debug, Default)]
pub struct Outcome {
    pub steps: Vec<String>,
    pub screenshots: Vec<PathBuf>,
    /// `{"result": NAME, "value": V}` lines, by name (a later one replaces an earlier one).
    pub results: BTreeMap<String, serde_json::Value>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// A result the scenario must have reported.
    pub fn result(&self, name: &str) -> &serde_json::Value {
        self.results
            .get(name)
            .unwrap_or_else(|| panic!("the scenario reported no result {name:?}:\n{}", self.stdout))
    }
}

/// The browser to use, or `None` (with the reason printed) when it is missing and
/// `SLUICE_BROWSER_TESTS=skip`. Panics with what to install otherwise.
pub fn require() -> Option<Browser> {
    match find() {
        Ok(b) => Some(b),
        Err(why) if std::env::var(SKIP_VAR).as_deref() == Ok("skip") => {
            eprintln!("SKIPPED (browser test, {SKIP_VAR}=skip): {why}");
            None
        }
        Err(why) => panic!(
            "cannot run the real-browser tests: {why}. `.ci/test` installs everything they need \
             (apt-get install chromium nodejs npm; npm ci in tests/browser into the target dir); \
             set {SKIP_VAR}=skip to skip them on a machine without a browser"
        ),
    }
}

/// Finds node, chromium and the modules; the reason when one is missing.
pub fn find() -> Result<Browser, String> {
    let node = match std::env::var_os("SLUICE_NODE") {
        Some(p) => PathBuf::from(p),
        None => on_path("node").ok_or("node is not installed (Debian package nodejs)")?,
    };
    let chromium = match std::env::var_os("SLUICE_CHROMIUM") {
        Some(p) => PathBuf::from(p),
        // The binary itself, not Debian's /usr/bin/chromium wrapper script (which sources
        // /etc/chromium.d and adds flags meant for desktop use).
        None => Some(PathBuf::from("/usr/lib/chromium/chromium"))
            .filter(|p| p.is_file())
            .or_else(|| on_path("chromium"))
            .ok_or("chromium is not installed (Debian package chromium)")?,
    };
    if !chromium.is_file() {
        return Err(format!("no chromium at {}", chromium.display()));
    }
    let modules = std::env::var_os("SLUICE_BROWSER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("browser"));
    for m in ["playwright-core/package.json", "axe-core/axe.min.js"] {
        let p = modules.join("node_modules").join(m);
        if !p.is_file() {
            return Err(format!(
                "the npm modules are not installed ({} is missing; run `.ci/test`, or `npm ci \
                 --prefix DIR` with tests/browser/package*.json copied to DIR and \
                 SLUICE_BROWSER_DIR=DIR)",
                p.display()
            ));
        }
    }
    let screenshots = std::env::var_os("SLUICE_UI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots"));
    Ok(Browser {
        node,
        chromium,
        modules,
        screenshots,
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (cargo passes its environment on to tests),
/// else `target` in the checkout.
fn target_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| manifest.join(d))
        .unwrap_or_else(|| manifest.join("target"))
}

/// The admin UI's base URL (`https://127.0.0.1:PORT`).
pub fn admin_url(s: &Sluice) -> String {
    format!(
        "https://{}",
        s.admin.expect("the admin server reported its address")
    )
}

/// `link` (from a notice or a file Sluice wrote: it starts with the configured `public_url`)
/// pointed at this server's admin address instead.
pub fn admin_link(s: &Sluice, link: &str) -> String {
    let path = link
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or_else(|| panic!("not an absolute URL: {link}"));
    format!("{}{path}", admin_url(s))
}

/// The one-time set-up link a fresh install writes to `<data_dir>/setup-link` (waited for: the
/// admin server may write it after the SMTP listener said it listens), pointed at the admin
/// address; `None` when none came (accounts exist).
pub fn setup_link(s: &Sluice) -> Option<String> {
    let file = s.dir.path().join("data/setup-link");
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(&file)
            && text.ends_with('\n')
        {
            return Some(admin_link(s, text.trim()));
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One scenario run: the script, the Sluice it talks to and its extra environment.
pub struct Scenario<'a> {
    browser: &'a Browser,
    script: String,
    env: Vec<(String, String)>,
}

impl Browser {
    /// A run of `tests/browser/NAME.mjs` against `sluice`'s admin server.
    pub fn scenario(&self, name: &str, sluice: &Sluice) -> Scenario<'_> {
        Scenario {
            browser: self,
            script: name.to_string(),
            env: vec![("SLUICE_ADMIN_URL".into(), admin_url(sluice))],
        }
    }
}

impl Scenario<'_> {
    /// An environment variable for the script (URLs, credentials, paths, expected values).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// Runs the script to its end; panics with the script's error, its steps and its stderr
    /// unless it reported success.
    pub fn run(self) -> Outcome {
        let b = self.browser;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        let script = dir.join(format!("{}.mjs", self.script));
        assert!(script.is_file(), "no scenario {}", script.display());
        let mut cmd = Command::new(&b.node);
        cmd.arg(&script)
            .current_dir(&dir)
            .env("SLUICE_BROWSER_DIR", &b.modules)
            .env("SLUICE_CHROMIUM", &b.chromium)
            .env("SLUICE_UI_SCREENSHOTS", &b.screenshots)
            .env("SLUICE_SCENARIO", &self.script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", b.node.display()));
        let out = Arc::new(Mutex::new(Outcome::default()));
        let last = Arc::new(Mutex::new(None::<serde_json::Value>));
        let stdout = child.stdout.take().expect("stdout");
        let reader = {
            let (out, last) = (out.clone(), last.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    record(&mut out.lock().unwrap(), &mut last.lock().unwrap(), &line);
                }
            })
        };
        let mut stderr = child.stderr.take().expect("stderr");
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let end = Instant::now() + SCENARIO_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for node") {
                break Some(status);
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = reader.join();
        let stderr = err_reader.join().unwrap_or_default();
        let mut out = std::mem::take(&mut *out.lock().unwrap());
        out.stderr = stderr;
        let last = last.lock().unwrap().take();
        let ok = last
            .as_ref()
            .and_then(|v| v.get("ok"))
            .and_then(|v| v.as_bool());
        if status.is_some_and(|s| s.success()) && ok == Some(true) {
            return out;
        }
        let why = match (&status, &last) {
            (None, _) => format!("killed after {SCENARIO_TIMEOUT:?}"),
            (_, Some(v)) if ok == Some(false) => v
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("(no message)")
                .to_string(),
            (Some(s), _) => format!("node exited with {s} without reporting an outcome"),
        };
        let shots: Vec<String> = out
            .screenshots
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        panic!(
            "browser scenario {} failed: {why}\n--- steps ---\n{}\n--- screenshots ---\n{}\n\
             --- stderr ---\n{}",
            self.script,
            out.steps.join("\n"),
            shots.join("\n"),
            out.stderr.trim_end()
        );
    }
}

/// Files one stdout line of the script; lines that are not JSON objects are kept as steps.
fn record(out: &mut Outcome, last: &mut Option<serde_json::Value>, line: &str) {
    out.stdout.push_str(line);
    out.stdout.push('\n');
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        out.steps.push(format!("(output) {line}"));
        return;
    };
    if let Some(s) = v.get("step").and_then(|s| s.as_str()) {
        out.steps.push(s.to_string());
    } else if let Some(p) = v.get("screenshot").and_then(|s| s.as_str()) {
        out.screenshots.push(PathBuf::from(p));
    } else if let Some(name) = v.get("result").and_then(|s| s.as_str()) {
        let value = v.get("value").cloned().unwrap_or(serde_json::Value::Null);
        out.results.insert(name.to_string(), value);
    } else if v.get("ok").is_some() {
        *last = Some(v);
    }
}
