//! The proofing worker: one queue message names one job and carries its key (sealed by
//! the envelope). The worker loads the job, takes its lease, opens the key (one key-service
//! call) and with it the input and images, calls the vendors, and writes the outcome
//! conditionally. The key lives in the worker's memory for that delivery only.
//!
//! | What happens | Job | Message |
//! | --- | --- | --- |
//! | checks answered | passed / failed | deleted |
//! | document images accepted by the vendor | running, waiting for the callback; a watchdog message is queued for the callback deadline | deleted |
//! | watchdog after the deadline, no callback | unavailable | deleted |
//! | vendor unavailable (timeouts, 5xx, down), not the last receive | lease released | back after the visibility timeout |
//! | vendor unavailable on the last receive | unavailable | left to the dead-letter queue |
//! | vendor refused the request (4xx) | failed (`vendor_rejected`) | deleted |
//! | another worker holds the lease | unchanged | back later |
//! | job finished, or gone (expired) | unchanged | deleted |
//! | body unreadable | — | back, then the dead-letter queue |
//! | no key, or one that opens nothing (queued before job keys) | unavailable | deleted |

use std::time::Duration;

use async_trait::async_trait;

use super::job_key::JobKey;
use super::{
    CALLBACK_DEADLINE_MS, Delivery, FailReason, Finish, JobError, JobInput, JobKind, JobRecord,
    Jobs, Start, parse_message,
};
use crate::idv::uploads::{Side, UploadError};
use crate::idv::vendors::{DocumentImages, VendorError, Vendors, Verdict};
use crate::queue::MAX_DELAY;
use crate::queue::consumer::{JobHandler, Outcome};

#[derive(Debug, Clone)]
pub struct ProofingWorker {
    pub jobs: Jobs,
    pub vendors: Vendors,
    /// The queue's receives before the dead-letter queue: the delivery with this count is
    /// the job's last attempt.
    pub max_receives: u32,
}

