//! Proofing jobs as an operator sees them: holding every item of the table and every
//! byte of its files (deleted rows included), the key service's whole API and any queue
//! message once it has been processed, but not the person's session cookie.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::job_key::FlowKey;
use super::tests::{NOW, ada, services};
use super::worker::ProofingWorker;
use super::{Finish, JobStatus, Jobs, context, key_record, parse_message};
use crate::clock::ManualClock;
use crate::idv::pii::Pii;
use crate::idv::testkit::found;
use crate::idv::uploads::samples;
use crate::idv::vendors::{
    AddressVendor, DocumentImages, DocumentVendor, LetterVendor, ResolutionVendor, StateIdVendor,
    VendorError, Vendors, Verdict,
};
use crate::queue::consumer::Outcome;
use crate::services::Services;
use crate::store::Query;

/// Vendors that pass everyone.
#[derive(Debug)]
struct Passing;

#[async_trait]
impl DocumentVendor for Passing {
    async fn submit(&self, _: &str, _: DocumentImages<'_>) -> Result<String, VendorError> {
        Ok("ref-1".into())
    }
}
#[async_trait]
impl ResolutionVendor for Passing {
    async fn resolve(&self, _: &Pii) -> Result<Verdict, VendorError> {
        Ok(Verdict::Pass)
    }
}
#[async_trait]
impl StateIdVendor for Passing {
    async fn check_state_id(&self, _: &Pii) -> Result<Verdict, VendorError> {
        Ok(Verdict::Pass)
    }
}
#[async_trait]
impl AddressVendor for Passing {
    async fn check_phone(&self, _: &str, _: &Pii) -> Result<Verdict, VendorError> {
        Ok(Verdict::Pass)
    }
}
#[async_trait]
impl LetterVendor for Passing {
    async fn send_letter(&self, _: &str, _: &Pii, _: &str) -> Result<String, VendorError> {
        Ok("letter-1".into())
    }
}

/// The person's values, distinctive enough that any hit is theirs.
fn person() -> Pii {
    let mut pii = ada();
    pii.family_name = "Quorvantisse".into();
    pii.ssn = "900417263".into();
    pii.id_number = "Q98127364".into();
    pii.address.line1 = "77 Zephyrine Crescent".into();
    pii
}

/// Marks an image, as the photo of a document carries its data.
const IMAGE_MARK: &str = "Xylographe-4471-front";

