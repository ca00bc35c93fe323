//! The fault matrix: each flow runs once fault-free to count the calls it makes to the
//! store, key service and queues, then once per call index and per error kind that call
//! can answer, on a fresh site, with that one call failing; then the person retries
//! without faults. After each: no 5xx without a request id, the retry succeeds, and the
//! whole store holds together. A store or key-service fault that clears by itself
//! (throttled, timed out, unavailable) is answered 503 with `Retry-After`, never 500; one
//! that does not (access denied, malformed) is a 500, never a "try again shortly". The
//! agency's code exchange at `/token` runs the same loop, judged by RFC 6749's JSON:
//! `temporarily_unavailable` (503, `Retry-After`) or `server_error` (500), no detail.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The counts (flows × call indices × kinds) are this test's report.
#![allow(clippy::print_stdout)]

mod support;

use http::StatusCode;
use passerelle::clock::Clock;
use passerelle::conformance::faults::{Call, FaultKind};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::{Browser, GOOD, Site, base32_decode, between, site_with_faults_at};

const START_MS: i64 = 1_800_000_000_000;
const EMAIL: &str = "ada@example.org";

type Step = Result<(), String>;

/// The 5xx answers a flow's browser got: (status, `Retry-After`).
type Seen = std::sync::Mutex<Vec<(StatusCode, Option<String>)>>;

fn expect(a: &support::Answer, status: StatusCode, what: &str) -> Step {
    if a.status == status {
        Ok(())
    } else {
        Err(format!("{what}: {} {}", a.status, a.location()))
    }
}

