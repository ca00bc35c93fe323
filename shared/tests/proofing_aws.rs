//! Proofing jobs on the AWS adapters (DynamoDB, KMS, SQS with its redrive policy) on
//! moto_server: a vendor that stays down makes every receive fail; the receive that reaches
//! the queue's `maxReceiveCount` marks the job unavailable, and SQS itself then moves the
//! message to the dead-letter queue. `cargo xtask test` starts moto and sets
//! PASSERELLE_TEST_MOTO_URL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use passerelle::aws::AwsClients;
use passerelle::clock::{Clock, SystemClock};
use passerelle::envelope::{CacheLimits, Envelope};
use passerelle::idv::jobs::job_key::FlowKey;
use passerelle::idv::jobs::worker::ProofingWorker;
use passerelle::idv::jobs::{JobStatus, Jobs};
use passerelle::idv::pii::{Address, Pii};
use passerelle::idv::vendors::{
    AddressVendor, DocumentImages, DocumentVendor, LetterVendor, ResolutionVendor, StateIdVendor,
    VendorError, Vendors, Verdict,
};
use passerelle::keys::KeyService;
use passerelle::keys::kms::KmsKeyService;
use passerelle::queue::Queue;
use passerelle::queue::consumer::{JobHandler, Outcome};
use passerelle::queue::sqs::SqsQueue;
use passerelle::random::{OsRandom, Random};
use passerelle::store::dynamo::DynamoStore;

const MAX_RECEIVES: u32 = 2;

/// The flow key of the test's one session (the pages derive it from the session token).
fn flow() -> FlowKey {
    FlowKey::from_bytes([7; 32])
}

/// Every vendor down.
#[derive(Debug)]
struct Down;

fn down<T>() -> Result<T, VendorError> {
    Err(VendorError::Unavailable("connection refused".into()))
}

#[async_trait]
impl DocumentVendor for Down {
    async fn submit(&self, _: &str, _: DocumentImages<'_>) -> Result<String, VendorError> {
        down()
    }
}
#[async_trait]
impl ResolutionVendor for Down {
    async fn resolve(&self, _: &Pii) -> Result<Verdict, VendorError> {
        down()
    }
}
#[async_trait]
impl StateIdVendor for Down {
    async fn check_state_id(&self, _: &Pii) -> Result<Verdict, VendorError> {
        down()
    }
}
#[async_trait]
impl AddressVendor for Down {
    async fn check_phone(&self, _: &str, _: &Pii) -> Result<Verdict, VendorError> {
        down()
    }
}
#[async_trait]
impl LetterVendor for Down {
    async fn send_letter(&self, _: &str, _: &Pii, _: &str) -> Result<String, VendorError> {
        down()
    }
}

fn unique(prefix: &str) -> String {
    use passerelle::random::RandomExt;
    format!("{prefix}-{}", OsRandom.token(6).replace(['-', '_'], "x"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_vendors_down_on_sqs_when_the_last_receive_fails_then_the_job_is_unavailable_and_dead_lettered()
 {
    let url = std::env::var("PASSERELLE_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!(
            "this test needs moto_server: run `cargo xtask test`, or set PASSERELLE_TEST_MOTO_URL"
        )
    });
    // Given the AWS adapters on moto: a table, a key, and the proofing queue with its DLQ
    let clients = AwsClients::for_moto(&url).await;
    let table = unique("proofing");
    DynamoStore::create_table(&clients.dynamodb, &table)
        .await
        .unwrap();
    let key = clients.kms.create_key().send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let (queue, dlq) =
        SqsQueue::create_with_dead_letter(&clients.sqs, &unique("proofing"), MAX_RECEIVES)
            .await
            .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    let mac_key = clients
        .kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap();
    let mac_key_id = mac_key.key_metadata().unwrap().key_id().to_owned();
    let keys: Arc<dyn KeyService> = Arc::new(KmsKeyService::new(
        clients.kms.clone(),
        &key_id,
        &mac_key_id,
    ));
    let envelope = Arc::new(Envelope::new(
        keys,
        Arc::clone(&clock),
        Arc::clone(&random),
        CacheLimits::default(),
    ));
    let store = Arc::new(DynamoStore::new(
        clients.dynamodb.clone(),
        &table,
        Arc::clone(&clock),
    ));
    let queue: Arc<dyn Queue> = Arc::new(queue);
    let jobs = Jobs::new(store, envelope, Arc::clone(&queue), clock, random);
    let worker = ProofingWorker {
        jobs: jobs.clone(),
        vendors: Vendors::all(Arc::new(Down)),
        max_receives: MAX_RECEIVES,
    };

    // When a resolution job is queued and every delivery fails
    let pii = Pii {
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
    };
    let id = jobs
        .enqueue_resolution("acct-aws", &pii, &flow())
        .await
        .unwrap();
    let mut counts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while counts.len() < MAX_RECEIVES as usize {
        assert!(Instant::now() < deadline, "receives so far: {counts:?}");
        for m in queue
            .receive(1, Duration::from_secs(1), Duration::from_secs(2))
            .await
            .unwrap()
        {
            counts.push(m.receive_count);
            let outcome = worker
                .handle_delivery(&m.id, &m.body, m.receive_count)
                .await;
            assert_eq!(outcome, Outcome::Retry);
        }
    }

    // Then SQS counted the receives, the last one ended the job as unavailable,
    assert_eq!(counts, vec![1, 2]);
    let view = jobs.status(&id, "acct-aws").await.unwrap().unwrap();
    assert_eq!(view.status, JobStatus::Unavailable);
    // and the message (the job id only) went to the dead-letter queue
    let mut dead = Vec::new();
    while dead.is_empty() {
        assert!(Instant::now() < deadline, "nothing reached the DLQ");
        // A receive on the main queue lets SQS apply the redrive.
        assert!(
            queue
                .receive(1, Duration::from_secs(1), Duration::from_secs(1))
                .await
                .unwrap()
                .is_empty()
        );
        dead = dlq
            .receive(1, Duration::from_secs(30), Duration::from_secs(1))
            .await
            .unwrap();
    }
    // The dead letter names the job and holds its key sealed by KMS: no PII in clear
    let dead: serde_json::Value = serde_json::from_str(&dead[0].body).unwrap();
    assert_eq!(
        (dead["v"].as_i64(), dead["job"].as_str()),
        (Some(2), Some(id.as_str()))
    );
    assert!(dead["key"].is_string());
    assert!(!dead.to_string().contains("Lovelace"));
    let _ = clients
        .dynamodb
        .delete_table()
        .table_name(table)
        .send()
        .await;
}
