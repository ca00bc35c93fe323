//! `GET/POST /verify/document`: photos of the front and back of a state ID, and a selfie
//! when the agency asks for a facial match; `GET /verify/document/wait` while the vendor
//! checks them.
//!
//! The upload is `multipart/form-data`, too large for the CSRF guard to buffer: the guard
//! still refuses a foreign origin and a browser without the CSRF cookie, and lets the
//! body through to [`read_upload`], which reads the `csrf_token` field — the form's
//! first — and refuses anything else before it. The body is limited to
//! [`MAX_UPLOAD_BYTES`] (a bigger one gets the 413 page, before anything is stored);
//! each image is checked ([`check_image`]: JPEG or PNG, complete, at most 5 MB) before
//! an attempt is counted (IDV-5: 5 per 6 hours) and the job is queued.

use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};

use super::MAX_UPLOAD_BYTES;
use super::context::{Ctx, Notice, Verifier, facial_match_requested, message_with_status};
use super::flow::Step;
use super::wait::{job_status, render_wait};
use crate::idv::jobs::JobStatus;
use crate::idv::uploads::{UploadError, check_image};
use crate::ratelimit::IDV_DOCUMENT;
use crate::web::WebState;
use crate::web::csrf::{CSRF_FIELD, CsrfToken, CsrfVerified};
use crate::web::error::WebError;
use crate::web::forms::FormErrors;
use crate::web::page::{Page, render};

/// How often an upload retries when another tab writes the flow at the same moment.
const ATTEMPTS: usize = 3;

#[derive(Template)]
#[template(path = "verify_document.html")]
struct DocumentPage {
    page: Page,
    errors: FormErrors,
    notice: Option<Notice>,
    fields: Vec<FileField>,
}

/// One photo to choose.
struct FileField {
    name: &'static str,
    label: String,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route(
            "/verify/document",
            get(form)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/verify/document/wait", get(wait))
}

fn show(
    state: &WebState,
    ctx: &Ctx,
    page: Page,
    errors: FormErrors,
    selfie: bool,
) -> Result<Response, WebError> {
    let mut fields = vec![
        FileField {
            name: "front",
            label: page.t("verify-front-label"),
        },
        FileField {
            name: "back",
            label: page.t("verify-back-label"),
        },
    ];
    if selfie {
        fields.push(FileField {
            name: "selfie",
            label: page.t("verify-selfie-label"),
        });
    }
    render(&DocumentPage {
        errors,
        notice: Notice::of(&page, &ctx.flow, Step::Document),
        fields,
        page: ctx.page(state, page),
    })
}

async fn form(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Document) {
        return Ok(ctx.to_step(&page));
    }
    let selfie = ctx.flow.selfie || facial_match_requested(&state, &headers).await?;
    show(&state, &ctx, page, FormErrors::default(), selfie)
}

/// The images of one upload; empty file fields count as absent.
#[derive(Default)]
struct Upload {
    front: Option<Vec<u8>>,
    back: Option<Vec<u8>>,
    selfie: Option<Vec<u8>>,
}

/// Why an upload body was not read.
#[derive(Debug, PartialEq, Eq)]
enum Unread {
    TooLarge,
    Csrf,
    Malformed,
}

fn unread(e: &MultipartError) -> Unread {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Unread::TooLarge
    } else {
        Unread::Malformed
    }
}

/// Reads the multipart body: the CSRF field first (or the `x-csrf-token` header the
/// guard checked), then the images. Nothing after a missing or wrong token is read.
async fn read_upload(req: Request) -> Result<Upload, Unread> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES as u64) {
        return Err(Unread::TooLarge);
    }
    let mut csrf_ok = req.extensions().get::<CsrfVerified>().is_some();
    let token = req.extensions().get::<CsrfToken>().cloned();
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|_| Unread::Malformed)?;
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| unread(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == CSRF_FIELD {
            let value = field.text().await.map_err(|e| unread(&e))?;
            csrf_ok = csrf_ok || token.as_ref().is_some_and(|t| t.verify(&value));
            continue;
        }
        if !csrf_ok {
            return Err(Unread::Csrf);
        }
        let slot = match name.as_str() {
            "front" => &mut upload.front,
            "back" => &mut upload.back,
            "selfie" => &mut upload.selfie,
            _ => continue,
        };
        let bytes = field.bytes().await.map_err(|e| unread(&e))?;
        *slot = (!bytes.is_empty()).then(|| bytes.to_vec());
    }
    if csrf_ok {
        Ok(upload)
    } else {
        Err(Unread::Csrf)
    }
}

/// The message for an image that cannot be checked.
fn image_problem(page: &Page, e: &UploadError) -> String {
    page.t(match e {
        UploadError::TooLarge => "verify-image-too-large",
        UploadError::Empty => "verify-image-missing",
        UploadError::Pdf => "verify-image-pdf",
        UploadError::Truncated => "verify-image-truncated",
        _ => "verify-image-not-image",
    })
}

