//! Identity verification (IAL2, IDV-1 … IDV-9): the proofing flow's state, the jobs that
//! call the vendors, the vendors' ports, and the sealing that keeps a verified identity
//! readable only by its owner (password or personal key) together with the key service.
//!
//! - [`pii`]: the personal data being verified, validated, redacted in `Debug`, zeroized.
//! - Sealing and keys: [`seal`] (IDV-7, password + key service), [`personal_key`] (IDV-8),
//!   [`session_pii`] (IDV-9, the session's copy under a key only the cookie holds),
//!   [`profile`] (the account's verified identity: active, pending letter, deactivated).
//! - Checks: [`jobs`] (proofing jobs through the queue, idempotent by id), [`vendors`] (the
//!   vendor ports and their HTTP clients), [`callback`] (signed vendor webhooks),
//!   [`uploads`] (document images, sealed, deleted when the checks end).
//! - [`letter`] (IDV-4 codes) and [`duplicates`] (IDV-6 fingerprints).

pub mod callback;
pub mod duplicates;
pub mod error;
pub mod jobs;
pub mod letter;
pub mod personal_key;
pub mod pii;
pub mod profile;
pub mod seal;
pub mod session_pii;
#[cfg(all(test, feature = "embedded"))]
mod testkit;
pub mod uploads;
pub mod vendors;
#[cfg(all(test, feature = "embedded"))]
mod without_the_mac;
