//! Proofing jobs (IDV-2): the page writes a job and enqueues its id; the worker
//! ([`worker`]) calls the vendors; the result comes back from the worker or, for documents,
//! from the vendor's signed callback ([`crate::idv::callback`]); the page polls
//! [`Jobs::status`] and reads [`Jobs::document_result`].
//!
//! - The job item holds the input sealed under the job's key ([`job_key`]), which the page
//!   derives from the session token and which the table never holds; the queue message
//!   carries `{"v":2,"job":"<id>","key":"<the job key, sealed by the envelope>"}`
//!   (context `purpose=proofing-job`, `job=<id>`): the worker opens the input with it.
//!   A result is sealed to the job's public key (`result_to`), which only the flow key
//!   opens. No PII in contexts, messages or logs.
//! - Enqueueing is a conditional put of the job item (idempotent by id: the same id again
//!   only re-sends the message), then a send.
//! - Every transition is a conditional write. A worker takes a lease before calling a
//!   vendor (a duplicate delivery meanwhile is retried later, not run twice); finishing
//!   requires the job unfinished, so a job finished twice (duplicate delivery, worker and
//!   callback) has exactly one effect.
//! - A vendor that stays unavailable: the worker's last attempt (the delivery whose receive
//!   count reaches the queue's maximum) marks the job [`JobStatus::Unavailable`] and leaves
//!   the message to the dead-letter queue; the person is told to try again later.
//! - Items expire after [`JOB_TTL_SECS`]; a document job's uploads are deleted when it ends.
//!
//! Item: `pk = PROOFING#<id>`, `sk = JOB`; attributes `account`, `kind`, `status`
//! (`queued`, `running`, `passed`, `failed`, `unavailable`), `reason` (failed only),
//! `attempts`, `lease_until_ms`, `input` (sealed under the job key, removed when
//! finished), `result_to` (the X25519 public key results are sealed to), `result` (sealed
//! to it, passed document jobs), `vendor_ref` and `submitted_ms` (document jobs waiting for the
//! callback), `created_ms`, `updated_ms`, `finished_ms`.

pub mod job_key;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use self::job_key::{FlowKey, JobKey, seal_result};
use super::pii::Pii;
use super::uploads::{Side, UploadError, Uploads};
use crate::clock::Clock;
use crate::envelope::{Envelope, EnvelopeError};
use crate::keys::EncryptionContext;
use crate::queue::{Queue, QueueError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::random::{Random, RandomExt, is_token};
use crate::store::{Check, Expect, Item, Key, Store, StoreError, Update};

/// Job items (and what they hold) are gone a day after the job was queued.
pub const JOB_TTL_SECS: i64 = 24 * 3600;
/// How long a worker holds a job while it calls the vendors: longer than a job's vendor
/// calls take, no longer than the queue's visibility timeout.
pub const LEASE_MS: i64 = 30_000;
/// How long a submitted document may wait for the vendor's callback before the job is
/// marked unavailable.
pub const CALLBACK_DEADLINE_MS: i64 = 10 * 60_000;
/// A job still unfinished this long after it was queued is shown as unavailable, whatever
/// happened to its messages.
pub const STALE_AFTER_MS: i64 = 60 * 60_000;
/// Job ids are random tokens of this many bytes (22 characters).
pub const JOB_ID_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Document authenticity, data extraction and selfie match (answered by callback).
    Document,
    /// Identity resolution (name, birth date, SSN, address), then the state-ID check.
    Resolution,
    /// Phone-to-address.
    Address,
    /// A letter with a code to the address.
    Letter,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Document => "document",
            JobKind::Resolution => "resolution",
            JobKind::Address => "address",
            JobKind::Letter => "letter",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            JobKind::Document,
            JobKind::Resolution,
            JobKind::Address,
            JobKind::Letter,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// Why a check failed, as a code the page turns into a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// The vendor judged the document not genuine.
    DocumentNotAuthentic,
    /// The vendor could not read the document's data.
    DocumentUnreadable,
    /// The selfie does not show the document's holder.
    SelfieMismatch,
    /// Identity resolution found no match for the name, birth date, SSN and address.
    IdentityNotFound,
    /// The issuing state has no such ID for this person.
    StateIdMismatch,
    /// The phone could not be tied to the person at the address.
    PhoneUnverifiable,
    /// The vendor refused the request itself (a 4xx): not the person's doing.
    VendorRejected,
}

