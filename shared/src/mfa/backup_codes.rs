//! Backup codes (MFA-4): ten single-use codes of 12 Crockford base32 characters (60
//! random bits each), shown once and stored only as keyed hashes, one `BACKUP#<hash>`
//! item per code. Using a code deletes its item conditionally, so of two concurrent uses
//! exactly one wins. The set is one method: its `FACTOR#` item counts what remains.

use std::collections::HashSet;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::factors::{ATTEMPTS, FactorKind, Factors, factor_key};
use super::{MfaError, compact, keyed_mac};
use crate::account::events::{EventContext, EventKind, event_item, partition};
use crate::store::{Expect, Item, Key, StoreError, Update, Write};

pub const CODES_PER_SET: usize = 10;
pub const CODE_CHARS: usize = 12;

/// Crockford's base32: no I, L, O or U, so codes read aloud or typed stay unambiguous.
pub(crate) const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The longest code [`crockford_code`] draws: 25 characters are 125 bits, within a u128.
pub(crate) const CROCKFORD_MAX_CHARS: usize = 25;

/// A new set, each code formatted `XXXX-XXXX-XXXX`, to show once.
pub struct BackupCodes(pub Vec<Zeroizing<String>>);

impl fmt::Debug for BackupCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackupCodes([{} redacted])", self.0.len())
    }
}

/// 12 characters from 60 random bits, grouped by four.
fn new_code(random: &dyn crate::random::Random) -> Zeroizing<String> {
    crockford_code(random, CODE_CHARS, 4)
}

/// `chars` Crockford characters (at most [`CROCKFORD_MAX_CHARS`]) from `5 × chars` random
/// bits, a hyphen between groups of `group`. Shared with the identity-verification codes
/// (personal key, letter code), so that every code people type reads the same way.
pub(crate) fn crockford_code(
    random: &dyn crate::random::Random,
    chars: usize,
    group: usize,
) -> Zeroizing<String> {
    let chars = chars.min(CROCKFORD_MAX_CHARS);
    let mut bytes = Zeroizing::new([0u8; 16]);
    let drawn = &mut bytes[..(5 * chars).div_ceil(8)];
    random.fill(drawn);
    let bits = Zeroizing::new(
        drawn
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b)),
    );
    let mut code = Zeroizing::new(String::with_capacity(chars + chars / group.max(1)));
    for i in 0..chars {
        if i > 0 && group > 0 && i % group == 0 {
            code.push('-');
        }
        let index = (*bits >> (5 * (chars - 1 - i))) & 31;
        code.push(char::from(CROCKFORD[index as usize]));
    }
    code
}

/// A typed code in canonical form: uppercase, no spaces or hyphens, Crockford's
/// aliases resolved (I and L read as 1, O as 0). `None` if it cannot be a code.
pub fn normalise(code: &str) -> Option<Zeroizing<String>> {
    crockford_normalise(code, CODE_CHARS)
}

/// [`normalise`] for a code of `chars` characters.
pub(crate) fn crockford_normalise(code: &str, chars: usize) -> Option<Zeroizing<String>> {
    let compacted = Zeroizing::new(compact(code));
    let mut out = Zeroizing::new(String::with_capacity(chars));
    for c in compacted.chars() {
        let c = match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            c if c.is_ascii() && CROCKFORD.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == chars).then_some(out)
}

fn code_key(user_id: &str, hash: &str) -> Key {
    Key::new(partition(user_id), format!("BACKUP#{hash}"))
}

impl Factors {
    /// The keyed hash a code is stored under; the account is part of it, so equal
    /// codes of two accounts do not look equal.
    fn code_hash(&self, user_id: &str, canonical: &str) -> String {
        URL_SAFE_NO_PAD.encode(keyed_mac(
            self.key.expose(),
            &[b"backup-code", user_id.as_bytes(), canonical.as_bytes()],
        ))
    }

    /// Ten new codes, distinct from each other and from `avoid` (the hashes of the set
    /// being replaced), with their hashes.
    fn draw_codes(
        &self,
        user_id: &str,
        avoid: &HashSet<String>,
    ) -> (Vec<Zeroizing<String>>, Vec<String>) {
        let (mut codes, mut hashes) = (Vec::new(), Vec::<String>::new());
        while codes.len() < CODES_PER_SET {
            let code = new_code(self.random.as_ref());
            let hash = match normalise(&code) {
                Some(canonical) => self.code_hash(user_id, &canonical),
                None => continue,
            };
            // 60 random bits: a repeat is practically impossible, but two writes on one
            // key would make the transaction invalid.
            if avoid.contains(&hash) || hashes.contains(&hash) {
                continue;
            }
            codes.push(code);
            hashes.push(hash);
        }
        (codes, hashes)
    }

    /// A new set of ten codes, replacing any previous set (whose codes stop working at
    /// once). The first set adds a method (`factor_added`); later ones record
    /// `backup_codes_regenerated` and leave the count of methods as it was.
    pub async fn generate_backup_codes(
        &self,
        user_id: &str,
        ctx: &EventContext,
    ) -> Result<BackupCodes, MfaError> {
        for _ in 0..ATTEMPTS {
            let existing = self
                .items_of(user_id, FactorKind::BackupCodes)
                .await?
                .into_iter()
                .next();
            let outcome = match existing {
                None => self.first_set(user_id, ctx).await,
                Some(set) => self.replace_set(user_id, &set, ctx).await,
            };
            match outcome {
                // Another request made or changed the set meanwhile: look again.
                Err(MfaError::Contended) => continue,
                other => return other,
            }
        }
        Err(MfaError::Contended)
    }

