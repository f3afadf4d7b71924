//! Users, sessions, refresh-token families, API keys, quotas, OIDC identities and
//! invitations.

use crate::harness::TestDb;
use std::sync::Arc;
use tenmon_store::{ApiKeyRow, InvitationRow, RefreshRow, SessionRow, Store, StoreError, UserRow};

on_every_backend!(
    users_are_unique_by_email_ignoring_case,
    users_are_listed_by_cursor_and_updated,
    sessions_live_until_expired_or_revoked,
    refresh_tokens_rotate_once_and_families_revoke,
    racing_refreshes_with_one_token_one_wins,
    api_keys_are_owned_listed_and_revoked,
    token_usage_adds_up_per_day,
    identities_link_once,
    invitations_are_single_use,
);

pub fn user(id: &str, email: &str) -> UserRow {
    UserRow {
        id: id.into(),
        email: email.into(),
        display_name: format!("名前 {id}"),
        role: "user".into(),
        locale: "ja".into(),
        password_hash: Some("$argon2id$v=19$secret".into()),
        created_at_ms: 1,
        updated_at_ms: 1,
        disabled_at_ms: None,
    }
}

pub fn session(id: &str, subject: &str, expires: i64) -> SessionRow {
    SessionRow {
        id: id.into(),
        token_hash: format!("hash-{id}"),
        subject_id: subject.into(),
        kind: "user".into(),
        created_at_ms: 1,
        expires_at_ms: expires,
    }
}

pub fn refresh(id: &str, user: &str, family: &str) -> RefreshRow {
    RefreshRow {
        id: id.into(),
        user_id: user.into(),
        family_id: family.into(),
        token_hash: format!("rt-{id}"),
        created_at_ms: 1,
        expires_at_ms: 1_000,
        used_at_ms: None,
        revoked_at_ms: None,
    }
}

pub fn api_key(id: &str, user: &str, at: i64) -> ApiKeyRow {
    ApiKeyRow {
        id: id.into(),
        user_id: user.into(),
        name: format!("key {id}"),
        prefix: "tk_abcd".into(),
        key_hash: format!("kh-{id}"),
        scopes: vec!["chat".into(), "kb:write".into()],
        created_at_ms: at,
        expires_at_ms: Some(9_999),
        last_used_at_ms: None,
        revoked_at_ms: None,
    }
}

async fn users_are_unique_by_email_ignoring_case(t: TestDb) {
    let s = &t.store;
    let u = user("u1", "Taro@Example.JP");
    s.create_user(&u).await.unwrap();
    let err = s.create_user(&user("u2", "taro@example.jp")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Duplicate(c) if c == "users_email_key"), "{err:?}");
    assert_eq!(s.user_by_email("TARO@example.jp").await.unwrap(), Some(u.clone()));
    assert_eq!(s.user_by_id("u1").await.unwrap(), Some(u));
    assert!(s.user_by_id("U1").await.unwrap().is_none());
    assert!(s.user_by_email("jiro@example.jp").await.unwrap().is_none());
    let mut oidc = user("u3", "hanako@example.jp");
    oidc.password_hash = None;
    s.create_user(&oidc).await.unwrap();
    assert_eq!(s.user_by_id("u3").await.unwrap().unwrap().password_hash, None);
    assert_eq!(s.count_users().await.unwrap(), 2);
}

async fn users_are_listed_by_cursor_and_updated(t: TestDb) {
    let s = &t.store;
    for id in ["u3", "u1", "u2", "U0"] {
        s.create_user(&user(id, &format!("{id}@example.jp"))).await.unwrap();
    }
    let ids = |v: Vec<UserRow>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(ids(s.list_users(None, 3).await.unwrap()), ["U0", "u1", "u2"]);
    assert_eq!(ids(s.list_users(Some("u1"), 10).await.unwrap()), ["u2", "u3"]);
    s.set_user_password("u1", "new-hash", 50).await.unwrap();
    assert!(s.set_user_role("u1", "admin", 60).await.unwrap());
    assert!(s.set_user_role("u1", "admin", 60).await.unwrap(), "a row that already has the role still matches");
    assert!(!s.set_user_role("nobody", "admin", 60).await.unwrap());
    let u = s.user_by_id("u1").await.unwrap().unwrap();
    assert_eq!((u.password_hash.as_deref(), u.role.as_str(), u.updated_at_ms), (Some("new-hash"), "admin", 60));
}

