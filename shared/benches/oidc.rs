//! The agencies' hot path (docs/performance.md, "OpenID Connect"), through the real router
//! on the embedded adapters, in-process (no sockets):
//!
//! - `oidc/rs256_sign`, `oidc/rs256_verify`: the two RSA operations a code exchange cannot
//!   avoid (verify the agency's assertion, sign the ID token): the floor.
//! - `oidc/code_exchange`: `POST /token` with `private_key_jwt`: the agency lookup, the
//!   assertion check, the jti write, the code read, the redeem transaction, the ID token.
//! - `oidc/flow`: a complete flow for a signed-in person who already consented, without
//!   password hashing: `GET /authorize` (the code, at once) → `POST /token` →
//!   `GET /userinfo`.
//!
//! Assertions are signed beforehand (the agency's CPU, not ours). After criterion's wall
//! times, a fixed run of each measures process CPU (user + system, all threads, from
//! `/proc/self/stat`) per operation, which is what the targets are stated in.

mod support;

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod pages;

use std::hint::black_box;
use std::time::Instant;

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use pages::{Browser, PUBLIC_URL, Site, site_with_clock_at};
use passerelle::clock::{Clock, SystemClock};
use passerelle::oidc::agency::{AalSetting, Agency};
use passerelle::oidc::jose::{Alg, SigningKey, verify};
use passerelle::random::{OsRandom, RandomExt};
use serde_json::json;
use tower::ServiceExt;

const CLIENT: &str = "urn:gov:bench:agency";
const REDIRECT: &str = "https://bench.example.gov/callback";

struct Bench {
    site: Site,
    key: SigningKey,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn setup() -> Bench {
    let site = site_with_clock_at(SystemClock.now_ms());
    let key = SigningKey::generate(Alg::RS256, "bench".into())
        .expect("key")
        .0;
    let agency = Agency {
        client_id: CLIENT.into(),
        name: "Bench".into(),
        agency_id: "bench".into(),
        ial: 1,
        default_aal: AalSetting::Default,
        keys: vec![key.public_jwk()],
        jwks_uri: None,
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        scopes: vec!["email".into()],
        pkce: false,
        id_token_alg: Alg::RS256,
        push_notification_url: None,
        failure_to_proof_url: None,
    };
    let oidc = site.state.oidc().await.expect("provider");
    oidc.provider.agencies.put(&agency).await.expect("agency");
    // Warm the signing keys and the data-key cache, as a running function has them.
    oidc.provider.keys.jwks().await.expect("keys");
    Bench { site, key }
}

fn assertion(b: &Bench) -> String {
    let now = b.site.services.clock.now_ms() / 1000;
    b.key
        .sign(
            "JWT",
            &json!({"iss": CLIENT, "sub": CLIENT, "aud": format!("{PUBLIC_URL}/token"),
                    "jti": OsRandom.token(16), "exp": now + 300, "iat": now}),
        )
        .expect("assertion")
}

fn authorize_path(state: &str) -> String {
    format!(
        "/authorize?{}",
        serde_urlencoded::to_string([
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid email"),
            ("state", state),
            ("nonce", "nonce-nonce-nonce-nonce-nonce"),
        ])
        .expect("query")
    )
}

/// A code for a fresh grant, as the authorize step issues it.
async fn code(b: &Bench, user: &str) -> String {
    let provider = &b.site.state.oidc().await.expect("provider").provider;
    let grant = passerelle::oidc::codes::Grant {
        user_id: user.into(),
        client_id: CLIENT.into(),
        agency_id: "bench".into(),
        redirect_uri: REDIRECT.into(),
        scopes: vec!["openid".into(), "email".into()],
        nonce: "nonce-nonce-nonce-nonce-nonce".into(),
        acr: passerelle::oidc::request::Acr {
            ial: passerelle::oidc::request::Ial::AuthOnly,
            aal: passerelle::oidc::request::AalLevel::Default,
        },
        aal: passerelle::oidc::request::AalLevel::Aal2,
        auth_time_ms: b.site.services.clock.now_ms(),
        code_challenge: None,
        verified_at: None,
        verified: None,
    };
    provider.issue_code(&grant)
}

async fn exchange(site: &Site, code: &str, assertion: &str) -> serde_json::Value {
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ])
    .expect("form");
    let req = Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let response = site.router.clone().oneshot(req).await.expect("router");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&bytes).expect("json")
}