/// Delivers the queued mail as the notify worker would, without panicking on a fault:
/// a job that fails stays queued for the next receive.
async fn deliver(site: &Site) -> Step {
    let deliverer = site.services.deliverer();
    for _ in 0..10 {
        let batch = site
            .services
            .notify_queue
            .receive(10, Duration::from_secs(30), Duration::ZERO)
            .await
            .map_err(|e| e.to_string())?;
        if batch.is_empty() {
            return Ok(());
        }
        for m in batch {
            deliverer
                .deliver(&m.body)
                .await
                .map_err(|e| e.to_string())?;
            site.services
                .notify_queue
                .delete(&m.receipt)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

async fn confirm_link(site: &Site) -> Result<String, String> {
    deliver(site).await?;
    let outbox = &site.services.local.as_ref().unwrap().outbox;
    let mail = outbox
        .list(Some(EMAIL), 100)
        .await
        .map_err(|e| e.to_string())?;
    for e in mail {
        if let Some(i) = e.text.find("/sign-up/confirm?t=") {
            let link: String = e.text[i..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != ')')
                .collect();
            return Ok(link);
        }
    }
    Err("no confirmation mail".into())
}

/// Adds an authentication app from the set-up page; keeps its secret in `secret`.
async fn add_app(b: &mut Browser<'_>, secret: &mut Option<Vec<u8>>) -> Step {
    let setup = b.get("/mfa/totp").await;
    expect(&setup, StatusCode::OK, "app set-up page")?;
    let text = between(&setup.body, "id=\"totp-secret\">", "<").ok_or("no key shown")?;
    let key = base32_decode(text);
    *secret = Some(key.clone());
    let enrollment = between(&setup.body, "name=\"enrollment\" value=\"", "\"")
        .ok_or("no enrollment")?
        .to_owned();
    let code = b.site.totp(&key);
    let added = b
        .post(
            "/mfa/totp",
            &[
                ("enrollment", &enrollment),
                ("name", "Phone"),
                ("code", &code),
            ],
        )
        .await;
    expect(&added, StatusCode::SEE_OTHER, "adding the app")?;
    b.site.advance(30);
    Ok(())
}

/// Sign-up: email, confirmation link, password, authentication app.
async fn sign_up(site: &Site, secret: &mut Option<Vec<u8>>, seen: &Seen) -> Step {
    let mut b = Browser::new(site);
    let r = async {
        expect(&b.get("/sign-up").await, StatusCode::OK, "sign-up page")?;
        let a = b
            .post("/sign-up", &[("email", EMAIL), ("accept_rules", "yes")])
            .await;
        expect(&a, StatusCode::OK, "sign-up form")?;
        let link = confirm_link(site).await?;
        expect(&b.get(&link).await, StatusCode::OK, "confirmation link")?;
        let token = link.split("t=").nth(1).unwrap().to_owned();
        let a = b
            .post("/sign-up/confirm", &[("t", &token), ("password", GOOD)])
            .await;
        expect(&a, StatusCode::SEE_OTHER, "password")?;
        add_app(&mut b, secret).await
    }
    .await;
    check_errors(&b, seen)?;
    r
}

/// Sign-in with password and app code; set-up of the app if the account has none yet.
async fn sign_in(site: &Site, secret: &mut Option<Vec<u8>>, seen: &Seen) -> Step {
    let mut b = Browser::new(site);
    let r = async {
        expect(&b.get("/sign-in").await, StatusCode::OK, "sign-in page")?;
        let step = b
            .post("/sign-in", &[("email", EMAIL), ("password", GOOD)])
            .await;
        expect(&step, StatusCode::SEE_OTHER, "password")?;
        if step.location() != "/sign-in/factor" {
            // Set-up unfinished: the person is sent to add a method.
            let _ = b.follow(step).await;
            return add_app(&mut b, secret).await;
        }
        let key = secret.clone().ok_or("an app without its secret")?;
        expect(
            &b.open("/sign-in/factor").await,
            StatusCode::OK,
            "factor page",
        )?;
        let code = site.totp(&key);
        let done = b
            .post("/sign-in/totp", &[("code", &code), ("return_to", "")])
            .await;
        site.advance(30);
        if done.location() != "/account" {
            return Err(format!("app code: {} {}", done.status, done.location()));
        }
        Ok(())
    }
    .await;
    check_errors(&b, seen)?;
    r
}

/// What a person does after a failure: sign in if the account exists, else sign up again.
async fn retry(site: &Site, secret: &mut Option<Vec<u8>>) -> Step {
    site.advance(60);
    let seen = Seen::default();
    match sign_in(site, secret, &seen).await {
        Ok(()) => Ok(()),
        Err(first) => sign_up(site, secret, &seen)
            .await
            .map_err(|e| format!("sign-in: {first}; sign-up: {e}")),
    }
}

/// A 5xx page must carry the request id, in the page as well as the header; each 5xx is
/// noted in `seen` for the matrix to judge its status.
fn check_errors(b: &Browser<'_>, seen: &Seen) -> Step {
    seen.lock().unwrap().extend(
        b.server_errors
            .iter()
            .map(|(status, _, retry_after, _)| (*status, retry_after.clone())),
    );
    for (status, id, _, body) in &b.server_errors {
        let Some(id) = id else {
            return Err(format!("{status} without x-request-id"));
        };
        if !body.contains(id.as_str()) {
            return Err(format!("{status} page does not show its request id"));
        }
    }
    Ok(())
}

/// What the person must be told about a fault of `kind` at `call`: `Some(503)` for a
/// store or key-service fault that clears by itself, `Some(500)` for one that does not,
/// `None` where the matrix does not judge the status (queue faults).
fn expected_status(call: Call, kind: FaultKind) -> Option<StatusCode> {
    if !matches!(call, Call::StoreRead | Call::StoreWrite | Call::Keys) {
        return None;
    }
    match kind {
        FaultKind::Throttled | FaultKind::TimedOut | FaultKind::Unavailable => {
            Some(StatusCode::SERVICE_UNAVAILABLE)
        }
        FaultKind::AccessDenied | FaultKind::Malformed => Some(StatusCode::INTERNAL_SERVER_ERROR),
        FaultKind::ConditionFailed => None,
    }
}

/// Every 5xx the faulted run answered has the status its fault calls for, and a 503 says
/// when to come back.
fn check_statuses(seen: &Seen, call: Call, kind: FaultKind) -> Step {
    let Some(expected) = expected_status(call, kind) else {
        return Ok(());
    };
    for (status, retry_after) in seen.lock().unwrap().iter() {
        if *status != expected {
            return Err(format!("answered {status}, expected {expected}"));
        }
        if *status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_none() {
            return Err("503 without Retry-After".into());
        }
    }
    Ok(())
}

fn attr<'j>(attrs: &'j serde_json::Value, name: &str) -> Option<&'j str> {
    attrs.get(name)?.get("S")?.as_str()
}

/// Walks every live item of the embedded store and checks what must hold together;
/// returns how many accounts it found.
fn invariants(site: &Site) -> Result<usize, String> {
    // A connection of our own to the same file, as an operator's `sqlite3` would.
    let conn = rusqlite::Connection::open(site.data_dir().join("passerelle.db"))
        .map_err(|e| e.to_string())?;
    let now = site.clock.as_ref().unwrap().now_ms() / 1000;
    let mut stmt = conn
        .prepare("SELECT pk, sk, attrs FROM items WHERE expires_at IS NULL OR expires_at > ?1")
        .unwrap();
    let rows: Vec<(String, String, serde_json::Value)> = stmt
        .query_map([now], |r| {
            let a: String = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, serde_json::from_str(&a).unwrap()))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut accounts = BTreeMap::new();
    let mut with_factor = BTreeSet::new();
    for (pk, sk, attrs) in &rows {
        if let Some(user) = pk.strip_prefix("USER#") {
            if sk == "ACCOUNT" {
                accounts.insert(user.to_owned(), attrs.clone());
            } else if sk.starts_with("FACTOR#") {
                with_factor.insert(user.to_owned());
            }
        }
    }
    for (user, attrs) in &accounts {
        if attr(attrs, "password").is_none() && attrs.get("password").is_none() {
            return Err(format!("account {user} without a password hash"));
        }
        if attr(attrs, "status") == Some("active") && !with_factor.contains(user) {
            return Err(format!("active account {user} without a factor"));
        }
    }
    for (pk, sk, attrs) in &rows {
        let owner = attr(attrs, "user");
        let claim = sk == "CLAIM";
        let owned = pk.starts_with("USER#")
            && (sk.starts_with("CONSENT#") || sk.starts_with("EMAIL#") || sk.starts_with("PHONE#"));
        if claim || pk.starts_with("OIDC_TOKEN#") {
            if let Some(owner) = owner {
                if !accounts.contains_key(owner) {
                    return Err(format!("{pk}/{sk} names a user with no account"));
                }
            } else if claim {
                return Err(format!("claim {pk} without its owner"));
            }
        }
        if owned {
            let user = pk.trim_start_matches("USER#").split('#').next().unwrap();
            if !accounts.contains_key(user) {
                return Err(format!("{sk} left for a deleted account"));
            }
        }
    }
    Ok(accounts.len())
}

struct Tally {
    runs: usize,
    indices: usize,
    /// 5xx answers the faulted runs gave, each judged by `check_statuses`.
    answered_5xx: usize,
    failures: Vec<String>,
}

async fn matrix<F>(name: &str, tally: &mut Tally, setup: bool, flow: F)
where
    F: for<'s> Fn(&'s Site, &'s mut Option<Vec<u8>>, &'s Seen) -> futures_like::Boxed<'s>,
{
    // The counting run.
    let (site, faults) = site_with_faults_at(START_MS);
    let mut secret = None;
    if setup {
        sign_up(&site, &mut secret, &Seen::default()).await.unwrap();
    }
    faults.disarm();
    let seen = Seen::default();
    flow(&site, &mut secret, &seen).await.unwrap();
    assert!(seen.lock().unwrap().is_empty(), "a 5xx without any fault");
    let calls = faults.calls();
    // The checker sees what the flow wrote (it is not checking an empty store).
    assert_eq!(invariants(&site), Ok(1));
    tally.indices += calls.len();
    let mut runs = 0;
    for (index, call) in calls.iter().enumerate() {
        for kind in FaultKind::ALL {
            if !call.can_fail_with(kind) {
                continue;
            }
            runs += 1;
            let (site, faults) = site_with_faults_at(START_MS);
            let mut secret = None;
            if setup {
                sign_up(&site, &mut secret, &Seen::default()).await.unwrap();
            }
            faults.arm(index, kind);
            let seen = Seen::default();
            let outcome = flow(&site, &mut secret, &seen).await;
            let fired = faults.fired();
            faults.disarm();
            let label = format!("{name} #{index} {call:?} {}", kind.as_str());
            if let Err(e) = check_statuses(&seen, *call, kind) {
                tally.failures.push(format!("{label}: {e}"));
            }
            tally.answered_5xx += seen.lock().unwrap().len();
            if let Err(e) = &outcome
                && e.contains("request id")
            {
                tally.failures.push(format!("{label}: {e}"));
            }
            if fired.is_none() && outcome.is_err() {
                tally
                    .failures
                    .push(format!("{label}: failed with no fault: {outcome:?}"));
            }
            if let Err(e) = retry(&site, &mut secret).await {
                tally.failures.push(format!("{label}: retry failed: {e}"));
            }
            if let Err(e) = invariants(&site) {
                tally.failures.push(format!("{label}: {e}"));
            }
        }
    }
    println!("{name}: {} calls, {runs} faulted runs", calls.len());
    tally.runs += runs;
}

