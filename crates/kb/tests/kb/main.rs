//! The knowledge base's integration tests, one binary: lexical search on the MNP pack
//! (`search`) and dense retrieval with a test embedder (`dense`).

#![allow(clippy::unwrap_used, reason = "tests")]
#![allow(clippy::disallowed_methods, reason = "a test runs the backfill loop on a bare task")]

mod dense;
mod search;
