//! Verified-identity claims (OIDC-5, IAL2) on their way from the person's session to the
//! agency, sealed at every step under a key the service does not keep:
//!
//! 1. At the code's issue they are chosen from the PII the session holds (IDV-9; opened
//!    there with the session cookie's key) and put **in clear** into the grant. The grant
//!    is the code, sealed with AES-256-GCM under the day's subkey of the fingerprint root
//!    ([`super::codes`]) and **never stored or logged**: it travels only in the redirect to
//!    the agency and back in its `/token` request, lives 5 minutes and is redeemed once.
//!    What that leaves an operator: whoever holds the table and the key service can open
//!    the fingerprint root and so derive the day's code key; with a code in hand they
//!    could read its claims. They never find one in the table, its backups or the logs;
//!    they would have to take it in transit within those 5 minutes (TLS keeps it from the
//!    network) or deploy code that captures it, a capability that captures everything a
//!    person types anyway (docs/privacy.md).
//! 2. At `/token` ([`seal_for_token`]) they are sealed again, under a key derived from
//!    the new access token: HMAC-SHA256(access token, `passerelle/oidc-claims/v1`) keys
//!    AES-256-GCM, with a random nonce and, as associated data, the format version, the
//!    token's hash (the name of the item that holds them) and the client. The token item
//!    keeps only that ciphertext, and the token's SHA-256 as its name, from which the key
//!    cannot be derived.
//! 3. At userinfo ([`open_with_token`]) the key is derived again from the bearer token the
//!    agency presents, and they open.
//!
//! So nothing stored opens them: not the table or its backups, not the key service (no
//! envelope is involved, and no key-service call is spent at issue, exchange or userinfo),
//! only the agency that holds the access token, for its 15 minutes. The ID token carries
//! none of them.
//!
//! A sealed value is base64url of `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::claims::Scope;
use super::hashed;
use crate::aead::{self, NONCE_LEN, TAG_LEN};
use crate::idv::pii::Pii;

/// The format of the values [`seal_for_token`] makes.
const VERSION: u8 = 1;
/// Derives the key from the access token, and starts the associated data.
const LABEL: &[u8] = b"passerelle/oidc-claims/v1";

/// The claims one grant releases, in clear. They exist in clear only inside a sealed code
/// and in memory: [`super::tokens::Provider::exchange`] takes them off the grant before it
/// stores it. `Debug` names the claims, never their values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VerifiedClaims(Map<String, Value>);

impl VerifiedClaims {
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl fmt::Debug for VerifiedClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VerifiedClaims")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a sealed value does not open.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsRefused {
    /// Not base64url, of another format, altered, or sealed for another token or client.
    #[error("the verified claims do not open with this access token")]
    Rejected,
}

