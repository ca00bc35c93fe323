//! Security keys and face or touch unlock on the web (MFA-1).
//!
//! Set-up: `GET /mfa/webauthn` (a name, and which kind), `POST /mfa/webauthn` (begins
//! the ceremony: the page that asks the authenticator), `POST /mfa/webauthn/finish` (the
//! browser's answer). Sign-in: `GET /sign-in/webauthn` (begins a ceremony),
//! `POST /sign-in/webauthn/finish` (its answer; a refused answer counts towards the MFA
//! lockout like a wrong code).
//!
//! The ceremony pages carry the options as JSON in a `data-options` attribute; the static
//! script `webauthn.js` (no inline script: strict CSP) calls `navigator.credentials`,
//! puts the answer in the form's `credential` field and posts it with the CSRF token.
//! Without JavaScript the page says so and offers the other methods.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::HeaderMap;
use serde::Deserialize;

use super::access::FactorAccess;
use super::added::method_added;
use super::finish::factor_passed;
use super::verify::{other_methods, unlocked, wrong_code};
use crate::mfa::{Attachment, FactorKind, MfaError, WebAuthnChallenge, valid_name};
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::{FormErrors, MessagePage, event_context};
use crate::web::page::{Page, render};
use crate::web::session::AnySession;

/// What the ceremony part of a page (`webauthn_ceremony.html`) needs.
#[derive(Debug, Clone)]
pub struct Ceremony {
    /// `create` (set-up) or `get` (sign-in): which call the script makes.
    pub mode: &'static str,
    /// `security_key`, `platform`, or empty when signing in.
    pub attachment: &'static str,
    pub id: String,
    pub options_json: String,
    /// Where the answer is posted.
    pub action: String,
    pub start_label: String,
    /// Fields the finishing handler gets back as they were.
    pub hidden: Vec<(&'static str, String)>,
    /// "Remember this browser" (signing in, not when asked again for a factor).
    pub offer_remember: bool,
}

#[derive(Template)]
#[template(path = "mfa_webauthn.html")]
struct SetupPage {
    page: Page,
    /// The kind chosen (or preselected from the set-up page's link).
    platform: bool,
    name: String,
    errors: FormErrors,
    /// Set once the name and kind are accepted: the page then asks the authenticator.
    ceremony: Option<Ceremony>,
}

#[derive(Template)]
#[template(path = "sign_in_webauthn.html")]
struct SignInPage {
    page: Page,
    errors: FormErrors,
    warning: Option<String>,
    ceremony: Ceremony,
    links: Vec<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
struct KindQuery {
    /// `security_key` (default) or `platform`.
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct BeginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    attachment: String,
}

#[derive(Debug, Deserialize)]
struct FinishForm {
    #[serde(default)]
    ceremony: String,
    /// The `PublicKeyCredential` as JSON; empty when the script did not run.
    #[serde(default)]
    credential: String,
    /// Carried back only to show the form again after a failure; the method's name
    /// and kind come from the ceremony kept on the server.
    #[serde(default)]
    name: String,
    #[serde(default)]
    attachment: String,
}

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    #[serde(default)]
    return_to: String,
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    remember: Option<String>,
    #[serde(default)]
    return_to: String,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/mfa/webauthn", get(choose).post(begin))
        .route("/mfa/webauthn/finish", post(finish))
        .route("/sign-in/webauthn", get(sign_in_page))
        .route("/sign-in/webauthn/finish", post(sign_in))
}

/// The page saying security keys and face or touch unlock are off at this address (an
/// IP address as public URL: browsers refuse WebAuthn there).
fn unavailable(page: Page) -> Result<Response, WebError> {
    let body = page.t("mfa-webauthn-unavailable");
    MessagePage::render(
        page,
        "mfa-webauthn-title",
        vec![body],
        Some(("/mfa/setup", "mfa-choose-another")),
    )
}

fn attachment_of(text: &str) -> Attachment {
    Attachment::parse(text).unwrap_or(Attachment::SecurityKey)
}

fn setup_form(page: Page, attachment: Attachment, name: String, errors: FormErrors) -> SetupPage {
    SetupPage {
        page,
        platform: attachment == Attachment::Platform,
        name,
        errors,
        ceremony: None,
    }
}

async fn choose(
    State(state): State<WebState>,
    _access: FactorAccess,
    page: Page,
    Query(q): Query<KindQuery>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    if services.webauthn.is_none() {
        return unavailable(page);
    }
    render(&setup_form(
        page,
        attachment_of(&q.kind),
        String::new(),
        FormErrors::default(),
    ))
}

async fn begin(
    State(state): State<WebState>,
    access: FactorAccess,
    page: Page,
    CsrfForm(form): CsrfForm<BeginForm>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let Some(rp) = services.webauthn.as_ref() else {
        return unavailable(page);
    };
    let attachment = attachment_of(&form.attachment);
    let Ok(name) = valid_name(&form.name) else {
        let mut errors = FormErrors::default();
        errors.add("name", page.t("mfa-name-invalid"));
        return render(&setup_form(page, attachment, form.name, errors));
    };
    let user = &access.session.user_id;
    let address = services.accounts.primary_address(user).await?;
    let challenge = services
        .factors
        .begin_webauthn(rp, user, address.as_str(), &name, attachment)
        .await?;
    let platform = attachment == Attachment::Platform;
    let ceremony = Ceremony {
        mode: "create",
        attachment: attachment.as_str(),
        id: challenge.id,
        options_json: challenge.options_json,
        action: page.href("/mfa/webauthn/finish"),
        start_label: page.t(if platform {
            "mfa-webauthn-start-platform"
        } else {
            "mfa-webauthn-start-key"
        }),
        hidden: vec![
            ("name", name.clone()),
            ("attachment", attachment.as_str().into()),
        ],
        offer_remember: false,
    };
    render(&SetupPage {
        page,
        platform,
        name,
        errors: FormErrors::default(),
        ceremony: Some(ceremony),
    })
}

async fn finish(
    State(state): State<WebState>,
    access: FactorAccess,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FinishForm>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let Some(rp) = services.webauthn.as_ref() else {
        return unavailable(page);
    };
    let attachment = attachment_of(&form.attachment);
    let again = |page: Page, message: &str| {
        let mut errors = FormErrors::default();
        errors.add("attachment", page.t(message));
        render(&setup_form(page, attachment, form.name.clone(), errors))
    };
    if form.credential.trim().is_empty() {
        return again(page, "mfa-webauthn-nothing");
    }
    let ctx = event_context(&headers);
    match services
        .factors
        .finish_webauthn(
            rp,
            &access.session.user_id,
            &form.ceremony,
            &form.credential,
            &ctx,
        )
        .await
    {
        Ok(factor) => method_added(&state, &page, &headers, &access, &factor).await,
        Err(MfaError::WebAuthnExpired) => again(page, "mfa-webauthn-expired"),
        Err(MfaError::WebAuthnRejected) => again(page, "mfa-webauthn-rejected"),
        Err(MfaError::WebAuthnAlreadyRegistered) => again(page, "mfa-webauthn-exists"),
        Err(e) => Err(e.into()),
    }
}

/// A sign-in ceremony's page: a new ceremony every time it is shown.
async fn sign_in_ceremony(
    state: &WebState,
    page: Page,
    current: &AnySession,
    return_to: &str,
    errors: FormErrors,
    warning: Option<String>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let to_list = |page: &Page| {
        let list = other_methods(page, return_to)
            .into_iter()
            .next()
            .map_or_else(|| page.href("/sign-in/factor"), |(href, _)| href);
        Ok(Redirect::to(&list).into_response())
    };
    let Some(rp) = services.webauthn.as_ref() else {
        return to_list(&page);
    };
    let challenge: WebAuthnChallenge = match services
        .factors
        .begin_webauthn_sign_in(rp, &current.session.user_id)
        .await
    {
        Ok(c) => c,
        // No authenticator (any more): the other methods.
        Err(MfaError::NotFound) => return to_list(&page),
        Err(e) => return Err(e.into()),
    };
    let ceremony = Ceremony {
        mode: "get",
        attachment: "",
        id: challenge.id,
        options_json: challenge.options_json,
        action: page.href("/sign-in/webauthn/finish"),
        start_label: page.t("signin-webauthn-start"),
        hidden: vec![("return_to", super::verify::carried(return_to))],
        offer_remember: !current.session.is_complete(),
    };
    render(&SignInPage {
        links: other_methods(&page, return_to),
        page,
        errors,
        warning,
        ceremony,
    })
}

async fn sign_in_page(
    State(state): State<WebState>,
    current: AnySession,
    page: Page,
    Query(q): Query<SignInQuery>,
) -> Result<Response, WebError> {
    unlocked(&state, &current.session.user_id).await?;
    sign_in_ceremony(
        &state,
        page,
        &current,
        &q.return_to,
        FormErrors::default(),
        None,
    )
    .await
}

async fn sign_in(
    State(state): State<WebState>,
    current: AnySession,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Result<Response, WebError> {
    let user = current.session.user_id.clone();
    unlocked(&state, &user).await?;
    let services = state.account_services().await?;
    let Some(rp) = services.webauthn.as_ref() else {
        return Err(WebError::NotFound);
    };
    let mut errors = FormErrors::default();
    if form.credential.trim().is_empty() {
        // The script did not send an answer: nothing was tried, nothing counts.
        errors.add("webauthn", page.t("mfa-webauthn-nothing"));
        return sign_in_ceremony(&state, page, &current, &form.return_to, errors, None).await;
    }
    match services
        .factors
        .finish_webauthn_sign_in(rp, &user, &form.ceremony, &form.credential)
        .await
    {
        Ok(Some(_)) => {
            factor_passed(
                &state,
                &page,
                &headers,
                &current,
                FactorKind::WebAuthn,
                &form.return_to,
                form.remember.is_some(),
            )
            .await
        }
        Ok(None) => {
            let warning = wrong_code(&state, &page, &user).await?;
            errors.add("webauthn", page.t("signin-webauthn-wrong"));
            sign_in_ceremony(&state, page, &current, &form.return_to, errors, warning).await
        }
        // Too slow, or the page was used already: not the person's mistake.
        Err(MfaError::WebAuthnExpired) => {
            errors.add("webauthn", page.t("signin-webauthn-expired"));
            sign_in_ceremony(&state, page, &current, &form.return_to, errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}
