//! `GET /verify/checks`: identity resolution and the state-ID check in progress. When they
//! pass, the SSN and the person (name + ZIP + birth year) are looked up by fingerprint
//! (IDV-6): one already verified on another account is said plainly; otherwise the person
//! goes on to the address. Nothing is claimed here: the claims are taken when the
//! verification completes (`password.rs`), so a flow abandoned after this step holds no
//! SSN. A failure goes back to the review with what to do.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::context::{Ctx, Verifier};
use super::flow::Step;
use super::wait::{job_status, render_wait};
use crate::idv::duplicates::DuplicateError;
use crate::idv::jobs::JobStatus;
use crate::web::WebState;
use crate::web::error::WebError;
use crate::web::page::Page;

pub fn routes() -> Router<WebState> {
    Router::new().route("/verify/checks", get(checks))
}

async fn checks(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Checks) {
        return Ok(ctx.to_step(&page));
    }
    let (Some(job), Some(draft)) = (ctx.flow.resolution_job.clone(), ctx.draft.as_ref()) else {
        return Ok(ctx.to_step(&page));
    };
    let user = ctx.user().to_owned();
    let mut flow = ctx.flow.clone();
    match job_status(idv, &job, &user).await? {
        JobStatus::Queued | JobStatus::Running => {
            return render_wait(
                &ctx,
                &state,
                page,
                "verify-wait-checks-title",
                "verify-wait-checks-body",
            );
        }
        JobStatus::Passed => match idv.duplicates.check(&user, draft).await {
            Ok(()) => {
                flow.resolution_passed = true;
                flow.failure = None;
            }
            Err(DuplicateError::Ssn) => {
                flow.resolution_job = None;
                flow.fail(Step::Review, "duplicate_ssn");
            }
            Err(DuplicateError::Person) => {
                flow.resolution_job = None;
                flow.fail(Step::Review, "duplicate_person");
            }
            Err(e) => return Err(e.into()),
        },
        JobStatus::Failed(reason) => {
            flow.resolution_job = None;
            flow.fail(Step::Review, reason.code());
        }
        JobStatus::Unavailable => {
            flow.resolution_job = None;
            flow.fail(Step::Review, "unavailable");
        }
    }
    if !ctx.commit(idv, &mut flow, None).await? {
        return Ok(Redirect::to(&page.href(Step::Checks.path())).into_response());
    }
    let next = if flow.resolution_passed {
        Step::Address
    } else {
        Step::Review
    };
    Ok(Redirect::to(&page.href(next.path())).into_response())
}
