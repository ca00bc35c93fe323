//! The factor step: `/sign-in/factor` (which method), `/sign-in/totp`,
//! `/sign-in/backup-code`, `/sign-in/phone` and `/sign-in/phone/code` (security keys and
//! face or touch unlock: `/sign-in/webauthn`, in [`super::webauthn`]). It finishes a
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
use super::code::six_digits;
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
    /// A security key or face or touch unlock (offered first: phishing-resistant).
    webauthn: bool,
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
/// The hidden `return_to` a form carries on: empty stays empty (the default destination
/// decides), since `local_path("")` is `/`.
pub(super) fn carried(return_to: &str) -> String {
    if return_to.is_empty() {
        String::new()
    } else {
        local_path(return_to).to_owned()
    }
}

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
    let services = state.account_services().await?;
    let webauthn =
        services.webauthn.is_some() && factors.iter().any(|f| f.kind == FactorKind::WebAuthn);
    // The phishing-resistant method first, unless asked for the list.
    if webauthn && q.choose.is_none() {
        let to = format!("/sign-in/webauthn{}", carry(&q.return_to));
        return Ok(Redirect::to(&page.href(&to)).into_response());
    }
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
        // Empty stays empty: an agency's waiting request is the default destination.
        return_to: carried(&q.return_to),
        webauthn,
        totp,
        phones,
        backup_codes: factors.iter().any(|f| f.kind == FactorKind::BackupCodes),
        offer_reset: !current.session.is_complete(),
        page,
    })
}

/// Refuses while factor entry is locked.
pub(super) async fn unlocked(state: &WebState, user: &str) -> Result<(), WebError> {
    state
        .account_services()
        .await?
        .limiter
        .peek(&MFA_FAILURES, user)
        .await?;
    Ok(())
}

/// Counts a wrong code; the warning to show when few tries remain (a lock is a 429).
pub(super) async fn wrong_code(
    state: &WebState,
    page: &Page,
    user: &str,
) -> Result<Option<String>, WebError> {
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

pub(super) fn other_methods(page: &Page, return_to: &str) -> Vec<(String, String)> {
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

/// The three code steps differ only in wording, address and field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Totp,
    Backup,
    Phone,
}

impl Step {
    fn ids(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Step::Totp => ("signin-totp-title", "signin-totp-lead", "/sign-in/totp"),
            Step::Backup => (
                "signin-backup-title",
                "signin-backup-lead",
                "/sign-in/backup-code",
            ),
            Step::Phone => (
                "signin-phone-title",
                "signin-phone-lead",
                "/sign-in/phone/code",
            ),
        }
    }

    fn kind(self) -> FactorKind {
        match self {
            Step::Totp => FactorKind::Totp,
            Step::Backup => FactorKind::BackupCodes,
            Step::Phone => FactorKind::Phone,
        }
    }
}

/// A step's code form. `challenge` is the phone code's id (empty for the others);
/// "remember this browser" is offered while signing in, not when asked again.
fn step_page(
    page: Page,
    step: Step,
    current: &AnySession,
    challenge: &str,
    return_to: &str,
    errors: FormErrors,
    warning: Option<String>,
) -> CodeEntry {
    let (title, lead, action) = step.ids();
    let mut hidden = vec![("return_to", carried(return_to))];
    if step == Step::Phone {
        hidden.insert(0, ("c", challenge.to_owned()));
    }
    CodeEntry {
        title: page.t(title),
        lead: page.t(lead),
        action: page.href(action),
        hidden,
        errors,
        warning,
        backup_code: step == Step::Backup,
        offer_remember: !current.session.is_complete(),
        links: other_methods(&page, return_to),
        page,
    }
}

/// GET of a code step: its empty form.
fn code_form(
    step: Step,
    current: &AnySession,
    page: Page,
    q: &StepQuery,
) -> Result<Response, WebError> {
    let errors = FormErrors::default();
    render(&step_page(
        page,
        step,
        current,
        &q.c,
        &q.return_to,
        errors,
        None,
    ))
}

