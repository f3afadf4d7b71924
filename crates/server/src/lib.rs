//! TENMON-ARK, the server: configuration, the HTTP API and the command line.

pub mod accounts;
pub mod app;
pub mod assistants;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod cli;
pub mod config;
pub mod error;
pub mod extract;
pub mod files;
pub mod line;
pub mod metrics;
pub mod middleware;
pub mod oidc;
pub mod privacy;
pub mod quota;
pub mod ratelimit;
pub mod realtime;
pub mod redis;
pub mod router;
pub mod routes;
pub mod serve;
pub mod system;
pub mod systemd;
pub mod telemetry;