async fn sessions_live_until_expired_or_revoked(t: TestDb) {
    let s = &t.store;
    s.create_session(&session("f1", "u1", 100)).await.unwrap();
    s.create_session(&session("f2", "u1", 100)).await.unwrap();
    s.create_session(&session("g1", "guest:1", 100)).await.unwrap();
    assert_eq!(s.session_by_token_hash("hash-f1", 99).await.unwrap(), Some(session("f1", "u1", 100)));
    assert!(s.session_by_token_hash("hash-f1", 100).await.unwrap().is_none(), "expired");
    assert!(s.session_by_token_hash("HASH-f1", 1).await.unwrap().is_none());
    assert!(s.create_session(&SessionRow { id: "f3".into(), ..session("f1", "u1", 100) }).await.is_err());
    s.revoke_family("f1", 5).await.unwrap();
    assert!(s.session_by_token_hash("hash-f1", 1).await.unwrap().is_none());
    assert!(s.session_by_token_hash("hash-f2", 1).await.unwrap().is_some());
    s.revoke_user("u1", 6).await.unwrap();
    assert!(s.session_by_token_hash("hash-f2", 1).await.unwrap().is_none());
    assert!(s.session_by_token_hash("hash-g1", 1).await.unwrap().is_some());
}

async fn refresh_tokens_rotate_once_and_families_revoke(t: TestDb) {
    let s = &t.store;
    s.create_user(&user("u1", "a@example.jp")).await.unwrap();
    s.insert_refresh(&refresh("r1", "u1", "f1")).await.unwrap();
    s.insert_refresh(&refresh("r2", "u1", "f2")).await.unwrap();
    assert_eq!(s.refresh_by_hash("rt-r1").await.unwrap(), Some(refresh("r1", "u1", "f1")));
    assert!(s.use_refresh("r1", 10).await.unwrap());
    assert!(!s.use_refresh("r1", 11).await.unwrap(), "a reuse");
    assert_eq!(s.refresh_by_hash("rt-r1").await.unwrap().unwrap().used_at_ms, Some(10));
    s.insert_refresh(&refresh("r1b", "u1", "f1")).await.unwrap();
    assert_eq!(s.user_for_login("u1", "f1").await.unwrap().unwrap().id, "u1");
    assert!(s.user_for_login("u2", "f1").await.unwrap().is_none());

    s.revoke_family("f1", 20).await.unwrap();
    assert!(s.user_for_login("u1", "f1").await.unwrap().is_none());
    assert!(!s.use_refresh("r1b", 21).await.unwrap(), "revoked");
    assert_eq!(s.refresh_by_hash("rt-r1b").await.unwrap().unwrap().revoked_at_ms, Some(20));
    assert_eq!(s.refresh_by_hash("rt-r1").await.unwrap().unwrap().revoked_at_ms, Some(20));
    assert!(s.user_for_login("u1", "f2").await.unwrap().is_some(), "other logins live on");
    s.revoke_user("u1", 30).await.unwrap();
    assert!(s.user_for_login("u1", "f2").await.unwrap().is_none());
    assert_eq!(s.refresh_by_hash("rt-r1").await.unwrap().unwrap().revoked_at_ms, Some(20), "first revocation kept");
}

