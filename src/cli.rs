//! Command-line interface (argh): `serve`, `check-config`, `scan`, `edm import`, `version`, `help`,
//! and the internal `pdf-text` the server runs as its sandboxed PDF text extractor.

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
    Scan(Scan),
    Edm(Edm),
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
