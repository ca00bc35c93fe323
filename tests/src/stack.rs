//! The local stack in-process, as `cargo run` serves it: every function's router and the
//! demo agency (`passerelle_local::app_with_demo`) and the in-process workers (mail delivery to the outbox), over
//! the embedded adapters in a fresh data directory, on an ephemeral port bound to
//! 127.0.0.1 and addressed as `http://localhost:<port>`: the public URL the site puts in
//! links and checks form origins against, and the only host WebAuthn accepts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle::clock::{Clock, ManualClock, SystemClock};
use passerelle::config::{Backend, Config};
use passerelle::random::OsRandom;
use passerelle::services::Services;
use passerelle::session::SessionPolicy;
use tokio::task::JoinHandle;

/// How a test wants its stack.
#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    /// A clock the test moves ([`Stack::advance`]) instead of the system clock: the
    /// server's notion of time only; the browser keeps real time.
    pub manual_clock: bool,
    /// Session timings other than the configuration's (`PASSERELLE_SESSION_IDLE_SECS`
    /// only sets the idle timeout and derives the warning from it).
    pub session_policy: Option<SessionPolicy>,
}

/// A running stack; stopped by [`Stack::shutdown`], or when dropped.
#[derive(Debug)]
pub struct Stack {
    base: String,
    pub services: Arc<Services>,
    manual: Option<Arc<ManualClock>>,
    server: JoinHandle<()>,
    workers: Option<passerelle_local::Workers>,
    _dir: tempfile::TempDir,
}

impl Stack {
    /// The stack as `cargo run` serves it.
    pub async fn start() -> Self {
        Self::start_with(StackOptions::default()).await
    }

    pub async fn start_with(options: StackOptions) -> Self {
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let port = listener.local_addr().expect("the bound address").port();
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
        let config = Config::from_vars(&vars).expect("a valid local configuration");
        let Backend::Embedded(embedded) = &config.backend else {
            unreachable!("no PASSERELLE_BACKEND: the embedded adapters")
        };
        let manual = options
            .manual_clock
            .then(|| Arc::new(ManualClock::at_ms(SystemClock.now_ms())));
        let clock: Arc<dyn Clock> = match &manual {
            Some(m) => Arc::clone(m) as Arc<dyn Clock>,
            None => Arc::new(SystemClock),
        };
        let services = Arc::new(
            Services::embedded(embedded, clock, Arc::new(OsRandom))
                .expect("the embedded adapters in a fresh directory"),
        );
        let app = match options.session_policy {
            // As `cargo run` serves it, the demo agency included.
            None => passerelle_local::app_with_demo(&config, &services)
                .await
                .expect("the demo agency registers"),
            Some(policy) => passerelle::web::router(
                passerelle_local::state(&config, &services).with_session_policy(policy),
            ),
        };
        let workers = passerelle_local::start_workers(&config, &services);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            {
                eprintln!("the local stack stopped: {e}");
            }
        });
        Self {
            base,
            services,
            manual,
            server,
            workers: Some(workers),
            _dir: dir,
        }
    }

    /// `http://localhost:<port>`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `path` (`/fr/sign-in`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's time, in seconds since the epoch.
    pub fn now_secs(&self) -> i64 {
        self.services.clock.now_secs()
    }

    /// Moves the server's clock on (a stack started with `manual_clock`).
    pub fn advance(&self, secs: i64) {
        self.manual
            .as_ref()
            .expect("a stack started with a manual clock")
            .advance_ms(secs * 1000);
    }

    /// The newest link to this site containing `path` in the mail to `to`, waiting (up to
    /// 15 s) for the worker to deliver it to the outbox.
    pub async fn link_in_mail(&self, to: &str, path: &str) -> String {
        let outbox = &self
            .services
            .local
            .as_ref()
            .expect("the embedded adapters have an outbox")
            .outbox;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mail = outbox.list(Some(to), 20).await.expect("the outbox");
            let link = mail.iter().find_map(|m| {
                m.text.match_indices(&self.base).find_map(|(i, _)| {
                    let link: String = m.text[i..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && !matches!(c, '>' | ')' | '"'))
                        .collect();
                    link.contains(path).then_some(link)
                })
            });
            if let Some(link) = link {
                return link;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} with a link to {path} within 15 s; the outbox has: {:?}",
                mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the server and waits for the workers.
    pub async fn shutdown(mut self) {
        self.server.abort();
        if let Some(workers) = self.workers.take() {
            workers.shutdown().await;
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // After a failure: the workers stop when their channel's sender goes.
        self.server.abort();
    }
}
