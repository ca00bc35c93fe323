//! `GET|POST /authorize/consent` (OIDC-8): the agency by name and each attribute it will
//! receive; allowing records the consent and answers the agency with a code, declining
//! answers `access_denied`. `GET|POST /authorize/cancel`: leave without signing in.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, header};
use serde::Deserialize;

use super::authorize::request_error as error_location;
use super::resume::{
    Decision, clear_authorize_cookie, current_session, decide, ended, finish_with_code, waiting,
};
use crate::oidc::agency::Agency;
use crate::oidc::claims::Scope;
use crate::oidc::pending::Pending;
use crate::session::Session;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::page::render;
use crate::web::{Page, WebState};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/authorize/consent", get(ask).post(answer))
        .route("/authorize/cancel", get(confirm_cancel).post(cancel))
}

#[derive(Template)]
#[template(path = "authorize_consent.html")]
struct ConsentPage {
    page: Page,
    agency: String,
    /// Each attribute, in the page's language.
    attributes: Vec<String>,
}

#[derive(Template)]
#[template(path = "link_action.html")]
struct CancelPage {
    page: Page,
    title: String,
    lead: String,
    action: String,
    token: String,
    submit: String,
}

#[derive(Debug, Deserialize)]
struct Answer {
    /// `allow` or `deny`.
    #[serde(default)]
    decision: String,
}

/// The attributes `scopes` release, as people read them (one line per claim group): the
/// consent page and the connected-agencies page say the same.
pub(crate) fn attributes(page: &Page, scopes: &[Scope]) -> Vec<String> {
    scopes
        .iter()
        .map(|s| {
            page.t(&format!(
                "consent-scope-{}",
                s.as_str().replace([':', '_'], "-")
            ))
        })
        .collect()
}

/// The waiting request and the person, when consent is the step due; otherwise the page
/// to answer with instead (the request ended, or back to the resume step, which knows
/// what comes first).
async fn consent_due(
    state: &WebState,
    page: &Page,
    headers: &HeaderMap,
) -> Result<Result<(Pending, Agency, Session), Response>, WebError> {
    let Some((pending, agency)) = waiting(state, headers).await? else {
        return Ok(Err(ended(page.clone())?));
    };
    let session = current_session(state, headers).await?;
    let due = matches!(
        decide(
            state,
            &agency,
            &pending.request,
            session.as_ref(),
            None,
            headers
        )
        .await?,
        Decision::NeedsConsent | Decision::Ready { .. }
    );
    match session {
        Some(session) if due => Ok(Ok((pending, agency, session))),
        _ => Ok(Err(
            Redirect::to(&page.href(super::RESUME_PATH)).into_response()
        )),
    }
}

async fn ask(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (pending, agency, _) = match consent_due(&state, &page, &headers).await? {
        Ok(due) => due,
        Err(instead) => return Ok(instead),
    };
    let attributes = attributes(&page, &pending.request.scopes());
    render(&ConsentPage {
        page,
        agency: agency.name,
        attributes,
    })
}

async fn answer(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<Answer>,
) -> Result<Response, WebError> {
    if form.decision != "allow" {
        let Some((pending, _)) = waiting(&state, &headers).await? else {
            return ended(page);
        };
        return deny(&state, page, &pending).await;
    }
    let (pending, agency, session) = match consent_due(&state, &page, &headers).await? {
        Ok(due) => due,
        Err(instead) => return Ok(instead),
    };
    let provider = &state.oidc().await?.provider;
    // An IAL2 consent names the verification it covers: a re-verification asks again.
    let verified_ms = if pending.request.acr.ial > crate::oidc::request::Ial::AuthOnly {
        use crate::idv::profile::ProfileState;
        match state
            .idv
            .get(&state)
            .await?
            .profiles
            .status(&session.user_id)
            .await?
        {
            Some(ProfileState::Active { verified_ms }) => Some(verified_ms),
            _ => None,
        }
    } else {
        None
    };
    provider
        .consents
        .grant(
            &session.user_id,
            &agency.client_id,
            &agency.name,
            &pending.request.scopes,
            verified_ms,
        )
        .await?;
    if !provider.pending.finish(&pending.id).await? {
        return ended(page);
    }
    finish_with_code(
        &state,
        &agency,
        &pending.request,
        &session.user_id,
        &session,
        &headers,
    )
    .await
}

/// Back to the agency with `access_denied`, the request ended.
async fn deny(state: &WebState, page: Page, pending: &Pending) -> Result<Response, WebError> {
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
    let to = error_location(&pending.request, "access_denied", "the person declined");
    let mut response = Redirect::to(&to).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_authorize_cookie());
    Ok(response)
}

async fn confirm_cancel(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((_, agency)) = waiting(&state, &headers).await? else {
        return ended(page);
    };
    let lead = page.t_args("authorize-cancel-lead", &[("agency", agency.name.into())]);
    render(&CancelPage {
        title: page.t("authorize-cancel-title"),
        lead,
        action: page.href("/authorize/cancel"),
        token: String::new(),
        submit: page.t("authorize-cancel-submit"),
        page,
    })
}

async fn cancel(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Answer>,
) -> Result<Response, WebError> {
    let Some((pending, _)) = waiting(&state, &headers).await? else {
        return ended(page);
    };
    deny(&state, page, &pending).await
}
