//! Authorization codes (OIDC-3): 256 random bits, stored as their SHA-256 with what the
//! person granted, redeemable once within 5 minutes. Redeeming marks the code used and
//! writes the access token in one transaction, so of many concurrent redemptions one
//! wins; a later attempt finds it used and revokes the token it issued.

use serde::{Deserialize, Serialize};

use super::request::{AalLevel, Acr};
use super::{CODE_SECS, hashed, secs};
use crate::store::{Item, Key};

/// What a code (and then an access token) stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub user_id: String,
    pub client_id: String,
    /// The pairwise subject's sector (OIDC-6).
    pub agency_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: String,
    /// What was asked.
    pub acr: Acr,
    /// What the sign-in achieved (at least what was asked).
    pub aal: AalLevel,
    pub auth_time_ms: i64,
    pub code_challenge: Option<String>,
    /// When the identity was verified (seconds), for `verified_at`; IAL2 grants and
    /// `profile:verified_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<i64>,
    /// The verified-identity claims, sealed ([`super::verified`]); IAL2 grants only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
}

pub(super) fn code_key(code: &str) -> Key {
    Key::new(format!("OIDC_CODE#{}", hashed(code)), "CODE")
}

pub(super) fn code_item(code: &str, grant: &Grant, now_ms: i64) -> Item {
    Item::new(code_key(code))
        .with("doc", serde_json::to_string(grant).unwrap_or_default())
        .with("used", false)
        .expiring_at(secs(now_ms) + CODE_SECS)
}

pub(super) fn grant_of(item: &Item) -> Option<Grant> {
    serde_json::from_str(item.str("doc")?).ok()
}
