//! Signed vendor callbacks (IDV-2): the document vendor posts its result to
//! `POST /vendor/callback/document` (the `proofing-callback` function; the local stack mounts
//! the same router).
//!
//! Authentication: header `Passerelle-Signature: t=<unix seconds>,v1=<hex>` where `v1` is
//! HMAC-SHA256 over `t + "." + body` under a shared secret. During a rotation two secrets
//! are accepted (`PASSERELLE_VENDOR_CALLBACK_SECRETS=new,old`), and a sender may put one
//! `v1=` per secret. The comparison is constant-time. A timestamp more than
//! [`MAX_AGE_SECS`] old or [`MAX_AHEAD_SECS`] ahead is refused, and so is a signature seen
//! before: each accepted one is recorded by a conditional put of `CALLBACK#<sha256 of the
//! signature>` (sk `CALLBACK`, expiring when its timestamp would be refused anyway).
//!
//! Answers are JSON and never repeat the body: 200 `{"status":"accepted"}` (or
//! `"already_finished"`: the job had ended, nothing changed), 400 `malformed`, 401
//! `missing_signature` / `bad_signature` / `stale_timestamp` / `future_timestamp`, 404
//! `unknown_job`, 409 `replay`, 413 when the body is over [`MAX_BODY_BYTES`], 503
//! `unavailable` (the vendor should retry later, signing again).

use std::sync::Arc;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::jobs::{FailReason, Finish, JobError, JobKind, Jobs};
use super::vendors::wire::DocumentCallback;
use crate::config::CALLBACK_SECRET_LEN;
use crate::random::is_token;
use crate::store::{Expect, Item, Key, StoreError};

pub const SIGNATURE_HEADER: &str = "passerelle-signature";
/// Where the document vendor posts its results.
pub const DOCUMENT_CALLBACK_PATH: &str = "/vendor/callback/document";
/// Older timestamps are refused: 5 minutes.
pub const MAX_AGE_SECS: i64 = 300;
/// Timestamps further ahead are refused (clock skew): 1 minute.
pub const MAX_AHEAD_SECS: i64 = 60;
/// A callback body is a few kilobytes; more is refused unread.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

type HmacSha256 = hmac::Hmac<Sha256>;

/// One or two callback secrets, the newest first. `Debug` shows none.
#[derive(Clone)]
pub struct CallbackSecrets(Vec<Zeroizing<Vec<u8>>>);

impl std::fmt::Debug for CallbackSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CallbackSecrets({} [redacted])", self.0.len())
    }
}

impl CallbackSecrets {
    /// One or two secrets of 32 to 256 bytes; `None` otherwise.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Option<Self> {
        if secrets.is_empty() || secrets.len() > 2 {
            return None;
        }
        let keys: Vec<Zeroizing<Vec<u8>>> = secrets
            .iter()
            .map(|s| Zeroizing::new(s.as_ref().as_bytes().to_vec()))
            .collect();
        keys.iter()
            .all(|k| CALLBACK_SECRET_LEN.contains(&k.len()))
            .then_some(Self(keys))
    }

    /// The secrets `PASSERELLE_VENDOR_CALLBACK_SECRETS` holds; its absence is an error
    /// naming it.
    pub fn from_config(
        config: &crate::config::VendorConfig,
    ) -> Result<Self, crate::config::ConfigError> {
        let secrets = config.callback_secrets()?;
        // The configuration has checked their number and lengths.
        Self::new(secrets).ok_or_else(|| crate::config::ConfigError {
            variable: "PASSERELLE_VENDOR_CALLBACK_SECRETS",
            value: "[redacted]".into(),
            expected: "one or two comma-separated secrets of 32 to 256 characters",
        })
    }

    /// The header value a sender puts on `body` at `timestamp`, signed with the newest
    /// secret (what a vendor, or the mock vendor, does).
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let mac = mac(&self.0[0], timestamp, body);
        format!("t={timestamp},v1={}", hex(&mac))
    }
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("the signature header is missing or malformed")]
    MissingSignature,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the timestamp is too old")]
    StaleTimestamp,
    #[error("the timestamp is in the future")]
    FutureTimestamp,
    #[error("this signature was already used")]
    Replay,
    #[error("the body is not a callback")]
    Malformed,
    #[error("no such job")]
    UnknownJob,
    #[error("the callback could not be recorded: {0}")]
    Unavailable(String),
}

