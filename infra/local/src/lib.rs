//! The local stack: every HTTP function's router mounted on one address, and every queue
//! consumer running as an in-process worker, over the same adapters the functions use.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use passerelle::config::Config;
use passerelle::queue::consumer::{JobHandler, consume};
use passerelle::services::Services;
use passerelle::web::{WebState, router};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running background work; dropping `stop` (or sending `true`) ends it.
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Asks every worker to stop and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// The router of every HTTP function, as one application.
pub fn app(config: &Config, services: &Arc<Services>) -> axum::Router {
    // Later functions' routers merge here, each as its Lambda would serve it.
    router(WebState::new(
        Arc::clone(services),
        config.public_url.clone(),
        services.local.is_some(),
    ))
}

/// Starts the queue consumers and, for the embedded store, the expired-item sweep.
pub fn start_workers(services: &Arc<Services>) -> Workers {
    let (stop, stopped) = watch::channel(false);
    let deliverer: Arc<dyn JobHandler> = Arc::new(services.deliverer());
    let mut tasks = vec![tokio::spawn(consume(
        Arc::clone(&services.notify_queue),
        deliverer,
        stopped.clone(),
    ))];
    if let Some(local) = services.local.clone() {
        let mut stopped = stopped;
        tasks.push(tokio::spawn(async move {
            // Expired items are already invisible; this only reclaims space.
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = local.store.purge_expired().await {
                            tracing::warn!(error = %e, "expired-item sweep failed");
                        }
                    }
                    _ = stopped.changed() => break,
                }
            }
        }));
    }
    Workers { stop, tasks }
}
