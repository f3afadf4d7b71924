//! The /browser reader: SSRF-safe fetching and readable text.
//!
//! [`Fetcher::fetch`] takes a user's URL, refuses anything that could reach this machine or its
//! network (see [`policy`]), follows redirects by hand re-checking every hop, and returns the
//! page's readable plain text ([`readable`]); [`page_context`] wraps it for a model prompt.
//! No HTTP routing here: the server maps [`FetchError::code`] and
//! [`FetchError::suggested_status`] onto its API errors.

mod charset;
mod error;
mod fetch;
mod parse;
pub mod policy;
mod prompt;
pub mod readable;
mod resolve;

pub use error::FetchError;
pub use fetch::{FetchSettings, Fetcher, Page};
pub use policy::{AllowList, Policy, Refusal};
pub use prompt::page_context;
pub use readable::{Link, Readable};
pub use resolve::{Resolver, SystemResolver};
