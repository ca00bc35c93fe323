//! The callback function driven as Lambda drives it: the API Gateway event in
//! `events/proofing-callback/` (a document result signed with the fixture's secret) goes
//! through lambda_http's adapter into the same router `main` serves.

use std::sync::Arc;

use passerelle::clock::ManualClock;
use passerelle::config::EmbeddedConfig;
use passerelle::idv::callback::{CallbackSecrets, Callbacks, router};
use passerelle::idv::jobs::job_key::FlowKey;
use passerelle::idv::jobs::{JobInput, JobStatus};
use passerelle::idv::uploads::{Side, samples};
use passerelle::lambda::http::invoke;
use passerelle::services::Services;
use serde_json::Value;

const EVENT: &str = include_str!("../../../events/proofing-callback/post-document.json");
/// The secret the fixture is signed with, and the job and time it names.
const SECRET: &str = "events-fixture-secret-0123456789abcdef";
const JOB: &str = "ZXZlbnRzLWZpeHR1cmUtMQ";
const SIGNED_AT_MS: i64 = 1_794_647_562_000;

/// The flow key of the test's one session (the pages derive it from the session token).
fn flow() -> FlowKey {
    FlowKey::from_bytes([7; 32])
}

struct Function {
    _dir: tempfile::TempDir,
    services: Services,
    callbacks: Callbacks,
}

/// The function's services at the fixture's time (plus `later_ms`), with the fixture's job
/// waiting for its document result.
async fn function(later_ms: i64) -> Function {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmbeddedConfig {
        data_dir: dir.path().to_owned(),
        max_receives: 4,
    };
    let clock = Arc::new(ManualClock::at_ms(SIGNED_AT_MS + later_ms));
    let services = Services::embedded(&cfg, clock, Arc::new(passerelle::random::OsRandom)).unwrap();
    let jobs = services.proofing();
    for side in [Side::Front, Side::Back] {
        jobs.uploads()
            .put(JOB, "acct-1", side, &samples::jpeg(None), &flow().job(JOB))
            .await
            .unwrap();
    }
    jobs.enqueue(
        JOB,
        "acct-1",
        &JobInput::Document { selfie: false },
        &flow(),
    )
    .await
    .unwrap();
    let callbacks = Callbacks::new(jobs, CallbackSecrets::new(&[SECRET]).unwrap());
    Function {
        _dir: dir,
        services,
        callbacks,
    }
}

async fn call(f: &Function, event: &str) -> (u16, Value) {
    let response = invoke(router(f.callbacks.clone()), event, "lambda-request-1")
        .await
        .expect("the adapter answers");
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let body = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    (status, body)
}

#[tokio::test]
async fn given_the_signed_fixture_when_posted_then_the_job_passes_and_a_replay_is_refused() {
    let f = function(2_000).await;
    let (status, body) = call(&f, EVENT).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("accepted")));
    let jobs = f.services.proofing();
    let view = jobs.status(JOB, "acct-1").await.unwrap().unwrap();
    assert_eq!(view.status, JobStatus::Passed);
    let pii = jobs
        .document_result(JOB, "acct-1", &flow())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (pii.given_name.as_str(), pii.address.city.as_str()),
        ("Maria", "Richmond")
    );

    // The same delivery again is a replay
    let (status, body) = call(&f, EVENT).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("replay")));
}

#[tokio::test]
async fn given_a_tampered_body_when_posted_then_it_is_refused_without_echoing_it() {
    let f = function(2_000).await;
    let tampered = EVENT.replace("\\\"authentic\\\":true", "\\\"authentic\\\":false");
    assert_ne!(tampered, EVENT, "the fixture's body says authentic:true");
    let response = invoke(router(f.callbacks.clone()), &tampered, "r")
        .await
        .unwrap();
    assert_eq!(response["statusCode"], 401);
    let text = response["body"].as_str().unwrap();
    assert_eq!(text, "{\"error\":\"bad_signature\"}");
    let view = f
        .services
        .proofing()
        .status(JOB, "acct-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.status, JobStatus::Queued, "nothing changed");
}

#[tokio::test]
async fn given_the_fixture_ten_minutes_later_when_posted_then_its_timestamp_is_stale() {
    let f = function(10 * 60_000).await;
    let (status, body) = call(&f, EVENT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("stale_timestamp"))
    );
}
