//! Command-line interface: argument parsing and the commands' output.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

use crate::app::config::Config;
use crate::extract::eval;
use crate::extract::{Extraction, Extractor};
use crate::ledger::ingest::Origin;
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
    /// The ledger's PostgreSQL URL, in place of config `store.url` (its password still
    /// comes from `store.password-file`, -env or -command).
    #[arg(long, global = true, value_name = "URL", env = "SLACLAIM_STORE_URL")]
    pub store_url: Option<String>,
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
        /// Directory of the msg.json truth files, when they are not beside the mail.
        #[arg(long, value_name = "DIR")]
        truth: Option<PathBuf>,
        /// Print every wrong field.
        #[arg(long, short)]
        verbose: bool,
        /// Exit non-zero when the overall score is below this.
        #[arg(long, value_name = "SCORE")]
        fail_under: Option<f64>,
        /// Exit non-zero when a field scores below this (F1 for list fields, accuracy
        /// for the others): `--require incident_ids=1.0`. May be repeated.
        #[arg(long, value_name = "FIELD=SCORE", value_parser = parse_requirement)]
        require: Vec<(String, f64)>,
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
    /// Outgoing mail: send one again on purpose.
    Outbox {
        /// What to do.
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// A first look without servers: sample mails dated around today are read and
    /// answered once (drafts, a reminder, an expired and an ineligible claim) into
    /// state/demo, and a summary says where to look. Each run starts afresh.
    Demo,
    /// Run the daemon: watch the mailboxes, keep claims, send drafts and reminders.
    Run {
        /// Write outgoing mail to the file outbox ([outbox] dir) instead of sending it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check the config completely (values, cron, time zone, templates, secrets) and
    /// print "ok" with a summary, or every problem.
    CheckConfig {
        /// Also log in to every IMAP mailbox and select each configured folder.
        #[arg(long)]
        online: bool,
        /// Read secrets the config names under /run/credentials/<unit>/ (systemd's
        /// LoadCredential=, there only while the service runs) from this directory,
        /// e.g. /etc/slaclaim/secrets.
        #[arg(long, value_name = "DIR")]
        credentials_dir: Option<PathBuf>,
    },
    /// Correct one field of a claim, as a staff reply's line would ("users: 140"):
    /// `slaclaim set SLA-42 users "120 Amsterdam, 20 Utrecht"`. Staff values stand over
    /// what customer mail says.
    Set {
        /// The claim and how to answer.
        #[command(flatten)]
        args: SetArgs,
        /// The value, written as in a reply: `140`, `2026-10-14 09:15-11:40 CEST`,
        /// `add 2026-10-15 08:00-08:30`, `remove EX1234568`, `yes`, `Name <address>`.
        value: String,
    },
    /// End a staff value: what mail says counts again (a tenant or incident goes back
    /// to what it was before staff set it).
    Unset {
        /// The claim and how to answer.
        #[command(flatten)]
        args: SetArgs,
    },
    /// Check a ticket's claims against Microsoft's own record of the incident (Graph
    /// service health, `[graph]` in the config) now, record it and print it.
    Verify {
        /// Ticket reference, e.g. SLA-42.
        ticket: String,
        /// Only the claim for this incident.
        #[arg(long, value_name = "ID")]
        incident: Option<String>,
        /// One JSON object (a ticket with several claims needs --incident).
        #[arg(long)]
        json: bool,
    },
    /// The ledger itself: `slaclaim store migrate --from sqlite:state --to postgres://…`.
    Store {
        /// What to do.
        #[command(subcommand)]
        action: StoreAction,
    },
    /// Record what staff did with a ticket's claims.
    Mark {
        /// Ticket reference, e.g. SLA-42.
        ticket: String,
        /// submitted, ineligible or withdrawn.
        status: String,
        /// Microsoft case number (with submitted).
        #[arg(long)]
        case: Option<String>,
        /// Why (required with ineligible, optional with withdrawn).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `slaclaim set` and `unset` arguments.
#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// Ticket reference, e.g. SLA-42.
    pub ticket: String,
    /// users, locations, downtime, incident, tenant, csp, ticket, contact or attempts.
    pub field: String,
    /// Which claim, when the ticket has several.
    #[arg(long, value_name = "ID")]
    pub incident: Option<String>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `slaclaim outbox ...`.
#[derive(Subcommand, Debug)]
pub enum OutboxAction {
    /// Send a message again to its recipients whose delivery is unconfirmed (no answer
    /// came to its end) or refused. slaclaim never does this by itself: the server may
    /// already have it.
    Resend {
        /// The Message-ID, with or without angle brackets (`claim SLA-n` shows it).
        message_id: String,
    },
}

/// `slaclaim store ...`.
#[derive(Subcommand, Debug)]
pub enum StoreAction {
    /// Copy a SQLite ledger into an empty PostgreSQL database (raw messages, claims,
    /// outgoing mail and all history, with their ids), then compare every table's row
    /// count and every raw message's SHA-256. Stop the daemon first.
    Migrate {
        /// The SQLite ledger: `sqlite:DIR` (a state directory) or `sqlite:FILE`.
        #[arg(long, value_name = "sqlite:PATH")]
        from: String,
        /// The database, `postgres://user@host:port/db?sslmode=…` (default: [store]
        /// url). Its password comes from [store] password-file, -env or -command.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
}

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    if let Command::CheckConfig {
        online,
        credentials_dir,
    } = &cli.command
    {
        return check_config(
            cli.config.as_deref(),
            cli.store_url.as_deref(),
            *online,
            credentials_dir.as_deref(),
        );
    }
    if let Command::Demo = cli.command {
        return demo(&cli);
    }
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(url) = &cli.store_url {
        config.store.url = Some(url.clone());
    }
    let extractor = Extractor::new(&config.extract)?;
    let state_dir = cli
        .state_dir
        .clone()
        .or(config.store.state_dir.clone())
        .unwrap_or_else(|| PathBuf::from("state"));
    match cli.command {
        Command::Ingest { files } => {
            let mut store = open_store(&config, &state_dir)?;
            let ingester = config.ingester(&extractor)?;
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
            let mut store = open_store(&config, &state_dir)?;
            let ingester = config.ingester(&extractor)?;
            ingester.expire_overdue(&mut store, Utc::now())?;
            crate::ledger::report::claims(&store, status.as_deref(), due_within, json, Utc::now())?;
            Ok(0)
        }
        Command::Claim { ticket, json } => {
            let mut store = open_store(&config, &state_dir)?;
            let ingester = config.ingester(&extractor)?;
            ingester.expire_overdue(&mut store, Utc::now())?;
            crate::ledger::report::claim(&store, &ticket, json, Utc::now())?;
            Ok(0)
        }
        Command::Mark {
            ticket,
            status,
            case,
            reason,
        } => {
            let mut store = open_store(&config, &state_dir)?;
            crate::ledger::report::mark(
                &mut store,
                &ticket,
                &status,
                case.as_deref(),
                reason.as_deref(),
            )?;
            Ok(0)
        }
        Command::Verify {
            ticket,
            incident,
            json,
        } => verify(&config, &state_dir, &ticket, incident.as_deref(), json),
        Command::Set { args, value } => set(&config, &extractor, &state_dir, &args, Some(&value)),
        Command::Unset { args } => set(&config, &extractor, &state_dir, &args, None),
        Command::Outbox {
            action: OutboxAction::Resend { message_id },
        } => {
            let store = open_store(&config, &state_dir)?;
            let id = message_id.trim_matches(['<', '>']);
            if !store.resend_mail(id, &crate::outbound::outbox::stamp(Utc::now()))? {
                bail!("no outgoing mail has the Message-ID <{id}>");
            }
            println!(
                "<{id}> is queued again for its unconfirmed and refused recipients; a running daemon sends it at its next pass"
            );
            Ok(0)
        }
        Command::Store {
            action: StoreAction::Migrate { from, to },
        } => migrate_store(&config, &from, to.as_deref()),
        Command::Extract { files } => extract(&extractor, &files),
        Command::Run { dry_run } => run_daemon(config, cli.config.clone(), state_dir, dry_run),
        Command::CheckConfig { .. } | Command::Demo => Ok(0),
        Command::Eval {
            dir,
            truth,
            verbose,
            fail_under,
            require,
        } => {
            let report = eval::run(&dir, truth.as_deref(), &extractor)?;
            print!("{}", report.render(verbose));
            if let Some(min) = fail_under {
                if report.overall() < min {
                    bail!("overall score {:.3} is below {min}", report.overall());
                }
            }
            for (field, min) in &require {
                let Some(score) = report.score(field) else {
                    bail!("no field {field} is scored");
                };
                if score < *min {
                    bail!("{field} scores {score:.3}, below {min}");
                }
            }
            Ok(0)
        }
    }
}

/// `slaclaim demo`: the built-in demo config unless `--config` names another.
fn demo(cli: &Cli) -> Result<i32> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::parse(crate::app::demo::CONFIG, "config/demo.toml (built in)")?,
    };
    // It empties its ledger at every run: never a shared one.
    if cli.store_url.is_some() || config.store.url.is_some() {
        bail!(
            "the demo keeps its own SQLite ledger in its state directory and empties it at every run; it does not use a store URL"
        );
    }
    let state_dir = cli
        .state_dir
        .clone()
        .or(config.store.state_dir.clone())
        .unwrap_or_else(|| PathBuf::from("state/demo"));
    if cli.config.is_none() {
        // The built-in demo keeps its Maildir and outbox under whatever state directory.
        for m in &mut config.maildir {
            m.path = state_dir.join("maildir");
        }
        config.outbox.dir = state_dir.join("outbox");
    }
    init_logs("warn");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
        .context("cannot start the async runtime")?;
    // SLACLAIM_DEMO_NOW (RFC 3339) plays the demo on another day: the tests check that
    // every day of the year shows the same kinds of claims.
    let now = match std::env::var("SLACLAIM_DEMO_NOW") {
        Ok(at) => chrono::DateTime::parse_from_rfc3339(&at)
            .with_context(|| format!("SLACLAIM_DEMO_NOW={at:?} is no RFC 3339 time"))?
            .with_timezone(&Utc),
        Err(_) => Utc::now(),
    };
    let summary = runtime.block_on(crate::app::demo::run(config, &state_dir, now))?;
    println!("{summary}");
    Ok(0)
}

/// `slaclaim verify SLA-n`.
fn verify(
    config: &Config,
    state_dir: &std::path::Path,
    ticket: &str,
    incident: Option<&str>,
    json: bool,
) -> Result<i32> {
    let Some(graph) = config.graph.clone() else {
        bail!(
            "no [graph] in the config: verify asks Microsoft Graph (see README \"Microsoft's record\")"
        );
    };
    let graph = crate::inbound::graph::Graph::new(graph).map_err(anyhow::Error::msg)?;
    let store = open_store(config, state_dir)?;
    let claims: Vec<_> = crate::ledger::report::ticket_claims(&store, ticket)?
        .into_iter()
        .filter(|c| incident.is_none_or(|i| c.incident_id.eq_ignore_ascii_case(i)))
        .collect();
    if claims.is_empty() {
        bail!(
            "{ticket} has no claim{}",
            incident.map(|i| format!(" for {i}")).unwrap_or_default()
        );
    }
    if json && claims.len() > 1 {
        bail!(
            "{ticket} has {} claims ({}): say which with --incident ID",
            claims.len(),
            claims
                .iter()
                .map(|c| c.incident_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut out = Vec::new();
    for c in &claims {
        if c.tenant_id.is_empty() || c.incident_id.is_empty() {
            let why =
                "the claim needs both a tenant and an incident ID before Microsoft can be asked";
            if !json {
                println!(
                    "{} {}: {why}",
                    c.ticket,
                    if c.incident_id.is_empty() {
                        "?"
                    } else {
                        &c.incident_id
                    }
                );
            }
            out.push(serde_json::json!({"ticket": c.ticket, "incident_id": c.incident_id, "tenant_id": c.tenant_id, "found": null, "error": why}));
            continue;
        }
        let record = graph.verify(&store, c, Utc::now())?;
        if json {
            let mut v = serde_json::to_value(&record)?;
            v["ticket"] = serde_json::json!(c.ticket);
            out.push(v);
        } else {
            println!("{} {} in tenant {}:", c.ticket, c.incident_id, c.tenant_id);
            for line in record.lines() {
                println!("  {line}");
            }
        }
    }
    if let (true, Some(one)) = (json, out.first()) {
        println!("{}", serde_json::to_string_pretty(one)?);
    }
    Ok(0)
}

/// `slaclaim set` / `unset`.
fn set(
    config: &Config,
    extractor: &Extractor,
    state_dir: &std::path::Path,
    args: &SetArgs,
    value: Option<&str>,
) -> Result<i32> {
    let mut store = open_store(config, state_dir)?;
    let ingester = config.ingester(extractor)?;
    ingester.expire_overdue(&mut store, Utc::now())?;
    let req = crate::ledger::report::SetRequest {
        ticket: &args.ticket,
        field: &args.field,
        value,
        incident: args.incident.as_deref(),
        json: args.json,
    };
    crate::ledger::report::set(&mut store, &ingester, &req, Utc::now())?;
    Ok(0)
}

/// `FIELD=SCORE`, for `eval --require`.
fn parse_requirement(s: &str) -> std::result::Result<(String, f64), String> {
    let (field, score) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FIELD=SCORE, got {s:?}"))?;
    let score: f64 = score
        .trim()
        .parse()
        .map_err(|e| format!("score {score:?}: {e}"))?;
    Ok((field.trim().to_string(), score))
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
    let email = crate::mail::message::Email::parse(raw);
    extractor.extract_guarded(&email).unwrap_or_else(|panic| {
        let mut e = extractor.extract(b"");
        e.problems = vec![format!("internal error while extracting: {panic}")];
        e
    })
}

/// `slaclaim check-config`: every problem, or "ok" and what the config will do.
/// What `check-config --online` finds wrong with the mailboxes: each one that cannot be
/// logged in to, each configured folder that cannot be selected.
fn online_problems(config: &Config) -> Result<Vec<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime
        .block_on(async {
            let mut problems = Vec::new();
            for m in &config.imap {
                let limit = std::time::Duration::from_secs(m.connect_timeout_secs.max(1) * 2);
                let mut session =
                    match tokio::time::timeout(limit, crate::inbound::imap::connect(m)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            problems.push(e.to_string());
                            continue;
                        }
                        Err(_) => {
                            problems
                                .push(format!("mailbox {}: no answer within {limit:?}", m.name));
                            continue;
                        }
                    };
                for folder in &m.folders {
                    if let Err(e) = crate::inbound::imap::select(&mut session, m, folder).await {
                        problems.push(e.to_string());
                    }
                }
                let _ = session.logout().await;
            }
            problems.extend(graph_problems(config));
            problems
        })
        .into_iter()
        .chain(store_problems(config))
        .collect())
}

/// `check-config --online` for `[store] url`: the database answers, with our
/// credentials, and its schema is not newer than this build. Nothing is written.
fn store_problems(config: &Config) -> Vec<String> {
    use crate::store::postgres::{Pg, SCHEMA_VERSION};
    let Ok(crate::store::Location::Postgres(pool)) =
        config.store.location(std::path::Path::new("."))
    else {
        return Vec::new();
    };
    let found = Pg::connect(pool.target(), pool.password()).and_then(|pg| pg.schema_version());
    match found {
        Ok(v) if v > SCHEMA_VERSION => vec![format!(
            "[store] the database has schema version {v}, newer than this slaclaim ({SCHEMA_VERSION})"
        )],
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("[store] {e}")],
    }
}