/// The "too large" page: 413, saying what fits.
fn too_large(page: Page) -> Result<Response, WebError> {
    message_with_status(
        page,
        StatusCode::PAYLOAD_TOO_LARGE,
        "verify-too-large-title",
        &["verify-too-large-body"],
        Some(("/verify/document", "verify-try-again")),
    )
}

async fn upload(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    req: Request,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Document) {
        return Ok(ctx.to_step(&page));
    }
    let upload = match read_upload(req).await {
        Ok(u) => u,
        Err(Unread::TooLarge) => return too_large(page),
        Err(Unread::Csrf) => return Err(WebError::Csrf),
        Err(Unread::Malformed) => return Err(WebError::BadRequest),
    };
    let selfie_needed = ctx.flow.selfie;
    let mut errors = FormErrors::default();
    let sides: [(&'static str, Option<&Vec<u8>>, &str); 3] = [
        ("front", upload.front.as_ref(), "verify-front-missing"),
        ("back", upload.back.as_ref(), "verify-back-missing"),
        ("selfie", upload.selfie.as_ref(), "verify-selfie-missing"),
    ];
    for (field, image, missing) in sides {
        match image {
            None if field != "selfie" || selfie_needed => errors.add(field, page.t(missing)),
            None => {}
            Some(bytes) => {
                if let Err(e) = check_image(bytes) {
                    errors.add(field, image_problem(&page, &e));
                }
            }
        }
    }
    if !errors.is_empty() {
        return show(&state, &ctx, page, errors, selfie_needed);
    }
    let (Some(front), Some(back)) = (&upload.front, &upload.back) else {
        return Err(WebError::BadRequest);
    };
    let user = ctx.user().to_owned();
    idv.limiter.hit(&IDV_DOCUMENT, &user).await?;
    let selfie = if selfie_needed {
        upload.selfie.as_deref()
    } else {
        None
    };
    let job = idv
        .jobs
        .submit_document(&user, &ctx.flow_key(), front, back, selfie)
        .await?;
    // The new check replaces whatever the flow held; the latest upload wins.
    let mut flow = ctx.flow.clone();
    let mut saved = false;
    for _ in 0..ATTEMPTS {
        flow.reset_document();
        flow.document_job = Some(job.clone());
        flow.failure = None;
        if idv.flows.save(&user, &mut flow).await? {
            saved = true;
            break;
        }
        flow = idv.flows.load(&user).await?;
    }
    if !saved {
        return Err(WebError::Unavailable(
            "the verification flow kept changing".into(),
        ));
    }
    // An earlier draft is not this check's.
    idv.session_pii.forget(&ctx.signed_in.session).await?;
    Ok(Redirect::to(&page.href(Step::DocumentWait.path())).into_response())
}

async fn wait(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::DocumentWait) {
        return Ok(ctx.to_step(&page));
    }
    let Some(job) = ctx.flow.document_job.clone() else {
        return Ok(ctx.to_step(&page));
    };
    let user = ctx.user().to_owned();
    let mut flow = ctx.flow.clone();
    let mut draft = None;
    match job_status(idv, &job, &user).await? {
        JobStatus::Queued | JobStatus::Running => {
            return render_wait(
                &ctx,
                &state,
                page,
                "verify-wait-document-title",
                "verify-wait-document-body",
            );
        }
        JobStatus::Passed => match idv
            .jobs
            .document_result(&job, &user, &ctx.flow_key())
            .await?
        {
            Some(mut pii) => {
                // What the document says; the SSN and phone come from the person.
                pii.ssn.clear();
                pii.phone.clear();
                pii.verified_ms = 0;
                flow.document_passed = true;
                flow.draft_tag = Some(ctx.tag(&pii));
                flow.failure = None;
                draft = Some(pii);
            }
            None => {
                flow.document_job = None;
                flow.fail(Step::Document, "document_unreadable");
            }
        },
        JobStatus::Failed(reason) => {
            flow.document_job = None;
            flow.fail(Step::Document, reason.code());
        }
        JobStatus::Unavailable => {
            flow.document_job = None;
            flow.fail(Step::Document, "unavailable");
        }
    }
    // Written over the flow as read: if another tab moved on meanwhile, its state stands
    // and this page looks again.
    if !ctx.commit(idv, &mut flow, draft.as_ref()).await? {
        return Ok(Redirect::to(&page.href(Step::DocumentWait.path())).into_response());
    }
    let next = if flow.document_passed {
        Step::Ssn
    } else {
        Step::Document
    };
    Ok(Redirect::to(&page.href(next.path())).into_response())
}
