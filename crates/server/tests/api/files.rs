//! Files: uploads streamed to storage and typed by content, owner-only reads,
//! limits and quota, text for the model, images in the OpenAI format, documents in
//! a knowledge base, erasure; on the local directory and on S3 (moto's server).

use crate::helpers::{error_code, use_fakes, TestApp};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tenmon_ark::config::S3Config;
use tenmon_test_support::{Behavior, FakeOpenAi};

const PDF: &[u8] = include_bytes!("../../../files/tests/fixtures/japanese.pdf");
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6,
    0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 10, b'I', b'D', b'A', b'T', 0x78, 0x9C, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0D,
    0x0A, 0x2D, 0xB4, 0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82,
];

async fn upload(app: &TestApp, token: &str, name: &str, bytes: &[u8]) -> reqwest::Response {
    let form = Form::new().part("file", Part::bytes(bytes.to_vec()).file_name(name.to_string()));
    app.client.post(app.url("/api/files")).bearer_auth(token).multipart(form).send().await.unwrap()
}

async fn uploaded(app: &TestApp, token: &str, name: &str, bytes: &[u8]) -> Value {
    let res = upload(app, token, name, bytes).await;
    assert_eq!(res.status(), 201, "{name}: {:?}", res.text().await);
    res.json().await.unwrap()
}

async fn round_trip(app: &TestApp) {
    let alice = app.session().await;
    let bob = app.session().await;
    let text = "MNPの予約番号は15日間有効です。\n".repeat(400);
    let f = uploaded(app, &alice, "../../etc/メモ\u{202E}gpj.txt", text.as_bytes()).await;
    assert_eq!((f["kind"].clone(), f["mime"].clone()), (json!("text"), json!("text/plain; charset=utf-8")));
    assert_eq!(f["size"], text.len());
    assert!(f["text_chars"].as_u64().unwrap() > 1000);
    let name = f["name"].as_str().unwrap();
    assert!(!name.contains('/') && !name.contains('\u{202E}') && name.ends_with(".txt"), "{name}");
    let id = f["id"].as_str().unwrap();

    let res = app.get_auth(&format!("/api/files/{id}"), &alice).await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment;") && cd.contains("filename*=UTF-8''"), "{cd}");
    assert_eq!(res.bytes().await.unwrap(), text.as_bytes(), "the exact bytes back");

    // Another owner's id reads, lists and deletes as missing.
    assert_eq!(app.get_auth(&format!("/api/files/{id}"), &bob).await.status(), 404);
    let del = app.client.delete(app.url(&format!("/api/files/{id}"))).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(del.status(), 404);
    let list: Value = app.get_auth("/api/files", &bob).await.json().await.unwrap();
    assert_eq!(list["files"], json!([]));
    let list: Value = app.get_auth("/api/files", &alice).await.json().await.unwrap();
    assert_eq!(list["files"][0]["id"], id);

    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| b"0123456789,abc\n"[i % 15]).collect();
    let f2 = uploaded(app, &alice, "big.csv", &big).await;
    let res = app.get_auth(&format!("/api/files/{}", f2["id"].as_str().unwrap()), &alice).await;
    assert_eq!(res.bytes().await.unwrap().len(), big.len());

    let del = app.client.delete(app.url(&format!("/api/files/{id}"))).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(app.get_auth(&format!("/api/files/{id}"), &alice).await.status(), 404);
}

