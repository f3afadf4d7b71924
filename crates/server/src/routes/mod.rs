//! HTTP handlers: thin, one file per area.

pub mod admin;
pub mod analytics;
pub mod api_keys;
pub mod assistants;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod browser;
pub mod chat;
pub mod concierge;
pub mod conversations;
pub mod fallback;
pub mod files;
pub mod health;
pub mod invitations;
pub mod kb;
pub mod line;
pub mod metrics;
pub mod oidc;
pub mod openai_compat;
pub mod openapi;
pub mod privacy;
pub mod session;
pub mod web;
