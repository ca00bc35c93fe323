//! Proofing over real HTTP: the mock vendors on a loopback port, the callback endpoint on
//! another, jobs on the embedded queue, and the worker's HTTP client with its timeouts and
//! retries. One job per outcome of the mocks (IDV-3): pass, each failure, a vendor that
//! hangs (retries, then unavailable and the dead-letter queue), and a vendor that is down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle::config::EmbeddedConfig;
use passerelle::idv::callback::{CallbackSecrets, Callbacks, DOCUMENT_CALLBACK_PATH, router};
use passerelle::idv::jobs::job_key::FlowKey;
use passerelle::idv::jobs::{FailReason, JobStatus, Jobs};
use passerelle::idv::pii::{Address, Pii};
use passerelle::idv::uploads::Side;
use passerelle::idv::vendors::http::{HttpVendors, RetryPolicy};
use passerelle::queue::Queue;
use passerelle::queue::consumer::{JobHandler, Outcome};
use passerelle::services::Services;
use passerelle_local::vendors::{self, MockConfig};
use tokio::sync::watch;

/// The flow key of the test's one session (the pages derive it from the session token).
fn flow() -> FlowKey {
    FlowKey::from_bytes([7; 32])
}

const SECRET: &str = "proofing-test-secret-0123456789abcdef";
const ACCOUNT: &str = "acct-proofing";
/// The queue dead-letters a job after this many receives.
const MAX_RECEIVES: u32 = 3;

/// The worker's client: short timeouts so the hanging mock is given up on quickly.
fn policy() -> RetryPolicy {
    RetryPolicy {
        timeout: Duration::from_millis(400),
        tries: 2,
        backoff: Duration::from_millis(20),
    }
}

struct Stack {
    _dir: tempfile::TempDir,
    services: Arc<Services>,
    jobs: Jobs,
    stop: watch::Sender<bool>,
}

async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Services on a temporary directory, the callback endpoint and (unless `vendors_down`)
/// the mock vendors on their own ports, and a worker pumping the proofing queue with a
/// short visibility timeout.
async fn stack(vendors_down: bool) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let services = Arc::new(
        Services::embedded(
            &EmbeddedConfig {
                data_dir: dir.path().to_owned(),
                max_receives: MAX_RECEIVES,
            },
            Arc::new(passerelle::clock::SystemClock),
            Arc::new(passerelle::random::OsRandom),
        )
        .unwrap(),
    );
    let (stop, stopped) = watch::channel(false);
    let secrets = CallbackSecrets::new(&[SECRET]).unwrap();

    // The callback function
    let (listener, callback_url) = listen().await;
    let callbacks = Callbacks::new(services.proofing(), secrets.clone());
    let mut s = stopped.clone();
    tokio::spawn(async move {
        axum::serve(listener, router(callbacks))
            .with_graceful_shutdown(async move {
                let _ = s.changed().await;
            })
            .await
            .unwrap();
    });

    // The vendors: the mocks, or a port nothing listens on
    let vendor_url = if vendors_down {
        let (listener, url) = listen().await;
        drop(listener);
        url
    } else {
        let (listener, url) = listen().await;
        let mut mock = MockConfig::new(format!("{callback_url}{DOCUMENT_CALLBACK_PATH}"), secrets);
        mock.hang = Duration::from_secs(5);
        mock.callback_delay = Duration::from_millis(50);
        mock.letters = services.local.as_ref().map(|l| l.outbox.clone());
        vendors::spawn(listener, mock, stopped.clone());
        url
    };

    // The worker, as the local stack runs it but with a 300 ms visibility timeout
    let worker: Arc<dyn JobHandler> = Arc::new(
        services.proofing_worker(HttpVendors::new(&vendor_url, policy()).unwrap().vendors()),
    );
    let queue = Arc::clone(&services.proofing_queue);
    let mut s = stopped;
    tokio::spawn(async move {
        loop {
            let batch = tokio::select! {
                b = queue.receive(10, Duration::from_millis(300), Duration::from_millis(100)) => b.unwrap(),
                _ = s.changed() => break,
            };
            let handled = batch.into_iter().map(|m| {
                let (worker, queue) = (Arc::clone(&worker), Arc::clone(&queue));
                async move {
                    let outcome = worker
                        .handle_delivery(&m.id, &m.body, m.receive_count)
                        .await;
                    if outcome != Outcome::Retry {
                        queue.delete(&m.receipt).await.unwrap();
                    }
                }
            });
            // Concurrently, as several Lambda instances would.
            let tasks: Vec<_> = handled.map(tokio::spawn).collect();
            for t in tasks {
                t.await.unwrap();
            }
        }
    });
    Stack {
        _dir: dir,
        jobs: services.proofing(),
        services,
        stop,
    }
}

