//! `GET|POST /end-session` (RP-Initiated Logout 1.0): the agency sends the person here to
//! sign out; a confirmation page asks first (a link alone must not sign anyone out), then
//! the session ends and the person goes back to a registered post-logout URI with the
//! agency's `state`. An unregistered URI is never followed.
//!
//! The agency may name the person's language with `ui_locales` (RP-Initiated Logout 1.0
//! §2), read as `/authorize` reads it: the first of `en`, `fr`, `es` by primary subtag.
//! The confirmation then comes up in that language, at its address (`/fr/end-session`),
//! whatever the browser's own preference.

use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, RawQuery, State};
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
use crate::web::i18n::Lang;
use crate::web::locale::{Locale, split_prefix};
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

/// The language `ui_locales` asks for, as `/authorize` reads it.
fn ui_locale(params: &Params) -> Option<Lang> {
    crate::oidc::request::ui_locale(params).and_then(Lang::from_code)
}

/// Labels a page with the language `ui_locales` asked for, which it is rendered in: the
/// middleware's label is the address's language, which differs for an English
/// `ui_locales` on the unprefixed address when the browser prefers French.
fn in_language(mut response: Response, lang: Option<Lang>) -> Response {
    if let Some(lang) = lang {
        response.headers_mut().insert(
            header::CONTENT_LANGUAGE,
            http::HeaderValue::from_static(lang.code()),
        );
    }
    response
}

async fn confirm(
    State(state): State<WebState>,
    mut page: Page,
    OriginalUri(original): OriginalUri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let params = Params::from_query(query.as_deref()).ok_or(WebError::BadRequest)?;
    let asked = ui_locale(&params);
    if let Some(lang) = asked {
        // The agency's language wins over the browser's: the same request at that
        // language's address (which then answers here, already there).
        let at = split_prefix(original.path()).map_or(Lang::En, |(l, _)| l);
        if at != lang {
            let mut to = Locale::new(lang).href("/end-session");
            if let Some(q) = &query {
                to.push('?');
                to.push_str(q);
            }
            return Ok(Redirect::to(&to).into_response());
        }
        page.locale = Locale::new(lang);
    }
    let Some(target) = target(
        &state,
        params.get("client_id"),
        params.get("id_token_hint"),
        params.get("post_logout_redirect_uri"),
    )
    .await?
    else {
        return refused(page).map(|r| in_language(r, asked));
    };
    let agency_state = params.get("state").unwrap_or("").to_owned();
    if agency_state.len() > 1024 {
        return refused(page).map(|r| in_language(r, asked));
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
    .map(|r| in_language(r, asked))
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
