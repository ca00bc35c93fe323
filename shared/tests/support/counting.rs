//! Ports that count what they are asked, for the capacity model: each store operation
//! with the DynamoDB request and capacity units it would cost, each key-service call with
//! the purpose of its data key, each queue message. The counts come from the real code
//! paths; only the unit arithmetic follows DynamoDB's published rules.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use passerelle::keys::{DataKey, EncryptionContext, KeyError, KeyService, MacPurpose, SecretKey};
use passerelle::queue::{Message, Queue, QueueError};
use passerelle::store::{
    Expect, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, Index, Item, Key, Page, Query, Store, StoreResult,
    Update, Value, Write,
};

/// What a stretch of work cost.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    /// DynamoDB API requests by operation name (`GetItem`, `TransactWriteItems` …).
    pub requests: BTreeMap<&'static str, u32>,
    /// Read request units (on-demand), in halves: an eventually consistent 4 KB read is 1.
    pub read_halves: u32,
    /// Write request units, the indexes' writes included.
    pub write_units: u32,
    /// KMS requests by operation and data-key purpose (`Decrypt notify-job`).
    pub kms: BTreeMap<String, u32>,
    /// Messages sent to a queue.
    pub queue_sends: u32,
    /// Partition keys read or written, to find the ones every person shares.
    pub partitions: BTreeSet<String>,
    /// The items written (put, updated or in a transaction), to size what stays stored.
    pub written: BTreeSet<Key>,
}

impl Tally {
    pub fn dynamo_requests(&self) -> u32 {
        self.requests.values().sum()
    }

    pub fn read_units(&self) -> f64 {
        f64::from(self.read_halves) / 2.0
    }

    pub fn kms_requests(&self) -> u32 {
        self.kms.values().sum()
    }

    fn request(&mut self, op: &'static str) {
        *self.requests.entry(op).or_default() += 1;
    }
}

/// The counters all the counting ports share.
#[derive(Debug, Default, Clone)]
pub struct Meter(Arc<Mutex<Tally>>);

impl Meter {
    /// What was counted since the last call, and a fresh start.
    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    fn record(&self, f: impl FnOnce(&mut Tally)) {
        f(&mut self.0.lock().unwrap());
    }
}

/// DynamoDB's size of an item: attribute names plus values (numbers as about half their
/// digits plus one), the store's own attributes included.
pub fn item_bytes(item: &Item) -> usize {
    let number = |n: i64| n.unsigned_abs().to_string().len().div_ceil(2) + 1;
    let value = |v: &Value| match v {
        Value::S(s) => s.len(),
        Value::N(n) => number(*n),
        Value::B(b) => b.len(),
        Value::Bool(_) => 1,
    };
    let mut size = 2 + item.key.pk.len() + 2 + item.key.sk.len();
    size += 1 + number(item.version as i64);
    if let Some(t) = item.expires_at {
        size += "expires_at".len() + number(t);
    }
    size + item
        .attrs
        .iter()
        .map(|(k, v)| k.len() + value(v))
        .sum::<usize>()
}

fn in_index(item: &Item, pk: &str, sk: &str) -> bool {
    item.str(pk).is_some() && item.str(sk).is_some()
}

/// Write units for writing an item whose larger image (before or after) is `item`:
/// 1 per KB on the table, and again on each index that holds it (projection ALL).
fn write_units(item: Option<&Item>) -> u32 {
    let Some(item) = item else { return 1 };
    let per_copy = item_bytes(item).div_ceil(1024).max(1) as u32;
    let copies = 1
        + u32::from(in_index(item, GSI1_PK, GSI1_SK))
        + u32::from(in_index(item, GSI2_PK, GSI2_SK));
    per_copy * copies
}

fn larger(a: Option<Item>, b: Option<Item>) -> Option<Item> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if item_bytes(&a) >= item_bytes(&b) {
            a
        } else {
            b
        }),
        (a, b) => a.or(b),
    }
}

/// A store that counts, over the real one. The images it reads to size writes are not
/// counted: DynamoDB sizes them itself.
#[derive(Debug)]
pub struct CountingStore {
    pub inner: Arc<dyn Store>,
    pub meter: Meter,
}

impl CountingStore {
    async fn image(&self, key: &Key) -> Option<Item> {
        self.inner.get(key).await.ok().flatten()
    }
}

