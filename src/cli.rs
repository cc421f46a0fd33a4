//! Command-line interface: argument parsing and the commands' output.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

use crate::config::Config;
use crate::eval;
use crate::extract::{Extraction, Extractor};

/// slaclaim: turns a support mailbox into ready-to-submit Microsoft 365 SLA credit claims.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Config file (TOML); built-in defaults without it.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify emails and print what they contain, as JSON.
    Extract {
        /// .eml files. One file prints one JSON object; several print one per line.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Score extraction against .json truth files beside the .eml files in DIR.
    Eval {
        /// Directory of msg.eml + msg.json pairs.
        dir: PathBuf,
        /// Print every wrong field.
        #[arg(long, short)]
        verbose: bool,
        /// Exit non-zero when the overall score is below this.
        #[arg(long, value_name = "SCORE")]
        fail_under: Option<f64>,
    },
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let extractor = Extractor::new(&config.extract)?;
    match cli.command {
        Command::Extract { files } => extract(&extractor, &files),
        Command::Eval {
            dir,
            verbose,
            fail_under,
        } => {
            let report = eval::run(&dir, &extractor)?;
            print!("{}", report.render(verbose));
            if let Some(min) = fail_under {
                if report.overall() < min {
                    bail!("overall score {:.3} is below {min}", report.overall());
                }
            }
            Ok(0)
        }
    }
}

fn extract(extractor: &Extractor, files: &[PathBuf]) -> Result<i32> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut status = 0;
    for file in files {
        let raw = match std::fs::read(file) {
            Ok(raw) => raw,
            Err(e) => {
                eprintln!("slaclaim: cannot read {}: {e}", file.display());
                status = 1;
                continue;
            }
        };
        let extraction = extract_guarded(extractor, &raw);
        let mut value = serde_json::to_value(&extraction).context("cannot serialise extraction")?;
        if files.len() == 1 {
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        } else {
            if let Some(map) = value.as_object_mut() {
                map.insert("file".into(), file.display().to_string().into());
            }
            writeln!(out, "{}", serde_json::to_string(&value)?)?;
        }
    }
    Ok(status)
}

/// Extraction with a last line of defence: a bug that panics on some input must not
/// take down a batch; the message gets a recorded problem instead.
pub fn extract_guarded(extractor: &Extractor, raw: &[u8]) -> Extraction {
    match std::panic::catch_unwind(|| extractor.extract(raw)) {
        Ok(e) => e,
        Err(panic) => {
            let mut e = extractor.extract(b"");
            e.problems = vec![format!(
                "internal error while extracting: {}",
                crate::message::panic_text(panic.as_ref())
            )];
            e
        }
    }
}
