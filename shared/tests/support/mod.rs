//! What the page scenario tests share: a site over the embedded adapters (with the clock
//! the test chooses), its mail read from the outbox after the notify worker's delivery,
//! and a browser that keeps cookies, submits forms with their CSRF field and follows
//! redirects.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use passerelle::account::password_hash::HashParams;
use passerelle::clock::{Clock, ManualClock, SystemClock};
use passerelle::config::EmbeddedConfig;
use passerelle::keys::KeyService;
use passerelle::queue::Queue;
use passerelle::random::OsRandom;
use passerelle::services::Services;
use passerelle::session::SessionPolicy;
use passerelle::store::Store;
use passerelle::web::{WebState, router};
use tower::ServiceExt;

pub mod counting;

pub const PUBLIC_URL: &str = "http://localhost:3000";
pub const GOOD: &str = "correct horse battery staple";
pub const OTHER_GOOD: &str = "violet lantern orbit meadow";

/// Cheap argon2: these tests are about pages, not hashing cost.
pub const FAST: HashParams = HashParams {
    m_cost_kib: 1024,
    t_cost: 1,
    p_cost: 1,
};

pub struct Site {
    pub router: Router,
    /// For what runs outside requests (scheduled jobs).
    pub state: WebState,
    pub services: Arc<Services>,
    /// Set when the test drives the clock.
    pub clock: Option<Arc<ManualClock>>,
    _dir: Arc<tempfile::TempDir>,
}

/// A site on the system clock.
pub fn site() -> Site {
    build(Arc::new(SystemClock), None, SessionPolicy::default())
}

/// A site whose clock the test moves.
pub fn site_with_clock() -> Site {
    site_with_clock_at(1_800_000_000_000)
}

/// A site whose clock starts at `ms` and moves when the test says (agency libraries
/// check token times against the real clock: start there).
pub fn site_with_clock_at(ms: i64) -> Site {
    let clock = Arc::new(ManualClock::at_ms(ms));
    build(
        clock.clone() as Arc<dyn Clock>,
        Some(clock),
        SessionPolicy::default(),
    )
}

fn build(clock: Arc<dyn Clock>, manual: Option<Arc<ManualClock>>, policy: SessionPolicy) -> Site {
    build_over(clock, manual, policy, |s| s)
}

/// A site on a clock the test moves, whose store, key service and queues count what
/// they are asked (see [`counting`]).
pub fn site_counted_at(ms: i64) -> (Site, counting::Meter) {
    use counting::{CountingKeys, CountingQueue, CountingStore, Meter};
    let meter = Meter::default();
    let (k, st, q) = (meter.clone(), meter.clone(), meter.clone());
    let site = site_wrapped_at(
        ms,
        move |inner| Arc::new(CountingKeys { inner, meter: k }) as Arc<dyn KeyService>,
        move |inner| {
            Arc::new(CountingStore {
                inner,
                meter: st.clone(),
            }) as Arc<dyn Store>
        },
        move |inner| {
            Arc::new(CountingQueue {
                inner,
                meter: q.clone(),
            }) as Arc<dyn Queue>
        },
    );
    (site, meter)
}

/// A site on a clock the test moves whose store, key service and queues fail where the
/// returned controller says (see `passerelle::conformance::faults`).
#[cfg(feature = "conformance")]
pub fn site_with_faults_at(ms: i64) -> (Site, passerelle::conformance::faults::Faults) {
    use passerelle::conformance::faults::{Faults, FaultyKeys, FaultyQueue, FaultyStore};
    let faults = Faults::default();
    let (k, st, q) = (faults.clone(), faults.clone(), faults.clone());
    let site = site_wrapped_at(
        ms,
        move |inner| Arc::new(FaultyKeys { inner, faults: k }) as Arc<dyn KeyService>,
        move |inner| {
            Arc::new(FaultyStore {
                inner,
                faults: st.clone(),
            }) as Arc<dyn Store>
        },
        move |inner| {
            Arc::new(FaultyQueue {
                inner,
                faults: q.clone(),
            }) as Arc<dyn Queue>
        },
    );
    (site, faults)
}

