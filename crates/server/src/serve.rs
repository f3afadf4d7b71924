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
use tokio_util::sync::CancellationToken;

type BoxedServe = std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>;

/// HTTP served on threads of its own, each running a single-threaded runtime that
/// accepts on a shared copy of the listening socket (the first loop free takes a new
/// connection) and serves its connections to the end.
///
/// Why: on the shared multi-threaded runtime a proxied `/v1` request cost ~10% more
/// CPU on the bench machine, and about one five-second run in four cost half as much
/// again (the same system calls and context switches per request: tasks moving
/// between workers); on the loops none did in 26 runs. An event loop per core that
/// keeps a connection, its handler and its upstream call on one thread is what nginx
/// does. Chat turns still run on the shared runtime (the chat service spawns them
/// there): their database work wakes them from other threads, which the shared
/// runtime's parked workers take more cheaply (on the loops /api/chat served 12%
/// fewer turns). The loops keep running after their connections drain, until
/// shutdown has waited for the tracked tasks and closed the database.
struct Loops {
    /// Close the connections still open now.
    abort: CancellationToken,
    /// Let the loops end (after their tracked tasks).
    exit: CancellationToken,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Loops {
    /// Start `n` loops; the future completes when every loop has drained its
    /// connections (or one failed).
    fn start(
        n: usize,
        listener: std::net::TcpListener,
        app: axum::Router,
        shutdown: CancellationToken,
    ) -> anyhow::Result<(Self, BoxedServe)> {
        let (abort, exit) = (CancellationToken::new(), CancellationToken::new());
        let mut served = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        for i in 0..n {
            let listener = listener.try_clone().context("cannot share the listening socket")?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start an HTTP event loop")?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            let (app, shutdown, abort, exit) = (app.clone(), shutdown.clone(), abort.clone(), exit.clone());
            let thread = std::thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        let result = match TcpListener::from_std(listener) {
                            Ok(listener) => {
                                let listener = listener.tap_io(|tcp| {
                                    // Small SSE writes must not wait for Nagle's algorithm.
                                    let _ = tcp.set_nodelay(true);
                                });
                                let serve =
                                    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                                        .with_graceful_shutdown(shutdown.cancelled_owned())
                                        .into_future();
                                tokio::select! {
                                    res = serve => res,
                                    () = abort.cancelled() => Ok(()),
                                }
                            }
                            Err(e) => Err(e),
                        };
                        let _ = tx.send(result);
                        exit.cancelled().await;
                    });
                })
                .context("cannot start an HTTP thread")?;
            served.push(rx);
            threads.push(thread);
        }
        let all = async move {
            for rx in served {
                rx.await.map_err(|_| std::io::Error::other("an HTTP thread ended early"))??;
            }
            Ok(())
        };
        Ok((Loops { abort, exit, threads }, Box::pin(all)))
    }

    /// End the loops and wait for their threads.
    async fn stop(mut self) {
        self.exit.cancel();
        let threads = std::mem::take(&mut self.threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// `run` dropped before it finished (its runtime ended): close the connections and
/// end the loops rather than leave them serving.
impl Drop for Loops {
    fn drop(&mut self) {
        self.abort.cancel();
        self.exit.cancel();
    }
}

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
        let (loops, http) = Loops::start(threads, listener.into_std()?, app, state.shutdown.clone())?;
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
        loops.abort.cancel();
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
