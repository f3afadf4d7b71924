//! A fresh database per test on every backend: a temp file for SQLite; for
//! PostgreSQL and MariaDB, a new database (`CREATE DATABASE t_<pid>_<n>`) in a real
//! server that this test binary starts once, from the Debian packages, on a free
//! loopback port with a throwaway data directory.
//!
//! The servers are children in their own process groups, and a small watchdog
//! shell (also in its own group, so a Ctrl-C of the tests does not kill it first)
//! polls this process; once it is gone it stops the servers and removes their
//! data directories. Nothing depends on destructors of statics, which never run.
//!
//! Missing server binaries fail the tests with what to install: the suite is
//! never silently SQLite-only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tenmon_store::{DatabaseUrl, PoolOptions, Store};

/// The backends every test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
    Mariadb,
}

/// One test's database and a store opened (and migrated) on it.
pub struct TestDb {
    pub db: Db,
    pub store: Arc<dyn Store>,
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
}

/// Migration files of a dialect (what a first `migrate` must report).
fn migration_count(dialect: &str) -> usize {
    let dir = format!("{}/migrations/{dialect}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_dir(dir).unwrap().count()
}

/// A new, empty, migrated database on `db`.
pub async fn fresh(db: Db) -> TestDb {
    let (url, dir, dialect) = match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/t.db", dir.path().display());
            (url, Some(dir), "sqlite")
        }
        Db::Postgres => {
            let port = tokio::task::spawn_blocking(|| server(&POSTGRES, start_postgres)).await.unwrap();
            let name = database_name();
            // A database in the ICU en-US collation, as a production cluster would
            // likely have: keys must still sort byte-wise (their columns say "C").
            // PostgreSQL before 15 cannot choose ICU per database: the default then.
            let icu = format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu \
                 ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            );
            if let Err(e) = admin_pg(port, &icu).await {
                eprintln!("no ICU database ({e}); using the server's default collation");
                admin_pg(port, &format!("CREATE DATABASE {name}")).await.unwrap();
            }
            (format!("postgres://postgres@127.0.0.1:{port}/{name}"), None, "postgres")
        }
        Db::Mariadb => {
            let port = tokio::task::spawn_blocking(|| server(&MARIADB, start_mariadb)).await.unwrap();
            let name = database_name();
            // The server's usual default, case-insensitive: the tables must say binary.
            admin_mysql(port, &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"))
                .await;
            (format!("mysql://root@127.0.0.1:{port}/{name}"), None, "mysql")
        }
    };
    let url = DatabaseUrl::parse(&url).unwrap();
    let store = tenmon_store::open(&url, &PoolOptions { min: 0, max: 8, ssl: false }).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), migration_count(dialect), "{db:?}: every migration runs once");
    assert_eq!(store.migrate().await.unwrap(), 0, "{db:?}: migrations are idempotent");
    TestDb { db, store, url, _dir: dir }
}

/// A fresh PostgreSQL database owned by a role that is no superuser, so it cannot
/// create the pgvector extension (as on a managed server where nobody enabled it).
/// The store is opened but not migrated.
pub async fn postgres_without_extensions() -> (TestDb, u16) {
    let port = tokio::task::spawn_blocking(|| server(&POSTGRES, start_postgres)).await.unwrap();
    let name = database_name();
    admin_pg(port, &format!("CREATE ROLE {name} LOGIN NOSUPERUSER")).await.unwrap();
    admin_pg(port, &format!("CREATE DATABASE {name} OWNER {name}")).await.unwrap();
    let url = DatabaseUrl::parse(&format!("postgres://{name}@127.0.0.1:{port}/{name}")).unwrap();
    let store = tenmon_store::open(&url, &PoolOptions { min: 0, max: 8, ssl: false }).await.unwrap();
    (TestDb { db: Db::Postgres, store, url, _dir: None }, port)
}

/// Run SQL as the superuser in database `db` of the test PostgreSQL server.
pub async fn superuser_pg(port: u16, db: &str, sql: &str) {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&format!("postgres://postgres@127.0.0.1:{port}/{db}")).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

impl TestDb {
    /// The database's name (the last part of the URL).
    pub fn name(&self) -> String {
        self.url.expose().rsplit('/').next().unwrap().to_string()
    }