/// A site on a clock the test moves whose key service, stores (the table and the key
/// table) and both queues are wrapped. The envelope is rebuilt over the wrapped key
/// service, with a data-key cache of its own, so every call the wrapper should see
/// reaches it.
fn site_wrapped_at(
    ms: i64,
    keys: impl FnOnce(Arc<dyn KeyService>) -> Arc<dyn KeyService> + 'static,
    store: impl Fn(Arc<dyn Store>) -> Arc<dyn Store> + 'static,
    queue: impl Fn(Arc<dyn Queue>) -> Arc<dyn Queue> + 'static,
) -> Site {
    use passerelle::envelope::{AccountKeys, CacheLimits, Envelope};
    let clock = Arc::new(ManualClock::at_ms(ms));
    build_over(
        clock.clone() as Arc<dyn Clock>,
        Some(clock),
        SessionPolicy::default(),
        move |mut s| {
            let keys = keys(Arc::clone(&s.keys));
            let mut envelope = Envelope::new(
                Arc::clone(&keys),
                Arc::clone(&s.clock),
                Arc::clone(&s.random),
                CacheLimits::default(),
            );
            if let Some(account_keys) = s.envelope.account_keys() {
                envelope = envelope.with_account_keys(Arc::new(AccountKeys::new(
                    store(Arc::clone(account_keys.store())),
                    Arc::clone(&s.clock),
                    Arc::clone(&s.random),
                )));
            }
            s.envelope = Arc::new(envelope);
            s.keys = keys;
            s.store = store(Arc::clone(&s.store));
            s.notify_queue = queue(Arc::clone(&s.notify_queue));
            s.proofing_queue = queue(Arc::clone(&s.proofing_queue));
            s
        },
    )
}

fn build_over(
    clock: Arc<dyn Clock>,
    manual: Option<Arc<ManualClock>>,
    policy: SessionPolicy,
    wrap: impl FnOnce(Services) -> Services,
) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmbeddedConfig {
        data_dir: dir.path().to_path_buf(),
        max_receives: 5,
    };
    let services = Arc::new(wrap(
        Services::embedded(&cfg, clock, Arc::new(OsRandom)).unwrap(),
    ));
    let state = WebState::new(Arc::clone(&services), PUBLIC_URL, true)
        .with_hash_params(FAST)
        .with_session_policy(policy);
    Site {
        // As the local stack serves it: the agencies' JSON endpoints beside the pages.
        router: passerelle::api::router(state.api.clone()).merge(router(state.clone())),
        state,
        services,
        clock: manual,
        _dir: Arc::new(dir),
    }
}

