//! Where an account's verification stands, server-side: one item per account, written
//! only with conditional puts (the version read), so of two tabs acting on the same
//! state one wins and the other is sent to the step that resulted.
//!
//! The item holds no PII: times, job ids, which checks passed, the address method, the
//! code of the last failure, the draft's tag, and — between the password step and its
//! acknowledgement — the personal key sealed under a key derived from the session
//! cookie's token (which the server never stores, IDV-9).
//!
//! | `pk` | `sk` | attributes | expiry |
//! | --- | --- | --- | --- |
//! | `USER#<id>` | `IDV_FLOW` | `consent_ms`, `selfie`, `doc_job`, `doc_passed`, `res_job`, `res_passed`, `address` (`phone`, `letter`), `address_job`, `address_passed`, `failure`, `draft_tag`, `pending_key`, `updated_ms` | 24 h after the last write |

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::account::events::partition;
use crate::aead;
use crate::clock::Clock;
use crate::idv::personal_key::PersonalKey;
use crate::idv::pii::Pii;
use crate::random::{Random, RandomExt};
use crate::session::SessionToken;
use crate::store::{Expect, Item, Key, Store, StoreResult};

/// A flow nobody touched for a day is forgotten (its jobs are gone by then too).
pub const FLOW_TTL_SECS: i64 = 24 * 3600;

/// How the address is confirmed (IDV-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressMethod {
    Phone,
    Letter,
}

impl AddressMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressMethod::Phone => "phone",
            AddressMethod::Letter => "letter",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "phone" => Some(AddressMethod::Phone),
            "letter" => Some(AddressMethod::Letter),
            _ => None,
        }
    }
}

/// The steps, in order. [`Step::Verified`] and [`Step::Letter`] are where a finished
/// verification leaves the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Intro,
    Document,
    DocumentWait,
    Ssn,
    Review,
    Checks,
    Address,
    AddressWait,
    Password,
    PersonalKey,
    Verified,
    Letter,
}

impl Step {
    /// The page of the step (without language prefix).
    pub fn path(self) -> &'static str {
        match self {
            Step::Intro | Step::Verified => "/verify",
            Step::Document => "/verify/document",
            Step::DocumentWait => "/verify/document/wait",
            Step::Ssn => "/verify/ssn",
            Step::Review => "/verify/review",
            Step::Checks => "/verify/checks",
            Step::Address => "/verify/address",
            Step::AddressWait => "/verify/address/wait",
            Step::Password => "/verify/password",
            Step::PersonalKey => "/verify/personal-key",
            Step::Letter => "/verify/letter",
        }
    }

    /// The step's name in a flow's failure code.
    fn name(self) -> &'static str {
        match self {
            Step::Document | Step::DocumentWait => "document",
            Step::Ssn => "ssn",
            Step::Review | Step::Checks => "review",
            Step::Address | Step::AddressWait => "address",
            _ => "other",
        }
    }

    /// The pages that only show a check in progress.
    pub fn is_wait(self) -> bool {
        matches!(self, Step::DocumentWait | Step::Checks | Step::AddressWait)
    }
}

/// One account's verification in progress. `Debug` shows only what is not secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Flow {
    /// The item's version as read; 0 when there was none.
    version: u64,
    pub consent_ms: Option<i64>,
    /// The agency's request asks for a facial match: a selfie is part of the document.
    pub selfie: bool,
    pub document_job: Option<String>,
    pub document_passed: bool,
    pub resolution_job: Option<String>,
    /// Resolution and state-ID passed, and the duplicate claims are this account's.
    pub resolution_passed: bool,
    pub address: Option<AddressMethod>,
    pub address_job: Option<String>,
    pub address_passed: bool,
    /// Why the person was sent back, and to which step ([`Flow::fail`]): a
    /// [`crate::idv::jobs::FailReason`] code, `unavailable`, `duplicate_ssn` …
    pub failure: Option<String>,
    /// [`draft_tag`] of the session's draft as this flow last wrote it.
    pub draft_tag: Option<String>,
    /// The personal key to show until acknowledged, sealed by [`seal_personal_key`].
    pub pending_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("version", &self.version)
            .field("consent", &self.consent_ms.is_some())
            .field("selfie", &self.selfie)
            .field("document_passed", &self.document_passed)
            .field("resolution_passed", &self.resolution_passed)
            .field("address", &self.address)
            .field("address_passed", &self.address_passed)
            .field("failure", &self.failure)
            .field("pending_key", &self.pending_key.is_some())
            .finish_non_exhaustive()
    }
}

