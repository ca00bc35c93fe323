//! What happens once a factor is accepted: a pending session becomes a complete one
//! under a new token (the sign-in), or a complete one records the fresh factor (asked
//! again before a sensitive action).

use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, HeaderValue, header};

use crate::account::events::{EventKind, event_item};
use crate::mfa::FactorKind;
use crate::ratelimit::MFA_FAILURES;
use crate::session::devices::{DeviceToken, Seen};
use crate::session::remember::REMEMBER_SECS;
use crate::store::Expect;
use crate::web::cookies::{self, Lifetime, SameSite};
use crate::web::error::WebError;
use crate::web::forms::event_context;
use crate::web::language::local_path;
use crate::web::mail::MailKind;
use crate::web::notices::notify_account;
use crate::web::session::{AnySession, session_cookie};
use crate::web::when::format_utc;
use crate::web::{Page, WebState};

/// The remembered-browser cookie's name without its `__Host-` prefix (ACC-4).
pub const REMEMBER_COOKIE: &str = "remember";

/// The device cookie's name without its `__Host-` prefix.
pub const DEVICE_COOKIE: &str = "device";

/// 400 days: the longest lifetime browsers honour.
const DEVICE_COOKIE_SECS: u64 = 400 * 24 * 3600;

/// The factor `kind` was just accepted for `current`'s account: finish the sign-in (or
/// record the factor), then go to `return_to` (a local path) or the account page.
pub async fn factor_passed(
    state: &WebState,
    page: &Page,
    headers: &HeaderMap,
    current: &AnySession,
    kind: FactorKind,
    return_to: &str,
    remember: bool,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let user_id = &current.session.user_id;
    services.limiter.reset(&MFA_FAILURES, user_id).await?;
    let to = if return_to.is_empty() {
        // An agency's request waiting for this sign-in goes first (OIDC).
        crate::web::oidc::continuation(headers).unwrap_or("/account")
    } else {
        local_path(return_to)
    };
    if current.session.is_complete() {
        services
            .sessions
            .record_factor(&current.token, kind.as_str())
            .await?;
        // A fresh factor opens sensitive actions: a new CSRF token too.
        page.rotate_csrf();
        return Ok(Redirect::to(&page.href(to)).into_response());
    }
    let mut cookies = complete_sign_in(state, headers, current, kind.as_str()).await?;
    if remember && let Some(value) = services.remembered.issue(&current.session.user_id).await? {
        cookies.push(
            cookies::host_cookie(
                REMEMBER_COOKIE,
                &value,
                Lifetime::MaxAge(REMEMBER_SECS as u64),
                SameSite::Lax,
            )
            .ok_or_else(|| WebError::Internal("remember cookie".into()))?,
        );
    }
    let mut response = Redirect::to(&page.href(to)).into_response();
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

/// Turns the pending session into a complete one and does what a sign-in does: the
/// device list, the `signed_in` event, cancelling a pending account reset (the person
/// clearly still has a factor), and the new-device notice. Returns the cookies to set.
pub async fn complete_sign_in(
    state: &WebState,
    headers: &HeaderMap,
    pending: &AnySession,
    kind: &str,
) -> Result<Vec<HeaderValue>, WebError> {
    let services = state.account_services().await?;
    let user_id = pending.session.user_id.clone();
    let (token, _) = services
        .sessions
        .complete(&pending.token, &user_id, kind)
        .await?;
    let mut set = vec![session_cookie(&token)?];
    let device = match cookies::get(headers, &format!("__Host-{DEVICE_COOKIE}"))
        .and_then(DeviceToken::parse)
    {
        Some(d) => d,
        None => {
            let d = DeviceToken::new(state.services.random.as_ref());
            set.push(
                cookies::host_cookie(
                    DEVICE_COOKIE,
                    d.as_str(),
                    Lifetime::MaxAge(DEVICE_COOKIE_SECS),
                    SameSite::Lax,
                )
                .ok_or_else(|| WebError::Internal("device cookie".into()))?,
            );
            d
        }
    };
    let ctx = event_context(headers);
    let seen = services
        .devices
        .record_sign_in(&user_id, &device, &ctx)
        .await?;
    let now = state.services.clock.now_ms();
    state
        .services
        .store
        .put(
            event_item(
                &user_id,
                EventKind::SignedIn,
                &ctx,
                now,
                state.services.random.as_ref(),
            ),
            Expect::Absent,
        )
        .await?;
    services
        .accounts
        .cancel_account_reset_for(&user_id, &ctx)
        .await?;
    if seen == Seen::New {
        notify_account(state, &user_id, |_, not_me_url| MailKind::NewDeviceSignIn {
            when: format_utc(now),
            device: ctx.device.clone().unwrap_or_default(),
            place: ctx.place.clone(),
            not_me_url,
        })
        .await?;
    }
    Ok(set)
}
