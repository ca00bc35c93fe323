//! `GET|POST /authorize/not-verified`: the person stops verifying their identity. With an
//! agency's request waiting, the agency hears it: the person goes to the agency's
//! registered failure-to-proof URL (OIDC-9), or, without one, back to its redirect URI
//! with `access_denied`. Without a waiting request, the account page.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, header};
use serde::Deserialize;

use super::authorize::request_error;
use super::resume::{clear_authorize_cookie, ended, waiting};
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::page::render;
use crate::web::{Page, WebState};

pub const NOT_VERIFIED_PATH: &str = "/authorize/not-verified";

pub fn routes() -> Router<WebState> {
    Router::new().route(NOT_VERIFIED_PATH, get(confirm).post(leave))
}

#[derive(Template)]
#[template(path = "link_action.html")]
struct LeavePage {
    page: Page,
    title: String,
    lead: String,
    action: String,
    token: String,
    submit: String,
}

#[derive(Debug, Deserialize)]
struct Empty {}

async fn confirm(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((_, agency)) = waiting(&state, &headers).await? else {
        return Ok(Redirect::to(&page.href("/account")).into_response());
    };
    let lead = page.t_args("not-verified-lead", &[("agency", agency.name.into())]);
    render(&LeavePage {
        title: page.t("not-verified-title"),
        lead,
        action: page.href(NOT_VERIFIED_PATH),
        token: String::new(),
        submit: page.t("not-verified-submit"),
        page,
    })
}

async fn leave(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let Some((pending, agency)) = waiting(&state, &headers).await? else {
        return Ok(Redirect::to(&page.href("/account")).into_response());
    };
    if !state
        .oidc()
        .await?
        .provider
        .pending
        .finish(&pending.id)
        .await?
    {
        return ended(page);
    }
    let to = match &agency.failure_to_proof_url {
        Some(url) => url.clone(),
        None => request_error(
            &pending.request,
            "access_denied",
            "the person's identity could not be verified",
        ),
    };
    let mut response = Redirect::to(&to).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_authorize_cookie());
    Ok(response)
}
