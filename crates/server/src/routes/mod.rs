//! HTTP handlers: thin, one file per area.

pub mod chat;
pub mod conversations;
pub mod fallback;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod session;
