//! The agencies' hot path (docs/performance.md, "OpenID Connect"), through the real router
//! on the embedded adapters, in-process (no sockets):
//!
//! - `oidc/rs256_sign`, `oidc/rs256_verify`: the two RSA operations a code exchange cannot
//!   avoid (verify the agency's assertion, sign the ID token): the floor.
//! - `oidc/code_exchange`: `POST /token` with `private_key_jwt`: the agency (cached), the
//!   assertion check, the code opened, the redeem transaction (code marker, access token,
//!   `jti`), the ID token.
//! - complete flows (CPU lines only) for a signed-in person who already consented, without
//!   password hashing: `GET /authorize` (the code, at once) → `POST /token` →
//!   `GET /userinfo`; once for an agency with RS256 ID tokens (the default), once for its
//!   twin with ES256.
//!
//! After criterion's wall times, 10 rounds of 100 of each, taking turns, measure CPU per
//! operation, which is what the targets are stated in: the server's (the main thread's CPU
//! while the router answers, body included, plus every other thread's: SQLite's blocking
//! pool, tokio's workers), and the whole process's, which adds what the bench itself does
//! as the browser and the agency (building requests, cookies, parsing the responses).
//! Assertions are signed beforehand (the agency's CPU, not ours).
//!
//! `PASSERELLE_BENCH_PROFILE=exchange` (or `flow`) runs only that operation, 5,000 times,
//! for a profiler.

mod support;

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod pages;

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use pages::{Browser, PUBLIC_URL, Site, site_with_clock_at};
use passerelle::clock::{Clock, SystemClock};
use passerelle::oidc::agency::{AalSetting, Agency};
use passerelle::oidc::jose::{Alg, SigningKey, verify};
use passerelle::random::{OsRandom, RandomExt};
use rustix::time::{ClockId, clock_gettime};
use serde_json::json;
use tower::ServiceExt;
use tower::service_fn;

const CLIENT: &str = "urn:gov:bench:agency";
/// The same agency's twin that chose ES256 ID tokens (OIDC-4 allows either per agency).
const CLIENT_ES256: &str = "urn:gov:bench:agency-es256";
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

/// CPU nanoseconds the main thread spent inside the router (see `metered`).
static SERVER_NS: AtomicU64 = AtomicU64::new(0);

/// The same, per endpoint of a flow: `/authorize`, `/token`, `/userinfo`.
static ENDPOINT_NS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
const ENDPOINTS: [&str; 3] = ["/authorize", "/token", "/userinfo"];

fn endpoint_ns() -> [u64; 3] {
    ENDPOINT_NS.each_ref().map(|e| e.load(Ordering::Relaxed))
}

