//! The load run of the test command: 30 seconds of the production-like mix against a
//! fresh local stack. It asserts what must hold at any speed — no unexpected error,
//! every mail accounted for, memory bounded — and no timing.

use std::time::Duration;

use passerelle_load::{Plan, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_seconds_of_the_mix_lose_nothing_and_break_nothing() {
    // Given a fresh stack and a pool of accounts
    let plan = Plan {
        rate: 4.0,
        duration: Duration::from_secs(30),
        pool: Plan::pool_for(4.0),
        max_in_flight: 64,
        sample_every: Duration::from_secs(2),
        seed: 7,
    };
    // When the mix runs for 30 seconds
    let outcome = run(&plan, |line| eprintln!("{line}")).await.unwrap();
    eprintln!("{}", outcome.report);
    // Then every journey got the answer it deserved
    assert_eq!(outcome.unexpected, 0, "{}", outcome.report);
    assert!(
        outcome.started >= 100,
        "the schedule ran: {}",
        outcome.report
    );
    assert!(
        outcome.completed >= 100,
        "the journeys ran: {}",
        outcome.report
    );
    // And every queued mail was delivered or dead-lettered
    assert!(outcome.reconciled, "{}", outcome.report);
    // And memory stayed bounded (a debug build: the figure is generous on purpose)
    assert!(
        outcome.max_rss_kib < 1024 * 1024,
        "resident memory peaked at {} KiB",
        outcome.max_rss_kib
    );
}
