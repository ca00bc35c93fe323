//! `GET/POST /verify/letter`: the code of the letter mailed to the person's address
//! (IDV-4: 10 characters, valid 30 days, 5 tries per 10 minutes), which makes the
//! waiting identity active. `POST /verify/letter/resend`: another letter (at most 4 in
//! 30 days, 24 hours apart), with the password, which opens the identity to address it.
//! Once every letter has expired, the page says so and the new letter is the way on.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::HeaderMap;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::context::{Ctx, Verifier, finished, no_store};
use super::flow::Step;
use super::password::{PasswordForm, guess_subject};
use crate::idv::error::IdvError;
use crate::idv::letter::{LetterError, LetterStanding};
use crate::idv::profile::ProfileState;
use crate::ratelimit::SIGN_IN_FAILURES;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::FormErrors;
use crate::web::page::{Page, render};
use crate::web::when::format_utc;

#[derive(Template)]
#[template(path = "verify_letter.html")]
struct LetterPage {
    page: Page,
    errors: FormErrors,
    /// (sent, valid until) of each letter whose code can still be used.
    letters: Vec<(String, String)>,
    /// No code can be used because every letter sent has expired (after 30 days), rather
    /// than because none was sent: either way the way on is a new letter.
    expired: bool,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Debug, Default, Deserialize)]
struct Sent {
    #[serde(default)]
    sent: Option<String>,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/verify/letter", get(form).post(confirm))
        .route("/verify/letter/resend", post(resend))
}

async fn show(
    state: &WebState,
    ctx: &Ctx,
    page: Page,
    errors: FormErrors,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let letters = &state.idv().await?.letters;
    // Step::Letter is the step of an identity waiting for a letter, and only of one.
    let Some(ProfileState::PendingLetter { since_ms }) = ctx.profile else {
        return Ok(ctx.to_step(&page));
    };
    let (letters, expired) = match letters.standing(ctx.user(), since_ms).await? {
        LetterStanding::Live(live) => (
            live.into_iter()
                .map(|l| (format_utc(l.requested_ms), format_utc(l.expires_ms)))
                .collect(),
            false,
        ),
        LetterStanding::Expired => (Vec::new(), true),
        LetterStanding::NotSent => (Vec::new(), false),
    };
    render(&LetterPage {
        errors,
        letters,
        expired,
        notice,
        page: ctx.page(state, page),
    })
    .map(no_store)
}

async fn form(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    Query(q): Query<Sent>,
) -> Result<Response, WebError> {
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Letter) {
        return Ok(ctx.to_step(&page));
    }
    let notice = q.sent.map(|_| page.t("verify-letter-resent"));
    show(&state, &ctx, page, FormErrors::default(), notice).await
}

async fn confirm(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Letter) {
        return Ok(ctx.to_step(&page));
    }
    let code = Zeroizing::new(form.code);
    let mut errors = FormErrors::default();
    if code.trim().is_empty() {
        errors.add("code", page.t("verify-letter-code-missing"));
        return show(&state, &ctx, page, errors, None).await;
    }
    match idv.letters.confirm(ctx.user(), &code).await {
        Ok(()) => Ok(finished(&page, &headers, "verified")),
        Err(LetterError::WrongCode) => {
            errors.add("code", page.t("verify-letter-code-wrong"));
            show(&state, &ctx, page, errors, None).await
        }
        Err(LetterError::NothingPending | LetterError::AlreadyVerified) => {
            Ok(Redirect::to(&page.href("/verify")).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn resend(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Letter) {
        return Ok(ctx.to_step(&page));
    }
    let password = Zeroizing::new(form.password);
    let user = ctx.user().to_owned();
    let mut errors = FormErrors::default();
    if password.is_empty() {
        errors.add("password", page.t("verify-password-missing"));
        return show(&state, &ctx, page, errors, None).await;
    }
    let subject = guess_subject(&user);
    idv.limiter.hit(&SIGN_IN_FAILURES, &subject).await?;
    let pii = match idv.profiles.open_with_password(&user, &password).await {
        Ok(Some(pii)) => pii,
        Ok(None) => return Ok(Redirect::to(&page.href("/verify")).into_response()),
        Err(IdvError::WrongPassword) => {
            errors.add("password", page.t("verify-password-wrong"));
            return show(&state, &ctx, page, errors, None).await;
        }
        Err(e) => return Err(e.into()),
    };
    idv.limiter.reset(&SIGN_IN_FAILURES, &subject).await?;
    // A limit (IDV-4) is the 429 page, saying when another letter can go.
    let code = idv.letters.request_letter(&user).await?;
    idv.jobs
        .enqueue_letter(&user, code.as_str(), &pii, &ctx.flow_key())
        .await?;
    Ok(Redirect::to(&page.href("/verify/letter?sent=1")).into_response())
}