/// `check-config --online` for `[graph]`: a token from the configured customers'
/// tenants (at most three), which tests the app's secret and each customer's consent.
fn graph_problems(config: &Config) -> Vec<String> {
    let Some(graph) = config.graph.clone() else {
        return Vec::new();
    };
    let graph = match crate::inbound::graph::Graph::new(graph) {
        Ok(g) => g,
        Err(e) => return vec![e],
    };
    let tenants: Vec<&str> = config
        .customer
        .iter()
        .map(|c| c.tenant.as_str())
        .take(3)
        .collect();
    if tenants.is_empty() {
        return vec!["graph: no [[customer]] tenant to test the credentials against; add one, or run `slaclaim verify SLA-n`".into()];
    }
    tenants
        .into_iter()
        .filter_map(|t| graph.token(t).err().map(|(_, why)| format!("graph: {why}")))
        .collect()
}

fn check_config(
    path: Option<&std::path::Path>,
    store_url: Option<&str>,
    online: bool,
    credentials_dir: Option<&std::path::Path>,
) -> Result<i32> {
    let Some(path) = path else {
        bail!("check-config needs --config PATH");
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let mut config: Config = match toml::from_str(&text) {
        Ok(c) => c,
        Err(e) => {
            // Where and what, never the line (it may hold a secret).
            let origin = path.display().to_string();
            println!(
                "{}",
                crate::app::config::ConfigError::parse(&origin, &text, &e)
            );
            return Ok(1);
        }
    };
    if let Some(dir) = credentials_dir {
        config.read_credentials_from(dir);
    }
    if let Some(url) = store_url {
        config.store.url = Some(url.to_string());
    }
    // The service's own check (ExecStartPre), or the packaged config: judged as the
    // hardened unit will run it.
    let for_unit = std::env::var_os("INVOCATION_ID").is_some() || path.starts_with("/etc/slaclaim");
    let (unit_problems, unit_warnings) = if for_unit {
        config.unit_findings()
    } else {
        (Vec::new(), Vec::new())
    };
    let mut problems = config.problems();
    problems.extend(unit_problems);
    problems.extend(config.unreadable_secrets());
    if online && problems.is_empty() {
        problems.extend(online_problems(&config)?);
    }
    let unfinished = config.unfinished();
    for p in &problems {
        println!("{}: {p}", path.display());
    }
    if !unfinished.is_empty() {
        println!("{}: not finished, still to fill in:", path.display());
        for u in &unfinished {
            println!("  - {u}");
        }
    }
    if !problems.is_empty() || !unfinished.is_empty() {
        return Ok(1);
    }
    println!("ok");
    for w in config.warnings().into_iter().chain(unit_warnings) {
        println!("  warning: {w}");
    }
    if let Some(url) = &config.store.url {
        let shown = crate::store::postgres::Target::parse(url).map(|t| t.shown());
        println!(
            "  ledger: postgres://{}{}",
            shown.unwrap_or_default(),
            if online { " (connected)" } else { "" }
        );
    }
    println!(
        "  sources: {} IMAP mailbox(es){}, {} Maildir(s)",
        config.imap.len(),
        if online && !config.imap.is_empty() {
            " (logged in; every folder selected)"
        } else {
            ""
        },
        config.maildir.len()
    );
    println!(
        "  outgoing mail: {}",
        match config.outbox.transport {
            crate::outbound::outbox::TransportKind::File =>
                format!("files in {}", config.outbox.dir.display()),
            crate::outbound::outbox::TransportKind::Smtp => format!(
                "SMTP {}:{} from {}",
                config.outbox.host.clone().unwrap_or_default(),
                config
                    .outbox
                    .port
                    .map_or("default".into(), |p| p.to_string()),
                config.outbox.from
            ),
        }
    );
    println!(
        "  drafts to {} helpdesk address(es) in {}; reminders to {} manager(s) at {:?} days; digest {}",
        config.drafts.helpdesk.len(),
        config.drafts.language.code(),
        config.reminders.managers.len(),
        config.reminders.lead_days,
        if config.reminders.digest.trim().is_empty() {
            "off".to_string()
        } else {
            format!(
                "\"{}\" in {}",
                config.reminders.digest, config.deadline.time_zone
            )
        }
    );
    Ok(0)
}

/// Blocking threads of the daemon's runtime (see `run_daemon`).
pub const MAX_BLOCKING_THREADS: usize = 8;

/// `slaclaim run`: logs, signals and systemd around [`crate::app::daemon::run`].
fn run_daemon(
    config: Config,
    config_path: Option<PathBuf>,
    state_dir: PathBuf,
    dry_run: bool,
) -> Result<i32> {
    init_logs(&config.daemon.log_level);
    let secrets = config.unreadable_secrets();
    if !secrets.is_empty() {
        bail!("{}", secrets.join("; "));
    }
    // One thread: the daemon waits on its mail servers nearly all the time, and every
    // extra worker thread costs its own stack and malloc arena (idle RSS 17 -> 15 MB).
    // Messages are read, and secret commands run, on blocking threads: a few at most
    // (one reading at a time, plus ones left running over their budget), which also
    // keeps the unit's TasksMax meaningful. One idle for a second ends (tokio keeps them
    // 10 s): its stack and the chunks its malloc cache held go back before the quiet
    // daemon trims its heap (idle RSS 17.5 -> 16.7-17.3 MB).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let reload = std::sync::Arc::new(tokio::sync::Notify::new());
        spawn_signal_handler(shutdown.clone(), reload.clone())?;
        let options = crate::app::daemon::RunOptions {
            state_dir: state_dir.clone(),
            dry_run,
            config_path,
            reload,
        };
        let result = crate::app::daemon::run(config, options, shutdown, |summary| {
            tracing::info!(state = %state_dir.display(), "{summary}");
            eprintln!("slaclaim: {summary}; state in {}", state_dir.display());
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        })
        .await;
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        result.map(|()| 0)
    })
}