#[tokio::test]
async fn local_round_trip_owner_only() {
    let app = TestApp::spawn().await;
    round_trip(&app).await;
    // Everything is under the configured directory, and a deleted file's bytes are gone.
    let dir = app.state.config.files.dir.clone();
    assert!(dir.starts_with(app.dir.path()));
    let count = walk(&dir);
    assert_eq!(count, 1, "only big.csv is left");
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto's S3 server on a free loopback port, with a bucket (None when moto is not
/// installed and `TENMON_REQUIRE_ALL` is unset).
async fn moto() -> Option<(Moto, String)> {
    let Ok(exe) = std::env::var("TENMON_MOTO_SERVER") else {
        assert!(
            std::env::var_os("TENMON_REQUIRE_ALL").is_none(),
            "TENMON_REQUIRE_ALL is set but TENMON_MOTO_SERVER is not"
        );
        eprintln!("skipping the S3 test: set TENMON_MOTO_SERVER to moto_server's path");
        return None;
    };
    let port = crate::helpers::free_port();
    let child = Command::new(exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto(child);
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.put(format!("{url}/tenmon-files")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Some((moto, url));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("moto did not start");
}

#[tokio::test]
async fn s3_round_trip_and_erasure_delete_the_objects() {
    let Some((_moto, endpoint)) = moto().await else { return };
    let app = TestApp::spawn_with(|c| {
        c.files.s3 = Some(S3Config {
            bucket: "tenmon-files".into(),
            endpoint: Some(endpoint.clone()),
            region: "ap-northeast-1".into(),
            access_key_id: "test".into(),
            secret_access_key: "test".to_string().into(),
        });
    })
    .await;
    round_trip(&app).await;
    let listing = || async {
        let body = reqwest::get(format!("{endpoint}/tenmon-files?list-type=2")).await.unwrap().text().await.unwrap();
        body.matches("<Key>").count()
    };
    assert_eq!(listing().await, 1, "the deleted file's object is gone from the bucket");
    assert!(walk(&app.state.config.files.dir) == 0, "nothing went to the local directory");

    // Erasing the person removes their objects too.
    let carol = app.session().await;
    uploaded(&app, &carol, "a.md", "# 見出し\n本文".as_bytes()).await;
    assert_eq!(listing().await, 2);
    let res = app.client.delete(app.url("/api/me")).bearer_auth(&carol).send().await.unwrap();
    assert!(res.status().is_success(), "{:?}", res.text().await);
    assert_eq!(listing().await, 1);
}

#[tokio::test]
async fn types_are_decided_by_content_and_limits_hold() {
    let app = TestApp::spawn_with(|c| {
        c.files.max_bytes = 64 * 1024;
        c.files.quota_bytes = 100 * 1024;
    })
    .await;
    let t = app.session().await;
    for (name, bytes, code) in [
        ("cat.png", &b"#!/bin/sh\nrm -rf /\n"[..], "type_not_allowed"),
        ("page.txt", &b"<!doctype html><script>alert(1)</script>"[..], "type_not_allowed"),
        ("x.exe", &b"MZ\x90\x00\x03\x00\x00\x00"[..], "type_not_allowed"),
        ("photo.txt", PNG, "extension_mismatch"),
        ("empty.txt", &b""[..], "empty_file"),
    ] {
        let (status, got, _) = error_code(upload(&app, &t, name, bytes).await).await;
        assert_eq!(got, code, "{name}");
        assert!(status == 415 || status == 422, "{name}: {status}");
    }
    assert_eq!(uploaded(&app, &t, "dot.png", PNG).await["kind"], "image");

    let (status, code, body) = error_code(upload(&app, &t, "big.txt", &vec![b'a'; 65 * 1024]).await).await;
    assert_eq!((status, code.as_str()), (413, "file_too_large"));
    assert!(body["error"]["message"].as_str().unwrap().contains("65536"));
    // A body far over the limit is refused for its declared length (read and dropped,
    // so the client, still sending, gets the 413 rather than a reset connection).
    let (status, code, _) = error_code(upload(&app, &t, "huge.txt", &vec![b'a'; 300 * 1024]).await).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));

    for _ in 0..3 {
        uploaded(&app, &t, "part.txt", &vec![b'b'; 30 * 1024]).await;
    }
    let (status, code, _) = error_code(upload(&app, &t, "one-more.txt", &vec![b'c'; 30 * 1024]).await).await;
    assert_eq!((status, code.as_str()), (507, "storage_quota_exceeded"));
    let list: Value = app.get_auth("/api/files", &t).await.json().await.unwrap();
    assert_eq!(list["files"].as_array().unwrap().len(), 4, "the refused upload left nothing");
    assert_eq!(walk(&app.state.config.files.dir), 4);

    // A form without a file field, and a body that is not multipart.
    let form = Form::new().text("note", "x");
    let res = app.client.post(app.url("/api/files")).bearer_auth(&t).multipart(form).send().await.unwrap();
    assert_eq!(error_code(res).await.1, "validation_failed");
    let res = app.client.post(app.url("/api/files")).bearer_auth(&t).body("x").send().await.unwrap();
    assert!(error_code(res).await.0 >= 400);
}

#[tokio::test]
async fn chat_reads_attached_documents_and_sees_images() {
    let model = FakeOpenAi::start_with(Behavior::reply("資料によると15日間です [1]。")).await;
    let app = TestApp::spawn_with(|c| use_fakes(c, &[&model])).await;
    let t = app.session().await;
    let pdf = uploaded(&app, &t, "請求書.pdf", PDF).await;
    assert_eq!(pdf["kind"], "pdf");
    assert!(pdf["text_chars"].as_u64().unwrap() > 10);
    let img = uploaded(&app, &t, "dot.png", PNG).await;
    let other = app.session().await;
    let foreign = uploaded(&app, &other, "secret.txt", "他人の秘密".as_bytes()).await;

    let res =
        app.post_json("/api/chat", &t, json!({"message": "この資料の要点は？", "file_ids": [foreign["id"]]})).await;
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (422, "validation_failed"), "another person's file cannot be attached");

    let res = app
        .post_json("/api/chat", &t, json!({"message": "この資料の要点は？", "file_ids": [pdf["id"], img["id"]]}))
        .await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    let sources = answer["sources"].as_array().unwrap();
    assert!(sources.iter().any(|s| s["kind"] == "file" && s["id"] == pdf["id"]), "{sources:?}");
    let req = model.requests().pop().unwrap();
    let system = req["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("請求書") && system.contains("<document number=\"1\" kind=\"file\""), "{system}");
    let last = req["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["content"][0], json!({"type": "text", "text": "この資料の要点は？"}));
    assert!(last["content"][1]["image_url"]["url"].as_str().unwrap().starts_with("data:image/png;base64,iVBOR"));

    // The document stays with the conversation; the image was for that turn only.
    let conv = answer["conversation_id"].clone();
    let res = app
        .post_json("/api/chat", &t, json!({"message": "続けて", "conversation_id": conv, "file_ids": [pdf["id"]]}))
        .await;
    assert_eq!(res.status(), 200);
    let req = model.requests().pop().unwrap();
    let system = req["messages"][0]["content"].as_str().unwrap();
    assert_eq!(system.matches("<document ").count(), 1, "attached once, even when named again");
    assert!(req["messages"].as_array().unwrap().iter().all(|m| m["content"].is_string()));

    // Deleting the file takes its text out of the conversation.
    let del = app
        .client
        .delete(app.url(&format!("/api/files/{}", pdf["id"].as_str().unwrap())))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    app.post_json("/api/chat", &t, json!({"message": "まだ見える？", "conversation_id": conv})).await;
    let system = model.requests().pop().unwrap()["messages"][0]["content"].as_str().unwrap().to_string();
    assert!(!system.contains("<document "), "{system}");
}