impl FailReason {
    pub const ALL: [FailReason; 7] = [
        FailReason::DocumentNotAuthentic,
        FailReason::DocumentUnreadable,
        FailReason::SelfieMismatch,
        FailReason::IdentityNotFound,
        FailReason::StateIdMismatch,
        FailReason::PhoneUnverifiable,
        FailReason::VendorRejected,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FailReason::DocumentNotAuthentic => "document_not_authentic",
            FailReason::DocumentUnreadable => "document_unreadable",
            FailReason::SelfieMismatch => "selfie_mismatch",
            FailReason::IdentityNotFound => "identity_not_found",
            FailReason::StateIdMismatch => "state_id_mismatch",
            FailReason::PhoneUnverifiable => "phone_unverifiable",
            FailReason::VendorRejected => "vendor_rejected",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// What the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is calling the vendors, or the document vendor's answer is awaited.
    Running,
    /// Every check passed (a document job's extracted data is in
    /// [`Jobs::document_result`]).
    Passed,
    Failed(FailReason),
    /// The vendors could not be reached after every retry: "try again later".
    Unavailable,
}

impl JobStatus {
    pub fn is_finished(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// A job as its owner may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    pub id: String,
    pub kind: JobKind,
    pub status: JobStatus,
    /// Worker runs so far.
    pub attempts: i64,
    pub created_ms: i64,
}

/// What a job checks. Sealed in the job item; `Debug` shows no value.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum JobInput {
    /// The images are in [`Uploads`] under the job's id.
    Document {
        selfie: bool,
    },
    Resolution {
        pii: Pii,
    },
    Address {
        phone: String,
        pii: Pii,
    },
    Letter {
        code: String,
        pii: Pii,
    },
}

impl JobInput {
    pub fn kind(&self) -> JobKind {
        match self {
            JobInput::Document { .. } => JobKind::Document,
            JobInput::Resolution { .. } => JobKind::Resolution,
            JobInput::Address { .. } => JobKind::Address,
            JobInput::Letter { .. } => JobKind::Letter,
        }
    }
}

impl std::fmt::Debug for JobInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JobInput::{}([redacted])", self.kind().as_str())
    }
}

impl Drop for JobInput {
    fn drop(&mut self) {
        match self {
            JobInput::Address { phone, .. } => phone.zeroize(),
            JobInput::Letter { code, .. } => code.zeroize(),
            _ => {}
        }
    }
}

