//! A bounded, short-lived cache of unwrapped data keys. Sealing reuses one data key per
//! context for a while (AES-GCM with random nonces stays safe far beyond the use limit);
//! opening remembers unwrapped keys by (key id, wrapped key, context).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::keys::{DataKey, EncryptionContext, SecretKey};

#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// How long an unwrapped key may be kept.
    pub ttl_ms: i64,
    /// How many keys each of the two maps holds at most.
    pub capacity: usize,
    /// How many values one cached sealing key may seal.
    pub max_uses: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            ttl_ms: 5 * 60 * 1000,
            capacity: 1024,
            max_uses: 100_000,
        }
    }
}

impl CacheLimits {
    /// No caching at all: every seal and open asks the key service.
    pub fn disabled() -> Self {
        Self {
            ttl_ms: 0,
            capacity: 0,
            max_uses: 0,
        }
    }
}

struct Sealing {
    key: DataKey,
    since_ms: i64,
    uses: u64,
}

struct Opening {
    key: SecretKey,
    since_ms: i64,
}

pub(super) struct KeyCache {
    clock: Arc<dyn Clock>,
    limits: CacheLimits,
    sealing: Mutex<HashMap<Vec<u8>, Sealing>>,
    opening: Mutex<HashMap<[u8; 32], Opening>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("limits", &self.limits)
            .finish()
    }
}

fn opening_id(key_id: &str, wrapped: &[u8], context: &EncryptionContext) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((key_id.len() as u32).to_be_bytes());
    h.update(key_id.as_bytes());
    h.update((wrapped.len() as u32).to_be_bytes());
    h.update(wrapped);
    h.update(context.canonical());
    h.finalize().into()
}

/// Makes room for one entry: drops expired ones, then the oldest.
fn make_room<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    capacity: usize,
    fresh: impl Fn(&V) -> bool,
    since: impl Fn(&V) -> i64,
) {
    map.retain(|_, v| fresh(v));
    while map.len() >= capacity {
        let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| since(v))
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        map.remove(&oldest);
    }
}

impl KeyCache {
    pub(super) fn new(clock: Arc<dyn Clock>, limits: CacheLimits) -> Self {
        Self {
            clock,
            limits,
            sealing: Mutex::new(HashMap::new()),
            opening: Mutex::new(HashMap::new()),
        }
    }

    fn fresh(&self, since_ms: i64, now: i64) -> bool {
        now - since_ms < self.limits.ttl_ms
    }

    pub(super) fn sealing_key(&self, context: &EncryptionContext) -> Option<DataKey> {
        let now = self.clock.now_ms();
        let mut map = self.sealing.lock().unwrap_or_else(|e| e.into_inner());
        let ctx = context.canonical();
        let entry = map.get_mut(&ctx)?;
        if !self.fresh(entry.since_ms, now) || entry.uses >= self.limits.max_uses {
            map.remove(&ctx);
            return None;
        }
        entry.uses += 1;
        Some(entry.key.clone())
    }

    pub(super) fn keep_sealing_key(&self, context: &EncryptionContext, key: &DataKey) {
        if self.limits.capacity == 0 || self.limits.max_uses == 0 {
            return;
        }
        let now = self.clock.now_ms();
        let mut map = self.sealing.lock().unwrap_or_else(|e| e.into_inner());
        make_room(
            &mut map,
            self.limits.capacity,
            |v| self.fresh(v.since_ms, now),
            |v| v.since_ms,
        );
        map.insert(
            context.canonical(),
            Sealing {
                key: key.clone(),
                since_ms: now,
                uses: 1,
            },
        );
    }

    pub(super) fn opening_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Option<SecretKey> {
        let now = self.clock.now_ms();
        let id = opening_id(key_id, wrapped, context);
        let mut map = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&id) {
            Some(e) if self.fresh(e.since_ms, now) => Some(e.key.clone()),
            Some(_) => {
                map.remove(&id);
                None
            }
            None => None,
        }
    }

    pub(super) fn keep_opening_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
        key: &SecretKey,
    ) {
        if self.limits.capacity == 0 {
            return;
        }
        let now = self.clock.now_ms();
        let mut map = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        make_room(
            &mut map,
            self.limits.capacity,
            |v| self.fresh(v.since_ms, now),
            |v| v.since_ms,
        );
        map.insert(
            opening_id(key_id, wrapped, context),
            Opening {
                key: key.clone(),
                since_ms: now,
            },
        );
    }

    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize) {
        (
            self.sealing.lock().map(|m| m.len()).unwrap_or(0),
            self.opening.lock().map(|m| m.len()).unwrap_or(0),
        )
    }
}
