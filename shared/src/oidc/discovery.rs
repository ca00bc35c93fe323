//! Provider metadata (OpenID Connect Discovery 1.0): what is really supported, nothing
//! more — an agency library that reads it must not try what would then fail.

use serde_json::{Value, json};

use super::claims::Scope;
use super::jose::Alg;
use super::request::ACR_VALUES;

/// Path of each endpoint, relative to the issuer.
pub const AUTHORIZE_PATH: &str = "/authorize";
pub const TOKEN_PATH: &str = "/token";
pub const USERINFO_PATH: &str = "/userinfo";
pub const JWKS_PATH: &str = "/jwks";
pub const END_SESSION_PATH: &str = "/end-session";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The discovery document for `issuer`.
pub fn metadata(issuer: &str) -> Value {
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let mut claims: Vec<&str> = Scope::ALL
        .iter()
        .flat_map(|s| s.claims())
        .copied()
        .collect();
    claims.extend([
        "acr",
        "nonce",
        "auth_time",
        "at_hash",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
    ]);
    claims.sort_unstable();
    claims.dedup();
    let algs: Vec<&str> = Alg::ALL.iter().map(|a| a.as_str()).collect();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "end_session_endpoint": format!("{issuer}{END_SESSION_PATH}"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": ACR_VALUES,
        "scopes_supported": scopes,
        "claims_supported": claims,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": [],
        "prompt_values_supported": ["select_account", "login", "none"],
        "ui_locales_supported": ["en", "fr", "es"],
    })
}
