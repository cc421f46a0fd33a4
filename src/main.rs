//! The slaclaim binary: parses arguments and maps errors to exit codes.

use clap::Parser;

fn main() {
    let cli = slaclaim::cli::Cli::parse();
    let code = match slaclaim::cli::run(cli) {
        Ok(code) => code,
        // A reader that went away (`slaclaim extract ... | head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            0
        }
        Err(e) => {
            eprintln!("slaclaim: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
