//! The accounts domain (ACC): pure rules and computations with no HTTP or AWS types, so
//! every front end and worker applies the same ones.
//!
//! - [`password`]: the password policy of ACC-2 (length, common passwords, the email's
//!   parts, zxcvbn strength) with translatable feedback ids.
//! - [`password_hash`]: argon2id hashing, sealed by the envelope so a copied table cannot
//!   be attacked offline, with constant-cost verification for unknown accounts (ACC-3).

pub mod password;
pub mod password_hash;
