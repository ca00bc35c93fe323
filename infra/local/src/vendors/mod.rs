//! Mock identity-proofing vendors (IDV-3) on their own loopback port, speaking the vendors'
//! API ([`passerelle::idv::vendors::wire`]) so the worker's HTTP client, its timeouts and
//! retries, and the signed callback path all run for real. Answers are chosen by the data:
//!
//! | Data | Outcome |
//! | --- | --- |
//! | first name containing `Time` | every call hangs for [`MockConfig::hang`] (past the client's timeout): retries, then unavailable and the dead-letter queue |
//! | first name containing `Fail` | every check fails (document: not authentic) |
//! | SSN starting `900` or `666` | identity resolution passes; any other SSN fails |
//! | ID number `00000000` | the state-ID check fails |
//! | phone `+17035555555` (703-555-5555) | phone-to-address fails (unverifiable) |
//! | anything else | passes |
//!
//! The document check answers 202 with a reference, then (after
//! [`MockConfig::callback_delay`]) posts the result, signed, to [`MockConfig::callback_url`].
//! What it "reads" on the document is its barcode, as a real vendor reads the PDF417 code
//! on the back of a licence: here a JSON [`passerelle::idv::pii::Pii`] (name, birth date,
//! address, ID number and state) carried by the image itself, in a PNG `tEXt` chunk named
//! [`BARCODE_KEYWORD`] or a JPEG comment ([`sample_back`] makes one). No barcode: the
//! result says the document is unreadable. A selfie whose own text is [`NO_MATCH`] does not
//! match.
//!
//! Letters are kept in the local outbox (kind `letter`) with their code, never the name or
//! address. The mocks store nothing else: a document result lives in its callback task
//! until it is posted.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use passerelle::idv::callback::{CallbackSecrets, SIGNATURE_HEADER};
use passerelle::idv::pii::Pii;
use passerelle::idv::uploads::samples;
use passerelle::idv::vendors::wire::{
    self, Accepted, CheckAnswer, CheckResult, DocumentCallback, DocumentSubmission, LetterRequest,
    PhoneRequest, ResolutionRequest, StateIdRequest,
};
use passerelle::notify::outbox::Outbox;
use passerelle::random::{OsRandom, RandomExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The `tEXt` keyword (PNG) under which a sample document carries its data.
pub const BARCODE_KEYWORD: &str = "passerelle-barcode";
/// A selfie carrying this text does not match the document.
pub const NO_MATCH: &str = "selfie:no-match";
/// The phone number the phone-to-address mock cannot verify.
pub const UNVERIFIABLE_PHONE: &str = "+17035555555";

#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Where document results are posted (the callback endpoint).
    pub callback_url: String,
    /// Signs the callbacks (the newest secret).
    pub secrets: CallbackSecrets,
    /// How long a `Time` request hangs.
    pub hang: Duration,
    /// How long a document check takes before its callback.
    pub callback_delay: Duration,
    /// Where letters go (the local outbox), if anywhere.
    pub letters: Option<Outbox>,
}

impl MockConfig {
    pub fn new(callback_url: impl Into<String>, secrets: CallbackSecrets) -> Self {
        Self {
            callback_url: callback_url.into(),
            secrets,
            hang: Duration::from_secs(60),
            callback_delay: Duration::from_millis(500),
            letters: None,
        }
    }
}

#[derive(Debug)]
struct Mock {
    config: MockConfig,
    client: reqwest::Client,
}

/// The mock vendors' routes, as [`wire`] names them.
pub fn router(config: MockConfig) -> axum::Router {
    let mock = Arc::new(Mock {
        config,
        client: reqwest::Client::new(),
    });
    axum::Router::new()
        .route(wire::DOCUMENT_PATH, post(document))
        .route(wire::RESOLUTION_PATH, post(resolution))
        .route(wire::STATE_ID_PATH, post(state_id))
        .route(wire::PHONE_PATH, post(phone))
        .route(wire::LETTER_PATH, post(letter))
        // Three 5 MB images in base64.
        .layer(DefaultBodyLimit::max(24 * 1024 * 1024))
        .with_state(mock)
}

/// Serves the mocks on `listener` until `stopped` changes.
pub fn spawn(
    listener: tokio::net::TcpListener,
    config: MockConfig,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let served = axum::serve(listener, router(config))
            .with_graceful_shutdown(async move {
                let _ = stopped.changed().await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the mock vendors stopped");
        }
    })
}

/// The back of a sample ID whose barcode holds `pii` (a PNG), for tests and trials.
pub fn sample_back(pii: &Pii) -> Vec<u8> {
    let json = String::from_utf8(pii.to_json().to_vec()).unwrap_or_default();
    samples::png(BARCODE_KEYWORD, Some(&json))
}

/// The front of a sample ID (a JPEG).
pub fn sample_front() -> Vec<u8> {
    samples::jpeg(Some("sample ID, front"))
}

