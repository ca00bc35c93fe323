//! `GET/POST /mfa/phone` and `/mfa/phone/confirm`: adds a phone (MFA-3). The number is
//! checked with a real numbering plan, a six-digit code goes to it by text or voice
//! (queued, like mail), and the phone is added once that code comes back. Sends are
//! limited per number (2 per 10 s, 10 per 5 min).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::HeaderMap;
use serde::Deserialize;

use super::access::{FactorAccess, urlencode};
use super::added::method_added;
use super::code::six_digits;
use crate::mfa::{MfaError, PhoneChallenge, PhoneDelivery};
use crate::notify::job::{self, Outgoing};
use crate::notify::{Channel, Sms};
use crate::ratelimit::{
    OTP_NUMBERS_PER_ACCOUNT, OTP_SENDS_LONG, OTP_SENDS_SHORT, SMS_CEILING_SUBJECT, sms_ceiling,
};
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::{FormErrors, event_context};
use crate::web::i18n::Lang;
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "mfa_phone.html")]
struct PhonePage {
    page: Page,
    number: String,
    voice: bool,
    errors: FormErrors,
}

/// The code form, shared with the sign-in factor step.
#[derive(Template)]
#[template(path = "code_entry.html")]
pub struct CodeEntry {
    pub page: Page,
    pub title: String,
    pub lead: String,
    pub action: String,
    pub hidden: Vec<(&'static str, String)>,
    pub errors: FormErrors,
    /// "3 attempts left before factors lock for 10 minutes".
    pub warning: Option<String>,
    pub backup_code: bool,
    /// Offer "remember this browser" (signing in, not asked again for a factor).
    pub offer_remember: bool,
    pub links: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
struct PhoneForm {
    /// A phone number; without a leading `+`, read as a number of the page's country.
    #[serde(default)]
    number: String,
    /// `sms` (default) or `voice`.
    #[serde(default)]
    delivery: String,
}

#[derive(Debug, Deserialize)]
struct ChallengeQuery {
    #[serde(default)]
    c: String,
}

#[derive(Debug, Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    c: String,
    #[serde(default)]
    code: String,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/mfa/phone", get(form).post(submit))
        .route("/mfa/phone/confirm", get(confirm_form).post(confirm))
}

async fn form(_access: FactorAccess, page: Page) -> Result<Response, WebError> {
    render(&PhonePage {
        page,
        number: String::new(),
        voice: false,
        errors: FormErrors::default(),
    })
}

/// The region a number without `+` is read in.
pub fn default_region(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "FR",
        Lang::Es | Lang::En => "US",
    }
}

/// Counts the send against its limits (RL), then queues the code: the distinct numbers
/// `user_id` texted in the last 24 hours (a number already counted is free), the number's
/// sliding limits (2 in any 10 s, 10 in any 5 min), then the deployment's hourly ceiling
/// (`PASSERELLE_SMS_PER_HOUR`), last so that a send refused by another limit does not use
/// it up. Any of them refusing is a 429 that says when to retry.
pub async fn send_code(
    state: &WebState,
    page: &Page,
    user_id: &str,
    challenge: &PhoneChallenge,
    voice: bool,
) -> Result<(), WebError> {
    let services = state.account_services().await?;
    services
        .limiter
        .hit_distinct(&OTP_NUMBERS_PER_ACCOUNT, user_id, &challenge.e164)
        .await?;
    services
        .limiter
        .hit_all(&[&OTP_SENDS_SHORT, &OTP_SENDS_LONG], &challenge.e164)
        .await?;
    services
        .limiter
        .hit(&sms_ceiling(state.sms_per_hour), SMS_CEILING_SUBJECT)
        .await?;
    let body = page.t_args("sms-code-text", &[("code", challenge.code.as_str().into())]);
    let sms = Sms {
        to: challenge.e164.clone(),
        body,
        channel: if voice { Channel::Voice } else { Channel::Text },
    };
    let s = &state.services;
    job::enqueue(
        s.notify_queue.as_ref(),
        &s.envelope,
        s.random.as_ref(),
        &Outgoing::from(sms),
    )
    .await?;
    tracing::info!(
        channel = if voice { "voice" } else { "sms" },
        "one-time code queued"
    );
    Ok(())
}

async fn submit(
    State(state): State<WebState>,
    access: FactorAccess,
    page: Page,
    CsrfForm(form): CsrfForm<PhoneForm>,
) -> Result<Response, WebError> {
    let voice = form.delivery == "voice";
    let services = state.account_services().await?;
    let delivery = if voice {
        PhoneDelivery::Voice
    } else {
        PhoneDelivery::Sms
    };
    let problem = match services
        .factors
        .begin_phone(
            &access.session.user_id,
            &form.number,
            default_region(page.locale.lang),
            delivery,
        )
        .await
    {
        Ok(challenge) => {
            send_code(&state, &page, &access.session.user_id, &challenge, voice).await?;
            let to = format!("/mfa/phone/confirm?c={}", urlencode(&challenge.id));
            return Ok(Redirect::to(&page.href(&to)).into_response());
        }
        Err(MfaError::PhoneInvalid) => "mfa-phone-invalid",
        Err(MfaError::PhoneTaken) => "mfa-phone-taken",
        Err(MfaError::TooManyPhones) => "mfa-phone-too-many",
        Err(e) => return Err(e.into()),
    };
    let mut errors = FormErrors::default();
    errors.add("number", page.t(problem));
    render(&PhonePage {
        page,
        number: form.number,
        voice,
        errors,
    })
}

fn confirm_page(page: Page, challenge: &str, errors: FormErrors) -> CodeEntry {
    CodeEntry {
        title: page.t("mfa-phone-confirm-title"),
        lead: page.t("mfa-phone-confirm-lead"),
        action: page.href("/mfa/phone/confirm"),
        hidden: vec![("c", challenge.to_owned())],
        errors,
        warning: None,
        backup_code: false,
        offer_remember: false,
        links: vec![(page.href("/mfa/phone"), page.t("mfa-phone-send-again"))],
        page,
    }
}

async fn confirm_form(
    _access: FactorAccess,
    page: Page,
    Query(q): Query<ChallengeQuery>,
) -> Result<Response, WebError> {
    render(&confirm_page(page, &q.c, FormErrors::default()))
}

async fn confirm(
    State(state): State<WebState>,
    access: FactorAccess,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let mut errors = FormErrors::default();
    let Some(code) = six_digits(&form.code) else {
        errors.add("code", page.t("mfa-code-format"));
        return render(&confirm_page(page, &form.c, errors));
    };
    let ctx = event_context(&headers);
    match services
        .factors
        .confirm_phone(&access.session.user_id, &form.c, &code, &ctx)
        .await
    {
        Ok(factor) => method_added(&state, &page, &headers, &access, &factor).await,
        Err(MfaError::WrongCode) => {
            errors.add("code", page.t("mfa-code-wrong"));
            render(&confirm_page(page, &form.c, errors))
        }
        Err(MfaError::EnrollmentExpired | MfaError::NotFound) => {
            errors.add("code", page.t("mfa-phone-code-expired"));
            render(&confirm_page(page, &form.c, errors))
        }
        Err(MfaError::PhoneTaken) => {
            errors.add("code", page.t("mfa-phone-taken"));
            render(&confirm_page(page, &form.c, errors))
        }
        Err(MfaError::TooManyPhones) => {
            errors.add("code", page.t("mfa-phone-too-many"));
            render(&confirm_page(page, &form.c, errors))
        }
        Err(e) => Err(e.into()),
    }
}