impl CallbackError {
    /// The code in the JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::MissingSignature => "missing_signature",
            CallbackError::BadSignature => "bad_signature",
            CallbackError::StaleTimestamp => "stale_timestamp",
            CallbackError::FutureTimestamp => "future_timestamp",
            CallbackError::Replay => "replay",
            CallbackError::Malformed => "malformed",
            CallbackError::UnknownJob => "unknown_job",
            CallbackError::Unavailable(_) => "unavailable",
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            CallbackError::MissingSignature
            | CallbackError::BadSignature
            | CallbackError::StaleTimestamp
            | CallbackError::FutureTimestamp => 401,
            CallbackError::Replay => 409,
            CallbackError::Malformed => 400,
            CallbackError::UnknownJob => 404,
            CallbackError::Unavailable(_) => 503,
        }
    }
}

impl From<StoreError> for CallbackError {
    fn from(e: StoreError) -> Self {
        CallbackError::Unavailable(e.to_string())
    }
}

impl From<JobError> for CallbackError {
    fn from(e: JobError) -> Self {
        CallbackError::Unavailable(e.to_string())
    }
}

/// A verified signature: its timestamp, and the MAC that matched (the replay key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub timestamp: i64,
    pub mac: [u8; 32],
}

/// Checks `header` against `body` at `now_secs`: the timestamp's window, then each `v1`
/// against each secret in constant time.
pub fn verify(
    secrets: &CallbackSecrets,
    header: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<Verified, CallbackError> {
    let header = header.ok_or(CallbackError::MissingSignature)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) if t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) => {
                timestamp = t.parse::<i64>().ok();
            }
            Some(("v1", v)) => candidates.push(unhex32(v).ok_or(CallbackError::MissingSignature)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(CallbackError::MissingSignature)?;
    if candidates.is_empty() || candidates.len() > 4 {
        return Err(CallbackError::MissingSignature);
    }
    if timestamp < now_secs - MAX_AGE_SECS {
        return Err(CallbackError::StaleTimestamp);
    }
    if timestamp > now_secs + MAX_AHEAD_SECS {
        return Err(CallbackError::FutureTimestamp);
    }
    let mut found = None;
    for secret in &secrets.0 {
        let expected = mac(secret, timestamp, body);
        for candidate in &candidates {
            if bool::from(expected.ct_eq(candidate)) {
                found = Some(expected);
            }
        }
    }
    found
        .map(|mac| Verified { timestamp, mac })
        .ok_or(CallbackError::BadSignature)
}

/// What an accepted callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// The job ended with this callback.
    Finished,
    /// The job had already ended; nothing changed.
    AlreadyFinished,
}

/// The callback endpoint's logic, without HTTP.
#[derive(Debug, Clone)]
pub struct Callbacks {
    jobs: Jobs,
    secrets: Arc<CallbackSecrets>,
}

impl Callbacks {
    pub fn new(jobs: Jobs, secrets: CallbackSecrets) -> Self {
        Self {
            jobs,
            secrets: Arc::new(secrets),
        }
    }

