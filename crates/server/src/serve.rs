//! Serving: bind, serve HTTP (and HTTPS when configured), and shut down gracefully on
//! SIGTERM/SIGINT: stop accepting, let in-flight requests and tracked tasks finish
//! within `SHUTDOWN_GRACE_SECONDS`, close the database.

use crate::app::AppState;
use crate::middleware::security;
use crate::router;
use anyhow::Context;
use axum::serve::ListenerExt;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

mod loops;

use loops::{BoxedServe, Loops};

/// Wait for SIGTERM or SIGINT, then cancel the app's shutdown token.
pub async fn shutdown_on_signal(state: AppState) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        () = term => tracing::info!("SIGTERM received; shutting down"),
        () = state.shutdown.cancelled() => {}
    }
    state.shutdown.cancel();
}

/// Serve on `listener` (and on `tls_listener` with the configured certificate) until
/// the shutdown token fires, then drain.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    tls_listener: Option<std::net::TcpListener>,
) -> anyhow::Result<()> {
    let grace = state.config.server.shutdown_grace;
    match state.chat.recover_interrupted().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(turns = n, "marked turns left running by an earlier stop as interrupted"),
        Err(e) => tracing::error!(error = %e, "could not mark interrupted turns"),
    }
    let app = router::build(state.clone());
    let addr = listener.local_addr()?;
    tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), "TENMON-ARK listening on http://{addr}");

    let tls = match tls_listener {
        Some(std_listener) => {
            let tls_cfg = state.config.server.tls.as_ref().context("TLS listener without TLS settings")?;
            let rustls_cfg =
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls_cfg.cert_path, &tls_cfg.key_path)
                    .await
                    .context("cannot load SSL_CERT_PATH/SSL_KEY_PATH")?;
            let handle = axum_server::Handle::new();
            let tls_addr = std_listener.local_addr()?;
            tracing::info!(addr = %tls_addr, "TLS listening on https://{tls_addr}");
            let tls_app = app.clone().layer(security::hsts());
            let server = axum_server::from_tcp_rustls(std_listener, rustls_cfg)
                .handle(handle.clone())
                .serve(tls_app.into_make_service_with_connect_info::<SocketAddr>());
            Some((handle, state.tasks.spawn(server)))
        }
        None => None,
    };

    crate::systemd::ready(&format!("listening on {addr}"));
    crate::privacy::spawn_retention(&state);
    // Forget idle rate-limit keys now and then.
    let (limiter, shutdown) = (state.limiter.clone(), state.shutdown.clone());
    state.tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => limiter.sweep(),
            }
        }
    });
    crate::systemd::spawn_watchdog(&state.tasks, state.shutdown.clone());
    let threads = state.config.server.http_threads;
    let (mut http, loops) = if threads == 0 {
        let token = state.shutdown.clone();
        let listener = listener.tap_io(|tcp| {
            // Small SSE writes must not wait for Nagle's algorithm.
            let _ = tcp.set_nodelay(true);
        });
        let http = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move { token.cancelled().await })
            .into_future();
        (Box::pin(http) as BoxedServe, None)
    } else {
        let open = (0..threads)
            .map(|i| {
                let labels = crate::metrics::LoopLabels { event_loop: u32::try_from(i).unwrap_or(u32::MAX) };
                state.metrics.http_connections.get_or_create(&labels).clone()
            })
            .collect();
        let (loops, http) = Loops::start(open, listener, app, state.shutdown.clone())?;
        (http, Some(loops))
    };

    // Shutdown first: when nothing is in flight the server future completes the
    // moment the token fires, and picking it would skip the drain below (turns,
    // tasks, STOPPING).
    let mut http_result = None;
    tokio::select! {
        biased;
        () = state.shutdown.cancelled() => {}
        res = &mut http => http_result = Some(res),
    }
    let http_done = http_result.is_some();
    if let Some(res) = http_result {
        if !state.shutdown.is_cancelled() {
            res.context("HTTP server failed")?;
            return Ok(());
        }
    }
    crate::systemd::stopping();
    if let Some((handle, _)) = &tls {
        handle.graceful_shutdown(Some(grace));
    }
    let deadline = tokio::time::Instant::now() + grace;
    if !http_done {
        let mut drained = tokio::time::timeout_at(deadline, &mut http).await;
        if drained.is_err() {
            // Grace is over: running turns store what they have as interrupted and
            // their subscribers receive that last event before connections close.
            tracing::warn!(
                grace_s = grace.as_secs(),
                turns = state.chat.running(),
                "grace period over; interrupting running turns"
            );
            state.hard_stop.cancel();
            drained = tokio::time::timeout(Duration::from_secs(2), &mut http).await;
        }
        match drained {
            Ok(res) => res.context("HTTP server failed")?,
            Err(_) => tracing::warn!("closing connections still open"),
        }
    }
    drop(http);
    if let Some(loops) = &loops {
        loops.abort();
    }
    state.tasks.close();
    let rest = deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_millis(100));
    if tokio::time::timeout(rest, state.tasks.wait()).await.is_err() {
        state.hard_stop.cancel();
        if tokio::time::timeout(Duration::from_secs(2), state.tasks.wait()).await.is_err() {
            tracing::warn!(tasks = state.tasks.len(), "background tasks still running after the grace period");
        }
    }
    state.store.close().await;
    if let Some(loops) = loops {
        loops.stop().await;
    }
    tracing::info!("shutdown complete");
    Ok(())
}