/// The key the claims of `access_token` are sealed under: nothing stored derives it.
fn key_of(access_token: &str) -> Zeroizing<[u8; 32]> {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(access_token.as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(LABEL);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// Binds a sealed value to its format, its token's item and its agency: moved to another
/// token item, or presented with another client's grant, it does not open.
fn associated_data(version: u8, access_token: &str, client_id: &str) -> Vec<u8> {
    let token_hash = hashed(access_token);
    let mut aad = LABEL.to_vec();
    aad.push(version);
    aad.extend_from_slice(&(token_hash.len() as u32).to_be_bytes());
    aad.extend_from_slice(token_hash.as_bytes());
    aad.extend_from_slice(client_id.as_bytes());
    aad
}

/// Seals `claims` for the holder of `access_token`, issued to `client_id`; `nonce` must be
/// random (the caller's [`crate::random::Random`]). The text is what the token item keeps.
pub fn seal_for_token(
    claims: &VerifiedClaims,
    access_token: &str,
    client_id: &str,
    nonce: [u8; NONCE_LEN],
) -> String {
    // A map of JSON values serialises; it cannot fail.
    let json = Zeroizing::new(serde_json::to_vec(&claims.0).unwrap_or_default());
    let key = key_of(access_token);
    let ciphertext = aead::encrypt(
        &key,
        &nonce,
        &associated_data(VERSION, access_token, client_id),
        &json,
    );
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    URL_SAFE_NO_PAD.encode(out)
}

/// Opens what [`seal_for_token`] made for this token and client.
pub fn open_with_token(
    sealed: &str,
    access_token: &str,
    client_id: &str,
) -> Result<VerifiedClaims, ClaimsRefused> {
    let bytes = URL_SAFE_NO_PAD
        .decode(sealed)
        .map_err(|_| ClaimsRefused::Rejected)?;
    let (&version, rest) = bytes.split_first().ok_or(ClaimsRefused::Rejected)?;
    if version != VERSION {
        return Err(ClaimsRefused::Rejected);
    }
    let (nonce, ciphertext) = rest
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(ClaimsRefused::Rejected)?;
    if ciphertext.len() < TAG_LEN {
        return Err(ClaimsRefused::Rejected);
    }
    let key = key_of(access_token);
    let json = aead::decrypt(
        &key,
        nonce,
        &associated_data(version, access_token, client_id),
        ciphertext,
    )
    .ok_or(ClaimsRefused::Rejected)?;
    serde_json::from_slice(&json)
        .map(VerifiedClaims)
        .map_err(|_| ClaimsRefused::Rejected)
}

/// `900123456` → `900-12-3456`, the form agencies' forms expect.
fn ssn_display(ssn: &str) -> String {
    match (ssn.get(..3), ssn.get(3..5), ssn.get(5..)) {
        (Some(a), Some(b), Some(c)) if ssn.len() == 9 => format!("{a}-{b}-{c}"),
        _ => ssn.to_owned(),
    }
}

/// The claims of the IAL2 scopes among `scopes`, from `pii`. `verified_at` comes with
/// the grant (see [`super::claims::userinfo`]).
pub fn claims_for(scopes: &[Scope], pii: &Pii) -> VerifiedClaims {
    let mut out = Map::new();
    for scope in scopes {
        match scope {
            Scope::Profile | Scope::ProfileName => {
                out.insert("given_name".into(), json!(pii.given_name));
                out.insert("family_name".into(), json!(pii.family_name));
                if *scope == Scope::Profile {
                    out.insert("birthdate".into(), json!(pii.birthdate));
                }
            }
            Scope::ProfileBirthdate => {
                out.insert("birthdate".into(), json!(pii.birthdate));
            }
            Scope::Address => {
                let a = &pii.address;
                let street = if a.line2.is_empty() {
                    a.line1.clone()
                } else {
                    format!("{}\n{}", a.line1, a.line2)
                };
                out.insert(
                    "address".into(),
                    json!({
                        "formatted": format!("{street}\n{} {} {}", a.city, a.state, a.zip),
                        "street_address": street,
                        "locality": a.city,
                        "region": a.state,
                        "postal_code": a.zip,
                        "country": "US",
                    }),
                );
            }
            Scope::Phone if !pii.phone.is_empty() => {
                out.insert("phone".into(), json!(pii.phone));
                out.insert("phone_verified".into(), json!(true));
            }
            Scope::SocialSecurityNumber => {
                out.insert(
                    "social_security_number".into(),
                    json!(ssn_display(&pii.ssn)),
                );
            }
            _ => {}
        }
    }
    VerifiedClaims(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idv::pii::Address;

    fn person() -> Pii {
        Pii {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            birthdate: "1990-02-28".into(),
            address: Address {
                line1: "1 Main St".into(),
                line2: "Apt 2".into(),
                city: "Arlington".into(),
                state: "VA".into(),
                zip: "22201".into(),
            },
            id_number: "A1234567".into(),
            id_state: "VA".into(),
            ssn: "900123456".into(),
            phone: String::new(),
            verified_ms: 1,
        }
    }

    #[test]
    fn each_scope_releases_its_claims_and_nothing_else() {
        let pii = person();
        let name = claims_for(&[Scope::ProfileName], &pii).into_map();
        assert_eq!(
            name.keys().collect::<Vec<_>>(),
            ["family_name", "given_name"]
        );
        let all = claims_for(
            &[
                Scope::Profile,
                Scope::Address,
                Scope::Phone,
                Scope::SocialSecurityNumber,
            ],
            &pii,
        )
        .into_map();
        assert_eq!(all["birthdate"], "1990-02-28");
        assert_eq!(all["social_security_number"], "900-12-3456");
        assert_eq!(all["address"]["street_address"], "1 Main St\nApt 2");
        assert_eq!(all["address"]["postal_code"], "22201");
        assert!(!all.contains_key("phone"), "no phone was confirmed");
        assert!(
            !all.contains_key("id_number"),
            "the ID number is never released"
        );
        assert!(
            claims_for(&[Scope::Email, Scope::OpenId], &pii)
                .as_map()
                .is_empty()
        );
    }

    /// Two access tokens as [`crate::random::RandomExt::token`] makes them (32 bytes).
    const TOKEN: &str = "Jm2v5bE1yq0bQfXc3n9u6w8ZkLrT4sHdAaPoGiVxWe0";
    const OTHER_TOKEN: &str = "Qr7cX1nB8kT2mW5zL0pY3vJ6hF9dS4gAeUiOoKtNbMc";
    const CLIENT: &str = "urn:gov:test:tax";

    fn all_claims() -> VerifiedClaims {
        claims_for(
            &[Scope::Profile, Scope::Address, Scope::SocialSecurityNumber],
            &person(),
        )
    }

    #[test]
    fn given_claims_sealed_for_a_token_then_that_token_opens_them_for_its_client() {
        // Given the claims sealed for TOKEN at its exchange,
        let sealed = seal_for_token(&all_claims(), TOKEN, CLIENT, [3; NONCE_LEN]);
        // when userinfo presents TOKEN for the same client, they open as they were;
        assert_eq!(open_with_token(&sealed, TOKEN, CLIENT), Ok(all_claims()));
        // and the sealed text shows none of them.
        for value in ["Lovelace", "1990-02-28", "900-12-3456", "22201"] {
            assert!(!sealed.contains(value), "{value} in {sealed}");
            let bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "{value} in the sealed bytes"
            );
        }
    }

    #[test]
    fn given_claims_sealed_for_one_token_then_another_token_its_hash_or_another_client_opens_nothing()
     {
        let sealed = seal_for_token(&all_claims(), TOKEN, CLIENT, [3; NONCE_LEN]);
        // Another agency's token, its ciphertext moved into this token's item:
        assert_eq!(
            open_with_token(&sealed, OTHER_TOKEN, CLIENT),
            Err(ClaimsRefused::Rejected)
        );
        // what the table holds of the token (its SHA-256, the item's name), as the token:
        assert_eq!(
            open_with_token(&sealed, &hashed(TOKEN), CLIENT),
            Err(ClaimsRefused::Rejected)
        );
        // the right token, but the grant of another client:
        assert_eq!(
            open_with_token(&sealed, TOKEN, "urn:gov:test:other"),
            Err(ClaimsRefused::Rejected)
        );
        // and the other token's own ciphertext does not open with this token.
        let other = seal_for_token(&all_claims(), OTHER_TOKEN, CLIENT, [3; NONCE_LEN]);
        assert_eq!(
            open_with_token(&other, TOKEN, CLIENT),
            Err(ClaimsRefused::Rejected)
        );
        assert_ne!(other, sealed, "each token has its own key");
    }

    #[test]
    fn given_a_sealed_value_altered_or_cut_then_it_does_not_open() {
        let sealed = seal_for_token(&all_claims(), TOKEN, CLIENT, [3; NONCE_LEN]);
        let bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        // Every byte: the version, the nonce, the ciphertext and the tag.
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 0x20;
            assert_eq!(
                open_with_token(&URL_SAFE_NO_PAD.encode(&altered), TOKEN, CLIENT),
                Err(ClaimsRefused::Rejected),
                "byte {i} altered"
            );
        }
        for len in [
            0,
            1,
            1 + NONCE_LEN,
            1 + NONCE_LEN + TAG_LEN - 1,
            bytes.len() - 1,
        ] {
            assert_eq!(
                open_with_token(&URL_SAFE_NO_PAD.encode(&bytes[..len]), TOKEN, CLIENT),
                Err(ClaimsRefused::Rejected),
                "cut to {len} bytes"
            );
        }
        assert_eq!(
            open_with_token("not base64!", TOKEN, CLIENT),
            Err(ClaimsRefused::Rejected)
        );
    }

    #[test]
    fn given_claims_in_debug_output_then_only_their_names_show() {
        let shown = format!("{:?}", all_claims());
        assert!(shown.contains("social_security_number"), "{shown}");
        for value in ["Lovelace", "900-12-3456", "1990-02-28", "Arlington"] {
            assert!(!shown.contains(value), "{value} in {shown}");
        }
    }
}
