//! Authorization codes (OIDC-3): the grant itself, sealed with AES-256-GCM, redeemable once
//! within 5 minutes. Nothing is stored when a code is issued; redeeming writes a marker
//! under the code's SHA-256 in the same transaction as the access token, so of many
//! concurrent redemptions one wins, and a later attempt finds the marker and revokes the
//! token it names.
//!
//! Why sealed rather than stored: a code lives for one redirect, and storing it cost every
//! sign-in at an agency a write at `/authorize` and a read at `/token` (docs/capacity.md).
//!
//! A code is base64url of `version (1) ‖ key id (4: the UTC day of issue) ‖ nonce (12) ‖
//! ciphertext ‖ tag (16)`. The key is the day's subkey of the deployment's fingerprint root
//! ([`crate::fingerprint::Fingerprints::subkey`], purpose `oidc-code/<day>`): a new key
//! every day keeps each key far below AES-GCM's limit for random nonces (2^32 messages),
//! and the day in the code says which key opens it. The version and the key id are bound
//! to the ciphertext as associated data.
//!
//! An IAL2 grant carries the verified claims it releases in clear inside this seal
//! ([`super::verified`]): the code is their only carrier between the authorize step and
//! `/token`. Whoever holds the table and the key service can open the fingerprint root and
//! derive any day's key, so a code they held would open to its claims; but no code is
//! stored or logged (it travels in the redirect to the agency and back in the agency's
//! `/token` request body), each lives 5 minutes and is redeemed once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::request::{AalLevel, Acr};
use super::verified::VerifiedClaims;
use super::{CODE_SECS, secs};
use crate::aead::{self, NONCE_LEN, TAG_LEN};
use crate::fingerprint::Fingerprints;
use crate::store::Key;

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
    /// The verified-identity claims the grant releases; IAL2 grants only. In clear here,
    /// and safe so only because of where a grant goes ([`super::verified`]): inside a code,
    /// sealed with AES-256-GCM and never stored; in memory at `/token`, which takes them
    /// off the grant it stores and keeps them sealed under the access token instead; in
    /// memory again at userinfo, opened with the presented token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<VerifiedClaims>,
    /// What earlier versions put here: the claims sealed by the key service alone
    /// (`purpose=oidc-verified-claims`), which this version no longer opens. Read, never
    /// written: a code or token that still carries it is refused (the agency signs the
    /// person in again) rather than answered without the claims it was granted. Such
    /// codes and tokens are gone 5 and 15 minutes after the upgrade.
    #[serde(default, rename = "verified", skip_serializing)]
    pub sealed_by_key_service: Option<String>,
}

/// The format of the codes this version issues.
const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 4;
const ASSOCIATED: &[u8] = b"passerelle/oidc-code";
const SECS_PER_DAY: i64 = 86_400;

/// What a code seals: the grant and when the code stops being redeemable (seconds).
#[derive(Serialize, Deserialize)]
struct Sealed {
    exp: i64,
    grant: Grant,
}

/// Why a code does not open. The token endpoint answers all of them alike
/// (`invalid_grant`): telling a forged code from an expired one helps nobody but a forger.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeRefused {
    /// Not a code this deployment issued, or altered.
    Unknown,
    /// Issued, but more than [`CODE_SECS`] ago.
    Expired,
}

fn key_for(root: &Fingerprints, day: u32) -> crate::keys::SecretKey {
    root.subkey(&format!("oidc-code/{day}"))
}

fn associated(header: &[u8]) -> Vec<u8> {
    [ASSOCIATED, header].concat()
}

/// Seals `grant` into a new code, valid [`CODE_SECS`] from `now_ms`.
pub fn seal(root: &Fingerprints, grant: &Grant, now_ms: i64, nonce: [u8; NONCE_LEN]) -> String {
    let day = secs(now_ms).div_euclid(SECS_PER_DAY) as u32;
    let sealed = Sealed {
        exp: secs(now_ms) + CODE_SECS,
        grant: grant.clone(),
    };
    // A grant is plain data; serialising it cannot fail.
    let plaintext = zeroize::Zeroizing::new(serde_json::to_vec(&sealed).unwrap_or_default());
    seal_bytes(root, day, &plaintext, nonce)
}

