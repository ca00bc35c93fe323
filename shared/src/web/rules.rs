//! `GET /rules-of-use`: the short rules a person accepts when creating an account (ACC-1).

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use super::WebState;
use super::error::WebError;
use super::page::{Page, render};

#[derive(Template)]
#[template(path = "rules_of_use.html")]
struct RulesOfUse {
    page: Page,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/rules-of-use", get(rules_of_use))
}

async fn rules_of_use(page: Page) -> Result<Response, WebError> {
    render(&RulesOfUse { page })
}
