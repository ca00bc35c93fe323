//! Stopping the local stack cleanly: on Ctrl-C (SIGINT) or SIGTERM (what `kill`, systemd,
//! `docker stop` and ECS send before SIGKILL), the server stops accepting connections,
//! lets the requests under way finish, and only then stops the workers, which finish the
//! messages they hold. Accepted work that is not done stays in the durable queue for the
//! next start (docs/operations.md, "Stop and restart").
//!
//! Every wait is bounded, so that a stuck client or a stuck vendor call cannot make the
//! stop outlast the supervisor's patience and end in a SIGKILL anyway: what is cut short
//! then is only what was never answered (a request) or never deleted from the queue (a
//! job), and both are safe to lose in that state.

use std::future::Future;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// How long the requests under way may take once a stop is asked: under the 30 s that
/// systemd, Docker and ECS leave between SIGTERM and SIGKILL, with room for the workers.
pub const DRAIN: Duration = Duration::from_secs(15);

/// How long the workers then get to finish what they hold. A mail is one database write;
/// a proofing job waits on vendors, each call bounded by `PASSERELLE_VENDOR_TIMEOUT_MS`.
/// A job cut short was never deleted: it comes back after the queue's visibility timeout.
pub const WORKERS_STOP: Duration = Duration::from_secs(10);

/// The stop signals, listened for from the moment this is made. Made before the stack
/// says it is running: until a handler is installed, SIGTERM's default action ends the
/// process at once, in the middle of whatever it was writing.
#[derive(Debug)]
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    /// Installs the handlers for SIGINT and SIGTERM.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the first of them; returns its name, for the log.
    pub async fn wait(mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    /// A receiver that turns `true` when a stop is asked (the signal is logged once).
    pub fn watch(self) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let signal = self.wait().await;
            tracing::info!(
                signal,
                "stopping: no new connections; requests under way finish, then the workers \
                 finish the messages they hold"
            );
            let _ = tx.send(true);
        });
        rx
    }
}

/// Resolves when `stopping` turns true (or its sender is gone).
pub async fn asked(mut stopping: watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Runs `server` (built with `with_graceful_shutdown(asked(stopping))`) until it ends, or
/// until [`DRAIN`] after a stop was asked, whichever comes first. Past the deadline the
/// connections still open are closed: their requests were not answered, so a person or an
/// agency sees an error and asks again; nothing they were told was done is undone.
pub async fn serve_until_drained<E>(
    server: impl Future<Output = Result<(), E>>,
    stopping: watch::Receiver<bool>,
    drain: Duration,
) -> Result<(), E> {
    tokio::select! {
        served = server => served,
        () = async {
            asked(stopping).await;
            tokio::time::sleep(drain).await;
        } => {
            tracing::warn!(
                seconds = drain.as_secs(),
                "requests still under way after the drain deadline: their connections are closed"
            );
            Ok(())
        }
    }
}

/// Waits up to `limit` for `workers` to stop; says so when they did not.
pub async fn stop_workers(workers: crate::Workers, limit: Duration) {
    match tokio::time::timeout(limit, workers.shutdown()).await {
        Ok(()) => tracing::info!("stopped: every worker finished what it held"),
        Err(_) => tracing::warn!(
            seconds = limit.as_secs(),
            "a worker was still busy at the stop deadline; the job it held was not deleted \
             and comes back after the queue's visibility timeout"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_server_still_busy_at_the_deadline_is_cut_short_after_the_drain() {
        // Given a server whose last request never ends, and a stop asked
        let (tx, rx) = watch::channel(false);
        let server = std::future::pending::<Result<(), ()>>();
        tx.send(true).unwrap();
        // When it is served until drained
        let started = tokio::time::Instant::now();
        let out = serve_until_drained(server, rx, DRAIN).await;
        // Then it ends, at the deadline and not before
        assert_eq!(out, Ok(()));
        assert_eq!(started.elapsed(), DRAIN);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_drains_in_time_ends_when_it_does() {
        // Given a server that finishes its requests 2 s after the stop
        let (tx, rx) = watch::channel(false);
        let server = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            Err::<(), _>("the listener failed")
        };
        tx.send(true).unwrap();
        // When it is served until drained, then its own outcome is kept, at 2 s
        let started = tokio::time::Instant::now();
        assert_eq!(
            serve_until_drained(server, rx, DRAIN).await,
            Err("the listener failed")
        );
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn no_deadline_runs_while_no_stop_is_asked() {
        // Given a server that runs for an hour and no stop asked
        let (_tx, rx) = watch::channel(false);
        let server = async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<(), ()>(())
        };
        // Then it runs the whole hour
        let started = tokio::time::Instant::now();
        serve_until_drained(server, rx, DRAIN).await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(3600));
    }
}
