//! The store's behaviour, one suite for every backend: each test runs on SQLite, on
//! PostgreSQL and on MariaDB (`sqlite::…`, `postgres::…`, `mariadb::…`), each time
//! on a fresh, migrated database (see `harness`).
//!
//! One test binary, so the database servers start once per run.

#![allow(clippy::disallowed_methods, reason = "tests spawn concurrent writers on bare tasks")]
#![allow(clippy::unwrap_used, reason = "tests")]

/// For each `async fn name(t: TestDb)` in the calling module, a test per backend.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::harness::fresh(crate::harness::Db::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::harness::fresh(crate::harness::Db::Postgres).await).await;
                }
            )*
        }
        mod mariadb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::harness::fresh(crate::harness::Db::Mariadb).await).await;
                }
            )*
        }
    };
}

mod accounts;
mod events;
mod files;
mod harness;
mod kb;
mod line;
mod migrate;
mod privacy;
mod vectors;
