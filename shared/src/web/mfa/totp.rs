//! `GET/POST /mfa/totp`: adds an authentication app (MFA-2). The secret is shown as a QR
//! code drawn on the server (an SVG in the page: no script, no external image) and as
//! text to type in; the app is added once it gives a right first code.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use http::HeaderMap;
use serde::Deserialize;

use super::access::FactorAccess;
use super::added::method_added;
use super::code::six_digits;
use crate::mfa::{MfaError, TotpEnrollment, valid_name};
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::{FormErrors, event_context};
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "mfa_totp.html")]
struct TotpPage {
    page: Page,
    enrollment_id: String,
    secret: String,
    qr_svg: String,
    name: String,
    errors: FormErrors,
}

#[derive(Debug, Deserialize)]
struct TotpForm {
    #[serde(default)]
    enrollment: String,
    /// 1–40 characters, so the person can tell two apps apart.
    #[serde(default)]
    name: String,
    /// Six digits; spaces are ignored.
    #[serde(default)]
    code: String,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/mfa/totp", get(start).post(confirm))
}

fn page_for(page: Page, e: &TotpEnrollment, name: String, errors: FormErrors) -> TotpPage {
    TotpPage {
        page,
        enrollment_id: e.id.clone(),
        secret: group(&e.secret_base32),
        qr_svg: e.qr_svg.clone(),
        name,
        errors,
    }
}

/// The secret in groups of four, easier to type.
fn group(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn start(
    State(state): State<WebState>,
    access: FactorAccess,
    page: Page,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let user = &access.session.user_id;
    let label = services.accounts.primary_address(user).await?;
    match services.factors.begin_totp(user, label.as_str()).await {
        Ok(e) => render(&page_for(page, &e, String::new(), FormErrors::default())),
        Err(MfaError::TooManyApps) => too_many(page),
        Err(e) => Err(e.into()),
    }
}

fn too_many(page: Page) -> Result<Response, WebError> {
    let body = page.t("mfa-totp-too-many");
    crate::web::forms::MessagePage::render(
        page,
        "mfa-totp-title",
        vec![body],
        Some(("/mfa/setup", "mfa-choose-another")),
    )
}

async fn confirm(
    State(state): State<WebState>,
    access: FactorAccess,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<TotpForm>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let user = access.session.user_id.clone();
    let enrollment = match services
        .factors
        .totp_enrollment(&user, &form.enrollment)
        .await
    {
        Ok(e) => e,
        // Expired or never started: begin again with a new secret.
        Err(MfaError::EnrollmentExpired | MfaError::NotFound) => {
            let mut errors = FormErrors::default();
            let label = services.accounts.primary_address(&user).await?;
            let e = services.factors.begin_totp(&user, label.as_str()).await?;
            errors.add("code", page.t("mfa-totp-expired"));
            return render(&page_for(page, &e, form.name, errors));
        }
        Err(e) => return Err(e.into()),
    };
    let mut errors = FormErrors::default();
    let name = valid_name(&form.name).ok();
    if name.is_none() {
        errors.add("name", page.t("mfa-name-invalid"));
    }
    let code = six_digits(&form.code);
    if code.is_none() {
        errors.add("code", page.t("mfa-code-format"));
    }
    let (Some(name), Some(code)) = (name, code) else {
        return render(&page_for(page, &enrollment, form.name, errors));
    };
    let ctx = event_context(&headers);
    match services
        .factors
        .confirm_totp(&user, &form.enrollment, &name, &code, &ctx)
        .await
    {
        Ok(factor) => method_added(&state, &page, &headers, &access, &factor).await,
        Err(MfaError::WrongCode) => {
            errors.add("code", page.t("mfa-code-wrong"));
            render(&page_for(page, &enrollment, form.name, errors))
        }
        Err(MfaError::NameInvalid) => {
            errors.add("name", page.t("mfa-name-invalid"));
            render(&page_for(page, &enrollment, form.name, errors))
        }
        Err(MfaError::TooManyApps) => too_many(page),
        Err(e) => Err(e.into()),
    }
}
