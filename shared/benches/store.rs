//! The embedded SQLite store (a file in a temp dir, WAL mode, as `cargo run` uses it): a
//! read, a conditional create, a counter, a 10-write transaction and a 100-item page; and
//! what leaving no deleted data in the files costs (`store_deleted`: a job's write and
//! deletion with `secure_delete` off and on, scrubbed after each deletion or every second).
//! These are the local adapter's costs; DynamoDB's are network round trips and are not
//! measured here.

mod support;

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use passerelle::clock::SystemClock;
use passerelle::sqlite::{Db, SCRUB_EVERY};
use passerelle::store::embedded::EmbeddedStore;
use passerelle::store::{Expect, Item, Key, Query, Store, Update, Write};

/// A profile-sized item: a few strings, a number, a blob, a flag.
fn item(key: Key) -> Item {
    Item::new(key)
        .with("email", "someone@example.org")
        .with("display_name", "Someone Example")
        .with("created_ms", 1_763_000_000_000_i64)
        .with("secret", vec![7_u8; 96])
        .with("verified", true)
}

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::in_dir(dir.path()).expect("database");
    let store = EmbeddedStore::new(db, Arc::new(SystemClock));

    let existing = Key::new("USER#existing", "PROFILE");
    rt.block_on(store.put(item(existing.clone()), Expect::Any))
        .expect("seed item");
    let counter = Key::new("COUNTER#bench", "COUNT");
    let partition = "PAGE#bench";
    for i in 0..250 {
        let key = Key::new(partition, format!("ITEM#{i:05}"));
        rt.block_on(store.put(item(key), Expect::Absent))
            .expect("seed page");
    }
    // Fresh keys for every create, so `Expect::Absent` always holds.
    let mut fresh = 0_u64;
    let mut next_key = move |prefix: &str| {
        fresh += 1;
        Key::new(format!("{prefix}#{fresh}"), "PROFILE")
    };

    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(1));
    group.bench_function("get", |b| {
        b.to_async(&rt).iter(|| async {
            let found = store.get(&existing).await.expect("get");
            assert!(found.is_some());
            found
        });
    });
    group.bench_function("put_absent", |b| {
        b.to_async(&rt).iter(|| {
            let key = next_key("PUT");
            let store = &store;
            async move { store.put(item(key), Expect::Absent).await.expect("put") }
        });
    });
    group.bench_function("update_counter", |b| {
        b.to_async(&rt).iter(|| async {
            store
                .update(Update::new(counter.clone()).add("count", 1), Expect::Any)
                .await
                .expect("update")
        });
    });
    group.throughput(Throughput::Elements(10));
    group.bench_function("transact_10_puts", |b| {
        b.to_async(&rt).iter(|| {
            let writes: Vec<Write> = (0..10)
                .map(|_| Write::Put(item(next_key("TX")), Expect::Absent))
                .collect();
            let store = &store;
            async move { store.transact(writes).await.expect("transact") }
        });
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("query_page_100", |b| {
        b.to_async(&rt).iter(|| async {
            let page = store
                .query(&Query::partition(partition).limit(100))
                .await
                .expect("query");
            assert_eq!(page.items.len(), 100);
            page
        });
    });
    group.finish();
}

/// A proofing job's input item: its sealed PII (~2 KiB of ciphertext) and its state.
fn job(key: Key) -> Item {
    Item::new(key)
        .with("input", vec![9_u8; 2048])
        .with("state", "pending")
        .with("created_ms", 1_763_000_000_000_i64)
}

/// One job written and deleted, on a database of its own, four ways: SQLite's default
/// (`secure_delete` off, the baseline), `secure_delete` on (what `Db::open` sets), on and
/// a truncating checkpoint after every deletion, on and the local stack's scrub every
/// second in the background.
fn deleted(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut group = c.benchmark_group("store_deleted");
    group.throughput(Throughput::Elements(1));
    for (name, secure, scrub_each, scrub_every) in [
        ("put_delete_secure_delete_off", false, false, false),
        ("put_delete", true, false, false),
        ("put_delete_scrub_each", true, true, false),
        ("put_delete_scrub_every_second", true, false, true),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::in_dir(dir.path()).expect("database");
        if !secure {
            rt.block_on(db.sql(|c| c.pragma_update(None, "secure_delete", "OFF")))
                .expect("secure_delete off");
        }
        let scrubber = scrub_every.then(|| {
            let db = db.clone();
            rt.spawn(async move {
                let mut tick = tokio::time::interval(SCRUB_EVERY);
                loop {
                    tick.tick().await;
                    if db.scrub_pending() {
                        db.scrub().await.expect("scrub");
                    }
                }
            })
        });
        let store = EmbeddedStore::new(db.clone(), Arc::new(SystemClock));
        let mut n = 0_u64;
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                n += 1;
                let key = Key::new(format!("PROOFING#{n}"), "JOB");
                let (store, db) = (&store, &db);
                async move {
                    store
                        .put(job(key.clone()), Expect::Absent)
                        .await
                        .expect("put");
                    store.delete(&key, Expect::Present).await.expect("delete");
                    if scrub_each {
                        db.scrub().await.expect("scrub");
                    }
                }
            });
        });
        if let Some(task) = scrubber {
            task.abort();
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::short_runs();
    targets = store, deleted
}
criterion_main!(benches);
