//! The factor step: `/sign-in/factor` (which method), `/sign-in/totp`,
//! `/sign-in/backup-code`, `/sign-in/phone` and `/sign-in/phone/code`. It finishes a
//! sign-in from a pending session, or asks a signed-in person again before a sensitive
//! action (`return_to` brings them back).
//!
//! Wrong codes count across every method of the account (MFA-6): the 10th within 10
//! minutes locks factor entry for 10 minutes; the page warns when 3 tries remain.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::HeaderMap;
use serde::Deserialize;

use super::access::urlencode;
use super::finish::factor_passed;
use super::names::factor_label;
use super::phone::{CodeEntry, send_code};
use crate::account::accounts::AccountStatus;
use crate::mfa::{FactorKind, FactorSummary, MfaError};
use crate::ratelimit::{MFA_FAILURES, MFA_WARN_WHEN_REMAINING};
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::FormErrors;
use crate::web::language::local_path;
use crate::web::page::{Page, render};
use crate::web::session::AnySession;

#[derive(Template)]
#[template(path = "sign_in_factor.html")]
struct Choose {
    page: Page,
    return_to: String,
    totp: bool,
    phones: Vec<(String, String)>,
    backup_codes: bool,
    /// Only while signing in: a signed-in person who lost their methods is not stuck.
    offer_reset: bool,
}

#[derive(Debug, Default, Deserialize)]
struct StepQuery {
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    choose: Option<String>,
    #[serde(default)]
    c: String,
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    /// "Remember this browser for 30 days" (ACC-4), when signing in.
    #[serde(default)]
    remember: Option<String>,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    c: String,
}

#[derive(Debug, Deserialize)]
struct PhoneChoice {
    #[serde(default)]
    f: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    delivery: String,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/sign-in/factor", get(choose))
        .route("/sign-in/totp", get(totp_form).post(totp))
        .route("/sign-in/backup-code", get(backup_form).post(backup))
        .route("/sign-in/phone", post(phone_send))
        .route("/sign-in/phone/code", get(phone_form).post(phone))
}

/// A query string carrying `return_to` on, or nothing.
fn carry(return_to: &str) -> String {
    if return_to.is_empty() {
        String::new()
    } else {
        format!("?return_to={}", urlencode(local_path(return_to)))
    }
}

async fn factors_of(
    state: &WebState,
    current: &AnySession,
) -> Result<Result<Vec<FactorSummary>, &'static str>, WebError> {
    let services = state.account_services().await?;
    let user = &current.session.user_id;
    if !current.session.is_complete() {
        let status = services.accounts.account(user).await?.map(|a| a.status);
        if status != Some(AccountStatus::Active) {
            return Ok(Err("/mfa/setup"));
        }
    }
    Ok(Ok(services.factors.list(user).await?))
}

async fn choose(
    State(state): State<WebState>,
    current: AnySession,
    page: Page,
    Query(q): Query<StepQuery>,
) -> Result<Response, WebError> {
    let factors = match factors_of(&state, &current).await? {
        Ok(f) => f,
        Err(to) => return Ok(Redirect::to(&page.href(to)).into_response()),
    };
    let totp = factors.iter().any(|f| f.kind == FactorKind::Totp);
    // An app needs no round trip: go straight to it unless asked for the list.
    if totp && q.choose.is_none() {
        let to = format!("/sign-in/totp{}", carry(&q.return_to));
        return Ok(Redirect::to(&page.href(&to)).into_response());
    }
    let lang = page.locale.lang;
    let phones = factors
        .iter()
        .filter(|f| f.kind == FactorKind::Phone)
        .map(|f| (f.id.clone(), factor_label(lang, f)))
        .collect();
    render(&Choose {
        return_to: local_path(&q.return_to).to_owned(),
        totp,
        phones,
        backup_codes: factors.iter().any(|f| f.kind == FactorKind::BackupCodes),
        offer_reset: !current.session.is_complete(),
        page,
    })
}

