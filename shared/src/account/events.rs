//! The account's history (ACC-6): an append-only log, one item per event in the account's
//! partition, written in the same transaction as the change it records, read newest first.

use crate::random::{Random, RandomExt};
use crate::store::{Cursor, Item, Key, Page, Query, Store, StoreResult};

/// What happened. The names are stable: pages translate them, agencies' security events
/// (OIDC-10) and the identity-verification issue react to some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    AccountCreated,
    SignedIn,
    PasswordChanged,
    PasswordReset,
    EmailAdded,
    EmailRemoved,
    AccountResetRequested,
    AccountResetCancelled,
    FactorAdded,
    FactorRemoved,
    BackupCodesRegenerated,
    SignedOutEverywhere,
    NotMeReported,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::AccountCreated => "account_created",
            EventKind::SignedIn => "signed_in",
            EventKind::PasswordChanged => "password_changed",
            EventKind::PasswordReset => "password_reset",
            EventKind::EmailAdded => "email_added",
            EventKind::EmailRemoved => "email_removed",
            EventKind::AccountResetRequested => "account_reset_requested",
            EventKind::AccountResetCancelled => "account_reset_cancelled",
            EventKind::FactorAdded => "factor_added",
            EventKind::FactorRemoved => "factor_removed",
            EventKind::BackupCodesRegenerated => "backup_codes_regenerated",
            EventKind::SignedOutEverywhere => "signed_out_everywhere",
            EventKind::NotMeReported => "not_me_reported",
        }
    }
}

/// Where and with what the event happened, as far as the request tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventContext {
    /// A short description of the browser and system, e.g. "Firefox on Linux".
    pub device: Option<String>,
    /// An approximate place (city, country) when the deployment can tell.
    pub place: Option<String>,
}

pub(crate) fn partition(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// The item recording `kind` now. The random suffix keeps two events of the same
/// millisecond apart; the zero-padded time keeps them in order.
pub fn event_item(
    user_id: &str,
    kind: EventKind,
    ctx: &EventContext,
    now_ms: i64,
    random: &dyn Random,
) -> Item {
    let sk = format!("EVENT#{now_ms:013}#{}", random.token(6));
    let mut item = Item::new(Key::new(partition(user_id), sk))
        .with("kind", kind.as_str())
        .with("at_ms", now_ms);
    if let Some(device) = &ctx.device {
        item = item.with("device", device.clone());
    }
    if let Some(place) = &ctx.place {
        item = item.with("place", place.clone());
    }
    item
}

/// A page of the account's history, newest first.
pub async fn history(
    store: &dyn Store,
    user_id: &str,
    limit: u32,
    after: Option<Cursor>,
) -> StoreResult<Page> {
    store
        .query(
            &Query::partition(partition(user_id))
                .prefix("EVENT#")
                .descending()
                .limit(limit)
                .after(after),
        )
        .await
}
