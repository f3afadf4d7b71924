//! Storage and the upload flow against real backends: a local directory, and an S3-protocol
//! server (moto) started by the test.
#![allow(clippy::disallowed_methods, reason = "tests read their tool paths from the environment")]
#![allow(clippy::unwrap_used, reason = "tests")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{stream, Stream, StreamExt, TryStreamExt};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tenmon_files::{
    extract_from_store, ingest, Charset, FileError, FileKind, FileStore, S3Settings, TextFormat, PART_SIZE,
};

const CHUNK: usize = 64 << 10;
const BIG: usize = 12 << 20;

/// Deterministic bytes that do not compress or repeat at part boundaries.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn chunks(bytes: &[u8]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let parts: Vec<_> = bytes.chunks(CHUNK).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    stream::iter(parts)
}

/// `chunks`, counting how many the consumer pulled.
fn counted(bytes: &[u8], pulled: Arc<AtomicUsize>) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    chunks(bytes).inspect(move |_| {
        pulled.fetch_add(1, Ordering::SeqCst);
    })
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn read_back(store: &FileStore, key: &str) -> Vec<u8> {
    let object = store.get(key).await.unwrap();
    let bytes: Vec<Bytes> = object.stream.try_collect().await.unwrap();
    let bytes = bytes.concat();
    assert_eq!(bytes.len() as u64, object.size);
    bytes
}

/// Every file under a directory, recursively.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

fn docx_bytes(body_text: &str, padding: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default();
    let stored = deflated.compression_method(zip::CompressionMethod::Stored);
    w.start_file("[Content_Types].xml", deflated).unwrap();
    w.write_all(b"<Types/>").unwrap();
    // An incompressible "image" first, so the directory can be far from the start.
    w.start_file("word/media/image1.png", stored).unwrap();
    w.write_all(&noise(padding)).unwrap();
    w.start_file("word/document.xml", deflated).unwrap();
    write!(
        w,
        r#"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{body_text}</w:t></w:r></w:p></w:body></w:document>"#
    )
    .unwrap();
    w.finish().unwrap().into_inner()
}

/// The storage tests both backends run.
async fn storage_round_trips(store: &FileStore, prefix: &str) {
    // Small: one PUT.
    let key = format!("{prefix}/small");
    let put = store.put_stream(&key, chunks(b"hello world"), 1 << 20).await.unwrap();
    assert_eq!(put.size, 11);
    assert_eq!(put.sha256, sha256(b"hello world"));
    assert_eq!(read_back(store, &key).await, b"hello world");
    assert_eq!(store.size(&key).await.unwrap(), 11);
    assert_eq!(store.get_range(&key, 6..11).await.unwrap(), "world");

    // Larger than a part, streamed in 64 KiB chunks: a multipart upload.
    let big = noise(BIG);
    assert!(big.len() > 2 * PART_SIZE);
    let key = format!("{prefix}/big");
    let put = store.put_stream(&key, chunks(&big), BIG as u64).await.unwrap();
    assert_eq!(put.size, BIG as u64);
    assert_eq!(put.sha256, sha256(&big));
    assert!(read_back(store, &key).await == big, "multipart bytes differ");

    // Too large (past the first part, so a multipart upload was open): aborted, nothing stored.
    let key = format!("{prefix}/too-large");
    let err = store.put_stream(&key, chunks(&big), 8 << 20).await.unwrap_err();
    assert!(matches!(err, FileError::TooLarge { limit } if limit == 8 << 20), "{err}");
    assert!(matches!(store.get(&key).await.unwrap_err(), FileError::NotFound { .. }));

    // A body that fails half-way: aborted, nothing stored.
    let key = format!("{prefix}/broken");
    let failing = chunks(&big).take(150).chain(stream::iter([Err(std::io::Error::other("client went away"))]));
    let err = store.put_stream(&key, failing, BIG as u64).await.unwrap_err();
    assert_eq!(err.code(), "body_read");
    assert!(matches!(store.get(&key).await.unwrap_err(), FileError::NotFound { .. }));

    // Only the two good objects are there.
    let mut listed = store.list(prefix).await.unwrap();
    listed.sort();
    assert_eq!(listed, vec![format!("{prefix}/big"), format!("{prefix}/small")]);

    // Delete is idempotent; delete_prefix erases the rest.
    store.delete(&format!("{prefix}/small")).await.unwrap();
    store.delete(&format!("{prefix}/small")).await.unwrap();
    assert_eq!(store.delete_prefix(prefix).await.unwrap(), 1);
    assert!(store.list(prefix).await.unwrap().is_empty());

    // Keys that could escape are refused before touching storage.
    let err = store.put_stream("../etc/passwd", chunks(b"x"), 10).await.unwrap_err();
    assert_eq!(err.code(), "invalid_key");
}

