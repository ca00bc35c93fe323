//! The site router end to end: real middleware, real templates, embedded services over a
//! temporary directory, driven with tower's `oneshot`.
#![cfg(all(feature = "web", feature = "embedded"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use passerelle::clock::SystemClock;
use passerelle::config::EmbeddedConfig;
use passerelle::notify::Email;
use passerelle::random::OsRandom;
use passerelle::services::Services;
use passerelle::store::{
    Expect, Item, Key, Page as StorePage, Query, Store, StoreError, Update, Write,
};
use passerelle::web::i18n::{Lang, load_errors, message_ids};
use passerelle::web::{RequestId, WebState, router};
use tower::ServiceExt;

const PUBLIC_URL: &str = "http://localhost:3000";

struct Site {
    router: Router,
    services: Arc<Services>,
    _dir: tempfile::TempDir,
}

fn site(dev_outbox: bool) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmbeddedConfig {
        data_dir: dir.path().to_path_buf(),
        max_receives: 5,
    };
    let services =
        Arc::new(Services::embedded(&cfg, Arc::new(SystemClock), Arc::new(OsRandom)).unwrap());
    let router = router(WebState::new(Arc::clone(&services), PUBLIC_URL, dev_outbox));
    Site {
        router,
        services,
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: impl header::AsHeaderName) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }

    /// The `name=value` part of the Set-Cookie for `name`.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    fn hidden_field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).expect("no such field") + marker.len();
        let len = self.body[start..].find('"').unwrap();
        self.body[start..start + len].to_owned()
    }
}

