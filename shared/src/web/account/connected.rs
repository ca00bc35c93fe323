//! `GET /account/connected`: the agencies the person shares attributes with (OIDC-8), and
//! `POST /account/connected/revoke` to withdraw a consent: that agency's next request
//! asks again.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::oidc::claims::parse_scopes;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::oidc::consent::attributes;
use crate::web::page::{Page, render};
use crate::web::session::SignedIn;
use crate::web::when::format_utc;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/account/connected", get(list))
        .route("/account/connected/revoke", post(revoke))
}

/// One agency as listed.
struct Row {
    client_id: String,
    name: String,
    attributes: String,
    granted: String,
}

#[derive(Template)]
#[template(path = "account_connected.html")]
struct ConnectedPage {
    page: Page,
    rows: Vec<Row>,
    revoked: bool,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    done: String,
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    /// The agency's client id, as listed.
    #[serde(default)]
    client_id: String,
}

async fn list(
    State(state): State<WebState>,
    signed_in: SignedIn,
    page: Page,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Response, WebError> {
    let page = signed_in.page(&state, page);
    let consents = state
        .oidc()
        .await?
        .provider
        .consents
        .list(&signed_in.session.user_id)
        .await?;
    let rows = consents
        .into_iter()
        .map(|c| Row {
            attributes: attributes(&page, &parse_scopes(&c.scopes.join(" "))).join("; "),
            granted: format_utc(c.granted_ms),
            client_id: c.client_id,
            name: c.agency_name,
        })
        .collect();
    render(&ConnectedPage {
        page,
        rows,
        revoked: q.done == "revoked",
    })
}

async fn revoke(
    State(state): State<WebState>,
    signed_in: SignedIn,
    page: Page,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> Result<Response, WebError> {
    state
        .oidc()
        .await?
        .provider
        .consents
        .revoke(&signed_in.session.user_id, &form.client_id)
        .await?;
    Ok(Redirect::to(&page.href("/account/connected?done=revoked")).into_response())
}