mod futures_like {
    pub type Boxed<'s> = std::pin::Pin<Box<dyn std::future::Future<Output = super::Step> + 's>>;
}

#[tokio::test]
async fn every_call_of_sign_up_and_sign_in_can_fail_and_the_person_recovers() {
    let mut tally = Tally {
        runs: 0,
        indices: 0,
        answered_5xx: 0,
        failures: Vec::new(),
    };
    matrix("sign-up", &mut tally, false, |s, k, seen| {
        Box::pin(sign_up(s, k, seen))
    })
    .await;
    matrix("sign-in", &mut tally, true, |s, k, seen| {
        Box::pin(sign_in(s, k, seen))
    })
    .await;
    println!(
        "fault matrix: 2 flows, {} call indices, {} faulted runs (index × applicable kind of {}), {} 5xx answers judged",
        tally.indices,
        tally.runs,
        FaultKind::ALL.len(),
        tally.answered_5xx
    );
    // The status checks judged real answers (the faults do reach the person).
    assert!(tally.answered_5xx > 0);
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
}

const CLIENT: &str = "urn:gov:test:benefits";
const REDIRECT: &str = "https://benefits.example.gov/callback";

/// Registers the agency (keys by value, `private_key_jwt`); returns its signing key.
async fn register_agency(site: &Site) -> passerelle::oidc::jose::SigningKey {
    support::register_benefits_agency(site, CLIENT, REDIRECT).await
}

