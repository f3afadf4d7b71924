//! Socket.IO at `/api/socket.io/`, as the TENMON-ARK plan has it. Like every other
//! client, a socket only subscribes to turns: `chat:send` starts a turn on the chat
//! service (acknowledged with its ids), and the turn's events go to the room of its
//! conversation as `chat:meta`, `chat:sources`, `chat:delta`, `chat:done` and
//! `chat:error`, with the same payloads as the SSE events. `chat:join` lets another
//! tab or device of the same owner follow a conversation.
//!
//! Authentication happens on connect (the session cookie, an `Authorization`
//! header, or `auth: {token}` from the client) through the same extractor as HTTP,
//! and again before every action and every 15 s: logout, password change, demotion
//! and erasure end the socket too.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::chat::{event_json, input, meta_json, ChatBody};
use axum::extract::FromRequestParts;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::SocketIo;
use std::time::Duration;

/// How often a connected socket's credential is checked again.
const RECHECK: Duration = Duration::from_secs(15);

/// What the socket authenticated with, kept to check it again later.
#[derive(Clone)]
struct Credential {
    headers: axum::http::HeaderMap,
}

#[derive(Debug, Default, Deserialize)]
struct ConnectAuth {
    token: Option<String>,
}

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Socket.IO layer for the router. With Redis, turns started on other
/// replicas reach this replica's sockets too: each replica announces the turns
/// its sockets start, and a replica with sockets in that conversation's room
/// follows the turn through the event log, like any other subscriber.
pub fn layer(state: &AppState) -> SocketIoLayer {
    let (layer, io) = SocketIo::builder().req_path("/api/socket.io").with_state(state.clone()).build_layer();
    io.ns("/", on_connect.with(authenticate));
    if let Some(redis) = state.redis.clone() {
        let (st, io) = (state.clone(), io.clone());
        let mut notices = redis.notices();
        state.tasks.spawn(async move {
            loop {
                let notice = tokio::select! {
                    _ = st.shutdown.cancelled() => break,
                    n = notices.recv() => n,
                };
                let notice = match notice {
                    Ok(n) => n,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                };
                let Ok(n) = serde_json::from_str::<TurnNotice>(&notice) else { continue };
                if n.replica == redis.replica_id || io.within(room(&n.conversation_id)).sockets().is_empty() {
                    continue;
                }
                let _ = io.to(room(&n.conversation_id)).emit("chat:meta", &n.meta).await;
                relay(&st, io.clone(), n.owner, n.conversation_id, n.message_id, n.started_seq);
            }
        });
    }
    layer
}

/// A turn a socket started, announced to the other replicas.
#[derive(Debug, serde::Serialize, Deserialize)]
struct TurnNotice {
    replica: String,
    owner: String,
    conversation_id: String,
    message_id: String,
    started_seq: i64,
    meta: serde_json::Value,
}

/// Send a turn's events (from the log, then live) to its conversation's room here.
fn relay(state: &AppState, io: SocketIo, owner: String, conversation_id: String, message_id: String, seq: i64) {
    let chat = state.chat.clone();
    state.tasks.spawn(async move {
        let room = room(&conversation_id);
        let mut events = chat.subscribe(owner, conversation_id.clone(), message_id, seq);
        while let Some(ev) = events.next().await {
            let Ok(ev) = ev else { break };
            if let Some((name, data)) = event_json(&ev, &conversation_id) {
                let _ = io.to(room.clone()).emit(format!("chat:{name}"), &data).await;
            }
        }
    });
}

/// The caller these headers stand for, exactly as an HTTP request would be judged.
async fn caller_of(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Caller, ApiError> {
    let mut req = axum::http::Request::new(());
    *req.headers_mut() = headers.clone();
    let (mut parts, ()) = req.into_parts();
    Caller::from_request_parts(&mut parts, state).await
}

async fn authenticate(
    s: SocketRef,
    State(state): State<AppState>,
    TryData(auth): TryData<ConnectAuth>,
) -> Result<(), Refused> {
    let mut headers = s.req_parts().headers.clone();
    if let Some(token) = auth.ok().and_then(|a| a.token).filter(|t| !t.is_empty()) {
        // The client's auth payload counts as an Authorization header: one code path.
        let value = axum::http::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Refused("unauthorized: malformed token".into()))?;
        headers.insert(axum::http::header::AUTHORIZATION, value);
    }
    let caller = caller_of(&state, &headers).await.map_err(|e| Refused(format!("{}: {e}", e.code())))?;
    s.extensions.insert(caller);
    s.extensions.insert(Credential { headers });
    Ok(())
}

