//! Duplicate identities without decryption (IDV-6): one account per person, found by keyed
//! fingerprints of the SSN and of the normalised name + ZIP5 + birth year. Each
//! fingerprint has a claim item naming the account that holds it, taken only when a
//! verification completes (IDV-10: the personal key is issued), never while one is under
//! way, so an abandoned or expired flow holds none and cannot squat an SSN; the checks
//! page only [`Duplicates::check`]s. Claiming is one transaction of conditional puts, so
//! of two accounts racing with the same SSN exactly one wins. The account keeps a pointer to each of its claims, so they can be released
//! (by the account deletion too) without the PII.
//!
//! The fingerprints are MACs made **inside the key service** ([`KeyService::mac`], purposes
//! `idv-ssn` and `idv-person`; on AWS a KMS HMAC key, `GenerateMac`), whose key never
//! leaves it: an SSN has only 10^9 values, and a fingerprint anyone could compute from
//! stored keys would give every SSN up to a brute force of minutes. Holding the whole
//! table and every data key the service unwraps, each guess still costs one audited,
//! rate-limited call (docs/privacy.md gives the price), and claiming costs two calls.
//!
//! Fingerprints carry their format: `mac1:<base64url MAC>`. Claims made before it (43
//! characters, no prefix, an HMAC under the deployment's fingerprint key, which the key
//! service only seals) never equal a new one: they no longer block anyone, an account that
//! verifies again releases its own (its pointer names a stale fingerprint), and deleting
//! the account releases it as before (docs/privacy.md, "Existing claims").
//!
//! | `pk` | `sk` | attributes | expiry |
//! | --- | --- | --- | --- |
//! | `IDV_SSN#<fp>` | `CLAIM` | `user` | until released |
//! | `IDV_PERSON#<fp>` | `CLAIM` | `user` | until released |
//! | `USER#<id>` | `IDV_CLAIM#SSN`, `IDV_CLAIM#PERSON` | `fp` | with the account |

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::pii::{Pii, normalise_ssn};
use crate::account::events::partition;
use crate::keys::{KeyError, KeyService, MacPurpose};
use crate::store::{Check, Expect, Item, Key, Store, StoreError, StoreResult, Write};

#[derive(Debug, thiserror::Error)]
pub enum DuplicateError {
    /// Another account already verified this SSN.
    #[error(
        "this Social Security number is already verified on another account; sign in to that account or contact support"
    )]
    Ssn,
    /// Another account already verified someone with this name, ZIP code and birth year.
    #[error(
        "a person with these details is already verified on another account; sign in to that account or contact support"
    )]
    Person,
    /// The PII lacks a valid SSN or birth date: validate it before claiming.
    #[error("the identity needs a valid Social Security number and date of birth")]
    Incomplete,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("fingerprinting failed: {0}")]
    Keys(#[from] KeyError),
}

/// The format of the fingerprints made by the key service's MAC.
pub const FORMAT_PREFIX: &str = "mac1:";

/// The two kinds of claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ssn,
    Person,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Ssn, Kind::Person];

    fn tag(self) -> &'static str {
        match self {
            Kind::Ssn => "SSN",
            Kind::Person => "PERSON",
        }
    }

    /// The MAC's purpose: one per kind, so the two cannot be linked.
    fn purpose(self) -> MacPurpose {
        match self {
            Kind::Ssn => MacPurpose::IdvSsn,
            Kind::Person => MacPurpose::IdvPerson,
        }
    }

    fn claim_key(self, fp: &str) -> Key {
        Key::new(format!("IDV_{}#{fp}", self.tag()), "CLAIM")
    }

    fn pointer_key(self, user_id: &str) -> Key {
        Key::new(partition(user_id), format!("IDV_CLAIM#{}", self.tag()))
    }

    fn error(self) -> DuplicateError {
        match self {
            Kind::Ssn => DuplicateError::Ssn,
            Kind::Person => DuplicateError::Person,
        }
    }
}

