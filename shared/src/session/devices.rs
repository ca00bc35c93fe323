//! The browsers an account has signed in from (ACC-6 "devices", ACC-8 "new device"):
//! each browser keeps a random device token in a long-lived cookie; the account's
//! partition keeps one item per device, named by the token's hash, with a short
//! description of the browser, where it was last seen, and when.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::account::events::EventContext;
use crate::clock::Clock;
use crate::random::{Random, RandomExt, is_token};
use crate::store::{Expect, Item, Key, Query, Store, StoreError, StoreResult, Update};

/// At most this many devices are listed; older ones age out of the page, not the store.
const LIST_LIMIT: u32 = 50;

/// The browser's device token (a `__Host-device` cookie). Not a credential: it only
/// tells "seen before" from "new".
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(Zeroizing<String>);

impl DeviceToken {
    pub fn new(random: &dyn Random) -> Self {
        Self(Zeroizing::new(random.token(32)))
    }

    pub fn parse(value: &str) -> Option<Self> {
        is_token(value, 32).then(|| Self(Zeroizing::new(value.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn id(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceToken([redacted])")
    }
}

/// One browser of the account, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    /// "Firefox on Linux", or empty when the browser did not say.
    pub name: String,
    pub place: Option<String>,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// What recording a sign-in learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// This browser signed in to this account before.
    Known,
    /// The account's first device (sign-up): nothing to report.
    First,
    /// A browser the account has not used before, while it has others: ACC-8 notifies.
    New,
}

#[derive(Debug, Clone)]
pub struct Devices {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

fn device_key(user_id: &str, id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), format!("DEVICE#{id}"))
}

impl Devices {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Records a completed sign-in from `token`'s browser.
    pub async fn record_sign_in(
        &self,
        user_id: &str,
        token: &DeviceToken,
        ctx: &EventContext,
    ) -> StoreResult<Seen> {
        let now = self.clock.now_ms();
        let key = device_key(user_id, &token.id());
        let mut item = Item::new(key.clone())
            .with("first_ms", now)
            .with("last_ms", now)
            .with("name", ctx.device.clone().unwrap_or_default());
        if let Some(place) = &ctx.place {
            item = item.with("place", place.clone());
        }
        match self.store.put(item, Expect::Absent).await {
            Ok(_) => {
                let others = self
                    .store
                    .query(
                        &Query::partition(format!("USER#{user_id}"))
                            .prefix("DEVICE#")
                            .limit(2),
                    )
                    .await?;
                Ok(if others.items.len() > 1 {
                    Seen::New
                } else {
                    Seen::First
                })
            }
            Err(StoreError::ConditionFailed) => {
                let mut update = Update::new(key).set("last_ms", now);
                if let Some(place) = &ctx.place {
                    update = update.set("place", place.clone());
                }
                if let Some(name) = &ctx.device {
                    update = update.set("name", name.clone());
                }
                self.store.update(update, Expect::Present).await?;
                Ok(Seen::Known)
            }
            Err(e) => Err(e),
        }
    }

    /// The account's devices, most recently used first.
    pub async fn list(&self, user_id: &str) -> StoreResult<Vec<Device>> {
        let page = self
            .store
            .query(
                &Query::partition(format!("USER#{user_id}"))
                    .prefix("DEVICE#")
                    .limit(LIST_LIMIT),
            )
            .await?;
        let mut devices: Vec<Device> = page
            .items
            .iter()
            .filter_map(|item| {
                Some(Device {
                    id: item.key.sk.strip_prefix("DEVICE#")?.to_owned(),
                    name: item.str("name").unwrap_or_default().to_owned(),
                    place: item.str("place").map(str::to_owned),
                    first_ms: item.num("first_ms")?,
                    last_ms: item.num("last_ms")?,
                })
            })
            .collect();
        devices.sort_by_key(|d| std::cmp::Reverse(d.last_ms));
        Ok(devices)
    }
}