impl Flow {
    /// The flow once an identity is sealed: only the personal key to show (and the
    /// address method, for what the last page says), over whatever was there.
    pub fn finished(address: Option<AddressMethod>, pending_key: Vec<u8>) -> Self {
        Self {
            address,
            pending_key: Some(pending_key),
            ..Self::default()
        }
    }

    /// Notes why the person is sent back to step `at`; its page says so.
    pub fn fail(&mut self, at: Step, code: &str) {
        self.failure = Some(format!("{}:{code}", at.name()));
    }

    /// The failure to show on step `at`'s page, if it is for that step.
    pub fn failure_at(&self, at: Step) -> Option<&str> {
        self.failure
            .as_deref()?
            .strip_prefix(at.name())?
            .strip_prefix(':')
    }

    /// Forgets the document check and everything after it.
    pub fn reset_document(&mut self) {
        self.document_job = None;
        self.document_passed = false;
        self.draft_tag = None;
        self.reset_checks();
    }

    /// Forgets the identity checks and everything after them.
    pub fn reset_checks(&mut self) {
        self.resolution_job = None;
        self.resolution_passed = false;
        self.reset_address();
    }

    /// Forgets the address confirmation.
    pub fn reset_address(&mut self) {
        self.address = None;
        self.address_job = None;
        self.address_passed = false;
    }

    /// The job the person is waiting for, if any.
    pub fn awaited_job(&self) -> Option<&str> {
        if !self.document_passed {
            self.document_job.as_deref()
        } else if !self.resolution_passed {
            self.resolution_job.as_deref()
        } else if self.address == Some(AddressMethod::Phone) && !self.address_passed {
            self.address_job.as_deref()
        } else {
            None
        }
    }

    /// The step this flow is at, given the session's draft (which must match the
    /// flow's tag: [`super::context::Ctx`] sees to it).
    pub fn step(&self, draft: Option<&Pii>) -> Step {
        if self.pending_key.is_some() {
            return Step::PersonalKey;
        }
        if self.consent_ms.is_none() {
            return Step::Intro;
        }
        if !self.document_passed {
            return match self.document_job {
                Some(_) => Step::DocumentWait,
                None => Step::Document,
            };
        }
        let Some(draft) = draft else {
            return Step::Document;
        };
        if draft.ssn.is_empty() {
            return Step::Ssn;
        }
        if !self.resolution_passed {
            return match self.resolution_job {
                Some(_) => Step::Checks,
                None => Step::Review,
            };
        }
        match self.address {
            None => Step::Address,
            Some(AddressMethod::Letter) => Step::Password,
            Some(AddressMethod::Phone) if self.address_passed => Step::Password,
            Some(AddressMethod::Phone) if self.address_job.is_some() => Step::AddressWait,
            Some(AddressMethod::Phone) => Step::Address,
        }
    }
}

fn flow_key(user_id: &str) -> Key {
    Key::new(partition(user_id), "IDV_FLOW")
}

fn flag(item: &Item, name: &str) -> bool {
    item.get(name).and_then(|v| v.as_bool()).unwrap_or(false)
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.str(name).map(str::to_owned)
}

/// Reads and writes flow items.
#[derive(Debug, Clone)]
pub struct Flows {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl Flows {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> Self {
        Self {
            store,
            clock,
            random,
        }
    }

    pub fn random(&self) -> &dyn Random {
        self.random.as_ref()
    }