async fn userinfo(site: &Site, token: &str) {
    let req = Request::builder()
        .uri("/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let response = site.router.clone().oneshot(req).await.expect("router");
    assert_eq!(response.status(), StatusCode::OK);
    black_box(response.into_body().collect().await.expect("body"));
}

/// One flow for a signed-in browser that already consented.
async fn flow(browser: &mut Browser<'_>, assertion: &str) {
    let state = "bench-state-bench-state-bench";
    let back = browser.get(&authorize_path(state)).await;
    let location = back.location().to_owned();
    let code = location
        .split("code=")
        .nth(1)
        .and_then(|c| c.split('&').next())
        .expect("a code");
    let tokens = exchange(browser.site, code, assertion).await;
    userinfo(
        browser.site,
        tokens["access_token"].as_str().expect("token"),
    )
    .await;
}

/// Process CPU seconds so far (user + system, every thread).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn report(name: &str, n: usize, wall: f64, cpu: f64) {
    #[allow(clippy::print_stdout)]
    {
        println!(
            "cpu  {name:<28} {n} runs: {:>8.1} µs wall, {:>8.1} µs CPU per op ({:.0}/s per core)",
            wall / n as f64 * 1e6,
            cpu / n as f64 * 1e6,
            n as f64 / cpu.max(1e-9)
        );
    }
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let bench = rt.block_on(setup());
    // A person who signed up with an app and consented once, through the pages.
    let mut browser = Browser::new(&bench.site);
    rt.block_on(async {
        pages::sign_up_with_app(&mut browser, "", "bench@example.com").await;
        let first = browser
            .get(&authorize_path("first-state-first-state-first"))
            .await;
        browser.follow(first).await;
        let allowed = browser
            .post("/authorize/consent", &[("decision", "allow")])
            .await;
        assert!(allowed.location().starts_with(REDIRECT), "{}", allowed.body);
    });
    let user = rt.block_on(async {
        let token = passerelle::web::session::token_of(&{
            let mut h = http::HeaderMap::new();
            let jar: Vec<String> = browser
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            h.insert(header::COOKIE, jar.join("; ").parse().expect("cookie"));
            h
        })
        .expect("session");
        let services = bench.site.state.account_services().await.expect("services");
        services
            .sessions
            .resume(&token)
            .await
            .expect("resume")
            .expect("live")
            .user_id
    });

    let mut group = c.benchmark_group("oidc");
    let message = b"header.payload-of-a-typical-id-token-of-some-hundred-bytes";
    let sig_token = bench
        .key
        .sign("JWT", &json!({"m": String::from_utf8_lossy(message)}))
        .expect("sign");
    let jwk = [bench.key.public_jwk()];
    group.bench_function("rs256_sign", |b| {
        b.iter(|| black_box(bench.key.sign("JWT", &json!({"sub": "x"})).expect("sign")))
    });
    group.bench_function("rs256_verify", |b| {
        b.iter(|| black_box(verify(&sig_token, &jwk).is_some()))
    });
    let site = &bench.site;
    group.bench_function("code_exchange", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut prepared = Vec::with_capacity(iters as usize);
                for _ in 0..iters {
                    prepared.push((code(&bench, &user).await, assertion(&bench)));
                }
                let start = Instant::now();
                for (code, assertion) in &prepared {
                    black_box(exchange(site, code, assertion).await);
                }
                start.elapsed()
            })
        })
    });
    group.finish();

    // CPU per operation, over fixed runs with everything prepared beforehand.
    let n = 1000;
    let start = (Instant::now(), cpu_secs());
    for _ in 0..n {
        black_box(bench.key.sign("JWT", &json!({"sub": "x"})).expect("sign"));
        black_box(verify(&sig_token, &jwk).is_some());
    }
    report(
        "rs256 sign + verify",
        n,
        start.0.elapsed().as_secs_f64(),
        cpu_secs() - start.1,
    );

    let prepared: Vec<(String, String)> = (0..n)
        .map(|_| (rt.block_on(code(&bench, &user)), assertion(&bench)))
        .collect();
    let start = (Instant::now(), cpu_secs());
    rt.block_on(async {
        for (code, assertion) in &prepared {
            black_box(exchange(&bench.site, code, assertion).await);
        }
    });
    report(
        "code exchange (POST /token)",
        n,
        start.0.elapsed().as_secs_f64(),
        cpu_secs() - start.1,
    );

    let assertions: Vec<String> = (0..n).map(|_| assertion(&bench)).collect();
    let start = (Instant::now(), cpu_secs());
    rt.block_on(async {
        for a in &assertions {
            flow(&mut browser, a).await;
        }
    });
    report(
        "complete flow",
        n,
        start.0.elapsed().as_secs_f64(),
        cpu_secs() - start.1,
    );
}

criterion_group! {
    name = oidc;
    config = support::short_runs();
    targets = benches
}
criterion_main!(oidc);
