//! What the local stack's end-to-end tests share: the stack as `cargo run` serves it on a
//! real socket, a person's HTTP client (cookies, CSRF, no automatic redirects), and the
//! newcomer's sign-up with an authentication app.
#![allow(dead_code)]

pub mod binary;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle::clock::{Clock, SystemClock};
use passerelle::config::{Backend, Config, EmbeddedConfig, LogFormat};
use passerelle::services::Services;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

pub const PASSWORD: &str = "correct horse battery staple";

/// A client that keeps cookies and the last CSRF field, and never follows redirects.
pub struct Person {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    pub csrf: String,
}

pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub body: String,
}

impl Person {
    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let response = req
            .header(COOKIE, jar.join("; "))
            .send()
            .await
            .expect("the stack answers");
        for v in response.headers().get_all(SET_COOKIE) {
            let text = v.to_str().unwrap();
            let (k, v) = text.split(';').next().unwrap().split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.text().await.unwrap();
        if let Some(i) = body.find("name=\"csrf_token\" value=\"") {
            let rest = &body[i + 25..];
            self.csrf = rest[..rest.find('"').unwrap()].to_owned();
        }
        Page {
            status,
            location,
            body,
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(self.url(path));
        self.send(req).await
    }

    /// GET, following redirects while they stay on the stack.
    pub async fn open(&mut self, path: &str) -> Page {
        let mut page = self.get(path).await;
        while page.status.is_redirection()
            && (page.location.starts_with(&self.base) || page.location.starts_with('/'))
        {
            page = self.get(&page.location.clone()).await;
        }
        page
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = fields.to_vec();
        let csrf = self.csrf.clone();
        all.push(("csrf_token", &csrf));
        let req = self
            .http
            .post(self.url(path))
            .header("origin", &self.base)
            .form(&all);
        self.send(req).await
    }
}

pub fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let i = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} in {text}"))
        + start.len();
    &text[i..i + text[i..].find(end).unwrap()]
}

pub fn base32_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = vec![];
    for c in text.chars().filter(|c| c.is_ascii_alphanumeric()) {
        let v = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
            .find(c.to_ascii_uppercase())
            .unwrap() as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// The local stack on a loopback port: every function's router, the demo agency, the
/// in-process workers (mail, proofing with the mock vendors).
pub struct Stack {
    pub base: String,
    pub services: Arc<Services>,
    pub dir: tempfile::TempDir,
    workers: Option<passerelle_local::Workers>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Stack {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = format!("http://localhost:{port}");
        let embedded = EmbeddedConfig {
            data_dir: dir.path().to_owned(),
            max_receives: 5,
        };
        let config = Config {
            backend: Backend::Embedded(embedded.clone()),
            listen: listener.local_addr().unwrap(),
            public_url: base.clone(),
            log_filter: "warn".into(),
            log_format: LogFormat::Text,
            session_idle_secs: 900,
            trusted_proxies: Default::default(),
            cdn: Default::default(),
            sms_per_hour: passerelle::ratelimit::DEFAULT_SMS_PER_HOUR,
        };
        let services = Arc::new(
            Services::embedded(
                &embedded,
                Arc::new(SystemClock),
                Arc::new(passerelle::random::OsRandom),
            )
            .unwrap(),
        );
        let app = passerelle_local::app_with_demo(&config, &services)
            .await
            .unwrap();
        let workers = passerelle_local::start_workers(&config, &services);
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        Self {
            base,
            services,
            dir,
            workers: Some(workers),
            server,
        }
    }

    pub fn person(&self) -> Person {
        Person {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
        }
    }

    /// Stops the workers (their shutdown included) and the server; hands back the data
    /// directory, for a test that reads what the stack left in it.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(w) = self.workers.take() {
            w.shutdown().await;
        }
        self.server.abort();
        self.dir
    }

    /// The newest mail to `to` in the outbox, waiting for the in-process worker.
    pub async fn mail_to(&self, to: &str) -> String {
        let outbox = &self.services.local.as_ref().unwrap().outbox;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mail = outbox.list(Some(to), 10).await.unwrap();
            if let Some(m) = mail.first() {
                return m.text.clone();
            }
            assert!(Instant::now() < deadline, "the mail to {to} arrives");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// From an agency's sign-in page: creates an account for `email` with the emailed link
/// and an authentication app; returns the app's secret and where the app step led.
pub async fn sign_up_with_app(stack: &Stack, person: &mut Person, email: &str) -> (Vec<u8>, Page) {
    person.get("/sign-up").await;
    let asked = person
        .post("/sign-up", &[("email", email), ("accept_rules", "yes")])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    let mail = stack.mail_to(email).await;
    let link = between(&mail, &stack.base, "\n").trim().to_owned();
    person.get(&link).await;
    let token = link.split("t=").nth(1).unwrap().to_owned();
    let set = person
        .post("/sign-up/confirm", &[("t", &token), ("password", PASSWORD)])
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    let totp = person.get("/mfa/totp").await;
    let secret = base32_decode(between(&totp.body, "id=\"totp-secret\">", "<"));
    let enrollment = between(&totp.body, "name=\"enrollment\" value=\"", "\"").to_owned();
    let step = passerelle::mfa::totp::step_at(SystemClock.now_secs());
    let code = passerelle::mfa::totp::code_at_step(&secret, step).to_string();
    let added = person
        .post(
            "/mfa/totp",
            &[
                ("enrollment", &enrollment),
                ("name", "Phone"),
                ("code", &code),
            ],
        )
        .await;
    (secret, added)
}
