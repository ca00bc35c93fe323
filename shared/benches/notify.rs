//! The notify job path end to end on the embedded adapters: the page seals a job
//! (`notify::job::seal`), the worker opens it and hands it to the mailer or SMS sender
//! (`Deliverer::deliver`), here the SQLite outbox. The queue hop itself is left out.

mod support;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use passerelle::clock::SystemClock;
use passerelle::envelope::{CacheLimits, Envelope};
use passerelle::keys::local::LocalKeyService;
use passerelle::notify::job::{Deliverer, Outgoing, seal};
use passerelle::notify::outbox::Outbox;
use passerelle::notify::{Channel, Email, Sms};
use passerelle::random::OsRandom;
use passerelle::sqlite::Db;

fn notify(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let random = Arc::new(OsRandom);
    let keys = Arc::new(LocalKeyService::open(dir.path(), random.clone()).expect("root key"));
    let envelope = Arc::new(Envelope::new(
        keys,
        Arc::new(SystemClock),
        random.clone(),
        CacheLimits::default(),
    ));
    let outbox = Arc::new(Outbox::new(
        Db::in_dir(dir.path()).expect("database"),
        Arc::new(SystemClock),
    ));
    let deliverer = Deliverer {
        envelope: envelope.clone(),
        mailer: outbox.clone(),
        sms: outbox,
    };
    // A confirmation mail of realistic size: a short text body and its HTML twin.
    let email = Outgoing::from(Email {
        to: "someone@example.org".into(),
        subject: "Confirm your email address".into(),
        text: "Your confirmation code is 482913. It expires in 10 minutes.\n".repeat(8),
        html: "<p>Your confirmation code is <b>482913</b>. It expires in 10 minutes.</p>\n"
            .repeat(16),
    });
    let sms = Outgoing::from(Sms {
        to: "+33612345678".into(),
        body: "Passerelle: your code is 482913".into(),
        channel: Channel::Text,
    });

    let mut group = c.benchmark_group("notify");
    group.bench_function("seal/email", |b| {
        b.to_async(&rt).iter(|| async {
            seal(&envelope, random.as_ref(), &email)
                .await
                .expect("seal")
        });
    });
    for (name, message) in [("email", &email), ("sms", &sms)] {
        group.bench_function(format!("seal_deliver/{name}"), |b| {
            b.to_async(&rt).iter(|| async {
                let (_, body) = seal(&envelope, random.as_ref(), message)
                    .await
                    .expect("seal");
                deliverer.deliver(&body).await.expect("deliver")
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::short_runs();
    targets = notify
}
criterion_main!(benches);