    /// The account's flow; an empty one when there is none (or it expired).
    pub async fn load(&self, user_id: &str) -> StoreResult<Flow> {
        let Some(item) = self.store.get(&flow_key(user_id)).await? else {
            return Ok(Flow::default());
        };
        Ok(Flow {
            version: item.version,
            consent_ms: item.num("consent_ms"),
            selfie: flag(&item, "selfie"),
            document_job: text(&item, "doc_job"),
            document_passed: flag(&item, "doc_passed"),
            resolution_job: text(&item, "res_job"),
            resolution_passed: flag(&item, "res_passed"),
            address: item.str("address").and_then(AddressMethod::parse),
            address_job: text(&item, "address_job"),
            address_passed: flag(&item, "address_passed"),
            failure: text(&item, "failure"),
            draft_tag: text(&item, "draft_tag"),
            pending_key: item.bytes("pending_key").map(<[u8]>::to_vec),
        })
    }

    fn item(&self, user_id: &str, flow: &Flow) -> Item {
        let now = self.clock.now_ms();
        let mut item = Item::new(flow_key(user_id))
            .with("selfie", flow.selfie)
            .with("doc_passed", flow.document_passed)
            .with("res_passed", flow.resolution_passed)
            .with("address_passed", flow.address_passed)
            .with("updated_ms", now)
            .expiring_at(now.div_euclid(1000) + FLOW_TTL_SECS);
        let optional: [(&str, Option<&str>); 6] = [
            ("doc_job", flow.document_job.as_deref()),
            ("res_job", flow.resolution_job.as_deref()),
            ("address", flow.address.map(AddressMethod::as_str)),
            ("address_job", flow.address_job.as_deref()),
            ("failure", flow.failure.as_deref()),
            ("draft_tag", flow.draft_tag.as_deref()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                item = item.with(name, value);
            }
        }
        if let Some(ms) = flow.consent_ms {
            item = item.with("consent_ms", ms);
        }
        if let Some(key) = &flow.pending_key {
            item = item.with("pending_key", key.clone());
        }
        item
    }

