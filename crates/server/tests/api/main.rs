//! The server's integration tests: one binary (link time), one module per area.
//! Tests spawn the real router on loopback with a fresh SQLite file, or the real
//! binary where the process itself is under test (exit codes, signals).
#![allow(clippy::disallowed_methods, reason = "tests spawn their servers directly")]
#![allow(clippy::unwrap_used, reason = "tests")]

mod helpers;

mod accounts;
mod assistants;
mod authz;
mod billing;
mod browser;
mod chat;
mod cli;
mod embeddings;
mod errors;
mod files;
mod health;
mod kb;
mod line;
mod masking;
mod metrics;
mod oidc;
mod openai_compat;
mod openapi;
mod privacy;
mod redis;
mod shutdown;
mod transport;
mod web;
