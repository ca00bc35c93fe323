//! The worker driven as Lambda drives it: the SQS event in `events/proofing-worker/` (two
//! job messages, the second on its fourth and last receive) goes through the same batch
//! handler the function serves. Each message carries its job's key sealed by the key
//! service of the deployment that queued it, so the fixture's bodies are those this
//! test's pages queued (same job ids, same shape).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use passerelle::config::EmbeddedConfig;
use passerelle::idv::jobs::job_key::FlowKey;
use passerelle::idv::jobs::{JobInput, JobStatus};
use passerelle::idv::pii::{Address, Pii};
use passerelle::idv::vendors::{
    AddressVendor, DocumentImages, DocumentVendor, LetterVendor, ResolutionVendor, StateIdVendor,
    VendorError, Vendors, Verdict,
};
use passerelle::lambda::handle_sqs_batch;
use passerelle::queue::consumer::JobHandler;
use passerelle::services::Services;

const EVENT: &str = include_str!("../../../events/proofing-worker/sqs-batch.json");
const FIRST: &str = "ZXZlbnRzLWZpeHR1cmUtQQ";
const LAST_RECEIVE: &str = "ZXZlbnRzLWZpeHR1cmUtQg";

/// Every vendor, either passing everyone or down.
#[derive(Debug)]
struct Vendor {
    down: bool,
}

impl Vendor {
    fn answer<T>(&self, value: T) -> Result<T, VendorError> {
        if self.down {
            Err(VendorError::Unavailable("connection refused".into()))
        } else {
            Ok(value)
        }
    }
}

#[async_trait]
impl DocumentVendor for Vendor {
    async fn submit(&self, _: &str, _: DocumentImages<'_>) -> Result<String, VendorError> {
        self.answer("ref".into())
    }
}
#[async_trait]
impl ResolutionVendor for Vendor {
    async fn resolve(&self, _: &Pii) -> Result<Verdict, VendorError> {
        self.answer(Verdict::Pass)
    }
}
#[async_trait]
impl StateIdVendor for Vendor {
    async fn check_state_id(&self, _: &Pii) -> Result<Verdict, VendorError> {
        self.answer(Verdict::Pass)
    }
}
#[async_trait]
impl AddressVendor for Vendor {
    async fn check_phone(&self, _: &str, _: &Pii) -> Result<Verdict, VendorError> {
        self.answer(Verdict::Pass)
    }
}
#[async_trait]
impl LetterVendor for Vendor {
    async fn send_letter(&self, _: &str, _: &Pii, _: &str) -> Result<String, VendorError> {
        self.answer("letter".into())
    }
}

fn pii() -> Pii {
    Pii {
        given_name: "Maria".into(),
        family_name: "Testcase".into(),
        birthdate: "1985-07-14".into(),
        address: Address {
            line1: "123 Fixture Ave".into(),
            line2: String::new(),
            city: "Richmond".into(),
            state: "VA".into(),
            zip: "23219".into(),
        },
        id_number: "T12345678".into(),
        id_state: "VA".into(),
        ssn: "900555123".into(),
        phone: String::new(),
        verified_ms: 0,
    }
}

fn flow() -> FlowKey {
    FlowKey::from_bytes([7; 32])
}

/// The fixture, its bodies replaced by what the queue holds for the same jobs.
async fn event(services: &Services) -> SqsEvent {
    let mut event: SqsEvent = serde_json::from_str(EVENT).expect("the fixture is an SQS event");
    let queued = services
        .proofing_queue
        .receive(10, Duration::from_secs(60), Duration::ZERO)
        .await
        .unwrap();
    for record in &mut event.records {
        let fixture: serde_json::Value =
            serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
        let job = fixture["job"].as_str().unwrap();
        let body = queued
            .iter()
            .map(|m| m.body.clone())
            .find(|b| b.contains(job))
            .expect("the job was queued");
        let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
        // The fixture shows the message's shape: version, job, sealed key.
        assert_eq!(fixture["v"], sent["v"]);
        assert!(sent["key"].is_string() && fixture["key"].is_string());
        record.body = Some(body);
    }
    event
}

/// Services whose proofing queue dead-letters after 4 receives, with the fixture's two
/// jobs queued, and the worker over `vendor`.
async fn world(dir: &std::path::Path, vendor: Vendor) -> (Services, Arc<dyn JobHandler>) {
    let cfg = EmbeddedConfig {
        data_dir: dir.to_owned(),
        max_receives: 4,
    };
    let services = Services::embedded(
        &cfg,
        Arc::new(passerelle::clock::SystemClock),
        Arc::new(passerelle::random::OsRandom),
    )
    .unwrap();
    let jobs = services.proofing();
    for id in [FIRST, LAST_RECEIVE] {
        jobs.enqueue(id, "acct-1", &JobInput::Resolution { pii: pii() }, &flow())
            .await
            .unwrap();
    }
    let worker = services.proofing_worker(Vendors::all(Arc::new(vendor)));
    (services, Arc::new(worker))
}

async fn status(services: &Services, id: &str) -> JobStatus {
    services
        .proofing()
        .status(id, "acct-1")
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn given_vendors_that_answer_when_the_batch_runs_then_both_jobs_pass_and_none_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (services, worker) = world(dir.path(), Vendor { down: false }).await;
    let event = event(&services).await;
    let response = handle_sqs_batch(&worker, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(status(&services, FIRST).await, JobStatus::Passed);
    assert_eq!(status(&services, LAST_RECEIVE).await, JobStatus::Passed);
}

#[tokio::test]
async fn given_vendors_down_when_the_batch_runs_then_both_are_retried_and_the_last_receive_is_unavailable()
 {
    let dir = tempfile::tempdir().unwrap();
    let (services, worker) = world(dir.path(), Vendor { down: true }).await;
    let event = event(&services).await;
    let ids: Vec<String> = event
        .records
        .iter()
        .map(|r| r.message_id.clone().unwrap())
        .collect();
    let response = handle_sqs_batch(&worker, event).await;
    // Both come back (the second then goes to the dead-letter queue)
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec![ids[0].as_str(), ids[1].as_str()]);
    // The first may still succeed; the second was the job's last chance
    assert_eq!(status(&services, FIRST).await, JobStatus::Running);
    assert_eq!(
        status(&services, LAST_RECEIVE).await,
        JobStatus::Unavailable
    );
}
