//! `GET/POST /verify/ssn`: the Social Security number, nine digits (`123-45-6789`,
//! `123 45 6789` or `123456789`); anything else, letters included, is refused with a
//! message. Checks of one SSN are limited across accounts (IDV-5: 10 per hour, the
//! subject being the number's fingerprint). The number is never shown back.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::context::{Ctx, Notice, Verifier, no_store};
use super::flow::Step;
use crate::idv::pii::normalise_ssn;
use crate::ratelimit::IDV_SSN;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::FormErrors;
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "verify_ssn.html")]
struct SsnPage {
    page: Page,
    errors: FormErrors,
    notice: Option<Notice>,
    /// A number was entered before (going back to change it).
    entered: bool,
}

#[derive(Deserialize)]
struct SsnForm {
    #[serde(default)]
    ssn: String,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/verify/ssn", get(form).post(submit))
}

fn show(state: &WebState, ctx: &Ctx, page: Page, errors: FormErrors) -> Result<Response, WebError> {
    render(&SsnPage {
        errors,
        notice: Notice::of(&page, &ctx.flow, Step::Ssn),
        entered: ctx.draft.as_ref().is_some_and(|d| !d.ssn.is_empty()),
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
    if !ctx.allows(Step::Ssn) {
        return Ok(ctx.to_step(&page));
    }
    show(&state, &ctx, page, FormErrors::default())
}

async fn submit(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    CsrfForm(form): CsrfForm<SsnForm>,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Ssn) {
        return Ok(ctx.to_step(&page));
    }
    let Some(mut draft) = ctx.draft.clone() else {
        return Ok(ctx.to_step(&page));
    };
    let typed = Zeroizing::new(form.ssn);
    let Some(ssn) = normalise_ssn(&typed).map(Zeroizing::new) else {
        let mut errors = FormErrors::default();
        let id = if typed.trim().is_empty() {
            "verify-ssn-missing"
        } else {
            "verify-ssn-invalid"
        };
        errors.add("ssn", page.t(id));
        return show(&state, &ctx, page, errors);
    };
    // The subject is the key service's MAC of the SSN, not the SSN (duplicates.rs).
    let subject = idv.duplicates.ssn_limit_subject(&ssn).await?;
    idv.limiter.hit(&IDV_SSN, &subject).await?;
    draft.ssn = ssn.to_string();
    let mut flow = ctx.flow.clone();
    flow.reset_checks();
    flow.draft_tag = Some(ctx.tag(&draft));
    flow.failure = None;
    if !ctx.commit(idv, &mut flow, Some(&draft)).await? {
        return Ok(Redirect::to(&page.href(Step::Ssn.path())).into_response());
    }
    Ok(Redirect::to(&page.href(Step::Review.path())).into_response())
}
