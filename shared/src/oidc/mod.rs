//! OpenID Connect provider domain (OIDC-1 … OIDC-9): the agency registry, signing keys,
//! authorization requests, codes, client authentication, tokens, claims and consent, over
//! the store and envelope ports, with no HTTP types.
//!
//! - [`agency`]: the registry of agencies (OIDC-9), kept in the store by an operator command.
//! - [`jose`]: compact JWS — RS256 and ES256 only, by aws-lc-rs; keys as JWK.
//! - [`signing`]: the provider's signing keys (current, next, retired), sealed at rest.
//! - [`request`]: validation of an authorization request (OIDC-2) and its ACR (OIDC-7).
//! - [`pending`]: a validated request kept server-side while the person signs in.
//! - [`codes`]: single-use authorization codes, 5 minutes: the grant sealed, nothing stored
//!   until redeemed.
//! - [`client_auth`]: `private_key_jwt` assertions (RFC 7523) and PKCE (RFC 7636).
//! - [`tokens`]: the token exchange, access tokens, ID tokens (OIDC-3, OIDC-4).
//! - [`claims`]: scopes to claims (OIDC-5) and pairwise subjects (OIDC-6).
//! - [`verified`]: the verified-identity claims of IAL2 grants, sealed under the access
//!   token so that only the agency holding it opens them.
//! - [`consent`]: what each person allowed each agency to receive (OIDC-8).
//! - [`discovery`]: the provider metadata: only what is really supported.
//!
//! Items:
//!
//! | `pk` | `sk` | Holds | Lives |
//! | --- | --- | --- | --- |
//! | `AGENCY#<client_id>` | `AGENCY` | the registration as JSON | until removed |
//! | `CONFIG` | `SIGNING_KEYSET` | kids, algorithms and states as JSON | always |
//! | `CONFIG` | `SIGNING_KEY#<kid>` | sealed PKCS#8 private key, public JWK | while published |
//! | `OIDC_REQUEST#<id>` | `REQUEST` | a validated authorization request (JSON) | 30 min |
//! | `OIDC_CODE#<sha256>` | `CODE` | a redeemed code: the token it issued | 5 min after redemption |
//! | `OIDC_TOKEN#<sha256>` | `TOKEN` | user, client, scopes, ACR, AAL; IAL2: the verified claims sealed under the token ([`verified`]) | 15 min |
//! | `OIDC_JTI#<client>#<sha256>` | `JTI` | a client assertion already used | until its `exp` |
//! | `USER#<id>` | `CONSENT#<client_id>` | scopes, when, the verification it covered | 1 year |

pub mod agency;
pub mod claims;
pub mod client_auth;
pub mod codes;
pub mod consent;
pub mod discovery;
pub mod jose;
pub mod pending;
pub mod request;
pub mod signing;
pub mod tokens;
pub mod verified;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

pub use agency::{Agencies, Agency};
pub use request::{Acr, AuthorizationRequest, Prompt};

use crate::envelope::EnvelopeError;
use crate::store::StoreError;

/// OIDC-3: codes are redeemable for 5 minutes.
pub const CODE_SECS: i64 = 5 * 60;

/// Access and ID tokens live 15 minutes.
pub const TOKEN_SECS: i64 = 15 * 60;

/// A validated authorization request waits this long for the person to sign in.
pub const REQUEST_SECS: i64 = 30 * 60;

/// Clock skew tolerated on client assertions (OIDC-3: "small clock leeway").
pub const LEEWAY_SECS: i64 = 10;

/// Errors of the provider's domain that are not protocol answers (those are
/// [`tokens::TokenError`] and [`request::AuthorizeError`]).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the agency registration is not valid: {0}")]
    InvalidAgency(String),
    #[error("a stored OpenID Connect record is malformed")]
    Malformed,
    #[error("the signing keys could not be made or used: {0}")]
    Keys(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sealing(#[from] EnvelopeError),
}

/// The store's name for a bearer secret (code, access token, jti): its SHA-256, so a
/// copied table redeems nothing.
pub(crate) fn hashed(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Seconds since the epoch from the clock's milliseconds.
pub(crate) fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}
