//! Request middleware, outermost first: request id, observation (span, metrics, one
//! log line), JSON errors for anything a layer answered, security headers.

pub mod body_limit;
pub mod json_errors;
pub mod observe;
pub mod rate_limit;
pub mod request_id;
pub mod security;