/// How a job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish<'a> {
    /// With a result to seal on the job (a document's extracted data as JSON), or none.
    Passed(Option<&'a [u8]>),
    Failed(FailReason),
    Unavailable,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the job id is malformed")]
    BadId,
    /// The id is taken by another account's job, or a job of another kind.
    #[error("a different job already has this id")]
    Conflict,
    /// What the job item or the queue holds cannot be read.
    #[error("the job is malformed")]
    Malformed,
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the job could not be sealed or opened: {0}")]
    Sealing(#[from] EnvelopeError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// The job item, as the worker and the callback read it.
#[derive(Debug, Clone)]
pub(crate) struct JobRecord {
    pub id: String,
    pub account: String,
    pub kind: JobKind,
    pub status: String,
    pub reason: Option<FailReason>,
    pub finished: bool,
    pub attempts: i64,
    pub vendor_ref: Option<String>,
    pub submitted_ms: Option<i64>,
    pub created_ms: i64,
    input: Option<Vec<u8>>,
    result_to: Option<Vec<u8>>,
    result: Option<Vec<u8>>,
}

impl JobRecord {
    fn from_item(id: &str, item: &Item) -> Option<Self> {
        Some(Self {
            id: id.to_owned(),
            account: item.str("account")?.to_owned(),
            kind: JobKind::parse(item.str("kind")?)?,
            status: item.str("status")?.to_owned(),
            reason: item.str("reason").and_then(FailReason::parse),
            finished: item.get("finished_ms").is_some(),
            attempts: item.num("attempts").unwrap_or(0),
            vendor_ref: item.str("vendor_ref").map(str::to_owned),
            submitted_ms: item.num("submitted_ms"),
            created_ms: item.num("created_ms").unwrap_or(0),
            input: item.bytes("input").map(<[u8]>::to_vec),
            result_to: item.bytes("result_to").map(<[u8]>::to_vec),
            result: item.bytes("result").map(<[u8]>::to_vec),
        })
    }

    fn status_at(&self, now_ms: i64) -> JobStatus {
        match self.status.as_str() {
            "passed" => JobStatus::Passed,
            "failed" => JobStatus::Failed(self.reason.unwrap_or(FailReason::VendorRejected)),
            "unavailable" => JobStatus::Unavailable,
            _ if now_ms - self.created_ms > STALE_AFTER_MS => JobStatus::Unavailable,
            "running" => JobStatus::Running,
            _ => JobStatus::Queued,
        }
    }
}

/// What a worker's attempt to take a job found.
#[derive(Debug)]
pub(crate) enum Start {
    Started(Box<JobRecord>),
    /// Another worker holds the lease.
    Busy,
    Finished,
    Gone,
}

/// The queue body: the job id and, on messages that start the checks, the job key
/// sealed by the envelope (base64url). A watchdog carries no key: it opens nothing.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    v: u8,
    job: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

/// A job message as the worker reads it.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub job: String,
    /// The envelope-sealed job key; `None` on a watchdog, and on the messages of jobs
    /// queued before job keys (version 1), whose checks then cannot run.
    pub sealed_key: Option<Vec<u8>>,
}

pub(crate) fn parse_message(body: &str) -> Option<Delivery> {
    let m: Message = serde_json::from_str(body).ok()?;
    if !matches!(m.v, 1 | 2) || !is_token(&m.job, JOB_ID_BYTES) {
        return None;
    }
    let sealed_key = match m.key {
        Some(text) => Some(URL_SAFE_NO_PAD.decode(text).ok()?),
        None => None,
    };
    Some(Delivery {
        job: m.job,
        sealed_key,
    })
}

fn key(id: &str) -> Key {
    Key::new(format!("PROOFING#{id}"), "JOB")
}

fn context(id: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "proofing-job")
        .with("job", id)
}

/// The envelope's record name for job `id`'s key (in its message).
fn key_record(id: &str) -> String {
    format!("PROOFING#{id}#key")
}

/// Proofing jobs: enqueue, poll, read results; the worker's and callback's transitions.
#[derive(Debug, Clone)]
pub struct Jobs {
    store: Arc<dyn Store>,
    envelope: Arc<Envelope>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    uploads: Uploads,
}

impl Jobs {
    pub fn new(
        store: Arc<dyn Store>,
        envelope: Arc<Envelope>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        let uploads = Uploads::new(Arc::clone(&store), Arc::clone(&clock), Arc::clone(&random));
        Self {
            store,
            envelope,
            queue,
            clock,
            random,
            uploads,
        }
    }

