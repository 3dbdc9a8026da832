//! Command-line interface (argh): `serve`, `check-config`, `edm import`, `version`, `help`.

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
    Edm(Edm),
    Version(Version),
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