    /// Another store on the same database (a second replica, a restart).
    pub async fn reopen(&self) -> Arc<dyn Store> {
        tenmon_store::open(&self.url, &PoolOptions { min: 0, max: 8, ssl: false }).await.unwrap()
    }

    /// Open another store with these pool settings.
    pub async fn open_with(&self, pool: PoolOptions) -> Result<Arc<dyn Store>, tenmon_store::StoreError> {
        tenmon_store::open(&self.url, &pool).await
    }

    /// One integer from raw SQL (PostgreSQL only; to look at the server's views).
    pub async fn query_i64(&self, sql: &str) -> i64 {
        use sqlx::Connection;
        assert_eq!(self.db, Db::Postgres);
        let mut c = sqlx::PgConnection::connect(self.url.expose()).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }

    /// Run raw SQL behind the store's back (to damage a read model, or look at bytes).
    pub async fn exec(&self, sql: &str) -> u64 {
        use sqlx::Connection;
        let url = self.url.expose();
        match self.db {
            Db::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query(sql).execute(&mut c).await.unwrap().rows_affected()
            }
            Db::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query(sql).execute(&mut c).await.unwrap().rows_affected()
            }
            Db::Mariadb => {
                let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
                sqlx::query(sql).execute(&mut c).await.unwrap().rows_affected()
            }
        }
    }
}

fn database_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("t_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

async fn admin_pg(port: u16, sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&format!("postgres://postgres@127.0.0.1:{port}/postgres")).await?;
    sqlx::raw_sql(sql).execute(&mut c).await?;
    c.close().await
}

async fn admin_mysql(port: u16, sql: &str) {
    use sqlx::Connection;
    let mut c = sqlx::MySqlConnection::connect(&format!("mysql://root@127.0.0.1:{port}/")).await.unwrap();
    // A DDL statement: the text protocol (prepared DDL is not supported everywhere).
    sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

static POSTGRES: OnceLock<Result<u16, String>> = OnceLock::new();
static MARIADB: OnceLock<Result<u16, String>> = OnceLock::new();

/// The port of a server started once per test binary run (a failed start fails
/// every test that needs it, with the same message).
fn server(cell: &'static OnceLock<Result<u16, String>>, start: fn() -> Result<u16, String>) -> u16 {
    match cell.get_or_init(start) {
        Ok(port) => *port,
        Err(e) => panic!("{e}"),
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A data directory for a server; when running as root, owned by `user`, the
/// account the server runs as (neither server runs as root). Under /tmp, which
/// every user can traverse.
fn data_dir(prefix: &str, user: Option<&str>) -> Result<PathBuf, String> {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir_in("/tmp").map_err(|e| e.to_string())?.keep();
    if let Some(user) = user {
        let id = |flag: &str| -> Result<u32, String> {
            let out = Command::new("id").args([flag, user]).output().map_err(|e| e.to_string())?;
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .map_err(|_| format!("no system user {user:?} (it comes with the server package)"))
        };
        std::os::unix::fs::chown(&dir, Some(id("-u")?), Some(id("-g")?)).map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

/// A throwaway self-signed certificate and key in `dir`, owned by the server's
/// account (servers refuse keys others can read): the servers speak TLS, so
/// DATABASE_SSL is tested against a real handshake.
fn self_signed(dir: &Path, user: Option<&str>) -> Result<(PathBuf, PathBuf), String> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert))
    .map_err(|e| format!("cannot make a test certificate (is openssl installed?): {e}"))?;
    if let Some(user) = user {
        run(Command::new("chown").arg(format!("{user}:")).arg(&cert).arg(&key))?;
    }
    run(Command::new("chmod").arg("600").arg(&key))?;
    Ok((cert, key))
}

/// Run to completion; an error carries the output.
fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Stop the server's process group and remove `dir` once this process is gone.
fn watchdog(server_pid: u32, dir: &Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    Command::new("sh")
        .args([
            "-c",
            r#"while kill -0 "$0" 2>/dev/null; do sleep 0.5; done
               kill -QUIT -"$1" 2>/dev/null; sleep 2; kill -KILL -"$1" 2>/dev/null; rm -rf "$2""#,
        ])
        .arg(std::process::id().to_string())
        .arg(server_pid.to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("cannot start the watchdog: {e}"))
}

/// Spawn a server as the leader of a new process group, its output in `log`.
fn spawn_server(cmd: &mut Command, log: &Path) -> Result<std::process::Child, String> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
    cmd.spawn().map_err(|e| format!("{cmd:?}: {e}"))
}

/// Poll `ready` until it holds, the server exits, or 60 s pass.
fn wait_ready(child: &mut std::process::Child, log: &Path, mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if ready() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!("the database server exited ({status}):\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "the database server did not become ready in 60 s:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    ))
}

