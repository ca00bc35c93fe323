//! The local stack: every HTTP function's router mounted on one address, and every queue
//! consumer and scheduled job running as an in-process worker, over the same adapters the
//! functions use.
#![forbid(unsafe_code)]

pub mod admin;
pub mod demo;
pub mod shutdown;
pub mod vendors;

use std::sync::Arc;
use std::time::Duration;

use passerelle::config::{Config, VendorConfig};
use passerelle::idv::callback::{CallbackSecrets, Callbacks, DOCUMENT_CALLBACK_PATH};
use passerelle::idv::vendors::http::HttpVendors;
use passerelle::queue::consumer::{JobHandler, consume};
use passerelle::services::Services;
use passerelle::sqlite::{Db, SCRUB_EVERY};
use passerelle::web::account_reset::run_due_resets;
use passerelle::web::letter_reminders::run_due_letter_reminders;
use passerelle::web::{WebState, router};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running background work; dropping `stop` (or sending `true`) ends it.
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The embedded database, scrubbed once more when every worker has stopped.
    db: Option<Db>,
}

impl Workers {
    /// Asks every worker to stop, waits for them, then scrubs the embedded database's WAL:
    /// what the last batches deleted (processed messages, finished jobs) does not stay in
    /// the files the stack leaves behind.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(db) = self.db {
            match db.scrub().await {
                Ok(true) => {}
                // Another process still reads the file; its own shutdown scrubs.
                Ok(false) => tracing::warn!("the WAL was still in use at shutdown; not scrubbed"),
                Err(e) => tracing::warn!(error = %e, "the WAL scrub at shutdown failed"),
            }
        }
    }
}

/// Scrubs the embedded database's WAL every `every` while it holds frames, until `stopped`
/// changes: deleted rows stay readable in the files for at most that long
/// (`passerelle::sqlite::SCRUB_EVERY`, and docs/performance.md for its cost).
pub async fn scrub_wal(db: Db, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if !db.scrub_pending() {
                    continue;
                }
                match db.scrub().await {
                    Ok(true) => {}
                    // A reader of an older snapshot in another process: the next tick.
                    Ok(false) => tracing::debug!("WAL in use; scrub deferred"),
                    Err(e) => tracing::warn!(error = %e, "WAL scrub failed"),
                }
            }
            _ = stopped.changed() => break,
        }
    }
}

/// How often the local stack runs the scheduled jobs — account resets and letter
/// reminders (every 5 minutes on AWS).
pub const ACCOUNT_RESET_EVERY: Duration = Duration::from_secs(60);

/// The web state the site and the scheduled jobs run with: the configured public URL, and
/// `/dev/outbox` with the embedded adapters only.
pub fn state(config: &Config, services: &Arc<Services>) -> WebState {
    WebState::from_config(Arc::clone(services), config, services.local.is_some())
}

/// The router of every HTTP function, as one application.
pub fn app(config: &Config, services: &Arc<Services>) -> axum::Router {
    // Each function's router, as its Lambda would serve it: the JSON endpoints of the
    // `oidc` and `token` functions first, every page (site and oidc) behind them.
    let state = state(config, services);
    passerelle::api::router(state.api.clone())
        .merge(callback_router(services))
        .merge(router(state))
}

/// The local stack's vendor settings: the environment's (`PASSERELLE_VENDOR_*`, checked at
/// start by `main`), with a callback secret made for this process when none is set (the
/// mock vendors and the callback share it in-process).
pub fn vendor_config() -> VendorConfig {
    static LOCAL_SECRET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let env = VendorConfig::from_env().unwrap_or_else(|_| VendorConfig::with(None, 5000, vec![]));
    if env.callback_secrets().is_ok() {
        return env;
    }
    let secret = LOCAL_SECRET.get_or_init(|| {
        use passerelle::random::RandomExt;
        passerelle::random::OsRandom.token(32)
    });
    VendorConfig::with(
        env.url_if_set().map(str::to_owned),
        env.timeout_ms,
        vec![secret.clone()],
    )
}

fn callback_secrets() -> CallbackSecrets {
    // vendor_config always holds one or two valid secrets.
    CallbackSecrets::from_config(&vendor_config())
        .unwrap_or_else(|e| passerelle::services::exit_with(&e))
}

/// The `proofing-callback` function's router: `POST /vendor/callback/document`.
pub fn callback_router(services: &Arc<Services>) -> axum::Router {
    passerelle::idv::callback::router(Callbacks::new(services.proofing(), callback_secrets()))
}