#[tokio::test]
async fn operators_upload_documents_into_a_knowledge_base() {
    const KEY: &str = "operator-key-0123456789abcdef";
    let app = TestApp::spawn_with(|c| c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)]).await;
    let guest = app.session().await;
    let doc = "# 店舗での手続き\n\n店頭でMNPの転入手続きをするときは、本人確認書類とMNP予約番号をお持ちください。\n\n# オンライン\n\nオンラインでは24時間いつでもお申し込みいただけます。\n\n# 相談\n\nご相談はかたつむり窓口へ。".repeat(3);
    let form = || Form::new().part("file", Part::bytes(doc.as_bytes().to_vec()).file_name("手続きガイド.md"));
    let res = app
        .client
        .post(app.url("/api/kb/bases/mnp/documents"))
        .bearer_auth(&guest)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .post(app.url("/api/kb/bases/nope/documents"))
        .bearer_auth(KEY)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .client
        .post(app.url("/api/kb/bases/mnp/documents"))
        .bearer_auth(KEY)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let body: Value = res.json().await.unwrap();
    assert!(body["entries"].as_u64().unwrap() >= 1);
    let q = "%E3%81%8B%E3%81%9F%E3%81%A4%E3%82%80%E3%82%8A%E7%AA%93%E5%8F%A3"; // かたつむり窓口
    let hits: Value = app.get(&format!("/api/kb/search?q={q}&kb=mnp")).await.json().await.unwrap();
    let first = &hits["results"][0];
    assert!(first["id"].as_str().unwrap().starts_with("doc-"), "{hits}");
    assert_eq!(first["category"], "document");
    assert!(first["answer"].as_str().unwrap().contains("かたつむり窓口"), "{first}");
    // Confident enough to ground an answer: a chunk is judged by its text, not its title.
    assert!(first["confidence"].as_f64().unwrap() >= 0.5, "{first}");
}

