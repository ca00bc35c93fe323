//! The local stack's in-process schedule: the account-reset job mails the resets whose
//! wait is over, as the `account-reset-job` function does on AWS, and stops when told.

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
