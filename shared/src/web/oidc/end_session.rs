//! `GET|POST /end-session` (RP-Initiated Logout 1.0): the agency sends the person here to
//! sign out; a confirmation page asks first (a link alone must not sign anyone out), then
//! the session ends and the person goes back to a registered post-logout URI with the
//! agency's `state`. An unregistered URI is never followed.

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;

use super::resume::signed_in;
use crate::oidc::agency::Agency;
use crate::oidc::jose::verify;
use crate::oidc::request::{Params, with_query};
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::MessagePage;
use crate::web::page::render;
use crate::web::session::clear_session_cookie;
use crate::web::{Page, WebState};

pub fn routes() -> Router<WebState> {
    Router::new().route("/end-session", get(confirm).post(sign_out))
}

#[derive(Template)]
#[template(path = "end_session.html")]
struct ConfirmPage {
    page: Page,
    agency: Option<String>,
    client_id: String,
    post_logout_redirect_uri: String,
    state: String,
}

#[derive(Debug, Deserialize)]
struct SignOut {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    post_logout_redirect_uri: String,
    #[serde(default)]
    state: String,
}

/// Where the person goes once signed out, if anywhere.
struct Target {
    agency: Option<Agency>,
    uri: Option<String>,
}

fn refused(page: Page) -> Result<Response, WebError> {
    let body = page.t("end-session-invalid");
    let mut response = MessagePage::render(
        page,
        "end-session-invalid-title",
        vec![body],
        Some(("/", "authorize-error-home")),
    )?;
    *response.status_mut() = StatusCode::BAD_REQUEST;
    Ok(response)
}

/// The agency (from `client_id` or the hint's audience) and its registered URI.
async fn target(
    state: &WebState,
    client_id: Option<&str>,
    hint: Option<&str>,
    uri: Option<&str>,
) -> Result<Option<Target>, WebError> {
    let provider = &state.oidc().await?.provider;
    let hinted = match hint {
        Some(h) => {
            let keys = provider.keys.public_keys().await?;
            let Some(jws) = verify(h, &keys) else {
                return Ok(None);
            };
            if jws.str_claim("iss") != Some(provider.issuer.as_str()) {
                return Ok(None);
            }
            jws.str_claim("aud").map(str::to_owned)
        }
        None => None,
    };
    let client = match (client_id, hinted.as_deref()) {
        (Some(a), Some(b)) if a != b => return Ok(None),
        (Some(a), _) => Some(a.to_owned()),
        (None, b) => b.map(str::to_owned),
    };
    let agency = match &client {
        Some(c) => match provider.agencies.get(c).await? {
            Some(a) => Some(a),
            None => return Ok(None),
        },
        None => None,
    };
    let uri = match (uri, &agency) {
        (None, _) => None,
        (Some(u), Some(a)) if a.logs_out_to(u) => Some(u.to_owned()),
        (Some(_), _) => return Ok(None),
    };
    Ok(Some(Target { agency, uri }))
}

fn leave(target: &Target, agency_state: &str, page: &Page) -> Result<Response, WebError> {
    let mut response = match &target.uri {
        Some(uri) => {
            let to = if agency_state.is_empty() {
                uri.clone()
            } else {
                with_query(uri, &[("state", agency_state)])
            };
            Redirect::to(&to).into_response()
        }
        None => Redirect::to(&page.href("/sign-in?signed_out=1")).into_response(),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}

async fn confirm(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let params = Params::from_query(query.as_deref()).ok_or(WebError::BadRequest)?;
    let Some(target) = target(
        &state,
        params.get("client_id"),
        params.get("id_token_hint"),
        params.get("post_logout_redirect_uri"),
    )
    .await?
    else {
        return refused(page);
    };
    let agency_state = params.get("state").unwrap_or("").to_owned();
    if agency_state.len() > 1024 {
        return refused(page);
    }
    if signed_in(&state, &headers).await?.is_none() {
        return leave(&target, &agency_state, &page);
    }
    render(&ConfirmPage {
        agency: target.agency.as_ref().map(|a| a.name.clone()),
        client_id: target.agency.map(|a| a.client_id).unwrap_or_default(),
        post_logout_redirect_uri: target.uri.unwrap_or_default(),
        state: agency_state,
        page,
    })
}

async fn sign_out(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SignOut>,
) -> Result<Response, WebError> {
    let non_empty = |s: &str| (!s.is_empty()).then_some(s.to_owned());
    let Some(target) = target(
        &state,
        non_empty(&form.client_id).as_deref(),
        None,
        non_empty(&form.post_logout_redirect_uri).as_deref(),
    )
    .await?
    else {
        return refused(page);
    };
    if let Some((token, _)) = signed_in(&state, &headers).await? {
        state.account_services().await?.sessions.end(&token).await?;
    }
    leave(&target, &form.state, &page)
}
