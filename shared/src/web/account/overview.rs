//! `GET /account`: everything about the account on one page, each part with its actions.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::history::{EventRow, rows};
use crate::account::events::history;
use crate::idv::letter::LetterStanding;
use crate::idv::profile::ProfileState;
use crate::mfa::FactorKind;
use crate::web::WebState;
use crate::web::error::WebError;
use crate::web::i18n::Lang;
use crate::web::mfa::factor_label;
use crate::web::page::{Page, render};
use crate::web::session::SignedIn;
use crate::web::when::format_utc;

/// Events shown on the page itself; the history page has the rest.
const RECENT_EVENTS: u32 = 5;

pub struct EmailRow {
    pub fp: String,
    pub address: String,
}

pub struct FactorRow {
    pub id: String,
    pub label: String,
    pub name: String,
    pub renamable: bool,
    pub detail: String,
}

pub struct DeviceRow {
    pub name: String,
    pub last_used: String,
    pub place: String,
}

pub struct LocaleChoice {
    pub code: &'static str,
    pub name: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: Page,
    notice: Option<String>,
    emails: Vec<EmailRow>,
    can_add_email: bool,
    can_remove_email: bool,
    factors: Vec<FactorRow>,
    can_remove_factor: bool,
    locales: Vec<LocaleChoice>,
    devices: Vec<DeviceRow>,
    events: Vec<EventRow>,
    /// The verified identity: `none`, `active`, `pending` (a letter's code),
    /// `letter-expired` (waiting, but every letter expired: a new one is needed) or
    /// `deactivated` (after a password reset), and since when.
    identity: &'static str,
    identity_since: String,
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    /// What was just changed, for the confirmation line: a fixed word, never echoed.
    #[serde(default)]
    done: Option<String>,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/account", get(show))
}

async fn show(
    State(state): State<WebState>,
    signed_in: SignedIn,
    page: Page,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let user = &signed_in.session.user_id;
    let account = services
        .accounts
        .account(user)
        .await?
        .ok_or(WebError::NotFound)?;
    let lang = page.locale.lang;
    let emails: Vec<EmailRow> = services
        .accounts
        .list_addresses(user)
        .await?
        .into_iter()
        .map(|e| EmailRow {
            fp: e.fp,
            address: e.address.as_str().to_owned(),
        })
        .collect();
    let factors: Vec<FactorRow> = services
        .factors
        .list(user)
        .await?
        .iter()
        .map(|f| FactorRow {
            id: f.id.clone(),
            label: factor_label(lang, f),
            name: f.name.clone(),
            renamable: f.kind != FactorKind::BackupCodes,
            // A security key's kind is already in its label.
            detail: match f.kind {
                FactorKind::WebAuthn => String::new(),
                _ => f.detail.clone().unwrap_or_default(),
            },
        })
        .collect();
    let devices = services
        .devices
        .list(user)
        .await?
        .into_iter()
        .map(|d| DeviceRow {
            name: if d.name.is_empty() {
                page.t("device-unknown")
            } else {
                d.name
            },
            last_used: format_utc(d.last_ms),
            place: d.place.unwrap_or_default(),
        })
        .collect();
    let recent = history(state.services.store.as_ref(), user, RECENT_EVENTS, None).await?;
    let events = rows(&page, &recent.items);
    let locales = Lang::ALL
        .into_iter()
        .map(|l| LocaleChoice {
            code: l.code(),
            name: l.native_name(),
            selected: l.code() == account.locale,
        })
        .collect();
    let notice = q.done.as_deref().and_then(|d| match d {
        "password" => Some(page.t("account-done-password")),
        "email-added" => Some(page.t("account-done-email-added")),
        "email-removed" => Some(page.t("account-done-email-removed")),
        "language" => Some(page.t("account-done-language")),
        "factor-removed" => Some(page.t("account-done-factor-removed")),
        "factor-renamed" => Some(page.t("account-done-factor-renamed")),
        "browsers-forgotten" => Some(page.t("account-done-browsers-forgotten")),
        "verified" => Some(page.t("verify-done-verified")),
        "letter-sent" => Some(page.t("verify-done-letter-sent")),
        _ => None,
    });
    let idv = state.idv().await?;
    let (identity, identity_since) = match idv.profiles.status(user).await? {
        None => ("none", String::new()),
        Some(ProfileState::Active { verified_ms }) => ("active", format_utc(verified_ms)),
        Some(ProfileState::PendingLetter { since_ms }) => {
            match idv.letters.standing(user, since_ms).await? {
                LetterStanding::Expired => ("letter-expired", format_utc(since_ms)),
                _ => ("pending", format_utc(since_ms)),
            }
        }
        Some(ProfileState::Deactivated { since_ms, .. }) => ("deactivated", format_utc(since_ms)),
    };
    render(&AccountPage {
        notice,
        identity,
        identity_since,
        can_add_email: (emails.len() as i64) < crate::account::accounts::MAX_ADDRESSES,
        can_remove_email: emails.len() > 1,
        emails,
        can_remove_factor: factors.len() > 1,
        factors,
        locales,
        devices,
        events,
        page: signed_in.page(&state, page),
    })
}