/// A code of the grant JSON `grant` as it is, fields this version no longer writes
/// included: codes of an earlier version, for the tests of how they are received.
#[cfg(test)]
pub(crate) fn seal_grant_json(
    root: &Fingerprints,
    grant: &serde_json::Value,
    now_ms: i64,
    nonce: [u8; NONCE_LEN],
) -> String {
    let day = secs(now_ms).div_euclid(SECS_PER_DAY) as u32;
    let sealed = serde_json::json!({"exp": secs(now_ms) + CODE_SECS, "grant": grant});
    seal_bytes(root, day, &serde_json::to_vec(&sealed).unwrap(), nonce)
}

fn seal_bytes(root: &Fingerprints, day: u32, plaintext: &[u8], nonce: [u8; NONCE_LEN]) -> String {
    let mut header = [0u8; HEADER_LEN];
    header[0] = VERSION;
    header[1..].copy_from_slice(&day.to_be_bytes());
    let key = key_for(root, day);
    let ciphertext = aead::encrypt(key.expose(), &nonce, &associated(&header), plaintext);
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    URL_SAFE_NO_PAD.encode(out)
}

/// A code that opened: its grant, and the key of the marker its redemption writes.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    pub grant: Grant,
    /// `OIDC_CODE#<SHA-256 of the code's bytes>`: of the decoded bytes, so that no other
    /// spelling of the same code could name another marker.
    pub marker: Key,
}

/// The grant a code seals, if this deployment issued it and it has not expired. Whether
/// it was already redeemed is the marker's business.
pub fn open(root: &Fingerprints, code: &str, now_ms: i64) -> Result<Opened, CodeRefused> {
    // Codes are a few hundred characters; anything much longer is not one of ours.
    if code.len() > 16 * 1024 {
        return Err(CodeRefused::Unknown);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(code)
        .map_err(|_| CodeRefused::Unknown)?;
    if bytes.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || bytes[0] != VERSION {
        return Err(CodeRefused::Unknown);
    }
    let (header, rest) = bytes.split_at(HEADER_LEN);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let day = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    // A code lives 5 minutes: its key is today's or, just after midnight, yesterday's.
    let today = secs(now_ms).div_euclid(SECS_PER_DAY);
    if !(today - 1..=today).contains(&i64::from(day)) {
        return Err(CodeRefused::Expired);
    }
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CodeRefused::Unknown)?;
    let key = key_for(root, day);
    let plaintext = aead::decrypt(key.expose(), &nonce, &associated(header), ciphertext)
        .ok_or(CodeRefused::Unknown)?;
    let sealed: Sealed = serde_json::from_slice(&plaintext).map_err(|_| CodeRefused::Unknown)?;
    if secs(now_ms) >= sealed.exp {
        return Err(CodeRefused::Expired);
    }
    Ok(Opened {
        grant: sealed.grant,
        marker: Key::new(
            format!(
                "OIDC_CODE#{}",
                URL_SAFE_NO_PAD.encode(Sha256::digest(&bytes))
            ),
            "CODE",
        ),
    })
}