/// Everything the operator can open: every stored byte as is, and every binary attribute
/// of the jobs' items opened by the envelope under each context and record the code
/// uses for them (the key service answers whoever holds its API).
async fn operator_opens(s: &Services, dir: &std::path::Path, jobs: &[&str]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.push(std::fs::read(path).unwrap());
        }
    }
    for job in jobs {
        let contexts = [context(job)];
        for partition in [format!("PROOFING#{job}"), format!("UPLOAD#{job}")] {
            let items = s.store.query(&Query::partition(partition)).await.unwrap();
            for item in &items.items {
                for name in item.attrs.keys() {
                    let Some(sealed) = item.bytes(name) else {
                        continue;
                    };
                    out.push(sealed.to_vec());
                    for record in [
                        format!("PROOFING#{job}#input"),
                        format!("PROOFING#{job}#result"),
                        key_record(job),
                        format!("{}#{}", item.key.pk, item.key.sk),
                    ] {
                        for context in &contexts {
                            if let Ok(opened) = s.envelope.open(context, &record, sealed).await {
                                out.push(opened.to_vec());
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn worker(s: &Services) -> ProofingWorker {
    s.proofing_worker(Vendors::all(Arc::new(Passing)))
}

/// Runs every visible message through the worker, keeping what a queue operator could
/// have copied on the way.
async fn drain(s: &Services, w: &ProofingWorker) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let messages = s
            .proofing_queue
            .receive(10, Duration::from_secs(60), Duration::ZERO)
            .await
            .unwrap();
        if messages.is_empty() {
            return seen;
        }
        for m in messages {
            assert_ne!(w.run(&m.body, m.receive_count).await, Outcome::Retry);
            s.proofing_queue.delete(&m.receipt).await.unwrap();
            seen.push(m.body);
        }
    }
}

async fn queue_document_and_resolution(jobs: &Jobs, flow: &FlowKey) -> (String, String) {
    let front = samples::jpeg(Some(IMAGE_MARK));
    let document = jobs
        .submit_document("acct-1", flow, &front, &samples::png("x", None), None)
        .await
        .unwrap();
    let resolution = jobs
        .enqueue_resolution("acct-1", &person(), flow)
        .await
        .unwrap();
    (document, resolution)
}

#[tokio::test]
async fn given_jobs_that_ran_when_an_operator_opens_everything_then_no_input_image_or_result_opens()
{
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
    let jobs = s.proofing();
    let flow = FlowKey::from_bytes([9; 32]);
    // Given a document check and a resolution check that ran, the document's data
    // coming back by the vendor's callback
    let (document, resolution) = queue_document_and_resolution(&jobs, &flow).await;
    let w = worker(&s);
    drain(&s, &w).await;
    let read = person();
    assert!(
        jobs.finish(&document, Finish::Passed(Some(&read.to_json())))
            .await
            .unwrap()
    );
    assert_eq!(
        jobs.status(&resolution, "acct-1")
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Passed
    );
    // When the operator opens everything they hold
    let opened = operator_opens(&s, dir.path(), &[&document, &resolution]).await;
    // Then none of the person's values, nor the image, is in any of it
    for value in [
        read.family_name.as_str(),
        read.ssn.as_str(),
        read.id_number.as_str(),
        read.address.line1.as_str(),
        IMAGE_MARK,
    ] {
        assert_eq!(found(&opened, value), None, "{value}");
    }
    // While the person's session opens the result
    let result = jobs
        .document_result(&document, "acct-1", &flow)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result.family_name, read.family_name);
}

#[tokio::test]
async fn given_a_message_copied_in_flight_then_it_opens_the_input_but_never_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
    let jobs = s.proofing();
    let flow = FlowKey::from_bytes([9; 32]);
    let (document, _) = queue_document_and_resolution(&jobs, &flow).await;
    // Given the messages an operator copied from the queue before the worker took them
    let copied = drain(&s, &worker(&s)).await;
    jobs.finish(&document, Finish::Passed(Some(&person().to_json())))
        .await
        .unwrap();
    let mut opened = Vec::new();
    for body in &copied {
        let Some(delivery) = parse_message(body) else {
            continue;
        };
        let Some(sealed) = delivery.sealed_key else {
            continue;
        };
        let key = jobs.open_key(&delivery.job, &sealed).await.unwrap();
        // The control: what the key opens while the job runs is what the worker reads
        if delivery.job == document {
            let front = jobs
                .uploads()
                .get(&document, crate::idv::uploads::Side::Front, &key)
                .await
                .unwrap();
            assert!(front.is_none(), "the job ended: its images are deleted");
        }
        let record = jobs.load(&delivery.job).await.unwrap().unwrap();
        if let Some(result) = &record.result {
            // The job key is not the result's key
            for purpose in ["input", "result", "image/front"] {
                if let Some(p) = key.open(purpose, &delivery.job, result) {
                    opened.push(p.to_vec());
                }
            }
            opened.push(result.clone());
        }
    }
    assert_eq!(found(&opened, &person().family_name), None);
    // But a message copied before its job ran opens that job's input: the documented
    // window (the job's time in the queue)
    let pending = jobs
        .enqueue_resolution("acct-1", &person(), &flow)
        .await
        .unwrap();
    let messages = s
        .proofing_queue
        .receive(10, Duration::from_secs(60), Duration::ZERO)
        .await
        .unwrap();
    let delivery = parse_message(&messages[0].body).unwrap();
    assert_eq!(delivery.job, pending);
    let key = jobs
        .open_key(&pending, &delivery.sealed_key.unwrap())
        .await
        .unwrap();
    let record = jobs.load(&pending).await.unwrap().unwrap();
    let input = jobs.open_input(&record, &key).unwrap();
    let super::JobInput::Resolution { pii } = &input else {
        panic!("a resolution");
    };
    assert_eq!(pii.ssn, person().ssn);
}

#[tokio::test]
async fn given_the_control_when_a_value_is_sealed_by_the_key_service_alone_then_the_operator_finds_it()
 {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path(), Arc::new(ManualClock::at_ms(NOW)));
    let jobs = s.proofing();
    let flow = FlowKey::from_bytes([9; 32]);
    let id = jobs
        .enqueue_resolution("acct-1", &person(), &flow)
        .await
        .unwrap();
    // Given a result sealed the way it was before job keys (by the envelope alone)
    let sealed = s
        .envelope
        .seal(
            &context(&id),
            &format!("PROOFING#{id}#result"),
            &person().to_json(),
        )
        .await
        .unwrap();
    s.store
        .update(
            crate::store::Update::new(super::key(&id)).set("result", sealed),
            crate::store::Expect::Any,
        )
        .await
        .unwrap();
    // Then the operator's view opens it: the scan can fail
    let opened = operator_opens(&s, dir.path(), &[&id]).await;
    assert!(found(&opened, &person().family_name).is_some());
}
