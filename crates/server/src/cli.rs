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
    /// User accounts.
    Users {
        #[command(subcommand)]
        action: UsersCommand,
    },
    /// Check the configuration, the database and (with --live) a running server;
    /// exit 0 when all is well. The container health check runs `doctor --live`.
    Doctor {
        /// Only ask the running server's /health/live (fast; for health checks).
        #[arg(long)]
        live: bool,
    },
    /// Write a consistent copy of the SQLite database while the server runs
    /// (`VACUUM INTO`); for PostgreSQL use pg_dump, for MySQL mysqldump.
    Backup {
        /// The file to create (must not exist).
        out: PathBuf,
    },
    /// Put a backup made by `backup` in place of the SQLite database. The server must
    /// be stopped; the current database is kept beside it as `*.before-restore`.
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    /// Copy every row from one database to another (SQLite, PostgreSQL, MySQL /
    /// MariaDB, either way), then check each table's row count and checksum on both
    /// sides. Stop the server first. Run it again after an interruption: it goes on
    /// where it stopped; nothing is deleted.
    MigrateData {
        /// The database to copy from (a DATABASE_URL).
        #[arg(long)]
        from: String,
        /// The database to copy into (migrated first; should be empty).
        #[arg(long)]
        to: String,
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
pub enum UsersCommand {
    /// Create an account; the password is read from the first line of standard input.
    Create {
        email: String,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
        /// admin, operator or user (default user; --admin wins).
        #[arg(long, default_value = "user")]
        role: String,
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
        Command::Users { action: UsersCommand::Create { email, admin, role } } => {
            let role = if admin { "admin".to_string() } else { role };
            if !["admin", "operator", "user"].contains(&role.as_str()) {
                return Err(anyhow::anyhow!("--role must be admin, operator or user").into());
            }
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let store = open_store(&config).await?;
            store.migrate().await.map_err(anyhow::Error::from)?;
            let state = AppState::build(config, store.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = state
                .accounts
                .signup(&email, password, "", &role)
                .await
                .map_err(|e| anyhow::anyhow!("cannot create the account: {e}"))?;
            crate::audit::record(
                &state,
                None,
                "user.created",
                Some(&user.id),
                serde_json::json!({"role": role, "by": "cli"}),
            )
            .await;
            writeln!(out, "created {role} {} ({})", user.email, user.id)?;
            store.close().await;
            Ok(())
        }
        Command::Doctor { live } => doctor(&config, live, &mut out).await,
        Command::Backup { out: path } => {
            if path.exists() {
                return Err(anyhow::anyhow!("{} exists; choose a new file", path.display()).into());
            }
            let store = open_store(&config).await?;
            store.backup(&path.to_string_lossy()).await.map_err(|e| anyhow::anyhow!("backup failed: {e}"))?;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            writeln!(out, "backed up {} to {} ({size} bytes)", config.database.url, path.display())?;
            store.close().await;
            Ok(())
        }
        Command::Restore { file } => restore(&config, &file, &mut out).await,
        Command::MigrateData { from, to } => migrate_data(&config, &from, &to, &mut out).await,
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
    let settings = crate::embeddings::kb_settings(&config);
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
            if config.kb.embedding.is_some() {
                // Hybrid search needs every entry's vector.
                let n = kb.backfill().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                writeln!(out, "embedded {n} entries")?;
            }
            let r = tenmon_kb::eval::evaluate(&kb, &text, &[name]).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            for m in &r.misses {
                writeln!(out, "miss: {}  expected {:?}  got {:?}", m.query, m.expected, m.got)?;
            }
            writeln!(out, "queries {}  hit@1 {:.3}  hit@3 {:.3}  MRR {:.3}", r.queries, r.hit_at_1, r.hit_at_3, r.mrr)?;
        }
    }
    store.close().await;
    Ok(())
}

async fn restore(config: &Config, file: &std::path::Path, out: &mut impl Write) -> Result<(), Failure> {
    let Some(target) = config.database.url.sqlite_path().map(PathBuf::from) else {
        return Err(
            anyhow::anyhow!("restore is for SQLite; restore PostgreSQL with pg_restore, MySQL with mysql").into()
        );
    };
    // A running server holds the file open: replacing it under it would lose writes.
    let url = format!("http://127.0.0.1:{}/health/live", config.server.port);
    let client =
        reqwest::Client::builder().timeout(std::time::Duration::from_secs(2)).build().map_err(anyhow::Error::from)?;
    if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
        return Err(anyhow::anyhow!(
            "a server answers on port {}: stop it first (systemctl stop tenmon-ark)",
            config.server.port
        )
        .into());
    }
    // The backup must be a TENMON-ARK database that opens and is intact.
    let backup_url = tenmon_store::DatabaseUrl::parse(&format!("sqlite://{}", file.display()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !file.is_file() {
        return Err(anyhow::anyhow!("{} is not a file", file.display()).into());
    }
    let backup = tenmon_store::open(&backup_url, &config.database.pool)
        .await
        .map_err(|e| anyhow::anyhow!("{} does not open: {e}", file.display()))?;
    let checked = backup.ping().await.and(backup.count_users().await.map(|_| ()));
    backup.close().await;
    checked.map_err(|e| anyhow::anyhow!("{} is not a TENMON-ARK backup: {e}", file.display()))?;
    // Copy beside the target, then rename: the database is never half written.
    let staging = target.with_extension("restoring");
    std::fs::copy(file, &staging).map_err(|e| anyhow::anyhow!("cannot copy to {}: {e}", staging.display()))?;
    if target.exists() {
        let keep = target.with_extension("before-restore");
        std::fs::rename(&target, &keep).map_err(|e| anyhow::anyhow!("cannot move the current database aside: {e}"))?;
        writeln!(out, "the current database is kept as {}", keep.display())?;
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
    }
    std::fs::rename(&staging, &target).map_err(|e| anyhow::anyhow!("cannot put the backup in place: {e}"))?;
    writeln!(out, "restored {} from {}", target.display(), file.display())?;
    Ok(())
}

/// Checks, one line each: OK or the problem. Exit 1 on any problem.
async fn doctor(config: &Config, live: bool, out: &mut impl Write) -> Result<(), Failure> {
    // A wildcard listener is reached on loopback; a specific address as it is.
    let host = match config.server.host {
        h if h.is_unspecified() || h.is_loopback() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(h) => format!("[{h}]"),
        h => h.to_string(),
    };
    let url = format!("http://{host}:{}/health/live", config.server.port);
    let probe = async {
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(3)).build()?;
        let res = client.get(&url).send().await?;
        Ok::<_, reqwest::Error>(res.status())
    };
    let server = match probe.await {
        Ok(s) if s.is_success() => Ok(format!("server answers on port {}", config.server.port)),
        Ok(s) => Err(format!("server on port {} answered {s}", config.server.port)),
        Err(e) => Err(format!("no server on port {}: {}", config.server.port, e.without_url())),
    };
    if live {
        return match server {
            Ok(m) => {
                writeln!(out, "ok: {m}")?;
                Ok(())
            }
            Err(m) => Err(anyhow::anyhow!("{m}").into()),
        };
    }
    let mut problems = 0;
    let mut line = |ok: bool, msg: String, out: &mut dyn Write| -> std::io::Result<()> {
        if !ok {
            problems += 1;
        }
        writeln!(out, "{} {msg}", if ok { "ok:     " } else { "PROBLEM:" })
    };
    line(true, "configuration parses".into(), out)?;
    match open_store(config).await {
        Ok(store) => {
            let ping = store.ping().await;
            line(
                ping.is_ok(),
                format!(
                    "database {} {}",
                    config.database.url,
                    if ping.is_ok() { "answers".to_string() } else { format!("fails: {:?}", ping.err()) }
                ),
                out,
            )?;
            match store.migrate().await {
                Ok(n) => line(true, format!("migrations up to date ({n} applied now)"), out)?,
                Err(e) => line(false, format!("migrations: {e}"), out)?,
            }
            store.close().await;
        }
        Err(_) => {
            line(false, format!("database {} cannot be opened", config.database.url), out)?;
            writeln!(out, "  fix: check DATABASE_URL, that the server runs and the password is right")?;
        }
    }
    if let Some(dir) = config.data_dir() {
        // The service user must be able to write the data directory (WAL, backups).
        let probe = dir.join(format!(".doctor-{}", std::process::id()));
        let writable = std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe)).is_ok();
        line(writable, format!("{} is writable", dir.display()), out)?;
        if !writable {
            writeln!(
                out,
                "  fix: chown the directory to the service user (e.g. chown -R tenmon-ark: {})",
                dir.display()
            )?;
        }
    }
    if let Some(tls) = &config.server.tls {
        let pem = |p: &std::path::Path| std::fs::read_to_string(p).map(|s| s.contains("-----BEGIN")).unwrap_or(false);
        let ok = pem(&tls.cert_path) && pem(&tls.key_path);
        line(ok, format!("TLS files {} and {} are PEM", tls.cert_path.display(), tls.key_path.display()), out)?;
        if !ok {
            writeln!(out, "  fix: point SSL_CERT_PATH/SSL_KEY_PATH at fullchain.pem and privkey.pem (certbot)")?;
        }
    }
    match config.data_dir() {
        Some(dir) => match crate::system::disk_space(&dir).ok().map(|(free, _)| free) {
            Some(b) => line(
                b >= config.health.disk_min_free_bytes,
                format!("{} MiB free in {}", b / 1024 / 1024, dir.display()),
                out,
            )?,
            None => line(false, format!("cannot read free space of {}", dir.display()), out)?,
        },
        None => writeln!(out, "note:    the database is a server: its free disk space is for its own monitoring")?,
    }
    if let Some(r) = &config.redis {
        let answer = async {
            let client = redis::Client::open(secrecy::ExposeSecret::expose_secret(&r.url))?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(3), answer).await {
            Ok(Ok(_)) => line(true, format!("Redis {} answers", r.shown), out)?,
            Ok(Err(e)) => {
                line(false, format!("Redis {} fails: {e}", r.shown), out)?;
                writeln!(
                    out,
                    "  fix: check REDIS_URL / REDIS_PASSWORD and that Redis runs (replicas then limit on their own)"
                )?;
            }
            Err(_) => {
                line(false, format!("Redis {} did not answer within 3 s", r.shown), out)?;
                writeln!(out, "  fix: check the host and port in REDIS_URL and the firewall")?;
            }
        }
    }
    let storage = match crate::files::open_objects(&config.files) {
        Ok(objects) => crate::files::probe(&objects).await,
        Err(e) => Err(e),
    };
    match storage {
        Ok(()) => line(true, format!("file storage {} is writable", storage_name(config)), out)?,
        Err(e) => {
            line(false, format!("file storage {} fails: {e}", storage_name(config)), out)?;
            writeln!(
                out,
                "  fix: make FILE_STORAGE_DIR writable by the service user, or check S3_BUCKET, S3_ENDPOINT, S3_REGION and the AWS keys"
            )?;
        }
    }
    if config.llm.upstreams.is_empty() {
        writeln!(out, "note:    no model configured (OPENAI_API_KEY): answers come from the knowledge base only")?;
    }
    for u in &config.llm.upstreams {
        // Reachable and the key accepted: GET /models answers 200 on OpenAI and most
        // compatible servers.
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build();
        let mut req = match &client {
            Ok(c) => c.get(format!("{}/models", u.base_url.trim_end_matches('/'))),
            Err(_) => continue,
        };
        if let Some(k) = &u.api_key {
            req = req.bearer_auth(secrecy::ExposeSecret::expose_secret(k));
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => line(true, format!("model upstream {} answers", u.name), out)?,
            Ok(r) if r.status().as_u16() == 401 || r.status().as_u16() == 403 => {
                line(false, format!("model upstream {} refuses the key ({})", u.name, r.status()), out)?;
                writeln!(out, "  fix: check OPENAI_API_KEY (or the upstream's api_key)")?;
            }
            Ok(r) => writeln!(out, "note:    model upstream {} answered {} to /models", u.name, r.status())?,
            Err(e) => {
                line(false, format!("model upstream {} unreachable: {}", u.name, e.without_url()), out)?;
                writeln!(out, "  fix: check OPENAI_BASE_URL and outbound network/proxy settings")?;
            }
        }
    }
    match server {
        Ok(m) => line(true, m, out)?,
        Err(m) => writeln!(out, "note:    {m}")?,
    }
    if problems > 0 {
        return Err(anyhow::anyhow!("{problems} problem(s) found").into());
    }
    Ok(())
}

