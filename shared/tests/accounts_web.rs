//! The account pages as a person uses them: through the real router, with a cookie jar,
//! reading mail from the outbox after the notify worker delivered it. Sign-up, sign-in,
//! password reset, rate limits and bad input, in English, French and Spanish.
#![cfg(all(feature = "web", feature = "embedded"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use passerelle::account::password::FEEDBACK_IDS;
use passerelle::account::password_hash::HashParams;
use passerelle::clock::SystemClock;
use passerelle::config::EmbeddedConfig;
use passerelle::random::OsRandom;
use passerelle::services::Services;
use passerelle::web::i18n::{Lang, message_ids};
use passerelle::web::{WebState, router};
use tower::ServiceExt;

const PUBLIC_URL: &str = "http://localhost:3000";
const GOOD: &str = "correct horse battery staple";
const OTHER_GOOD: &str = "violet lantern orbit meadow";

/// Cheap argon2: these tests are about pages, not hashing cost.
const FAST: HashParams = HashParams {
    m_cost_kib: 1024,
    t_cost: 1,
    p_cost: 1,
};

struct Site {
    router: Router,
    services: Arc<Services>,
    _dir: tempfile::TempDir,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmbeddedConfig {
        data_dir: dir.path().to_path_buf(),
        max_receives: 5,
    };
    let services =
        Arc::new(Services::embedded(&cfg, Arc::new(SystemClock), Arc::new(OsRandom)).unwrap());
    let state = WebState::new(Arc::clone(&services), PUBLIC_URL, true).with_hash_params(FAST);
    Site {
        router: router(state),
        services,
        _dir: dir,
    }
}

impl Site {
    /// Delivers every queued mail job, as the notify worker would, and returns the mail
    /// to `to`, newest first, as (subject, text).
    async fn mail_to(&self, to: &str) -> Vec<(String, String)> {
        let deliverer = self.services.deliverer();
        loop {
            let batch = self
                .services
                .notify_queue
                .receive(10, Duration::from_secs(30), Duration::ZERO)
                .await
                .unwrap();
            if batch.is_empty() {
                break;
            }
            for m in batch {
                deliverer.deliver(&m.body).await.unwrap();
                self.services.notify_queue.delete(&m.receipt).await.unwrap();
            }
        }
        let outbox = &self.services.local.as_ref().unwrap().outbox;
        outbox
            .list(Some(to), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.subject, e.text))
            .collect()
    }

    /// The first link in the newest mail to `to` that contains `path`, made local.
    async fn link_in_mail(&self, to: &str, path: &str) -> String {
        let mail = self.mail_to(to).await;
        let (_, text) = mail.first().expect("a mail");
        let start = text.find(PUBLIC_URL).expect("a link") + PUBLIC_URL.len();
        let link: String = text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != ')')
            .collect();
        assert!(link.contains(path), "{link}");
        link
    }
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

/// A browser: keeps cookies, and the CSRF field of the last page it saw.
struct Browser<'a> {
    site: &'a Site,
    cookies: BTreeMap<String, String>,
    csrf: Option<String>,
    ip: &'static str,
}

impl<'a> Browser<'a> {
    fn new(site: &'a Site) -> Self {
        Self {
            site,
            cookies: BTreeMap::new(),
            csrf: None,
            ip: "198.51.100.7",
        }
    }

    async fn send(&mut self, method: Method, path: &str, body: Option<Vec<u8>>) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("x-forwarded-for", self.ip);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(b)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let response = self.site.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(bytes.to_vec()).unwrap();
        let marker = "name=\"csrf_token\" value=\"";
        if let Some(i) = body.find(marker) {
            let rest = &body[i + marker.len()..];
            self.csrf = Some(rest[..rest.find('"').unwrap()].to_owned());
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    /// Submits a form with the CSRF field of the last page seen.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone().expect("a page with a form first");
        all.push(("csrf_token", &csrf));
        let body = serde_urlencoded::to_string(&all).unwrap();
        self.send(Method::POST, path, Some(body.into_bytes())).await
    }
}

