//! `GET/POST /verify`: what will be checked and kept, and the consent that starts the
//! flow. A verified identity is said so here; a deactivated one (ACC-5) is offered the
//! personal key, or verifying again.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::HeaderMap;
use serde::Deserialize;

use super::context::{Ctx, Verifier, facial_match_requested};
use super::flow::Step;
use crate::idv::profile::ProfileState;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::{FormErrors, MessagePage};
use crate::web::page::{Page, render};
use crate::web::when::format_utc;

#[derive(Template)]
#[template(path = "verify_intro.html")]
struct IntroPage {
    page: Page,
    errors: FormErrors,
    selfie: bool,
    deactivated: bool,
    /// The step to go on with, once consent was given.
    continue_href: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ConsentForm {
    #[serde(default)]
    consent: Option<String>,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/verify", get(intro).post(consent))
}

async fn show(
    state: &WebState,
    ctx: &Ctx,
    page: Page,
    headers: &HeaderMap,
    errors: FormErrors,
) -> Result<Response, WebError> {
    match ctx.step {
        Step::Verified => {
            let since = match ctx.profile {
                Some(ProfileState::Active { verified_ms }) => format_utc(verified_ms),
                _ => String::new(),
            };
            let body = page.t_args("verify-verified-body", &[("when", since.into())]);
            return MessagePage::render(
                ctx.page(state, page),
                "verify-verified-title",
                vec![body],
                Some(("/account", "verify-back-to-account")),
            );
        }
        Step::Letter | Step::PersonalKey => return Ok(ctx.to_step(&page)),
        _ => {}
    }
    let selfie = ctx.flow.selfie || facial_match_requested(state, headers).await?;
    render(&IntroPage {
        errors,
        selfie,
        deactivated: matches!(ctx.profile, Some(ProfileState::Deactivated { .. })),
        continue_href: (ctx.step > Step::Intro).then(|| page.href(ctx.step.path())),
        page: ctx.page(state, page),
    })
}

async fn intro(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let ctx = Ctx::load(&state, verifier).await?;
    show(&state, &ctx, page, &headers, FormErrors::default()).await
}

async fn consent(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<ConsentForm>,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Intro) {
        return Ok(ctx.to_step(&page));
    }
    if form.consent.as_deref() != Some("yes") {
        let mut errors = FormErrors::default();
        errors.add("consent", page.t("verify-consent-missing"));
        return show(&state, &ctx, page, &headers, errors).await;
    }
    let mut flow = ctx.flow.clone();
    flow.consent_ms = Some(state.services.clock.now_ms());
    flow.selfie = flow.selfie || facial_match_requested(&state, &headers).await?;
    if !ctx.commit(idv, &mut flow, None).await? {
        // Another tab moved on: go where it left things.
        return Ok(Redirect::to(&page.href("/verify")).into_response());
    }
    let next = flow.step(ctx.draft.as_ref());
    Ok(Redirect::to(&page.href(next.path())).into_response())
}
