//! Queue consumers and request spans on the same multi-threaded runtime, under the real
//! log subscriber: a consumer's message span must never leak onto a worker thread's span
//! stack, where requests served meanwhile would take it as their parent and, once it
//! closed, tracing-subscriber's registry would panic cloning it (a dropped connection).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use passerelle::queue::consumer::{JobHandler, Outcome, consume};
use passerelle::queue::{Message, Queue, QueueError};
use tokio::sync::{Mutex, watch};
use tracing::Instrument;

const MESSAGES: usize = 3_000;

/// A queue that hands out `MESSAGES` messages in batches of ten, then nothing.
#[derive(Debug, Default)]
struct Batches {
    left: Mutex<VecDeque<Message>>,
}

#[async_trait]
impl Queue for Batches {
    fn adapter(&self) -> &'static str {
        "test"
    }
    async fn send(&self, _: &str, _: Duration) -> Result<String, QueueError> {
        unreachable!("the test only consumes")
    }
    async fn receive(
        &self,
        max: u32,
        _: Duration,
        _: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        tokio::task::yield_now().await;
        let mut left = self.left.lock().await;
        let n = left.len().min(max as usize);
        Ok(left.drain(..n).collect())
    }
    async fn delete(&self, _: &str) -> Result<(), QueueError> {
        // A real delete awaits I/O: the consumer parks here too.
        tokio::time::sleep(Duration::from_micros(20)).await;
        Ok(())
    }
}

/// A handler that parks mid-job, as mail delivery does while it writes the outbox.
#[derive(Debug, Default)]
struct Parks {
    handled: AtomicUsize,
}

#[async_trait]
impl JobHandler for Parks {
    fn name(&self) -> &'static str {
        "parks"
    }
    async fn handle(&self, _: &str, _: &str) -> Outcome {
        tokio::time::sleep(Duration::from_micros(50)).await;
        tracing::info!("handled");
        self.handled.fetch_add(1, Ordering::Relaxed);
        Outcome::Done
    }
}

#[test]
fn message_spans_never_become_the_parent_of_requests_on_the_same_thread() {
    // Given the subscriber the binaries install, and a two-thread runtime
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let queue = Arc::new(Batches::default());
        {
            let mut left = queue.left.lock().await;
            for i in 0..MESSAGES {
                left.push_back(Message {
                    id: format!("m{i}"),
                    receipt: format!("r{i}"),
                    body: "{}".into(),
                    receive_count: 1,
                });
            }
        }
        let handler = Arc::new(Parks::default());
        let (stop, shutdown) = watch::channel(false);
        // When the consumer works through its batches while requests open their spans
        // (as the request-id middleware does: a root span made outside any instrumented
        // future, then entered around the handler)
        let consumer = tokio::spawn(consume(
            Arc::clone(&queue) as Arc<dyn Queue>,
            Arc::clone(&handler) as Arc<dyn JobHandler>,
            shutdown,
        ));
        let mut requests = Vec::new();
        for _ in 0..4 {
            let handler = Arc::clone(&handler);
            requests.push(tokio::spawn(async move {
                let mut served = 0usize;
                while handler.handled.load(Ordering::Relaxed) < MESSAGES {
                    let span = tracing::info_span!("request", id = served);
                    async {
                        tokio::task::yield_now().await;
                        tracing::info!("served");
                    }
                    .instrument(span)
                    .await;
                    served += 1;
                }
                served
            }));
        }
        // Then every request task and the consumer finish without a panic
        let mut served = 0;
        for r in requests {
            served += r.await.expect("a request task panicked");
        }
        stop.send(true).unwrap();
        consumer.await.expect("the consumer panicked");
        assert_eq!(handler.handled.load(Ordering::Relaxed), MESSAGES);
        assert!(served > 0);
    });
}
