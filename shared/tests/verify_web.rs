//! Identity verification as a person lives it (IDV-1 … IDV-9, ACC-5), through the real
//! router: consent, document photos (multipart, CSRF-checked), SSN, review, checks,
//! address by phone or letter, password, personal key, letter code, reactivation.
//!
//! The checks run for real: jobs on the embedded proofing queue, the `ProofingWorker`
//! pumped in-process, and the document result delivered through the signed callback
//! (`Callbacks::document`). The vendors are a small deterministic fake following IDV-3's
//! rules (the HTTP mocks live in `infra/local`, out of reach of these tests): SSNs
//! starting 900/666 pass, a first name containing "Fail" fails, "Time" times out, ID
//! number 00000000 fails the state check, phone 703-555-5555 cannot be verified.
//!
//! The last section plays the operator after an agency sign-in (issue 16): holding the
//! table and the root keys, they open nothing of the verified claims it stored.
#![cfg(all(feature = "web", feature = "embedded"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use passerelle::idv::callback::{CallbackSecrets, Callbacks};
use passerelle::idv::error::IdvError;
use passerelle::idv::jobs::worker::ProofingWorker;
use passerelle::idv::personal_key::PersonalKey;
use passerelle::idv::pii::{Address, Pii};
use passerelle::idv::profile::ProfileState;
use passerelle::idv::uploads::samples;
use passerelle::idv::vendors::wire::DocumentCallback;
use passerelle::idv::vendors::{
    AddressVendor, DocumentImages, DocumentVendor, LetterVendor, ResolutionVendor, StateIdVendor,
    VendorError, Vendors, Verdict,
};
use passerelle::queue::consumer::Outcome;
use passerelle::session::{Session, SessionToken};
use passerelle::web::letter_reminders::run_due_letter_reminders;
use passerelle::web::when::format_utc;
use support::{
    Answer, Browser, GOOD, OTHER_GOOD, Site, between, sign_in_with_app, sign_up_with_app,
    site_with_clock,
};
use tower::ServiceExt;

const SECRET: &str = "verify-web-test-secret-0123456789abcdef";
/// Where a sample ID carries its data, as the barcode on the back of a licence does.
const BARCODE: &str = "passerelle-barcode";
/// A selfie carrying this comment does not match.
const NO_MATCH: &str = "selfie:no-match";

// ---------------------------------------------------------------------------------------
// The fake vendors and the in-process worker
// ---------------------------------------------------------------------------------------

/// Answers by data (IDV-3); keeps the document results to post back, and the letters'
/// codes; can be switched off ("down") to play an unreachable partner.
#[derive(Debug, Default)]
struct Fake {
    callbacks: Mutex<Vec<DocumentCallback>>,
    letters: Mutex<Vec<String>>,
    /// The identities resolution and the phone-to-address check were asked about.
    checked: Mutex<Vec<Pii>>,
    down: AtomicBool,
    submissions: AtomicUsize,
}

impl Fake {
    fn reach(&self, given_name: &str) -> Result<(), VendorError> {
        if self.down.load(Ordering::SeqCst) || given_name.contains("Time") {
            Err(VendorError::Unavailable("timed out".into()))
        } else {
            Ok(())
        }
    }
}

fn verdict(pass: bool) -> Verdict {
    if pass { Verdict::Pass } else { Verdict::Fail }
}

#[async_trait]
impl DocumentVendor for Fake {
    async fn submit(
        &self,
        job_id: &str,
        images: DocumentImages<'_>,
    ) -> Result<String, VendorError> {
        let extracted: Option<Pii> = samples::png_text(images.back, BARCODE)
            .and_then(|text| serde_json::from_str(&text).ok());
        let name = extracted
            .as_ref()
            .map(|p| p.given_name.clone())
            .unwrap_or_default();
        self.reach(&name)?;
        let n = self.submissions.fetch_add(1, Ordering::SeqCst);
        let reference = format!("doc-{n}");
        let authentic = !name.contains("Fail");
        self.callbacks.lock().unwrap().push(DocumentCallback {
            client_ref: job_id.to_owned(),
            reference: reference.clone(),
            authentic,
            selfie_match: images
                .selfie
                .map(|s| samples::jpeg_comment(s).as_deref() != Some(NO_MATCH)),
            extracted: if authentic { extracted } else { None },
        });
        Ok(reference)
    }
}

#[async_trait]
impl ResolutionVendor for Fake {
    async fn resolve(&self, pii: &Pii) -> Result<Verdict, VendorError> {
        self.reach(&pii.given_name)?;
        self.checked.lock().unwrap().push(pii.clone());
        let ssn_ok = pii.ssn.starts_with("900") || pii.ssn.starts_with("666");
        Ok(verdict(ssn_ok && !pii.given_name.contains("Fail")))
    }
}

#[async_trait]
impl StateIdVendor for Fake {
    async fn check_state_id(&self, pii: &Pii) -> Result<Verdict, VendorError> {
        self.reach(&pii.given_name)?;
        Ok(verdict(pii.id_number != "00000000"))
    }
}

#[async_trait]
impl AddressVendor for Fake {
    async fn check_phone(&self, phone: &str, pii: &Pii) -> Result<Verdict, VendorError> {
        self.reach(&pii.given_name)?;
        self.checked.lock().unwrap().push(pii.clone());
        Ok(verdict(phone != "+17035555555"))
    }
}

#[async_trait]
impl LetterVendor for Fake {
    async fn send_letter(
        &self,
        job_id: &str,
        pii: &Pii,
        code: &str,
    ) -> Result<String, VendorError> {
        self.reach(&pii.given_name)?;
        self.letters.lock().unwrap().push(code.to_owned());
        Ok(format!("letter-{job_id}"))
    }
}

/// The worker on the site's proofing queue, the fake vendors, and the callback endpoint's
/// logic with its secret.
struct Proofing {
    fake: Arc<Fake>,
    worker: ProofingWorker,
    callbacks: Callbacks,
    secrets: CallbackSecrets,
}

fn proofing(site: &Site) -> Proofing {
    let fake = Arc::new(Fake::default());
    let secrets = CallbackSecrets::new(&[SECRET]).unwrap();
    Proofing {
        worker: site
            .services
            .proofing_worker(Vendors::all(Arc::clone(&fake))),
        callbacks: Callbacks::new(site.services.proofing(), secrets.clone()),
        secrets,
        fake,
    }
}

impl Proofing {
    /// Runs every queued job, as the worker would (a retried delivery comes back at once,
    /// up to the dead-letter queue), and posts the document results back, signed, as
    /// the vendor's webhook would — until nothing is left to do.
    async fn run(&self, site: &Site) {
        let queue = &site.services.proofing_queue;
        for _ in 0..50 {
            let batch = queue
                .receive(10, Duration::ZERO, Duration::ZERO)
                .await
                .unwrap();
            let results: Vec<DocumentCallback> =
                std::mem::take(&mut *self.fake.callbacks.lock().unwrap());
            if batch.is_empty() && results.is_empty() {
                return;
            }
            for m in batch {
                if self.worker.run(&m.body, m.receive_count).await != Outcome::Retry {
                    queue.delete(&m.receipt).await.unwrap();
                }
            }
            for result in results {
                let body = serde_json::to_vec(&result).unwrap();
                let signature = self.secrets.sign(site.services.clock.now_secs(), &body);
                self.callbacks
                    .document(Some(&signature), &body)
                    .await
                    .unwrap();
            }
        }
        panic!("the proofing queue never settled");
    }
}

// ---------------------------------------------------------------------------------------
// People, photos and uploads
// ---------------------------------------------------------------------------------------

fn person(given_name: &str, id_number: &str) -> Pii {
    Pii {
        given_name: given_name.into(),
        family_name: "Quintessa".into(),
        birthdate: "1979-03-09".into(),
        address: Address {
            line1: "42 Proofing Way".into(),
            line2: String::new(),
            city: "Alexandria".into(),
            state: "VA".into(),
            zip: "22314".into(),
        },
        id_number: id_number.into(),
        id_state: "VA".into(),
        ssn: String::new(),
        phone: String::new(),
        verified_ms: 0,
    }
}

/// The front (a JPEG) and back (a PNG whose barcode holds `pii`) of a sample ID.
fn id_photos(pii: &Pii) -> (Vec<u8>, Vec<u8>) {
    let json = String::from_utf8(pii.to_json().to_vec()).unwrap();
    (
        samples::jpeg(Some("sample ID, front")),
        samples::png(BARCODE, Some(&json)),
    )
}

const BOUNDARY: &str = "----passerelle-verify-test-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body: (name, file name if a file, content), in order.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match file {
            Some(f) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Sends a multipart body as browser `b` (its cookies; `extra` headers), keeping the
/// cookies it gets back, like `Browser::send`.
async fn send_multipart(
    b: &mut Browser<'_>,
    path: &str,
    body: Vec<u8>,
    extra: &[(&str, String)],
) -> Answer {
    let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::new(
            b.ip.parse().unwrap(),
            50_000,
        )))
        .header(header::COOKIE, jar.join("; "))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        );
    for (name, value) in extra {
        req = req.header(*name, value);
    }
    let response = b
        .site
        .router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8(bytes.to_vec()).unwrap();
    if let Some(token) = between(&body, "name=\"csrf_token\" value=\"", "\"") {
        b.csrf = Some(token.to_owned());
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// Submits the document form with these images, the CSRF field first as the page has it.
async fn upload(b: &mut Browser<'_>, images: &[(&str, &[u8])]) -> Answer {
    let csrf = b.csrf.clone().expect("a page with a form first");
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("csrf_token", None, csrf.as_bytes())];
    for (name, data) in images {
        parts.push((name, Some("photo"), data));
    }
    send_multipart(b, "/verify/document", multipart(&parts), &[]).await
}

// ---------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------

/// The browser's session and its token.
async fn session_of(site: &Site, b: &Browser<'_>) -> (SessionToken, Session) {
    let token = SessionToken::parse(&b.cookies["__Host-session"]).unwrap();
    let session = site
        .state
        .account_services()
        .await
        .unwrap()
        .sessions
        .resume(&token)
        .await
        .unwrap()
        .expect("a live session");
    (token, session)
}

async fn user_of(site: &Site, b: &Browser<'_>) -> String {
    session_of(site, b).await.1.user_id
}

/// A newcomer, signed up with an app, who agreed to the checks: at the document step.
async fn newcomer<'a>(site: &'a Site, email: &str) -> Browser<'a> {
    newcomer_with_app(site, email).await.0
}

/// [`newcomer`], with the app's secret (to sign in again).
async fn newcomer_with_app<'a>(site: &'a Site, email: &str) -> (Browser<'a>, Vec<u8>) {
    let mut b = Browser::new(site);
    let secret = sign_up_with_app(&mut b, "", email).await;
    let intro = b.get("/verify").await;
    assert_eq!(intro.status, StatusCode::OK, "{}", intro.body);
    let agreed = b.post("/verify", &[("consent", "yes")]).await;
    assert_eq!(agreed.location(), "/verify/document", "{}", agreed.body);
    (b, secret)
}

/// Uploads the sample ID of `pii` and runs the check; returns where the wait page sends.
async fn document(b: &mut Browser<'_>, p: &Proofing, pii: &Pii) -> String {
    let (front, back) = id_photos(pii);
    b.get("/verify/document").await;
    let sent = upload(b, &[("front", &front), ("back", &back)]).await;
    assert_eq!(sent.location(), "/verify/document/wait", "{}", sent.body);
    p.run(b.site).await;
    b.get("/verify/document/wait").await.location().to_owned()
}