fn person(given_name: &str) -> Pii {
    Pii {
        given_name: given_name.into(),
        family_name: "Quintessa".into(),
        birthdate: "1979-03-09".into(),
        address: Address {
            line1: "42 Proofing Way".into(),
            line2: String::new(),
            city: "Alexandria".into(),
            state: "VA".into(),
            zip: "22314".into(),
        },
        id_number: "D98765432".into(),
        id_state: "VA".into(),
        ssn: "900111222".into(),
        phone: String::new(),
        verified_ms: 0,
    }
}

/// Polls the job as the page does until it ends.
async fn outcome(jobs: &Jobs, id: &str, within: Duration) -> JobStatus {
    let deadline = Instant::now() + within;
    loop {
        let status = jobs.status(id, ACCOUNT).await.unwrap().unwrap().status;
        if status.is_finished() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "job still {status:?} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn document(jobs: &Jobs, pii: &Pii, selfie: Option<bool>) -> String {
    let selfie = selfie.map(vendors::sample_selfie);
    jobs.submit_document(
        ACCOUNT,
        &flow(),
        &vendors::sample_front(),
        &vendors::sample_back(pii),
        selfie.as_deref(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_mock_vendors_when_each_outcome_is_queued_then_each_job_ends_as_the_data_says() {
    let s = stack(false).await;
    let jobs = &s.jobs;
    let quick = Duration::from_secs(15);

    // Given one job per outcome, all queued at once
    let doc_pass = document(jobs, &person("Ada"), Some(true)).await;
    let doc_fail = document(jobs, &person("Failing"), None).await;
    let doc_selfie = document(jobs, &person("Ada"), Some(false)).await;
    let doc_unreadable = jobs
        .submit_document(
            ACCOUNT,
            &flow(),
            &vendors::sample_front(),
            &vendors::sample_front(),
            None,
        )
        .await
        .unwrap();
    let res_pass = jobs
        .enqueue_resolution(ACCOUNT, &person("Ada"), &flow())
        .await
        .unwrap();
    let mut other_ssn = person("Ada");
    other_ssn.ssn = "123456789".into();
    let res_ssn = jobs
        .enqueue_resolution(ACCOUNT, &other_ssn, &flow())
        .await
        .unwrap();
    let mut ssn_666 = person("Ada");
    ssn_666.ssn = "666000111".into();
    let res_666 = jobs
        .enqueue_resolution(ACCOUNT, &ssn_666, &flow())
        .await
        .unwrap();
    let res_fail = jobs
        .enqueue_resolution(ACCOUNT, &person("Fail"), &flow())
        .await
        .unwrap();
    let mut zeros = person("Ada");
    zeros.id_number = "00000000".into();
    let res_zeros = jobs
        .enqueue_resolution(ACCOUNT, &zeros, &flow())
        .await
        .unwrap();
    let phone_pass = jobs
        .enqueue_address(ACCOUNT, "+17035550123", &person("Ada"), &flow())
        .await
        .unwrap();
    let phone_fail = jobs
        .enqueue_address(ACCOUNT, "+17035555555", &person("Ada"), &flow())
        .await
        .unwrap();
    let letter = jobs
        .enqueue_letter(ACCOUNT, "7K3M9QX2ZD", &person("Ada"), &flow())
        .await
        .unwrap();
    let res_time = jobs
        .enqueue_resolution(ACCOUNT, &person("Timeout"), &flow())
        .await
        .unwrap();
    let doc_time = document(jobs, &person("Timeout"), None).await;

    // Then the document results come back through the signed callback
    assert_eq!(outcome(jobs, &doc_pass, quick).await, JobStatus::Passed);
    let read = jobs
        .document_result(&doc_pass, ACCOUNT, &flow())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            read.given_name.as_str(),
            read.address.zip.as_str(),
            read.id_number.as_str()
        ),
        ("Ada", "22314", "D98765432")
    );
    assert!(
        jobs.uploads()
            .get(&doc_pass, Side::Front, &flow().job(&doc_pass))
            .await
            .unwrap()
            .is_none(),
        "the images are deleted when the job ends"
    );
    assert_eq!(
        outcome(jobs, &doc_fail, quick).await,
        JobStatus::Failed(FailReason::DocumentNotAuthentic)
    );
    assert_eq!(
        outcome(jobs, &doc_selfie, quick).await,
        JobStatus::Failed(FailReason::SelfieMismatch)
    );
    assert_eq!(
        outcome(jobs, &doc_unreadable, quick).await,
        JobStatus::Failed(FailReason::DocumentUnreadable)
    );
    // And the synchronous checks from the worker
    assert_eq!(outcome(jobs, &res_pass, quick).await, JobStatus::Passed);
    assert_eq!(outcome(jobs, &res_666, quick).await, JobStatus::Passed);
    assert_eq!(
        outcome(jobs, &res_ssn, quick).await,
        JobStatus::Failed(FailReason::IdentityNotFound)
    );
    assert_eq!(
        outcome(jobs, &res_fail, quick).await,
        JobStatus::Failed(FailReason::IdentityNotFound)
    );
    assert_eq!(
        outcome(jobs, &res_zeros, quick).await,
        JobStatus::Failed(FailReason::StateIdMismatch)
    );
    assert_eq!(outcome(jobs, &phone_pass, quick).await, JobStatus::Passed);
    assert_eq!(
        outcome(jobs, &phone_fail, quick).await,
        JobStatus::Failed(FailReason::PhoneUnverifiable)
    );
    assert_eq!(outcome(jobs, &letter, quick).await, JobStatus::Passed);
    let outbox = s
        .services
        .local
        .as_ref()
        .unwrap()
        .outbox
        .list(None, 50)
        .await
        .unwrap();
    let letters: Vec<_> = outbox.iter().filter(|e| e.kind == "letter").collect();
    assert_eq!(letters.len(), 1);
    assert!(letters[0].text.contains("7K3M9QX2ZD"));
    assert!(!letters[0].text.contains("Proofing Way") && !letters[0].text.contains("Quintessa"));

    // And a vendor that hangs is retried, then the job is unavailable ("try again later")
    // and its message is in the dead-letter queue
    for id in [&res_time, &doc_time] {
        assert_eq!(outcome(jobs, id, quick).await, JobStatus::Unavailable);
        let view = jobs.status(id, ACCOUNT).await.unwrap().unwrap();
        assert_eq!(view.attempts, i64::from(MAX_RECEIVES));
    }
    let dlq = &s.services.local.as_ref().unwrap().proofing_dlq;
    let deadline = Instant::now() + quick;
    while dlq.depth().await.unwrap() < 2 {
        assert!(
            Instant::now() < deadline,
            "the two jobs reach the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        s.services
            .proofing_queue
            .receive(10, Duration::from_secs(1), Duration::ZERO)
            .await
            .unwrap()
            .len(),
        0
    );
    let _ = s.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_vendors_down_when_a_job_is_queued_then_it_ends_unavailable_in_the_dead_letter_queue()
 {
    let s = stack(true).await;
    let id = s
        .jobs
        .enqueue_address(ACCOUNT, "+17035550123", &person("Ada"), &flow())
        .await
        .unwrap();
    assert_eq!(
        outcome(&s.jobs, &id, Duration::from_secs(15)).await,
        JobStatus::Unavailable
    );
    let dlq = &s.services.local.as_ref().unwrap().proofing_dlq;
    let deadline = Instant::now() + Duration::from_secs(10);
    while dlq.depth().await.unwrap() < 1 {
        assert!(
            Instant::now() < deadline,
            "the job reaches the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The dead letter names the job and holds its key sealed by the key service: no PII
    let dead = dlq
        .receive(1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    let dead: serde_json::Value = serde_json::from_str(&dead[0].body).unwrap();
    assert_eq!(
        (dead["v"].as_i64(), dead["job"].as_str()),
        (Some(2), Some(id.as_str()))
    );
    assert!(dead["key"].is_string());
    assert!(!dead.to_string().contains("Quintessa"));
    let _ = s.stop.send(true);
}
