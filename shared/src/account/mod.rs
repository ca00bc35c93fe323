//! The accounts domain (ACC): rules and flows with no HTTP or AWS types, so every front
//! end and worker applies the same ones.
//!
//! - [`password`]: the password policy of ACC-2 with translatable feedback ids.
//! - [`password_hash`]: argon2id hashing, sealed by the envelope, with constant-cost
//!   verification for unknown accounts (ACC-3).
//! - [`email`]: normalised, validated addresses.
//! - [`links`]: single-use emailed links, stored by hash.
//! - [`events`]: the append-only account history.
//! - [`accounts`]: sign-up, sign-in and password reset over the store.
//! - [`addresses`]: adding and removing addresses, the language of mail (ACC-1, ACC-6).
//! - [`password_change`]: a new password from the account page (ACC-6).
//! - [`deletion`]: deleting an account and everything it owns (ACC-6, ACC-7).
//! - [`recovery`]: account reset when every factor is lost (ACC-7).
//! - [`not_me`]: "this wasn't me" links in notifications (ACC-8).

pub mod accounts;
pub mod addresses;
pub mod deletion;
pub mod email;
pub mod events;
pub mod links;
pub mod not_me;
pub mod password;
pub mod password_change;
pub mod password_hash;
pub mod recovery;

pub use accounts::{Account, AccountError, Accounts};