/// The review form as `pii` fills it: the address, the only thing it may change.
fn review_fields(pii: &Pii) -> Vec<(&'static str, String)> {
    vec![
        ("line1", pii.address.line1.clone()),
        ("line2", pii.address.line2.clone()),
        ("city", pii.address.city.clone()),
        ("state", pii.address.state.clone()),
        ("zip", pii.address.zip.clone()),
    ]
}

async fn post_owned(b: &mut Browser<'_>, path: &str, fields: &[(&'static str, String)]) -> Answer {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &borrowed).await
}

/// SSN, then the review as `pii` says, then the checks; returns where they send.
async fn checks(b: &mut Browser<'_>, p: &Proofing, ssn: &str, pii: &Pii) -> String {
    b.get("/verify/ssn").await;
    let entered = b.post("/verify/ssn", &[("ssn", ssn)]).await;
    assert_eq!(entered.location(), "/verify/review", "{}", entered.body);
    let review = b.get("/verify/review").await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    let sent = post_owned(b, "/verify/review", &review_fields(pii)).await;
    assert_eq!(sent.location(), "/verify/checks", "{}", sent.body);
    p.run(b.site).await;
    b.get("/verify/checks").await.location().to_owned()
}

/// Confirms the address with `phone`; returns where the wait page sends.
async fn by_phone(b: &mut Browser<'_>, p: &Proofing, phone: &str) -> String {
    b.get("/verify/address").await;
    let sent = b
        .post("/verify/address", &[("method", "phone"), ("phone", phone)])
        .await;
    assert_eq!(sent.location(), "/verify/address/wait", "{}", sent.body);
    p.run(b.site).await;
    b.get("/verify/address/wait").await.location().to_owned()
}

/// The password step; returns the personal key shown next.
async fn seal(b: &mut Browser<'_>, password: &str) -> String {
    b.get("/verify/password").await;
    let sealed = b.post("/verify/password", &[("password", password)]).await;
    assert_eq!(sealed.location(), "/verify/personal-key", "{}", sealed.body);
    let page = b.get("/verify/personal-key").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    between(&page.body, "id=\"personal-key\">", "<")
        .expect("the key")
        .to_owned()
}

/// A person verified by phone; returns their browser, app secret and personal key.
async fn verified<'a>(
    site: &'a Site,
    p: &Proofing,
    email: &str,
    pii: &Pii,
) -> (Browser<'a>, Vec<u8>, String) {
    let (mut b, secret) = newcomer_with_app(site, email).await;
    assert_eq!(document(&mut b, p, pii).await, "/verify/ssn");
    assert_eq!(
        checks(&mut b, p, "900-11-2233", pii).await,
        "/verify/address"
    );
    assert_eq!(
        by_phone(&mut b, p, "703-555-0123").await,
        "/verify/password"
    );
    let key = seal(&mut b, GOOD).await;
    b.get("/verify/personal-key").await;
    let done = b
        .post("/verify/personal-key", &[("acknowledged", "yes")])
        .await;
    assert_eq!(done.location(), "/account?done=verified", "{}", done.body);
    (b, secret, key)
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn given_a_newcomer_when_verifying_by_phone_then_the_key_needs_acknowledging_and_only_the_password_opens_the_identity()
 {
    phone_journey(site_with_clock()).await;
}

/// The same journey on DynamoDB, KMS and SQS (moto).
#[cfg(feature = "aws")]
#[tokio::test]
async fn given_the_aws_adapters_when_a_newcomer_verifies_by_phone_then_the_same_holds() {
    phone_journey(support::site_on_moto().await).await;
}

async fn phone_journey(site: Site) {
    let p = proofing(&site);
    let ada = person("Ada", "D98765432");
    // Given a signed-in newcomer who agreed to the checks
    let mut b = newcomer(&site, "ada@example.gov").await;
    // When the ID photos are uploaded, the page waits for the check, polling
    let (front, back) = id_photos(&ada);
    b.get("/verify/document").await;
    let sent = upload(&mut b, &[("front", &front), ("back", &back)]).await;
    assert_eq!(sent.location(), "/verify/document/wait", "{}", sent.body);
    let waiting = b.get("/verify/document/wait").await;
    assert_eq!(waiting.status, StatusCode::OK);
    assert!(
        waiting.body.contains("We are checking your ID"),
        "{}",
        waiting.body
    );
    assert!(
        waiting
            .body
            .contains("<meta http-equiv=\"refresh\" content=\"3\">")
    );
    assert!(
        waiting.body.contains("/static/verify_poll."),
        "{}",
        waiting.body
    );
    assert!(waiting.body.contains("data-status-url=\"/verify/status\""));
    let status = b.get("/verify/status").await;
    assert_eq!(status.body, "{\"done\":false}");
    assert_eq!(status.headers[header::CACHE_CONTROL], "no-store");
    // And once the worker and the vendor's callback have run, it goes on to the SSN
    p.run(&site).await;
    assert_eq!(b.get("/verify/status").await.body, "{\"done\":true}");
    assert_eq!(
        b.get("/verify/document/wait").await.location(),
        "/verify/ssn"
    );
    // And the review shows what the ID says
    b.get("/verify/ssn").await;
    b.post("/verify/ssn", &[("ssn", "900-11-2233")]).await;
    let review = b.get("/verify/review").await;
    assert!(
        review.body.contains("<strong>Ada</strong>"),
        "{}",
        review.body
    );
    assert!(
        !review.body.contains("name=\"given_name\""),
        "what the ID says is shown, not editable"
    );
    assert!(review.body.contains("value=\"42 Proofing Way\""));
    assert_eq!(review.headers[header::CACHE_CONTROL], "no-store");
    let sent = post_owned(&mut b, "/verify/review", &review_fields(&ada)).await;
    assert_eq!(sent.location(), "/verify/checks");
    assert!(
        b.get("/verify/checks")
            .await
            .body
            .contains("We are checking your details")
    );
    p.run(&site).await;
    assert_eq!(b.get("/verify/checks").await.location(), "/verify/address");
    assert_eq!(
        by_phone(&mut b, &p, "(703) 555-0123").await,
        "/verify/password"
    );
    // When the password is wrong, nothing is sealed
    b.get("/verify/password").await;
    let wrong = b
        .post("/verify/password", &[("password", OTHER_GOOD)])
        .await;
    assert!(
        wrong.body.contains("The password is not right"),
        "{}",
        wrong.body
    );
    let user = user_of(&site, &b).await;
    let idv = site.state.idv().await.unwrap();
    assert_eq!(idv.profiles.status(&user).await.unwrap(), None);
    // When it is right, the personal key is shown, not cached, until acknowledged
    let key = seal(&mut b, GOOD).await;
    assert_eq!(key.len(), 19, "{key}");
    let again = b.get("/verify/personal-key").await;
    assert_eq!(again.headers[header::CACHE_CONTROL], "no-store");
    assert!(again.body.contains(&key));
    let unticked = b.post("/verify/personal-key", &[]).await;
    assert_eq!(unticked.status, StatusCode::OK);
    assert!(
        unticked.body.contains("Tick the box once you have saved"),
        "{}",
        unticked.body
    );
    assert!(unticked.body.contains(&key), "the same key, shown again");
    // And until then every other step leads back to it
    assert_eq!(
        b.get("/verify/document").await.location(),
        "/verify/personal-key"
    );
    assert_eq!(b.get("/verify").await.location(), "/verify/personal-key");
    let done = b
        .post("/verify/personal-key", &[("acknowledged", "yes")])
        .await;
    assert_eq!(done.location(), "/account?done=verified");
    // Then it is never shown again, and the account says the identity is verified
    let gone = b.get("/verify/personal-key").await;
    assert_eq!(gone.location(), "/verify");
    assert!(!b.open("/verify").await.body.contains(&key));
    let account = b.get("/account?done=verified").await;
    assert!(
        account.body.contains("Your identity is verified."),
        "{}",
        account.body
    );
    assert!(account.body.contains("Your identity was verified on"));
    assert!(matches!(
        idv.profiles.status(&user).await.unwrap(),
        Some(ProfileState::Active { .. })
    ));
    // And the password opens it — with the phone confirmed — and nothing else does
    let opened = idv
        .profiles
        .open_with_password(&user, GOOD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            opened.given_name.as_str(),
            opened.ssn.as_str(),
            opened.phone.as_str()
        ),
        ("Ada", "900112233", "+17035550123")
    );
    assert!(opened.verified_ms > 0);
    for guess in [OTHER_GOOD, "", "correct horse battery stapl"] {
        let refused = idv.profiles.open_with_password(&user, guess).await;
        assert!(
            matches!(refused, Err(IdvError::WrongPassword)),
            "{guess}: {refused:?}"
        );
    }
    // And the session holds the verified copy for agencies (IDV-9)
    let (token, session) = session_of(&site, &b).await;
    assert_eq!(
        idv.session_pii.read(&token, &session).await.unwrap(),
        Some(opened)
    );
    // And the key shown is the one that opens the recovery copy
    assert!(PersonalKey::parse(&key).is_some());
}

#[tokio::test]
async fn given_the_letter_path_when_the_code_arrives_then_entering_it_activates_the_identity() {
    let site = site_with_clock();
    let p = proofing(&site);
    let grace = person("Grace", "G12345678");
    let mut b = newcomer(&site, "grace@example.gov").await;
    assert_eq!(document(&mut b, &p, &grace).await, "/verify/ssn");
    assert_eq!(
        checks(&mut b, &p, "666-00-0111", &grace).await,
        "/verify/address"
    );
    // When the letter is chosen, the password comes next; the letter goes after it
    let address = b.get("/verify/address").await;
    assert!(address.body.contains("42 Proofing Way"), "{}", address.body);
    let chose = b.post("/verify/address", &[("method", "letter")]).await;
    assert_eq!(chose.location(), "/verify/password");
    assert!(p.fake.letters.lock().unwrap().is_empty());
    let key = seal(&mut b, GOOD).await;
    assert!(
        b.get("/verify/personal-key")
            .await
            .body
            .contains("We mailed a letter")
    );
    let done = b
        .post("/verify/personal-key", &[("acknowledged", "yes")])
        .await;
    assert_eq!(done.location(), "/account?done=letter-sent");
    p.run(&site).await;
    let code = p
        .fake
        .letters
        .lock()
        .unwrap()
        .pop()
        .expect("a letter was sent");
    // Then the identity waits for the code; the account page says so
    let user = user_of(&site, &b).await;
    let idv = site.state.idv().await.unwrap();
    assert!(matches!(
        idv.profiles.status(&user).await.unwrap(),
        Some(ProfileState::PendingLetter { .. })
    ));
    let account = b.get("/account").await;
    assert!(
        account.body.contains("waiting for the code of the letter"),
        "{}",
        account.body
    );
    assert_eq!(b.get("/verify").await.location(), "/verify/letter");
    assert_eq!(b.get("/verify/ssn").await.location(), "/verify/letter");
    // When a wrong code is entered, it says so
    let letter = b.get("/verify/letter").await;
    assert!(letter.body.contains("Letter sent"), "{}", letter.body);
    let wrong = b.post("/verify/letter", &[("code", "AAAAA-AAAAA")]).await;
    assert!(
        wrong.body.contains("This code is not right"),
        "{}",
        wrong.body
    );
    // When the letter's code is entered, the identity is active
    let right = b
        .post("/verify/letter", &[("code", &code.to_lowercase())])
        .await;
    assert_eq!(right.location(), "/account?done=verified", "{}", right.body);
    assert!(matches!(
        idv.profiles.status(&user).await.unwrap(),
        Some(ProfileState::Active { .. })
    ));
    let opened = idv
        .profiles
        .open_with_password(&user, GOOD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (opened.ssn.as_str(), opened.phone.as_str()),
        ("666000111", "")
    );
    assert_eq!(b.get("/verify/letter").await.location(), "/verify");
    assert_eq!(key.len(), 19);
}

