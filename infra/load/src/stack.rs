//! The local stack under load, in this process as `cargo run` serves it (every router, the
//! demo agency, the in-process workers) over the embedded adapters in a fresh directory,
//! with the notify queue counted so that every mail can be reconciled at the end.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use passerelle::config::{Backend, Config};
use passerelle::queue::{Message, Queue, QueueError};
use passerelle::services::{NOTIFY_DLQ, NOTIFY_QUEUE, Services};
use passerelle::sqlite::Db;

/// Counts what was accepted onto the queue, to reconcile against what was delivered.
#[derive(Debug)]
pub struct CountingQueue {
    inner: Arc<dyn Queue>,
    pub sent: AtomicU64,
}

#[async_trait]
impl Queue for CountingQueue {
    fn adapter(&self) -> &'static str {
        self.inner.adapter()
    }
    async fn send(&self, body: &str, delay: Duration) -> Result<String, QueueError> {
        let id = self.inner.send(body, delay).await?;
        self.sent.fetch_add(1, Ordering::Relaxed);
        Ok(id)
    }
    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        self.inner.receive(max, visibility, wait).await
    }
    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(receipt).await
    }
}

/// What the notify queue and the outbox hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub queued: i64,
    pub dead_lettered: i64,
    pub delivered: i64,
}

/// The running stack.
#[derive(Debug)]
pub struct Stack {
    pub base: String,
    pub services: Arc<Services>,
    pub notify: Arc<CountingQueue>,
    db: Db,
    workers: Option<passerelle_local::Workers>,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Stack {
    pub async fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("a data directory: {e}"))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("a loopback port: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        // `localhost`, as people address the local stack (and the only host WebAuthn takes).
        let base = format!("http://localhost:{port}");
        let vars: HashMap<String, String> = [
            ("PASSERELLE_DATA_DIR", dir.path().display().to_string()),
            ("PASSERELLE_LISTEN", format!("127.0.0.1:{port}")),
            ("PASSERELLE_PUBLIC_URL", base.clone()),
            ("PASSERELLE_LOG", "warn".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let config = Config::from_vars(&vars).map_err(|e| e.to_string())?;
        if !matches!(config.backend, Backend::Embedded(_)) {
            return Err("the load runs on the embedded adapters".into());
        }
        let mut services = Services::build(&config).await.map_err(|e| e.to_string())?;
        let db = Db::in_dir(dir.path()).map_err(|e| e.to_string())?;
        let notify = Arc::new(CountingQueue {
            inner: Arc::clone(&services.notify_queue),
            sent: AtomicU64::new(0),
        });
        services.notify_queue = Arc::clone(&notify) as Arc<dyn Queue>;
        let services = Arc::new(services);
        let app = passerelle_local::app_with_demo(&config, &services).await?;
        let workers = passerelle_local::start_workers(&config, &services);
        let server = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            base,
            services,
            notify,
            db,
            workers: Some(workers),
            server,
            _dir: dir,
        })
    }

    /// Messages on the notify queue now (visible or in flight), in its dead-letter queue,
    /// and mail and texts delivered to the outbox: read through a connection of our own to
    /// the same file, as an operator's `sqlite3` would.
    pub async fn counts(&self) -> Counts {
        self.db
            .sql(|conn| {
                let queue = |name: &str| {
                    conn.query_row(
                        "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1",
                        [name],
                        |r| r.get::<_, i64>(0),
                    )
                };
                Ok(Counts {
                    queued: queue(NOTIFY_QUEUE)?,
                    dead_lettered: queue(NOTIFY_DLQ)?,
                    delivered: conn.query_row(
                        "SELECT COUNT(*) FROM outbox WHERE kind <> 'letter'",
                        [],
                        |r| r.get::<_, i64>(0),
                    )?,
                })
            })
            .await
            .unwrap_or(Counts {
                queued: -1,
                dead_lettered: -1,
                delivered: -1,
            })
    }

    pub async fn stop(mut self) {
        if let Some(w) = self.workers.take() {
            w.shutdown().await;
        }
        self.server.abort();
    }
}
