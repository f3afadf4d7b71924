//! Request middleware: two functions ([`edge::outer`], [`edge::inner`]) composing
//! the concerns of the other modules: request id, observation (span, metrics, one
//! log line), rate limits, the audit scope, body and time limits, JSON errors for
//! anything a layer answered, security headers.

pub mod body_limit;
pub mod context;
pub mod edge;
pub mod json_errors;
pub mod observe;
pub mod rate_limit;
pub mod request_id;
pub mod security;