/// A site on the AWS adapters on moto_server — DynamoDB, KMS, SQS (notify and proofing
/// queues, each with its dead-letter queue) — with mail and SMS in a local outbox (moto
/// does not deliver), on a clock the test moves. `cargo xtask test` starts moto and sets
/// `PASSERELLE_TEST_MOTO_URL`.
#[cfg(feature = "aws")]
pub async fn site_on_moto() -> Site {
    use passerelle::aws::AwsClients;
    use passerelle::envelope::AccountKeys;
    use passerelle::keys::KeyService;
    use passerelle::keys::kms::KmsKeyService;
    use passerelle::queue::sqs::SqsQueue;
    use passerelle::store::dynamo::DynamoStore;

    let url = std::env::var("PASSERELLE_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!(
            "this test needs moto_server: run `cargo xtask test`, or set PASSERELLE_TEST_MOTO_URL"
        )
    });
    let unique = |prefix: &str| {
        use passerelle::random::RandomExt;
        format!("{prefix}-{}", OsRandom.token(6).replace(['-', '_'], "x"))
    };
    let clients = AwsClients::for_moto(&url).await;
    let table = unique("site");
    DynamoStore::create_table(&clients.dynamodb, &table)
        .await
        .unwrap();
    let key_table = unique("site-keys");
    DynamoStore::create_table(&clients.dynamodb, &key_table)
        .await
        .unwrap();
    let key = clients.kms.create_key().send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let (notify, _) = SqsQueue::create_with_dead_letter(&clients.sqs, &unique("notify"), 5)
        .await
        .unwrap();
    let (proofing, _) = SqsQueue::create_with_dead_letter(&clients.sqs, &unique("proofing"), 5)
        .await
        .unwrap();
    let manual = Arc::new(ManualClock::at_ms(1_800_000_000_000));
    let clock: Arc<dyn Clock> = manual.clone();
    let random: Arc<dyn passerelle::random::Random> = Arc::new(OsRandom);
    let mac_key = clients
        .kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap();
    let mac_key_id = mac_key.key_metadata().unwrap().key_id().to_owned();
    let keys: Arc<dyn KeyService> = Arc::new(KmsKeyService::new(
        clients.kms.clone(),
        &key_id,
        &mac_key_id,
    ));
    let dir = tempfile::tempdir().unwrap();
    let db = passerelle::sqlite::Db::in_dir(dir.path()).unwrap();
    let outbox = passerelle::notify::outbox::Outbox::new(db.clone(), Arc::clone(&clock));
    let unused_queue = |name: &str| {
        passerelle::queue::embedded::EmbeddedQueue::new(
            db.clone(),
            name,
            None,
            Arc::clone(&clock),
            Arc::clone(&random),
        )
    };
    let services = Arc::new(Services {
        store: Arc::new(DynamoStore::new(
            clients.dynamodb.clone(),
            &table,
            Arc::clone(&clock),
        )),
        envelope: Services::envelope(
            &keys,
            &clock,
            &random,
            Arc::new(AccountKeys::new(
                Arc::new(DynamoStore::new(
                    clients.dynamodb.clone(),
                    &key_table,
                    Arc::clone(&clock),
                )),
                Arc::clone(&clock),
                Arc::clone(&random),
            )),
        ),
        keys,
        notify_queue: Arc::new(notify),
        proofing_queue: Arc::new(proofing),
        proofing_max_receives: 5,
        mailer: Arc::new(outbox.clone()),
        sms: Arc::new(outbox.clone()),
        clock: Arc::clone(&clock),
        random: Arc::clone(&random),
        // The outbox, for the tests' mail; the store is DynamoDB, so nothing else of the
        // embedded backend is used.
        local: Some(passerelle::services::Local {
            outbox,
            store: passerelle::store::embedded::EmbeddedStore::new(db.clone(), Arc::clone(&clock)),
            notify_dlq: unused_queue("notify-dlq"),
            proofing_dlq: unused_queue("proofing-dlq"),
        }),
    });
    let state = WebState::new(Arc::clone(&services), PUBLIC_URL, true).with_hash_params(FAST);
    Site {
        router: passerelle::api::router(state.api.clone()).merge(router(state.clone())),
        state,
        services,
        clock: Some(manual),
        _dir: Arc::new(dir),
    }
}

impl Site {
    /// The same site as a new process would serve it: the same store, keys, queues and
    /// clock, with every in-process cache (data keys, signing keys, agencies) empty.
    pub fn restarted(&self) -> Site {
        use passerelle::envelope::{AccountKeys, CacheLimits, Envelope};
        let mut services = (*self.services).clone();
        let mut envelope = Envelope::new(
            Arc::clone(&services.keys),
            Arc::clone(&services.clock),
            Arc::clone(&services.random),
            CacheLimits::default(),
        );
        if let Some(account_keys) = services.envelope.account_keys() {
            envelope = envelope.with_account_keys(Arc::new(AccountKeys::new(
                Arc::clone(account_keys.store()),
                Arc::clone(&services.clock),
                Arc::clone(&services.random),
            )));
        }
        services.envelope = Arc::new(envelope);
        let services = Arc::new(services);
        let state = WebState::new(Arc::clone(&services), PUBLIC_URL, true).with_hash_params(FAST);
        Site {
            router: passerelle::api::router(state.api.clone()).merge(router(state.clone())),
            state,
            services,
            clock: self.clock.clone(),
            _dir: Arc::clone(&self._dir),
        }
    }

    /// The directory of the embedded backend's files (the SQLite database among them).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Moves the test clock on.
    pub fn advance(&self, secs: i64) {
        self.clock
            .as_ref()
            .expect("a site with a manual clock")
            .advance_ms(secs * 1000);
    }

