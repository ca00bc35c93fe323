//! `GET/POST /verify/password`: the password again, which seals the checked identity
//! (IDV-7) with a new personal key (IDV-8) and, the verification now complete, claims its
//! SSN and person for the account (IDV-6, IDV-10: never earlier, so an abandoned flow holds
//! no claim). Another account that completed first with the same SSN or person wins: the
//! identity just sealed is removed and the review says why. By phone the identity is
//! active at once; by letter it waits for the letter's code (IDV-4), and the letter is
//! queued here. The
//! verified PII stays in the session (IDV-9); the key is shown next, until acknowledged.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::context::{Ctx, Verifier, no_store};
use super::flow::{AddressMethod, Flow, Step, seal_personal_key};
use super::services::IdvServices;
use crate::idv::duplicates::DuplicateError;
use crate::idv::error::IdvError;
use crate::idv::jobs::job_key::FlowKey;
use crate::idv::letter::LetterError;
use crate::idv::pii::Pii;
use crate::ratelimit::{SIGN_IN_FAILURES, compound_subject};
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::FormErrors;
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "verify_password.html")]
struct PasswordPage {
    page: Page,
    errors: FormErrors,
    letter: bool,
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    pub password: String,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/verify/password", get(form).post(submit))
}

fn show(state: &WebState, ctx: &Ctx, page: Page, errors: FormErrors) -> Result<Response, WebError> {
    render(&PasswordPage {
        errors,
        letter: ctx.flow.address == Some(AddressMethod::Letter),
        page: ctx.page(state, page),
    })
    .map(no_store)
}

async fn form(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
) -> Result<Response, WebError> {
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Password) {
        return Ok(ctx.to_step(&page));
    }
    show(&state, &ctx, page, FormErrors::default())
}

/// The subject password guesses on the verification pages are counted under (like
/// sign-in failures, so a stolen session cannot guess the password freely).
pub(super) fn guess_subject(user_id: &str) -> String {
    compound_subject(&["idv-password", user_id])
}

/// Draws a letter code and queues the letter to `pii`'s address. A letter limit (IDV-4)
/// is logged, not fatal: the letter page offers another letter when it allows.
pub(super) async fn send_letter(
    idv: &IdvServices,
    user_id: &str,
    pii: &Pii,
    flow: &FlowKey,
) -> Result<bool, WebError> {
    match idv.letters.request_letter(user_id).await {
        Ok(code) => {
            idv.jobs
                .enqueue_letter(user_id, code.as_str(), pii, flow)
                .await?;
            Ok(true)
        }
        Err(LetterError::TooMany { retry_after_secs }) => {
            tracing::warn!(retry_after_secs, "no letter sent: the letter limit holds");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

async fn submit(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Password) {
        return Ok(ctx.to_step(&page));
    }
    let Some(draft) = ctx.draft.as_ref() else {
        return Ok(ctx.to_step(&page));
    };
    let password = Zeroizing::new(form.password);
    if password.is_empty() {
        let mut errors = FormErrors::default();
        errors.add("password", page.t("verify-password-missing"));
        return show(&state, &ctx, page, errors);
    }
    let user = ctx.user().to_owned();
    let subject = guess_subject(&user);
    idv.limiter.hit(&SIGN_IN_FAILURES, &subject).await?;
    let letter = ctx.flow.address == Some(AddressMethod::Letter);
    let mut pii = draft.clone();
    if !letter {
        pii.verified_ms = state.services.clock.now_ms();
    }
    let sealed = if letter {
        idv.profiles
            .activate_pending_letter(&user, &pii, &password)
            .await
    } else {
        idv.profiles.activate(&user, &pii, &password).await
    };
    let key = match sealed {
        Ok(key) => key,
        Err(IdvError::WrongPassword) => {
            let mut errors = FormErrors::default();
            errors.add("password", page.t("verify-password-wrong"));
            return show(&state, &ctx, page, errors);
        }
        // Another tab finished first: its key is the one to show.
        Err(IdvError::AlreadyVerified) => {
            return Ok(Redirect::to(&page.href("/verify")).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    // Complete: the claims now, so that only a completed verification holds an SSN.
    let code = match idv.duplicates.claim(&user, &pii).await {
        Ok(()) => None,
        Err(DuplicateError::Ssn) => Some("duplicate_ssn"),
        Err(DuplicateError::Person) => Some("duplicate_person"),
        Err(e) => {
            // Nothing claimed: the identity does not stay without its claims.
            idv.profiles.remove(&user).await?;
            return Err(e.into());
        }
    };
    if let Some(code) = code {
        // Another account completed first with this SSN or person (it passed the checks
        // meanwhile): this identity does not stand.
        idv.profiles.remove(&user).await?;
        let mut flow = ctx.flow.clone();
        flow.reset_checks();
        flow.fail(Step::Review, code);
        ctx.commit(idv, &mut flow, None).await?;
        return Ok(Redirect::to(&page.href(Step::Review.path())).into_response());
    }
    // The key first: whatever fails after this, the person still gets to see it.
    let sealed_key = seal_personal_key(idv.flows.random(), &ctx.signed_in.token, &user, &key);
    idv.flows
        .replace(&user, &Flow::finished(ctx.flow.address, sealed_key))
        .await?;
    if ctx.flow.selfie {
        idv.profiles.record_facial_match(&user).await?;
    }
    tracing::info!(letter, "identity sealed");
    idv.limiter.reset(&SIGN_IN_FAILURES, &subject).await?;
    // The verified identity, for this session's agencies (IDV-9).
    idv.session_pii
        .keep(&ctx.signed_in.token, &ctx.signed_in.session, &pii)
        .await?;
    if letter && let Err(e) = send_letter(idv, &user, &pii, &ctx.flow_key()).await {
        // The letter page offers another letter; the identity waits either way.
        tracing::error!(error = %e, "the letter was not queued");
    }
    Ok(Redirect::to(&page.href(Step::PersonalKey.path())).into_response())
}
