//! The command line: `serve` (the default), `migrate`, `check-config`, `version`,
//! `openapi`, `events replay`. Exit codes: 0 success, 1 runtime failure, 2 bad
//! configuration or usage.

use crate::app::AppState;
use crate::config::{Config, ConfigError, LoadOptions};
use crate::{serve, telemetry};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tenmon_store::{Store, StoreError};

#[derive(Debug, Parser)]
#[command(name = "tenmon-ark", version, about = "TENMON-ARK: a self-hostable AI chat server")]
pub struct Cli {
    /// TOML settings file; the environment and .env take precedence over it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The .env file to read, if it exists.
    #[arg(long, global = true, value_name = "FILE", default_value = ".env")]
    pub env_file: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Parse and validate the configuration, print it with secrets redacted.
    CheckConfig,
    /// Print the version.
    Version,
    /// Print the OpenAPI document.
    Openapi,
    /// The event log.
    Events {
        #[command(subcommand)]
        action: EventsCommand,
    },
    /// Retention: remove conversations idle longer than DATA_RETENTION_DAYS (or
    /// --days) and other expired rows.
    Purge {
        /// Only count what would go.
        #[arg(long)]
        dry_run: bool,
        /// Override DATA_RETENTION_DAYS.
        #[arg(long)]
        days: Option<u32>,
    },
    /// Encryption keys (ENCRYPTION_KEY).
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Knowledge bases.
    Kb {
        #[command(subcommand)]
        action: KbCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new random master key (base64, 32 bytes).
    Generate,
    /// Rewrap every data key under the first key of ENCRYPTION_KEY ("NEW,OLD"), while
    /// the server keeps running; afterwards OLD can be dropped from the setting.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: exit 1 naming the first edited, removed or reordered record.
    Verify {
        /// The newest record's hash as noted earlier (catches removal of the newest records).
        #[arg(long)]
        expect_head: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Import a JSONL or CSV file (UTF-8 or Shift_JIS) into a knowledge base: all rows or none.
    Import {
        /// The knowledge base (created if missing).
        #[arg(long, default_value = "mnp")]
        kb: String,
        /// jsonl or csv (default: from the file name).
        #[arg(long)]
        format: Option<String>,
        file: PathBuf,
    },
    /// Export a knowledge base to stdout.
    Export {
        #[arg(long, default_value = "mnp")]
        kb: String,
        /// jsonl, csv, or csv-sjis (CSV in Shift_JIS for Excel).
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
    /// Measure search quality on a labelled query set: hit@1, hit@3, MRR.
    Eval {
        #[arg(long, default_value = "mnp")]
        kb: String,
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Rebuild the read models (conversations, messages) from the event log.
    Replay,
}

/// Why a command failed, and so its exit code.
enum Failure {
    Config(ConfigError),
    Runtime(anyhow::Error),
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::Config(e)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Runtime(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Runtime(e.into())
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(e)) => {
            let _ = writeln!(std::io::stderr(), "{e}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            tracing::error!(error = format!("{e:#}"), "fatal");
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let command = cli.command.unwrap_or(Command::Serve);
    match command {
        Command::Version => {
            writeln!(out, "tenmon-ark {}", env!("CARGO_PKG_VERSION"))?;
            return Ok(());
        }
        Command::Openapi => {
            let spec = serde_json::to_string_pretty(&crate::router::openapi_json()).map_err(anyhow::Error::from)?;
            writeln!(out, "{spec}")?;
            return Ok(());
        }
        _ => {}
    }
    let config = Config::load(&LoadOptions { dotenv: Some(cli.env_file.clone()), config_file: cli.config.clone() })?;
    telemetry::init(&config.log);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    match command {
        Command::CheckConfig => {
            for r in &config.resolved {
                writeln!(out, "{}={}    # {}", r.key, r.shown, r.origin)?;
            }
            writeln!(out, "# configuration OK")?;
            Ok(())
        }
        Command::Migrate => {
            let store = open_store(&config).await?;
            let applied = store.migrate().await.map_err(anyhow::Error::from)?;
            writeln!(out, "applied {applied} migration(s) to {}", config.database.url)?;
            store.close().await;
            Ok(())
        }
        Command::Events { action: EventsCommand::Replay } => {
            let store = open_store(&config).await?;
            store.migrate().await.map_err(anyhow::Error::from)?;
            let stats = store.replay().await.map_err(anyhow::Error::from)?;
            writeln!(out, "{}", serde_json::to_string(&stats).map_err(anyhow::Error::from)?)?;
            store.close().await;
            Ok(())
        }
        Command::Kb { action } => kb_command(config, action, &mut out).await,
        Command::Purge { dry_run, days } => {
            let Some(days) = days.or(config.privacy.retention_days) else {
                return Err(anyhow::anyhow!("no retention limit: set DATA_RETENTION_DAYS or pass --days").into());
            };
            if days == 0 {
                return Err(anyhow::anyhow!("--days must be at least 1").into());
            }
            let store = open_store(&config).await?;
            store.migrate().await.map_err(anyhow::Error::from)?;
            let state = AppState::build(config, store.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let counts = crate::privacy::purge(&state, days, dry_run).await.map_err(anyhow::Error::from)?;
            let report =
                serde_json::json!({ "dry_run": dry_run, "days": days, "rows": counts.tables, "total": counts.total() });
            writeln!(out, "{report}")?;
            store.close().await;
            Ok(())
        }
        Command::Keys { action: KeysCommand::Generate } => {
            let key = tenmon_privacy::MasterKey::generate();
            writeln!(out, "{}", key.to_base64().as_str())?;
            Ok(())
        }
        Command::Keys { action: KeysCommand::Rotate } => {
            let Some(key) = &config.privacy.encryption_key else {
                return Err(anyhow::anyhow!("ENCRYPTION_KEY is not set").into());
            };
            let ring = tenmon_privacy::Keyring::parse(secrecy::ExposeSecret::expose_secret(key))
                .map_err(|e| anyhow::anyhow!("ENCRYPTION_KEY: {e}"))?;
            let current = ring.current_id().to_string();
            let store = open_store(&config).await?;
            store.migrate().await.map_err(anyhow::Error::from)?;
            let sealed = tenmon_store::EncryptedStore::new(store.clone(), ring);
            let n = sealed.rotate().await.map_err(anyhow::Error::from)?;
            writeln!(out, "rewrapped {n} data key(s) under key {current}")?;
            store.close().await;
            Ok(())
        }
        Command::Audit { action: AuditCommand::Verify { expect_head } } => {
            let store = open_store(&config).await?;
            store.migrate().await.map_err(anyhow::Error::from)?;
            let result = crate::audit::verify(store.as_ref(), expect_head.as_deref()).await;
            store.close().await;
            match result {
                Ok((n, head)) => {
                    writeln!(out, "audit log OK: {n} record(s), head {head}")?;
                    Ok(())
                }
                Err(e) => Err(anyhow::anyhow!("audit log verification failed: {e}").into()),
            }
        }
        Command::Serve => serve_command(config).await,
        Command::Version | Command::Openapi => Ok(()),
    }
}

async fn kb_command(config: Config, action: KbCommand, out: &mut impl Write) -> Result<(), Failure> {
    use tenmon_kb::Format;
    let store = open_store(&config).await?;
    store.migrate().await.map_err(anyhow::Error::from)?;
    let settings = tenmon_kb::KbSettings { min_confidence: config.kb.min_confidence, ..Default::default() };
    let kb = tenmon_kb::KnowledgeBase::load(store.clone(), settings).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    match action {
        KbCommand::Import { kb: name, format, file } => {
            let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let csv = format.as_deref() == Some("csv")
                || (format.is_none() && file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")));
            if !kb.bases().await.map_err(|e| anyhow::anyhow!("{e}"))?.iter().any(|b| b.id == name) {
                kb.put_base(&name, &name, "").await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            match kb.import(&name, &bytes, if csv { Format::Csv } else { Format::Jsonl }).await {
                Ok((created, updated)) => writeln!(out, "imported into {name}: {created} created, {updated} updated")?,
                Err(tenmon_kb::KbError::Import(rows)) => {
                    let mut err = std::io::stderr();
                    for r in &rows {
                        writeln!(err, "line {}: {}", r.line, r.message)?;
                    }
                    return Err(anyhow::anyhow!("{} problem(s); nothing was imported", rows.len()).into());
                }
                Err(e) => return Err(anyhow::anyhow!("{e}").into()),
            }
        }
        KbCommand::Export { kb: name, format } => {
            let format = match format.as_str() {
                "jsonl" => Format::Jsonl,
                "csv" => Format::Csv,
                "csv-sjis" => Format::CsvShiftJis,
                other => {
                    return Err(ConfigError::new("--format", format!("{other:?} is not jsonl, csv or csv-sjis")).into())
                }
            };
            let bytes = kb.export(&name, format).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            out.write_all(&bytes)?;
        }
        KbCommand::Eval { kb: name, file } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let r = tenmon_kb::eval::evaluate(&kb, &text, &[name]).map_err(|e| anyhow::anyhow!("{e}"))?;
            for m in &r.misses {
                writeln!(out, "miss: {}  expected {:?}  got {:?}", m.query, m.expected, m.got)?;
            }
            writeln!(out, "queries {}  hit@1 {:.3}  hit@3 {:.3}  MRR {:.3}", r.queries, r.hit_at_1, r.hit_at_3, r.mrr)?;
        }
    }
    store.close().await;
    Ok(())
}

async fn open_store(config: &Config) -> Result<Arc<dyn Store>, Failure> {
    match tenmon_store::open(&config.database.url, &config.database.pool).await {
        Ok(store) => Ok(store),
        Err(StoreError::Unsupported(msg)) => Err(ConfigError::new("DATABASE_URL", msg).into()),
        Err(e) => Err(anyhow::anyhow!("cannot open the database {}: {e}", config.database.url).into()),
    }
}

async fn serve_command(config: Config) -> Result<(), Failure> {
    let store = open_store(&config).await?;
    let applied = store.migrate().await.map_err(anyhow::Error::from)?;
    if applied > 0 {
        tracing::info!(applied, "database migrated");
    }
    let addr = std::net::SocketAddr::new(config.server.host, config.server.port);
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let tls_listener = match &config.server.tls {
        Some(tls) => {
            let tls_addr = std::net::SocketAddr::new(config.server.host, tls.https_port);
            let l = std::net::TcpListener::bind(tls_addr)
                .map_err(|e| anyhow::anyhow!("cannot listen on {tls_addr}: {e}"))?;
            l.set_nonblocking(true)?;
            Some(l)
        }
        None => None,
    };
    let state =
        AppState::build(config, store).await.map_err(|e| anyhow::anyhow!("cannot load the knowledge bases: {e}"))?;
    state.tasks.spawn(serve::shutdown_on_signal(state.clone()));
    serve::run(state, listener, tls_listener).await?;
    Ok(())
}
