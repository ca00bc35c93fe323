//! Verified-identity claims (OIDC-5, IAL2) on their way from the person's session to the
//! agency. They are chosen at the code's issue from the PII the session holds (IDV-9),
//! sealed by the envelope for that agency and account, carried on the code and then the
//! access token (both short-lived), and opened only by userinfo. The ID token carries none.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use super::OidcError;
use super::claims::Scope;
use crate::envelope::Envelope;
use crate::idv::pii::Pii;
use crate::keys::EncryptionContext;

fn context(client_id: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "oidc-verified-claims")
        .with("client", client_id)
}

fn record(user_id: &str) -> String {
    format!("OIDC_CLAIMS#{user_id}")
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
pub fn claims_for(scopes: &[Scope], pii: &Pii) -> Map<String, Value> {
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
    out
}

/// Seals `claims` for `client_id` and `user_id`; the text goes on the grant.
pub async fn seal(
    envelope: &Envelope,
    client_id: &str,
    user_id: &str,
    claims: &Map<String, Value>,
) -> Result<String, OidcError> {
    let json = Zeroizing::new(serde_json::to_vec(claims).map_err(|_| OidcError::Malformed)?);
    let sealed = envelope
        .seal(&context(client_id), &record(user_id), &json)
        .await?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// Opens what [`seal`] made for the same agency and account.
pub async fn open(
    envelope: &Envelope,
    client_id: &str,
    user_id: &str,
    sealed: &str,
) -> Result<Map<String, Value>, OidcError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(sealed)
        .map_err(|_| OidcError::Malformed)?;
    let json = envelope
        .open(&context(client_id), &record(user_id), &bytes)
        .await?;
    serde_json::from_slice(&json).map_err(|_| OidcError::Malformed)
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
        let name = claims_for(&[Scope::ProfileName], &pii);
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
        );
        assert_eq!(all["birthdate"], "1990-02-28");
        assert_eq!(all["social_security_number"], "900-12-3456");
        assert_eq!(all["address"]["street_address"], "1 Main St\nApt 2");
        assert_eq!(all["address"]["postal_code"], "22201");
        assert!(!all.contains_key("phone"), "no phone was confirmed");
        assert!(
            !all.contains_key("id_number"),
            "the ID number is never released"
        );
        assert!(claims_for(&[Scope::Email, Scope::OpenId], &pii).is_empty());
    }
}
