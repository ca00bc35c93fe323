//! The local stack's in-process schedule: the account-reset job mails the resets whose
//! wait is over, as the `account-reset-job` function does on AWS, and stops when told; the
//! WAL scrub leaves nothing deleted in the data directory, while running and at shutdown.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle::account::accounts::SignupStart;
use passerelle::account::email::EmailAddress;
use passerelle::account::events::EventContext;
use passerelle::account::password_hash::HashParams;
use passerelle::clock::ManualClock;
use passerelle::config::EmbeddedConfig;
use passerelle::services::Services;
use passerelle::web::WebState;
use tokio::sync::watch;

#[tokio::test]
async fn the_account_reset_job_mails_due_resets_then_stops_when_told() {
    // Given Jane, whose account reset waited its 24 hours
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmbeddedConfig {
        data_dir: dir.path().to_owned(),
        max_receives: 5,
    };
    let clock = Arc::new(ManualClock::at_ms(1_800_000_000_000));
    let services =
        Services::embedded(&cfg, clock.clone(), Arc::new(passerelle::random::OsRandom)).unwrap();
    let state = WebState::new(Arc::new(services), "http://localhost:3000", true).with_hash_params(
        HashParams {
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
        },
    );
    let accounts = &state.account_services().await.unwrap().accounts;
    let address = EmailAddress::parse("jane@example.gov").unwrap();
    let SignupStart::Confirm(token) = accounts.begin_signup(&address, "en").await.unwrap() else {
        panic!("jane is new");
    };
    let ctx = EventContext::default();
    let jane = accounts
        .complete_signup(&token, "correct horse battery staple", &ctx)
        .await
        .unwrap();
    accounts
        .request_account_reset(&jane.id, &ctx)
        .await
        .unwrap();
    clock.advance_ms(24 * 3600 * 1000 + 1000);

    // When the job runs on a short schedule
    let (stop, stopped) = watch::channel(false);
    let job = tokio::spawn(passerelle_local::account_resets(
        state.clone(),
        Duration::from_millis(20),
        stopped,
    ));

    // Then the deletion mail is queued for the worker
    let deadline = Instant::now() + Duration::from_secs(10);
    let queued = loop {
        let queued = state
            .services
            .notify_queue
            .receive(10, Duration::from_secs(60), Duration::ZERO)
            .await
            .unwrap();
        if !queued.is_empty() || Instant::now() > deadline {
            break queued;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(queued.len(), 1, "one mail for Jane's one address");

    // And the job ends when the workers are told to stop
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), job)
        .await
        .expect("the job stops")
        .expect("the job never panics");
}

/// A finished job's input, as the proofing flow deletes it.
const JOB_INPUT: &str = "given=Quintessa family=Marbleworth ssn=900-41-7736";
/// A document image, deleted with its upload.
const IMAGE_MARK: &str = "IMG-Xq7Zp-front-of-licence";
/// A processed message, deleted by its consumer.
const MESSAGE: &str = "job=Vortigern-5512 phone=+15555550123";

/// Writes a job input, an image chunk and a message into the running stack's database,
/// then deletes them through the ports, as a finished job, a removed upload and a
/// processed message are.
async fn write_then_delete(stack: &support::Stack) {
    use passerelle::queue::Queue;
    use passerelle::store::{Expect, Item, Key};
    let store = &stack.services.store;
    let job = Key::new("PROOFING#scrub", "INPUT");
    let chunk = Key::new("UPLOAD#scrub", "CHUNK#0");
    let image: Vec<u8> = IMAGE_MARK.bytes().cycle().take(32 * 1024).collect();
    store
        .put(
            Item::new(job.clone()).with("input", JOB_INPUT),
            Expect::Absent,
        )
        .await
        .unwrap();
    store
        .put(
            Item::new(chunk.clone()).with("bytes", image),
            Expect::Absent,
        )
        .await
        .unwrap();
    let local = stack.services.local.as_ref().unwrap();
    // A queue no worker consumes, so that this test is the consumer.
    let queue = passerelle::queue::embedded::EmbeddedQueue::new(
        local.store.db().clone(),
        "scrub-test",
        None,
        Arc::new(passerelle::clock::SystemClock),
        Arc::new(passerelle::random::OsRandom),
    );
    queue.send(MESSAGE, Duration::ZERO).await.unwrap();
    store.delete(&job, Expect::Present).await.unwrap();
    store.delete(&chunk, Expect::Present).await.unwrap();
    let got = queue
        .receive(1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    queue.delete(&got[0].receipt).await.unwrap();
}

/// Which of `values` some file of `dir` holds, as UTF-8 or inside base64 text (any
/// alignment): the database, its WAL and its index, deleted pages included.
fn left_in(dir: &std::path::Path, values: &[&str]) -> Vec<String> {
    use base64::Engine;
    let forms = |value: &str| {
        let mut forms = vec![value.as_bytes().to_vec()];
        for start in 0..3 {
            let shifted = [&vec![0_u8; start][..], value.as_bytes()].concat();
            let text = base64::engine::general_purpose::STANDARD.encode(&shifted);
            let inner = text.trim_end_matches('=');
            let skip = (start * 4).div_ceil(3) + 1;
            forms.push(inner.as_bytes()[skip..inner.len() - 2].to_vec());
        }
        forms
    };
    let mut left = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("passerelle.db") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for value in values {
            if forms(value)
                .iter()
                .any(|f| bytes.windows(f.len()).any(|w| w == f.as_slice()))
            {
                left.push(format!("{value} in {name}"));
            }
        }
    }
    left
}

#[tokio::test]
async fn the_running_stack_scrubs_what_was_deleted_within_seconds() {
    // Given the local stack running, with a job input, an image and a message written and
    // deleted through the ports (the scan finds a deleted value before the scrub ran, or
    // the scrub already ran: either way it reads the files' real content),
    let stack = support::Stack::start().await;
    let db = stack.services.local.as_ref().unwrap().store.db().clone();
    write_then_delete(&stack).await;

    // when the scrub's next tick has run,
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.scrub_pending() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // then the WAL is empty and no file holds any of them, while the stack still keeps
    // what it has not deleted (the demo agency's registration).
    assert!(!db.scrub_pending(), "the WAL was not scrubbed in 10 s");
    assert_eq!(
        left_in(stack.dir.path(), &[JOB_INPUT, IMAGE_MARK, MESSAGE]),
        Vec::<String>::new()
    );
    assert_eq!(left_in(stack.dir.path(), &["AGENCY#"]).len(), 1);
    stack.stop().await;
}

#[tokio::test]
async fn the_stack_leaves_nothing_deleted_in_its_files_when_it_stops() {
    // Given the local stack, with a job input, an image and a message deleted just now,
    let stack = support::Stack::start().await;
    write_then_delete(&stack).await;

    // when it shuts down (workers stopped, then the last scrub),
    let dir = stack.stop().await;

    // then the files it leaves hold none of them, and still hold what it kept.
    assert_eq!(
        left_in(dir.path(), &[JOB_INPUT, IMAGE_MARK, MESSAGE]),
        Vec::<String>::new()
    );
    assert_eq!(left_in(dir.path(), &["AGENCY#"]).len(), 1);
    let wal = dir.path().join("passerelle.db-wal");
    assert_eq!(std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0), 0);
}
