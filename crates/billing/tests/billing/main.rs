//! Billing against the fake Stripe: the API client, webhooks delivered and
//! verified end to end, and a cross-check with Stripe's official Python library.
#![allow(clippy::disallowed_methods, reason = "tests spawn receivers and read HOME directly")]
#![allow(clippy::unwrap_used, reason = "tests")]
#![allow(clippy::print_stdout, reason = "a skipped cross-check says so")]

mod client;
mod python;
mod webhooks;