/// What one run of the checks came to.
enum Step {
    Finished(Finish<'static>),
    /// The document vendor took the images; its answer comes by callback.
    Submitted(String),
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Vendor(#[from] VendorError),
    #[error(transparent)]
    Job(#[from] JobError),
}

impl From<UploadError> for RunError {
    fn from(e: UploadError) -> Self {
        RunError::Job(JobError::Upload(e))
    }
}

impl ProofingWorker {
    /// Handles one delivery of `body`, the `receive_count`-th (1 on the first).
    pub async fn run(&self, body: &str, receive_count: u32) -> Outcome {
        let Some(Delivery {
            job: id,
            sealed_key,
        }) = parse_message(body)
        else {
            tracing::warn!("an unreadable proofing message; kept for the dead-letter queue");
            return Outcome::Retry;
        };
        let record = match self.jobs.load(&id).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                tracing::info!(job = %id, "the job is gone (expired); message dropped");
                return Outcome::Drop;
            }
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "the job could not be read; will retry");
                return Outcome::Retry;
            }
        };
        if record.finished {
            return Outcome::Done;
        }
        if record.kind == JobKind::Document && record.vendor_ref.is_some() {
            return self.await_callback(&record).await;
        }
        let Some(sealed_key) = sealed_key else {
            // Only the page that queued the job had its key; without it nothing opens.
            tracing::error!(job = %id, "a proofing message without the job's key: the job is unavailable");
            return self.finish(&id, Finish::Unavailable).await;
        };
        let key = match self.jobs.open_key(&id, &sealed_key).await {
            Ok(key) => key,
            Err(JobError::Malformed) => {
                tracing::error!(job = %id, "the message's key is malformed: the job is unavailable");
                return self.finish(&id, Finish::Unavailable).await;
            }
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "the job's key could not be opened; will retry");
                return Outcome::Retry;
            }
        };
        let started = match self.jobs.start(&id).await {
            Ok(Start::Started(r)) => r,
            Ok(Start::Finished | Start::Gone) => return Outcome::Done,
            Ok(Start::Busy) => {
                tracing::info!(job = %id, "another worker holds the job; will retry");
                return Outcome::Retry;
            }
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "the job could not be started; will retry");
                return Outcome::Retry;
            }
        };
        let last = receive_count >= self.max_receives;
        match self.checks(&started, &key).await {
            Ok(Step::Finished(how)) => self.finish(&id, how).await,
            Ok(Step::Submitted(reference)) => self.submitted(&id, &reference).await,
            Err(RunError::Vendor(VendorError::Rejected(why))) => {
                tracing::error!(job = %id, error = %why, "a vendor refused the request");
                self.finish(&id, Finish::Failed(FailReason::VendorRejected))
                    .await
            }
            Err(RunError::Job(JobError::Upload(UploadError::Missing(side)))) => {
                tracing::warn!(job = %id, side = %side, "the job's image is gone");
                self.finish(&id, Finish::Unavailable).await
            }
            Err(RunError::Job(JobError::Malformed | JobError::Upload(UploadError::Sealing))) => {
                tracing::error!(job = %id, "the job's input does not open with its key: unavailable");
                self.finish(&id, Finish::Unavailable).await
            }
            Err(e) if last => {
                tracing::error!(
                    job = %id,
                    receive_count,
                    error = %e,
                    "last attempt failed: the job is unavailable, the message goes to the dead-letter queue"
                );
                if let Err(e) = self.jobs.finish(&id, Finish::Unavailable).await {
                    tracing::error!(job = %id, error = %e, "the job could not be marked unavailable");
                }
                Outcome::Retry
            }
            Err(e) => {
                tracing::warn!(job = %id, receive_count, error = %e, "the checks failed; will retry");
                if let Err(e) = self.jobs.release(&id).await {
                    tracing::warn!(job = %id, error = %e, "the lease was not released");
                }
                Outcome::Retry
            }
        }
    }

    async fn checks(&self, record: &JobRecord, key: &JobKey) -> Result<Step, RunError> {
        let input = self.jobs.open_input(record, key)?;
        let v = &self.vendors;
        let step = match &input {
            JobInput::Document { selfie } => {
                let uploads = self.jobs.uploads();
                let get = |side: Side| async move {
                    uploads
                        .get(&record.id, side, key)
                        .await?
                        .ok_or(UploadError::Missing(side))
                };
                let front = get(Side::Front).await?;
                let back = get(Side::Back).await?;
                let selfie = match selfie {
                    true => Some(get(Side::Selfie).await?),
                    false => None,
                };
                let images = DocumentImages {
                    front: &front,
                    back: &back,
                    selfie: selfie.as_deref().map(Vec::as_slice),
                };
                Step::Submitted(v.document.submit(&record.id, images).await?)
            }
            JobInput::Resolution { pii } => {
                if v.resolution.resolve(pii).await? == Verdict::Fail {
                    Step::Finished(Finish::Failed(FailReason::IdentityNotFound))
                } else if v.state_id.check_state_id(pii).await? == Verdict::Fail {
                    Step::Finished(Finish::Failed(FailReason::StateIdMismatch))
                } else {
                    Step::Finished(Finish::Passed(None))
                }
            }
            JobInput::Address { phone, pii } => match v.address.check_phone(phone, pii).await? {
                Verdict::Pass => Step::Finished(Finish::Passed(None)),
                Verdict::Fail => Step::Finished(Finish::Failed(FailReason::PhoneUnverifiable)),
            },
            JobInput::Letter { code, pii } => {
                let reference = v.letter.send_letter(&record.id, pii, code).await?;
                tracing::info!(job = %record.id, reference = %reference, "letter sent");
                Step::Finished(Finish::Passed(None))
            }
        };
        Ok(step)
    }

    async fn finish(&self, id: &str, how: Finish<'_>) -> Outcome {
        match self.jobs.finish(id, how).await {
            Ok(true) => {
                tracing::info!(job = id, outcome = ?how, "job finished");
                Outcome::Done
            }
            Ok(false) => Outcome::Done,
            Err(e) => {
                tracing::warn!(job = id, error = %e, "the outcome could not be written; will retry");
                let _ = self.jobs.release(id).await;
                Outcome::Retry
            }
        }
    }

    /// The vendor has the images: note its reference, and queue a watchdog for the
    /// callback deadline.
    async fn submitted(&self, id: &str, reference: &str) -> Outcome {
        match self.jobs.record_submission(id, reference).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Done, // the callback already ended it
            Err(e) => {
                tracing::warn!(job = id, error = %e, "the submission could not be noted; will retry");
                let _ = self.jobs.release(id).await;
                return Outcome::Retry;
            }
        }
        tracing::info!(
            job = id,
            reference,
            "document submitted; waiting for the callback"
        );
        self.watch(id, CALLBACK_DEADLINE_MS).await
    }

    /// A message for a document job the vendor already has: past the deadline the job
    /// is unavailable; before it, a watchdog is (re)queued for the deadline.
    async fn await_callback(&self, record: &JobRecord) -> Outcome {
        let deadline = record.submitted_ms.unwrap_or(record.created_ms) + CALLBACK_DEADLINE_MS;
        let left = deadline - self.jobs.clock().now_ms();
        if left <= 0 {
            tracing::error!(job = %record.id, "no callback came from the document vendor in time");
            return self.finish(&record.id, Finish::Unavailable).await;
        }
        self.watch(&record.id, left).await
    }

    async fn watch(&self, id: &str, in_ms: i64) -> Outcome {
        let delay = Duration::from_millis(u64::try_from(in_ms).unwrap_or(0)).min(MAX_DELAY);
        match self.jobs.send(id, delay, None).await {
            Ok(()) => Outcome::Done,
            Err(e) => {
                // This delivery comes back and queues the watchdog then.
                tracing::warn!(job = id, error = %e, "the watchdog was not queued; will retry");
                Outcome::Retry
            }
        }
    }
}

