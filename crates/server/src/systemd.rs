//! systemd integration (`Type=notify`): READY=1 once the listeners are bound,
//! STOPPING=1 when shutdown begins, and WATCHDOG=1 pings at half the interval systemd
//! asks for. Without systemd (no `NOTIFY_SOCKET`) every call is a no-op.

use sd_notify::NotifyState;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Tell systemd the service is up.
pub fn ready(status: &str) {
    if let Err(e) = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)]) {
        tracing::warn!(error = %e, "sd_notify READY failed");
    }
}

/// Tell systemd the service is stopping.
pub fn stopping() {
    if let Err(e) = sd_notify::notify(&[NotifyState::Stopping, NotifyState::Status("shutting down")]) {
        tracing::warn!(error = %e, "sd_notify STOPPING failed");
    }
}

/// Ping the watchdog until `shutdown`, when systemd set `WatchdogSec=`. The pings come
/// from the runtime itself, so a stalled runtime stops them and systemd restarts us.
pub fn spawn_watchdog(tasks: &TaskTracker, shutdown: CancellationToken) {
    let Some(timeout) = sd_notify::watchdog_enabled() else { return };
    let every = (timeout / 2).max(Duration::from_millis(50));
    tracing::info!(interval_ms = every.as_millis() as u64, "systemd watchdog enabled");
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    let _ = sd_notify::notify(&[NotifyState::Watchdog]);
                }
            }
        }
    });
}
