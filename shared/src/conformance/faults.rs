//! Ports that fail on purpose, for the fault matrix: one controller ([`Faults`]) counts
//! every call across the wrapped store, key service and queues, and fails the Nth with a
//! chosen [`FaultKind`], as the error the real AWS adapter returns for it (see
//! `store::dynamo::errors`, `keys::kms`, `queue::sqs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::keys::{DataKey, EncryptionContext, KeyError, KeyService, MacPurpose, SecretKey};
use crate::queue::{Message, Queue, QueueError};
use crate::store::Expect;
use crate::store::{Item, Key, Page, Query, Store, StoreError, StoreResult, Update, Write};

/// What can go wrong with one call to a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The backend refuses for now (DynamoDB `ThrottlingException`, KMS
    /// `ThrottlingException`; SQS has no throttle of its own and answers
    /// `RequestThrottled`, which the adapter reports as unavailable).
    Throttled,
    /// The request was sent and applied, but its answer never came back (a write
    /// happened; the caller cannot know it).
    TimedOut,
    /// `InternalServerError` / `ServiceUnavailable`: nothing was done.
    Unavailable,
    /// The write's condition did not hold (writes only): `ConditionalCheckFailed`, or a
    /// cancelled transaction.
    ConditionFailed,
    /// The role lost its permission (`AccessDeniedException`): nothing was done.
    AccessDenied,
    /// The answer came back without what the adapter needs (a KMS key without its
    /// plaintext, a message without its id): the adapter's own "returned no …" errors.
    Malformed,
}

impl FaultKind {
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Throttled,
        FaultKind::TimedOut,
        FaultKind::Unavailable,
        FaultKind::ConditionFailed,
        FaultKind::AccessDenied,
        FaultKind::Malformed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Throttled => "throttled",
            FaultKind::TimedOut => "timed-out",
            FaultKind::Unavailable => "unavailable",
            FaultKind::ConditionFailed => "condition-failed",
            FaultKind::AccessDenied => "access-denied",
            FaultKind::Malformed => "malformed",
        }
    }
}

/// One call a wrapped port was asked, as the controller saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    StoreRead,
    /// A put, update, delete or transaction: a condition can fail.
    StoreWrite,
    Keys,
    QueueSend,
    /// Receive or delete: what the workers ask.
    QueueOther,
}

