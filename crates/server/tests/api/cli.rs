//! The real binary: exit codes, config errors, check-config, migrate, signals.

use crate::helpers::{binary, free_port, wait_healthy, TestApp};
use std::time::Duration;

fn run(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = binary(dir).envs(env.iter().copied()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn each_bad_value_gives_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("PORT", "eighty"),
        ("PORT", "0"),
        ("HOST", "example.com"),
        ("DATABASE_URL", "oracle://db/x"),
        ("DATABASE_POOL_MAX", "-3"),
        ("LOG_LEVEL", "[["),
        ("LOG_FORMAT", "xml"),
        ("APP_ENV", "moon"),
        ("CORS_ORIGIN", "not an origin"),
        ("SHUTDOWN_GRACE_SECONDS", "soon"),
        ("SSL_CERT_PATH", "/nonexistent.pem"),
    ] {
        let (code, _, stderr) = run(dir.path(), &[(var, value)], &["check-config"]);
        assert_eq!(code, 2, "{var}={value}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{var}={value} printed {stderr:?}");
        assert!(lines[0].starts_with("configuration error: "), "{}", lines[0]);
        assert!(
            lines[0].contains(var) || (var == "SSL_CERT_PATH" && lines[0].contains("SSL_KEY_PATH")),
            "{var}: {}",
            lines[0]
        );
    }
    // `serve` stops the same way before binding anything.
    let (code, _, stderr) = run(dir.path(), &[("PORT", "eighty")], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("PORT"));
}

#[test]
fn unreachable_database_server_says_why_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["postgres://u:hunter2@127.0.0.1:1/db", "mysql://u:hunter2@127.0.0.1:1/db"] {
        let (code, _, stderr) = run(dir.path(), &[("DATABASE_URL", url)], &["migrate"]);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("u:***@127.0.0.1:1/db") && stderr.contains("refused"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "password leaked: {stderr}");
    }
}

#[test]
fn check_config_redacts_secrets_and_shows_origins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "PORT=4100\nMETRICS_TOKEN=dotenv-secret-value\n").unwrap();
    std::fs::write(dir.path().join("tenmon.toml"), "port = 4200\nlog_level = \"debug\"\n").unwrap();
    let (code, stdout, stderr) = run(
        dir.path(),
        &[("DATABASE_URL", "sqlite://x/y.db?password=pw-in-url")],
        &["--config", "tenmon.toml", "check-config"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("PORT=4100    # .env"), "{stdout}");
    assert!(stdout.contains("LOG_LEVEL=debug    # config file"), "{stdout}");
    assert!(stdout.contains("HOST=127.0.0.1    # default"), "{stdout}");
    assert!(stdout.contains("DATABASE_URL=sqlite://x/y.db?password=***    # environment"), "{stdout}");
    assert!(stdout.contains("METRICS_TOKEN=[redacted]"), "{stdout}");
    assert!(!stdout.contains("dotenv-secret-value") && !stdout.contains("pw-in-url"), "{stdout}");
}

#[test]
fn version_and_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &[], &["version"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), format!("tenmon-ark {}", env!("CARGO_PKG_VERSION")));
    let (code, stdout, stderr) = run(dir.path(), &[], &["migrate"]);
    assert_eq!(code, 0, "{stderr}");
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../store/migrations/sqlite")).unwrap().count();
    assert!(stdout.contains(&format!("applied {files} migration")), "{stdout}");
    assert!(dir.path().join("data/tenmon-ark.db").exists(), "default database created under data/");
    let (_, stdout, _) = run(dir.path(), &[], &["migrate"]);
    assert!(stdout.contains("applied 0 migration"), "{stdout}");
    let (code, stdout, _) = run(dir.path(), &[], &["events", "replay"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("\"events\":0"), "{stdout}");
}

#[tokio::test]
async fn serves_on_a_new_sqlite_file_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = tokio::process::Command::from(binary(dir.path()))
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(&format!("http://127.0.0.1:{port}/health")).await;
    assert!(dir.path().join("data/tenmon-ark.db").exists());
    let pid = rustix::process::Pid::from_raw(child.id().unwrap() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).await.unwrap();
    assert!(stderr.contains("shutdown complete"), "{stderr}");
    // Every line is JSON (LOG_FORMAT=json).
    for line in stderr.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}

#[tokio::test]
async fn port_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, _, stderr) = run(dir.path(), &[("PORT", &port)], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot listen on 127.0.0.1:"), "{stderr}");
}