/// The caller now (`None`: the session ended; the socket must close).
async fn recheck(state: &AppState, s: &SocketRef) -> Option<Caller> {
    let headers = s.extensions.get::<Credential>()?.headers;
    let caller = caller_of(state, &headers).await.ok()?;
    s.extensions.insert(caller.clone());
    Some(caller)
}

/// Tell the client why, then close the socket.
fn end(s: SocketRef, ack: AckSender) {
    error_ack(ack, &ApiError::Unauthorized);
    let _ = s.disconnect();
}

async fn on_connect(s: SocketRef, State(state): State<AppState>) {
    s.on("chat:send", chat_send);
    s.on("chat:join", chat_join);
    // Sessions end on the server (logout, demotion, erasure): so does the socket.
    let (socket, st) = (s.clone(), state.clone());
    state.tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = st.shutdown.cancelled() => break,
                _ = tokio::time::sleep(RECHECK) => {}
            }
            if !socket.connected() {
                break;
            }
            if recheck(&st, &socket).await.is_none() {
                let _ = socket.disconnect();
                break;
            }
        }
    });
}

fn error_ack(ack: AckSender, e: &ApiError) {
    let _ = ack.send(&json!({ "error": { "code": e.code(), "message": e.to_string() } }));
}

fn room(conversation_id: &str) -> String {
    format!("conv:{conversation_id}")
}

async fn chat_send(
    s: SocketRef,
    io: SocketIo,
    State(state): State<AppState>,
    TryData(body): TryData<ChatBody>,
    ack: AckSender,
) {
    let Some(caller) = recheck(&state, &s).await else { return end(s, ack) };
    let body = match body {
        Ok(b) => b,
        Err(e) => return error_ack(ack, &ApiError::BadRequest(format!("chat:send: {e}"))),
    };
    if let Err(e) = crate::routes::privacy::ensure_consent(&state, &caller).await {
        return error_ack(ack, &e);
    }
    if let Err(e) = crate::quota::check(&state, &caller).await {
        return error_ack(ack, &e);
    }
    let input = match input(&state, &caller, body, None).await {
        Ok(i) => i,
        Err(e) => return error_ack(ack, &e),
    };
    let started = match state.chat.start(input).await {
        Ok(s) => s,
        Err(e) => return error_ack(ack, &ApiError::from(e)),
    };
    let room = room(&started.conversation_id);
    s.join(room.clone());
    let meta = meta_json(&started);
    let _ = ack.send(&meta);
    let _ = io.to(room.clone()).emit("chat:meta", &meta).await;
    // The turn runs on its own task; this one only relays its events to the room.
    relay(
        &state,
        io,
        caller.subject_id.clone(),
        started.conversation_id.clone(),
        started.message_id.clone(),
        started.started_seq,
    );
    if let Some(redis) = &state.redis {
        let notice = TurnNotice {
            replica: redis.replica_id.clone(),
            owner: caller.subject_id.clone(),
            conversation_id: started.conversation_id.clone(),
            message_id: started.message_id.clone(),
            started_seq: started.started_seq,
            meta,
        };
        if let Ok(text) = serde_json::to_string(&notice) {
            if let Err(e) = redis.publish(crate::redis::NOTICES_CHANNEL, &text).await {
                tracing::debug!(error = %e, "could not announce a turn to the other replicas");
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct JoinBody {
    conversation_id: String,
}

async fn chat_join(s: SocketRef, State(state): State<AppState>, TryData(body): TryData<JoinBody>, ack: AckSender) {
    let Some(caller) = recheck(&state, &s).await else { return end(s, ack) };
    let Ok(body) = body else {
        return error_ack(ack, &ApiError::BadRequest("chat:join needs {\"conversation_id\"}".into()));
    };
    // Owner in the query: someone else's conversation is simply not found.
    match state.store.conversation(&caller.subject_id, &body.conversation_id).await {
        Ok(Some(c)) => {
            s.join(room(&c.id));
            let _ = ack.send(&json!({ "ok": true, "conversation_id": c.id }));
        }
        Ok(None) => error_ack(ack, &ApiError::NotFound("conversation not found".into())),
        Err(e) => error_ack(ack, &ApiError::from(e)),
    }
}