/// A page body without what differs on every response (the masked CSRF token, the
/// CSP nonce) and without the echoed address.
fn normalised(body: &str, email: &str) -> String {
    let body = body.replace(email, "EMAIL");
    let mut out = String::new();
    for (i, part) in body.split("value=\"").enumerate() {
        if i > 0 {
            out.push_str("value=\"");
            let end = part.find('"').unwrap();
            let value = &part[..end];
            if value.len() > 40 {
                out.push('…');
                out.push_str(&part[end..]);
                continue;
            }
        }
        out.push_str(part);
    }
    out.split("nonce=\"")
        .enumerate()
        .map(|(i, p)| {
            if i == 0 {
                p.to_owned()
            } else {
                p[p.find('"').unwrap()..].to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("nonce=\"")
}

/// Signs up `email` through the pages under `prefix` ("" or "/fr" …); returns the last page.
async fn sign_up(site: &Site, prefix: &str, email: &str, password: &str) -> Answer {
    let mut b = Browser::new(site);
    b.get(&format!("{prefix}/sign-up")).await;
    let answer = b
        .post(
            &format!("{prefix}/sign-up"),
            &[("email", email), ("accept_rules", "yes")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let link = site.link_in_mail(email, "/sign-up/confirm").await;
    let form = b.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    let token = link.split("t=").nth(1).unwrap().to_owned();
    b.post(
        &format!("{prefix}/sign-up/confirm"),
        &[("t", &token), ("password", password)],
    )
    .await
}

#[tokio::test]
async fn sign_up_in_french_then_sign_in_and_the_same_email_again() {
    let site = site();
    let mut b = Browser::new(&site);
    // Given the French sign-up page
    let page = b.get("/fr/sign-up").await;
    assert!(page.body.contains("autocomplete=\"email\""));
    assert!(page.body.contains("href=\"/fr/rules-of-use\""));
    // When Jeanne submits her address with the rules accepted
    let answer = b
        .post(
            "/fr/sign-up",
            &[("email", " Jeanne@Example.gov "), ("accept_rules", "yes")],
        )
        .await;
    // Then she is told to check her email, in French, and a French link arrives
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.body.contains("Consultez vos e-mails"),
        "{}",
        answer.body
    );
    let link = site
        .link_in_mail("jeanne@example.gov", "/fr/sign-up/confirm?t=")
        .await;
    let form = b.get(&link).await;
    assert!(form.body.contains("jeanne@example.gov"));
    assert!(form.body.contains("autocomplete=\"new-password\""));
    let token = link.split("t=").nth(1).unwrap().to_owned();
    // When she picks a weak password, the form says why in French and nothing is stored
    let weak = b
        .post(
            "/fr/sign-up/confirm",
            &[("t", &token), ("password", "jeanne123456")],
        )
        .await;
    assert_eq!(weak.status, StatusCode::OK);
    assert!(weak.body.contains("Il y a un problème"), "{}", weak.body);
    assert!(weak.body.contains("href=\"#password\""));
    // When she picks a good one, the account exists, waiting for a second factor
    let done = b
        .post("/fr/sign-up/confirm", &[("t", &token), ("password", GOOD)])
        .await;
    assert!(done.body.contains("Votre compte est créé"), "{}", done.body);
    // And the link is used up
    let reused = b.get(&link).await;
    assert!(reused.body.contains("Ce lien a expiré"), "{}", reused.body);

    // Signing up with the same address again: the same page, and the owner is told
    let mut other = Browser::new(&site);
    other.get("/fr/sign-up").await;
    let again = other
        .post(
            "/fr/sign-up",
            &[("email", "jeanne@example.gov"), ("accept_rules", "yes")],
        )
        .await;
    assert_eq!(
        normalised(&again.body, "jeanne@example.gov"),
        normalised(&answer.body, "jeanne@example.gov")
    );
    let mail = site.mail_to("jeanne@example.gov").await;
    assert_eq!(mail.len(), 2);
    assert!(!mail[0].1.contains("/sign-up/confirm"), "{}", mail[0].1);
    assert!(mail[0].1.contains("/fr/forgot-password"), "{}", mail[0].1);

    // Sign in: right password → the factor-pending page; wrong password and unknown
    // address → the same page body and status
    let mut c = Browser::new(&site);
    let form = c.get("/fr/sign-in").await;
    assert!(form.body.contains("autocomplete=\"current-password\""));
    let right = c
        .post(
            "/fr/sign-in",
            &[("email", "jeanne@example.gov"), ("password", GOOD)],
        )
        .await;
    assert!(right.body.contains("Encore une étape"), "{}", right.body);
    let wrong = c
        .post(
            "/fr/sign-in",
            &[("email", "jeanne@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    let unknown = c
        .post(
            "/fr/sign-in",
            &[("email", "nobody@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    let invalid = c
        .post(
            "/fr/sign-in",
            &[("email", "not an address"), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(invalid.status, wrong.status);
    assert!(wrong.body.contains("n’est pas correct"), "{}", wrong.body);
    let w = normalised(&wrong.body, "jeanne@example.gov");
    assert_eq!(w, normalised(&unknown.body, "nobody@example.gov"));
    assert_eq!(w, normalised(&invalid.body, "not an address"));
}

#[tokio::test]
async fn sign_up_in_english_and_spanish_reaches_the_account_created_page() {
    let site = site();
    let en = sign_up(&site, "", "sam@example.gov", GOOD).await;
    assert!(en.body.contains("Your account is created"), "{}", en.body);
    let es = sign_up(&site, "/es", "ana@example.gov", GOOD).await;
    assert!(es.body.contains("Su cuenta está creada"), "{}", es.body);
}

#[tokio::test]
async fn password_reset_in_spanish_end_to_end() {
    let site = site();
    sign_up(&site, "/es", "ana@example.gov", GOOD).await;
    let mut b = Browser::new(&site);
    b.get("/es/forgot-password").await;
    // An unknown address gets the same page, and no mail
    let unknown = b
        .post("/es/forgot-password", &[("email", "nadie@example.gov")])
        .await;
    let known = b
        .post("/es/forgot-password", &[("email", "ana@example.gov")])
        .await;
    assert_eq!(
        normalised(&unknown.body, "nadie@example.gov"),
        normalised(&known.body, "ana@example.gov")
    );
    assert!(known.body.contains("Revise su correo"), "{}", known.body);
    assert!(site.mail_to("nadie@example.gov").await.is_empty());
    let link = site
        .link_in_mail("ana@example.gov", "/es/reset-password?t=")
        .await;
    let form = b.get(&link).await;
    assert!(
        form.body.contains("Elija una nueva contraseña"),
        "{}",
        form.body
    );
    let token = link.split("t=").nth(1).unwrap().to_owned();
    // A 129-character password is refused with a message; nothing changes
    let long = "a".repeat(129);
    let refused = b
        .post("/es/reset-password", &[("t", &token), ("password", &long)])
        .await;
    assert!(refused.body.contains("como máximo 128"), "{}", refused.body);
    let done = b
        .post(
            "/es/reset-password",
            &[("t", &token), ("password", OTHER_GOOD)],
        )
        .await;
    assert!(
        done.body.contains("Su contraseña se cambió"),
        "{}",
        done.body
    );
    // The owner is told, and the link is used up
    let mail = site.mail_to("ana@example.gov").await;
    assert!(mail[0].1.contains("/es/forgot-password"), "{}", mail[0].1);
    let reused = b
        .post("/es/reset-password", &[("t", &token), ("password", GOOD)])
        .await;
    assert!(
        reused.body.contains("caducó o ya se usó"),
        "{}",
        reused.body
    );
    // The new password works, the old one does not
    let mut c = Browser::new(&site);
    c.get("/es/sign-in").await;
    let old = c
        .post(
            "/es/sign-in",
            &[("email", "ana@example.gov"), ("password", GOOD)],
        )
        .await;
    assert!(old.body.contains("no son correctos"), "{}", old.body);
    let new = c
        .post(
            "/es/sign-in",
            &[("email", "ana@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    assert!(new.body.contains("Falta un paso"), "{}", new.body);
}

#[tokio::test]
async fn bad_input_gets_a_clear_message_and_stores_nothing() {
    let site = site();
    let mut b = Browser::new(&site);
    b.get("/sign-up").await;
    // Missing fields
    let empty = b.post("/sign-up", &[]).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("Enter your email address."));
    assert!(empty.body.contains("Accept the rules of use"));
    assert!(
        empty.body.contains("href=\"#email\"") && empty.body.contains("href=\"#accept_rules\"")
    );
    assert!(empty.body.contains("role=\"alert\""));
    // The rules box unchecked
    let unchecked = b.post("/sign-up", &[("email", "a@example.gov")]).await;
    assert!(unchecked.body.contains("Accept the rules of use"));
    // A 10 KB address
    let huge = format!("{}@example.gov", "a".repeat(10 * 1024));
    let long = b
        .post("/sign-up", &[("email", &huge), ("accept_rules", "yes")])
        .await;
    assert_eq!(long.status, StatusCode::OK);
    assert!(long.body.contains("This email address is too long"));
    assert!(site.mail_to("a@example.gov").await.is_empty());
    // Invalid UTF-8 → 400 page
    let csrf = b.csrf.clone().unwrap();
    let mut body = format!("csrf_token={csrf}&accept_rules=yes&email=").into_bytes();
    body.extend_from_slice(b"%FF%FEx@example.gov");
    let bad = b.send(Method::POST, "/sign-up", Some(body)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("<html"));
    // A wrong CSRF token → 403
    b.csrf = Some("x".repeat(86));
    let forged = b
        .post(
            "/sign-up",
            &[("email", "a@example.gov"), ("accept_rules", "yes")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Forged and unknown links
    let mut c = Browser::new(&site);
    for path in [
        "/sign-up/confirm?t=../../etc",
        "/sign-up/confirm?t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/sign-up/confirm",
        "/reset-password?t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let page = c.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.body.contains("This link has expired"), "{path}");
    }
    // A 129-character password at sign-up: a message, no account
    let mut d = Browser::new(&site);
    d.get("/sign-up").await;
    d.post(
        "/sign-up",
        &[("email", "long@example.gov"), ("accept_rules", "yes")],
    )
    .await;
    let link = site
        .link_in_mail("long@example.gov", "/sign-up/confirm")
        .await;
    let token = link.split("t=").nth(1).unwrap().to_owned();
    d.get(&link).await;
    let long_pw = "b".repeat(129);
    let refused = d
        .post("/sign-up/confirm", &[("t", &token), ("password", &long_pw)])
        .await;
    assert!(
        refused.body.contains("at most 128 characters"),
        "{}",
        refused.body
    );
    let mut e = Browser::new(&site);
    e.get("/sign-in").await;
    let no_account = e
        .post(
            "/sign-in",
            &[("email", "long@example.gov"), ("password", &long_pw)],
        )
        .await;
    assert!(no_account.body.contains("is not right"));
}

#[tokio::test]
async fn the_21st_registration_email_in_an_hour_is_429_with_retry_after() {
    let site = site();
    let mut b = Browser::new(&site);
    b.get("/sign-up").await;
    for _ in 0..20 {
        let ok = b
            .post(
                "/sign-up",
                &[("email", "busy@example.gov"), ("accept_rules", "yes")],
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    let blocked = b
        .post(
            "/sign-up",
            &[("email", "busy@example.gov"), ("accept_rules", "yes")],
        )
        .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = blocked.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry));
    assert!(blocked.body.contains("Try again in"), "{}", blocked.body);
}

#[tokio::test]
async fn sign_in_failures_lock_after_five_per_email_and_ip() {
    let site = site();
    let mut b = Browser::new(&site);
    b.get("/sign-in").await;
    for _ in 0..5 {
        let a = b
            .post(
                "/sign-in",
                &[("email", "x@example.gov"), ("password", OTHER_GOOD)],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    let locked = b
        .post(
            "/sign-in",
            &[("email", "x@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers.contains_key(header::RETRY_AFTER));
    // Another client address is a different subject
    b.ip = "203.0.113.5";
    let elsewhere = b
        .post(
            "/sign-in",
            &[("email", "x@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::OK);
}

#[tokio::test]
async fn the_rules_of_use_exist_in_every_language() {
    let site = site();
    let mut b = Browser::new(&site);
    for (prefix, text) in [
        ("", "Rules of use"),
        ("/fr", "Règles d’utilisation"),
        ("/es", "Reglas de uso"),
    ] {
        let page = b.get(&format!("{prefix}/rules-of-use")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(text), "{prefix}");
    }
}

#[test]
fn every_password_feedback_id_is_translated() {
    for lang in Lang::ALL {
        let ids = message_ids(lang);
        let missing: Vec<_> = FEEDBACK_IDS
            .iter()
            .filter(|id| !ids.contains(**id))
            .collect();
        assert!(missing.is_empty(), "{}: {missing:?}", lang.code());
    }
}
