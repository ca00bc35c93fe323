//! Methods on the account page (MFA-6): rename one, remove one (never the last; the
//! change is told to every address).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use http::HeaderMap;
use serde::Deserialize;

use super::recent::Recent;
use crate::mfa::MfaError;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::{MessagePage, event_context};
use crate::web::mail::MailKind;
use crate::web::mfa::factor_label;
use crate::web::notices::notify_account;
use crate::web::page::Page;

#[derive(Debug, Deserialize)]
struct RenameForm {
    #[serde(default)]
    id: String,
    /// 1–40 characters.
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct RemoveForm {
    #[serde(default)]
    id: String,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/account/factor/rename", post(rename))
        .route("/account/factor/remove", post(remove))
}

async fn rename(
    State(state): State<WebState>,
    recent: Recent,
    page: Page,
    CsrfForm(form): CsrfForm<RenameForm>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    match services
        .factors
        .rename(&recent.0.session.user_id, &form.id, &form.name)
        .await
    {
        Ok(()) => Ok(Redirect::to(&page.href("/account?done=factor-renamed")).into_response()),
        Err(MfaError::NameInvalid) => {
            let body = page.t("mfa-name-invalid");
            MessagePage::render(
                page,
                "account-factor-rename-title",
                vec![body],
                Some(("/account", "account-back")),
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn remove(
    State(state): State<WebState>,
    recent: Recent,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<RemoveForm>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let user = recent.0.session.user_id.clone();
    let ctx = event_context(&headers);
    match services.factors.remove(&user, &form.id, &ctx).await {
        Ok(removed) => {
            // Fewer ways in: remembered browsers go too (ACC-4).
            services.remembered.forget_all(&user).await?;
            notify_account(&state, &user, |lang, not_me_url| MailKind::FactorRemoved {
                factor: factor_label(lang, &removed),
                not_me_url,
            })
            .await?;
            Ok(Redirect::to(&page.href("/account?done=factor-removed")).into_response())
        }
        Err(MfaError::LastFactor) => {
            let body = page.t("account-factor-last");
            MessagePage::render(
                page,
                "account-factor-remove-title",
                vec![body],
                Some(("/account", "account-back")),
            )
        }
        Err(MfaError::NotFound) => Ok(Redirect::to(&page.href("/account")).into_response()),
        Err(e) => Err(e.into()),
    }
}