/// A sample selfie that matches, or not.
pub fn sample_selfie(matches: bool) -> Vec<u8> {
    samples::jpeg(Some(if matches { "selfie" } else { NO_MATCH }))
}

fn answer(result: CheckResult) -> Response {
    Json(CheckAnswer { result }).into_response()
}

fn verdict(pass: bool) -> CheckResult {
    if pass {
        CheckResult::Pass
    } else {
        CheckResult::Fail
    }
}

/// Sleeps past the caller's timeout when the first name says so.
async fn maybe_hang(mock: &Mock, given_name: &str) {
    if given_name.contains("Time") {
        tokio::time::sleep(mock.config.hang).await;
    }
}

async fn resolution(State(mock): State<Arc<Mock>>, Json(r): Json<ResolutionRequest>) -> Response {
    maybe_hang(&mock, &r.given_name).await;
    let ssn_ok = r.ssn.starts_with("900") || r.ssn.starts_with("666");
    answer(verdict(ssn_ok && !r.given_name.contains("Fail")))
}

async fn state_id(State(mock): State<Arc<Mock>>, Json(r): Json<StateIdRequest>) -> Response {
    maybe_hang(&mock, &r.given_name).await;
    answer(verdict(
        r.id_number != "00000000" && !r.given_name.contains("Fail"),
    ))
}

async fn phone(State(mock): State<Arc<Mock>>, Json(r): Json<PhoneRequest>) -> Response {
    maybe_hang(&mock, &r.given_name).await;
    answer(verdict(
        r.phone != UNVERIFIABLE_PHONE && !r.given_name.contains("Fail"),
    ))
}

async fn letter(State(mock): State<Arc<Mock>>, Json(r): Json<LetterRequest>) -> Response {
    maybe_hang(&mock, &r.given_name).await;
    let reference = format!("letter-{}", OsRandom.token(9));
    if let Some(outbox) = &mock.config.letters {
        // The code only: the outbox is scanned for personal data like the rest.
        let text = format!(
            "A letter was mailed (reference {reference}, job {}). Its code: {}",
            r.client_ref, r.code
        );
        if let Err(e) = outbox.keep_letter("postal mail", &text).await {
            tracing::warn!(error = %e, "the letter was not kept in the outbox");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    (StatusCode::ACCEPTED, Json(Accepted { reference })).into_response()
}

/// The data a sample image carries, if any.
fn barcode(image: &[u8]) -> Option<String> {
    samples::png_text(image, BARCODE_KEYWORD).or_else(|| samples::jpeg_comment(image))
}

async fn document(State(mock): State<Arc<Mock>>, Json(s): Json<DocumentSubmission>) -> Response {
    let (Ok(front), Ok(back)) = (STANDARD.decode(&s.front), STANDARD.decode(&s.back)) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let selfie = match s.selfie.as_deref().map(|x| STANDARD.decode(x)) {
        None => None,
        Some(Ok(bytes)) => Some(bytes),
        Some(Err(_)) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let extracted: Option<Pii> = barcode(&back)
        .or_else(|| barcode(&front))
        .and_then(|text| serde_json::from_str(&text).ok());
    let given_name = extracted
        .as_ref()
        .map(|p| p.given_name.clone())
        .unwrap_or_default();
    maybe_hang(&mock, &given_name).await;
    let reference = format!("doc-{}", OsRandom.token(9));
    let authentic = !given_name.contains("Fail");
    let result = DocumentCallback {
        client_ref: s.client_ref.clone(),
        reference: reference.clone(),
        authentic,
        selfie_match: selfie.map(|img| barcode(&img).as_deref() != Some(NO_MATCH)),
        extracted: if authentic { extracted } else { None },
    };
    let task = Arc::clone(&mock);
    tokio::spawn(async move { task.post_result(result).await });
    (StatusCode::ACCEPTED, Json(Accepted { reference })).into_response()
}

impl Mock {
    /// Posts a document result, signed, as a vendor's webhook does: a few tries, each
    /// signed anew; the result is dropped afterwards.
    async fn post_result(&self, result: DocumentCallback) {
        tokio::time::sleep(self.config.callback_delay).await;
        let Ok(body) = serde_json::to_vec(&result).map(zeroize::Zeroizing::new) else {
            return;
        };
        drop(result);
        for attempt in 1..=3u32 {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let sent = self
                .client
                .post(&self.config.callback_url)
                .header(SIGNATURE_HEADER, self.config.secrets.sign(now, &body))
                .header("content-type", "application/json")
                .body(body.to_vec())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() || r.status().is_client_error() => {
                    if r.status().is_client_error() {
                        tracing::warn!(status = %r.status(), "the callback was refused");
                    }
                    return;
                }
                Ok(r) => tracing::warn!(attempt, status = %r.status(), "callback failed"),
                Err(e) => tracing::warn!(attempt, error = %e, "callback failed"),
            }
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
    }
}