/// [`app`] with the demo agency at `/demo/` (embedded backend only: its key lives in the
/// data directory, and a deployment has real agencies instead).
pub async fn app_with_demo(
    config: &Config,
    services: &Arc<Services>,
) -> Result<axum::Router, String> {
    let app = app(config, services);
    let passerelle::config::Backend::Embedded(embedded) = &config.backend else {
        return Ok(app);
    };
    let demo = demo::register(&state(config, services), &embedded.data_dir).await?;
    Ok(demo::routes(demo).merge(app))
}

/// Starts the queue consumers, the scheduled jobs (the account-reset job and the letter
/// reminders every [`ACCOUNT_RESET_EVERY`]) and, for the embedded store, the expired-item
/// sweep and the WAL scrub ([`scrub_wal`] every [`SCRUB_EVERY`]).
pub fn start_workers(config: &Config, services: &Arc<Services>) -> Workers {
    let (stop, stopped) = watch::channel(false);
    let deliverer: Arc<dyn JobHandler> = Arc::new(services.deliverer());
    let mut tasks = vec![
        tokio::spawn(consume(
            Arc::clone(&services.notify_queue),
            deliverer,
            stopped.clone(),
        )),
        proofing_worker(config, services, &stopped),
        tokio::spawn(account_resets(
            state(config, services),
            ACCOUNT_RESET_EVERY,
            stopped.clone(),
        )),
    ];
    let db = services.local.as_ref().map(|l| l.store.db().clone());
    if let Some(db) = db.clone() {
        tasks.push(tokio::spawn(scrub_wal(db, SCRUB_EVERY, stopped.clone())));
    }
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
    Workers { stop, tasks, db }
}

/// The `proofing-worker` function, in-process: over `PASSERELLE_VENDOR_URL` when set,
/// else over the mock vendors, started on a free loopback port and posting their document
/// results to this stack's callback.
fn proofing_worker(
    config: &Config,
    services: &Arc<Services>,
    stopped: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    let vendor_config = vendor_config();
    let mut tasks = Vec::new();
    let url = match vendor_config.url_if_set() {
        Some(url) => url.to_owned(),
        None => match start_mock_vendors(config, services, stopped.clone()) {
            Ok((url, task)) => {
                tasks.push(task);
                url
            }
            Err(e) => {
                tracing::error!(error = %e, "the mock vendors could not start; no proofing worker");
                return tokio::spawn(async {});
            }
        },
    };
    let vendors = HttpVendors::new(
        &url,
        passerelle::idv::vendors::http::RetryPolicy::with_timeout(Duration::from_millis(
            vendor_config.timeout_ms,
        )),
    );
    let worker: Arc<dyn JobHandler> = match vendors {
        Ok(v) => Arc::new(services.proofing_worker(v.vendors())),
        Err(e) => {
            tracing::error!(error = %e, "no vendor client; no proofing worker");
            return tokio::spawn(async {});
        }
    };
    let queue = Arc::clone(&services.proofing_queue);
    let stopped = stopped.clone();
    tokio::spawn(async move {
        consume(queue, worker, stopped).await;
        for t in tasks {
            let _ = t.await;
        }
    })
}

/// Starts the mock vendors on a free loopback port; returns their base URL.
fn start_mock_vendors(
    config: &Config,
    services: &Arc<Services>,
    stopped: watch::Receiver<bool>,
) -> std::io::Result<(String, JoinHandle<()>)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut mock = vendors::MockConfig::new(
        format!("{}{DOCUMENT_CALLBACK_PATH}", config.public_url),
        callback_secrets(),
    );
    mock.letters = services.local.as_ref().map(|l| l.outbox.clone());
    tracing::debug!(url = %url, "mock vendors listening");
    Ok((url, vendors::spawn(listener, mock, stopped)))
}

/// The `account-reset-job` function's schedule, in-process: its two jobs,
/// [`run_due_resets`] then [`run_due_letter_reminders`], now and then every `every`, until
/// `stopped` changes. A failed job is logged, the other still runs, and the next tick
/// retries. A run under way is never cut short (both jobs mark what they mail before they
/// queue it): stopping waits for it to end.
pub async fn account_resets(state: WebState, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    // After a long run (or a suspended laptop), wait a full period rather than catch up.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = run_due_resets(&state).await {
                    tracing::warn!(job = "account-reset", error = %e, "scheduled run failed");
                }
                if let Err(e) = run_due_letter_reminders(&state).await {
                    tracing::warn!(job = "letter-reminders", error = %e, "scheduled run failed");
                }
            }
            _ = stopped.changed() => break,
        }
    }
}