/// Native TLS (for deployments without nginx): HTTPS on HTTPS_PORT with HSTS, plain
/// HTTP still on PORT without it.
#[tokio::test]
async fn serves_https_with_hsts_when_a_certificate_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (Debian package openssl) makes the test certificate");
    assert!(status.success());
    let (port, https_port) = (free_port(), free_port());
    let mut child = tokio::process::Command::from(binary(dir.path()))
        .env("PORT", port.to_string())
        .env("HTTPS_PORT", https_port.to_string())
        .env("SSL_CERT_PATH", &cert)
        .env("SSL_KEY_PATH", &key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_healthy(&format!("http://127.0.0.1:{port}/health")).await;
    let tls = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let mut res = None;
    for _ in 0..100 {
        if let Ok(r) = tls.get(format!("https://127.0.0.1:{https_port}/health")).send().await {
            res = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let res = res.expect("HTTPS answers");
    assert_eq!(res.status(), 200);
    assert!(res.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/health")).await.unwrap();
    assert!(!plain.headers().contains_key("strict-transport-security"));
    let pid = rustix::process::Pid::from_raw(child.id().unwrap() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// `Type=notify`: READY=1 after binding, WATCHDOG=1 pings, STOPPING=1 on SIGTERM,
/// read from a notify socket of our own (what systemd would provide).
#[tokio::test]
async fn notifies_systemd_ready_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let port = free_port();
    let mut child = tokio::process::Command::from(binary(dir.path()))
        .env("PORT", port.to_string())
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    async fn next(socket: &tokio::net::UnixDatagram) -> String {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), socket.recv(&mut buf))
            .await
            .expect("a notification")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    }
    let first = next(&socket).await;
    assert!(first.contains("READY=1"), "{first}");
    // Ready means ready: the health endpoint answers now.
    assert_eq!(reqwest::get(format!("http://127.0.0.1:{port}/health/live")).await.unwrap().status(), 200);
    let second = next(&socket).await;
    assert!(second.contains("WATCHDOG=1"), "{second}");
    let pid = rustix::process::Pid::from_raw(child.id().unwrap() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let mut stopping = false;
    for _ in 0..10 {
        if next(&socket).await.contains("STOPPING=1") {
            stopping = true;
            break;
        }
    }
    assert!(stopping, "STOPPING=1 on SIGTERM");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn audit_verify_and_keys_generate_via_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(dir.path(), &[], &["audit", "verify"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("audit log OK: 0 record(s)"), "{stdout}");
    let (code, stdout, _) = run(dir.path(), &[], &["keys", "generate"]);
    assert_eq!(code, 0);
    let key = stdout.trim().to_string();
    assert_eq!(key.len(), 44, "{key}");
    // The generated key is a valid ENCRYPTION_KEY; rotation with it runs.
    let (code, stdout, stderr) = run(dir.path(), &[("ENCRYPTION_KEY", key.as_str())], &["keys", "rotate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("rewrapped 0 data key(s)"), "{stdout}");
    let (code, _, stderr) = run(dir.path(), &[("ENCRYPTION_KEY", "not-a-key")], &["keys", "rotate"]);
    assert_eq!(code, 2, "a bad key is a configuration error");
    assert!(stderr.contains("ENCRYPTION_KEY"), "{stderr}");
    let (code, stdout, stderr) = run(dir.path(), &[], &["purge", "--dry-run", "--days", "30"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"dry_run\":true"), "{stdout}");
}

/// `users create` with the password on standard input.
fn create_user(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str], password: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = binary(dir)
        .envs(env.iter().copied())
        .args(["users", "create"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn users_create_doctor_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let out = create_user(dir.path(), &[], &["first@example.jp", "--admin"], "a long admin passphrase");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin first@example.jp"));
    // A short password is refused with the rule.
    let out = create_user(dir.path(), &[], &["second@example.jp"], "short");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));

    // Doctor: everything but the server is fine; --live fails without a server.
    let (code, stdout, stderr) = run(dir.path(), &[("PORT", "1")], &["doctor"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ok:      database") && stdout.contains("migrations up to date"), "{stdout}");
    let (code, _, stderr) = run(dir.path(), &[("PORT", "1")], &["doctor", "--live"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("is writable"), "{stdout}");
    // An unreachable model is a problem, with the fix.
    let (code, stdout, _) = run(
        dir.path(),
        &[("PORT", "1"), ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"), ("OPENAI_API_KEY", "sk-x")],
        &["doctor"],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("PROBLEM: model upstream") && stdout.contains("fix:"), "{stdout}");
    // File storage and Redis are checked too: a dead Redis and an S3 endpoint with
    // nothing behind it are problems, each with its fix.
    let (code, stdout, _) = run(dir.path(), &[("PORT", "1")], &["doctor"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("ok:      file storage") && stdout.contains("files is writable"), "{stdout}");
    let dead = format!("redis://127.0.0.1:{}/0", free_port());
    let s3 = format!("http://127.0.0.1:{}", free_port());
    let (code, stdout, _) = run(
        dir.path(),
        &[
            ("PORT", "1"),
            ("REDIS_URL", dead.as_str()),
            ("S3_BUCKET", "b"),
            ("S3_ENDPOINT", s3.as_str()),
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ],
        &["doctor"],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("PROBLEM: Redis redis://127.0.0.1:") && stdout.contains("REDIS_URL"), "{stdout}");
    assert!(stdout.contains("PROBLEM: file storage s3://b fails"), "{stdout}");

    // Backup: a consistent copy that opens and holds the account.
    let copy = dir.path().join("backup.db");
    let (code, stdout, stderr) = run(dir.path(), &[], &["backup", copy.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("backed up"), "{stdout}");
    let url = format!("sqlite://{}", copy.display());
    let out = create_user(dir.path(), &[("DATABASE_URL", url.as_str())], &["first@example.jp"], "another passphrase");
    assert!(!out.status.success(), "the copy already has the account");
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, _, stderr) = run(dir.path(), &[], &["backup", copy.to_str().unwrap()]);
    assert_eq!(code, 1, "an existing file is never overwritten: {stderr}");
}

#[test]
fn restore_puts_a_backup_back_and_keeps_the_old_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = create_user(dir.path(), &[], &["before@example.jp"], "a long passphrase");
    assert!(out.status.success());
    let copy = dir.path().join("snapshot.db");
    assert_eq!(run(dir.path(), &[], &["backup", copy.to_str().unwrap()]).0, 0);
    let out = create_user(dir.path(), &[], &["after@example.jp"], "a long passphrase");
    assert!(out.status.success());
    // Not a backup: refused, nothing touched.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let (code, _, stderr) = run(dir.path(), &[("PORT", "1")], &["restore", junk.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let (code, stdout, stderr) = run(dir.path(), &[("PORT", "1")], &["restore", copy.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("restored") && stdout.contains("before-restore"), "{stdout}");
    // The account made after the backup is gone; the one before is there.
    let out = create_user(dir.path(), &[], &["after@example.jp"], "a long passphrase");
    assert!(out.status.success(), "after@ was created after the backup: {}", String::from_utf8_lossy(&out.stderr));
    let out = create_user(dir.path(), &[], &["before@example.jp"], "a long passphrase");
    assert!(!out.status.success());
    assert!(dir.path().join("data/tenmon-ark.before-restore").exists());
}

#[tokio::test]
async fn migrate_data_copies_and_verifies_and_resumes() {
    let app = TestApp::spawn().await;
    let token = app.session().await;
    let res = app.post_json("/api/chat", &token, serde_json::json!({"message": "MNPとは何ですか"})).await;
    assert_eq!(res.status(), 200);
    let src = format!("sqlite://{}", app.db_path().display());
    let dst_dir = tempfile::tempdir().unwrap();
    let dst = format!("sqlite://{}/copy.db", dst_dir.path().display());
    let (code, out, err) = run(dst_dir.path(), &[], &["migrate-data", "--from", &src, "--to", &dst]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("every count and checksum matches"), "{out}");
    let events = out.lines().find(|l| l.starts_with("events ")).unwrap().to_string();
    let cols: Vec<&str> = events.split_whitespace().collect();
    assert!(cols[1].parse::<u64>().unwrap() >= 4 && cols[1] == cols[2] && cols[2] == cols[3], "{events}");
    // Again: nothing left to copy.
    let (code, out, _) = run(dst_dir.path(), &[], &["migrate-data", "--from", &src, "--to", &dst]);
    assert_eq!(code, 0);
    assert!(out.contains(" 0 copied now"), "{out}");
    // The copy holds the same rows as the original.
    let copy = tenmon_store::open(&tenmon_store::DatabaseUrl::parse(&dst).unwrap(), &Default::default()).await.unwrap();
    for table in ["events", "messages", "sessions", "kb_entries"] {
        let a = tenmon_store::migrate::digest(app.state.store.as_ref(), table).await.unwrap();
        let b = tenmon_store::migrate::digest(copy.as_ref(), table).await.unwrap();
        assert!(a.0 > 0 && a == b, "{table}: {a:?} vs {b:?}");
    }
    // A bad URL is a configuration error naming the flag.
    let (code, _, err) = run(dst_dir.path(), &[], &["migrate-data", "--from", &src, "--to", "oracle://x"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--to"), "{err}");
}