/// The upload flow both backends run.
async fn ingest_flow(store: &FileStore, prefix: &str) {
    // An image.
    let png = [&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], &noise(20_000)].concat();
    let key = format!("{prefix}/png");
    let got = ingest(store, &key, chunks(&png), "../スクショ 1.png", 1 << 20).await.unwrap();
    assert_eq!(got.kind, FileKind::Png);
    assert_eq!(got.size, png.len() as u64);
    assert_eq!(got.sha256, sha256(&png));
    assert_eq!(got.safe_name, "スクショ 1.png");

    // A Shift_JIS CSV whose first 8 KiB are ASCII: the charset comes from the whole file.
    let mut csv = "id,name\r\n".repeat(1000).into_bytes();
    csv.extend_from_slice(&encoding_rs::SHIFT_JIS.encode("1,りんご\r\n").0);
    let key = format!("{prefix}/csv");
    let got = ingest(store, &key, chunks(&csv), "売上.csv", 1 << 20).await.unwrap();
    assert_eq!(got.kind, FileKind::Text(TextFormat::Csv, Charset::ShiftJis));
    let text = extract_from_store(store, &key, got.kind, 100_000).await.unwrap();
    assert!(text.text.ends_with("1,りんご\n"), "{:?}", &text.text[text.text.len() - 20..]);
    let head = extract_from_store(store, &key, got.kind, 10).await.unwrap();
    assert_eq!((head.text.as_str(), head.truncated), ("id,name\nid", true));

    // A DOCX bigger than the tail we read first, so its directory is fetched with a range.
    let docx = docx_bytes("議事録の本文", 300_000);
    let key = format!("{prefix}/docx");
    let got = ingest(store, &key, chunks(&docx), "議事録.docx", 1 << 20).await.unwrap();
    assert_eq!(got.kind, FileKind::Docx);
    assert_eq!(extract_from_store(store, &key, got.kind, 1000).await.unwrap().text, "議事録の本文");

    // Refusals leave nothing behind.
    let plain_zip = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("notes.txt", zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(b"hi").unwrap();
        w.finish().unwrap().into_inner()
    };
    let refusals: Vec<(&str, Vec<u8>, &str)> = vec![
        ("evil.png", b"#!/bin/sh\necho pwned\n".to_vec(), "type_not_allowed"),
        ("notes.txt", png.clone(), "extension_mismatch"),
        ("fake.docx", plain_zip, "not_a_docx"),
        ("late-nul.txt", [vec![b'a'; 20_000], vec![0]].concat(), "not_text"),
        ("empty.txt", Vec::new(), "empty_file"),
        ("tool.exe", b"MZ\0\0".to_vec(), "extension_not_allowed"),
    ];
    for (i, (name, bytes, code)) in refusals.iter().enumerate() {
        let key = format!("{prefix}/refused-{i}");
        let err = ingest(store, &key, chunks(bytes), name, 1 << 20).await.unwrap_err();
        assert_eq!(err.code(), *code, "{name}: {err}");
        assert!(matches!(store.get(&key).await.unwrap_err(), FileError::NotFound { .. }), "{name} left an object");
    }

    // A refused type stops the upload after its first bytes, not after all of it.
    let elf = [&b"\x7fELF\x02\x01\x01\0"[..], &noise(BIG)].concat();
    let pulled = Arc::new(AtomicUsize::new(0));
    let key = format!("{prefix}/elf");
    let err = ingest(store, &key, counted(&elf, pulled.clone()), "game.png", BIG as u64 * 2).await.unwrap_err();
    assert_eq!(err.code(), "type_not_allowed");
    assert!(pulled.load(Ordering::SeqCst) <= 2, "pulled {} chunks", pulled.load(Ordering::SeqCst));

    // Too large through ingest.
    let key = format!("{prefix}/too-large");
    let err = ingest(store, &key, chunks(&png), "big.png", 1000).await.unwrap_err();
    assert_eq!(err.code(), "too_large");

    let mut listed = store.list(prefix).await.unwrap();
    listed.sort();
    assert_eq!(listed, ["csv", "docx", "png"].map(|k| format!("{prefix}/{k}")));
    assert_eq!(store.delete_prefix(prefix).await.unwrap(), 3);
}