#[async_trait]
impl JobHandler for ProofingWorker {
    fn name(&self) -> &'static str {
        "proofing"
    }

    async fn handle(&self, _message_id: &str, body: &str) -> Outcome {
        self.run(body, 1).await
    }

    async fn handle_delivery(&self, _message_id: &str, body: &str, receive_count: u32) -> Outcome {
        self.run(body, receive_count).await
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::super::JobStatus;
    use super::super::job_key::FlowKey;
    use super::super::tests::{NOW, ada, flow, services};
    use super::*;
    use crate::clock::ManualClock;
    use crate::idv::pii::Pii;
    use crate::idv::uploads::samples;
    use crate::idv::vendors::{
        AddressVendor, DocumentVendor, LetterVendor, ResolutionVendor, StateIdVendor,
    };

    /// Answers by data like the mock vendors, counts calls, and can be down or slow.
    #[derive(Debug, Default)]
    struct Fake {
        down: bool,
        calls: AtomicUsize,
        slow: bool,
    }

    impl Fake {
        async fn call(&self) -> Result<(), VendorError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.slow {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            if self.down {
                Err(VendorError::Unavailable("down".into()))
            } else {
                Ok(())
            }
        }
    }

    #[async_trait]
    impl DocumentVendor for Fake {
        async fn submit(&self, _: &str, _: DocumentImages<'_>) -> Result<String, VendorError> {
            self.call().await.map(|()| "ref-1".into())
        }
    }
    #[async_trait]
    impl ResolutionVendor for Fake {
        async fn resolve(&self, pii: &Pii) -> Result<Verdict, VendorError> {
            self.call().await?;
            Ok(if pii.ssn.starts_with("900") {
                Verdict::Pass
            } else {
                Verdict::Fail
            })
        }
    }
    #[async_trait]
    impl StateIdVendor for Fake {
        async fn check_state_id(&self, pii: &Pii) -> Result<Verdict, VendorError> {
            self.call().await?;
            Ok(if pii.id_number == "00000000" {
                Verdict::Fail
            } else {
                Verdict::Pass
            })
        }
    }
    #[async_trait]
    impl AddressVendor for Fake {
        async fn check_phone(&self, phone: &str, _: &Pii) -> Result<Verdict, VendorError> {
            self.call().await?;
            Ok(if phone == "+17035555555" {
                Verdict::Fail
            } else {
                Verdict::Pass
            })
        }
    }
    #[async_trait]
    impl LetterVendor for Fake {
        async fn send_letter(&self, _: &str, _: &Pii, _: &str) -> Result<String, VendorError> {
            self.call().await.map(|()| "letter-1".into())
        }
    }

    fn worker(s: &crate::services::Services, fake: Arc<Fake>) -> ProofingWorker {
        s.proofing_worker(Vendors::all(fake))
    }

    /// The message the page queued for job `id` (its key sealed by the deployment).
    async fn message(s: &crate::services::Services, id: &str) -> String {
        s.proofing()
            .message_body(id, Some(&flow().job(id)))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn given_a_state_id_of_zeros_when_the_worker_runs_then_the_job_fails_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let fake = Arc::new(Fake::default());
        let w = worker(&s, fake.clone());
        let mut pii = ada();
        pii.id_number = "00000000".into();
        let id = s
            .proofing()
            .enqueue_resolution("acct-1", &pii, &flow())
            .await
            .unwrap();

        assert_eq!(w.run(&message(&s, &id).await, 1).await, Outcome::Done);
        // A duplicate delivery changes nothing and calls no vendor
        assert_eq!(w.run(&message(&s, &id).await, 1).await, Outcome::Done);
        let view = s.proofing().status(&id, "acct-1").await.unwrap().unwrap();
        assert_eq!(view.status, JobStatus::Failed(FailReason::StateIdMismatch));
        assert_eq!(view.attempts, 1);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2, "resolution, state ID");
    }

    #[tokio::test]
    async fn given_two_concurrent_deliveries_when_both_run_then_the_vendors_are_called_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let fake = Arc::new(Fake {
            slow: true,
            ..Fake::default()
        });
        let w = worker(&s, fake.clone());
        let id = s
            .proofing()
            .enqueue_resolution("acct-1", &ada(), &flow())
            .await
            .unwrap();

        let (a, b) = (w.clone(), w.clone());
        let (ba, bb) = (message(&s, &id).await, message(&s, &id).await);
        let ra = tokio::spawn(async move { a.run(&ba, 1).await });
        let rb = tokio::spawn(async move { b.run(&bb, 1).await });
        let mut outcomes = [ra.await.unwrap(), rb.await.unwrap()];
        outcomes.sort_by_key(|o| format!("{o:?}"));
        // One ran the checks, the other found the lease taken and comes back later
        assert_eq!(outcomes, [Outcome::Done, Outcome::Retry]);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2, "resolution, state ID");
        let view = s.proofing().status(&id, "acct-1").await.unwrap().unwrap();
        assert_eq!(view.status, JobStatus::Passed);
        // When the retried delivery comes back, it finds the job done
        assert_eq!(w.run(&message(&s, &id).await, 2).await, Outcome::Done);
    }

    #[tokio::test]
    async fn given_a_vendor_down_when_the_last_attempt_fails_then_the_job_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let fake = Arc::new(Fake {
            down: true,
            ..Fake::default()
        });
        let w = worker(&s, fake);
        let id = s
            .proofing()
            .enqueue_address("acct-1", "+17035550123", &ada(), &flow())
            .await
            .unwrap();
        // Attempts before the last: retried, still running
        for count in 1..w.max_receives {
            assert_eq!(w.run(&message(&s, &id).await, count).await, Outcome::Retry);
            let view = s.proofing().status(&id, "acct-1").await.unwrap().unwrap();
            assert_eq!(view.status, JobStatus::Running);
        }
        // The last: unavailable, and the message is left for the dead-letter queue
        assert_eq!(
            w.run(&message(&s, &id).await, w.max_receives).await,
            Outcome::Retry
        );
        let view = s.proofing().status(&id, "acct-1").await.unwrap().unwrap();
        assert_eq!(view.status, JobStatus::Unavailable);
        assert_eq!(view.attempts, i64::from(w.max_receives));
    }

    #[tokio::test]
    async fn given_a_submitted_document_when_no_callback_comes_then_the_watchdog_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_ms(NOW));
        let s = services(dir.path(), clock.clone());
        let w = worker(&s, Arc::new(Fake::default()));
        let jobs = s.proofing();
        let id = jobs
            .submit_document(
                "acct-1",
                &flow(),
                &samples::jpeg(None),
                &samples::png("x", None),
                None,
            )
            .await
            .unwrap();
        assert_eq!(w.run(&message(&s, &id).await, 1).await, Outcome::Done);
        assert_eq!(
            jobs.status(&id, "acct-1").await.unwrap().unwrap().status,
            JobStatus::Running
        );
        // A duplicate before the deadline only re-queues the watchdog
        assert_eq!(w.run(&message(&s, &id).await, 1).await, Outcome::Done);
        clock.advance_ms(CALLBACK_DEADLINE_MS + 1);
        assert_eq!(w.run(&message(&s, &id).await, 1).await, Outcome::Done);
        assert_eq!(
            jobs.status(&id, "acct-1").await.unwrap().unwrap().status,
            JobStatus::Unavailable
        );
        assert!(
            jobs.uploads()
                .sides(&id, "acct-1")
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn given_an_unreadable_message_when_handled_then_it_is_kept_for_the_dead_letter_queue() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let w = worker(&s, Arc::new(Fake::default()));
        assert_eq!(w.run("not json", 1).await, Outcome::Retry);
        // A job that expired is dropped
        let gone = s.proofing().new_id();
        assert_eq!(w.run(&message(&s, &gone).await, 1).await, Outcome::Drop);
    }

    #[tokio::test]
    async fn given_a_message_without_the_jobs_key_or_with_another_flows_when_run_then_nothing_opens_and_the_job_is_unavailable()
     {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
        let fake = Arc::new(Fake::default());
        let w = worker(&s, fake.clone());
        let jobs = s.proofing();
        // Given a job queued before job keys (its message names the job only)
        let old = jobs
            .enqueue_resolution("acct-1", &ada(), &flow())
            .await
            .unwrap();
        let legacy = format!("{{\"v\":1,\"job\":\"{old}\"}}");
        // Then no vendor is called and the person is told to try again
        assert_eq!(w.run(&legacy, 1).await, Outcome::Done);
        assert_eq!(
            jobs.status(&old, "acct-1").await.unwrap().unwrap().status,
            JobStatus::Unavailable
        );
        // Given a message carrying the key of another session's flow
        let id = jobs
            .enqueue_resolution("acct-1", &ada(), &flow())
            .await
            .unwrap();
        let other = FlowKey::from_bytes([8; 32]).job(&id);
        let forged = jobs.message_body(&id, Some(&other)).await.unwrap();
        assert_eq!(w.run(&forged, 1).await, Outcome::Done);
        assert_eq!(
            jobs.status(&id, "acct-1").await.unwrap().unwrap().status,
            JobStatus::Unavailable
        );
        assert_eq!(fake.calls.load(Ordering::SeqCst), 0);
    }
}
