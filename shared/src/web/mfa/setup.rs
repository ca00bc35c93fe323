//! `GET /mfa/setup`: choose a method, in plain words, the phishing-resistant ones (a
//! security key, face or touch unlock) first; after the first, a second one is suggested.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::access::{FactorAccess, Stage};
use super::names::factor_label;
use crate::mfa::FactorKind;
use crate::web::WebState;
use crate::web::error::WebError;
use crate::web::page::{Page, render};
use crate::web::session::SessionTimeout;

/// One method on offer.
#[derive(Debug, Clone)]
pub struct Choice {
    pub href: String,
    pub title: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "mfa_setup.html")]
struct Setup {
    page: Page,
    first: bool,
    /// The method just added, named, when arriving from its set-up.
    added: Option<String>,
    existing: Vec<String>,
    choices: Vec<Choice>,
    /// Security keys and face or touch unlock are on offer (not at an IP address).
    phishing_resistant: bool,
}

#[derive(Debug, Default, Deserialize)]
struct SetupQuery {
    /// The kind just added (`webauthn`, `totp`, `phone`, `backup_codes`).
    #[serde(default)]
    added: Option<String>,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/mfa/setup", get(choose))
}

async fn choose(
    State(state): State<WebState>,
    access: FactorAccess,
    page: Page,
    Query(q): Query<SetupQuery>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let factors = services.factors.list(&access.session.user_id).await?;
    let lang = page.locale.lang;
    let existing: Vec<String> = factors.iter().map(|f| factor_label(lang, f)).collect();
    let added = q
        .added
        .as_deref()
        .and_then(FactorKind::parse)
        .and_then(|k| factors.iter().rev().find(|f| f.kind == k))
        .map(|f| factor_label(lang, f));
    let has = |k: FactorKind| factors.iter().any(|f| f.kind == k);
    let mut choices = Vec::new();
    // The phishing-resistant methods first (MFA-6).
    let phishing_resistant = services.webauthn.is_some();
    if phishing_resistant {
        choices.push(Choice {
            href: page.href("/mfa/webauthn?type=security_key"),
            title: page.t("mfa-choice-webauthn-key-title"),
            description: page.t("mfa-choice-webauthn-key-body"),
        });
        choices.push(Choice {
            href: page.href("/mfa/webauthn?type=platform"),
            title: page.t("mfa-choice-webauthn-platform-title"),
            description: page.t("mfa-choice-webauthn-platform-body"),
        });
    }
    let totp_count = factors
        .iter()
        .filter(|f| f.kind == FactorKind::Totp)
        .count();
    if totp_count < 2 {
        choices.push(Choice {
            href: page.href("/mfa/totp"),
            title: page.t("mfa-choice-totp-title"),
            description: page.t("mfa-choice-totp-body"),
        });
    }
    if factors
        .iter()
        .filter(|f| f.kind == FactorKind::Phone)
        .count()
        < 5
    {
        choices.push(Choice {
            href: page.href("/mfa/phone"),
            title: page.t("mfa-choice-phone-title"),
            description: page.t("mfa-choice-phone-body"),
        });
    }
    if !has(FactorKind::BackupCodes) {
        choices.push(Choice {
            href: page.href("/mfa/backup-codes"),
            title: page.t("mfa-choice-backup-title"),
            description: page.t("mfa-choice-backup-body"),
        });
    }
    let page = if access.session.is_complete() {
        let now = state.services.clock.now_ms();
        page.signed_in(SessionTimeout::of(
            &access.session,
            services.sessions.policy(),
            now,
        ))
    } else {
        page
    };
    render(&Setup {
        page,
        first: access.stage == Stage::First,
        added,
        existing,
        choices,
        phishing_resistant,
    })
}
