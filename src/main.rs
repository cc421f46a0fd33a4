//! The slaclaim binary: parses arguments and maps errors to exit codes.

use clap::Parser;

fn main() {
    let cli = slaclaim::cli::Cli::parse();
    let code = match slaclaim::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("slaclaim: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