/// SIGTERM/SIGINT stop gracefully; a second one stops at once. SIGHUP reloads the config:
/// what the scheduler reads is applied, and changes to what is bound at start (sessions,
/// store, outbox) are named with a request to restart (see `daemon::RELOADABLE`).
fn spawn_signal_handler(
    shutdown: tokio_util::sync::CancellationToken,
    reload: std::sync::Arc<tokio::sync::Notify>,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the config");
                    reload.notify_one();
                    continue;
                }
            }
            if shutdown.is_cancelled() {
                tracing::warn!("second stop signal: exiting now");
                std::process::exit(130);
            }
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
            shutdown.cancel();
        }
    });
    Ok(())
}

/// journald-friendly logs on stderr: one event per line with key=value fields, no colours
/// unless on a terminal, no timestamps under systemd (the journal has them). RUST_LOG
/// wins over the configured level.
fn init_logs(level: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// The ledger the config names: `[store] url`, else the SQLite file in `state_dir`.
fn open_store(config: &Config, state_dir: &std::path::Path) -> Result<Store> {
    let location = config
        .store
        .location(state_dir)
        .map_err(anyhow::Error::msg)?;
    Ok(location.open()?)
}

/// `slaclaim store migrate`: the copy, and a table of what each side holds.
fn migrate_store(config: &Config, from: &str, to: Option<&str>) -> Result<i32> {
    use crate::store::postgres::{Pg, copy};
    let Some(path) = from.strip_prefix("sqlite:") else {
        bail!("--from {from:?}: want sqlite:PATH (a state directory or its slaclaim.sqlite3)");
    };
    let path = PathBuf::from(path);
    // A state directory, or the file in one: never a new, empty ledger made by mistake.
    let dir = if path.is_dir() {
        path.clone()
    } else if path
        .file_name()
        .is_some_and(|n| n == crate::store::FILE_NAME)
    {
        path.parent().map(PathBuf::from).unwrap_or_default()
    } else {
        bail!(
            "--from {}: no such state directory (or {} file)",
            path.display(),
            crate::store::FILE_NAME
        );
    };
    if !dir.join(crate::store::FILE_NAME).is_file() {
        bail!(
            "--from {}: holds no ledger ({} is missing)",
            path.display(),
            crate::store::FILE_NAME
        );
    }
    let mut wanted = config.store.clone();
    if let Some(to) = to {
        wanted.url = Some(to.to_string());
    }
    if wanted.url.is_none() {
        bail!("no database: give --to postgres://… or set [store] url");
    }
    let crate::store::Location::Postgres(pool) =
        wanted.location(&dir).map_err(anyhow::Error::msg)?
    else {
        bail!("--to must be a postgres:// URL");
    };
    let store = Store::open(&dir)?;
    let pg = Pg::connect(pool.target(), pool.password())?;
    let report = copy::sqlite_to_postgres(&store, &pg)?;
    println!("{:<20} {:>10} {:>10}", "table", "sqlite", "postgres");
    for t in &report.tables {
        println!("{:<20} {:>10} {:>10}", t.table, t.sqlite, t.postgres);
    }
    println!(
        "ok: {} copied to {}; every count matches, {} raw messages match their SHA-256",
        dir.join(crate::store::FILE_NAME).display(),
        pg.target(),
        report.raw_checked
    );
    Ok(0)
}