fn storage_name(config: &Config) -> String {
    match &config.files.s3 {
        Some(s3) => format!("s3://{}", s3.bucket),
        None => config.files.dir.display().to_string(),
    }
}

async fn open_url(config: &Config, key: &'static str, raw: &str) -> Result<Arc<dyn Store>, Failure> {
    let url = tenmon_store::DatabaseUrl::parse(raw).map_err(|e| ConfigError::new(key, e))?;
    let store = tenmon_store::open(&url, &config.database.pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open {} ({key}): {e}", url.redacted()))?;
    store.migrate().await.map_err(|e| anyhow::anyhow!("cannot migrate {}: {e}", url.redacted()))?;
    Ok(store)
}

async fn migrate_data(config: &Config, from: &str, to: &str, out: &mut impl Write) -> Result<(), Failure> {
    let source = open_url(config, "--from", from).await?;
    let target = open_url(config, "--to", to).await?;
    writeln!(out, "{:<22} {:>10} {:>10} {:>10}  checksum", "table", "source", "target", "copied")?;
    let mut lines = Vec::new();
    let result = tenmon_store::migrate::migrate_data(source.as_ref(), target.as_ref(), |r| {
        lines.push(format!(
            "{:<22} {:>10} {:>10} {:>10}  {}",
            r.table, r.source_rows, r.target_rows, r.copied, r.source_checksum
        ));
    })
    .await;
    for l in &lines {
        writeln!(out, "{l}")?;
    }
    source.close().await;
    target.close().await;
    let reports = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    let rows: u64 = reports.iter().map(|r| r.source_rows).sum();
    let copied: u64 = reports.iter().map(|r| r.copied).sum();
    writeln!(out, "ok: {} tables, {rows} rows, {copied} copied now; every count and checksum matches", reports.len())?;
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