/// A person signs up from the agency's request (email, link, password, app) and allows
/// it; returns the code the agency receives.
async fn code_for_agency(site: &Site) -> String {
    let mut b = Browser::new(site);
    let query = serde_urlencoded::to_string([
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid email"),
        ("state", "state-of-the-agency-0123456789"),
        ("nonce", "nonce-of-the-agency-0123456789"),
    ])
    .unwrap();
    b.open(&format!("/authorize?{query}")).await;
    let confirmed = support::sign_up(&mut b, "", EMAIL, GOOD).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    let mut secret = None;
    add_app(&mut b, &mut secret).await.unwrap();
    b.open("/authorize/resume").await;
    let allowed = b.post("/authorize/consent", &[("decision", "allow")]).await;
    let location = allowed.location();
    assert!(location.starts_with(REDIRECT), "{location}");
    let query = location.split_once('?').unwrap().1;
    let params: BTreeMap<String, String> = serde_urlencoded::from_str(query).unwrap();
    params["code"].clone()
}

/// The agency's `private_key_jwt` exchange of `code`: (status, `Retry-After`, body).
async fn exchange(
    site: &Site,
    key: &passerelle::oidc::jose::SigningKey,
    code: &str,
) -> (StatusCode, Option<String>, String) {
    use tower::ServiceExt;
    let now = site.services.clock.now_ms() / 1000;
    let assertion = key
        .sign(
            "JWT",
            &serde_json::json!({
                "iss": CLIENT, "sub": CLIENT, "aud": format!("{}/token", support::PUBLIC_URL),
                "jti": passerelle::random::RandomExt::token(&passerelle::random::OsRandom, 16),
                "exp": now + 60, "iat": now,
            }),
        )
        .unwrap();
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", &assertion),
    ])
    .unwrap();
    let req = http::Request::builder()
        .method(http::Method::POST)
        .uri("/token")
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(axum::body::Body::from(form))
        .unwrap();
    let response = site.router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        retry_after,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

