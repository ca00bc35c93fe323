//! The worker driven as Lambda drives it: an SQS event from `events/` goes through the
//! same batch handler the function serves, and the response names the records to retry.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use passerelle::config::EmbeddedConfig;
use passerelle::lambda::handle_sqs_batch;
use passerelle::notify::job::{self, Outgoing};
use passerelle::queue::consumer::JobHandler;
use passerelle::services::Services;

const EVENT: &str = include_str!("../../../events/notify-worker/sqs-batch.json");

fn services(dir: &std::path::Path) -> Services {
    let cfg = EmbeddedConfig {
        data_dir: dir.to_owned(),
        max_receives: 5,
    };
    Services::embedded(
        &cfg,
        Arc::new(passerelle::clock::SystemClock),
        Arc::new(passerelle::random::OsRandom),
    )
    .expect("embedded services")
}

#[tokio::test]
async fn a_batch_delivers_good_jobs_and_reports_the_bad_one() {
    // Given the sample batch, its first body replaced by a sealed email job and its second
    // by something that is not a job
    let dir = tempfile::tempdir().unwrap();
    let services = services(dir.path());
    let email = Outgoing::Email {
        to: "jane@example.gov".into(),
        subject: "Welcome".into(),
        text: "Hello https://localhost:3000/".into(),
        html: "<p>Hello</p>".into(),
    };
    let (_, sealed) = job::seal(&services.envelope, services.random.as_ref(), &email)
        .await
        .unwrap();
    let mut event: SqsEvent = serde_json::from_str(EVENT).expect("the fixture is an SQS event");
    assert_eq!(event.records.len(), 2, "the fixture holds two records");
    event.records[0].body = Some(sealed.clone());
    event.records[1].body = Some("{\"v\":1,\"id\":\"x\",\"sealed\":\"AAAA\"}".into());
    let bad_id = event.records[1].message_id.clone().unwrap();

    // When the worker handles it
    let handler: Arc<dyn JobHandler> = Arc::new(services.deliverer());
    let response = handle_sqs_batch(&handler, event).await;

    // Then the email is in the outbox and only the bad record is reported for retry
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec![bad_id.as_str()]);
    let outbox = services
        .local
        .as_ref()
        .unwrap()
        .outbox
        .list(Some("jane@example.gov"), 10)
        .await
        .unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].subject, "Welcome");
    // And the queue body itself never shows the address
    assert!(!sealed.contains("jane@example.gov"));
}

#[tokio::test]
async fn a_refused_message_is_reported_so_sqs_dead_letters_it() {
    // Given a job whose recipient can never receive mail
    let dir = tempfile::tempdir().unwrap();
    let services = services(dir.path());
    let bad = Outgoing::Sms {
        to: "12345".into(),
        body: "code".into(),
        channel: passerelle::notify::Channel::Text,
    };
    let (_, sealed) = job::seal(&services.envelope, services.random.as_ref(), &bad)
        .await
        .unwrap();
    let mut event: SqsEvent = serde_json::from_str(EVENT).unwrap();
    event.records.truncate(1);
    event.records[0].body = Some(sealed);
    let refused_id = event.records[0].message_id.clone().unwrap();

    // When the worker handles it
    let handler: Arc<dyn JobHandler> = Arc::new(services.deliverer());
    let response = handle_sqs_batch(&handler, event).await;

    // Then the record is reported as failed, so SQS keeps it and its redrive policy moves it
    // to the dead-letter queue (a refusal is never silently dropped), and nothing was sent
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec![refused_id.as_str()]);
    assert!(
        services
            .local
            .as_ref()
            .unwrap()
            .outbox
            .list(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
