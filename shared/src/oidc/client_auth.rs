//! How an agency proves itself at the token endpoint (OIDC-3): a `private_key_jwt`
//! assertion (RFC 7523, OIDC Core 9) signed by a registered key, or — for agencies
//! registered for it — a PKCE verifier (RFC 7636) matching the code's challenge.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::LEEWAY_SECS;
use super::agency::Agency;
use super::jose::Jws;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An assertion is not accepted further ahead than this (it bounds how long its `jti`
/// must be remembered).
pub const MAX_ASSERTION_SECS: i64 = 60 * 60;

/// What a checked assertion leaves to remember.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub jti: String,
    pub exp: i64,
}

/// The client id an assertion claims to come from (`iss`), before it is checked, to
/// find the agency's keys.
pub fn claimed_client(jws: &Jws) -> Option<&str> {
    jws.str_claim("iss")
}

/// Checks a `private_key_jwt` assertion for `agency`: signature by a registered key with
/// the algorithm that key fixes, `iss` = `sub` = client id, `aud` naming the issuer or
/// the token endpoint, `exp` in the future (within an hour), `iat`/`nbf` not in the
/// future, a `jti`. Leeway: [`LEEWAY_SECS`]. Returns a description on refusal.
pub fn check_assertion(
    jws: &Jws,
    agency: &Agency,
    audiences: &[&str],
    now_secs: i64,
) -> Result<Assertion, &'static str> {
    if !jws.verified_by(&agency.keys) {
        return Err("the client assertion is not signed by a registered key");
    }
    if jws.str_claim("iss") != Some(agency.client_id.as_str())
        || jws.str_claim("sub") != Some(agency.client_id.as_str())
    {
        return Err("the client assertion's iss and sub must be the client id");
    }
    let aud_ok = match jws.claims.get("aud") {
        Some(serde_json::Value::String(a)) => audiences.contains(&a.as_str()),
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str())
            .any(|a| audiences.contains(&a)),
        _ => false,
    };
    if !aud_ok {
        return Err("the client assertion's aud must be the issuer or the token endpoint");
    }
    let Some(exp) = jws.int_claim("exp") else {
        return Err("the client assertion has no exp");
    };
    if exp + LEEWAY_SECS <= now_secs {
        return Err("the client assertion has expired");
    }
    if exp > now_secs + MAX_ASSERTION_SECS {
        return Err("the client assertion's exp is more than an hour ahead");
    }
    for claim in ["iat", "nbf"] {
        if jws
            .int_claim(claim)
            .is_some_and(|t| t > now_secs + LEEWAY_SECS)
        {
            return Err("the client assertion is not valid yet");
        }
    }
    match jws.str_claim("jti") {
        Some(jti) if !jti.is_empty() && jti.len() <= 255 => Ok(Assertion {
            jti: jti.to_owned(),
            exp,
        }),
        _ => Err("the client assertion needs a jti of 1 to 255 characters"),
    }
}

/// RFC 7636 S256: `BASE64URL(SHA256(verifier)) == challenge`, the verifier being 43 to
/// 128 unreserved characters. Compared in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let shape = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    shape && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::agency::AalSetting;
    use crate::oidc::jose::{Alg, SigningKey};
    use serde_json::json;

    fn setup() -> (SigningKey, Agency) {
        let key = SigningKey::generate(Alg::RS256, "a1".into()).unwrap().0;
        let agency = Agency {
            client_id: "urn:gov:demo".into(),
            name: "Demo".into(),
            agency_id: "demo".into(),
            ial: 1,
            default_aal: AalSetting::Default,
            keys: vec![key.public_jwk()],
            jwks_uri: None,
            redirect_uris: vec!["https://demo.gov/cb".into()],
            post_logout_redirect_uris: vec![],
            scopes: vec![],
            pkce: false,
            id_token_alg: Alg::RS256,
            push_notification_url: None,
            failure_to_proof_url: None,
        };
        (key, agency)
    }

    const NOW: i64 = 1_700_000_000;
    const AUD: [&str; 2] = ["https://idp.gov", "https://idp.gov/token"];

    fn check(
        key: &SigningKey,
        agency: &Agency,
        claims: serde_json::Value,
    ) -> Result<Assertion, &'static str> {
        let token = key.sign("JWT", &claims).unwrap();
        check_assertion(&Jws::parse(&token).unwrap(), agency, &AUD, NOW)
    }

    fn good() -> serde_json::Value {
        json!({"iss": "urn:gov:demo", "sub": "urn:gov:demo", "aud": "https://idp.gov/token", "exp": NOW + 60, "jti": "j1"})
    }

    #[test]
    fn a_good_assertion_passes_with_either_audience() {
        let (key, agency) = setup();
        assert_eq!(check(&key, &agency, good()).unwrap().jti, "j1");
        let mut c = good();
        c["aud"] = json!(["https://idp.gov"]);
        assert!(check(&key, &agency, c).is_ok());
    }

    #[test]
    fn each_rule_is_enforced() {
        let (key, agency) = setup();
        let cases: [(&str, serde_json::Value); 6] = [
            ("aud", json!("https://elsewhere.gov")),
            ("exp", json!(NOW - LEEWAY_SECS)),
            ("exp", json!(NOW + 2 * MAX_ASSERTION_SECS)),
            ("sub", json!("urn:gov:other")),
            ("iat", json!(NOW + 3600)),
            ("jti", json!("")),
        ];
        for (name, value) in cases {
            let mut c = good();
            c[name] = value;
            assert!(check(&key, &agency, c).is_err(), "{name}");
        }
        let other = SigningKey::generate(Alg::RS256, "a1".into()).unwrap().0;
        assert!(check(&other, &agency, good()).is_err(), "unregistered key");
    }

    #[test]
    fn pkce_follows_the_rfc_example() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
