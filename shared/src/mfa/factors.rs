//! The account's second factors as a whole (MFA-6): listing, renaming, removing — never
//! the last one — and the one transaction that adds any method.
//!
//! Every method is one `FACTOR#<id>` item in the account's partition. Beside them a
//! `FACTORS` counter item holds `count` and one count per kind: adding a method bumps
//! them in the transaction that writes it, under the kind's limit; removing one
//! decrements them under `count > 1`. Two racing removals therefore cannot both pass:
//! the store applies them one after the other, and the second finds `count = 1`.

use std::sync::Arc;

use crate::account::events::{EventContext, EventKind, event_item, partition};
use crate::clock::Clock;
use crate::envelope::Envelope;
use crate::keys::{EncryptionContext, SecretKey};
use crate::random::{Random, RandomExt, is_token};
use crate::store::{Check, Expect, Item, Key, Query, Store, StoreError, Update, Write};

use super::{MfaError, valid_name};

/// How many times a change re-reads and retries when a concurrent one moved the items.
pub(super) const ATTEMPTS: usize = 3;

/// Random bytes in a factor, enrolment or challenge id (22 base64url characters).
const ID_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactorKind {
    Totp,
    BackupCodes,
    Phone,
    WebAuthn,
}

impl FactorKind {
    pub const ALL: [FactorKind; 4] = [
        FactorKind::Totp,
        FactorKind::BackupCodes,
        FactorKind::Phone,
        FactorKind::WebAuthn,
    ];

    /// The stable name: stored, and used by pages and sessions (`factor_kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::BackupCodes => "backup_codes",
            FactorKind::Phone => "phone",
            FactorKind::WebAuthn => "webauthn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// MFA-6: only WebAuthn resists phishing (PIV/CAC will, later).
    pub fn is_phishing_resistant(self) -> bool {
        matches!(self, FactorKind::WebAuthn)
    }

    /// How many methods of this kind an account may hold.
    pub fn limit(self) -> Option<i64> {
        match self {
            FactorKind::Totp => Some(2),
            FactorKind::Phone => Some(5),
            // One set; generating again replaces it.
            FactorKind::BackupCodes => Some(1),
            FactorKind::WebAuthn => None,
        }
    }

    fn limit_error(self) -> MfaError {
        match self {
            FactorKind::Totp => MfaError::TooManyApps,
            FactorKind::Phone => MfaError::TooManyPhones,
            // A set made meanwhile by another request: the caller regenerates instead.
            FactorKind::BackupCodes | FactorKind::WebAuthn => MfaError::Contended,
        }
    }
}

/// One method as pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorSummary {
    pub id: String,
    pub kind: FactorKind,
    /// The person's name for it; empty until named (pages then name it by its kind).
    pub name: String,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
    /// Phones: the masked number, e.g. `+33 •••• ••56`. Backup codes: how many remain,
    /// as a number (`"7"`), for the page to phrase. WebAuthn: `security_key` or
    /// `platform` (face or touch unlock).
    pub detail: Option<String>,
}

/// The second-factor service of one deployment.
#[derive(Debug, Clone)]
pub struct Factors {
    pub(super) store: Arc<dyn Store>,
    pub(super) envelope: Arc<Envelope>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) random: Arc<dyn Random>,
    pub(super) key: SecretKey,
}

pub(super) fn factor_key(user_id: &str, factor_id: &str) -> Key {
    Key::new(partition(user_id), format!("FACTOR#{factor_id}"))
}

/// The account's claim on a WebAuthn credential, by the fingerprint of its id (`cred_fp`
/// of the method): one authenticator is set up once per account.
pub(super) fn credential_key(user_id: &str, fp: &str) -> Key {
    Key::new(partition(user_id), format!("WEBAUTHN_CRED#{fp}"))
}

fn counter_key(user_id: &str) -> Key {
    Key::new(partition(user_id), "FACTORS")
}

fn account_key(user_id: &str) -> Key {
    Key::new(partition(user_id), "ACCOUNT")
}

/// The record name a sealed value is bound to: its item's key.
pub(super) fn record(key: &Key) -> String {
    format!("{}#{}", key.pk, key.sk)
}

/// The encryption context of a user's secrets of one purpose (`totp`, `phone`).
pub(super) fn context(purpose: &str, user_id: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", purpose)
        .with("user", user_id)
}

/// Whether an id from outside (a URL, a form) has the shape of ours, before it names a key.
pub(super) fn is_id(text: &str) -> bool {
    is_token(text, ID_BYTES)
}

