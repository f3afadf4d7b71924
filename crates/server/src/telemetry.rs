//! Logging: one subscriber, JSON or pretty, filtered by `LOG_LEVEL`. Logs go to
//! stderr so stdout stays for command output.

use crate::config::{LogConfig, LogFormat};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Install the global subscriber (once; later calls are ignored).
pub fn init(cfg: &LogConfig) {
    let filter = EnvFilter::builder().parse_lossy(&cfg.filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match cfg.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    drop(result);
}
