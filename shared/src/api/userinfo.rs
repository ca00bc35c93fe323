//! `GET|POST /userinfo` (OIDC-5): the claims of the consented scopes for a bearer token,
//! sent in the `Authorization` header or, by POST, as the `access_token` form field
//! (RFC 6750 2.1, 2.2).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};

use super::reply::no_store;
use super::token::form;
use super::{ApiError, ApiState};
use crate::oidc::claims::{Person, userinfo};
use crate::oidc::discovery::USERINFO_PATH;

pub fn routes() -> Router<ApiState> {
    Router::new().route(USERINFO_PATH, get(by_header).post(by_form))
}

fn missing() -> ApiError {
    // RFC 6750 3.1: a request without a token gets the challenge and no error code.
    ApiError::Protocol {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_request",
        description: "send the access token as a Bearer token",
        challenge: Some("Bearer"),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

async fn by_header(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer(&headers).ok_or_else(missing)?;
    answer(&state, token).await
}

async fn by_form(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if let Some(token) = bearer(&headers) {
        return answer(&state, token).await;
    }
    let form = form(&headers, &body)?;
    let token = form.get("access_token").ok_or_else(missing)?;
    answer(&state, token).await
}

async fn answer(state: &ApiState, token: &str) -> Result<Response, ApiError> {
    let oidc = state.oidc().await?;
    let grant = oidc.provider.bearer(token).await?.ok_or_else(|| {
        ApiError::invalid_token("the access token is unknown, expired or revoked")
    })?;
    let accounts = &oidc.accounts;
    let Some(account) = accounts.account(&grant.user_id).await? else {
        return Err(ApiError::invalid_token("the account no longer exists"));
    };
    // Oldest first: the first is the primary address (`Accounts::primary_address`).
    let all_emails: Vec<String> = accounts
        .list_addresses(&grant.user_id)
        .await?
        .iter()
        .map(|a| a.address.as_str().to_owned())
        .collect();
    let person = Person {
        email: all_emails.first().cloned().unwrap_or_default(),
        all_emails,
        locale: account.locale,
        verified_at: grant.verified_at,
    };
    let sub = oidc.provider.subject(&grant.agency_id, &grant.user_id);
    let mut claims = userinfo(
        &crate::oidc::claims::parse_scopes(&grant.scopes.join(" ")),
        &state.issuer,
        &sub,
        grant.acr.ial.acr(),
        grant.aal.acr(),
        &person,
    );
    // Opened by `bearer` with the presented token itself: no key-service call here.
    if let Some(verified) = grant.claims {
        claims.extend(verified.into_map());
    }
    Ok(no_store(serde_json::Value::Object(claims)))
}