/// Refuses while factor entry is locked.
async fn unlocked(state: &WebState, user: &str) -> Result<(), WebError> {
    state
        .account_services()
        .await?
        .limiter
        .peek(&MFA_FAILURES, user)
        .await?;
    Ok(())
}

/// Counts a wrong code; the warning to show when few tries remain (a lock is a 429).
async fn wrong_code(state: &WebState, page: &Page, user: &str) -> Result<Option<String>, WebError> {
    let limiter = &state.account_services().await?.limiter;
    let left = limiter.hit(&MFA_FAILURES, user).await?;
    if left.remaining == 0 {
        // That was the last try: say so now, with the time the lock ends.
        limiter.peek(&MFA_FAILURES, user).await?;
    }
    Ok(left.warn(MFA_WARN_WHEN_REMAINING).then(|| {
        page.t_args(
            "mfa-attempts-left",
            &[("count", i64::from(left.remaining).into())],
        )
    }))
}

fn other_methods(page: &Page, return_to: &str) -> Vec<(String, String)> {
    let sep = if return_to.is_empty() { "?" } else { "&" };
    vec![(
        format!(
            "{}{}{sep}choose=1",
            page.href("/sign-in/factor"),
            carry(return_to)
        ),
        page.t("mfa-choose-another"),
    )]
}

fn totp_page(
    page: Page,
    return_to: &str,
    errors: FormErrors,
    warning: Option<String>,
    signing_in: bool,
) -> CodeEntry {
    CodeEntry {
        title: page.t("signin-totp-title"),
        lead: page.t("signin-totp-lead"),
        action: page.href("/sign-in/totp"),
        hidden: vec![("return_to", local_path(return_to).to_owned())],
        errors,
        warning,
        backup_code: false,
        offer_remember: signing_in,
        links: other_methods(&page, return_to),
        page,
    }
}

async fn totp_form(
    current: AnySession,
    page: Page,
    Query(q): Query<StepQuery>,
) -> Result<Response, WebError> {
    render(&totp_page(
        page,
        &q.return_to,
        FormErrors::default(),
        None,
        !current.session.is_complete(),
    ))
}

async fn totp(
    State(state): State<WebState>,
    current: AnySession,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let user = current.session.user_id.clone();
    unlocked(&state, &user).await?;
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    let services = state.account_services().await?;
    let accepted = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        services.factors.verify_totp(&user, &code).await?
    } else {
        None
    };
    match accepted {
        Some(_) => {
            factor_passed(
                &state,
                &page,
                &headers,
                &current,
                FactorKind::Totp,
                &form.return_to,
                form.remember.is_some(),
            )
            .await
        }
        None => {
            let warning = wrong_code(&state, &page, &user).await?;
            let mut errors = FormErrors::default();
            errors.add("code", page.t("mfa-code-wrong"));
            render(&totp_page(
                page,
                &form.return_to,
                errors,
                warning,
                !current.session.is_complete(),
            ))
        }
    }
}

fn backup_page(
    page: Page,
    return_to: &str,
    errors: FormErrors,
    warning: Option<String>,
    signing_in: bool,
) -> CodeEntry {
    CodeEntry {
        title: page.t("signin-backup-title"),
        lead: page.t("signin-backup-lead"),
        action: page.href("/sign-in/backup-code"),
        hidden: vec![("return_to", local_path(return_to).to_owned())],
        errors,
        warning,
        backup_code: true,
        offer_remember: signing_in,
        links: other_methods(&page, return_to),
        page,
    }
}

async fn backup_form(
    current: AnySession,
    page: Page,
    Query(q): Query<StepQuery>,
) -> Result<Response, WebError> {
    render(&backup_page(
        page,
        &q.return_to,
        FormErrors::default(),
        None,
        !current.session.is_complete(),
    ))
}

