//! HTTP served on threads of its own, each running a single-threaded runtime (an
//! event loop) that serves the connections it is handed to their end. One acceptor
//! hands each new connection to the loop with the fewest open.
//!
//! Why loops: on the shared multi-threaded runtime a proxied `/v1` request cost ~10%
//! more CPU on the bench machine, and about one five-second run in four cost half as
//! much again (the same system calls and context switches per request: tasks moving
//! between workers); on the loops that was rare (1 run in ~40). Event loops that each
//! keep a connection, its handler and its upstream call on one thread are what nginx
//! does. Chat turns still run on the shared runtime (the chat service spawns them
//! there): their database work wakes them from other threads, which the shared
//! runtime's parked workers take more cheaply (on the loops /api/chat served 12%
//! fewer turns).
//!
//! Why two loops per core by default: the server shares its cores (with nginx, the
//! database, on the bench machine with the load tool and the upstream), and a loop
//! the scheduler has set aside holds all its connections until it runs again; with
//! twice as many loops each holds half as many. On the 2-core bench machine 4 loops
//! against 2 gave 9% more `/v1` req/s and a lower p99 at 64 connections in every one
//! of 4 paired rounds (+1.64 ms median added p99 against +1.90), /api/chat the same.
//!
//! Why one acceptor: loops accepting on copies of one socket take new connections
//! unevenly (the first awake wins; at a burst one loop took twice the other's share,
//! and its connections waited on it while the other core idled). Counting open
//! connections per loop and handing each new one to the least busy keeps them even,
//! also when long-lived streams and short requests mix.

use anyhow::Context as _;
use axum::serve::{Listener, ListenerExt};
use prometheus_client::metrics::gauge::Gauge;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub type BoxedServe = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// An accepted connection on its way to a loop (a std socket: a tokio one is tied to
/// the reactor of the runtime that made it).
type Handoff = (std::net::TcpStream, SocketAddr);

/// A loop as the acceptor sees it.
struct Lane {
    tx: mpsc::UnboundedSender<Handoff>,
    /// Connections handed to the loop and not yet closed (also a metric).
    open: Gauge,
}

/// The running loops. The loops keep running after their connections drain, until
/// shutdown has waited for the tracked tasks and closed the database ([`Loops::stop`]).
pub struct Loops {
    /// Close the connections still open now.
    abort: CancellationToken,
    /// Let the loops end (after their tracked tasks).
    exit: CancellationToken,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Loops {
    /// Start a loop per gauge in `open` (each counts its loop's connections) serving
    /// `app` on what `listener` accepts; the future accepts and completes when, after
    /// `shutdown`, every loop has drained its connections (or when one failed).
    pub fn start(
        open: Vec<Gauge>,
        listener: TcpListener,
        app: axum::Router,
        shutdown: CancellationToken,
    ) -> anyhow::Result<(Self, BoxedServe)> {
        let local = listener.local_addr()?;
        let n = open.len();
        let (abort, exit) = (CancellationToken::new(), CancellationToken::new());
        let mut served = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        let mut lanes = Vec::with_capacity(n);
        for (i, open) in open.into_iter().enumerate() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start an HTTP event loop")?;
            let (handoff, rx) = mpsc::unbounded_channel();
            lanes.push(Lane { tx: handoff, open: open.clone() });
            let (done, result) = tokio::sync::oneshot::channel();
            let (app, shutdown, abort, exit) = (app.clone(), shutdown.clone(), abort.clone(), exit.clone());
            let thread = std::thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        // `tap_io` (doing nothing) is what gives handlers the peer's
                        // address (`ConnectInfo`) for a listener of our own.
                        let listener = Handed { rx, open, local }.tap_io(|_| {});
                        let serve = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                            .with_graceful_shutdown(shutdown.cancelled_owned())
                            .into_future();
                        let res = tokio::select! {
                            res = serve => res,
                            () = abort.cancelled() => Ok(()),
                        };
                        let _ = done.send(res);
                        exit.cancelled().await;
                    });
                })
                .context("cannot start an HTTP thread")?;
            served.push(result);
            threads.push(thread);
        }
        let drained = async move {
            for rx in served {
                rx.await.map_err(|_| io::Error::other("an HTTP thread ended early"))??;
            }
            Ok(())
        };
        let all = async move {
            let mut drained = std::pin::pin!(drained);
            tokio::select! {
                res = &mut drained => return res,
                () = accept(listener, lanes, shutdown) => {}
            }
            drained.await
        };
        Ok((Loops { abort, exit, threads }, Box::pin(all)))
    }

    /// Close the connections still open.
    pub fn abort(&self) {
        self.abort.cancel();
    }

    /// End the loops and wait for their threads.
    pub async fn stop(mut self) {
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

/// Accept until `shutdown`, handing each connection to the loop with the fewest open
/// (ties in turn).
async fn accept(mut listener: TcpListener, lanes: Vec<Lane>, shutdown: CancellationToken) {
    let mut next = 0;
    loop {
        // axum's accept retries connection errors and sleeps on others (EMFILE).
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return,
            pair = Listener::accept(&mut listener) => pair,
        };
        // Small SSE writes must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "could not hand over a connection");
                continue;
            }
        };
        let lane = pick(&lanes, next);
        next = (lane + 1) % lanes.len();
        let lane = &lanes[lane];
        lane.open.inc();
        if lane.tx.send((stream, peer)).is_err() {
            lane.open.dec();
        }
    }
}

/// The lane with the fewest open connections, looking from `from` on (the first of
/// equals wins, so ties rotate).
fn pick(lanes: &[Lane], from: usize) -> usize {
    let n = lanes.len();
    (0..n).map(|k| (from + k) % n).min_by_key(|&i| lanes[i].open.get()).unwrap_or(0)
}

/// A loop's end of the hand-off, as a listener for `axum::serve`.
struct Handed {
    rx: mpsc::UnboundedReceiver<Handoff>,
    open: Gauge,
    local: SocketAddr,
}

impl Listener for Handed {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            // The acceptor stopped (shutdown): nothing more comes.
            let Some((stream, peer)) = self.rx.recv().await else { return std::future::pending().await };
            // Registers the socket with this loop's reactor.
            match TcpStream::from_std(stream) {
                Ok(io) => return (Counted { io, open: self.open.clone() }, peer),
                Err(e) => {
                    self.open.dec();
                    tracing::warn!(error = %e, "could not take over a connection");
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// A connection that counts itself out of its loop's open connections when closed.
struct Counted {
    io: TcpStream,
    open: Gauge,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.dec();
    }
}

impl AsyncRead for Counted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(open: &[i64]) -> Vec<Lane> {
        open.iter()
            .map(|&n| {
                let gauge = Gauge::default();
                gauge.set(n);
                Lane { tx: mpsc::unbounded_channel().0, open: gauge }
            })
            .collect()
    }

    #[test]
    fn new_connections_go_to_the_least_busy_loop_ties_in_turn() {
        assert_eq!(pick(&lanes(&[3, 1, 2]), 0), 1);
        assert_eq!(pick(&lanes(&[3, 1, 2]), 2), 1);
        assert_eq!(pick(&lanes(&[2, 2, 2]), 0), 0);
        assert_eq!(pick(&lanes(&[2, 2, 2]), 1), 1);
        assert_eq!(pick(&lanes(&[2, 2, 2]), 2), 2);
        assert_eq!(pick(&lanes(&[0, 5, 0]), 1), 2);
    }
}
