//! The account page (ACC-6) and what hangs off it: addresses, password, language of
//! mail, methods, devices, history, sign-out everywhere and deletion. Every page here
//! needs a complete session; changes that could lock the owner out or hand the account
//! to someone else also need a factor from the last 20 minutes ([`recent::Recent`]).

mod connected;
mod delete;
mod emails;
mod factors;
mod history;
mod overview;
mod password;
pub(crate) mod recent;
mod settings;

use axum::Router;

use super::WebState;

pub fn routes() -> Router<WebState> {
    Router::new()
        .merge(overview::routes())
        .merge(emails::routes())
        .merge(password::routes())
        .merge(settings::routes())
        .merge(history::routes())
        .merge(factors::routes())
        .merge(delete::routes())
        .merge(connected::routes())
}