async fn backup(
    State(state): State<WebState>,
    current: AnySession,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let user = current.session.user_id.clone();
    unlocked(&state, &user).await?;
    let services = state.account_services().await?;
    let used = if form.code.len() <= 40 {
        services.factors.use_backup_code(&user, &form.code).await?
    } else {
        None
    };
    match used {
        // The last code is gone: straight on to new ones.
        Some(0) => {
            factor_passed(
                &state,
                &page,
                &headers,
                &current,
                FactorKind::BackupCodes,
                "/mfa/backup-codes",
                form.remember.is_some(),
            )
            .await
        }
        Some(_) => {
            factor_passed(
                &state,
                &page,
                &headers,
                &current,
                FactorKind::BackupCodes,
                &form.return_to,
                form.remember.is_some(),
            )
            .await
        }
        None => {
            let warning = wrong_code(&state, &page, &user).await?;
            let mut errors = FormErrors::default();
            errors.add("code", page.t("mfa-backup-code-wrong"));
            render(&backup_page(
                page,
                &form.return_to,
                errors,
                warning,
                !current.session.is_complete(),
            ))
        }
    }
}

async fn phone_send(
    State(state): State<WebState>,
    current: AnySession,
    page: Page,
    CsrfForm(form): CsrfForm<PhoneChoice>,
) -> Result<Response, WebError> {
    let user = current.session.user_id.clone();
    unlocked(&state, &user).await?;
    let services = state.account_services().await?;
    let challenge = match services.factors.phone_challenge(&user, &form.f).await {
        Ok(c) => c,
        Err(MfaError::NotFound) => return Err(WebError::NotFound),
        Err(e) => return Err(e.into()),
    };
    send_code(&state, &page, &challenge, form.delivery == "voice").await?;
    let mut to = format!("/sign-in/phone/code?c={}", urlencode(&challenge.id));
    if !form.return_to.is_empty() {
        to.push_str(&format!(
            "&return_to={}",
            urlencode(local_path(&form.return_to))
        ));
    }
    Ok(Redirect::to(&page.href(&to)).into_response())
}

fn phone_page(
    page: Page,
    challenge: &str,
    return_to: &str,
    errors: FormErrors,
    warning: Option<String>,
    signing_in: bool,
) -> CodeEntry {
    CodeEntry {
        title: page.t("signin-phone-title"),
        lead: page.t("signin-phone-lead"),
        action: page.href("/sign-in/phone/code"),
        hidden: vec![
            ("c", challenge.to_owned()),
            ("return_to", local_path(return_to).to_owned()),
        ],
        errors,
        warning,
        backup_code: false,
        offer_remember: signing_in,
        links: other_methods(&page, return_to),
        page,
    }
}

async fn phone_form(
    current: AnySession,
    page: Page,
    Query(q): Query<StepQuery>,
) -> Result<Response, WebError> {
    render(&phone_page(
        page,
        &q.c,
        &q.return_to,
        FormErrors::default(),
        None,
        !current.session.is_complete(),
    ))
}

async fn phone(
    State(state): State<WebState>,
    current: AnySession,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let user = current.session.user_id.clone();
    unlocked(&state, &user).await?;
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    let services = state.account_services().await?;
    let accepted = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        match services.factors.verify_phone(&user, &form.c, &code).await {
            Ok(found) => found,
            Err(MfaError::CodeExpired | MfaError::NotFound) => {
                let mut errors = FormErrors::default();
                errors.add("code", page.t("mfa-phone-code-expired"));
                return render(&phone_page(
                    page,
                    &form.c,
                    &form.return_to,
                    errors,
                    None,
                    !current.session.is_complete(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    match accepted {
        Some(_) => {
            factor_passed(
                &state,
                &page,
                &headers,
                &current,
                FactorKind::Phone,
                &form.return_to,
                form.remember.is_some(),
            )
            .await
        }
        None => {
            let warning = wrong_code(&state, &page, &user).await?;
            let mut errors = FormErrors::default();
            errors.add("code", page.t("mfa-code-wrong"));
            render(&phone_page(
                page,
                &form.c,
                &form.return_to,
                errors,
                warning,
                !current.session.is_complete(),
            ))
        }
    }
}