    /// Writes `flow` over the version it was read at, and notes the new version in it.
    /// `false`: the flow changed meanwhile (another tab), nothing was written.
    pub async fn save(&self, user_id: &str, flow: &mut Flow) -> StoreResult<bool> {
        let expect = match flow.version {
            0 => Expect::Absent,
            v => Expect::Version(v),
        };
        match self.store.put(self.item(user_id, flow), expect).await {
            Ok(version) => {
                flow.version = version;
                Ok(true)
            }
            Err(e) if e.is_condition_failure() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes `flow` whatever the item holds (after an activation, which only one
    /// request can win).
    pub async fn replace(&self, user_id: &str, flow: &Flow) -> StoreResult<()> {
        self.store
            .put(self.item(user_id, flow), Expect::Any)
            .await
            .map(|_| ())
    }

    /// Forgets the account's flow.
    pub async fn clear(&self, user_id: &str) -> StoreResult<()> {
        self.store
            .delete(&flow_key(user_id), Expect::Any)
            .await
            .map(|_| ())
    }
}

/// A key only this session's cookie can derive, for `purpose`.
fn session_key(token: &SessionToken, purpose: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token.as_str().as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(b"passerelle/idv-flow/v1/");
    mac.update(purpose);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// The draft's tag: an HMAC of its JSON under a key derived from the session token, so
/// the stored tag tells nothing about the PII (it cannot even be tested against guesses
/// without the cookie).
pub fn draft_tag(token: &SessionToken, draft: &Pii) -> String {
    let key = session_key(token, b"draft-tag");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_slice())
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(&draft.to_json());
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
}

fn key_aad(user_id: &str) -> Vec<u8> {
    let mut aad = b"passerelle/idv-flow/v1/personal-key/".to_vec();
    aad.extend_from_slice(user_id.as_bytes());
    aad
}

/// The personal key sealed under a key derived from the session token: nonce | AES-GCM.
pub fn seal_personal_key(
    random: &dyn Random,
    token: &SessionToken,
    user_id: &str,
    key: &PersonalKey,
) -> Vec<u8> {
    let nonce = random.array::<{ aead::NONCE_LEN }>();
    let mut sealed = nonce.to_vec();
    sealed.extend(aead::encrypt(
        &session_key(token, b"personal-key"),
        &nonce,
        &key_aad(user_id),
        key.display().as_bytes(),
    ));
    sealed
}

/// The key [`seal_personal_key`] sealed, if this session's token opens it.
pub fn open_personal_key(
    token: &SessionToken,
    user_id: &str,
    sealed: &[u8],
) -> Option<PersonalKey> {
    let (nonce, ciphertext) = sealed.split_first_chunk::<{ aead::NONCE_LEN }>()?;
    let plain = aead::decrypt(
        &session_key(token, b"personal-key"),
        nonce,
        &key_aad(user_id),
        ciphertext,
    )?;
    PersonalKey::parse(std::str::from_utf8(&plain).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn pii() -> Pii {
        let mut pii = Pii::default();
        pii.given_name = "Ada".into();
        pii.ssn = "900123456".into();
        pii
    }

    #[test]
    fn given_a_flow_then_its_step_follows_what_passed() {
        let mut flow = Flow::default();
        assert_eq!(flow.step(None), Step::Intro);
        flow.consent_ms = Some(1);
        assert_eq!(flow.step(None), Step::Document);
        flow.document_job = Some("j".into());
        assert_eq!(flow.step(None), Step::DocumentWait);
        flow.document_passed = true;
        assert_eq!(flow.step(None), Step::Document, "no draft: upload again");
        let mut draft = pii();
        draft.ssn.clear();
        assert_eq!(flow.step(Some(&draft)), Step::Ssn);
        assert_eq!(flow.step(Some(&pii())), Step::Review);
        flow.resolution_job = Some("r".into());
        assert_eq!(flow.step(Some(&pii())), Step::Checks);
        flow.resolution_passed = true;
        assert_eq!(flow.step(Some(&pii())), Step::Address);
        flow.address = Some(AddressMethod::Phone);
        assert_eq!(flow.step(Some(&pii())), Step::Address);
        flow.address_job = Some("a".into());
        assert_eq!(flow.step(Some(&pii())), Step::AddressWait);
        assert_eq!(flow.awaited_job(), Some("a"));
        flow.address_passed = true;
        assert_eq!(flow.step(Some(&pii())), Step::Password);
        flow.reset_checks();
        assert_eq!(flow.step(Some(&pii())), Step::Review);
        flow.resolution_passed = true;
        flow.address = Some(AddressMethod::Letter);
        assert_eq!(flow.step(Some(&pii())), Step::Password);
        flow.pending_key = Some(vec![1]);
        assert_eq!(flow.step(None), Step::PersonalKey);
    }

    #[test]
    fn given_a_session_token_then_only_it_opens_the_key_and_tags_differ_by_session() {
        let random = SeededRandom::new(9);
        let token = SessionToken::parse(&random.token(32)).unwrap();
        let other = SessionToken::parse(&random.token(32)).unwrap();
        let key = PersonalKey::generate(&random);
        let sealed = seal_personal_key(&random, &token, "u1", &key);
        assert_eq!(open_personal_key(&token, "u1", &sealed), Some(key.clone()));
        assert_eq!(open_personal_key(&other, "u1", &sealed), None);
        assert_eq!(open_personal_key(&token, "u2", &sealed), None);
        assert!(
            !sealed
                .windows(4)
                .any(|w| w == &key.display().as_bytes()[..4])
        );
        assert_eq!(draft_tag(&token, &pii()), draft_tag(&token, &pii()));
        assert_ne!(draft_tag(&token, &pii()), draft_tag(&other, &pii()));
        let mut changed = pii();
        changed.ssn = "900123457".into();
        assert_ne!(draft_tag(&token, &pii()), draft_tag(&token, &changed));
    }
}