/// Letters and digits only, lowercased: "O'Brien-Smith " and "obrien smith" match.
fn name_part(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The normalised value each kind fingerprints; `None` when the PII lacks it.
fn value(kind: Kind, pii: &Pii) -> Option<String> {
    match kind {
        Kind::Ssn => normalise_ssn(&pii.ssn),
        Kind::Person => {
            let given = zeroize::Zeroizing::new(name_part(&pii.given_name));
            let family = zeroize::Zeroizing::new(name_part(&pii.family_name));
            let zip5 = pii.address.zip5();
            let ok = !given.is_empty()
                && !family.is_empty()
                && zip5.len() == 5
                && zip5.bytes().all(|b| b.is_ascii_digit());
            let year = pii.birth_year()?;
            // Length-prefixed, so no two (given, family) pairs run together.
            ok.then(|| {
                format!(
                    "{}:{}|{}:{}|{zip5}|{year}",
                    given.len(),
                    given.as_str(),
                    family.len(),
                    family.as_str()
                )
            })
        }
    }
}

/// Releases the claim an account's pointer item names, if the account still holds it
/// (never another account's, whatever a stale pointer says). For the account deletion.
pub(crate) async fn release_pointed(
    store: &dyn Store,
    user_id: &str,
    pointer: &Item,
) -> StoreResult<()> {
    let Some(tag) = pointer.key.sk.strip_prefix("IDV_CLAIM#") else {
        return Ok(());
    };
    let Some(kind) = Kind::ALL.into_iter().find(|k| k.tag() == tag) else {
        return Ok(());
    };
    let Some(fp) = pointer.str("fp") else {
        return Ok(());
    };
    let released = store
        .delete(
            &kind.claim_key(fp),
            Expect::All(vec![Check::eq("user", user_id)]),
        )
        .await;
    match released {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Claims and releases identities' fingerprints.
#[derive(Debug, Clone)]
pub struct Duplicates {
    store: Arc<dyn Store>,
    keys: Arc<dyn KeyService>,
}

/// The fingerprint of `kind`'s value of `pii`, made by the key service; `None` when the
/// PII lacks the value.
async fn fingerprint(
    keys: &dyn KeyService,
    kind: Kind,
    pii: &Pii,
) -> Result<Option<String>, KeyError> {
    let Some(value) = value(kind, pii).map(zeroize::Zeroizing::new) else {
        return Ok(None);
    };
    let mac = keys.mac(kind.purpose(), value.as_bytes()).await?;
    Ok(Some(format!(
        "{FORMAT_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(mac)
    )))
}

impl Duplicates {
    pub fn new(store: Arc<dyn Store>, keys: Arc<dyn KeyService>) -> Self {
        Self { store, keys }
    }

    async fn fingerprint(&self, kind: Kind, pii: &Pii) -> Result<Option<String>, KeyError> {
        fingerprint(self.keys.as_ref(), kind, pii).await
    }

    /// Claims `pii`'s SSN and name + ZIP5 + birth year for `user_id`, or says which one
    /// another account holds. Claiming again with the same PII is a no-op; with other
    /// PII (a new verification) the account's previous claims are released in the same
    /// transaction.
    pub async fn claim(&self, user_id: &str, pii: &Pii) -> Result<(), DuplicateError> {
        let mut fps = Vec::with_capacity(2);
        for kind in Kind::ALL {
            fps.push(
                self.fingerprint(kind, pii)
                    .await?
                    .ok_or(DuplicateError::Incomplete)?,
            );
        }
        let mut writes = Vec::with_capacity(4);
        let mut stale = Vec::new();
        for (kind, fp) in Kind::ALL.into_iter().zip(&fps) {
            writes.push(Write::Put(
                Item::new(kind.claim_key(fp)).with("user", user_id),
                Expect::AbsentOr(vec![Check::eq("user", user_id)]),
            ));
            if let Some(pointer) = self.store.get(&kind.pointer_key(user_id)).await?
                && pointer.str("fp") != Some(fp.as_str())
            {
                stale.push(pointer);
            }
        }
        // Claims first: a cancelled transaction reports them by position 0 and 1.
        for (kind, fp) in Kind::ALL.into_iter().zip(&fps) {
            writes.push(Write::Put(
                Item::new(kind.pointer_key(user_id)).with("fp", fp.clone()),
                Expect::Any,
            ));
        }
        match self.store.transact(writes).await {
            Ok(()) => {
                // After the commit, and only where this account still holds them: a
                // failure here leaves an orphan claim, never another account's freed.
                for pointer in &stale {
                    release_pointed(self.store.as_ref(), user_id, pointer).await?;
                }
                Ok(())
            }
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {
                Err(Kind::Ssn.error())
            }
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => {
                Err(Kind::Person.error())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether another account already holds `pii`'s SSN or person, without claiming
    /// anything: the checks page says so early, while claims are taken only when the
    /// verification completes ([`Duplicates::claim`] at the password step), so that an
    /// abandoned flow holds none. Two key-service calls and two reads.
    pub async fn check(&self, user_id: &str, pii: &Pii) -> Result<(), DuplicateError> {
        for kind in Kind::ALL {
            let fp = self
                .fingerprint(kind, pii)
                .await?
                .ok_or(DuplicateError::Incomplete)?;
            if let Some(claim) = self.store.get(&kind.claim_key(&fp)).await?
                && claim.str("user") != Some(user_id)
            {
                return Err(kind.error());
            }
        }
        Ok(())
    }

    /// Releases the account's claims (a failed or abandoned verification). The PII is not
    /// needed: the account's pointers name the fingerprints.
    pub async fn release(&self, user_id: &str) -> Result<(), DuplicateError> {
        for kind in Kind::ALL {
            let key = kind.pointer_key(user_id);
            if let Some(pointer) = self.store.get(&key).await? {
                release_pointed(self.store.as_ref(), user_id, &pointer).await?;
                self.store.delete(&key, Expect::Any).await?;
            }
        }
        Ok(())
    }

    /// The rate-limit subject of an SSN (IDV-5: the same SSN across accounts), made by
    /// the key service like the fingerprints (purpose `idv-ssn-limit`), so that the
    /// limiter's counters (`RL#idv_ssn#…`, kept in backups after they expire) give no SSN
    /// to a brute force either. `ssn` is normalised (nine digits).
    pub async fn ssn_limit_subject(&self, ssn: &str) -> Result<String, DuplicateError> {
        let mac = self
            .keys
            .mac(MacPurpose::IdvSsnLimit, ssn.as_bytes())
            .await?;
        Ok(URL_SAFE_NO_PAD.encode(mac))
    }

    /// The account holding `pii`'s SSN, if any (for support tooling and tests).
    pub async fn ssn_holder(&self, pii: &Pii) -> Result<Option<String>, DuplicateError> {
        let Some(fp) = self.fingerprint(Kind::Ssn, pii).await? else {
            return Ok(None);
        };
        let claim = self.store.get(&Kind::Ssn.claim_key(&fp)).await?;
        Ok(claim.and_then(|c| c.str("user").map(str::to_owned)))
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::idv::testkit::{found, sample_pii, world};

    #[test]
    fn given_names_written_differently_then_they_fingerprint_the_same() {
        let mut a = sample_pii();
        a.given_name = "Mary-Jane".into();
        a.family_name = "O'Brien".into();
        let mut b = a.clone();
        b.given_name = " mary jane ".into();
        b.family_name = "OBRIEN".into();
        b.address.zip = "20500-0003".into();
        b.birthdate = "1984-01-01".into();
        assert_eq!(value(Kind::Person, &a), value(Kind::Person, &b));
        b.birthdate = "1985-07-19".into();
        assert_ne!(value(Kind::Person, &a), value(Kind::Person, &b));
        // Length prefixes keep "ab"+"c" and "a"+"bc" apart
        let (mut c, mut d) = (a.clone(), a.clone());
        (c.given_name, c.family_name) = ("ab".into(), "c".into());
        (d.given_name, d.family_name) = ("a".into(), "bc".into());
        assert_ne!(value(Kind::Person, &c), value(Kind::Person, &d));
        let mut no_ssn = a.clone();
        no_ssn.ssn = "12345".into();
        assert_eq!(value(Kind::Ssn, &no_ssn), None);
    }

    #[tokio::test]
    async fn given_two_accounts_racing_with_one_ssn_then_exactly_one_holds_it() {
        let w = world().await;
        let (a, b) = (
            w.account("one@example.gov").await,
            w.account("two@example.gov").await,
        );
        w.gated.arm(2);
        let racers: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|user| {
                let duplicates = w.duplicates.clone();
                tokio::spawn(async move { duplicates.claim(&user, &sample_pii()).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for racer in racers {
            outcomes.push(racer.await.unwrap());
        }
        let won = outcomes.iter().filter(|o| o.is_ok()).count();
        let lost = outcomes
            .iter()
            .filter(|o| matches!(o, Err(DuplicateError::Ssn)))
            .count();
        assert_eq!((won, lost), (1, 1), "{outcomes:?}");
        let holder = w
            .duplicates
            .ssn_holder(&sample_pii())
            .await
            .unwrap()
            .unwrap();
        assert!(holder == a || holder == b);
        // Neither the SSN nor the name is stored in any readable form
        let stored = w.stored_bytes().await;
        assert_eq!(found(&stored, "900112233"), None);
        assert_eq!(found(&stored, "zyxwvutsra"), None);
    }

    #[tokio::test]
    async fn given_a_claim_when_checked_then_only_another_account_is_told() {
        let w = world().await;
        let (a, b) = (
            w.account("one@example.gov").await,
            w.account("two@example.gov").await,
        );
        // Nothing claimed: both pass, and checking claims nothing
        w.duplicates.check(&a, &sample_pii()).await.unwrap();
        w.duplicates.check(&b, &sample_pii()).await.unwrap();
        assert_eq!(w.duplicates.ssn_holder(&sample_pii()).await.unwrap(), None);
        // Once a holds them, a still passes and b is told which
        w.duplicates.claim(&a, &sample_pii()).await.unwrap();
        w.duplicates.check(&a, &sample_pii()).await.unwrap();
        let ssn = w.duplicates.check(&b, &sample_pii()).await;
        assert!(matches!(ssn, Err(DuplicateError::Ssn)), "{ssn:?}");
        let mut other_ssn = sample_pii();
        other_ssn.ssn = "900998877".into();
        let person = w.duplicates.check(&b, &other_ssn).await;
        assert!(matches!(person, Err(DuplicateError::Person)), "{person:?}");
    }

    #[tokio::test]
    async fn given_the_same_person_with_another_ssn_then_the_person_claim_refuses() {
        let w = world().await;
        let (a, b) = (
            w.account("one@example.gov").await,
            w.account("two@example.gov").await,
        );
        w.duplicates.claim(&a, &sample_pii()).await.unwrap();
        let mut other_ssn = sample_pii();
        other_ssn.ssn = "900998877".into();
        let result = w.duplicates.claim(&b, &other_ssn).await;
        assert!(matches!(result, Err(DuplicateError::Person)), "{result:?}");
        // Nothing of b's attempt was kept
        assert_eq!(w.duplicates.ssn_holder(&other_ssn).await.unwrap(), None);
    }

    #[tokio::test]
    async fn given_claims_when_claimed_again_changed_or_released_then_they_follow() {
        let w = world().await;
        let (a, b) = (
            w.account("one@example.gov").await,
            w.account("two@example.gov").await,
        );
        // Claiming twice is a no-op
        w.duplicates.claim(&a, &sample_pii()).await.unwrap();
        w.duplicates.claim(&a, &sample_pii()).await.unwrap();
        // A new verification with corrected details frees the old ones
        let mut corrected = sample_pii();
        corrected.ssn = "900445566".into();
        corrected.address.zip = "22201".into();
        w.duplicates.claim(&a, &corrected).await.unwrap();
        assert_eq!(w.duplicates.ssn_holder(&sample_pii()).await.unwrap(), None);
        w.duplicates.claim(&b, &sample_pii()).await.unwrap();
        // Releasing needs no PII, and frees them for another account
        w.duplicates.release(&a).await.unwrap();
        assert_eq!(w.duplicates.ssn_holder(&corrected).await.unwrap(), None);
        let c = w.account("three@example.gov").await;
        w.duplicates.claim(&c, &corrected).await.unwrap();
        // Releasing never frees another account's claim
        w.duplicates.release(&a).await.unwrap();
        assert_eq!(
            w.duplicates
                .ssn_holder(&corrected)
                .await
                .unwrap()
                .as_deref(),
            Some(c.as_str())
        );
        let incomplete = Pii::default();
        let result = w.duplicates.claim(&a, &incomplete).await;
        assert!(
            matches!(result, Err(DuplicateError::Incomplete)),
            "{result:?}"
        );
    }
}