    /// A document vendor's result: verified, recorded against replays, applied once.
    pub async fn document(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Accepted, CallbackError> {
        let now = self.jobs.clock().now_secs();
        let verified = verify(&self.secrets, signature, body, now)?;
        let mut callback: DocumentCallback =
            serde_json::from_slice(body).map_err(|_| CallbackError::Malformed)?;
        if !is_token(&callback.client_ref, super::jobs::JOB_ID_BYTES) {
            return Err(CallbackError::Malformed);
        }
        self.remember(&verified).await?;
        let id = callback.client_ref.clone();
        let Some(job) = self.jobs.load(&id).await? else {
            return Err(CallbackError::UnknownJob);
        };
        if job.kind != JobKind::Document {
            return Err(CallbackError::UnknownJob);
        }
        if job
            .vendor_ref
            .as_deref()
            .is_some_and(|r| r != callback.reference)
        {
            // A result for an earlier submission of the same job; keep the current one.
            tracing::warn!(job = %id, "a callback named another submission; ignored");
            return Ok(Accepted::AlreadyFinished);
        }
        if job.finished {
            return Ok(Accepted::AlreadyFinished);
        }
        let extracted = callback.extracted.take();
        let finished = match (callback.authentic, callback.selfie_match, extracted) {
            (false, _, _) => {
                self.jobs
                    .finish(&id, Finish::Failed(FailReason::DocumentNotAuthentic))
                    .await?
            }
            (true, Some(false), _) => {
                self.jobs
                    .finish(&id, Finish::Failed(FailReason::SelfieMismatch))
                    .await?
            }
            (true, _, None) => {
                self.jobs
                    .finish(&id, Finish::Failed(FailReason::DocumentUnreadable))
                    .await?
            }
            (true, _, Some(mut pii)) => {
                pii.normalise();
                pii.ssn.clear();
                pii.phone.clear();
                pii.verified_ms = 0;
                self.jobs
                    .finish(&id, Finish::Passed(Some(&pii.to_json())))
                    .await?
            }
        };
        tracing::info!(job = %id, finished, "document callback applied");
        Ok(if finished {
            Accepted::Finished
        } else {
            Accepted::AlreadyFinished
        })
    }

    /// Records the signature; a second sight of it is a replay.
    async fn remember(&self, verified: &Verified) -> Result<(), CallbackError> {
        let digest = hex(&Sha256::digest(verified.mac));
        let item = Item::new(Key::new(format!("CALLBACK#{digest}"), "CALLBACK"))
            .with("timestamp", verified.timestamp)
            .expiring_at(verified.timestamp + MAX_AGE_SECS + MAX_AHEAD_SECS);
        match self.jobs.store().put(item, Expect::Absent).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_condition_failure() => Err(CallbackError::Replay),
            Err(e) => Err(e.into()),
        }
    }
}

