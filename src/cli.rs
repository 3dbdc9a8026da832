//! Command-line interface (argh): `serve`, `check-config`, `version`, `help`, and the internal
//! `pdf-text` the server runs as its sandboxed PDF text extractor.

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
    CheckConfig(CheckConfig),
    Version(Version),
    PdfText(PdfText),
}

/// Run the SMTP service (embedded defaults when no --config is given).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "serve")]
pub struct Serve {
    /// configuration file (TOML); see assets/sluice.toml
    #[argh(option)]
    pub config: Option<PathBuf>,
    /// data directory (overrides server.data_dir)
    #[argh(option)]
    pub data_dir: Option<PathBuf>,
}

/// Validate a configuration file and exit (0 when valid).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "check-config")]
pub struct CheckConfig {
    /// configuration file to check
    #[argh(option)]
    pub config: PathBuf,
}

/// Print the version.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "version")]
pub struct Version {}

/// Internal: PDF on stdin, its text on stdout (the server runs this in a sandboxed child).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "pdf-text")]
pub struct PdfText {}
