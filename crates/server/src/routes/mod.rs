//! HTTP handlers: thin, one file per area.

pub mod fallback;
pub mod health;
pub mod metrics;
pub mod openapi;
