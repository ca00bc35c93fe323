//! `GET /account/history`: the account's events, newest first, 20 per page, each with
//! its time, the browser and, when known, the approximate place.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::account::events::history;
use crate::store::{Cursor, Item, StoreError};
use crate::web::WebState;
use crate::web::error::WebError;
use crate::web::page::{Page, render};
use crate::web::session::SignedIn;
use crate::web::when::format_utc;

const PAGE_SIZE: u32 = 20;

pub struct EventRow {
    pub what: String,
    pub when: String,
    pub device: String,
    pub place: String,
}

/// Table rows for event items, in the page's language.
pub fn rows(page: &Page, items: &[Item]) -> Vec<EventRow> {
    items
        .iter()
        .map(|item| {
            let kind = item.str("kind").unwrap_or("unknown");
            let id = format!("event-{}", kind.replace('_', "-"));
            let what = page.t(&id);
            EventRow {
                // An event this version has no words for still shows, by its name.
                what: if what == id { kind.to_owned() } else { what },
                when: item.num("at_ms").map(format_utc).unwrap_or_default(),
                device: item.str("device").unwrap_or_default().to_owned(),
                place: item.str("place").unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "account_history.html")]
struct HistoryPage {
    page: Page,
    events: Vec<EventRow>,
    older_href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct After {
    /// The opaque cursor of the previous page.
    #[serde(default)]
    after: Option<String>,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/account/history", get(show))
}

async fn show(
    State(state): State<WebState>,
    signed_in: SignedIn,
    page: Page,
    Query(q): Query<After>,
) -> Result<Response, WebError> {
    let cursor = match q.after.as_deref() {
        Some(text) => Some(Cursor::parse(text).ok_or(WebError::BadRequest)?),
        None => None,
    };
    let user = &signed_in.session.user_id;
    let found = history(state.services.store.as_ref(), user, PAGE_SIZE, cursor)
        .await
        .map_err(|e| match e {
            // A cursor from another query (edited by hand): the request is wrong.
            StoreError::Invalid(_) => WebError::BadRequest,
            e => e.into(),
        })?;
    let events = rows(&page, &found.items);
    let older_href = found.next.map(|c| {
        format!(
            "{}?after={}",
            page.href("/account/history"),
            crate::web::mfa::urlencode(c.as_str())
        )
    });
    render(&HistoryPage {
        events,
        older_href,
        page: signed_in.page(&state, page),
    })
}