async fn racing_refreshes_with_one_token_one_wins(t: TestDb) {
    t.store.insert_refresh(&refresh("r1", "u1", "f1")).await.unwrap();
    let other = t.reopen().await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let s: Arc<dyn Store> = if i % 2 == 0 { t.store.clone() } else { other.clone() };
            tokio::spawn(async move { s.use_refresh("r1", 10 + i).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
    other.close().await;
}

async fn api_keys_are_owned_listed_and_revoked(t: TestDb) {
    let s = &t.store;
    s.create_api_key(&api_key("k1", "u1", 10)).await.unwrap();
    s.create_api_key(&api_key("k2", "u1", 20)).await.unwrap();
    s.create_api_key(&api_key("k3", "u2", 30)).await.unwrap();
    let keys = s.api_keys("u1").await.unwrap();
    assert_eq!(keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), ["k2", "k1"]);
    assert_eq!(keys[1], api_key("k1", "u1", 10));
    assert_eq!(s.api_key_by_hash("kh-k3").await.unwrap().unwrap().user_id, "u2");
    assert!(!s.revoke_api_key("u1", "k3", 40).await.unwrap(), "not u1's key");
    assert!(s.revoke_api_key("u1", "k1", 40).await.unwrap());
    assert!(!s.revoke_api_key("u1", "k1", 41).await.unwrap(), "already revoked");
    assert_eq!(s.api_keys("u1").await.unwrap()[1].revoked_at_ms, Some(40), "revoked keys stay listed");

    s.touch_api_key("k2", 100_000).await.unwrap();
    s.touch_api_key("k2", 130_000).await.unwrap();
    assert_eq!(s.api_key_by_hash("kh-k2").await.unwrap().unwrap().last_used_at_ms, Some(100_000), "once a minute");
    s.touch_api_key("k2", 160_001).await.unwrap();
    assert_eq!(s.api_key_by_hash("kh-k2").await.unwrap().unwrap().last_used_at_ms, Some(160_001));
}

async fn token_usage_adds_up_per_day(t: TestDb) {
    let s = &t.store;
    s.add_token_usage("u1", 20_000, 10).await.unwrap();
    s.add_token_usage("u1", 20_000, 32).await.unwrap();
    s.add_token_usage("u1", 20_001, 5).await.unwrap();
    s.add_token_usage("key:k1", 20_000, 7).await.unwrap();
    assert_eq!(s.token_usage("u1", 20_000).await.unwrap(), 42);
    assert_eq!(s.token_usage("u1", 20_001).await.unwrap(), 5);
    assert_eq!(s.token_usage("u1", 19_999).await.unwrap(), 0);
    assert_eq!(s.token_usage("key:k1", 20_000).await.unwrap(), 7);
}

async fn identities_link_once(t: TestDb) {
    let s = &t.store;
    let issuer = "https://accounts.example.jp/realms/テナント";
    assert!(s.identity_user(issuer, "sub-1").await.unwrap().is_none());
    s.link_identity(issuer, "sub-1", "u1", 1).await.unwrap();
    s.link_identity(issuer, "sub-1", "u2", 2).await.unwrap();
    assert_eq!(s.identity_user(issuer, "sub-1").await.unwrap().as_deref(), Some("u1"), "the first link stays");
    assert!(s.identity_user(issuer, "SUB-1").await.unwrap().is_none());
    assert!(s.identity_user("https://other.example", "sub-1").await.unwrap().is_none());
}

pub fn invitation(id: &str, at: i64, expires: i64) -> InvitationRow {
    InvitationRow {
        id: id.into(),
        token_hash: format!("inv-{id}"),
        email: Some("new@example.jp".into()),
        role: "operator".into(),
        created_by: "admin".into(),
        created_at_ms: at,
        expires_at_ms: expires,
        used_at_ms: None,
        used_by: None,
        revoked_at_ms: None,
    }
}

async fn invitations_are_single_use(t: TestDb) {
    let s = &t.store;
    s.create_invitation(&invitation("i1", 1, 100)).await.unwrap();
    s.create_invitation(&InvitationRow { email: None, ..invitation("i2", 2, 100) }).await.unwrap();
    s.create_invitation(&invitation("i3", 3, 10)).await.unwrap();
    assert_eq!(s.invitation_by_hash("inv-i1").await.unwrap(), Some(invitation("i1", 1, 100)));
    assert!(s.claim_invitation("i1", "u1", 50).await.unwrap());
    assert!(!s.claim_invitation("i1", "u2", 51).await.unwrap(), "used");
    let used = s.invitation_by_hash("inv-i1").await.unwrap().unwrap();
    assert_eq!((used.used_at_ms, used.used_by.as_deref()), (Some(50), Some("u1")));
    s.release_invitation("i1").await.unwrap();
    assert!(s.claim_invitation("i1", "u2", 52).await.unwrap(), "released");
    assert!(!s.revoke_invitation("i1", 60).await.unwrap(), "used invitations cannot be revoked");
    assert!(!s.claim_invitation("i3", "u3", 50).await.unwrap(), "expired");
    assert!(s.revoke_invitation("i2", 60).await.unwrap());
    assert!(!s.revoke_invitation("i2", 61).await.unwrap());
    assert!(!s.claim_invitation("i2", "u3", 62).await.unwrap(), "revoked");
    let list = s.invitations(2).await.unwrap();
    assert_eq!(list.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["i3", "i2"]);
    assert_eq!((list[1].email.as_deref(), list[1].revoked_at_ms), (None, Some(60)));

    s.create_invitation(&invitation("i4", 4, 100)).await.unwrap();
    let other = t.reopen().await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s: Arc<dyn Store> = if i % 2 == 0 { t.store.clone() } else { other.clone() };
            tokio::spawn(async move { s.claim_invitation("i4", &format!("racer{i}"), 70).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
    other.close().await;
}