/// The newest PostgreSQL server binaries Debian installed.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("postgres").exists() && bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// `program` run as the `postgres` account when we are root (initdb and the server
/// refuse root), directly otherwise.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start_postgres() -> Result<u16, String> {
    let bin = postgres_bin().ok_or(
        "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: the store tests run on PostgreSQL \
         too; install it with `apt-get install --no-install-recommends postgresql` (.ci/run does)",
    )?;
    let dir = data_dir("tenmon-store-pg-", is_root().then_some("postgres"))?;
    let data = dir.join("data");
    run(as_postgres(&bin.join("initdb")).arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "--auth=trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ]))?;
    let (cert, key) = self_signed(&dir, is_root().then_some("postgres"))?;
    let port = free_port();
    let log = dir.join("server.log");
    let mut child = spawn_server(
        as_postgres(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(&dir)
            // Throwaway data: durability off, for speed.
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "ssl=on"])
            .arg("-c")
            .arg(format!("ssl_cert_file={}", cert.display()))
            .arg("-c")
            .arg(format!("ssl_key_file={}", key.display())),
        &log,
    )?;
    watchdog(child.id(), &dir)?;
    let isready = bin.join("pg_isready");
    wait_ready(&mut child, &log, || {
        Command::new(&isready)
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })?;
    Ok(port)
}

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.exists())
}

fn start_mariadb() -> Result<u16, String> {
    let missing = "MariaDB server binaries not found (mariadbd, mariadb-install-db): the store tests run on \
                   MariaDB too; install it with `apt-get install --no-install-recommends mariadb-server` (.ci/run does)";
    let server = first_existing(&["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]).ok_or(missing)?;
    let install = first_existing(&["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"]).ok_or(missing)?;
    let admin = first_existing(&["/usr/bin/mariadb-admin", "/usr/bin/mysqladmin"]).ok_or(missing)?;
    // As root, mariadbd switches to the `mysql` account itself.
    let user = is_root().then_some("mysql");
    let dir = data_dir("tenmon-store-mariadb-", user)?;
    let data = dir.join("data");
    let mut cmd = Command::new(&install);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
    if let Some(user) = user {
        cmd.arg(format!("--user={user}"));
    }
    run(&mut cmd)?;
    let (cert, key) = self_signed(&dir, user)?;
    let port = free_port();
    let log = dir.join("server.log");
    let mut cmd = Command::new(&server);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--port={port}"))
        .arg(format!("--socket={}", dir.join("sock").display()))
        .arg(format!("--pid-file={}", dir.join("pid").display()))
        .args(["--bind-address=127.0.0.1", "--skip-grant-tables", "--skip-name-resolve", "--skip-log-bin"])
        .args(["--max-connections=500", "--character-set-server=utf8mb4"])
        .arg(format!("--ssl-cert={}", cert.display()))
        .arg(format!("--ssl-key={}", key.display()))
        // Throwaway data: durability off, for speed.
        .args(["--innodb-flush-log-at-trx-commit=0", "--skip-innodb-doublewrite", "--innodb-buffer-pool-size=64M"]);
    if let Some(user) = user {
        cmd.arg(format!("--user={user}"));
    }
    let mut child = spawn_server(&mut cmd, &log)?;
    watchdog(child.id(), &dir)?;
    wait_ready(&mut child, &log, || {
        Command::new(&admin)
            .args(["--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root"])
            .args(["--connect-timeout=2", "ping"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })?;
    Ok(port)
}
