//! The `sluice` binary: parse the command line, run, and turn the result into an exit code (a
//! closed stdout ends any command quietly with 141, see `sluice::output`).

// No unwrap or expect outside tests (as in the library).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::process::ExitCode;

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// Exit code of a command line that does not parse (the subcommands' own "error" code; 1 means
/// "partly done" for the store commands).
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let name = args.first().map_or("sluice", |a| {
        std::path::Path::new(a)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("sluice")
    });
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let cli = match <sluice::cli::Cli as argh::FromArgs>::from_args(&[name], &rest) {
        Ok(cli) => cli,
        Err(early) => {
            return match early.status {
                // --help: the text goes to stdout.
                Ok(()) => {
                    sluice::output::line(&early.output);
                    ExitCode::SUCCESS
                }
                Err(()) => {
                    eprintln!(
                        "{}\nRun {name} --help for more information.",
                        early.output.trim_end()
                    );
                    ExitCode::from(USAGE_ERROR)
                }
            };
        }
    };
    match sluice::app::main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sluice: {e:#}");
            ExitCode::from(1)
        }
    }
}