#[tokio::test]
async fn given_each_failing_outcome_then_the_page_says_why_and_offers_a_way_on() {
    failing_outcomes(site_with_clock()).await;
}

/// The same journey on DynamoDB, KMS and SQS (moto).
#[cfg(feature = "aws")]
#[tokio::test]
async fn given_the_aws_adapters_when_checks_fail_then_each_page_says_why() {
    failing_outcomes(support::site_on_moto().await).await;
}

async fn failing_outcomes(site: Site) {
    let p = proofing(&site);
    let mut b = newcomer(&site, "failing@example.gov").await;
    // A document that is not genuine (a first name with "Fail"): back to the photos
    assert_eq!(
        document(&mut b, &p, &person("Failing", "F12345678")).await,
        "/verify/document"
    );
    let page = b.get("/verify/document").await;
    assert!(
        page.body.contains("We couldn’t verify your ID"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("enctype=\"multipart/form-data\""),
        "try again"
    );
    // An ID the state does not know (00000000): back to the review
    let zeros = person("Zed", "00000000");
    assert_eq!(document(&mut b, &p, &zeros).await, "/verify/ssn");
    assert_eq!(
        checks(&mut b, &p, "900-22-3344", &zeros).await,
        "/verify/review"
    );
    let review = b.get("/verify/review").await;
    assert!(
        review
            .body
            .contains("We couldn’t confirm your ID with the state"),
        "{}",
        review.body
    );
    // An SSN resolution cannot match (not 900/666): back to the review, details kept
    let zoe = person("Zoe", "Z12345678");
    assert_eq!(document(&mut b, &p, &zoe).await, "/verify/ssn");
    assert_eq!(
        checks(&mut b, &p, "123-45-6789", &zoe).await,
        "/verify/review"
    );
    let review = b.get("/verify/review").await;
    assert!(
        review.body.contains("We couldn’t match your details"),
        "{}",
        review.body
    );
    assert!(review.body.contains("<strong>Zoe</strong>"));
    // A phone that cannot be tied to the address (703-555-5555): the letter is offered
    assert_eq!(
        checks(&mut b, &p, "900-33-4455", &zoe).await,
        "/verify/address"
    );
    assert_eq!(
        by_phone(&mut b, &p, "703-555-5555").await,
        "/verify/address"
    );
    let address = b.get("/verify/address").await;
    assert!(
        address
            .body
            .contains("We couldn’t confirm your address with this phone"),
        "{}",
        address.body
    );
    assert!(address.body.contains("Get a letter instead"));
    let letter = b.post("/verify/address", &[("method", "letter")]).await;
    assert_eq!(letter.location(), "/verify/password");
    // No PII ever travelled in a URL
    for path in ["/verify/document", "/verify/review", "/verify/address"] {
        assert!(!path.contains("900") && !path.contains("Zoe"));
    }
}

#[tokio::test]
async fn given_a_partner_that_cannot_be_reached_then_try_again_later_and_nothing_is_lost() {
    let site = site_with_clock();
    let p = proofing(&site);
    let ada = person("Ada", "D98765432");
    let mut b = newcomer(&site, "patient@example.gov").await;
    assert_eq!(document(&mut b, &p, &ada).await, "/verify/ssn");
    // Given the partner goes down while the details are checked
    p.fake.down.store(true, Ordering::SeqCst);
    // When every retry fails, the job ends unavailable and lands in the dead-letter queue
    assert_eq!(
        checks(&mut b, &p, "900-44-5566", &ada).await,
        "/verify/review"
    );
    let dlq = &site.services.local.as_ref().unwrap().proofing_dlq;
    assert_eq!(dlq.depth().await.unwrap(), 1);
    // Then the page says to try again later, with the details still there
    let review = b.get("/verify/review").await;
    assert!(
        review.body.contains("Our partner can’t be reached"),
        "{}",
        review.body
    );
    assert!(review.body.contains("try again later"));
    assert!(review.body.contains("<strong>Ada</strong>"));
    // And when the partner is back, the same details pass without entering the SSN again
    p.fake.down.store(false, Ordering::SeqCst);
    let sent = post_owned(&mut b, "/verify/review", &review_fields(&ada)).await;
    assert_eq!(sent.location(), "/verify/checks");
    p.run(&site).await;
    assert_eq!(b.get("/verify/checks").await.location(), "/verify/address");
    // A document vendor that times out ("Time") says the same on the photos page
    let mut c = newcomer(&site, "timeo@example.gov").await;
    assert_eq!(
        document(&mut c, &p, &person("Timeo", "T12345678")).await,
        "/verify/document"
    );
    let page = c.get("/verify/document").await;
    assert!(
        page.body.contains("Our partner can’t be reached"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn given_steps_out_of_order_then_each_page_sends_to_the_current_step() {
    let site = site_with_clock();
    let p = proofing(&site);
    // Signed out: sign in first
    let mut anon = Browser::new(&site);
    assert_eq!(anon.get("/verify").await.location(), "/sign-in");
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "", "order@example.gov").await;
    // Before consent, every step leads to the introduction
    for path in [
        "/verify/document",
        "/verify/document/wait",
        "/verify/ssn",
        "/verify/review",
        "/verify/checks",
        "/verify/address",
        "/verify/address/wait",
        "/verify/password",
        "/verify/personal-key",
        "/verify/letter",
    ] {
        assert_eq!(b.get(path).await.location(), "/verify", "{path}");
    }
    assert_eq!(b.get("/fr/verify/ssn").await.location(), "/fr/verify");
    let french = b.get("/fr/verify").await;
    assert!(
        french.body.contains("Vérifiez votre identité"),
        "{}",
        french.body
    );
    b.get("/verify").await;
    let posted = b.post("/verify/ssn", &[("ssn", "900-11-2233")]).await;
    assert_eq!(posted.location(), "/verify");
    // Consent must be ticked
    let unticked = b.post("/verify", &[]).await;
    assert!(
        unticked.body.contains("Tick the box to agree"),
        "{}",
        unticked.body
    );
    b.post("/verify", &[("consent", "yes")]).await;
    for path in [
        "/verify/ssn",
        "/verify/checks",
        "/verify/password",
        "/verify/document/wait",
    ] {
        assert_eq!(b.get(path).await.location(), "/verify/document", "{path}");
    }
    // After the document, the SSN comes before the review, the address and the password
    let ada = person("Ada", "D98765432");
    assert_eq!(document(&mut b, &p, &ada).await, "/verify/ssn");
    for path in [
        "/verify/review",
        "/verify/checks",
        "/verify/address",
        "/verify/password",
    ] {
        assert_eq!(b.get(path).await.location(), "/verify/ssn", "{path}");
    }
    // A form posted ahead of its step changes nothing
    b.get("/verify/ssn").await;
    let ahead = b.post("/verify/password", &[("password", GOOD)]).await;
    assert_eq!(ahead.location(), "/verify/ssn");
    let user = user_of(&site, &b).await;
    let idv = site.state.idv().await.unwrap();
    assert_eq!(idv.profiles.status(&user).await.unwrap(), None);
    // The introduction offers to go on where the person left off
    let intro = b.get("/verify").await;
    assert!(
        intro.body.contains("href=\"/verify/ssn\""),
        "{}",
        intro.body
    );
    // A factor older than 20 minutes (the session kept alive) is asked again before any
    // step, then back here
    site.advance(10 * 60);
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    site.advance(11 * 60);
    assert_eq!(
        b.get("/verify/ssn").await.location(),
        "/sign-in/factor?return_to=%2Fverify%2Fssn"
    );
}

#[tokio::test]
async fn given_refreshes_back_steps_and_two_tabs_then_no_result_applies_to_data_it_did_not_check() {
    let site = site_with_clock();
    let p = proofing(&site);
    let ada = person("Ada", "D98765432");
    let mut b = newcomer(&site, "tabs@example.gov").await;
    assert_eq!(document(&mut b, &p, &ada).await, "/verify/ssn");
    assert_eq!(
        checks(&mut b, &p, "900-11-2233", &ada).await,
        "/verify/address"
    );
    // Refreshing a finished check's page only leads on
    assert_eq!(b.get("/verify/checks").await.location(), "/verify/address");
    assert_eq!(
        b.get("/verify/document/wait").await.location(),
        "/verify/address"
    );
    // Going back and changing the SSN makes the checks run again
    b.get("/verify/ssn").await;
    let changed = b.post("/verify/ssn", &[("ssn", "666-11-2233")]).await;
    assert_eq!(changed.location(), "/verify/review");
    assert_eq!(b.get("/verify/address").await.location(), "/verify/review");
    // Two tabs: one sends the review, the other changes the SSN before the result is in
    b.get("/verify/review").await;
    let tab_a = b.csrf.clone().unwrap();
    let sent = post_owned(&mut b, "/verify/review", &review_fields(&ada)).await;
    assert_eq!(sent.location(), "/verify/checks");
    b.csrf = Some(tab_a);
    let other = b.post("/verify/ssn", &[("ssn", "123-45-6789")]).await;
    assert_eq!(other.location(), "/verify/review");
    p.run(&site).await;
    // Then the first tab's passing result is not applied to the changed SSN
    assert_eq!(b.get("/verify/checks").await.location(), "/verify/review");
    assert_eq!(b.get("/verify/address").await.location(), "/verify/review");
    // And a draft changed behind the flow's back (another tab's half-done write) is caught
    assert_eq!(
        checks(&mut b, &p, "900-11-2233", &ada).await,
        "/verify/address"
    );
    let (token, session) = session_of(&site, &b).await;
    let idv = site.state.idv().await.unwrap();
    let mut tampered = ada.clone();
    tampered.ssn = "900999999".into();
    assert!(
        idv.session_pii
            .keep(&token, &session, &tampered)
            .await
            .unwrap()
    );
    assert_eq!(b.get("/verify/password").await.location(), "/verify/review");
    let review = b.get("/verify/review").await;
    assert!(
        review.body.contains("Check your details again"),
        "{}",
        review.body
    );
    // And a session that lost its draft (signed in again elsewhere) keeps the flow but
    // not the SSN: restored from the document check, the person enters the SSN again
    idv.session_pii.forget(&session).await.unwrap();
    assert_eq!(b.get("/verify/review").await.location(), "/verify/ssn");
    let ssn = b.get("/verify/ssn").await;
    assert!(
        ssn.body
            .contains("Please enter your Social Security number again"),
        "{}",
        ssn.body
    );
}

#[tokio::test]
async fn given_bad_uploads_then_clear_errors_and_nothing_changes() {
    let site = site_with_clock();
    let mut b = newcomer(&site, "uploads@example.gov").await;
    let user = user_of(&site, &b).await;
    let (front, back) = id_photos(&person("Ada", "D98765432"));
    b.get("/verify/document").await;
    // A 30 MB upload: the "too large" page, with its status
    let mut huge = samples::jpeg(None);
    huge.splice(2..2, std::iter::repeat_n(0u8, 30 * 1024 * 1024));
    let answer = upload(&mut b, &[("front", &huge), ("back", &back)]).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer.body.contains("These files are too large"),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("5 MB"));
    // Declared too large up front: refused before reading
    b.get("/verify/document").await;
    let csrf = b.csrf.clone().unwrap();
    let declared = send_multipart(
        &mut b,
        "/verify/document",
        multipart(&[("csrf_token", None, csrf.as_bytes())]),
        &[("content-length", format!("{}", 30 * 1024 * 1024))],
    )
    .await;
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A 6 MB photo, a text file, a PDF, a truncated JPEG, a missing back: each said
    let mut six = samples::jpeg(None);
    six.splice(2..2, std::iter::repeat_n(0u8, 6 * 1024 * 1024));
    let jpeg = samples::jpeg(None);
    let truncated = &jpeg[..jpeg.len() - 2];
    // (front, back, what the page says)
    type Case<'a> = (&'a [u8], Option<&'a [u8]>, &'a str);
    let cases: [Case<'_>; 5] = [
        (&six, Some(&back), "larger than 5 MB"),
        (
            b"just some text, not a photo",
            Some(&back),
            "This file is not a photo",
        ),
        (
            b"%PDF-1.7\n%\xE2\xE3\n1 0 obj\n",
            Some(&back),
            "This is a PDF",
        ),
        (truncated, Some(&back), "This photo is incomplete"),
        (&front, None, "Choose a photo of the back of your ID"),
    ];
    for (front_bytes, back_bytes, message) in cases {
        b.get("/verify/document").await;
        let mut images: Vec<(&str, &[u8])> = vec![("front", front_bytes)];
        if let Some(back_bytes) = back_bytes {
            images.push(("back", back_bytes));
        }
        let answer = upload(&mut b, &images).await;
        assert_eq!(answer.status, StatusCode::OK, "{message}");
        assert!(answer.body.contains(message), "{message}: {}", answer.body);
    }
    // Without the CSRF field first, or with a wrong one, or from another site: 403
    let no_token = send_multipart(
        &mut b,
        "/verify/document",
        multipart(&[("front", Some("f"), &front), ("back", Some("b"), &back)]),
        &[],
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let forged = send_multipart(
        &mut b,
        "/verify/document",
        multipart(&[
            ("csrf_token", None, b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ("front", Some("f"), &front),
            ("back", Some("b"), &back),
        ]),
        &[],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    b.get("/verify/document").await;
    let csrf = b.csrf.clone().unwrap();
    let foreign = send_multipart(
        &mut b,
        "/verify/document",
        multipart(&[
            ("csrf_token", None, csrf.as_bytes()),
            ("front", Some("f"), &front),
            ("back", Some("b"), &back),
        ]),
        &[("origin", "https://evil.example".to_owned())],
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    // Then nothing was queued or stored, no attempt was counted, the step is unchanged
    let queued = site
        .services
        .proofing_queue
        .receive(10, Duration::ZERO, Duration::ZERO)
        .await
        .unwrap();
    assert!(queued.is_empty(), "{} jobs queued", queued.len());
    assert_eq!(
        b.get("/verify/document/wait").await.location(),
        "/verify/document"
    );
    let idv = site.state.idv().await.unwrap();
    let left = idv
        .limiter
        .peek(&passerelle::ratelimit::IDV_DOCUMENT, &user)
        .await
        .unwrap();
    assert_eq!(left.remaining, 5);
    // And an SSN of letters is refused with a message, the step unchanged
    let p = proofing(&site);
    assert_eq!(
        document(&mut b, &p, &person("Ada", "D98765432")).await,
        "/verify/ssn"
    );
    b.get("/verify/ssn").await;
    let letters = b.post("/verify/ssn", &[("ssn", "abc-de-fghi")]).await;
    assert_eq!(letters.status, StatusCode::OK);
    assert!(letters.body.contains("9 digits"), "{}", letters.body);
    assert!(letters.body.contains("no letters"));
    assert_eq!(b.get("/verify/review").await.location(), "/verify/ssn");
    // And the sixth upload within 6 hours is refused (IDV-5)
    for _ in 0..4 {
        b.get("/verify/document").await;
        let sent = upload(&mut b, &[("front", &front), ("back", &back)]).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    }
    b.get("/verify/document").await;
    let sixth = upload(&mut b, &[("front", &front), ("back", &back)]).await;
    assert_eq!(
        sixth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        sixth.body
    );
}

#[tokio::test]
async fn given_a_duplicate_ssn_on_another_account_then_the_page_says_so() {
    let site = site_with_clock();
    let p = proofing(&site);
    let ada = person("Ada", "D98765432");
    verified(&site, &p, "first@example.gov", &ada).await;
    // When someone else verifies with the same SSN
    let mut b = newcomer(&site, "second@example.gov").await;
    let other = person("Bea", "B12345678");
    assert_eq!(document(&mut b, &p, &other).await, "/verify/ssn");
    assert_eq!(
        checks(&mut b, &p, "900-11-2233", &other).await,
        "/verify/review"
    );
    // Then the review says so, and the address step stays closed
    let review = b.get("/verify/review").await;
    assert!(
        review
            .body
            .contains("This Social Security number is already verified"),
        "{}",
        review.body
    );
    assert_eq!(b.get("/verify/address").await.location(), "/verify/review");
}

#[tokio::test]
async fn given_a_verification_abandoned_after_the_checks_then_it_holds_no_ssn_and_the_next_account_verifies()
 {
    // Given someone who passed the checks with an SSN and confirmed their phone, then
    // stopped before the last step (the password that seals and issues the personal key)
    let site = site_with_clock();
    let p = proofing(&site);
    let ada = person("Ada", "D98765432");
    let mut squatter = newcomer(&site, "first@example.gov").await;
    assert_eq!(document(&mut squatter, &p, &ada).await, "/verify/ssn");
    assert_eq!(
        checks(&mut squatter, &p, "900-11-2233", &ada).await,
        "/verify/address"
    );
    assert_eq!(
        by_phone(&mut squatter, &p, "703-555-0123").await,
        "/verify/password"
    );
    // Then no claim names their account: nothing is claimed before completion
    let claims = site
        .services
        .store
        .query(&passerelle::store::Query::partition(format!(
            "USER#{}",
            user_of(&site, &squatter).await
        )))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|i| i.key.sk.starts_with("IDV_CLAIM#"))
        .count();
    assert_eq!(claims, 0);
    // When the next account verifies with the same SSN, the checks pass and it completes
    let bea = person("Bea", "B12345678");
    let (mut b, _, _) = verified(&site, &p, "second@example.gov", &bea).await;
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    // And the one who stopped is told the SSN is taken when they come back to finish
    let back = squatter.get("/verify/password").await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    let refused = squatter
        .post("/verify/password", &[("password", GOOD)])
        .await;
    assert_eq!(refused.location(), "/verify/review", "{}", refused.body);
    let review = squatter.get("/verify/review").await;
    assert!(
        review
            .body
            .contains("This Social Security number is already verified"),
        "{}",
        review.body
    );
    // Their identity was not kept
    let user = user_of(&site, &squatter).await;
    let profile = site
        .services
        .store
        .get(&passerelle::store::Key::new(
            format!("USER#{user}"),
            "IDV_PROFILE",
        ))
        .await
        .unwrap();
    assert!(profile.is_none());
}

#[tokio::test]
async fn given_a_password_reset_then_the_personal_key_restores_the_identity_with_a_new_key() {
    let site = site_with_clock();
    let p = proofing(&site);
    let ada = person("Ada", "D98765432");
    let (mut b, secret, key) = verified(&site, &p, "reset@example.gov", &ada).await;
    let user = user_of(&site, &b).await;
    // Given the password is reset by email
    b.get("/forgot-password").await;
    b.post("/forgot-password", &[("email", "reset@example.gov")])
        .await;
    let link = site
        .link_in_mail("reset@example.gov", "/reset-password?t=")
        .await;
    let token = link.split("t=").nth(1).unwrap().to_owned();
    let mut c = Browser::new(&site);
    c.get(&link).await;
    c.post(
        "/reset-password",
        &[("t", &token), ("password", OTHER_GOOD)],
    )
    .await;
    let idv = site.state.idv().await.unwrap();
    assert!(matches!(
        idv.profiles.status(&user).await.unwrap(),
        Some(ProfileState::Deactivated { .. })
    ));
    // When the person signs in again, the account and the introduction offer the key
    let mut b = support::sign_in_with_app(&site, "reset@example.gov", OTHER_GOOD, &secret).await;
    let account = b.get("/account").await;
    assert!(
        account.body.contains("was turned off on"),
        "{}",
        account.body
    );
    assert!(account.body.contains("href=\"/verify/reactivate\""));
    let intro = b.get("/verify").await;
    assert!(
        intro.body.contains("Your verified identity is turned off"),
        "{}",
        intro.body
    );
    // Then a malformed key, a wrong key and the old password are each refused
    b.get("/verify/reactivate").await;
    let malformed = b
        .post(
            "/verify/reactivate",
            &[("personal_key", "abc"), ("password", OTHER_GOOD)],
        )
        .await;
    assert!(
        malformed.body.contains("A personal key is 16 letters"),
        "{}",
        malformed.body
    );
    let wrong = b
        .post(
            "/verify/reactivate",
            &[
                ("personal_key", "0000-0000-0000-0000"),
                ("password", OTHER_GOOD),
            ],
        )
        .await;
    assert!(
        wrong.body.contains("This personal key is not right"),
        "{}",
        wrong.body
    );
    let old = b
        .post(
            "/verify/reactivate",
            &[("personal_key", &key), ("password", GOOD)],
        )
        .await;
    assert!(
        old.body.contains("The password is not right"),
        "{}",
        old.body
    );
    // When the key and the new password are given, a new key is shown once
    let restored = b
        .post(
            "/verify/reactivate",
            &[
                ("personal_key", &key.to_lowercase()),
                ("password", OTHER_GOOD),
            ],
        )
        .await;
    assert_eq!(
        restored.location(),
        "/verify/personal-key",
        "{}",
        restored.body
    );
    let page = b.get("/verify/personal-key").await;
    let new_key = between(&page.body, "id=\"personal-key\">", "<")
        .unwrap()
        .to_owned();
    assert_ne!(new_key, key);
    // And every address hears that the personal key was used (ACC-8)
    let mail = site.mail_to("reset@example.gov").await;
    assert_eq!(mail[0].0, "Your personal key was used", "{mail:?}");
    let done = b
        .post("/verify/personal-key", &[("acknowledged", "yes")])
        .await;
    assert_eq!(done.location(), "/account?done=verified");
    // And the identity is active, opened by the new password, in the session too
    assert!(matches!(
        idv.profiles.status(&user).await.unwrap(),
        Some(ProfileState::Active { .. })
    ));
    let opened = idv
        .profiles
        .open_with_password(&user, OTHER_GOOD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.given_name, "Ada");
    let (token, session) = session_of(&site, &b).await;
    assert_eq!(
        idv.session_pii.read(&token, &session).await.unwrap(),
        Some(opened)
    );
    assert_eq!(b.get("/verify/reactivate").await.location(), "/verify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_two_tabs_sealing_at_once_then_one_key_is_made_and_it_is_the_one_that_restores() {
    let site = site_with_clock();
    let p = proofing(&site);
    let ada = person("Ada", "D98765432");
    let (mut b, secret) = newcomer_with_app(&site, "race@example.gov").await;
    assert_eq!(document(&mut b, &p, &ada).await, "/verify/ssn");
    assert_eq!(
        checks(&mut b, &p, "900-11-2233", &ada).await,
        "/verify/address"
    );
    assert_eq!(
        by_phone(&mut b, &p, "703-555-0123").await,
        "/verify/password"
    );
    b.get("/verify/password").await;
    let csrf = b.csrf.clone().unwrap();
    let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let jar = jar.join("; ");
    // Given the password form sent from two tabs at once
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let router = site.router.clone();
            let body =
                serde_urlencoded::to_string([("password", GOOD), ("csrf_token", &csrf)]).unwrap();
            let jar = jar.clone();
            tokio::spawn(async move {
                let req = Request::builder()
                    .method(Method::POST)
                    .uri("/verify/password")
                    .header(header::COOKIE, jar)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap();
                let r = router.oneshot(req).await.unwrap();
                (
                    r.status(),
                    r.headers()[header::LOCATION].to_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers.sort();
    // Then one sealed the identity and the other was sent to see its key: back to
    // `/verify` when it lost the race inside the seal, straight to the key when the winner
    // had already finished before it read the flow (the scheduler decides which)
    assert_eq!(
        answers[1],
        (StatusCode::SEE_OTHER, "/verify/personal-key".to_owned())
    );
    assert!(
        [
            (StatusCode::SEE_OTHER, "/verify".to_owned()),
            (StatusCode::SEE_OTHER, "/verify/personal-key".to_owned()),
        ]
        .contains(&answers[0]),
        "{answers:?}"
    );
    assert_eq!(b.get("/verify").await.location(), "/verify/personal-key");
    let page = b.get("/verify/personal-key").await;
    let key = between(&page.body, "id=\"personal-key\">", "<")
        .unwrap()
        .to_owned();
    b.post("/verify/personal-key", &[("acknowledged", "yes")])
        .await;
    // And the key shown is the one sealed: after a reset, it restores the identity
    b.get("/forgot-password").await;
    b.post("/forgot-password", &[("email", "race@example.gov")])
        .await;
    let link = site
        .link_in_mail("race@example.gov", "/reset-password?t=")
        .await;
    let token = link.split("t=").nth(1).unwrap().to_owned();
    let mut c = Browser::new(&site);
    c.get(&link).await;
    c.post(
        "/reset-password",
        &[("t", &token), ("password", OTHER_GOOD)],
    )
    .await;
    let mut b = support::sign_in_with_app(&site, "race@example.gov", OTHER_GOOD, &secret).await;
    b.get("/verify/reactivate").await;
    let restored = b
        .post(
            "/verify/reactivate",
            &[("personal_key", &key), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(
        restored.location(),
        "/verify/personal-key",
        "{}",
        restored.body
    );
}

#[tokio::test]
async fn given_an_agency_asking_for_a_facial_match_then_a_selfie_is_required_and_its_request_goes_on()
 {
    let site = site_with_clock();
    let p = proofing(&site);
    let agency = ial2_agency("benefits", "Benefits Portal", &["email"]);
    register(&site, &agency).await;
    // Given a signed-in person whom the agency asks for a verified identity with a selfie
    let (mut b, _) = {
        let mut b = Browser::new(&site);
        let secret = sign_up_with_app(&mut b, "", "face@example.gov").await;
        (b, secret)
    };
    let query = serde_urlencoded::to_string([
        ("client_id", "urn:gov:test:benefits"),
        ("redirect_uri", "https://benefits.example.gov/callback"),
        ("response_type", "code"),
        ("scope", "openid email"),
        ("state", "state-of-the-agency-0123456789"),
        ("nonce", "nonce-of-the-agency-0123456789"),
        (
            "acr_values",
            "urn:acr.login.gov:verified-facial-match-required",
        ),
        ("code_challenge", &"a".repeat(43)),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let asked = b.get(&format!("/authorize?{query}")).await;
    assert_eq!(asked.location(), "/authorize/resume", "{}", asked.body);
    // When verifying, the selfie is announced and required
    let intro = b.get("/verify").await;
    assert!(
        intro.body.contains("A photo of your face"),
        "{}",
        intro.body
    );
    b.post("/verify", &[("consent", "yes")]).await;
    let form = b.get("/verify/document").await;
    assert!(form.body.contains("name=\"selfie\""), "{}", form.body);
    let ada = person("Ada", "D98765432");
    let (front, back) = id_photos(&ada);
    let without = upload(&mut b, &[("front", &front), ("back", &back)]).await;
    assert!(
        without
            .body
            .contains("The agency asks for a photo of your face"),
        "{}",
        without.body
    );
    // A selfie that does not match fails with its reason
    b.get("/verify/document").await;
    let stranger = samples::jpeg(Some(NO_MATCH));
    let sent = upload(
        &mut b,
        &[("front", &front), ("back", &back), ("selfie", &stranger)],
    )
    .await;
    assert_eq!(sent.location(), "/verify/document/wait");
    p.run(&site).await;
    assert_eq!(
        b.get("/verify/document/wait").await.location(),
        "/verify/document"
    );
    let page = b.get("/verify/document").await;
    assert!(
        page.body.contains("Your photo doesn’t match your ID"),
        "{}",
        page.body
    );
    // A matching one passes, and at the end the agency's request goes on
    let selfie = samples::jpeg(Some("selfie"));
    let sent = upload(
        &mut b,
        &[("front", &front), ("back", &back), ("selfie", &selfie)],
    )
    .await;
    assert_eq!(sent.location(), "/verify/document/wait");
    p.run(&site).await;
    assert_eq!(
        b.get("/verify/document/wait").await.location(),
        "/verify/ssn"
    );
    assert_eq!(
        checks(&mut b, &p, "900-55-6677", &ada).await,
        "/verify/address"
    );
    assert_eq!(
        by_phone(&mut b, &p, "703-555-0123").await,
        "/verify/password"
    );
    seal(&mut b, GOOD).await;
    let done = b
        .post("/verify/personal-key", &[("acknowledged", "yes")])
        .await;
    assert_eq!(done.location(), "/authorize/resume");
}

/// An agency registered for verified identities, with PKCE: `urn:gov:test:<id>`, sending
/// people back to `https://<id>.example.gov/callback`.
fn ial2_agency(id: &str, name: &str, scopes: &[&str]) -> passerelle::oidc::agency::Agency {
    passerelle::oidc::agency::Agency {
        client_id: format!("urn:gov:test:{id}"),
        name: name.into(),
        agency_id: id.into(),
        ial: 2,
        default_aal: passerelle::oidc::agency::AalSetting::Default,
        keys: vec![],
        jwks_uri: None,
        redirect_uris: vec![format!("https://{id}.example.gov/callback")],
        post_logout_redirect_uris: vec![],
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        pkce: true,
        id_token_alg: passerelle::oidc::jose::Alg::RS256,
        push_notification_url: None,
        failure_to_proof_url: None,
    }
}

/// Registers `agency` with the site's provider.
async fn register(site: &Site, agency: &passerelle::oidc::agency::Agency) {
    let oidc = site.state.oidc().await.unwrap();
    oidc.provider.agencies.put(agency).await.unwrap();
}

/// The tax agency, which receives the SSN.
async fn register_tax(site: &Site) {
    let tax = ial2_agency(
        "tax",
        "Tax Portal",
        &["email", "profile", "address", "social_security_number"],
    );
    register(site, &tax).await;
}

/// The tax agency's authorize URL for `acr` with this S256 challenge.
fn tax_request(acr: &str, challenge: &str) -> String {
    let query = serde_urlencoded::to_string([
        ("client_id", "urn:gov:test:tax"),
        ("redirect_uri", "https://tax.example.gov/callback"),
        ("response_type", "code"),
        (
            "scope",
            "openid email profile address social_security_number",
        ),
        ("state", "state-of-the-tax-agency-012345"),
        ("nonce", "nonce-of-the-tax-agency-012345"),
        ("acr_values", acr),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    format!("/authorize?{query}")
}

/// Signs out, starts the tax agency's request for `acr` and types the password on the
/// sign-in page it leads to; returns the answer and the PKCE verifier.
async fn password_at_agency(
    b: &mut Browser<'_>,
    email: &str,
    acr: &str,
) -> (Answer, openidconnect::PkceCodeVerifier) {
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    b.post("/sign-out", &[]).await;
    let start = b.get(&tax_request(acr, challenge.as_str())).await;
    b.follow(start).await;
    let answer = b
        .post("/sign-in", &[("email", email), ("password", GOOD)])
        .await;
    (answer, verifier)
}

/// What the agency holds after redeeming `code`: the ID token's claims and userinfo.
async fn redeem(site: &Site, code: &str, verifier: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::Engine;
    let tokens = exchange(site, code, verifier).await;
    let payload = tokens["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let id_token = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let userinfo = userinfo(site, tokens["access_token"].as_str().unwrap()).await;
    (id_token, userinfo)
}

/// The tax agency's token response for `code`.
async fn exchange(site: &Site, code: &str, verifier: &str) -> serde_json::Value {
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "https://tax.example.gov/callback"),
        ("client_id", "urn:gov:test:tax"),
        ("code_verifier", verifier),
    ])
    .unwrap();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let response = site.router.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// Userinfo for the bearer `access_token`.
async fn userinfo(site: &Site, access_token: &str) -> serde_json::Value {
    let req = Request::builder()
        .uri("/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Body::empty())
        .unwrap();
    let response = site.router.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// From the resume step of a verified request to the agency's code: the password opens
/// the identity (when the session holds no open copy), consent is given (once), and the
/// code comes back.
async fn unlock_and_allow(b: &mut Browser<'_>) -> String {
    let mut next = b.get("/authorize/resume").await;
    if next.location() == "/authorize/unlock" {
        b.get("/authorize/unlock").await;
        let opened = b.post("/authorize/unlock", &[("password", GOOD)]).await;
        assert_eq!(opened.location(), "/authorize/resume", "{}", opened.body);
        next = b.get("/authorize/resume").await;
    }
    if next.location() == "/authorize/consent" {
        b.get("/authorize/consent").await;
        next = b.post("/authorize/consent", &[("decision", "allow")]).await;
    }
    let to = next.location();
    assert!(to.starts_with("https://tax.example.gov/callback?"), "{to}");
    let query = to.split_once('?').unwrap().1;
    let params: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(query).unwrap();
    params["code"].clone()
}

#[tokio::test]
async fn given_a_remembered_browser_when_an_agency_asks_for_a_verified_identity_then_a_factor_of_this_sign_in_is_required()
 {
    use openidconnect::PkceCodeChallenge;
    const AAL2: &str = "http://idmanagement.gov/ns/assurance/aal/2";
    let site = site_with_clock();
    let p = proofing(&site);
    register_tax(&site).await;
    // Given Ada, verified, who signed in with "remember this browser", then signed out
    let ada = person("Ada", "D12121212");
    let (mut b, secret, _) = verified(&site, &p, "ada.remembered@example.gov", &ada).await;
    b.post("/sign-out", &[]).await;
    site.advance(30);
    b.get("/sign-in").await;
    let step = b
        .post(
            "/sign-in",
            &[("email", "ada.remembered@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(step.location(), "/sign-in/factor");
    b.open("/sign-in/factor").await;
    let code = site.totp(&secret);
    b.post(
        "/sign-in/totp",
        &[("code", &code), ("return_to", ""), ("remember", "yes")],
    )
    .await;
    assert!(b.cookies.contains_key("__Host-remember"));
    site.advance(30);

    // When the agency asks for a verified identity and she types her password,
    let (signed_in, verifier) = password_at_agency(
        &mut b,
        "ada.remembered@example.gov",
        "urn:acr.login.gov:verified",
    )
    .await;
    // then the remembered browser does not stand in: the factor step comes first,
    assert_eq!(
        signed_in.location(),
        "/sign-in/factor",
        "a remembered browser never counts for a verified identity"
    );
    assert_eq!(
        b.get("/authorize/resume").await.location(),
        "/sign-in",
        "no code before the factor"
    );
    b.open("/sign-in/factor").await;
    let code = site.totp(&secret);
    let done = b
        .post("/sign-in/totp", &[("code", &code), ("return_to", "")])
        .await;
    assert_eq!(done.location(), "/authorize/resume", "{}", done.body);
    site.advance(30);
    // and the agency is told a factor of this sign-in was used.
    assert_eq!(
        b.get("/authorize/resume").await.location(),
        "/authorize/unlock",
        "the password opens the identity next"
    );
    let code = unlock_and_allow(&mut b).await;
    let (id_token, userinfo) = redeem(&site, &code, verifier.secret()).await;
    assert_eq!(userinfo["aal"], AAL2, "{userinfo}");
    assert_eq!(userinfo["social_security_number"], "900-11-2233");
    assert_eq!(id_token["acr"], "urn:acr.login.gov:verified");

    // And when the remembered browser already signed her in for a default request,
    let (signed_in, _) = password_at_agency(
        &mut b,
        "ada.remembered@example.gov",
        "urn:acr.login.gov:auth-only",
    )
    .await;
    assert_eq!(
        signed_in.location(),
        "/authorize/resume",
        "it stands in here"
    );
    let default = b.get("/authorize/resume").await;
    assert!(
        default
            .location()
            .starts_with("https://tax.example.gov/callback?"),
        "{}",
        default.location()
    );
    // a verified request (or facial match, or a weaker aal beside it) still asks for the factor.
    for acr in [
        "urn:acr.login.gov:verified",
        "urn:acr.login.gov:verified-facial-match-required",
        "urn:acr.login.gov:verified urn:gov:gsa:ac:classes:sp:PasswordProtectedTransport:duo",
    ] {
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let asked = b.get(&tax_request(acr, challenge.as_str())).await;
        assert_eq!(asked.location(), "/authorize/resume", "{}", asked.body);
        let resumed = b.get("/authorize/resume").await;
        assert_eq!(
            resumed.location(),
            "/sign-in/factor?return_to=%2Fauthorize%2Fresume",
            "{acr}"
        );
    }
}

#[tokio::test]
async fn given_a_forged_review_changing_name_and_birth_date_then_the_document_stands_and_only_the_new_address_is_checked_and_sent()
 {
    use openidconnect::PkceCodeChallenge;
    let site = site_with_clock();
    let p = proofing(&site);
    register_tax(&site).await;
    // Given Ada, whose ID says Ada Quintessa, born 1979-03-09, of 42 Proofing Way, at the review
    let ada = person("Ada", "D45454545");
    let mut b = newcomer(&site, "ada.review@example.gov").await;
    assert_eq!(document(&mut b, &p, &ada).await, "/verify/ssn");
    b.get("/verify/ssn").await;
    b.post("/verify/ssn", &[("ssn", "900-11-2233")]).await;
    b.get("/verify/review").await;
    // When a hand-made form sends another name, birth date and ID number with a new address
    let sent = b
        .post(
            "/verify/review",
            &[
                ("given_name", "Grace"),
                ("family_name", "Hopper"),
                ("birthdate", "1906-12-09"),
                ("id_number", "X0000001"),
                ("id_state", "MD"),
                ("line1", "7 Moved Street"),
                ("line2", ""),
                ("city", "Richmond"),
                ("state", "VA"),
                ("zip", "23219"),
            ],
        )
        .await;
    assert_eq!(sent.location(), "/verify/checks", "{}", sent.body);
    p.run(&site).await;
    assert_eq!(b.get("/verify/checks").await.location(), "/verify/address");
    assert_eq!(
        by_phone(&mut b, &p, "703-555-0123").await,
        "/verify/password"
    );
    // then the checks saw the document's identity at the new address,
    {
        let checked = p.fake.checked.lock().unwrap();
        assert_eq!(checked.len(), 2, "resolution, then the phone");
        for pii in checked.iter() {
            assert_eq!(
                (
                    pii.given_name.as_str(),
                    pii.family_name.as_str(),
                    pii.birthdate.as_str(),
                    pii.id_number.as_str(),
                    pii.id_state.as_str()
                ),
                ("Ada", "Quintessa", "1979-03-09", "D45454545", "VA")
            );
            assert_eq!(pii.address.line1, "7 Moved Street");
            assert_eq!(pii.address.city, "Richmond");
        }
    }
    seal(&mut b, GOOD).await;
    b.post("/verify/personal-key", &[("acknowledged", "yes")])
        .await;
    // and an agency receives the document's name and birth date with the confirmed address.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let asked = b
        .get(&tax_request(
            "urn:acr.login.gov:verified",
            challenge.as_str(),
        ))
        .await;
    assert_eq!(asked.location(), "/authorize/resume", "{}", asked.body);
    let code = unlock_and_allow(&mut b).await;
    let (_, userinfo) = redeem(&site, &code, verifier.secret()).await;
    assert_eq!(userinfo["given_name"], "Ada", "{userinfo}");
    assert_eq!(userinfo["family_name"], "Quintessa");
    assert_eq!(userinfo["birthdate"], "1979-03-09");
    assert_eq!(userinfo["address"]["street_address"], "7 Moved Street");
    assert_eq!(userinfo["address"]["locality"], "Richmond");
}

#[tokio::test]
async fn given_details_that_do_not_hold_then_each_field_says_what_to_fix_and_nothing_is_checked() {
    let site = site_with_clock();
    let p = proofing(&site);
    let ada = person("Ada", "D98765432");
    let mut b = newcomer(&site, "details@example.gov").await;
    assert_eq!(document(&mut b, &p, &ada).await, "/verify/ssn");
    b.get("/verify/ssn").await;
    b.post("/verify/ssn", &[("ssn", "900 11 2233")]).await;
    // A state that does not exist, a ZIP of 3 digits, no city
    b.get("/verify/review").await;
    let mut elsewhere = ada.clone();
    elsewhere.address.state = "ZZ".into();
    elsewhere.address.zip = "123".into();
    elsewhere.address.city = String::new();
    let refused = post_owned(&mut b, "/verify/review", &review_fields(&elsewhere)).await;
    assert_eq!(refused.status, StatusCode::OK);
    for message in [
        "Enter your city",
        "Enter your state as two letters",
        "Enter a ZIP code of 5 digits",
    ] {
        assert!(
            refused.body.contains(message),
            "{message}: {}",
            refused.body
        );
    }
    assert!(
        refused.body.contains("value=\"123\""),
        "what was typed stays"
    );
    // An ID read as a 12-year-old's, or with a date that does not exist: new photos, since
    // the review cannot change what the ID says
    for (birthdate, message) in [
        ("2015-06-01", "You must be 18 or older"),
        (
            "1990-02-30",
            "Your name or date of birth could not be read from your ID",
        ),
    ] {
        let mut young = person("Ada", "D98765432");
        young.birthdate = birthdate.into();
        let mut y = newcomer(&site, &format!("young-{birthdate}@example.gov")).await;
        assert_eq!(document(&mut y, &p, &young).await, "/verify/ssn");
        y.get("/verify/ssn").await;
        y.post("/verify/ssn", &[("ssn", "900 11 2233")]).await;
        y.get("/verify/review").await;
        let refused = post_owned(&mut y, "/verify/review", &review_fields(&young)).await;
        assert_eq!(refused.status, StatusCode::OK);
        assert!(
            refused.body.contains(message),
            "{message}: {}",
            refused.body
        );
        assert!(refused.body.contains("href=\"/verify/document\""));
    }
    // Then nothing was queued and the checks have not started
    let queued = site
        .services
        .proofing_queue
        .receive(10, Duration::ZERO, Duration::ZERO)
        .await
        .unwrap();
    assert!(queued.is_empty());
    assert_eq!(b.get("/verify/checks").await.location(), "/verify/review");
    // A phone that is not a number is refused on the address page, nothing queued
    assert_eq!(
        checks(&mut b, &p, "900-11-2233", &ada).await,
        "/verify/address"
    );
    b.get("/verify/address").await;
    let refused = b
        .post(
            "/verify/address",
            &[("method", "phone"), ("phone", "call me maybe")],
        )
        .await;
    assert!(
        refused.body.contains("This phone number is not valid"),
        "{}",
        refused.body
    );
    let unchosen = b.post("/verify/address", &[("phone", "")]).await;
    assert!(
        unchosen.body.contains("Choose how to confirm your address"),
        "{}",
        unchosen.body
    );
    assert_eq!(
        b.get("/verify/address/wait").await.location(),
        "/verify/address"
    );
}

#[tokio::test]
async fn given_one_ssn_tried_from_two_accounts_then_the_eleventh_try_in_an_hour_waits() {
    let site = site_with_clock();
    let p = proofing(&site);
    let ada = person("Ada", "D98765432");
    let mut tries = 0;
    for email in ["one@example.gov", "two@example.gov"] {
        let mut b = newcomer(&site, email).await;
        assert_eq!(document(&mut b, &p, &ada).await, "/verify/ssn");
        b.get("/verify/ssn").await;
        for _ in 0..5 {
            let entered = b.post("/verify/ssn", &[("ssn", "900-77-8899")]).await;
            assert_eq!(entered.location(), "/verify/review", "try {tries}");
            tries += 1;
        }
        if tries == 10 {
            // Then the same number from either account is refused for the rest of the hour
            let refused = b.post("/verify/ssn", &[("ssn", "900778899")]).await;
            assert_eq!(
                refused.status,
                StatusCode::TOO_MANY_REQUESTS,
                "{}",
                refused.body
            );
            // And another number still goes through
            let other = b.post("/verify/ssn", &[("ssn", "900-77-8800")]).await;
            assert_eq!(other.location(), "/verify/review");
        }
    }
    // An account that never verified shows the way in
    let mut c = Browser::new(&site);
    sign_up_with_app(&mut c, "", "none@example.gov").await;
    let account = c.get("/account").await;
    assert!(
        account.body.contains("Your identity is not verified"),
        "{}",
        account.body
    );
    assert!(account.body.contains("href=\"/verify\""));
}

#[tokio::test]
async fn given_an_agency_waiting_when_the_person_stops_after_a_failure_then_they_go_to_its_failure_to_proof_page()
 {
    let site = site_with_clock();
    let p = proofing(&site);
    let mut agency = ial2_agency("housing", "Housing Portal", &["email", "profile"]);
    agency.failure_to_proof_url = Some("https://housing.example.gov/other-ways".into());
    register(&site, &agency).await;
    // Given a signed-in person whom the agency asks for a verified identity,
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "", "stops@example.gov").await;
    let query = |state: &str| {
        serde_urlencoded::to_string([
            ("client_id", "urn:gov:test:housing"),
            ("redirect_uri", "https://housing.example.gov/callback"),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", state),
            ("nonce", "nonce-of-the-agency-0123456789"),
            ("acr_values", "urn:acr.login.gov:verified"),
            ("code_challenge", &"a".repeat(43)),
            ("code_challenge_method", "S256"),
        ])
        .unwrap()
    };
    let asked = b
        .get(&format!(
            "/authorize?{}",
            query("state-of-the-agency-0123456789")
        ))
        .await;
    assert_eq!(asked.location(), "/authorize/resume", "{}", asked.body);
    let needs = b.get("/authorize/resume").await;
    assert!(
        needs
            .body
            .contains("Housing Portal needs to know who you are"),
        "{}",
        needs.body
    );
    b.get("/verify").await;
    b.post("/verify", &[("consent", "yes")]).await;
    // when the document fails and the person chooses to stop,
    assert_eq!(
        document(&mut b, &p, &person("Failing", "F12345678")).await,
        "/verify/document"
    );
    let failed = b.get("/verify/document").await;
    assert!(
        failed.body.contains("/authorize/not-verified"),
        "{}",
        failed.body
    );
    let confirm = b.get("/authorize/not-verified").await;
    assert!(
        confirm
            .body
            .contains("Housing Portal will be told that your identity could not be verified"),
        "{}",
        confirm.body
    );
    let left = b.post("/authorize/not-verified", &[]).await;
    // then they reach the agency's registered failure-to-proof page, and the request ended;
    assert_eq!(left.location(), "https://housing.example.gov/other-ways");
    assert_eq!(
        b.get("/authorize/resume").await.status,
        StatusCode::OK,
        "the request's end page"
    );
    // and an agency without such a page hears access_denied with its state.
    agency.failure_to_proof_url = None;
    register(&site, &agency).await;
    b.get(&format!(
        "/authorize?{}",
        query("second-state-of-the-agency-01")
    ))
    .await;
    b.get("/authorize/not-verified").await;
    let left = b.post("/authorize/not-verified", &[]).await;
    assert!(
        left.location()
            .starts_with("https://housing.example.gov/callback?error=access_denied"),
        "{}",
        left.location()
    );
    assert!(
        left.location()
            .contains("state=second-state-of-the-agency-01")
    );
}

#[tokio::test]
async fn given_a_letter_not_entered_when_10_days_pass_then_one_reminder_in_the_persons_language_and_after_30_days_a_new_letter()
 {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    const INES: &str = "ines@example.gov";
    const LIN: &str = "lin@example.gov";
    let site = site_with_clock();
    let clock = site.clock.clone().unwrap();
    let p = proofing(&site);
    let idv = site.state.idv().await.unwrap();
    // Given a person who signed up in French and is waiting for a letter's code
    let ines = person("Ines", "I12345678");
    let mut b = Browser::new(&site);
    let secret = sign_up_with_app(&mut b, "/fr", INES).await;
    b.get("/verify").await;
    let agreed = b.post("/verify", &[("consent", "yes")]).await;
    assert_eq!(agreed.location(), "/verify/document", "{}", agreed.body);
    assert_eq!(document(&mut b, &p, &ines).await, "/verify/ssn");
    assert_eq!(
        checks(&mut b, &p, "900-12-3456", &ines).await,
        "/verify/address"
    );
    b.get("/verify/address").await;
    let chose = b.post("/verify/address", &[("method", "letter")]).await;
    assert_eq!(chose.location(), "/verify/password");
    seal(&mut b, GOOD).await;
    b.post("/verify/personal-key", &[("acknowledged", "yes")])
        .await;
    p.run(&site).await;
    let code = p.fake.letters.lock().unwrap().pop().expect("a letter");
    let user = user_of(&site, &b).await;
    let letters = idv.letters.pending(&user).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let sent_ms = letters[0].requested_ms;
    // And another account with a letter out but no identity waiting for it
    let mut other = Browser::new(&site);
    sign_up_with_app(&mut other, "", LIN).await;
    let lin = user_of(&site, &other).await;
    clock.set_ms(sent_ms);
    idv.letters.request_letter(&lin).await.unwrap();
    let mails_before = site.mail_to(INES).await.len();
    let lin_before = site.mail_to(LIN).await.len();

    // When the job runs a minute before the 10 days are over, then it mails nothing
    clock.set_ms(sent_ms + 10 * DAY_MS - 60_000);
    assert_eq!(run_due_letter_reminders(&site.state).await.unwrap(), 0);
    assert_eq!(site.mail_to(INES).await.len(), mails_before);

    // When it runs once the 10 days are over
    clock.set_ms(sent_ms + 10 * DAY_MS);
    assert_eq!(run_due_letter_reminders(&site.state).await.unwrap(), 1);
    // Then exactly one reminder went, in French, to the page for the code, with its expiry
    let mail = site.mail_to(INES).await;
    assert_eq!(mail.len(), mails_before + 1, "{mail:?}");
    let (subject, text) = &mail[0];
    assert_eq!(subject, "Saisissez le code de votre courrier");
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.lines()
            .any(|l| l == "http://localhost:3000/fr/verify/letter"),
        "{text}"
    );
    let expires = format_utc(sent_ms + 30 * DAY_MS);
    assert!(
        words.contains(&format!("valable jusqu’au {expires}")),
        "{text}"
    );
    // And it holds neither the code nor anything of the address
    for secret in [
        code.as_str(),
        &code.replace('-', ""),
        "42 Proofing Way",
        "Alexandria",
        "22314",
        "Ines",
        "Quintessa",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // And the account without a waiting identity got nothing
    assert_eq!(site.mail_to(LIN).await.len(), lin_before);

    // When the job runs again, now and on later days, then it mails none
    for _ in 0..3 {
        assert_eq!(run_due_letter_reminders(&site.state).await.unwrap(), 0);
        clock.advance_ms(DAY_MS);
    }
    assert_eq!(site.mail_to(INES).await.len(), mails_before + 1);
    assert!(
        idv.letters
            .due_reminders(site.services.clock.now_ms(), 100)
            .await
            .unwrap()
            .is_empty()
    );

    // When 30 days have passed without the code, and the person signs in again
    clock.set_ms(sent_ms + 30 * DAY_MS);
    let mut b = sign_in_with_app(&site, INES, GOOD, &secret).await;
    // Then the account page and the letter page say the letter expired and offer a new one
    let account = b.get("/account").await;
    assert!(
        account
            .body
            .contains("the code of the letter we mailed you has expired"),
        "{}",
        account.body
    );
    assert!(
        account.body.contains("Ask for a new letter"),
        "{}",
        account.body
    );
    let letter = b.get("/verify/letter").await;
    assert_eq!(letter.status, StatusCode::OK, "{}", letter.body);
    assert!(
        letter.body.contains("Your letter’s code has expired"),
        "{}",
        letter.body
    );
    assert!(!letter.body.contains("Letter sent"), "{}", letter.body);
    assert!(
        letter.body.contains("action=\"/verify/letter/resend\""),
        "{}",
        letter.body
    );
    let late = b.post("/verify/letter", &[("code", &code)]).await;
    assert!(
        late.body.contains("This code is not right"),
        "{}",
        late.body
    );
    // And the new letter it offers goes out, and the page lists it
    let resent = b.post("/verify/letter/resend", &[("password", GOOD)]).await;
    assert_eq!(
        resent.location(),
        "/verify/letter?sent=1",
        "{}",
        resent.body
    );
    p.run(&site).await;
    assert_eq!(p.fake.letters.lock().unwrap().len(), 1);
    let letter = b.get("/verify/letter?sent=1").await;
    assert!(letter.body.contains("Letter sent"), "{}", letter.body);
    assert!(!letter.body.contains("has expired"), "{}", letter.body);
    assert!(matches!(
        idv.profiles.status(&user).await.unwrap(),
        Some(ProfileState::PendingLetter { .. })
    ));
}

#[tokio::test]
async fn given_an_identity_verified_without_a_selfie_when_an_agency_requires_a_facial_match_then_it_is_refused_clearly()
 {
    let site = site_with_clock();
    let p = proofing(&site);
    let agency = ial2_agency("passports", "Passport Office", &["email", "profile"]);
    register(&site, &agency).await;
    // Given a person verified by phone, without a selfie,
    let (mut b, _, _) = verified(
        &site,
        &p,
        "noselfie@example.gov",
        &person("Ada", "D98765432"),
    )
    .await;
    // when an agency requires a facial match,
    let query = serde_urlencoded::to_string([
        ("client_id", "urn:gov:test:passports"),
        ("redirect_uri", "https://passports.example.gov/callback"),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "state-of-the-agency-0123456789"),
        ("nonce", "nonce-of-the-agency-0123456789"),
        (
            "acr_values",
            "urn:acr.login.gov:verified-facial-match-required",
        ),
        ("code_challenge", &"a".repeat(43)),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    b.get(&format!("/authorize?{query}")).await;
    let page = b.get("/authorize/resume").await;
    // then no code goes back: the page says why, and offers the way back to the agency.
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(
            "Passport Office accepts only an identity verified with a photo of your face"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("/authorize/not-verified"));
}

// ---------------------------------------------------------------------------------------
// What an operator holds after an agency sign-in (issue 16)
// ---------------------------------------------------------------------------------------

/// The person of the agency sign-in below: values no other text of the site contains.
const OPERATOR_VIEW: [&str; 5] = [
    "Zenobiah",
    "Quintessa",
    "1979-03-09",
    "900-11-2233",
    "900112233",
];

/// Every item of the site's table as it is stored, read from the database file itself
/// (as anyone holding the file or a backup of it would): (pk, sk) → its attributes (JSON).
fn table_rows(site: &Site) -> std::collections::BTreeMap<(String, String), String> {
    let db = rusqlite::Connection::open(site.data_dir().join("passerelle.db")).unwrap();
    let mut stmt = db.prepare("SELECT pk, sk, attrs FROM items").unwrap();
    stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// AES-256-GCM opened without its tag: the keystream (the encryption of zeros under the
/// same key and nonce; the associated data only feeds the tag) XORed in. What an operator
/// holding a key does with a ciphertext whose context or record they do not know.
fn keystream_open(key: &[u8; 32], nonce: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let ciphertext = sealed.get(..sealed.len().checked_sub(16)?)?;
    let stream = passerelle::aead::encrypt(key, &nonce, b"", &vec![0; ciphertext.len()]);
    Some(ciphertext.iter().zip(stream).map(|(c, k)| c ^ k).collect())
}

/// What an operator holds: the table, the root keys (the key service's unwrap, so every
/// envelope opens whatever its context) and every key they can derive from both.
struct Operator {
    roots: std::collections::BTreeMap<String, [u8; 32]>,
    /// Every 32-byte key found: the root keys, every data key, every 32-byte opened value
    /// (the fingerprint root among them) and its subkeys, and what the table holds of
    /// each access token (its hash) used as the claims key would use the token.
    keys: Vec<[u8; 32]>,
}

/// `bytes` and everything inside: JSON strings, base64 of any alphabet, recursively.
fn unwrapped(bytes: Vec<u8>, depth: u8, out: &mut Vec<Vec<u8>>) {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    if depth > 0 {
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            let mut strings = Vec::new();
            fn leaves(v: &serde_json::Value, out: &mut Vec<String>) {
                match v {
                    serde_json::Value::String(s) => out.push(s.clone()),
                    serde_json::Value::Array(a) => a.iter().for_each(|v| leaves(v, out)),
                    serde_json::Value::Object(o) => o.iter().for_each(|(k, v)| {
                        out.push(k.clone());
                        leaves(v, out);
                    }),
                    _ => {}
                }
            }
            leaves(&json, &mut strings);
            for s in strings {
                unwrapped(s.into_bytes(), depth - 1, out);
            }
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                if let Ok(decoded) = engine.decode(text.trim()) {
                    unwrapped(decoded, depth - 1, out);
                }
            }
        }
    }
    out.push(bytes);
}

/// Every byte string an item holds, its key included.
fn item_blobs(pk: &str, sk: &str, attrs: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for text in [pk, sk, attrs] {
        unwrapped(text.as_bytes().to_vec(), 4, &mut out);
    }
    out
}

impl Operator {
    /// The operator of `site`, holding its table and its root-key file.
    fn of(site: &Site) -> Operator {
        use base64::Engine;
        use hmac::{Hmac, KeyInit, Mac};
        let file = std::fs::read_to_string(site.data_dir().join("root-keys")).unwrap();
        let roots: std::collections::BTreeMap<String, [u8; 32]> = file
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(id, b64)| {
                let key = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .unwrap();
                (id.trim().to_owned(), key.try_into().unwrap())
            })
            .collect();
        assert!(!roots.is_empty(), "the root-key file was read");
        let mut operator = Operator {
            keys: roots.values().copied().collect(),
            roots,
        };
        let mut found = Vec::new();
        for ((pk, sk), attrs) in table_rows(site) {
            for blob in item_blobs(&pk, &sk, &attrs) {
                if let Some((data_key, opened)) = operator.open_envelope(&blob) {
                    found.push(data_key);
                    if let Ok(key) = <[u8; 32]>::try_from(opened.as_slice()) {
                        found.push(key);
                    }
                }
            }
            // What the table holds of an access token, used as the token would be.
            if let Some(hash) = pk.strip_prefix("OIDC_TOKEN#") {
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(hash)
                    .unwrap_or_default();
                for secret in [hash.as_bytes(), &decoded] {
                    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).unwrap();
                    mac.update(b"passerelle/oidc-claims/v1");
                    found.push(mac.finalize().into_bytes().into());
                }
                found.extend(<[u8; 32]>::try_from(decoded.as_slice()));
            }
        }
        // Each 32-byte value as a fingerprint root: its subkeys (the codes' keys of the
        // day among them).
        let day = site.services.clock.now_secs().div_euclid(86_400);
        let purposes = [
            "pairwise".to_owned(),
            format!("oidc-code/{day}"),
            format!("oidc-code/{}", day - 1),
            "email".to_owned(),
            "phone".to_owned(),
            "ratelimit".to_owned(),
            "idv-letter".to_owned(),
        ];
        for key in found.clone() {
            let root = passerelle::fingerprint::Fingerprints::from_key(
                passerelle::keys::SecretKey::from_bytes(key),
            );
            found.extend(purposes.iter().map(|p| *root.subkey(p).expose()));
        }
        found.sort_unstable();
        found.dedup();
        operator.keys.extend(found);
        operator
    }

    /// An envelope opened by the root keys, whatever context and record it was sealed
    /// for: its data key and its plaintext.
    fn open_envelope(&self, bytes: &[u8]) -> Option<([u8; 32], Vec<u8>)> {
        let (&version, rest) = bytes.split_first()?;
        let (&id_len, rest) = rest.split_first()?;
        let (id, rest) = rest.split_at_checked(usize::from(id_len))?;
        let root = self.roots.get(std::str::from_utf8(id).ok()?)?;
        let (len, rest) = rest.split_first_chunk::<2>()?;
        let (wrapped, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
        if !matches!(version, 1 | 2) || wrapped.len() != 12 + 32 + 16 || rest.len() < 12 + 16 {
            return None;
        }
        let data_key: [u8; 32] = keystream_open(root, &wrapped[..12], &wrapped[12..])?
            .try_into()
            .ok()?;
        let opened = keystream_open(&data_key, &rest[..12], &rest[12..])?;
        Some((data_key, opened))
    }

    /// Every value the operator opens from `blobs`: the blobs themselves, each envelope,
    /// and each blob opened with each key they hold, its nonce at any of the offsets the
    /// formats use (0; 1 after a version byte; 5 after a code's header).
    fn open_all(&self, blobs: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for blob in blobs {
            out.push(blob.clone());
            if let Some((_, opened)) = self.open_envelope(blob) {
                unwrapped(opened, 2, &mut out);
            }
            for offset in [0, 1, 5] {
                let Some(nonce) = blob.get(offset..offset + 12) else {
                    continue;
                };
                for key in &self.keys {
                    if let Some(opened) = keystream_open(key, nonce, &blob[offset + 12..]) {
                        out.push(opened);
                    }
                }
            }
        }
        out
    }
}

/// The first of `values` found in any of `opened`, in UTF-8 (as typed, lower and upper
/// case) or UTF-16 (either byte order).
fn first_found(opened: &[Vec<u8>], values: &[&str]) -> Option<String> {
    for value in values {
        let mut forms = vec![
            value.as_bytes().to_vec(),
            value.to_lowercase().into_bytes(),
            value.to_uppercase().into_bytes(),
        ];
        forms.push(value.encode_utf16().flat_map(u16::to_le_bytes).collect());
        forms.push(value.encode_utf16().flat_map(u16::to_be_bytes).collect());
        for form in &forms {
            if opened
                .iter()
                .any(|b| b.windows(form.len()).any(|w| w == form.as_slice()))
            {
                return Some((*value).to_owned());
            }
        }
    }
    None
}

/// The scan covers what the agency sign-in wrote or changed (the token item, the code's
/// marker, the consent, the session); what the verification itself stored (job results,
/// uploads) is outside this test. Items written and deleted within the sign-in (the
/// waiting request) are not seen; none of them holds claims.
#[tokio::test]
async fn given_an_agency_sign_in_with_verified_claims_then_nothing_it_stored_opens_them_with_the_key_service()
 {
    use openidconnect::PkceCodeChallenge;
    use passerelle::keys::EncryptionContext;
    let (site, meter) = support::site_counted_at(1_800_000_000_000);
    let p = proofing(&site);
    register_tax(&site).await;
    // Given Zenobiah, verified by phone, signed in (her session holds her identity),
    let mut zenobiah = person(OPERATOR_VIEW[0], "D31313131");
    zenobiah.birthdate = OPERATOR_VIEW[2].into();
    let (mut b, _, _) = verified(&site, &p, "z.q.verified@example.gov", &zenobiah).await;
    // on a deployment whose signing keys exist (an agency has fetched them),
    let oidc = site.state.oidc().await.unwrap();
    oidc.provider.keys.jwks().await.unwrap();
    let before = table_rows(&site);
    meter.take();

    // when the tax agency asks for her verified identity, she allows it, and the agency
    // redeems the code (in another process: nothing cached) and reads userinfo,
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let asked = b
        .get(&tax_request(
            "urn:acr.login.gov:verified",
            challenge.as_str(),
        ))
        .await;
    assert_eq!(asked.location(), "/authorize/resume", "{}", asked.body);
    let code = unlock_and_allow(&mut b).await;
    let at_code = meter.take();
    let token_process = site.restarted();
    let tokens = exchange(&token_process, &code, verifier.secret()).await;
    let access_token = tokens["access_token"].as_str().unwrap().to_owned();
    let info = userinfo(&token_process, &access_token).await;
    let at_agency = meter.take();

    // then the agency gets her claims, as before,
    assert_eq!(info["given_name"], OPERATOR_VIEW[0], "{info}");
    assert_eq!(info["family_name"], "Quintessa");
    assert_eq!(info["birthdate"], "1979-03-09");
    assert_eq!(info["social_security_number"], "900-11-2233");
    assert_eq!(info["address"]["postal_code"], "22314");
    // with no key-service call for them: the code's issue seals nothing with the key
    // service, and the exchange and userinfo open only what a new process opens once (the
    // fingerprint root, the signing key, the account keys' wrap key) and her email
    // address,
    assert!(
        !at_code.kms.keys().any(|k| k.starts_with("GenerateDataKey")),
        "the code's issue seals nothing with the key service: {:?}",
        at_code.kms
    );
    let agency_calls: Vec<&str> = at_agency.kms.keys().map(String::as_str).collect();
    assert_eq!(
        agency_calls,
        [
            "Decrypt account-key-wrap",
            "Decrypt email",
            "Decrypt fingerprint-key",
            "Decrypt oidc-signing-key"
        ],
        "{:?}",
        at_agency.kms
    );
    assert!(
        at_agency.kms.values().all(|n| *n == 1),
        "{:?}",
        at_agency.kms
    );

    // and an operator holding the table and the key service's unwrap, opening every
    // envelope whatever its context and every value with every key they hold or derive,
    // finds none of her values in what the sign-in stored.
    let operator = Operator::of(&site);
    let after = table_rows(&site);
    let written: Vec<Vec<u8>> = after
        .iter()
        .filter(|(key, attrs)| before.get(*key) != Some(*attrs))
        .flat_map(|((pk, sk), attrs)| item_blobs(pk, sk, attrs))
        .collect();
    assert!(
        after.keys().any(|(pk, _)| pk.starts_with("OIDC_TOKEN#")),
        "the token item is among what the scan sees"
    );
    assert_eq!(
        first_found(&operator.open_all(&written), &OPERATOR_VIEW),
        None,
        "an operator opened an agency's claims"
    );

    // The scan can find them: with the agency's access token, the claims open where
    // they are stored,
    let mut agency = Operator::of(&site);
    {
        use hmac::{KeyInit, Mac};
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(access_token.as_bytes()).unwrap();
        mac.update(b"passerelle/oidc-claims/v1");
        agency.keys.push(mac.finalize().into_bytes().into());
    }
    assert_eq!(
        first_found(&agency.open_all(&written), &OPERATOR_VIEW).as_deref(),
        Some(OPERATOR_VIEW[0])
    );
    // and the same claims sealed the previous version's way (the key service alone,
    // inside the grant of a token item), planted in the table, are found by the operator.
    let user = user_of(&site, &b).await;
    let mut planted_claims = info.as_object().unwrap().clone();
    planted_claims.retain(|k, _| !["sub", "iss", "email", "email_verified"].contains(&k.as_str()));
    let sealed = site
        .services
        .envelope
        .seal(
            &EncryptionContext::new()
                .with("purpose", "oidc-verified-claims")
                .with("client", "urn:gov:test:tax"),
            &format!("OIDC_CLAIMS#{user}"),
            &serde_json::to_vec(&planted_claims).unwrap(),
        )
        .await
        .unwrap();
    {
        use base64::Engine;
        let doc = serde_json::json!({
            "user_id": user,
            "client_id": "urn:gov:test:tax",
            "verified": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed),
        });
        site.services
            .store
            .put(
                passerelle::store::Item::new(passerelle::store::Key::new(
                    "OIDC_TOKEN#planted-by-the-test",
                    "TOKEN",
                ))
                .with("doc", doc.to_string()),
                passerelle::store::Expect::Absent,
            )
            .await
            .unwrap();
    }
    let planted: Vec<Vec<u8>> = table_rows(&site)
        .iter()
        .filter(|((pk, _), _)| pk == "OIDC_TOKEN#planted-by-the-test")
        .flat_map(|((pk, sk), attrs)| item_blobs(pk, sk, attrs))
        .collect();
    assert_eq!(
        first_found(&Operator::of(&site).open_all(&planted), &OPERATOR_VIEW).as_deref(),
        Some(OPERATOR_VIEW[0]),
        "the operator's scan opens a value sealed by the key service alone"
    );
}
