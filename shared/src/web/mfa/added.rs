//! After a method is added: the first one finishes the sign-in; another one is told to
//! every address of the account (ACC-8). Either way the set-up page follows, suggesting
//! one more.

use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, header};

use super::access::{FactorAccess, Stage};
use super::finish::complete_sign_in;
use super::names::factor_label;
use crate::mfa::FactorSummary;
use crate::web::error::WebError;
use crate::web::mail::MailKind;
use crate::web::notices::notify_account;
use crate::web::session::AnySession;
use crate::web::{Page, WebState};

pub async fn method_added(
    state: &WebState,
    page: &Page,
    headers: &HeaderMap,
    access: &FactorAccess,
    factor: &FactorSummary,
) -> Result<Response, WebError> {
    let to = page.href(&format!("/mfa/setup?added={}", factor.kind.as_str()));
    match access.stage {
        Stage::First => {
            // Sign-up from an agency: back to its request (a second method can wait).
            let to = crate::web::oidc::continuation(headers).map_or(to, |c| page.href(c));
            let pending = AnySession {
                token: access.token.clone(),
                session: access.session.clone(),
            };
            let cookies = complete_sign_in(state, headers, &pending, factor.kind.as_str()).await?;
            let mut response = Redirect::to(&to).into_response();
            for c in cookies {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(response)
        }
        Stage::Another => {
            // A new method is a change of who can get in: remembered browsers go (ACC-4).
            let services = state.account_services().await?;
            services
                .remembered
                .forget_all(&access.session.user_id)
                .await?;
            notify_added(state, &access.session.user_id, factor).await?;
            Ok(Redirect::to(&to).into_response())
        }
    }
}

/// The "method added" notice, naming the method in the account's email language.
pub async fn notify_added(
    state: &WebState,
    user_id: &str,
    factor: &FactorSummary,
) -> Result<(), WebError> {
    notify_account(state, user_id, |lang, not_me_url| MailKind::FactorAdded {
        factor: factor_label(lang, factor),
        not_me_url,
    })
    .await
}
