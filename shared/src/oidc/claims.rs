//! Scopes and the claims they release (OIDC-5), and the pairwise subject (OIDC-6).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::keys::SecretKey;

/// A scope Passerelle knows. Unknown scopes in a request are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    OpenId,
    Email,
    AllEmails,
    Locale,
    ProfileVerifiedAt,
    Profile,
    ProfileName,
    ProfileBirthdate,
    Address,
    Phone,
    SocialSecurityNumber,
}

impl Scope {
    pub const ALL: [Scope; 11] = [
        Scope::OpenId,
        Scope::Email,
        Scope::AllEmails,
        Scope::Locale,
        Scope::ProfileVerifiedAt,
        Scope::Profile,
        Scope::ProfileName,
        Scope::ProfileBirthdate,
        Scope::Address,
        Scope::Phone,
        Scope::SocialSecurityNumber,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OpenId => "openid",
            Scope::Email => "email",
            Scope::AllEmails => "all_emails",
            Scope::Locale => "locale",
            Scope::ProfileVerifiedAt => "profile:verified_at",
            Scope::Profile => "profile",
            Scope::ProfileName => "profile:name",
            Scope::ProfileBirthdate => "profile:birthdate",
            Scope::Address => "address",
            Scope::Phone => "phone",
            Scope::SocialSecurityNumber => "social_security_number",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Scopes that release verified identity: IAL2 agencies only.
    pub fn needs_ial2(self) -> bool {
        matches!(
            self,
            Scope::Profile
                | Scope::ProfileName
                | Scope::ProfileBirthdate
                | Scope::Address
                | Scope::Phone
                | Scope::SocialSecurityNumber
        )
    }

    /// The claims the scope releases, as the consent page lists them.
    pub fn claims(self) -> &'static [&'static str] {
        match self {
            Scope::OpenId => &["sub", "iss", "ial", "aal"],
            Scope::Email => &["email", "email_verified"],
            Scope::AllEmails => &["all_emails"],
            Scope::Locale => &["locale"],
            Scope::ProfileVerifiedAt => &["verified_at"],
            Scope::Profile => &["given_name", "family_name", "birthdate", "verified_at"],
            Scope::ProfileName => &["given_name", "family_name"],
            Scope::ProfileBirthdate => &["birthdate"],
            Scope::Address => &["address"],
            Scope::Phone => &["phone", "phone_verified"],
            Scope::SocialSecurityNumber => &["social_security_number"],
        }
    }
}

/// Space-separated scopes to a sorted, de-duplicated list of known ones.
pub fn parse_scopes(text: &str) -> Vec<Scope> {
    let mut out: Vec<Scope> = text.split(' ').filter_map(Scope::parse).collect();
    out.sort();
    out.dedup();
    out
}

pub fn scope_string(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The person's subject for an agency: an HMAC of the account id under the deployment's
/// `pairwise` subkey and the agency id, shaped as a UUID. Stable, unlinkable across
/// agencies, and not the account id.
pub fn pairwise_subject(key: &SecretKey, agency_id: &str, user_id: &str) -> String {
    let mac = crate::mfa::keyed_mac(key.expose(), &[agency_id.as_bytes(), user_id.as_bytes()]);
    let h: String = mac[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// What the claims are made of, read from the account at the time of the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub email: String,
    pub all_emails: Vec<String>,
    pub locale: String,
    /// When the identity was verified (seconds since the epoch), if it is.
    pub verified_at: Option<i64>,
}

/// The userinfo claims for `scopes` read from the account. The verified-identity claims
/// of IAL2 scopes come sealed with the grant ([`super::verified`]) and are added by the
/// caller.
pub fn userinfo(
    scopes: &[Scope],
    issuer: &str,
    sub: &str,
    acr: &str,
    aal: &str,
    person: &Person,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), json!(sub));
    out.insert("iss".into(), json!(issuer));
    out.insert("ial".into(), json!(acr));
    out.insert("aal".into(), json!(aal));
    for scope in scopes {
        match scope {
            Scope::Email => {
                out.insert("email".into(), json!(person.email));
                out.insert("email_verified".into(), json!(true));
            }
            Scope::AllEmails => {
                out.insert("all_emails".into(), json!(person.all_emails));
            }
            Scope::Locale => {
                out.insert("locale".into(), json!(person.locale));
            }
            Scope::ProfileVerifiedAt | Scope::Profile => {
                out.insert("verified_at".into(), json!(person.verified_at));
            }
            _ => {}
        }
    }
    out
}

/// `at_hash` (OIDC Core 3.1.3.6): the left half of the SHA-256 of the access token.
pub fn at_hash(access_token: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_subjects_differ_by_agency_and_are_stable() {
        let k = SecretKey::from_bytes([7; 32]);
        let a = pairwise_subject(&k, "irs", "u1");
        assert_eq!(a, pairwise_subject(&k, "irs", "u1"));
        assert_ne!(a, pairwise_subject(&k, "ssa", "u1"));
        assert_ne!(a, pairwise_subject(&k, "irs", "u2"));
        assert_eq!(a.len(), 36);
    }

    #[test]
    fn scopes_parse_known_ones_only() {
        assert_eq!(
            parse_scopes("openid email bogus email"),
            vec![Scope::OpenId, Scope::Email]
        );
        assert_eq!(
            scope_string(&[Scope::OpenId, Scope::Locale]),
            "openid locale"
        );
    }

    #[test]
    fn at_hash_matches_the_spec_example() {
        // OIDC Core A.3: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