async fn call(router: &Router, req: Request<Body>) -> Answer {
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn get(path: &str) -> http::request::Builder {
    Request::builder().method(Method::GET).uri(path)
}

async fn get_page(router: &Router, path: &str) -> Answer {
    call(router, get(path).body(Body::empty()).unwrap()).await
}

fn csp_nonce(answer: &Answer) -> String {
    let csp = answer.header(header::CONTENT_SECURITY_POLICY);
    let start = csp.find("'nonce-").expect("no nonce in the CSP") + "'nonce-".len();
    let len = csp[start..].find('\'').unwrap();
    csp[start..start + len].to_owned()
}

#[tokio::test]
async fn given_no_preference_when_getting_root_then_home_is_in_english() {
    let site = site(false);
    let page = get_page(&site.router, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header(header::CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(page.header(header::CONTENT_LANGUAGE), "en");
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(
        page.body
            .contains("<h1>One account for public services</h1>")
    );
    assert_eq!(page.body.matches("<h1").count(), 1);
    assert!(page.body.contains("<main id=\"main\""));
    assert!(page.body.contains("href=\"#main\""));
    assert!(page.body.contains("href=\"/sign-up\""));
    assert!(page.body.contains("href=\"/sign-in\""));
    assert!(!page.body.contains("style="), "no inline style");
}

#[tokio::test]
async fn given_the_french_prefix_when_getting_the_home_then_it_is_in_french() {
    let site = site(false);
    let page = get_page(&site.router, "/fr/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<html lang=\"fr\">"));
    assert!(
        page.body
            .contains("<h1>Un seul compte pour les services publics</h1>")
    );
    assert!(page.body.contains("href=\"/fr/sign-in\""));
    assert_eq!(page.header(header::CONTENT_LANGUAGE), "fr");

    let spanish = get_page(&site.router, "/es/").await;
    assert!(
        spanish
            .body
            .contains("<h1>Una sola cuenta para los servicios públicos</h1>")
    );

    let bare = get_page(&site.router, "/fr?x=1").await;
    assert_eq!(bare.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.header(header::LOCATION), "/fr/?x=1");
}

#[tokio::test]
async fn given_accept_language_when_getting_root_then_the_best_supported_language_wins() {
    let site = site(false);
    let req = get("/")
        .header(header::ACCEPT_LANGUAGE, "de-DE, es-MX;q=0.9, fr;q=0.5")
        .body(Body::empty())
        .unwrap();
    let page = call(&site.router, req).await;
    assert!(page.body.contains("<html lang=\"es\">"));
    assert!(
        page.body
            .contains("<h1>Una sola cuenta para los servicios públicos</h1>")
    );
}

#[tokio::test]
async fn given_a_language_cookie_when_accept_language_differs_then_the_cookie_wins() {
    let site = site(false);
    let req = get("/")
        .header(header::ACCEPT_LANGUAGE, "es")
        .header(header::COOKIE, "__Host-lang=fr")
        .body(Body::empty())
        .unwrap();
    let page = call(&site.router, req).await;
    assert!(page.body.contains("<html lang=\"fr\">"));
}

#[tokio::test]
async fn given_two_responses_then_each_has_its_own_csp_nonce_and_the_security_headers() {
    let site = site(false);
    let first = get_page(&site.router, "/").await;
    let second = get_page(&site.router, "/").await;
    let csp = first.header(header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.starts_with("default-src 'none'; script-src 'self' 'nonce-"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("base-uri 'none'"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    let (a, b) = (csp_nonce(&first), csp_nonce(&second));
    assert!(a.len() >= 22);
    assert_ne!(a, b);
    assert!(
        first
            .body
            .contains(&format!("<script nonce=\"{a}\" src=\"/static/app."))
    );

    assert_eq!(
        first.header(header::STRICT_TRANSPORT_SECURITY),
        "max-age=63072000; includeSubDomains"
    );
    assert_eq!(first.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(first.header(header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(first.header(header::REFERRER_POLICY), "same-origin");
    assert_eq!(first.header("cross-origin-opener-policy"), "same-origin");
    assert!(first.header("permissions-policy").contains("camera=()"));
    assert_eq!(first.header(header::CACHE_CONTROL), "no-store");
}

#[tokio::test]
async fn given_no_csrf_token_when_posting_the_language_form_then_403_in_the_page_language() {
    let site = site(false);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/fr/language")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("lang=es&return_to=%2F"))
        .unwrap();
    let answer = call(&site.router, req).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("<html lang=\"fr\">"));
    assert!(answer.body.contains("<h1>Ce formulaire a expiré</h1>"));
    assert!(answer.set_cookie("__Host-lang").is_none());
}

/// GETs `path`, then posts the language form back with the cookie and field it gave.
async fn post_language(site: &Site, path: &str, extra: &[(&str, &str)], lang: &str) -> Answer {
    let page = get_page(&site.router, path).await;
    let cookie = page
        .set_cookie("__Host-csrf")
        .expect("a CSRF cookie on first visit");
    assert!(
        cookie.contains("; Secure") && cookie.contains("; HttpOnly"),
        "{cookie}"
    );
    assert!(
        cookie.contains("SameSite=Strict") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let token = page.hidden_field("csrf_token");
    let return_to = page.hidden_field("return_to");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let body = serde_urlencoded::to_string([
        ("csrf_token", token.as_str()),
        ("lang", lang),
        ("return_to", return_to.as_str()),
    ])
    .unwrap();
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/language")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie);
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    call(&site.router, req.body(Body::from(body)).unwrap()).await
}

#[tokio::test]
async fn given_the_token_from_the_page_when_posting_the_language_form_then_303_and_cookie() {
    let site = site(false);
    let answer = post_language(
        &site,
        "/nowhere?x=1",
        &[("origin", PUBLIC_URL), ("sec-fetch-site", "same-origin")],
        "es",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.header(header::LOCATION), "/es/nowhere?x=1");
    let cookie = answer
        .set_cookie("__Host-lang")
        .expect("the language cookie");
    assert!(
        cookie.starts_with("__Host-lang=es; Path=/; Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn given_a_valid_token_when_the_post_is_cross_site_then_403() {
    let site = site(false);
    let cross_site = post_language(&site, "/", &[("sec-fetch-site", "cross-site")], "fr").await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let foreign = post_language(&site, "/", &[("origin", "https://evil.example")], "fr").await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let unknown_lang = post_language(&site, "/", &[], "de").await;
    assert_eq!(unknown_lang.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn given_the_stylesheet_link_then_the_asset_is_immutable_with_its_type_and_etag() {
    let site = site(false);
    let page = get_page(&site.router, "/").await;
    let start = page.body.find("href=\"/static/app.").unwrap() + "href=\"".len();
    let len = page.body[start..].find('"').unwrap();
    let href = &page.body[start..start + len];
    assert!(href.ends_with(".css"));

    let css = get_page(&site.router, href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header(header::CONTENT_TYPE), "text/css; charset=utf-8");
    assert_eq!(
        css.header(header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert!(css.body.contains(":focus-visible"));
    let etag = css.header(header::ETAG).to_owned();
    assert!(etag.starts_with('"'));

    let req = get(href)
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        call(&site.router, req).await.status,
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        get_page(&site.router, "/static/app.css").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn given_an_unknown_path_then_a_localized_404_page() {
    let site = site(false);
    let english = get_page(&site.router, "/no/such/page").await;
    assert_eq!(english.status, StatusCode::NOT_FOUND);
    assert!(english.body.contains("<h1>Page not found</h1>"));
    assert_eq!(english.header(header::CACHE_CONTROL), "no-store");

    let french = get_page(&site.router, "/fr/pas-de-page").await;
    assert_eq!(french.status, StatusCode::NOT_FOUND);
    assert!(french.body.contains("<html lang=\"fr\">"));
    assert!(french.body.contains("<h1>Page introuvable</h1>"));

    let api = get_page(&site.router, "/api/nothing").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    let json: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(json["error"], "not_found");
    assert!(json["error_description"].is_string());
}

#[tokio::test]
async fn given_a_wrong_method_then_the_generic_page_not_the_framework_text() {
    let site = site(false);
    let req = Request::builder()
        .method(Method::DELETE)
        .uri("/api/health")
        .body(Body::empty())
        .unwrap();
    let answer = call(&site.router, req).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["error"], "method_not_allowed");
}

#[tokio::test]
async fn given_embedded_services_then_health_lists_the_adapters() {
    let site = site(false);
    let answer = get_page(&site.router, "/api/health").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["backend"], "embedded");
    assert_eq!(json["adapters"]["store"], "embedded-sqlite");
    assert_eq!(json["adapters"]["mail"], "outbox");
    for port in ["keys", "queue", "sms"] {
        assert!(json["adapters"][port].is_string(), "{port}");
    }
}

/// A store that is down, to see health degrade.
#[derive(Debug)]
struct DownStore;

fn down<T>() -> Result<T, StoreError> {
    Err(StoreError::Unavailable(
        "connection refused to 10.0.0.7".into(),
    ))
}

#[async_trait]
impl Store for DownStore {
    fn adapter(&self) -> &'static str {
        "down"
    }
    async fn get(&self, _: &Key) -> Result<Option<Item>, StoreError> {
        down()
    }
    async fn put(&self, _: Item, _: Expect) -> Result<u64, StoreError> {
        down()
    }
    async fn update(&self, _: Update, _: Expect) -> Result<Item, StoreError> {
        down()
    }
    async fn delete(&self, _: &Key, _: Expect) -> Result<Option<Item>, StoreError> {
        down()
    }
    async fn transact(&self, _: Vec<Write>) -> Result<(), StoreError> {
        down()
    }
    async fn query(&self, _: &Query) -> Result<StorePage, StoreError> {
        down()
    }
}

#[tokio::test]
async fn given_a_failing_store_then_health_is_503_degraded_without_internals() {
    let site = site(false);
    let mut services = (*site.services).clone();
    services.store = Arc::new(DownStore);
    let router = router(WebState::new(Arc::new(services), PUBLIC_URL, false));
    let answer = get_page(&router, "/api/health").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["status"], "degraded");
    assert!(!answer.body.contains("10.0.0.7"));
}

#[tokio::test]
async fn given_the_outbox_is_disabled_then_dev_outbox_is_404() {
    let site = site(false);
    let answer = get_page(&site.router, "/dev/outbox").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn given_an_email_in_the_outbox_when_enabled_then_it_is_listed_with_a_clickable_link() {
    let site = site(true);
    site.services
        .mailer
        .send(&Email {
            to: "ada@example.gov".into(),
            subject: "Confirm your email".into(),
            text: "Open https://localhost:3000/sign-up/confirm?token=abc&x=1 to continue.".into(),
            html: "<p onclick=\"x()\">Open <script>alert(1)</script></p>".into(),
        })
        .await
        .unwrap();
    let page = get_page(&site.router, "/dev/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Confirm your email"));
    assert!(page.body.contains("ada@example.gov"));
    assert!(
        page.body
            .contains("<a href=\"https://localhost:3000/sign-up/confirm?token=abc&#38;x=1\">")
            || page
                .body
                .contains("<a href=\"https://localhost:3000/sign-up/confirm?token=abc&amp;x=1\">"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert(1)</script>"));
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || page.body.contains("&#60;script&#62;")
    );
    assert!(page.body.contains("<details>"));
}

#[tokio::test]
async fn given_a_request_id_then_it_is_echoed_and_a_forged_one_is_replaced() {
    let site = site(false);
    let req = get("/api/health")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        call(&site.router, req).await.header("x-request-id"),
        "abc-123"
    );

    let mut req = get("/api/health").body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(RequestId("lambda-ctx-42".into()));
    assert_eq!(
        call(&site.router, req).await.header("x-request-id"),
        "lambda-ctx-42"
    );

    let req = get("/api/health")
        .header("x-request-id", "has space")
        .body(Body::empty())
        .unwrap();
    let replaced = call(&site.router, req).await;
    assert_ne!(replaced.header("x-request-id"), "has space");
    assert!(!replaced.header("x-request-id").is_empty());
}

#[test]
fn locale_files_define_identical_message_ids() {
    for lang in Lang::ALL {
        assert_eq!(load_errors(lang), Vec::<String>::new(), "{}", lang.code());
    }
    let english = message_ids(Lang::En);
    for lang in [Lang::Fr, Lang::Es] {
        assert_eq!(
            message_ids(lang),
            english,
            "{} differs from en",
            lang.code()
        );
    }
}

/// Every message id the templates and the web code name exists in English (and so, by
/// the test above, everywhere).
#[test]
fn every_message_id_used_exists() {
    let english = message_ids(Lang::En);
    let root = env!("CARGO_MANIFEST_DIR");
    let mut sources = Vec::new();
    let mut dirs: Vec<std::path::PathBuf> = ["templates", "src/web"]
        .iter()
        .map(|dir| format!("{root}/{dir}").into())
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            // Subfolders (templates/mail, src/web/mail) hold uses too.
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let is_rust = path.extension().is_some_and(|e| e == "rs");
            let text = std::fs::read_to_string(path).unwrap();
            // Examples in doc comments are not uses.
            let code: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            sources.push((is_rust, code.join("\n")));
        }
    }
    let mut used = BTreeSet::new();
    for (is_rust, source) in &sources {
        // Calls: `t("id")`, `t_args("id", …)`, in templates and code.
        for call in [".t(\"", ".t_args(\""] {
            for rest in source.split(call).skip(1) {
                used.insert(rest.split('"').next().unwrap_or_default().to_owned());
            }
        }
        // Ids held in code for later lookup (error pages, outbox kinds).
        if *is_rust {
            for literal in source.split('"').skip(1).step_by(2) {
                let looks_like_id = ["error-", "outbox-"].iter().any(|p| literal.starts_with(p))
                    && literal.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
                if looks_like_id {
                    used.insert(literal.to_owned());
                }
            }
        }
    }
    assert!(used.len() > 20, "{used:?}");
    let missing: Vec<_> = used.iter().filter(|id| !english.contains(*id)).collect();
    assert!(missing.is_empty(), "used but not defined: {missing:?}");
}
