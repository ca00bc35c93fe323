//! A store for race tests: another store behind a gate. Once armed for `n`, the next `n`
//! transactions wait for one another, so `n` racers have all read before any of them
//! writes, and the race the test describes happens every time.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::Barrier;

use super::{Expect, Item, Key, Page, Query, Store, StoreResult, Update, Write};

#[derive(Debug)]
pub struct Gated {
    inner: Arc<dyn Store>,
    gate: Mutex<Option<(Arc<Barrier>, usize)>>,
}

impl Gated {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            gate: Mutex::new(None),
        }
    }

    /// The next `racers` transactions wait until all of them have arrived.
    pub fn arm(&self, racers: usize) {
        *self.gate.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Arc::new(Barrier::new(racers)), racers));
    }

    fn take_barrier(&self) -> Option<Arc<Barrier>> {
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        let (barrier, left) = gate.as_mut()?;
        let barrier = Arc::clone(barrier);
        *left -= 1;
        if *left == 0 {
            *gate = None;
        }
        Some(barrier)
    }
}

#[async_trait]
impl Store for Gated {
    fn adapter(&self) -> &'static str {
        "gated"
    }
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, expect: Expect) -> StoreResult<u64> {
        self.inner.put(item, expect).await
    }
    async fn update(&self, update: Update, expect: Expect) -> StoreResult<Item> {
        self.inner.update(update, expect).await
    }
    async fn delete(&self, key: &Key, expect: Expect) -> StoreResult<Option<Item>> {
        self.inner.delete(key, expect).await
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        if let Some(barrier) = self.take_barrier() {
            barrier.wait().await;
        }
        self.inner.transact(writes).await
    }
    async fn query(&self, query: &Query) -> StoreResult<Page> {
        self.inner.query(query).await
    }
}
