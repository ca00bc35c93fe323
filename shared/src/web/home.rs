//! The home page: what Passerelle is, in plain language, with the way in.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use super::WebState;
use super::error::WebError;
use super::page::{Page, render};

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/", get(home))
}

async fn home(page: Page) -> Result<Response, WebError> {
    render(&Home { page })
}