#[tokio::test]
async fn retention_deletes_old_files_and_their_bytes_but_keeps_documents() {
    const KEY: &str = "operator-key-0123456789abcdef";
    let app = TestApp::spawn_with(|c| c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)]).await;
    let t = app.session().await;
    let f = uploaded(&app, &t, "old.txt", "古いメモ".as_bytes()).await;
    let form =
        Form::new().part("file", Part::bytes("# 手引き\n\n本文です。".as_bytes().to_vec()).file_name("guide.md"));
    let res =
        app.client.post(app.url("/api/kb/bases/mnp/documents")).bearer_auth(KEY).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(walk(&app.state.config.files.dir), 2);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // Everything older than now is past a 0-day limit.
    let counts = tenmon_ark::privacy::purge(&app.state, 0, false).await.unwrap();
    assert_eq!(counts.get("files"), 1, "{counts:?}");
    assert_eq!(app.get_auth(&format!("/api/files/{}", f["id"].as_str().unwrap()), &t).await.status(), 404);
    assert_eq!(walk(&app.state.config.files.dir), 1, "the document's bytes stay, the old file's are gone");
}

#[tokio::test]
async fn a_slow_upload_gets_more_time_than_other_requests() {
    let app = TestApp::spawn_with(|c| c.server.request_timeout = std::time::Duration::from_millis(300)).await;
    let t = app.session().await;
    // The body trickles in over ~0.8 s: longer than REQUEST_TIMEOUT_SECONDS here.
    let chunks = futures::stream::unfold(0u8, |i| async move {
        if i == 8 {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(vec![b'a' + i; 1000]), i + 1))
    });
    let part = Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("slow.txt");
    let res = app
        .client
        .post(app.url("/api/files"))
        .bearer_auth(&t)
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
}

/// Starts a 12 MiB multipart upload and sends 7 MiB of it (past the first 5 MiB part,
/// so the storage write is under way), then waits until storage has something.
async fn half_an_upload(app: &TestApp, token: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let boundary = "tenmonboundary";
    let head = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\n\
         content-type: text/plain\r\n\r\n"
    );
    let declared = head.len() + (12 << 20) + boundary.len() + 8;
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "POST /api/files HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\n\
         content-type: multipart/form-data; boundary={boundary}\r\ncontent-length: {declared}\r\n\r\n{head}"
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let line = "あいうえお、MNPの手続きについての長い文書です。\n".repeat(1024);
    let mut sent = 0;
    while sent < (7 << 20) {
        conn.write_all(line.as_bytes()).await.unwrap();
        sent += line.len();
    }
    assert!(files_in(&app.state.config.files.dir, |n| n > 0).await > 0, "the upload is being stored");
    conn
}

/// The number of files under `dir` once `done` holds for it, or after 3 s.
async fn files_in(dir: &std::path::Path, done: impl Fn(usize) -> bool) -> usize {
    let mut n = walk(dir);
    for _ in 0..300 {
        if done(n) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        n = walk(dir);
    }
    n
}

/// An upload that stalls past its time, or whose client goes half way, leaves nothing
/// behind: no staging file, no object, no row. The stalled one gets a JSON 408 from the
/// upload itself (its storage write aborted), not from the edge timeout that would drop
/// it half way.
#[tokio::test]
async fn a_stalled_or_cut_off_upload_leaves_nothing_behind() {
    use tokio::io::AsyncReadExt;
    let app = TestApp::spawn_with(|c| {
        c.files.max_bytes = 20 << 20;
        c.server.request_timeout = std::time::Duration::from_secs(1);
        c.files.upload_timeout = std::time::Duration::from_secs(2);
    })
    .await;
    let t = app.session().await;
    let dir = app.state.config.files.dir.clone();

    let mut stalled = half_an_upload(&app, &t).await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), stalled.read(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer[..n.expect("answered in time").unwrap()]).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    assert_eq!(files_in(&dir, |n| n == 0).await, 0, "a stalled upload left a staging file or object behind");

    let cut = half_an_upload(&app, &t).await;
    drop(cut);
    assert_eq!(files_in(&dir, |n| n == 0).await, 0, "a cut-off upload left a staging file or object behind");
    drop(stalled);

    let list: Value = app.get_auth("/api/files", &t).await.json().await.unwrap();
    assert_eq!(list["files"].as_array().unwrap().len(), 0);
    app.stop().await;
}