pub(super) fn summary(item: &Item) -> Option<FactorSummary> {
    let kind = FactorKind::parse(item.str("kind")?)?;
    let detail = match kind {
        FactorKind::Phone => item.str("masked").map(str::to_owned),
        FactorKind::BackupCodes => item.num("remaining").map(|n| n.to_string()),
        // `security_key` or `platform` (face or touch unlock), for the page to phrase.
        FactorKind::WebAuthn => item.str("attachment").map(str::to_owned),
        FactorKind::Totp => None,
    };
    Some(FactorSummary {
        id: item.key.sk.strip_prefix("FACTOR#")?.to_owned(),
        kind,
        name: item.str("name").unwrap_or_default().to_owned(),
        created_ms: item.num("created_ms")?,
        last_used_ms: item.num("last_used_ms"),
        detail,
    })
}

impl Factors {
    /// `key` is `fingerprints.subkey("mfa")`: it keys the hashes of backup codes, phone
    /// codes and phone fingerprints, so a copied table cannot be searched by guessing.
    pub fn new(
        store: Arc<dyn Store>,
        envelope: Arc<Envelope>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        key: SecretKey,
    ) -> Self {
        Self {
            store,
            envelope,
            clock,
            random,
            key,
        }
    }

    pub(super) fn new_id(&self) -> String {
        self.random.token(ID_BYTES)
    }

