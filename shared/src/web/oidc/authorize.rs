//! `GET|POST /authorize` (OIDC-2): validates everything first; then answers at once when
//! the session already satisfies the request (always, for `prompt=none`), or keeps the
//! request and sends the person on.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};

use super::resume::{Decision, decide, finish_with_code, signed_in};
use super::{AUTHORIZE_COOKIE, RESUME_PATH};
use crate::oidc::request::{AuthorizeError, PageReason, Params, Prompt, validate};
use crate::web::cookies::{self, Lifetime, SameSite};
use crate::web::error::WebError;
use crate::web::forms::MessagePage;
use crate::web::i18n::Lang;
use crate::web::locale::Locale;
use crate::web::{Page, WebState};

pub fn routes() -> Router<WebState> {
    Router::new().route("/authorize", get(by_query).post(by_form))
}

async fn by_query(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let params = Params::from_query(query.as_deref()).ok_or(WebError::BadRequest)?;
    authorize(&state, page, &headers, params).await
}

/// OIDC Core 3.1.2.1: the same request as a form post (exempt from the CSRF guard: it
/// changes nothing but starts a sign-in, exactly like the GET).
async fn by_form(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|_| WebError::BadRequest)?;
    authorize(&state, page, &headers, Params::new(pairs)).await
}

fn refused_page(page: Page, reason: PageReason) -> Result<Response, WebError> {
    let body = page.t(match reason {
        PageReason::MissingClient => "authorize-error-no-client",
        PageReason::UnknownClient => "authorize-error-unknown-client",
        PageReason::BadRedirectUri => "authorize-error-redirect-uri",
    });
    let mut response = MessagePage::render(
        page,
        "authorize-error-title",
        vec![body],
        Some(("/", "authorize-error-home")),
    )?;
    *response.status_mut() = StatusCode::BAD_REQUEST;
    Ok(response)
}

async fn authorize(
    state: &WebState,
    page: Page,
    headers: &HeaderMap,
    params: Params,
) -> Result<Response, WebError> {
    let oidc = state.oidc().await?;
    let agency = match params.get("client_id") {
        Some(id) => oidc.provider.agencies.get(id).await?,
        None => None,
    };
    let request = match validate(&params, agency.as_ref()) {
        Ok(r) => r,
        Err(AuthorizeError::Page(reason)) => return refused_page(page, reason),
        Err(AuthorizeError::Redirect(r)) => return Ok(Redirect::to(&r.location()).into_response()),
    };
    let Some(agency) = agency else {
        return refused_page(page, PageReason::UnknownClient);
    };
    let session = signed_in(state, headers).await?;
    if request.prompt != Prompt::Login {
        // A session that already satisfies the request gets the code at once: keeping the
        // request and bouncing through the resume page would only cost the browser a round
        // trip and the store a put, a read and a delete (docs/capacity.md). `prompt=none`
        // shows no page at all: otherwise the agency hears why not.
        let current = session.as_ref().map(|(_, s)| s);
        match decide(state, &agency, &request, current, None, headers).await? {
            Decision::Ready { user_id, session } => {
                return finish_with_code(state, &agency, &request, &user_id, &session, headers)
                    .await;
            }
            Decision::NeedsConsent if request.prompt == Prompt::None => {
                return Ok(Redirect::to(&request_error(
                    &request,
                    "consent_required",
                    "the person must consent to share attributes",
                ))
                .into_response());
            }
            _ if request.prompt == Prompt::None => {
                return Ok(Redirect::to(&request_error(
                    &request,
                    "login_required",
                    "the person must sign in",
                ))
                .into_response());
            }
            _ => {}
        }
    }
    let pending = oidc.provider.pending.keep(&request).await?;
    let lang = request
        .locale
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or(page.locale.lang);
    let mut response = Redirect::to(&Locale::new(lang).href(RESUME_PATH)).into_response();
    let cookie = cookies::host_cookie(
        AUTHORIZE_COOKIE,
        &pending.id,
        Lifetime::MaxAge(crate::oidc::REQUEST_SECS as u64),
        SameSite::Lax,
    )
    .ok_or_else(|| WebError::Internal("authorize cookie".into()))?;
    response.headers_mut().append(header::SET_COOKIE, cookie);
    // prompt=login: password and factor again, because the resume page accepts only a
    // sign-in newer than the request. The current session is not ended here: any site
    // can send a browser to /authorize with a real agency's client_id, and a link must
    // not sign anyone out. The new sign-in replaces it (POST /sign-in ends the old one).
    Ok(response)
}

pub(super) fn request_error(
    request: &crate::oidc::AuthorizationRequest,
    error: &'static str,
    description: &'static str,
) -> String {
    crate::oidc::request::ErrorRedirect {
        redirect_uri: request.redirect_uri.clone(),
        error,
        description,
        state: Some(request.state.clone()),
    }
    .location()
}
