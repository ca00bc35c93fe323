//! The "checks in progress" pages (IDV-2) and the small JSON endpoint their script polls.
//!
//! A waiting page polls `GET /verify/status` every two seconds (`verify_poll.js`, a
//! static file under the strict CSP) and reloads itself when the check has ended; the
//! page then settles the result and redirects. Without JavaScript a meta refresh reloads
//! it every three seconds.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::context::{Ctx, no_store};
use super::services::IdvServices;
use crate::idv::jobs::JobStatus;
use crate::web::WebState;
use crate::web::error::WebError;
use crate::web::page::{Page, render};
use crate::web::session::SignedIn;

/// How often the page reloads itself without JavaScript, in seconds.
pub const REFRESH_SECS: u32 = 3;

#[derive(Template)]
#[template(path = "verify_wait.html")]
struct WaitPage {
    page: Page,
    title: String,
    body: String,
    /// This page, where the script goes when the check has ended.
    here: String,
    status_url: String,
    refresh_secs: u32,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/verify/status", get(status))
}

/// The waiting page for the current step.
pub fn render_wait(
    ctx: &Ctx,
    state: &WebState,
    page: Page,
    title_id: &str,
    body_id: &str,
) -> Result<Response, WebError> {
    let here = page.href(ctx.step.path());
    let status_url = page.href("/verify/status");
    render(&WaitPage {
        title: page.t(title_id),
        body: page.t(body_id),
        here,
        status_url,
        refresh_secs: REFRESH_SECS,
        page: ctx.page(state, page),
    })
    .map(no_store)
}

/// A job's status as the person may see it: an unknown or expired job is unavailable.
pub async fn job_status(
    idv: &IdvServices,
    job: &str,
    user_id: &str,
) -> Result<JobStatus, WebError> {
    Ok(idv
        .jobs
        .status(job, user_id)
        .await?
        .map_or(JobStatus::Unavailable, |v| v.status))
}

/// `GET /verify/status`: `{"done": true}` once the check the person waits for has ended
/// (or when nothing is awaited). Reads only; the waiting page settles the result.
async fn status(State(state): State<WebState>, signed_in: SignedIn) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let user = &signed_in.session.user_id;
    let flow = idv.flows.load(user).await?;
    let done = match flow.awaited_job() {
        None => true,
        Some(job) => job_status(idv, job, user).await?.is_finished(),
    };
    Ok(no_store(
        Json(serde_json::json!({ "done": done })).into_response(),
    ))
}