#[tokio::test]
async fn local_storage() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("files"); // created by FileStore::local
    let store = FileStore::local(&root).unwrap();
    storage_round_trips(&store, "u1").await;
    ingest_flow(&store, "u2").await;
    // No staging files or partial uploads anywhere under the root.
    assert_eq!(files_under(&root), Vec::<String>::new());
}

#[test]
fn the_futures_can_run_on_a_task() {
    fn assert_send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::local(dir.path()).unwrap();
    assert_send(&ingest(&store, "k", chunks(b"x"), "a.txt", 10));
    assert_send(&store.put_stream("k", chunks(b"x"), 10));
    assert_send(&extract_from_store(&store, "k", FileKind::Pdf, 10));
    assert_send(&tenmon_files::data_url_from_store(&store, "k", FileKind::Png));
}

#[tokio::test]
async fn local_storage_does_not_touch_a_neighbouring_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::local(dir.path()).unwrap();
    store.put_stream("u1/a", chunks(b"1"), 10).await.unwrap();
    store.put_stream("u10/a", chunks(b"2"), 10).await.unwrap();
    assert_eq!(store.delete_prefix("u1").await.unwrap(), 1);
    assert_eq!(store.list("u10").await.unwrap(), vec!["u10/a".to_owned()]);
}

/// A moto S3 server on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start(exe: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting moto at {exe}: {e}"));
        let moto = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while moto.request("GET", "/").is_none() {
            assert!(Instant::now() < deadline, "moto did not answer on port {port} within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// A plain unsigned HTTP/1.1 request (moto does not check signatures): status and body.
    fn request(&self, method: &str, path: &str) -> Option<(u16, String)> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            conn,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut response = String::new();
        conn.read_to_string(&mut response).ok()?;
        let status = response.split(' ').nth(1)?.parse().ok()?;
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
        Some((status, body))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn s3_storage() {
    let Ok(exe) = std::env::var("TENMON_MOTO_SERVER") else {
        assert!(
            std::env::var_os("TENMON_REQUIRE_ALL").is_none(),
            "TENMON_REQUIRE_ALL is set but TENMON_MOTO_SERVER is not: the S3 test cannot run"
        );
        println!("skipping s3_storage: set TENMON_MOTO_SERVER to moto_server's path to run it");
        return;
    };
    let moto = Moto::start(&exe);
    let bucket = "tenmon-files";
    assert_eq!(moto.request("PUT", &format!("/{bucket}")).map(|r| r.0), Some(200));
    let store = FileStore::s3(&S3Settings {
        bucket: bucket.into(),
        endpoint: Some(format!("http://127.0.0.1:{}", moto.port)),
        region: "ap-northeast-1".into(),
        access_key_id: "test".into(),
        secret_access_key: SecretString::from("test"),
        allow_http: true,
    })
    .unwrap();
    storage_round_trips(&store, "u1").await;
    ingest_flow(&store, "u2").await;
    // The aborted multipart uploads are gone too, not just invisible.
    let (status, uploads) = moto.request("GET", &format!("/{bucket}?uploads")).unwrap();
    assert_eq!(status, 200);
    assert!(!uploads.contains("<Upload>"), "multipart uploads left open: {uploads}");
}