async fn totp_form(
    current: AnySession,
    page: Page,
    Query(q): Query<StepQuery>,
) -> Result<Response, WebError> {
    code_form(Step::Totp, &current, page, &q)
}

async fn backup_form(
    current: AnySession,
    page: Page,
    Query(q): Query<StepQuery>,
) -> Result<Response, WebError> {
    code_form(Step::Backup, &current, page, &q)
}

async fn phone_form(
    current: AnySession,
    page: Page,
    Query(q): Query<StepQuery>,
) -> Result<Response, WebError> {
    code_form(Step::Phone, &current, page, &q)
}

/// What a code step does with the store's answer: on, or the form again with the
/// message (and the lock warning) after counting the failure.
async fn outcome(
    state: &WebState,
    page: Page,
    headers: &HeaderMap,
    current: &AnySession,
    step: Step,
    form: &CodeForm,
    accepted: Result<Option<u32>, &'static str>,
) -> Result<Response, WebError> {
    let remember = form.remember.is_some();
    match accepted {
        // The last backup code is gone: straight on to new ones.
        Ok(Some(0)) if step == Step::Backup => {
            factor_passed(
                state,
                &page,
                headers,
                current,
                step.kind(),
                "/mfa/backup-codes",
                remember,
            )
            .await
        }
        Ok(Some(_)) => {
            factor_passed(
                state,
                &page,
                headers,
                current,
                step.kind(),
                &form.return_to,
                remember,
            )
            .await
        }
        Ok(None) => {
            let warning = wrong_code(state, &page, &current.session.user_id).await?;
            let mut errors = FormErrors::default();
            let id = if step == Step::Backup {
                "mfa-backup-code-wrong"
            } else {
                "mfa-code-wrong"
            };
            errors.add("code", page.t(id));
            render(&step_page(
                page,
                step,
                current,
                &form.c,
                &form.return_to,
                errors,
                warning,
            ))
        }
        // Not the person's mistake (an expired phone code): say so, count nothing.
        Err(message) => {
            let mut errors = FormErrors::default();
            errors.add("code", page.t(message));
            render(&step_page(
                page,
                step,
                current,
                &form.c,
                &form.return_to,
                errors,
                None,
            ))
        }
    }
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
    let services = state.account_services().await?;
    let accepted = match six_digits(&form.code) {
        Some(code) => services.factors.verify_totp(&user, &code).await?.map(|_| 1),
        None => None,
    };
    outcome(
        &state,
        page,
        &headers,
        &current,
        Step::Totp,
        &form,
        Ok(accepted),
    )
    .await
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
    let remaining = if form.code.len() <= 40 {
        services.factors.use_backup_code(&user, &form.code).await?
    } else {
        None
    };
    outcome(
        &state,
        page,
        &headers,
        &current,
        Step::Backup,
        &form,
        Ok(remaining),
    )
    .await
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
    let services = state.account_services().await?;
    let accepted = match six_digits(&form.code) {
        Some(code) => match services.factors.verify_phone(&user, &form.c, &code).await {
            Ok(found) => Ok(found.map(|_| 1)),
            Err(MfaError::CodeExpired | MfaError::NotFound) => Err("mfa-phone-code-expired"),
            Err(e) => return Err(e.into()),
        },
        None => Ok(None),
    };
    outcome(
        &state,
        page,
        &headers,
        &current,
        Step::Phone,
        &form,
        accepted,
    )
    .await
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
    send_code(&state, &page, &user, &challenge, form.delivery == "voice").await?;
    let mut to = format!("/sign-in/phone/code?c={}", urlencode(&challenge.id));
    if !form.return_to.is_empty() {
        to.push_str(&format!(
            "&return_to={}",
            urlencode(local_path(&form.return_to))
        ));
    }
    Ok(Redirect::to(&page.href(&to)).into_response())
}
