//! `GET/POST /verify/address`: confirming the address by a phone in the person's name at
//! that address (checked by the phone-to-address vendor; IDV-5: 5 per 6 hours), or by a
//! letter with a code, mailed once the password step has sealed the identity.
//! `GET /verify/address/wait` while the phone is checked; a phone that cannot be
//! confirmed comes back here, where the letter is offered.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::context::{Ctx, Notice, Verifier, no_store};
use super::flow::{AddressMethod, Step};
use super::wait::{job_status, render_wait};
use crate::idv::jobs::JobStatus;
use crate::mfa::PhoneNumber;
use crate::ratelimit::IDV_ADDRESS;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::FormErrors;
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "verify_address.html")]
struct AddressPage {
    page: Page,
    errors: FormErrors,
    notice: Option<Notice>,
    /// The phone check failed: the letter is the way on.
    offer_letter: bool,
    /// The address a letter would go to, one line per entry.
    mailing: Vec<String>,
    phone: String,
}

#[derive(Deserialize)]
struct AddressForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    phone: String,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/verify/address", get(form).post(submit))
        .route("/verify/address/wait", get(wait))
}

fn show(
    state: &WebState,
    ctx: &Ctx,
    page: Page,
    errors: FormErrors,
    phone: String,
) -> Result<Response, WebError> {
    let mailing = ctx
        .draft
        .as_ref()
        .map(|d| {
            let a = &d.address;
            let mut lines = vec![
                format!("{} {}", d.given_name, d.family_name),
                a.line1.clone(),
            ];
            if !a.line2.is_empty() {
                lines.push(a.line2.clone());
            }
            lines.push(format!("{}, {} {}", a.city, a.state, a.zip));
            lines
        })
        .unwrap_or_default();
    render(&AddressPage {
        errors,
        notice: Notice::of(&page, &ctx.flow, Step::Address),
        offer_letter: ctx.flow.failure_at(Step::Address) == Some("phone_unverifiable"),
        mailing,
        phone,
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
    if !ctx.allows(Step::Address) {
        return Ok(ctx.to_step(&page));
    }
    show(&state, &ctx, page, FormErrors::default(), String::new())
}

async fn submit(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    CsrfForm(form): CsrfForm<AddressForm>,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Address) {
        return Ok(ctx.to_step(&page));
    }
    let Some(mut draft) = ctx.draft.clone() else {
        return Ok(ctx.to_step(&page));
    };
    let typed = Zeroizing::new(form.phone);
    let mut flow = ctx.flow.clone();
    flow.reset_address();
    flow.failure = None;
    let next = match AddressMethod::parse(&form.method) {
        Some(AddressMethod::Letter) => {
            draft.phone.clear();
            flow.address = Some(AddressMethod::Letter);
            Step::Password
        }
        Some(AddressMethod::Phone) => {
            let Ok(phone) = PhoneNumber::parse(&typed, "US") else {
                let mut errors = FormErrors::default();
                let id = if typed.trim().is_empty() {
                    "verify-phone-missing"
                } else {
                    "verify-phone-invalid"
                };
                errors.add("phone", page.t(id));
                return show(&state, &ctx, page, errors, typed.to_string());
            };
            let user = ctx.user().to_owned();
            idv.limiter.hit(&IDV_ADDRESS, &user).await?;
            draft.phone = phone.as_str().to_owned();
            let job = idv
                .jobs
                .enqueue_address(&user, phone.as_str(), &draft, &ctx.flow_key())
                .await?;
            flow.address = Some(AddressMethod::Phone);
            flow.address_job = Some(job);
            Step::AddressWait
        }
        None => {
            let mut errors = FormErrors::default();
            errors.add("method-phone", page.t("verify-address-method-missing"));
            return show(&state, &ctx, page, errors, typed.to_string());
        }
    };
    flow.draft_tag = Some(ctx.tag(&draft));
    if !ctx.commit(idv, &mut flow, Some(&draft)).await? {
        return Ok(Redirect::to(&page.href(Step::Address.path())).into_response());
    }
    Ok(Redirect::to(&page.href(next.path())).into_response())
}

async fn wait(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::AddressWait) {
        return Ok(ctx.to_step(&page));
    }
    let Some(job) = ctx.flow.address_job.clone() else {
        return Ok(ctx.to_step(&page));
    };
    let mut flow = ctx.flow.clone();
    match job_status(idv, &job, ctx.user()).await? {
        JobStatus::Queued | JobStatus::Running => {
            return render_wait(
                &ctx,
                &state,
                page,
                "verify-wait-phone-title",
                "verify-wait-phone-body",
            );
        }
        JobStatus::Passed => {
            flow.address_passed = true;
            flow.failure = None;
        }
        JobStatus::Failed(reason) => {
            flow.address_job = None;
            flow.fail(Step::Address, reason.code());
        }
        JobStatus::Unavailable => {
            flow.address_job = None;
            flow.fail(Step::Address, "unavailable");
        }
    }
    if !ctx.commit(idv, &mut flow, None).await? {
        return Ok(Redirect::to(&page.href(Step::AddressWait.path())).into_response());
    }
    let next = if flow.address_passed {
        Step::Password
    } else {
        Step::Address
    };
    Ok(Redirect::to(&page.href(next.path())).into_response())
}