    /// Delivers every queued mail job, as the notify worker would, and returns the mail
    /// to `to`, newest first, as (subject, text).
    pub async fn mail_to(&self, to: &str) -> Vec<(String, String)> {
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

    /// The first link containing `path` in the newest mail to `to` that has one, made
    /// local (`/fr/…?t=…`).
    pub async fn link_in_mail(&self, to: &str, path: &str) -> String {
        let mail = self.mail_to(to).await;
        for (_, text) in &mail {
            for (i, _) in text.match_indices(PUBLIC_URL) {
                let link: String = text[i + PUBLIC_URL.len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '>' && *c != ')')
                    .collect();
                if link.contains(path) {
                    return link;
                }
            }
        }
        panic!("no mail to {to} with a link to {path}: {mail:?}");
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A browser: keeps cookies, and the CSRF field of the last page it saw.
pub struct Browser<'a> {
    pub site: &'a Site,
    pub cookies: BTreeMap<String, String>,
    pub csrf: Option<String>,
    /// The address its requests come from, as the platform sees it (the socket's, as the
    /// local stack serves with `ConnectInfo`).
    pub ip: &'static str,
    pub user_agent: &'static str,
    /// Headers it adds to every request (what a client may claim: `X-Forwarded-For`,
    /// CDN viewer headers …).
    pub extra_headers: Vec<(&'static str, String)>,
    /// Every 5xx answer it got: (status, `x-request-id` header, `Retry-After` header, body).
    pub server_errors: Vec<(StatusCode, Option<String>, Option<String>, String)>,
}

impl<'a> Browser<'a> {
    pub fn new(site: &'a Site) -> Self {
        Self {
            site,
            cookies: BTreeMap::new(),
            csrf: None,
            ip: "198.51.100.7",
            user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
            extra_headers: Vec::new(),
            server_errors: Vec::new(),
        }
    }

    pub async fn send(&mut self, method: Method, path: &str, body: Option<Vec<u8>>) -> Answer {
        let peer = std::net::SocketAddr::new(self.ip.parse().expect("an IP address"), 50_000);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .extension(axum::extract::ConnectInfo(peer))
            .header(header::USER_AGENT, self.user_agent);
        for (name, value) in &self.extra_headers {
            req = req.header(*name, value);
        }
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
            let text = v.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(bytes.to_vec()).unwrap();
        let marker = "name=\"csrf_token\" value=\"";
        if let Some(i) = body.find(marker) {
            let rest = &body[i + marker.len()..];
            self.csrf = Some(rest[..rest.find('"').unwrap()].to_owned());
        }
        if status.is_server_error() {
            let header = |name| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let (id, retry_after) = (header("x-request-id"), header("retry-after"));
            self.server_errors
                .push((status, id, retry_after, body.clone()));
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A GET, without following redirects.
    pub async fn get(&mut self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    /// Submits a form with the CSRF field of the last page seen, without following
    /// redirects.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone().expect("a page with a form first");
        all.push(("csrf_token", &csrf));
        let body = serde_urlencoded::to_string(&all).unwrap();
        self.send(Method::POST, path, Some(body.into_bytes())).await
    }

    /// Follows redirects from `answer` as a browser would (GET), up to 5.
    pub async fn follow(&mut self, mut answer: Answer) -> Answer {
        for _ in 0..5 {
            if !answer.status.is_redirection() {
                return answer;
            }
            let to = answer.location().to_owned();
            answer = self.get(&to).await;
        }
        panic!("too many redirects");
    }

    /// GET, following redirects.
    pub async fn open(&mut self, path: &str) -> Answer {
        let a = self.get(path).await;
        self.follow(a).await
    }

    /// Submits a form, following redirects.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let a = self.post(path, fields).await;
        self.follow(a).await
    }

    pub fn has_session(&self) -> bool {
        self.cookies.contains_key("__Host-session")
    }
}

/// Signs up `email` through the pages under `prefix` ("" or "/fr" …) in browser `b`;
/// returns the answer to the password form (a redirect to factor set-up on success).
pub async fn sign_up(b: &mut Browser<'_>, prefix: &str, email: &str, password: &str) -> Answer {
    b.get(&format!("{prefix}/sign-up")).await;
    let answer = b
        .post(
            &format!("{prefix}/sign-up"),
            &[("email", email), ("accept_rules", "yes")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let link = b.site.link_in_mail(email, "/sign-up/confirm").await;
    let form = b.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    let token = link.split("t=").nth(1).unwrap().to_owned();
    b.post(
        &format!("{prefix}/sign-up/confirm"),
        &[("t", &token), ("password", password)],
    )
    .await
}

/// Extracts the text between `start` and the next `end` in `body`.
pub fn between<'b>(body: &'b str, start: &str, end: &str) -> Option<&'b str> {
    let i = body.find(start)? + start.len();
    let j = body[i..].find(end)? + i;
    Some(&body[i..j])
}

/// RFC 4648 base32 (no padding, spaces ignored), as the TOTP page shows the key.
pub fn base32_decode(text: &str) -> Vec<u8> {
    let mut bits: u64 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        let v = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
            .find(c.to_ascii_uppercase())
            .expect("a base32 character") as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

impl Site {
    /// The code an authentication app with `secret` shows at the site's clock.
    pub fn totp(&self, secret: &[u8]) -> String {
        let now = self
            .clock
            .as_ref()
            .map(|c| c.now_secs())
            .expect("a site with a manual clock");
        let step = passerelle::mfa::totp::step_at(now);
        passerelle::mfa::totp::code_at_step(secret, step).to_string()
    }
}

/// Signs up `email` with an authentication app as first method, in browser `b`, on a
/// site with a manual clock; returns the app's secret. The browser ends signed in.
pub async fn sign_up_with_app(b: &mut Browser<'_>, prefix: &str, email: &str) -> Vec<u8> {
    let done = sign_up(b, prefix, email, GOOD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let setup = b.get(&format!("{prefix}/mfa/totp")).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let secret_text = between(&setup.body, "id=\"totp-secret\">", "<").expect("the key");
    let secret = base32_decode(secret_text);
    let enrollment = between(&setup.body, "name=\"enrollment\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let code = b.site.totp(&secret);
    let added = b
        .post(
            &format!("{prefix}/mfa/totp"),
            &[
                ("enrollment", &enrollment),
                ("name", "Phone"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), format!("{prefix}/mfa/setup?added=totp"));
    // The next code comes from the next 30 s step: a code is never accepted twice.
    b.site.advance(30);
    secret
}

/// Signs in with password and app in a fresh browser; returns it, signed in.
pub async fn sign_in_with_app<'a>(
    site: &'a Site,
    email: &str,
    password: &str,
    secret: &[u8],
) -> Browser<'a> {
    let mut b = Browser::new(site);
    b.get("/sign-in").await;
    let step = b
        .post("/sign-in", &[("email", email), ("password", password)])
        .await;
    assert_eq!(step.location(), "/sign-in/factor", "{}", step.body);
    let form = b.open("/sign-in/factor").await;
    assert!(form.body.contains("name=\"code\""), "{}", form.body);
    let code = site.totp(secret);
    let done = b
        .post("/sign-in/totp", &[("code", &code), ("return_to", "")])
        .await;
    assert_eq!(done.location(), "/account", "{}", done.body);
    site.advance(30);
    b
}

/// The six-digit code in the newest text message to `number`.
pub async fn texted_code(site: &Site, number: &str) -> String {
    let texts = site.mail_to(number).await;
    let (_, body) = texts.first().expect("a text message");
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a six-digit code")
        .to_owned()
}

/// Registers the benefits agency the agency-side tests sign in at: IAL1, `email`,
/// `private_key_jwt` with its key by value, RS256 ID tokens. Returns its signing key.
pub async fn register_benefits_agency(
    site: &Site,
    client_id: &str,
    redirect_uri: &str,
) -> passerelle::oidc::jose::SigningKey {
    use passerelle::oidc::agency::{AalSetting, Agency};
    use passerelle::oidc::jose::{Alg, SigningKey};
    let key = SigningKey::generate(Alg::RS256, "agency-key-1".into())
        .unwrap()
        .0;
    let agency = Agency {
        client_id: client_id.into(),
        name: "Benefits Portal".into(),
        agency_id: "benefits".into(),
        ial: 1,
        default_aal: AalSetting::Default,
        keys: vec![key.public_jwk()],
        jwks_uri: None,
        redirect_uris: vec![redirect_uri.into()],
        post_logout_redirect_uris: vec![],
        scopes: vec!["email".into()],
        pkce: false,
        id_token_alg: Alg::RS256,
        push_notification_url: None,
        failure_to_proof_url: None,
    };
    let oidc = site.state.oidc().await.unwrap();
    oidc.provider.agencies.put(&agency).await.unwrap();
    key
}
