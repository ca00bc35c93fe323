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

pub mod accounts;
pub mod email;
pub mod events;
pub mod links;
pub mod password;
pub mod password_hash;
