//! The store port: DynamoDB single-table semantics (conditional writes, atomic counters,
//! transactions, ordered partition queries, secondary indexes, item expiry) over any
//! backend.

mod expect;
mod item;
mod query;
mod update;

#[cfg(feature = "aws")]
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(any(test, feature = "conformance"))]
pub mod gated;

use async_trait::async_trait;

pub use expect::{Check, Expect};
pub use item::{GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, Item, Key, RESERVED, Value};
pub use query::{Cursor, Index, Order, Page, Query};
pub use update::Update;

/// DynamoDB's limit, kept everywhere so that code written locally deploys unchanged.
pub const MAX_TRANSACTION_WRITES: usize = 100;
pub const MAX_QUERY_LIMIT: u32 = 1000;

/// One write in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put(Item, Expect),
    Update(Update, Expect),
    Delete(Key, Expect),
    /// Writes nothing; only its expectation must hold.
    Check(Key, Expect),
}

impl Write {
    pub fn key(&self) -> &Key {
        match self {
            Write::Put(item, _) => &item.key,
            Write::Update(u, _) => &u.key,
            Write::Delete(k, _) | Write::Check(k, _) => k,
        }
    }

    pub fn expect(&self) -> &Expect {
        match self {
            Write::Put(_, e) | Write::Update(_, e) | Write::Delete(_, e) | Write::Check(_, e) => e,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's expectation did not hold; nothing was written.
    #[error("the item was not in the expected state")]
    ConditionFailed,
    /// The transaction wrote nothing; these writes (by position) had a failing expectation.
    #[error("the transaction was cancelled: writes {failed:?} did not find the expected state")]
    TransactionCanceled { failed: Vec<usize> },
    /// The request itself is wrong (a programming error, never user input).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// Too many requests for the backend right now; safe to retry later.
    #[error("the store is throttling requests")]
    Throttled,
    /// The backend failed for now (an internal error, a timeout, a lost connection, a busy
    /// lock): retrying later may succeed. The detail is for logs, never for responses.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The backend refused in a way retrying does not change: access denied, a missing
    /// table, an answer this store cannot decode. The detail is for logs, never for
    /// responses.
    #[error("the store failed: {0}")]
    Failed(String),
}

impl StoreError {
    /// Whether the failure is the backend's momentary state (throttled, timed out,
    /// unavailable), so the person or the agency should be told to retry shortly (503)
    /// rather than that something is broken (500).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Throttled | StoreError::Unavailable(_))
    }

    pub fn is_condition_failure(&self) -> bool {
        matches!(
            self,
            StoreError::ConditionFailed | StoreError::TransactionCanceled { .. }
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The persistence port. Expired items are invisible to every operation: reads skip
/// them and conditions treat them as absent.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Which adapter this is, for `/api/health`.
    fn adapter(&self) -> &'static str;

    async fn get(&self, key: &Key) -> StoreResult<Option<Item>>;

    /// Writes the whole item; returns its new version.
    async fn put(&self, item: Item, expect: Expect) -> StoreResult<u64>;

    /// Applies a partial update (creating the item when absent and allowed by
    /// `expect`); returns the item as written.
    async fn update(&self, update: Update, expect: Expect) -> StoreResult<Item>;

    /// Deletes the item; returns what was deleted, if it was live.
    async fn delete(&self, key: &Key, expect: Expect) -> StoreResult<Option<Item>>;

    /// All writes or none. At most [`MAX_TRANSACTION_WRITES`], each on a different key.
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()>;

    async fn query(&self, query: &Query) -> StoreResult<Page>;
}

pub(crate) fn validate_item(item: &Item) -> StoreResult<()> {
    validate_key(&item.key)?;
    validate_names(item.attrs.keys().map(String::as_str))?;
    for index in [Index::Gsi1, Index::Gsi2] {
        let (p, s) = index.attrs();
        for name in [p, s] {
            if item
                .get(name)
                .is_some_and(|v| v.as_str().is_none_or(str::is_empty))
            {
                return Err(StoreError::Invalid(format!(
                    "{name} must be a non-empty string"
                )));
            }
        }
    }
    Ok(())
}

pub(crate) fn validate_key(key: &Key) -> StoreResult<()> {
    if key.pk.is_empty() || key.sk.is_empty() || key.pk.len() > 1024 || key.sk.len() > 1024 {
        return Err(StoreError::Invalid(
            "pk and sk must be 1 to 1024 bytes".into(),
        ));
    }
    Ok(())
}

pub(crate) fn validate_names<'a>(names: impl Iterator<Item = &'a str>) -> StoreResult<()> {
    for name in names {
        if !item::valid_attr_name(name) {
            return Err(StoreError::Invalid(format!(
                "attribute name {name:?} is reserved or not [a-z0-9_]"
            )));
        }
    }
    Ok(())
}

pub(crate) fn validate_expect(expect: &Expect) -> StoreResult<()> {
    validate_names(expect.checks().iter().map(Check::attr))
}

pub(crate) fn validate_update(update: &Update) -> StoreResult<()> {
    validate_key(&update.key)?;
    validate_names(update.attr_names())
}

pub(crate) fn validate_query(query: &Query) -> StoreResult<()> {
    if query.pk.is_empty() {
        return Err(StoreError::Invalid("a query needs a partition".into()));
    }
    if query.limit == 0 || query.limit > MAX_QUERY_LIMIT {
        return Err(StoreError::Invalid(format!(
            "query limit must be 1..={MAX_QUERY_LIMIT}"
        )));
    }
    Ok(())
}

pub(crate) fn validate_transaction(writes: &[Write]) -> StoreResult<()> {
    if writes.is_empty() || writes.len() > MAX_TRANSACTION_WRITES {
        return Err(StoreError::Invalid(format!(
            "a transaction holds 1..={MAX_TRANSACTION_WRITES} writes"
        )));
    }
    let mut keys = std::collections::HashSet::new();
    for w in writes {
        if !keys.insert(w.key()) {
            return Err(StoreError::Invalid(
                "a transaction may touch each key once".into(),
            ));
        }
        validate_expect(w.expect())?;
        match w {
            Write::Put(item, _) => validate_item(item)?,
            Write::Update(u, _) => validate_update(u)?,
            Write::Delete(k, _) | Write::Check(k, _) => validate_key(k)?,
        }
    }
    Ok(())
}