/// What an agency must read in a 5xx from `/token`: the status the fault calls for, RFC
/// 6749's code for it, `Retry-After` on a 503, and no detail of the fault.
fn check_token_answer(
    (status, retry_after, body): &(StatusCode, Option<String>, String),
    call: Call,
    kind: FaultKind,
) -> Step {
    if !status.is_server_error() {
        return Ok(());
    }
    let json: serde_json::Value =
        serde_json::from_str(body).map_err(|_| format!("{status} without JSON: {body}"))?;
    if body.contains("injected") || body.contains("Exception") {
        return Err(format!("{status} shows the fault's detail: {body}"));
    }
    let code = json["error"].as_str().unwrap_or_default();
    let Some(expected) = expected_status(call, kind) else {
        return Ok(());
    };
    match *status {
        s if s != expected => Err(format!("answered {s} {code}, expected {expected}")),
        StatusCode::SERVICE_UNAVAILABLE if code != "temporarily_unavailable" => {
            Err(format!("503 with error {code}"))
        }
        StatusCode::SERVICE_UNAVAILABLE if retry_after.is_none() => {
            Err("503 without Retry-After".into())
        }
        StatusCode::INTERNAL_SERVER_ERROR if code != "server_error" => {
            Err(format!("500 with error {code}"))
        }
        _ => Ok(()),
    }
}

#[tokio::test]
async fn every_call_of_the_agency_code_exchange_can_fail_and_the_agency_is_told_whether_to_retry() {
    // The counting run: a person signs up from the agency and allows it; the exchange
    // alone is counted.
    let (site, faults) = site_with_faults_at(START_MS);
    let key = register_agency(&site).await;
    let code = code_for_agency(&site).await;
    faults.disarm();
    let (status, _, body) = exchange(&site, &key, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let calls = faults.calls();
    assert!(!calls.is_empty());

    let (mut runs, mut judged, mut failures) = (0, 0, Vec::new());
    for (index, call) in calls.iter().enumerate() {
        for kind in FaultKind::ALL {
            if !call.can_fail_with(kind) {
                continue;
            }
            runs += 1;
            // Given a code the agency holds, when call `index` of its exchange fails
            // with `kind`,
            let (site, faults) = site_with_faults_at(START_MS);
            let key = register_agency(&site).await;
            let code = code_for_agency(&site).await;
            faults.arm(index, kind);
            let answer = exchange(&site, &key, &code).await;
            faults.disarm();
            // then a 5xx says whether to retry, in RFC 6749's words, and nothing more; and
            // the store still holds together.
            let label = format!("token #{index} {call:?} {}", kind.as_str());
            if answer.0.is_server_error() {
                judged += 1;
            }
            if let Err(e) = check_token_answer(&answer, *call, kind) {
                failures.push(format!("{label}: {e}"));
            }
            if let Err(e) = invariants(&site) {
                failures.push(format!("{label}: {e}"));
            }
        }
    }
    println!(
        "token exchange: {} calls, {runs} faulted runs, {judged} 5xx answers judged",
        calls.len()
    );
    assert!(judged > 0);
    assert!(failures.is_empty(), "{failures:#?}");
}
