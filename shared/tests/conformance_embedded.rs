//! Every port's conformance suite against the embedded adapters (SQLite store, queue and
//! outbox, local root key), each case in its own temporary data directory.

use std::sync::Arc;

use async_trait::async_trait;
use passerelle::clock::{Clock, SystemClock};
use passerelle::conformance::Harness;
use passerelle::keys::KeyService;
use passerelle::keys::local::LocalKeyService;
use passerelle::notify::outbox::Outbox;
use passerelle::notify::{Mailer, SmsSender};
use passerelle::queue::Queue;
use passerelle::queue::embedded::{DeadLetter, EmbeddedQueue};
use passerelle::random::OsRandom;
use passerelle::sqlite::Db;
use passerelle::store::Store;
use passerelle::store::embedded::EmbeddedStore;

struct Embedded {
    dir: tempfile::TempDir,
    db: Db,
}

fn embedded() -> Embedded {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = Db::in_dir(dir.path()).expect("the embedded database opens");
    Embedded { dir, db }
}

#[async_trait]
impl Harness for Embedded {
    async fn store(&self, clock: Arc<dyn Clock>) -> Arc<dyn Store> {
        Arc::new(EmbeddedStore::new(self.db.clone(), clock))
    }

    async fn keys(&self) -> Arc<dyn KeyService> {
        Arc::new(LocalKeyService::open(self.dir.path(), Arc::new(OsRandom)).expect("root key"))
    }

    async fn other_keys(&self) -> Arc<dyn KeyService> {
        let other = self.dir.path().join("other-deployment");
        std::fs::create_dir_all(&other).expect("a directory");
        Arc::new(LocalKeyService::open(&other, Arc::new(OsRandom)).expect("root key"))
    }

    async fn queue_with_dead_letter(&self, max_receives: u32) -> (Arc<dyn Queue>, Arc<dyn Queue>) {
        let name = passerelle::conformance::unique("q");
        let dlq = format!("{name}-dlq");
        let make = |n: &str, dl: Option<DeadLetter>| {
            Arc::new(EmbeddedQueue::new(
                self.db.clone(),
                n,
                dl,
                Arc::new(SystemClock),
                Arc::new(OsRandom),
            ))
        };
        (
            make(
                &name,
                Some(DeadLetter {
                    queue: dlq.clone(),
                    max_receives,
                }),
            ),
            make(&dlq, None),
        )
    }

    async fn mailer(&self) -> Arc<dyn Mailer> {
        Arc::new(Outbox::new(self.db.clone(), Arc::new(SystemClock)))
    }

    async fn sms(&self) -> Arc<dyn SmsSender> {
        Arc::new(Outbox::new(self.db.clone(), Arc::new(SystemClock)))
    }

    async fn delivered_to(&self, recipient: &str) -> usize {
        Outbox::new(self.db.clone(), Arc::new(SystemClock))
            .list(Some(recipient), 100)
            .await
            .expect("the outbox lists")
            .len()
    }
}

passerelle::conformance_tests!(super::embedded());

/// Two handles on one data directory behave like two processes: SQLite's lock decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_racing_a_create_have_one_winner() {
    use passerelle::store::{Expect, Item, Key, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Arc<dyn Store>> = (0..2)
        .map(|_| {
            let db = Db::in_dir(dir.path()).unwrap();
            Arc::new(EmbeddedStore::new(db, Arc::new(SystemClock))) as Arc<dyn Store>
        })
        .collect();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&stores[i % 2]);
            tokio::spawn(async move {
                store
                    .put(Item::new(Key::new("EMAIL#x", "CLAIM")), Expect::Absent)
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(wins, 1);
}