/// How long a marker must outlive its redemption: as long as the code could still open.
pub(super) fn marker_expiry(now_ms: i64) -> i64 {
    secs(now_ms) + CODE_SECS + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use crate::oidc::request::Ial;

    fn root(byte: u8) -> Fingerprints {
        Fingerprints::from_key(SecretKey::from_bytes([byte; 32]))
    }

    fn grant() -> Grant {
        Grant {
            user_id: "user-1".into(),
            client_id: "urn:gov:test".into(),
            agency_id: "test".into(),
            redirect_uri: "https://agency.example.gov/cb".into(),
            scopes: vec!["openid".into(), "email".into()],
            nonce: "n".repeat(22),
            acr: Acr {
                ial: Ial::AuthOnly,
                aal: AalLevel::Default,
            },
            aal: AalLevel::Aal2,
            auth_time_ms: 1,
            code_challenge: None,
            verified_at: None,
            claims: None,
            sealed_by_key_service: None,
        }
    }

    const NOW: i64 = 1_790_000_000_000;

    #[test]
    fn a_code_opens_to_its_grant_until_it_expires() {
        // Given a code issued now,
        let code = seal(&root(7), &grant(), NOW, [1; NONCE_LEN]);
        // when it is redeemed within 5 minutes, it opens to the grant;
        assert_eq!(
            open(&root(7), &code, NOW + 299_000).map(|o| o.grant),
            Ok(grant())
        );
        // and from the fifth minute on, it is expired.
        assert_eq!(
            open(&root(7), &code, NOW + 300_000),
            Err(CodeRefused::Expired)
        );
    }

    #[test]
    fn a_code_of_another_deployment_or_altered_does_not_open() {
        let code = seal(&root(7), &grant(), NOW, [1; NONCE_LEN]);
        assert_eq!(open(&root(8), &code, NOW), Err(CodeRefused::Unknown));
        let mut bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
        for i in [0, 3, HEADER_LEN + 2, bytes.len() - 1] {
            let mut altered = bytes.clone();
            altered[i] ^= 1;
            let refused = open(&root(7), &URL_SAFE_NO_PAD.encode(&altered), NOW);
            assert!(refused.is_err(), "byte {i} altered: {refused:?}");
        }
        bytes.truncate(HEADER_LEN + NONCE_LEN + TAG_LEN - 1);
        assert!(open(&root(7), &URL_SAFE_NO_PAD.encode(&bytes), NOW).is_err());
        assert_eq!(
            open(&root(7), "not base64!", NOW),
            Err(CodeRefused::Unknown)
        );
        assert_eq!(open(&root(7), "", NOW), Err(CodeRefused::Unknown));
    }

    #[test]
    fn a_code_issued_before_midnight_opens_after_it_with_its_own_days_key() {
        // Given a code issued 2 minutes before midnight UTC,
        let midnight = (NOW / 86_400_000 + 1) * 86_400_000;
        let code = seal(&root(7), &grant(), midnight - 120_000, [2; NONCE_LEN]);
        // it still opens 2 minutes after, with the key of the day it names,
        assert_eq!(
            open(&root(7), &code, midnight + 120_000).map(|o| o.grant),
            Ok(grant())
        );
        // and each day's codes are sealed under a different key.
        let next_day = seal(&root(7), &grant(), midnight + 1_000, [2; NONCE_LEN]);
        let (a, b) = (
            URL_SAFE_NO_PAD.decode(&code).unwrap(),
            URL_SAFE_NO_PAD.decode(&next_day).unwrap(),
        );
        assert_ne!(a[HEADER_LEN + NONCE_LEN..], b[HEADER_LEN + NONCE_LEN..]);
    }

    #[test]
    fn each_code_has_its_own_marker_which_does_not_contain_it() {
        let code = seal(&root(7), &grant(), NOW, [1; NONCE_LEN]);
        let other = seal(&root(7), &grant(), NOW, [2; NONCE_LEN]);
        let marker = open(&root(7), &code, NOW).unwrap().marker;
        assert!(!marker.pk.contains(&code));
        assert_eq!(open(&root(7), &code, NOW + 1).unwrap().marker, marker);
        assert_ne!(open(&root(7), &other, NOW).unwrap().marker, marker);
    }

    #[test]
    fn given_claims_on_a_grant_then_the_code_carries_them_and_an_earlier_versions_sealed_claims_are_flagged()
     {
        use crate::oidc::claims::Scope;
        // Given an IAL2 grant with the claims it releases,
        let mut with_claims = grant();
        let pii = crate::idv::pii::Pii {
            given_name: "Zenobia".into(),
            family_name: "Quintessa".into(),
            birthdate: "1979-03-09".into(),
            address: crate::idv::pii::Address {
                line1: "42 Proofing Way".into(),
                line2: String::new(),
                city: "Alexandria".into(),
                state: "VA".into(),
                zip: "22314".into(),
            },
            id_number: "D12121212".into(),
            id_state: "VA".into(),
            ssn: "900112233".into(),
            phone: String::new(),
            verified_ms: 1,
        };
        with_claims.claims = Some(crate::oidc::verified::claims_for(
            &[Scope::SocialSecurityNumber],
            &pii,
        ));
        // its code opens to them (the code being their only carrier to `/token`),
        let code = seal(&root(7), &with_claims, NOW, [1; NONCE_LEN]);
        assert_eq!(open(&root(7), &code, NOW).unwrap().grant, with_claims);
        assert!(!code.contains("900"), "sealed, not readable in the code");
        // and a code of the previous version, its claims sealed by the key service alone,
        // opens flagged as such (`/token` refuses it).
        let mut old = serde_json::to_value(grant()).unwrap();
        old["verified"] = "AQID".into();
        let code = seal_grant_json(&root(7), &old, NOW, [1; NONCE_LEN]);
        let opened = open(&root(7), &code, NOW).unwrap().grant;
        assert_eq!(opened.sealed_by_key_service.as_deref(), Some("AQID"));
        assert!(
            serde_json::to_value(&opened)
                .unwrap()
                .get("verified")
                .is_none(),
            "never written again"
        );
    }
}