fn cpu_ns(clock: ClockId) -> u64 {
    let t = clock_gettime(clock);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// The router, with the calling thread's CPU from the request's arrival to the response's
/// last byte added to `SERVER_NS`. Runs on the thread that polls it: `block_on`'s, the main
/// thread; what the router hands to other threads is counted as theirs.
fn metered(router: Router) -> Router {
    Router::new().fallback_service(service_fn(move |req: Request<Body>| {
        let router = router.clone();
        async move {
            let endpoint = ENDPOINTS
                .iter()
                .position(|e| req.uri().path().starts_with(e));
            let start = cpu_ns(ClockId::ThreadCPUTime);
            let response = router.oneshot(req).await?;
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await.expect("body").to_bytes();
            let spent = cpu_ns(ClockId::ThreadCPUTime) - start;
            SERVER_NS.fetch_add(spent, Ordering::Relaxed);
            if let Some(i) = endpoint {
                ENDPOINT_NS[i].fetch_add(spent, Ordering::Relaxed);
            }
            Ok::<_, Infallible>(Response::from_parts(parts, Body::from(bytes)))
        }
    }))
}

async fn setup() -> Bench {
    let mut site = site_with_clock_at(SystemClock.now_ms());
    site.router = metered(site.router);
    let key = SigningKey::generate(Alg::RS256, "bench".into())
        .expect("key")
        .0;
    let agency = |client_id: &str, id_token_alg| Agency {
        client_id: client_id.into(),
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
        id_token_alg,
        push_notification_url: None,
        failure_to_proof_url: None,
    };
    let oidc = site.state.oidc().await.expect("provider");
    for (client, alg) in [(CLIENT, Alg::RS256), (CLIENT_ES256, Alg::ES256)] {
        oidc.provider
            .agencies
            .put(&agency(client, alg))
            .await
            .expect("agency");
        // Warm the signing keys and the data-key cache, as a running function has them.
        oidc.provider.keys.current(alg).await.expect("keys");
    }
    Bench { site, key }
}

fn assertion(b: &Bench) -> String {
    assertion_for(b, CLIENT)
}

fn assertion_for(b: &Bench, client: &str) -> String {
    let now = b.site.services.clock.now_ms() / 1000;
    b.key
        .sign(
            "JWT",
            &json!({"iss": client, "sub": client, "aud": format!("{PUBLIC_URL}/token"),
                    "jti": OsRandom.token(16), "exp": now + 300, "iat": now}),
        )
        .expect("assertion")
}

fn authorize_path(client: &str, state: &str) -> String {
    format!(
        "/authorize?{}",
        serde_urlencoded::to_string([
            ("client_id", client),
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
        claims: None,
        sealed_by_key_service: None,
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
async fn flow(browser: &mut Browser<'_>, client: &str, assertion: &str) {
    let state = "bench-state-bench-state-bench";
    let back = browser.get(&authorize_path(client, state)).await;
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

/// CPU clocks at the start of a measured stretch.
struct Meter {
    wall: Instant,
    process: u64,
    main: u64,
    server: u64,
    endpoints: [u64; 3],
}

/// What stretches of one operation added up to.
#[derive(Default)]
struct Totals {
    n: usize,
    wall_ns: u64,
    server_ns: u64,
    process_ns: u64,
    /// The main thread's share, per endpoint (`ENDPOINTS`).
    endpoints_ns: [u64; 3],
    /// Server CPU per operation of each round, in nanoseconds.
    rounds: Vec<f64>,
}

impl Meter {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            process: cpu_ns(ClockId::ProcessCPUTime),
            main: cpu_ns(ClockId::ThreadCPUTime),
            server: SERVER_NS.load(Ordering::Relaxed),
            endpoints: endpoint_ns(),
        }
    }

    /// Adds the stretch since `start` (`n` operations) to `totals`. Must run on the thread
    /// that called `start` (the main thread, where `block_on` polls the router).
    fn stop(self, n: usize, totals: &mut Totals) {
        let process = cpu_ns(ClockId::ProcessCPUTime) - self.process;
        let main = cpu_ns(ClockId::ThreadCPUTime) - self.main;
        let inside = SERVER_NS.load(Ordering::Relaxed) - self.server;
        // Outside the main thread everything is the server's (the bench starts no threads;
        // tokio's idle workers are the server's runtime).
        let server = if inside == 0 {
            process
        } else {
            inside + process.saturating_sub(main)
        };
        totals.n += n;
        totals.wall_ns += self.wall.elapsed().as_nanos() as u64;
        totals.server_ns += server;
        totals.process_ns += process;
        for (total, (now, then)) in totals
            .endpoints_ns
            .iter_mut()
            .zip(endpoint_ns().into_iter().zip(self.endpoints))
        {
            *total += now - then;
        }
        totals.rounds.push(server as f64 / n as f64);
    }
}

impl Totals {
    fn per_op_us(&self, ns: u64) -> f64 {
        ns as f64 / self.n as f64 / 1e3
    }

    /// Prints the operation's figures; `floor`: the RSA floor's, for the ratio.
    fn report(&self, name: &str, floor: Option<&Totals>) {
        let ratio = floor.map(|f| {
            let per_round: Vec<f64> = self
                .rounds
                .iter()
                .zip(&f.rounds)
                .map(|(op, fl)| op / fl)
                .collect();
            let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = per_round.iter().copied().fold(0.0, f64::max);
            let all = (self.server_ns as f64 / self.n as f64) / (f.server_ns as f64 / f.n as f64);
            format!(", {all:.2} × the floor (rounds {lo:.2}–{hi:.2})")
        });
        #[allow(clippy::print_stdout)]
        {
            println!(
                "cpu  {name:<28} {} runs: {:>7.1} µs wall, {:>7.1} µs server CPU per op \
                 ({:.0}/s per core), {:>7.1} µs process CPU{}",
                self.n,
                self.per_op_us(self.wall_ns),
                self.per_op_us(self.server_ns),
                self.n as f64 * 1e9 / self.server_ns.max(1) as f64,
                self.per_op_us(self.process_ns),
                ratio.unwrap_or_default(),
            );
            if self.endpoints_ns.iter().filter(|&&e| e > 0).count() > 1 {
                let split: Vec<String> = ENDPOINTS
                    .iter()
                    .zip(self.endpoints_ns)
                    .map(|(e, ns)| format!("{e} {:.1} µs", self.per_op_us(ns)))
                    .collect();
                println!("     {:<28} of which {}", "", split.join(", "));
            }
        }
    }
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let bench = rt.block_on(setup());
    // A person who signed up with an app and consented once to each agency, through the
    // pages.
    let mut browser = Browser::new(&bench.site);
    rt.block_on(async {
        pages::sign_up_with_app(&mut browser, "", "bench@example.com").await;
        for client in [CLIENT, CLIENT_ES256] {
            let first = browser
                .get(&authorize_path(client, "first-state-first-state-first"))
                .await;
            browser.follow(first).await;
            let allowed = browser
                .post("/authorize/consent", &[("decision", "allow")])
                .await;
            assert!(allowed.location().starts_with(REDIRECT), "{}", allowed.body);
        }
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

    if let Ok(only) = std::env::var("PASSERELLE_BENCH_PROFILE") {
        // For `perf record --delay`: one operation, many times, and nothing else.
        let n = 5000;
        let assertions: Vec<String> = (0..n).map(|_| assertion(&bench)).collect();
        let codes: Vec<String> = match only.as_str() {
            "exchange" => (0..n).map(|_| rt.block_on(code(&bench, &user))).collect(),
            "flow" => Vec::new(),
            other => panic!("PASSERELLE_BENCH_PROFILE: exchange or flow, not {other}"),
        };
        #[allow(clippy::print_stderr)]
        {
            eprintln!("prepared; running {n} × {only}");
        }
        rt.block_on(async {
            for (i, a) in assertions.iter().enumerate() {
                match codes.get(i) {
                    Some(code) => drop(black_box(exchange(&bench.site, code, a).await)),
                    None => flow(&mut browser, CLIENT, a).await,
                }
            }
        });
        return;
    }

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

    // CPU per operation, in rounds that take turns (the floor, exchanges, flows, flows for
    // the agency with ES256 ID tokens), so that
    // this VM's speed, which drifts by a quarter over minutes, weighs on all three alike.
    let (rounds, per_round) = (10, 100);
    let n = rounds * per_round;
    let prepared: Vec<(String, String)> = (0..n)
        .map(|_| (rt.block_on(code(&bench, &user)), assertion(&bench)))
        .collect();
    let assertions: Vec<String> = (0..n).map(|_| assertion(&bench)).collect();
    let assertions_es256: Vec<String> = (0..n)
        .map(|_| assertion_for(&bench, CLIENT_ES256))
        .collect();
    let (mut floor, mut exchanges, mut flows, mut flows_es256) = Default::default();
    for round in 0..rounds {
        let slice = round * per_round..(round + 1) * per_round;
        let meter = Meter::start();
        for _ in slice.clone() {
            black_box(bench.key.sign("JWT", &json!({"sub": "x"})).expect("sign"));
            black_box(verify(&sig_token, &jwk).is_some());
        }
        meter.stop(per_round, &mut floor);

        let meter = Meter::start();
        rt.block_on(async {
            for (code, assertion) in &prepared[slice.clone()] {
                black_box(exchange(&bench.site, code, assertion).await);
            }
        });
        meter.stop(per_round, &mut exchanges);

        let meter = Meter::start();
        rt.block_on(async {
            for a in &assertions[slice.clone()] {
                flow(&mut browser, CLIENT, a).await;
            }
        });
        meter.stop(per_round, &mut flows);

        let meter = Meter::start();
        rt.block_on(async {
            for a in &assertions_es256[slice] {
                flow(&mut browser, CLIENT_ES256, a).await;
            }
        });
        meter.stop(per_round, &mut flows_es256);
    }
    let floor: Totals = floor;
    floor.report("rs256 sign + verify", None);
    exchanges.report("code exchange (POST /token)", Some(&floor));
    flows.report("complete flow", Some(&floor));
    flows_es256.report("complete flow, ES256 ID token", None);
}

criterion_group! {
    name = oidc;
    config = support::short_runs();
    targets = benches
}
criterion_main!(oidc);
