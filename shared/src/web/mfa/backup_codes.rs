//! `GET/POST /mfa/backup-codes`: ten single-use codes (MFA-4), shown once, to print or
//! download; making new ones replaces the old ones.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, header};

use super::access::{FactorAccess, Stage};
use super::added::notify_added;
use super::finish::complete_sign_in;
use crate::mfa::FactorKind;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::event_context;
use crate::web::page::{Page, render};
use crate::web::session::AnySession;

#[derive(Template)]
#[template(path = "mfa_backup_intro.html")]
struct Intro {
    page: Page,
    replacing: bool,
}

#[derive(Template)]
#[template(path = "mfa_backup_codes.html")]
struct Codes {
    page: Page,
    codes: Vec<String>,
    /// A `data:` URL of the codes as a text file, for the download link.
    download_href: String,
    continue_href: String,
}

#[derive(Debug, serde::Deserialize)]
struct Empty {}

pub fn routes() -> Router<WebState> {
    Router::new().route("/mfa/backup-codes", get(intro).post(generate))
}

async fn intro(
    State(state): State<WebState>,
    access: FactorAccess,
    page: Page,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let factors = services.factors.list(&access.session.user_id).await?;
    render(&Intro {
        page,
        replacing: factors.iter().any(|f| f.kind == FactorKind::BackupCodes),
    })
}

async fn generate(
    State(state): State<WebState>,
    access: FactorAccess,
    page: Page,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let user = access.session.user_id.clone();
    let had = services
        .factors
        .list(&user)
        .await?
        .into_iter()
        .any(|f| f.kind == FactorKind::BackupCodes);
    let ctx = event_context(&headers);
    let codes = services.factors.generate_backup_codes(&user, &ctx).await?;
    let codes: Vec<String> = codes.0.iter().map(|c| c.as_str().to_owned()).collect();
    let mut cookies = Vec::new();
    match access.stage {
        Stage::First => {
            let pending = AnySession {
                token: access.token.clone(),
                session: access.session.clone(),
            };
            cookies =
                complete_sign_in(&state, &headers, &pending, FactorKind::BackupCodes.as_str())
                    .await?;
            // The sign-in completes on a page: its forms carry the new CSRF token.
            page.rotate_csrf();
        }
        Stage::Another => {
            if let Some(f) = services
                .factors
                .list(&user)
                .await?
                .into_iter()
                .find(|f| f.kind == FactorKind::BackupCodes)
            {
                notify_added(&state, &user, &f).await?;
            }
        }
    }
    let file = format!(
        "{}\n\n{}\n",
        page.t("mfa-backup-file-heading"),
        codes.join("\n")
    );
    let download_href = format!(
        "data:text/plain;charset=utf-8,{}",
        super::access::urlencode(&file).replace('+', "%20")
    );
    let continue_href = if had {
        page.href("/account")
    } else {
        page.href("/mfa/setup?added=backup_codes")
    };
    let mut response = render(&Codes {
        page,
        codes,
        download_href,
        continue_href,
    })?;
    // Shown once: never from a cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response.into_response())
}
