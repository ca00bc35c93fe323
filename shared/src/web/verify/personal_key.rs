//! `GET/POST /verify/personal-key`: the personal key (IDV-8), shown until the person
//! ticks "I have saved it" and goes on — then never again. Until then it waits in the
//! flow item, sealed under a key only this session's cookie derives; another session
//! cannot show it.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use http::HeaderMap;
use serde::Deserialize;

use super::context::{Ctx, Verifier, finished, no_store};
use super::flow::{AddressMethod, Step, open_personal_key};
use crate::idv::profile::ProfileState;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::{FormErrors, MessagePage};
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "verify_personal_key.html")]
struct KeyPage {
    page: Page,
    errors: FormErrors,
    key: String,
    letter: bool,
}

#[derive(Debug, Deserialize)]
struct AckForm {
    #[serde(default)]
    acknowledged: Option<String>,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/verify/personal-key", get(show_key).post(acknowledge))
}

async fn render_key(
    state: &WebState,
    ctx: &Ctx,
    page: Page,
    errors: FormErrors,
) -> Result<Response, WebError> {
    let sealed = ctx.flow.pending_key.as_deref().unwrap_or_default();
    let Some(key) = open_personal_key(&ctx.signed_in.token, ctx.user(), sealed) else {
        // Sealed for another session: it cannot be shown here, and will not be.
        state.idv().await?.flows.clear(ctx.user()).await?;
        let body = page.t("verify-key-elsewhere-body");
        return MessagePage::render(
            ctx.page(state, page),
            "verify-key-elsewhere-title",
            vec![body],
            Some(("/account", "verify-back-to-account")),
        )
        .map(no_store);
    };
    render(&KeyPage {
        errors,
        key: key.display().to_string(),
        letter: ctx.flow.address == Some(AddressMethod::Letter),
        page: ctx.page(state, page),
    })
    .map(no_store)
}

async fn show_key(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
) -> Result<Response, WebError> {
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::PersonalKey) {
        return Ok(ctx.to_step(&page));
    }
    render_key(&state, &ctx, page, FormErrors::default()).await
}

async fn acknowledge(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<AckForm>,
) -> Result<Response, WebError> {
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::PersonalKey) {
        return Ok(ctx.to_step(&page));
    }
    if form.acknowledged.as_deref() != Some("yes") {
        let mut errors = FormErrors::default();
        errors.add("acknowledged", page.t("verify-key-ack-missing"));
        return render_key(&state, &ctx, page, errors).await;
    }
    state.idv().await?.flows.clear(ctx.user()).await?;
    let done = match ctx.profile {
        Some(ProfileState::PendingLetter { .. }) => "letter-sent",
        _ => "verified",
    };
    Ok(finished(&page, &headers, done))
}
