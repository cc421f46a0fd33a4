//! Command-line interface: argument parsing and the commands' output.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

use crate::config::Config;
use crate::eval;
use crate::extract::{Extraction, Extractor};
use crate::ingest::{Ingester, Origin};
use crate::store::Store;
use chrono::Utc;

/// slaclaim: turns a support mailbox into ready-to-submit Microsoft 365 SLA credit claims.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Config file (TOML); built-in defaults without it.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// State directory holding the store (default: config `store.state-dir`, else ./state).
    #[arg(long, global = true, value_name = "DIR", env = "SLACLAIM_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
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
    /// Store .eml files in the ledger and link them to tickets and claims.
    Ingest {
        /// .eml files, in the order they arrived.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List claims by deadline, with how many checklist items are missing.
    Claims {
        /// Only claims in this status (collecting, ready, drafted, submitted, ineligible, expired).
        #[arg(long)]
        status: Option<String>,
        /// Only claims whose deadline is within this many days.
        #[arg(long, value_name = "DAYS")]
        due_within: Option<i64>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a ticket's claims: checklist with sources, deadline and history.
    Claim {
        /// Ticket reference, e.g. SLA-42.
        ticket: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Record what staff did with a ticket's claims.
    Mark {
        /// Ticket reference, e.g. SLA-42.
        ticket: String,
        /// submitted or ineligible.
        status: String,
        /// Microsoft case number (with submitted).
        #[arg(long)]
        case: Option<String>,
        /// Why (required with ineligible).
        #[arg(long)]
        reason: Option<String>,
    },
}

fn ingester<'a>(extractor: &'a Extractor, config: &Config) -> Result<Ingester<'a>> {
    Ok(Ingester {
        extractor,
        policy: config.deadline.policy()?,
        max_bytes: config.store.max_message_bytes,
        rules: config.mail_rules(),
    })
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let extractor = Extractor::new(&config.extract)?;
    let state_dir = cli
        .state_dir
        .clone()
        .or(config.store.state_dir.clone())
        .unwrap_or_else(|| PathBuf::from("state"));
    match cli.command {
        Command::Ingest { files } => {
            let mut store = Store::open(&state_dir)?;
            let ingester = ingester(&extractor, &config)?;
            let mut status = 0;
            let expired = ingester.expire_overdue(&mut store, Utc::now())?;
            if expired > 0 {
                println!("{expired} claim(s) expired: deadline passed before submission");
            }
            for file in files {
                let raw = match std::fs::read(&file) {
                    Ok(raw) => raw,
                    Err(e) => {
                        eprintln!("slaclaim: cannot read {}: {e}", file.display());
                        status = 1;
                        continue;
                    }
                };
                let key = std::fs::canonicalize(&file)
                    .unwrap_or(file.clone())
                    .display()
                    .to_string();
                let outcome = ingester.ingest(
                    &mut store,
                    &raw,
                    Origin {
                        source: "file",
                        key: Some(&key),
                    },
                    Utc::now(),
                )?;
                println!("{}: {outcome}", file.display());
            }
            Ok(status)
        }
        Command::Claims {
            status,
            due_within,
            json,
        } => {
            let mut store = Store::open(&state_dir)?;
            let ingester = ingester(&extractor, &config)?;
            ingester.expire_overdue(&mut store, Utc::now())?;
            crate::report::claims(&store, status.as_deref(), due_within, json, Utc::now())?;
            Ok(0)
        }
        Command::Claim { ticket, json } => {
            let mut store = Store::open(&state_dir)?;
            let ingester = ingester(&extractor, &config)?;
            ingester.expire_overdue(&mut store, Utc::now())?;
            crate::report::claim(&store, &ticket, json, Utc::now())?;
            Ok(0)
        }
        Command::Mark {
            ticket,
            status,
            case,
            reason,
        } => {
            let mut store = Store::open(&state_dir)?;
            crate::report::mark(
                &mut store,
                &ticket,
                &status,
                case.as_deref(),
                reason.as_deref(),
            )?;
            Ok(0)
        }
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