#[async_trait]
impl Store for CountingStore {
    fn adapter(&self) -> &'static str {
        self.inner.adapter()
    }

    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let found = self.inner.get(key).await?;
        // Consistent reads (the DynamoDB adapter's choice): 1 unit per 4 KB, at least 1.
        let units = found
            .as_ref()
            .map_or(1, |i| item_bytes(i).div_ceil(4096).max(1)) as u32;
        self.meter.record(|t| {
            t.request("GetItem");
            t.read_halves += 2 * units;
            t.partitions.insert(key.pk.clone());
        });
        Ok(found)
    }

    async fn put(&self, item: Item, expect: Expect) -> StoreResult<u64> {
        let before = self.image(&item.key).await;
        let key = item.key.clone();
        let result = self.inner.put(item, expect).await;
        let after = self.image(&key).await;
        let units = write_units(larger(before, after).as_ref());
        self.meter.record(|t| {
            t.request("PutItem");
            t.write_units += units;
            t.partitions.insert(key.pk.clone());
            t.written.insert(key);
        });
        result
    }

    async fn update(&self, update: Update, expect: Expect) -> StoreResult<Item> {
        let before = self.image(&update.key).await;
        let key = update.key.clone();
        let result = self.inner.update(update, expect).await;
        let after = self.image(&key).await;
        let units = write_units(larger(before, after).as_ref());
        self.meter.record(|t| {
            t.request("UpdateItem");
            t.write_units += units;
            t.partitions.insert(key.pk.clone());
            t.written.insert(key);
        });
        result
    }

    async fn delete(&self, key: &Key, expect: Expect) -> StoreResult<Option<Item>> {
        let before = self.image(key).await;
        let result = self.inner.delete(key, expect).await;
        let units = write_units(before.as_ref());
        self.meter.record(|t| {
            t.request("DeleteItem");
            t.write_units += units;
            t.partitions.insert(key.pk.clone());
        });
        result
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        let keys: Vec<Key> = writes.iter().map(|w| w.key().clone()).collect();
        let mut before = Vec::with_capacity(keys.len());
        for key in &keys {
            before.push(self.image(key).await);
        }
        let result = self.inner.transact(writes).await;
        // A transaction costs two units per KB for every item, condition checks included.
        let mut units = 0;
        for (key, before) in keys.iter().zip(before) {
            let after = self.image(key).await;
            units += 2 * write_units(larger(before, after).as_ref());
        }
        self.meter.record(|t| {
            t.request("TransactWriteItems");
            t.write_units += units;
            t.partitions.extend(keys.iter().map(|k| k.pk.clone()));
            t.written.extend(keys);
        });
        result
    }

    async fn query(&self, query: &Query) -> StoreResult<Page> {
        let page = self.inner.query(query).await?;
        let bytes: usize = page.items.iter().map(item_bytes).sum();
        let units = bytes.div_ceil(4096).max(1) as u32;
        // The table is read consistently, the indexes eventually (half price).
        let halves = if query.index == Index::Table {
            2 * units
        } else {
            units
        };
        self.meter.record(|t| {
            t.request("Query");
            t.read_halves += halves;
            t.partitions.insert(format!(
                "{}{}",
                query
                    .index
                    .name()
                    .map(|n| format!("{n}:"))
                    .unwrap_or_default(),
                query.pk
            ));
        });
        Ok(page)
    }
}

fn purpose(context: &EncryptionContext) -> String {
    context
        .pairs()
        .find(|(k, _)| *k == "purpose")
        .map_or_else(|| "unnamed".to_owned(), |(_, v)| v.to_owned())
}

/// A key service that counts, over the real one.
#[derive(Debug)]
pub struct CountingKeys {
    pub inner: Arc<dyn KeyService>,
    pub meter: Meter,
}

#[async_trait]
impl KeyService for CountingKeys {
    fn adapter(&self) -> &'static str {
        self.inner.adapter()
    }

    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<DataKey, KeyError> {
        let label = format!("GenerateDataKey {}", purpose(context));
        self.meter.record(|t| *t.kms.entry(label).or_default() += 1);
        self.inner.generate_data_key(context).await
    }

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretKey, KeyError> {
        let label = format!("Decrypt {}", purpose(context));
        self.meter.record(|t| *t.kms.entry(label).or_default() += 1);
        self.inner.decrypt_data_key(key_id, wrapped, context).await
    }

    async fn mac(&self, purpose: MacPurpose, data: &[u8]) -> Result<[u8; 32], KeyError> {
        let label = format!("GenerateMac {}", purpose.as_str());
        self.meter.record(|t| *t.kms.entry(label).or_default() += 1);
        self.inner.mac(purpose, data).await
    }
}

/// A queue that counts what is sent to it.
#[derive(Debug)]
pub struct CountingQueue {
    pub inner: Arc<dyn Queue>,
    pub meter: Meter,
}

#[async_trait]
impl Queue for CountingQueue {
    fn adapter(&self) -> &'static str {
        self.inner.adapter()
    }

    async fn send(&self, body: &str, delay: Duration) -> Result<String, QueueError> {
        self.meter.record(|t| t.queue_sends += 1);
        self.inner.send(body, delay).await
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        self.inner.receive(max, visibility, wait).await
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(receipt).await
    }
}
