//! Addresses on the account page: add one through a link mailed to it (24 h), remove
//! one (never the last). Every change is told to every address (ACC-8).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::HeaderMap;
use serde::Deserialize;

use super::recent::Recent;
use crate::account::accounts::AccountError;
use crate::account::addresses::AddAddress;
use crate::account::email::EmailAddress;
use crate::account::links::LinkToken;
use crate::ratelimit::REGISTRATION_EMAILS;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::{FormErrors, MessagePage, event_context, link, send_mail};
use crate::web::mail::MailKind;
use crate::web::notices::{mask_address, notify_account};
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "account_email_add.html")]
struct AddEmail {
    page: Page,
    email: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "account_email_confirm.html")]
struct ConfirmEmail {
    page: Page,
    token: String,
    address: String,
}

#[derive(Debug, Deserialize)]
struct AddForm {
    /// An email address, at most 254 characters.
    #[serde(default)]
    email: String,
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    t: String,
}

#[derive(Debug, Deserialize)]
struct RemoveForm {
    /// The address's fingerprint, as the account page gave it.
    #[serde(default)]
    fp: String,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/account/email/add", get(add_form).post(add))
        .route("/account/email/confirm", get(confirm_form).post(confirm))
        .route("/account/email/remove", post(remove))
}

async fn add_form(
    State(state): State<WebState>,
    recent: Recent,
    page: Page,
) -> Result<Response, WebError> {
    render(&AddEmail {
        page: recent.page(&state, page),
        email: String::new(),
        errors: FormErrors::default(),
    })
}

async fn add(
    State(state): State<WebState>,
    recent: Recent,
    page: Page,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<Response, WebError> {
    let mut errors = FormErrors::default();
    let email = match EmailAddress::parse(&form.email) {
        Ok(e) => e,
        Err(p) => {
            errors.add("email", page.t(p.message_id()));
            return render(&AddEmail {
                page: recent.page(&state, page),
                email: form.email,
                errors,
            });
        }
    };
    let services = state.account_services().await?;
    services
        .limiter
        .hit(&REGISTRATION_EMAILS, email.as_str())
        .await?;
    let lang = page.locale.lang;
    match services
        .accounts
        .begin_add_address(&recent.0.session.user_id, &email)
        .await?
    {
        AddAddress::Confirm(token) => {
            let url = link(&state, lang, "/account/email/confirm", Some(token.as_str()));
            send_mail(
                &state,
                &MailKind::ConfirmNewEmail { confirm_url: url },
                lang,
                email.as_str(),
            )
            .await?;
        }
        // Someone else's address: the page says the same; its owner learns of the try.
        AddAddress::TakenElsewhere => {
            let kind = MailKind::AlreadyRegistered {
                sign_in_url: link(&state, lang, "/sign-in", None),
                reset_url: link(&state, lang, "/forgot-password", None),
            };
            send_mail(&state, &kind, lang, email.as_str()).await?;
        }
        AddAddress::AlreadyYours => {
            errors.add("email", page.t("account-email-already-yours"));
        }
        AddAddress::TooMany => {
            errors.add("email", page.t("account-email-too-many"));
        }
    }
    if !errors.is_empty() {
        return render(&AddEmail {
            page: recent.page(&state, page),
            email: form.email,
            errors,
        });
    }
    let body = page.t("account-email-check-body");
    MessagePage::render(
        page,
        "check-email-title",
        vec![body],
        Some(("/account", "account-back")),
    )
}

fn link_invalid(page: Page) -> Result<Response, WebError> {
    let body = page.t("account-email-link-invalid");
    MessagePage::render(
        page,
        "link-invalid-title",
        vec![body],
        Some(("/account", "account-back")),
    )
}

/// The link from the mail shows a button: mail scanners that open links must not add
/// the address by themselves.
async fn confirm_form(
    State(state): State<WebState>,
    page: Page,
    Query(q): Query<TokenQuery>,
) -> Result<Response, WebError> {
    let Some(token) = LinkToken::parse(&q.t) else {
        return link_invalid(page);
    };
    let services = state.account_services().await?;
    match services.accounts.add_address_link(&token).await {
        Ok(address) => render(&ConfirmEmail {
            page,
            token: q.t,
            address: address.as_str().to_owned(),
        }),
        Err(AccountError::LinkInvalid) => link_invalid(page),
        Err(e) => Err(e.into()),
    }
}

async fn confirm(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<TokenQuery>,
) -> Result<Response, WebError> {
    let Some(token) = LinkToken::parse(&form.t) else {
        return link_invalid(page);
    };
    let services = state.account_services().await?;
    let ctx = event_context(&headers);
    match services.accounts.confirm_add_address(&token, &ctx).await {
        Ok((account, address)) => {
            notify_account(&state, &account.id, |_, not_me_url| MailKind::EmailAdded {
                address_masked: mask_address(address.as_str()),
                not_me_url,
            })
            .await?;
            let body = page.t("account-email-added-body");
            MessagePage::render(
                page,
                "account-email-added-title",
                vec![body],
                Some(("/account", "account-back")),
            )
        }
        Err(
            AccountError::LinkInvalid | AccountError::EmailTaken | AccountError::TooManyAddresses,
        ) => link_invalid(page),
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
    match services
        .accounts
        .remove_address(&user, &form.fp, &ctx)
        .await
    {
        Ok(removed) => {
            let masked = mask_address(removed.as_str());
            notify_account(&state, &user, |_, not_me_url| MailKind::EmailRemoved {
                address_masked: masked.clone(),
                not_me_url,
            })
            .await?;
            // The removed address hears of it too: it may be the owner's only way to
            // notice someone else did it.
            let lang = page.locale.lang;
            let token = services.accounts.not_me_link(&user).await?;
            let kind = MailKind::EmailRemoved {
                address_masked: masked,
                not_me_url: link(&state, lang, "/not-me", Some(token.as_str())),
            };
            send_mail(&state, &kind, lang, removed.as_str()).await?;
            Ok(Redirect::to(&page.href("/account?done=email-removed")).into_response())
        }
        Err(AccountError::LastAddress) => {
            let body = page.t("account-email-last");
            MessagePage::render(
                page,
                "account-email-remove-title",
                vec![body],
                Some(("/account", "account-back")),
            )
        }
        Err(AccountError::AddressNotFound) => {
            Ok(Redirect::to(&page.href("/account")).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
