//! `GET/POST /verify/reactivate`: after a password reset (ACC-5) the verified identity is
//! deactivated; the personal key and the current password restore it, sealed again under
//! both, with a new personal key shown next (IDV-8). Tries are limited (IDV-5: 5 per 15
//! minutes).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::context::{Ctx, Verifier, no_store};
use super::flow::{Flow, Step, seal_personal_key};
use super::password::guess_subject;
use crate::idv::error::IdvError;
use crate::idv::personal_key::PersonalKey;
use crate::idv::profile::ProfileState;
use crate::ratelimit::SIGN_IN_FAILURES;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::FormErrors;
use crate::web::mail::MailKind;
use crate::web::notices::notify_account;
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "verify_reactivate.html")]
struct ReactivatePage {
    page: Page,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct ReactivateForm {
    #[serde(default)]
    personal_key: String,
    #[serde(default)]
    password: String,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/verify/reactivate", get(form).post(submit))
}

fn deactivated(ctx: &Ctx) -> bool {
    matches!(ctx.profile, Some(ProfileState::Deactivated { .. })) && ctx.step != Step::PersonalKey
}

fn show(state: &WebState, ctx: &Ctx, page: Page, errors: FormErrors) -> Result<Response, WebError> {
    render(&ReactivatePage {
        errors,
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
    if !deactivated(&ctx) {
        return Ok(Redirect::to(&page.href("/verify")).into_response());
    }
    show(&state, &ctx, page, FormErrors::default())
}

async fn submit(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    CsrfForm(form): CsrfForm<ReactivateForm>,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !deactivated(&ctx) {
        return Ok(Redirect::to(&page.href("/verify")).into_response());
    }
    let typed = Zeroizing::new(form.personal_key);
    let password = Zeroizing::new(form.password);
    let mut errors = FormErrors::default();
    let key = PersonalKey::parse(&typed);
    if key.is_none() {
        let id = if typed.trim().is_empty() {
            "verify-reactivate-key-missing"
        } else {
            "verify-reactivate-key-invalid"
        };
        errors.add("personal_key", page.t(id));
    }
    if password.is_empty() {
        errors.add("password", page.t("verify-password-missing"));
    }
    let Some(key) = key.filter(|_| errors.is_empty()) else {
        return show(&state, &ctx, page, errors);
    };
    let user = ctx.user().to_owned();
    let subject = guess_subject(&user);
    idv.limiter.hit(&SIGN_IN_FAILURES, &subject).await?;
    let (pii, new_key) = match idv.profiles.reactivate(&user, &key, &password).await {
        Ok(restored) => restored,
        Err(IdvError::WrongPassword) => {
            errors.add("password", page.t("verify-password-wrong"));
            return show(&state, &ctx, page, errors);
        }
        Err(IdvError::WrongPersonalKey) => {
            idv.limiter.reset(&SIGN_IN_FAILURES, &subject).await?;
            errors.add("personal_key", page.t("verify-reactivate-key-wrong"));
            return show(&state, &ctx, page, errors);
        }
        Err(IdvError::NoProfile) => return Ok(Redirect::to(&page.href("/verify")).into_response()),
        Err(e) => return Err(e.into()),
    };
    // The new key first: the old one no longer opens anything.
    let sealed = seal_personal_key(idv.flows.random(), &ctx.signed_in.token, &user, &new_key);
    idv.flows
        .replace(&user, &Flow::finished(None, sealed))
        .await?;
    tracing::info!("identity reactivated with the personal key");
    idv.limiter.reset(&SIGN_IN_FAILURES, &subject).await?;
    idv.session_pii
        .keep(&ctx.signed_in.token, &ctx.signed_in.session, &pii)
        .await?;
    // ACC-8: every address hears that the personal key was used.
    if let Err(e) = notify_account(&state, &user, |_, not_me_url| MailKind::PersonalKeyUsed {
        not_me_url,
    })
    .await
    {
        tracing::error!(error = %e, "the personal-key notice was not queued");
    }
    Ok(Redirect::to(&page.href(Step::PersonalKey.path())).into_response())
}
