//! The `sluice` binary: parse the command line, run, and turn the result into an exit code.

use std::process::ExitCode;

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> ExitCode {
    let cli: sluice::cli::Cli = argh::from_env();
    match sluice::app::main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sluice: {e:#}");
            ExitCode::from(1)
        }
    }
}