    /// The document images of jobs.
    pub fn uploads(&self) -> &Uploads {
        &self.uploads
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A fresh job id. Keep it (in the session) before uploading or enqueueing, so that a
    /// repeated request reuses it.
    pub fn new_id(&self) -> String {
        self.random.token(JOB_ID_BYTES)
    }

    /// Writes job `id` of `account` and queues it, its input sealed under `flow`'s key for
    /// the job. Idempotent: the same id and account again re-sends the message (unless
    /// the job is finished) and writes nothing. A document job needs its front and back
    /// (and selfie when asked) uploaded first, under the same flow key.
    pub async fn enqueue(
        &self,
        id: &str,
        account: &str,
        input: &JobInput,
        flow: &FlowKey,
    ) -> Result<(), JobError> {
        if !is_token(id, JOB_ID_BYTES) {
            return Err(JobError::BadId);
        }
        if let JobInput::Document { selfie } = input {
            let sides = self.uploads.sides(id, account).await?;
            let needed: &[Side] = if *selfie {
                &[Side::Front, Side::Back, Side::Selfie]
            } else {
                &[Side::Front, Side::Back]
            };
            if let Some(missing) = needed.iter().find(|s| !sides.contains(s)) {
                return Err(UploadError::Missing(*missing).into());
            }
        }
        let json = Zeroizing::new(serde_json::to_vec(input).map_err(|_| JobError::Malformed)?);
        let job_key = flow.job(id);
        let sealed = job_key.seal(self.random.as_ref(), "input", id, &json);
        let result_to = flow.result_public_key(id).ok_or(JobError::Malformed)?;
        let now = self.clock.now_ms();
        let item = Item::new(key(id))
            .with("account", account)
            .with("kind", input.kind().as_str())
            .with("status", "queued")
            .with("attempts", 0i64)
            .with("lease_until_ms", 0i64)
            .with("input", sealed)
            .with("result_to", result_to.to_vec())
            .with("created_ms", now)
            .with("updated_ms", now)
            .expiring_at(now.div_euclid(1000) + JOB_TTL_SECS);
        match self.store.put(item, Expect::Absent).await {
            Ok(_) => {}
            Err(e) if e.is_condition_failure() => match self.load(id).await? {
                Some(r) if r.account == account && r.kind == input.kind() => {
                    if r.finished {
                        return Ok(());
                    }
                }
                _ => return Err(JobError::Conflict),
            },
            Err(e) => return Err(e.into()),
        }
        self.send(id, Duration::ZERO, Some(&job_key)).await
    }

    /// Uploads the images and queues a document check, all under `flow`'s key for the
    /// job; returns the job id.
    pub async fn submit_document(
        &self,
        account: &str,
        flow: &FlowKey,
        front: &[u8],
        back: &[u8],
        selfie: Option<&[u8]>,
    ) -> Result<String, JobError> {
        let id = self.new_id();
        let key = flow.job(&id);
        self.uploads
            .put(&id, account, Side::Front, front, &key)
            .await?;
        self.uploads
            .put(&id, account, Side::Back, back, &key)
            .await?;
        if let Some(selfie) = selfie {
            self.uploads
                .put(&id, account, Side::Selfie, selfie, &key)
                .await?;
        }
        let input = JobInput::Document {
            selfie: selfie.is_some(),
        };
        self.enqueue(&id, account, &input, flow).await?;
        Ok(id)
    }

    /// Queues identity resolution and the state-ID check of `pii` (SSN included).
    pub async fn enqueue_resolution(
        &self,
        account: &str,
        pii: &Pii,
        flow: &FlowKey,
    ) -> Result<String, JobError> {
        let id = self.new_id();
        let input = JobInput::Resolution { pii: pii.clone() };
        self.enqueue(&id, account, &input, flow).await?;
        Ok(id)
    }

    /// Queues the phone-to-address check of `phone` (E.164) for `pii`.
    pub async fn enqueue_address(
        &self,
        account: &str,
        phone: &str,
        pii: &Pii,
        flow: &FlowKey,
    ) -> Result<String, JobError> {
        let id = self.new_id();
        let input = JobInput::Address {
            phone: phone.to_owned(),
            pii: pii.clone(),
        };
        self.enqueue(&id, account, &input, flow).await?;
        Ok(id)
    }

    /// Queues a letter with `code` to `pii`'s name and address.
    pub async fn enqueue_letter(
        &self,
        account: &str,
        code: &str,
        pii: &Pii,
        flow: &FlowKey,
    ) -> Result<String, JobError> {
        let id = self.new_id();
        let input = JobInput::Letter {
            code: code.to_owned(),
            pii: pii.clone(),
        };
        self.enqueue(&id, account, &input, flow).await?;
        Ok(id)
    }

    /// Job `id` as `account` may see it; `None` when it is unknown, expired, malformed or
    /// another account's.
    pub async fn status(&self, id: &str, account: &str) -> Result<Option<JobView>, JobError> {
        if !is_token(id, JOB_ID_BYTES) {
            return Ok(None);
        }
        let now = self.clock.now_ms();
        Ok(self
            .load(id)
            .await?
            .filter(|r| r.account == account)
            .map(|r| JobView {
                id: r.id.clone(),
                kind: r.kind,
                status: r.status_at(now),
                attempts: r.attempts,
                created_ms: r.created_ms,
            }))
    }

    /// What the vendor read on `account`'s document, once job `id` passed; opened with
    /// `flow`, the key of the session that queued it.
    pub async fn document_result(
        &self,
        id: &str,
        account: &str,
        flow: &FlowKey,
    ) -> Result<Option<Pii>, JobError> {
        let Some(bytes) = self.result(id, account, flow).await? else {
            return Ok(None);
        };
        Pii::from_json(&bytes).map(Some).ok_or(JobError::Malformed)
    }

    /// The sealed result of `account`'s passed job `id`, opened with `flow`.
    pub async fn result(
        &self,
        id: &str,
        account: &str,
        flow: &FlowKey,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, JobError> {
        if !is_token(id, JOB_ID_BYTES) {
            return Ok(None);
        }
        let Some(record) = self.load(id).await?.filter(|r| r.account == account) else {
            return Ok(None);
        };
        let (Some(sealed), "passed") = (record.result.as_deref(), record.status.as_str()) else {
            return Ok(None);
        };
        flow.open_result(id, sealed)
            .map(Some)
            .ok_or(JobError::Malformed)
    }

    pub(crate) async fn load(&self, id: &str) -> Result<Option<JobRecord>, JobError> {
        match self.store.get(&key(id)).await? {
            None => Ok(None),
            Some(item) => JobRecord::from_item(id, &item)
                .map(Some)
                .ok_or(JobError::Malformed),
        }
    }

    /// The job key a message carried, opened by the envelope (the key service's one
    /// call per delivery).
    pub(crate) async fn open_key(&self, id: &str, sealed: &[u8]) -> Result<JobKey, JobError> {
        let bytes = self
            .envelope
            .open(&context(id), &key_record(id), sealed)
            .await?;
        JobKey::from_slice(&bytes).ok_or(JobError::Malformed)
    }

    /// The job's input, opened with its key. A job sealed otherwise (before job keys)
    /// does not open: [`JobError::Malformed`].
    pub(crate) fn open_input(
        &self,
        record: &JobRecord,
        key: &JobKey,
    ) -> Result<JobInput, JobError> {
        let sealed = record.input.as_deref().ok_or(JobError::Malformed)?;
        let json = key
            .open("input", &record.id, sealed)
            .ok_or(JobError::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| JobError::Malformed)
    }

    /// Queues a message naming job `id`, visible after `delay`, with `key` sealed by the
    /// envelope when the message is to run the checks (a watchdog needs none).
    pub(crate) async fn send(
        &self,
        id: &str,
        delay: Duration,
        key: Option<&JobKey>,
    ) -> Result<(), JobError> {
        let body = self.message_body(id, key).await?;
        self.queue.send(&body, delay).await?;
        Ok(())
    }

    /// The queue body naming job `id`, with `key` sealed by the envelope when given.
    pub(crate) async fn message_body(
        &self,
        id: &str,
        key: Option<&JobKey>,
    ) -> Result<String, JobError> {
        let key = match key {
            Some(key) => {
                let sealed = self
                    .envelope
                    .seal(&context(id), &key_record(id), key.bytes())
                    .await?;
                Some(URL_SAFE_NO_PAD.encode(sealed))
            }
            None => None,
        };
        serde_json::to_string(&Message {
            v: 2,
            job: id.to_owned(),
            key,
        })
        .map_err(|_| JobError::Malformed)
    }

    /// Takes the job's lease for one worker run.
    pub(crate) async fn start(&self, id: &str) -> Result<Start, JobError> {
        let now = self.clock.now_ms();
        let update = Update::new(key(id))
            .set("status", "running")
            .set("lease_until_ms", now + LEASE_MS)
            .set("updated_ms", now)
            .add("attempts", 1);
        let expect = Expect::All(vec![
            Check::Missing("finished_ms".into()),
            Check::lt("lease_until_ms", now),
        ]);
        match self.store.update(update, expect).await {
            Ok(item) => JobRecord::from_item(id, &item)
                .map(|r| Start::Started(Box::new(r)))
                .ok_or(JobError::Malformed),
            Err(e) if e.is_condition_failure() => Ok(match self.load(id).await? {
                None => Start::Gone,
                Some(r) if r.finished => Start::Finished,
                Some(_) => Start::Busy,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the lease back (the next delivery may run at once).
    pub(crate) async fn release(&self, id: &str) -> Result<(), JobError> {
        let update = Update::new(key(id)).set("lease_until_ms", 0i64);
        match self
            .store
            .update(
                update,
                Expect::All(vec![Check::Missing("finished_ms".into())]),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_condition_failure() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Notes that the document vendor took the images under `reference`; false when the
    /// job already ended (the callback was faster).
    pub(crate) async fn record_submission(
        &self,
        id: &str,
        reference: &str,
    ) -> Result<bool, JobError> {
        let now = self.clock.now_ms();
        let update = Update::new(key(id))
            .set("vendor_ref", reference)
            .set("submitted_ms", now)
            .set("updated_ms", now)
            .set("lease_until_ms", 0i64);
        match self
            .store
            .update(
                update,
                Expect::All(vec![Check::Missing("finished_ms".into())]),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_condition_failure() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Ends job `id`. Returns whether this call ended it: of two concurrent finishes (a
    /// duplicate delivery, the worker and the callback), exactly one wins and the other
    /// changes nothing. The sealed input goes; a document job's uploads are deleted.
    pub async fn finish(&self, id: &str, how: Finish<'_>) -> Result<bool, JobError> {
        let now = self.clock.now_ms();
        let mut update = Update::new(key(id))
            .set("finished_ms", now)
            .set("updated_ms", now)
            .set("lease_until_ms", 0i64)
            .remove("input");
        match how {
            Finish::Passed(result) => {
                update = update.set("status", "passed");
                if let Some(result) = result {
                    // Sealed to the job's public key: only the flow key opens it.
                    let record = self.load(id).await?.ok_or(JobError::Malformed)?;
                    let recipient = record.result_to.as_deref().ok_or(JobError::Malformed)?;
                    let sealed = seal_result(self.random.as_ref(), recipient, id, result)
                        .ok_or(JobError::Malformed)?;
                    update = update.set("result", sealed);
                }
            }
            Finish::Failed(reason) => {
                update = update.set("status", "failed").set("reason", reason.code());
            }
            Finish::Unavailable => update = update.set("status", "unavailable"),
        }
        let expect = Expect::All(vec![Check::Missing("finished_ms".into())]);
        let item = match self.store.update(update, expect).await {
            Ok(item) => item,
            Err(e) if e.is_condition_failure() => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        if item.str("kind") == Some(JobKind::Document.as_str())
            && let Err(e) = self.uploads.delete_all(id).await
        {
            // They expire within a day anyway.
            tracing::warn!(job = id, error = %e, "the job's uploads were not deleted");
        }
        Ok(true)
    }
}

#[cfg(all(test, feature = "embedded"))]
mod operator_view;

#[cfg(all(test, feature = "embedded"))]
pub(crate) mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::EmbeddedConfig;
    use crate::idv::pii::Address;
    use crate::idv::uploads::samples;
    use crate::services::Services;

    pub(crate) const NOW: i64 = 1_795_392_000_000;

    /// The flow key of the tests' one session.
    pub(crate) fn flow() -> FlowKey {
        FlowKey::from_bytes([7; 32])
    }

    pub(crate) fn services(dir: &std::path::Path, clock: Arc<ManualClock>) -> Services {
        Services::embedded(
            &EmbeddedConfig {
                data_dir: dir.to_owned(),
                max_receives: 3,
            },
            clock,
            Arc::new(crate::random::OsRandom),
        )
        .unwrap()
    }

    pub(crate) fn ada() -> Pii {
        Pii {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            birthdate: "1990-02-28".into(),
            address: Address {
                line1: "1 Main St".into(),
                line2: String::new(),
                city: "Arlington".into(),
                state: "VA".into(),
                zip: "22201".into(),
            },
            id_number: "A1234567".into(),
            id_state: "VA".into(),
            ssn: "900123456".into(),
            phone: String::new(),
            verified_ms: 0,
        }
    }

    #[tokio::test]
    async fn given_a_job_when_enqueued_twice_then_one_item_and_its_id_alone_on_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let jobs = s.proofing();
        let id = jobs.new_id();
        let input = JobInput::Resolution { pii: ada() };
        jobs.enqueue(&id, "acct-1", &input, &flow()).await.unwrap();
        jobs.enqueue(&id, "acct-1", &input, &flow()).await.unwrap();

        let view = jobs.status(&id, "acct-1").await.unwrap().unwrap();
        assert_eq!(
            (view.kind, view.status, view.attempts),
            (JobKind::Resolution, JobStatus::Queued, 0)
        );
        // Another account sees nothing, and cannot take the id
        assert_eq!(jobs.status(&id, "acct-2").await.unwrap(), None);
        assert!(matches!(
            jobs.enqueue(&id, "acct-2", &input, &flow()).await,
            Err(JobError::Conflict)
        ));
        // The queue holds the id and the job's key, sealed: no PII
        let messages = s
            .proofing_queue
            .receive(10, Duration::from_secs(30), Duration::ZERO)
            .await
            .unwrap();
        assert!(!messages.is_empty() && messages.len() <= 2);
        for m in &messages {
            let body: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            let fields: Vec<&str> = body
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(fields, ["job", "key", "v"]);
            assert_eq!(
                (body["v"].as_i64(), body["job"].as_str()),
                (Some(2), Some(id.as_str()))
            );
            let delivery = parse_message(&m.body).unwrap();
            let key = jobs
                .open_key(&id, &delivery.sealed_key.unwrap())
                .await
                .unwrap();
            assert_eq!(key.bytes(), flow().job(&id).bytes());
        }
        // And the item holds the input sealed
        let item = s.store.get(&key(&id)).await.unwrap().unwrap();
        let sealed = item.bytes("input").unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"Lovelace"));
        assert!(!sealed.windows(9).any(|w| w == b"900123456"));
    }

    #[tokio::test]
    async fn given_two_concurrent_finishes_when_they_race_then_exactly_one_has_an_effect() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let jobs = s.proofing();
        for round in 0..10 {
            let id = jobs.new_id();
            jobs.enqueue(&id, "acct-1", &JobInput::Resolution { pii: ada() }, &flow())
                .await
                .unwrap();
            let (a, b) = (jobs.clone(), jobs.clone());
            let (ida, idb) = (id.clone(), id.clone());
            let pass = tokio::spawn(async move { a.finish(&ida, Finish::Passed(None)).await });
            let fail = tokio::spawn(async move {
                b.finish(&idb, Finish::Failed(FailReason::IdentityNotFound))
                    .await
            });
            let (passed, failed) = (pass.await.unwrap().unwrap(), fail.await.unwrap().unwrap());
            assert!(passed ^ failed, "round {round}: exactly one finish wins");
            let status = jobs.status(&id, "acct-1").await.unwrap().unwrap().status;
            let expected = if passed {
                JobStatus::Passed
            } else {
                JobStatus::Failed(FailReason::IdentityNotFound)
            };
            assert_eq!(
                status, expected,
                "round {round}: the winner's outcome stays"
            );
            // The input is gone with the job's end
            let item = s.store.get(&key(&id)).await.unwrap().unwrap();
            assert!(item.get("input").is_none());
        }
    }

    #[tokio::test]
    async fn given_a_document_job_when_it_ends_then_its_uploads_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let jobs = s.proofing();
        let id = jobs
            .submit_document(
                "acct-1",
                &flow(),
                &samples::png("x", None),
                &samples::jpeg(None),
                None,
            )
            .await
            .unwrap();
        assert!(
            jobs.uploads()
                .get(&id, Side::Front, &flow().job(&id))
                .await
                .unwrap()
                .is_some()
        );
        let pii = ada();
        assert!(
            jobs.finish(&id, Finish::Passed(Some(&pii.to_json())))
                .await
                .unwrap()
        );
        assert_eq!(jobs.uploads().sides(&id, "acct-1").await.unwrap(), vec![]);
        assert!(
            jobs.uploads()
                .get(&id, Side::Back, &flow().job(&id))
                .await
                .unwrap()
                .is_none()
        );
        // The result opens for its owner only
        let read = jobs
            .document_result(&id, "acct-1", &flow())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.family_name, "Lovelace");
        assert!(
            jobs.document_result(&id, "acct-2", &flow())
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn given_no_back_image_when_a_document_job_is_enqueued_then_it_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let jobs = s.proofing();
        let id = jobs.new_id();
        jobs.uploads()
            .put(
                &id,
                "acct-1",
                Side::Front,
                &samples::jpeg(None),
                &flow().job(&id),
            )
            .await
            .unwrap();
        let err = jobs
            .enqueue(
                &id,
                "acct-1",
                &JobInput::Document { selfie: false },
                &flow(),
            )
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            JobError::Upload(UploadError::Missing(Side::Back))
        ));
        // And another account cannot upload into this job
        assert!(matches!(
            jobs.uploads()
                .put(
                    &id,
                    "acct-2",
                    Side::Front,
                    &samples::jpeg(None),
                    &flow().job(&id)
                )
                .await,
            Err(UploadError::OtherAccount)
        ));
    }

    #[tokio::test]
    async fn given_a_large_image_when_stored_then_it_is_chunked_sealed_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let jobs = s.proofing();
        let id = jobs.new_id();
        // A 1.2 MB "photo" with a recognisable pattern
        let mut image = vec![0xFF, 0xD8, 0xFF, 0xE0];
        image.extend((0..1_200_000u32).map(|i| b"DISTINCTIVE"[(i % 11) as usize]));
        image.extend_from_slice(&[0xFF, 0xD9]);
        jobs.uploads()
            .put(&id, "acct-1", Side::Front, &image, &flow().job(&id))
            .await
            .unwrap();
        let manifest = s
            .store
            .get(&Key::new(format!("UPLOAD#{id}"), "front"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(manifest.num("chunks"), Some(4));
        let back = jobs
            .uploads()
            .get(&id, Side::Front, &flow().job(&id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.as_slice(), image.as_slice());
        // Replacing it leaves one generation of chunks
        jobs.uploads()
            .put(
                &id,
                "acct-1",
                Side::Front,
                &samples::jpeg(None),
                &flow().job(&id),
            )
            .await
            .unwrap();
        let items = s
            .store
            .query(&crate::store::Query::partition(format!("UPLOAD#{id}")))
            .await
            .unwrap()
            .items;
        assert_eq!(items.len(), 2, "the manifest and one chunk");
        for item in items {
            if let Some(data) = item.bytes("data") {
                assert!(!data.windows(11).any(|w| w == b"DISTINCTIVE"));
            }
        }
    }
}
