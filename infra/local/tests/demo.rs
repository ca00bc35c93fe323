//! The newcomer's journey of issue 5 over real HTTP: the local stack as `cargo run` serves
//! it, the demo agency's button, sign-up with an authentication app, consent, and the
//! claims page of the demo agency, which itself called the token, JWKS and userinfo
//! endpoints over the network and checked the ID token.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle::clock::{Clock, SystemClock};
use passerelle::config::{Backend, Config, EmbeddedConfig, LogFormat};
use passerelle::services::Services;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A client that keeps cookies and the last CSRF field, and never follows redirects.
struct Person {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
    csrf: String,
}

struct Page {
    status: StatusCode,
    location: String,
    body: String,
}

impl Person {
    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
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

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(self.url(path));
        self.send(req).await
    }

    /// GET, following redirects while they stay on the stack.
    async fn open(&mut self, path: &str) -> Page {
        let mut page = self.get(path).await;
        while page.status.is_redirection()
            && (page.location.starts_with(&self.base) || page.location.starts_with('/'))
        {
            page = self.get(&page.location.clone()).await;
        }
        page
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
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

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let i = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} in {text}"))
        + start.len();
    &text[i..i + text[i..].find(end).unwrap()]
}

fn base32_decode(text: &str) -> Vec<u8> {
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

#[tokio::test]
async fn a_newcomer_signs_up_through_the_demo_agency_and_sees_their_claims() {
    // Given the local stack, demo agency included, on a real socket,
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
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut person = Person {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: base.clone(),
        cookies: BTreeMap::new(),
        csrf: String::new(),
    };

    // when a newcomer presses the demo agency's button, they reach the sign-in page,
    let home = person.get("/demo/").await;
    assert!(home.body.contains("Sign in with Passerelle"));
    let start = person.get("/demo/start").await;
    assert!(
        start.location.starts_with(&format!("{base}/authorize?")),
        "{}",
        start.location
    );
    let sign_in = person.open(&start.location).await;
    assert!(
        sign_in.body.contains("name=\"password\""),
        "{}",
        sign_in.body
    );

    // create an account with the emailed link (delivered by the in-process worker),
    person.get("/sign-up").await;
    let asked = person
        .post(
            "/sign-up",
            &[("email", "newcomer@example.com"), ("accept_rules", "yes")],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    let outbox = &services.local.as_ref().unwrap().outbox;
    let deadline = Instant::now() + Duration::from_secs(20);
    let link = loop {
        let mail = outbox.list(Some("newcomer@example.com"), 10).await.unwrap();
        if let Some(m) = mail.first() {
            break between(&m.text, &base, "\n").trim().to_owned();
        }
        assert!(Instant::now() < deadline, "the confirmation mail arrives");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    person.get(&link).await;
    let token = link.split("t=").nth(1).unwrap().to_owned();
    let set = person
        .post(
            "/sign-up/confirm",
            &[("t", &token), ("password", "correct horse battery staple")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);

    // add an authentication app,
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
    assert_eq!(
        added.location, "/authorize/resume",
        "back to the agency's request"
    );

    // and consent,
    let consent = person.open(&added.location).await;
    assert!(
        consent
            .body
            .contains("Demo Agency asks for your information"),
        "{}",
        consent.body
    );
    let allowed = person
        .post("/authorize/consent", &[("decision", "allow")])
        .await;
    assert!(
        allowed
            .location
            .starts_with(&format!("{base}/demo/callback?code=")),
        "{}",
        allowed.location
    );

    // then the demo agency shows the claims it received.
    let claims = person.get(&allowed.location).await;
    assert_eq!(claims.status, StatusCode::OK, "{}", claims.body);
    assert!(claims.body.contains("You are signed in to the Demo Agency"));
    assert!(claims.body.contains("newcomer@example.com"));
    assert!(claims.body.contains("urn:acr.login.gov:auth-only"));

    workers.shutdown().await;
    server.abort();
}