impl Call {
    /// Whether `kind` is something this call can answer.
    pub fn can_fail_with(self, kind: FaultKind) -> bool {
        match kind {
            FaultKind::ConditionFailed => self == Call::StoreWrite,
            // A read's answer is either complete or not: a lost answer is unavailable.
            FaultKind::TimedOut => matches!(self, Call::StoreWrite | Call::QueueSend),
            _ => true,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    armed: Option<(usize, FaultKind)>,
    fired: Option<(usize, Call, FaultKind)>,
}

/// The controller the wrapped ports share.
#[derive(Debug, Default, Clone)]
pub struct Faults(Arc<Mutex<State>>);

/// What the controller decided for one call.
enum Decision {
    Pass,
    Fail(FaultKind),
}

impl Faults {
    /// Fails call number `index` (0-based, counted from now) with `kind`, once.
    pub fn arm(&self, index: usize, kind: FaultKind) {
        let mut s = self.lock();
        s.calls.clear();
        s.fired = None;
        s.armed = Some((index, kind));
    }

    /// Stops failing and starts counting afresh.
    pub fn disarm(&self) {
        let mut s = self.lock();
        s.calls.clear();
        s.armed = None;
    }

    /// The calls since the last arm or disarm, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The fault injected since the last arm: (index, call, kind).
    pub fn fired(&self) -> Option<(usize, Call, FaultKind)> {
        self.lock().fired
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn decide(&self, call: Call) -> Decision {
        let mut s = self.lock();
        let index = s.calls.len();
        s.calls.push(call);
        match s.armed {
            Some((at, kind)) if at == index && call.can_fail_with(kind) => {
                s.armed = None;
                s.fired = Some((index, call, kind));
                Decision::Fail(kind)
            }
            _ => Decision::Pass,
        }
    }
}

fn store_error(kind: FaultKind, transaction: bool) -> StoreError {
    match kind {
        FaultKind::Throttled => StoreError::Throttled,
        FaultKind::TimedOut => StoreError::Unavailable("injected: request timed out".into()),
        FaultKind::Unavailable => StoreError::Unavailable("InternalServerError: injected".into()),
        FaultKind::ConditionFailed if transaction => {
            StoreError::TransactionCanceled { failed: vec![0] }
        }
        FaultKind::ConditionFailed => StoreError::ConditionFailed,
        // errors.rs: a permanent refusal.
        FaultKind::AccessDenied => StoreError::Failed("AccessDeniedException: injected".into()),
        // convert.rs: an item whose attributes do not decode.
        FaultKind::Malformed => {
            StoreError::Failed("DynamoDB returned an item it cannot decode".into())
        }
    }
}

/// A store that fails where the controller says.
#[derive(Debug)]
pub struct FaultyStore {
    pub inner: Arc<dyn Store>,
    pub faults: Faults,
}

impl FaultyStore {
    /// For a write: `Ok(true)` to apply it and answer, `Ok(false)` to apply it and lose
    /// the answer, `Err` to refuse it.
    fn write(&self, transaction: bool) -> Result<bool, StoreError> {
        match self.faults.decide(Call::StoreWrite) {
            Decision::Pass => Ok(true),
            Decision::Fail(FaultKind::TimedOut) => Ok(false),
            Decision::Fail(kind) => Err(store_error(kind, transaction)),
        }
    }

    fn read(&self) -> StoreResult<()> {
        match self.faults.decide(Call::StoreRead) {
            Decision::Pass => Ok(()),
            Decision::Fail(kind) => Err(store_error(kind, false)),
        }
    }
}

fn lost<T>(result: StoreResult<T>, answered: bool) -> StoreResult<T> {
    if answered {
        result
    } else {
        Err(store_error(FaultKind::TimedOut, false))
    }
}

#[async_trait]
impl Store for FaultyStore {
    fn adapter(&self) -> &'static str {
        self.inner.adapter()
    }

    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.read()?;
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, expect: Expect) -> StoreResult<u64> {
        let answered = self.write(false)?;
        lost(self.inner.put(item, expect).await, answered)
    }

    async fn update(&self, update: Update, expect: Expect) -> StoreResult<Item> {
        let answered = self.write(false)?;
        lost(self.inner.update(update, expect).await, answered)
    }

    async fn delete(&self, key: &Key, expect: Expect) -> StoreResult<Option<Item>> {
        let answered = self.write(false)?;
        lost(self.inner.delete(key, expect).await, answered)
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        let answered = self.write(true)?;
        lost(self.inner.transact(writes).await, answered)
    }

    async fn query(&self, query: &Query) -> StoreResult<Page> {
        self.read()?;
        self.inner.query(query).await
    }
}

/// A key service that fails where the controller says.
#[derive(Debug)]
pub struct FaultyKeys {
    pub inner: Arc<dyn KeyService>,
    pub faults: Faults,
}

impl FaultyKeys {
    fn check(&self, malformed: KeyError) -> Result<(), KeyError> {
        match self.faults.decide(Call::Keys) {
            Decision::Pass => Ok(()),
            Decision::Fail(FaultKind::Throttled) => Err(KeyError::Throttled),
            Decision::Fail(FaultKind::Malformed) => Err(malformed),
            Decision::Fail(FaultKind::AccessDenied) => {
                Err(KeyError::Failed("AccessDeniedException: injected".into()))
            }
            Decision::Fail(_) => Err(KeyError::Unavailable(
                "KMSInternalException: injected".into(),
            )),
        }
    }
}

#[async_trait]
impl KeyService for FaultyKeys {
    fn adapter(&self) -> &'static str {
        self.inner.adapter()
    }

    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<DataKey, KeyError> {
        self.check(KeyError::Failed(
            "KMS returned no 256-bit plaintext key".into(),
        ))?;
        self.inner.generate_data_key(context).await
    }

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretKey, KeyError> {
        // kms.rs: a Decrypt answer without a 32-byte plaintext is rejected.
        self.check(KeyError::Rejected)?;
        self.inner.decrypt_data_key(key_id, wrapped, context).await
    }

    async fn mac(&self, purpose: MacPurpose, data: &[u8]) -> Result<[u8; 32], KeyError> {
        self.check(KeyError::Failed("KMS returned no 32-byte MAC".into()))?;
        self.inner.mac(purpose, data).await
    }
}

/// A queue that fails where the controller says.
#[derive(Debug)]
pub struct FaultyQueue {
    pub inner: Arc<dyn Queue>,
    pub faults: Faults,
}

fn queue_error(kind: FaultKind) -> QueueError {
    QueueError::Unavailable(
        match kind {
            FaultKind::Throttled => "RequestThrottled: injected",
            FaultKind::AccessDenied => "AccessDenied: injected",
            FaultKind::Malformed => "SQS returned no message id",
            _ => "InternalError: injected",
        }
        .into(),
    )
}

#[async_trait]
impl Queue for FaultyQueue {
    fn adapter(&self) -> &'static str {
        self.inner.adapter()
    }

    async fn send(&self, body: &str, delay: Duration) -> Result<String, QueueError> {
        match self.faults.decide(Call::QueueSend) {
            Decision::Pass => self.inner.send(body, delay).await,
            // Sent, and the answer lost.
            Decision::Fail(FaultKind::TimedOut) => {
                self.inner.send(body, delay).await?;
                Err(queue_error(FaultKind::TimedOut))
            }
            Decision::Fail(kind) => Err(queue_error(kind)),
        }
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        match self.faults.decide(Call::QueueOther) {
            Decision::Pass => self.inner.receive(max, visibility, wait).await,
            Decision::Fail(kind) => Err(queue_error(kind)),
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        match self.faults.decide(Call::QueueOther) {
            Decision::Pass => self.inner.delete(receipt).await,
            Decision::Fail(kind) => Err(queue_error(kind)),
        }
    }
}
