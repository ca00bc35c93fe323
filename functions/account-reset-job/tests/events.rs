//! The job driven as Lambda drives it: the scheduled event from `events/` starts one run
//! of the same job `main` serves, over the embedded adapters, with the state built once
//! as at cold start.

use std::sync::Arc;
use std::time::Duration;

use passerelle::account::accounts::SignupStart;
use passerelle::account::email::EmailAddress;
use passerelle::account::events::EventContext;
use passerelle::account::password_hash::HashParams;
use passerelle::clock::ManualClock;
use passerelle::config::EmbeddedConfig;
use passerelle::lambda::run_scheduled;
use passerelle::services::Services;
use passerelle::web::WebState;
use passerelle::web::account_reset::run_due_resets;

const EVENT: &str = include_str!("../../../events/account-reset-job/scheduled.json");
const DAY_MS: i64 = 24 * 3600 * 1000;

struct Job {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    state: WebState,
}

fn job() -> Job {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmbeddedConfig {
        data_dir: dir.path().to_owned(),
        max_receives: 5,
    };
    let clock = Arc::new(ManualClock::at_ms(1_800_000_000_000));
    let services = Services::embedded(&cfg, clock.clone(), Arc::new(passerelle::random::OsRandom))
        .expect("embedded services");
    // A cheap argon2 cost: the job never hashes, the sign-up below does.
    let state = WebState::new(Arc::new(services), "https://login.example.gov", false)
        .with_hash_params(HashParams {
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
        });
    Job {
        _dir: dir,
        clock,
        state,
    }
}

/// One invocation, as `main` serves it.
async fn invoke(job: &Job) -> Result<usize, passerelle::lambda::Diagnostic> {
    let event: serde_json::Value = serde_json::from_str(EVENT).expect("the fixture is JSON");
    assert_eq!(event["detail-type"], "Scheduled Event");
    run_scheduled("account-reset", run_due_resets(&job.state)).await
}

#[tokio::test]
async fn a_scheduled_run_with_nothing_due_mails_nothing_and_succeeds() {
    let job = job();
    assert_eq!(invoke(&job).await, Ok(0));
    assert_eq!(invoke(&job).await, Ok(0));
}

#[tokio::test]
async fn a_reset_past_its_wait_is_mailed_once_with_links_to_the_public_url() {
    // Given Jane, who asked for an account reset (French account)
    let job = job();
    let accounts = &job.state.account_services().await.unwrap().accounts;
    let address = EmailAddress::parse("jane@example.gov").unwrap();
    let SignupStart::Confirm(token) = accounts.begin_signup(&address, "fr").await.unwrap() else {
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

    // When the schedule fires before the 24 hours are over, nothing is mailed
    job.clock.advance_ms(DAY_MS - 60_000);
    assert_eq!(invoke(&job).await, Ok(0));
    // And when it fires after, her reset is mailed, by that run only
    job.clock.advance_ms(120_000);
    assert_eq!(invoke(&job).await, Ok(1));
    assert_eq!(invoke(&job).await, Ok(0));

    // Then one sealed mail job is queued, with both links under the public URL in French
    let services = &job.state.services;
    let queued = services
        .notify_queue
        .receive(10, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert!(!queued[0].body.contains("jane@example.gov"), "sealed");
    services.deliverer().deliver(&queued[0].body).await.unwrap();
    let outbox = &services.local.as_ref().unwrap().outbox;
    let mail = outbox.list(Some("jane@example.gov"), 10).await.unwrap();
    assert_eq!(mail.len(), 1);
    for link in [
        "https://login.example.gov/fr/account-reset/delete?t=",
        "https://login.example.gov/fr/account-reset/cancel?t=",
    ] {
        assert!(mail[0].text.contains(link), "{link} in {}", mail[0].text);
    }
}
