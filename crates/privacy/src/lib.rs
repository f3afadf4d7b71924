//! Privacy for TENMON-ARK, as pure functions with no I/O: personal data is masked
//! before a model sees it ([`mask`]), the audit log is a tamper-evident hash chain
//! ([`audit`]), and stored text is encrypted under per-user data keys so erasing a
//! user is destroying one key ([`crypto`]).

pub mod audit;
pub mod crypto;
pub mod mask;

pub use audit::{AuditDraft, AuditRecord, ChainError};
pub use crypto::{CryptoError, DataKey, Keyring, MasterKey};
pub use mask::{Found, Kind, Masker, Restorer, Vault};