/// The callback endpoint as an axum router: `POST /vendor/callback/document`.
#[cfg(feature = "api")]
pub fn router(callbacks: Callbacks) -> axum::Router {
    use axum::body::Bytes;
    use axum::extract::{DefaultBodyLimit, State};
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;

    fn json(status: StatusCode, field: &str, value: &str) -> Response {
        let body = serde_json::json!({ field: value }).to_string();
        (
            status,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    }

    async fn document(
        State(callbacks): State<Arc<Callbacks>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        match callbacks.document(signature, &body).await {
            Ok(Accepted::Finished) => json(StatusCode::OK, "status", "accepted"),
            Ok(Accepted::AlreadyFinished) => json(StatusCode::OK, "status", "already_finished"),
            Err(e) => {
                if let CallbackError::Unavailable(detail) = &e {
                    tracing::warn!(error = %detail, "a callback could not be applied");
                } else {
                    tracing::info!(error = e.code(), "a callback was refused");
                }
                let status =
                    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                json(status, "error", e.code())
            }
        }
    }

    axum::Router::new()
        .route(DOCUMENT_CALLBACK_PATH, post(document))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(callbacks))
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::idv::jobs::tests::{NOW, ada, flow, services};
    use crate::idv::jobs::{JobInput, JobStatus};
    use crate::idv::uploads::samples;
    use crate::services::Services;

    const SECRET: &str = "a-callback-secret-of-at-least-32-bytes!";
    const OLD_SECRET: &str = "the-previous-secret-still-accepted-now";

    struct World {
        _dir: tempfile::TempDir,
        services: Services,
        clock: Arc<ManualClock>,
        callbacks: Callbacks,
        job: String,
    }

    async fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_ms(NOW));
        let services = services(dir.path(), clock.clone());
        let jobs = services.proofing();
        let job = jobs
            .submit_document(
                "acct-1",
                &flow(),
                &samples::jpeg(None),
                &samples::jpeg(None),
                None,
            )
            .await
            .unwrap();
        let callbacks = Callbacks::new(jobs, CallbackSecrets::new(&[SECRET, OLD_SECRET]).unwrap());
        World {
            _dir: dir,
            services,
            clock,
            callbacks,
            job,
        }
    }

    fn body(job: &str, authentic: bool) -> Vec<u8> {
        let extracted = serde_json::to_value(ada()).unwrap();
        serde_json::to_vec(&serde_json::json!({
            "client_ref": job,
            "reference": "ref-1",
            "authentic": authentic,
            "extracted": extracted,
        }))
        .unwrap()
    }

    fn signed_with(secret: &str, t: i64, body: &[u8]) -> String {
        CallbackSecrets::new(&[secret]).unwrap().sign(t, body)
    }

    fn now_secs() -> i64 {
        NOW / 1000
    }

    async fn status(w: &World) -> JobStatus {
        w.services
            .proofing()
            .status(&w.job, "acct-1")
            .await
            .unwrap()
            .unwrap()
            .status
    }

    #[tokio::test]
    async fn given_a_good_signature_when_the_result_arrives_then_the_job_passes_with_the_data() {
        let w = world().await;
        let b = body(&w.job, true);
        let sig = signed_with(SECRET, now_secs(), &b);
        assert_eq!(
            w.callbacks.document(Some(&sig), &b).await.unwrap(),
            Accepted::Finished
        );
        assert_eq!(status(&w).await, JobStatus::Passed);
        let pii = w
            .services
            .proofing()
            .document_result(&w.job, "acct-1", &flow())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pii.given_name, "Ada");
        assert_eq!(pii.ssn, "", "a document never brings an SSN");
        // The images are gone with the job's end
        assert!(
            w.services
                .proofing()
                .uploads()
                .sides(&w.job, "acct-1")
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn given_a_bad_signature_when_posted_then_it_is_refused_and_nothing_changes() {
        let w = world().await;
        let b = body(&w.job, true);
        // Signed with an unknown secret, or over another body
        let wrong = signed_with("an-attacker-guess-of-32-bytes-long!!", now_secs(), &b);
        let err = w.callbacks.document(Some(&wrong), &b).await.unwrap_err();
        assert!(matches!(err, CallbackError::BadSignature));
        let other = signed_with(SECRET, now_secs(), &body(&w.job, false));
        assert!(matches!(
            w.callbacks.document(Some(&other), &b).await,
            Err(CallbackError::BadSignature)
        ));
        assert!(matches!(
            w.callbacks.document(None, &b).await,
            Err(CallbackError::MissingSignature)
        ));
        assert!(matches!(
            w.callbacks.document(Some("t=1,v1=zz"), &b).await,
            Err(CallbackError::MissingSignature)
        ));
        assert_eq!(status(&w).await, JobStatus::Queued);
    }

    #[tokio::test]
    async fn given_an_old_timestamp_when_posted_then_it_is_stale() {
        let w = world().await;
        let b = body(&w.job, true);
        let sig = signed_with(SECRET, now_secs() - MAX_AGE_SECS - 1, &b);
        let err = w.callbacks.document(Some(&sig), &b).await.unwrap_err();
        assert!(matches!(err, CallbackError::StaleTimestamp));
        assert_eq!(err.status(), 401);
        // At the edge of the window it is still fine
        let sig = signed_with(SECRET, now_secs() - MAX_AGE_SECS, &b);
        assert!(w.callbacks.document(Some(&sig), &b).await.is_ok());
    }

    #[tokio::test]
    async fn given_a_future_timestamp_when_posted_then_it_is_refused() {
        let w = world().await;
        let b = body(&w.job, true);
        let sig = signed_with(SECRET, now_secs() + MAX_AHEAD_SECS + 1, &b);
        assert!(matches!(
            w.callbacks.document(Some(&sig), &b).await,
            Err(CallbackError::FutureTimestamp)
        ));
        assert_eq!(status(&w).await, JobStatus::Queued);
    }

    #[tokio::test]
    async fn given_a_replayed_callback_when_posted_again_then_it_is_refused() {
        let w = world().await;
        let b = body(&w.job, false);
        let sig = signed_with(SECRET, now_secs(), &b);
        assert_eq!(
            w.callbacks.document(Some(&sig), &b).await.unwrap(),
            Accepted::Finished
        );
        w.clock.advance_ms(10_000);
        let err = w.callbacks.document(Some(&sig), &b).await.unwrap_err();
        assert!(matches!(err, CallbackError::Replay));
        assert_eq!(err.status(), 409);
        // A fresh signature of the same result changes nothing either
        let again = signed_with(SECRET, now_secs() + 10, &b);
        assert_eq!(
            w.callbacks.document(Some(&again), &b).await.unwrap(),
            Accepted::AlreadyFinished
        );
        assert_eq!(
            status(&w).await,
            JobStatus::Failed(FailReason::DocumentNotAuthentic)
        );
    }

    #[tokio::test]
    async fn given_a_rotation_when_the_vendor_signs_with_the_old_secret_then_it_is_accepted() {
        let w = world().await;
        let b = body(&w.job, true);
        let sig = signed_with(OLD_SECRET, now_secs(), &b);
        assert_eq!(
            w.callbacks.document(Some(&sig), &b).await.unwrap(),
            Accepted::Finished
        );
        // And a header carrying both signatures (one per secret) is accepted too
        let w = world().await;
        let b = body(&w.job, true);
        let t = now_secs();
        let new = signed_with(SECRET, t, &b);
        let old = signed_with(OLD_SECRET, t, &b);
        let both = format!("{new},{}", old.split_once(',').unwrap().1);
        assert!(w.callbacks.document(Some(&both), &b).await.is_ok());
    }

    #[tokio::test]
    async fn given_an_unknown_job_when_a_signed_result_arrives_then_it_is_not_found() {
        let w = world().await;
        let unknown = w.services.proofing().new_id();
        let b = body(&unknown, true);
        let sig = signed_with(SECRET, now_secs(), &b);
        let err = w.callbacks.document(Some(&sig), &b).await.unwrap_err();
        assert!(matches!(err, CallbackError::UnknownJob));
        assert_eq!((err.status(), err.code()), (404, "unknown_job"));
        // A job of another kind is unknown to this endpoint as well
        let jobs = w.services.proofing();
        let other = jobs.new_id();
        jobs.enqueue(
            &other,
            "acct-1",
            &JobInput::Resolution { pii: ada() },
            &flow(),
        )
        .await
        .unwrap();
        let b = body(&other, true);
        let sig = signed_with(SECRET, now_secs(), &b);
        assert!(matches!(
            w.callbacks.document(Some(&sig), &b).await,
            Err(CallbackError::UnknownJob)
        ));
    }

    #[test]
    fn given_secrets_when_too_short_or_too_many_then_they_are_refused() {
        assert!(CallbackSecrets::new(&["short"]).is_none());
        assert!(CallbackSecrets::new::<&str>(&[]).is_none());
        assert!(CallbackSecrets::new(&[SECRET, SECRET, SECRET]).is_none());
        assert!(!format!("{:?}", CallbackSecrets::new(&[SECRET]).unwrap()).contains("secret"));
    }
}