    /// Every `<prefix>…` item of the account, all pages.
    pub(super) async fn items(&self, user_id: &str, prefix: &str) -> Result<Vec<Item>, MfaError> {
        let mut items = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .query(
                    &Query::partition(partition(user_id))
                        .prefix(prefix)
                        .limit(100)
                        .after(after),
                )
                .await?;
            items.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(items),
            }
        }
    }

    /// The account's methods of one kind, as stored.
    pub(super) async fn items_of(
        &self,
        user_id: &str,
        kind: FactorKind,
    ) -> Result<Vec<Item>, MfaError> {
        let mut items = self.items(user_id, "FACTOR#").await?;
        items.retain(|i| i.str("kind") == Some(kind.as_str()));
        Ok(items)
    }

    /// How many methods of `kind` the account holds now.
    pub(super) async fn count_of(&self, user_id: &str, kind: FactorKind) -> Result<i64, MfaError> {
        let counter = self.store.get(&counter_key(user_id)).await?;
        Ok(counter
            .and_then(|c| c.num(kind.as_str()))
            .unwrap_or_default())
    }

    /// The account's methods, oldest first.
    pub async fn list(&self, user_id: &str) -> Result<Vec<FactorSummary>, MfaError> {
        let mut out: Vec<FactorSummary> = Vec::new();
        for item in self.items(user_id, "FACTOR#").await? {
            match summary(&item) {
                Some(s) => out.push(s),
                None => tracing::warn!(sk = %item.key.sk, "skipping a malformed factor item"),
            }
        }
        out.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(out)
    }

    /// One method, if the account has it.
    pub async fn get(
        &self,
        user_id: &str,
        factor_id: &str,
    ) -> Result<Option<FactorSummary>, MfaError> {
        if !is_id(factor_id) {
            return Ok(None);
        }
        let item = self.store.get(&factor_key(user_id, factor_id)).await?;
        Ok(item.as_ref().and_then(summary))
    }

    /// Names a method (trimmed, 1 to 40 characters).
    pub async fn rename(&self, user_id: &str, factor_id: &str, name: &str) -> Result<(), MfaError> {
        let name = valid_name(name)?;
        if !is_id(factor_id) {
            return Err(MfaError::NotFound);
        }
        let done = self
            .store
            .update(
                Update::new(factor_key(user_id, factor_id)).set("name", name),
                Expect::Present,
            )
            .await;
        match done {
            Ok(_) => Ok(()),
            Err(StoreError::ConditionFailed) => Err(MfaError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a method, unless it is the account's last one (MFA-6) — also when two
    /// removals race: the counter's `count > 1` holds for only one of them. The caller
    /// forgets remembered browsers (ACC-4) and notifies the person (ACC-8).
    pub async fn remove(
        &self,
        user_id: &str,
        factor_id: &str,
        ctx: &EventContext,
    ) -> Result<FactorSummary, MfaError> {
        if !is_id(factor_id) {
            return Err(MfaError::NotFound);
        }
        let key = factor_key(user_id, factor_id);
        for _ in 0..ATTEMPTS {
            let Some(item) = self.store.get(&key).await? else {
                return Err(MfaError::NotFound);
            };
            let removed = summary(&item).ok_or(MfaError::Malformed)?;
            let now = self.clock.now_ms();
            // The version, not mere presence: a use or regeneration in between (which
            // may add backup-code items) makes this attempt re-read.
            let mut writes = vec![
                Write::Delete(key.clone(), Expect::Version(item.version)),
                Write::Update(
                    Update::new(counter_key(user_id))
                        .add("count", -1)
                        .add(removed.kind.as_str(), -1),
                    Expect::All(vec![Check::gt("count", 1i64)]),
                ),
                Write::Put(
                    event_item(
                        user_id,
                        EventKind::FactorRemoved,
                        ctx,
                        now,
                        self.random.as_ref(),
                    )
                    .with("factor_kind", removed.kind.as_str()),
                    Expect::Absent,
                ),
            ];
            match removed.kind {
                FactorKind::Phone => {
                    if let Some(fp) = item.str("fp") {
                        writes.push(Write::Delete(
                            super::phone::phone_key(user_id, fp),
                            Expect::Any,
                        ));
                    }
                }
                FactorKind::BackupCodes => {
                    for code in self.items(user_id, "BACKUP#").await? {
                        writes.push(Write::Delete(code.key, Expect::Any));
                    }
                }
                FactorKind::WebAuthn => {
                    if let Some(fp) = item.str("cred_fp") {
                        writes.push(Write::Delete(credential_key(user_id, fp), Expect::Any));
                    }
                }
                FactorKind::Totp => {}
            }
            match self.store.transact(writes).await {
                Ok(()) => return Ok(removed),
                Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => {
                    return Err(MfaError::LastFactor);
                }
                // The method changed or went meanwhile: look again.
                Err(StoreError::TransactionCanceled { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(MfaError::Contended)
    }

    /// Adds a method in one transaction: `extra` writes (each with the error to give if
    /// its expectation fails), the factor item, the counters under the kind's limit, the
    /// account made active (a factor-pending account's first method activates it), and
    /// a `factor_added` event.
    pub(super) async fn add(
        &self,
        user_id: &str,
        kind: FactorKind,
        factor: Item,
        extra: Vec<(Write, MfaError)>,
        ctx: &EventContext,
    ) -> Result<FactorSummary, MfaError> {
        let added = summary(&factor).ok_or(MfaError::Malformed)?;
        let now = self.clock.now_ms();
        // Every counter is written (by +0 if need be) so that each kind's limit check
        // always finds its attribute: a missing one would fail `<`.
        let mut counters = Update::new(counter_key(user_id)).add("count", 1);
        for k in FactorKind::ALL {
            counters = counters.add(k.as_str(), i64::from(k == kind));
        }
        let counters_expect = match kind.limit() {
            Some(limit) => Expect::AbsentOr(vec![Check::lt(kind.as_str(), limit)]),
            None => Expect::Any,
        };
        let (extra_writes, mut extra_errors): (Vec<Write>, Vec<MfaError>) =
            extra.into_iter().unzip();
        let n = extra_writes.len();
        let mut writes = extra_writes;
        writes.extend([
            Write::Put(factor, Expect::Absent),
            Write::Update(counters, counters_expect),
            Write::Update(
                Update::new(account_key(user_id)).set("status", "active"),
                Expect::Present,
            ),
            Write::Put(
                event_item(
                    user_id,
                    EventKind::FactorAdded,
                    ctx,
                    now,
                    self.random.as_ref(),
                )
                .with("factor_kind", kind.as_str()),
                Expect::Absent,
            ),
        ]);
        match self.store.transact(writes).await {
            Ok(()) => Ok(added),
            Err(StoreError::TransactionCanceled { failed }) => {
                let first = failed.iter().copied().min().unwrap_or(n);
                Err(if first < n {
                    extra_errors.swap_remove(first)
                } else if failed.contains(&(n + 1)) {
                    kind.limit_error()
                } else if failed.contains(&(n + 2)) {
                    MfaError::NotFound
                } else {
                    // A fresh random id already taken: practically never.
                    MfaError::Contended
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_names() {
        for kind in FactorKind::ALL {
            assert_eq!(FactorKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(FactorKind::BackupCodes.as_str(), "backup_codes");
        assert!(FactorKind::WebAuthn.is_phishing_resistant());
        assert!(!FactorKind::Totp.is_phishing_resistant());
        assert!(!FactorKind::Phone.is_phishing_resistant());
        assert_eq!(FactorKind::parse("sms"), None);
    }
}