    async fn first_set(&self, user_id: &str, ctx: &EventContext) -> Result<BackupCodes, MfaError> {
        let (codes, hashes) = self.draw_codes(user_id, &HashSet::new());
        let id = self.new_id();
        let factor = Item::new(factor_key(user_id, &id))
            .with("kind", FactorKind::BackupCodes.as_str())
            .with("name", "")
            .with("created_ms", self.clock.now_ms())
            .with("remaining", CODES_PER_SET as i64);
        let extra = hashes
            .iter()
            .map(|h| {
                (
                    Write::Put(
                        Item::new(code_key(user_id, h)).with("factor", id.clone()),
                        Expect::Absent,
                    ),
                    MfaError::Contended,
                )
            })
            .collect();
        self.add(user_id, FactorKind::BackupCodes, factor, extra, ctx)
            .await?;
        Ok(BackupCodes(codes))
    }

    async fn replace_set(
        &self,
        user_id: &str,
        set: &Item,
        ctx: &EventContext,
    ) -> Result<BackupCodes, MfaError> {
        let factor_id = set
            .key
            .sk
            .strip_prefix("FACTOR#")
            .ok_or(MfaError::Malformed)?;
        let old: Vec<Item> = self.items(user_id, "BACKUP#").await?;
        let old_hashes: HashSet<String> = old
            .iter()
            .filter_map(|i| i.key.sk.strip_prefix("BACKUP#").map(str::to_owned))
            .collect();
        let (codes, hashes) = self.draw_codes(user_id, &old_hashes);
        let now = self.clock.now_ms();
        // The set's version: a code used, or another regeneration, in between changes
        // it, and this attempt starts over rather than leave a stale code alive.
        let mut writes = vec![
            Write::Update(
                Update::new(set.key.clone())
                    .set("remaining", CODES_PER_SET as i64)
                    .set("regenerated_ms", now),
                Expect::Version(set.version),
            ),
            Write::Put(
                event_item(
                    user_id,
                    EventKind::BackupCodesRegenerated,
                    ctx,
                    now,
                    self.random.as_ref(),
                )
                .with("factor_kind", FactorKind::BackupCodes.as_str()),
                Expect::Absent,
            ),
        ];
        writes.extend(old.into_iter().map(|i| Write::Delete(i.key, Expect::Any)));
        writes.extend(hashes.iter().map(|h| {
            Write::Put(
                Item::new(code_key(user_id, h)).with("factor", factor_id),
                Expect::Absent,
            )
        }));
        match self.store.transact(writes).await {
            Ok(()) => Ok(BackupCodes(codes)),
            Err(StoreError::TransactionCanceled { .. }) => Err(MfaError::Contended),
            Err(e) => Err(e.into()),
        }
    }

    /// Signs in with a backup code: `Some(remaining)` when it was one of the account's
    /// unused codes (now used up), `None` otherwise — also for the loser of two
    /// concurrent uses of one code. The caller counts a `None` as an MFA failure and
    /// suggests a new set when few remain.
    pub async fn use_backup_code(
        &self,
        user_id: &str,
        code: &str,
    ) -> Result<Option<u32>, MfaError> {
        let Some(canonical) = normalise(code) else {
            return Ok(None);
        };
        let key = code_key(user_id, &self.code_hash(user_id, &canonical));
        let Some(item) = self.store.get(&key).await? else {
            return Ok(None);
        };
        let factor_id = item.str("factor").ok_or(MfaError::Malformed)?;
        let set = factor_key(user_id, factor_id);
        let writes = vec![
            Write::Delete(key, Expect::Present),
            Write::Update(
                Update::new(set.clone())
                    .add("remaining", -1)
                    .set("last_used_ms", self.clock.now_ms()),
                Expect::Present,
            ),
        ];
        match self.store.transact(writes).await {
            Ok(()) => {}
            Err(StoreError::TransactionCanceled { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        // Read after the write: what remains once this code (and any used meanwhile) is gone.
        let remaining = self
            .store
            .get(&set)
            .await?
            .and_then(|s| s.num("remaining"))
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or_default();
        Ok(Some(remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn codes_are_twelve_crockford_characters_in_three_groups() {
        let random = SeededRandom::new(7);
        for _ in 0..200 {
            let code = new_code(&random);
            assert_eq!(code.len(), 14, "{}", code.as_str());
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 3);
            assert!(groups.iter().all(|g| g.len() == 4));
            assert!(
                code.bytes()
                    .filter(|b| *b != b'-')
                    .all(|b| CROCKFORD.contains(&b))
            );
            assert_eq!(normalise(&code).unwrap().len(), CODE_CHARS);
        }
    }

    #[test]
    fn typed_codes_are_normalised() {
        let canonical = normalise("ABCD-EFGH-JK01").unwrap();
        assert_eq!(canonical.as_str(), "ABCDEFGHJK01");
        for typed in [
            "abcd efgh jk01",
            " ABCD-EFGH-JKO1 ",
            "abcdefghjkol",
            "ABCD-EFGH-JK0I",
            "abcd - efgh - jk01",
        ] {
            assert_eq!(normalise(typed).as_deref(), Some(&*canonical), "{typed}");
        }
        assert!(normalise("ABCD-EFGH-JK0").is_none());
        assert!(normalise("ABCD-EFGH-JK012").is_none());
        assert!(normalise("ABCD-EFGH-JK0U").is_none());
        assert!(normalise("ABCD-EFGH-JK0É").is_none());
    }

    #[test]
    fn a_set_does_not_show_its_codes_in_debug() {
        let codes = BackupCodes(vec![Zeroizing::new("ABCD-EFGH-JK01".into())]);
        assert_eq!(format!("{codes:?}"), "BackupCodes([1 redacted])");
    }
}
