//! `GET/POST /verify/review`: what was read from the document, then sent to identity
//! resolution and the state-ID check (IDV-5: 5 per 6 hours) → `/verify/checks`.
//!
//! Only the address may change (IDV-10): the person may live elsewhere than the document
//! says, and the address the form sends is the one checked (resolution, then the phone or
//! the letter). The name, date of birth, ID number and issuing state are shown, never
//! inputs, and a form that sends them anyway is not read for them: they stay the
//! document's. A document whose name or date of birth does not hold (unreadable, under
//! 18) is sent back to the document step.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::context::{Ctx, Notice, Verifier, no_store};
use super::flow::Step;
use crate::idv::pii::{Pii, PiiError, valid_state};
use crate::ratelimit::IDV_RESOLUTION;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::FormErrors;
use crate::web::page::{Page, render};

/// The editable fields, as shown or as typed: the address only. Fields the form should
/// not carry (`given_name`, `birthdate` …) are not read at all.
#[derive(Default, Deserialize, Zeroize, ZeroizeOnDrop)]
struct Fields {
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    zip: String,
}

impl Fields {
    fn of(pii: &Pii) -> Self {
        Self {
            line1: pii.address.line1.clone(),
            line2: pii.address.line2.clone(),
            city: pii.address.city.clone(),
            state: pii.address.state.clone(),
            zip: pii.address.zip.clone(),
        }
    }

    /// `draft` (what the document says) with this address in place of its own.
    fn apply(&self, draft: &Pii) -> Pii {
        let mut pii = draft.clone();
        pii.address.line1 = self.line1.clone();
        pii.address.line2 = self.line2.clone();
        pii.address.city = self.city.clone();
        pii.address.state = self.state.clone();
        pii.address.zip = self.zip.clone();
        pii.normalise();
        pii
    }
}

/// What the document says and the page only shows.
struct ReadOnly {
    label: String,
    value: Zeroizing<String>,
}

fn read_only(page: &Page, draft: Option<&Pii>) -> Vec<ReadOnly> {
    let Some(pii) = draft else {
        return Vec::new();
    };
    [
        ("verify-review-given-name", &pii.given_name),
        ("verify-review-family-name", &pii.family_name),
        ("verify-review-birthdate", &pii.birthdate),
    ]
    .into_iter()
    .map(|(label, value)| ReadOnly {
        label: page.t(label),
        value: Zeroizing::new(value.clone()),
    })
    .collect()
}

#[derive(Template)]
#[template(path = "verify_review.html")]
struct ReviewPage {
    page: Page,
    errors: FormErrors,
    notice: Option<Notice>,
    /// Name and date of birth, as the document says: not inputs.
    from_document: Vec<ReadOnly>,
    fields: Vec<TextField>,
}

/// One text input of the review form.
pub(super) struct TextField {
    pub name: &'static str,
    pub label: String,
    pub hint: String,
    pub value: Zeroizing<String>,
    pub autocomplete: &'static str,
    pub maxlength: u32,
    pub required: bool,
}

impl Fields {
    fn text_fields(&self, page: &Page) -> Vec<TextField> {
        let field =
            |name, label: &str, hint: Option<&str>, value: &str, autocomplete, maxlength| {
                TextField {
                    name,
                    label: page.t(label),
                    hint: hint.map(|h| page.t(h)).unwrap_or_default(),
                    value: Zeroizing::new(value.to_owned()),
                    autocomplete,
                    maxlength,
                    required: name != "line2",
                }
            };
        vec![
            field(
                "line1",
                "verify-review-line1",
                None,
                &self.line1,
                "address-line1",
                100,
            ),
            field(
                "line2",
                "verify-review-line2",
                Some("verify-review-optional"),
                &self.line2,
                "address-line2",
                100,
            ),
            field(
                "city",
                "verify-review-city",
                None,
                &self.city,
                "address-level2",
                60,
            ),
            field(
                "state",
                "verify-review-state",
                Some("verify-review-state-hint"),
                &self.state,
                "address-level1",
                2,
            ),
            field(
                "zip",
                "verify-review-zip",
                Some("verify-review-zip-hint"),
                &self.zip,
                "postal-code",
                10,
            ),
        ]
    }
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/verify/review", get(form).post(submit))
}

fn show(
    state: &WebState,
    ctx: &Ctx,
    page: Page,
    errors: FormErrors,
    values: Fields,
) -> Result<Response, WebError> {
    render(&ReviewPage {
        errors,
        notice: Notice::of(&page, &ctx.flow, Step::Review),
        from_document: read_only(&page, ctx.draft.as_ref()),
        fields: values.text_fields(&page),
        page: ctx.page(state, page),
    })
    .map(no_store)
}

async fn form(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
) -> Result<Response, WebError> {
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Review) {
        return Ok(ctx.to_step(&page));
    }
    let values = ctx.draft.as_ref().map(Fields::of).unwrap_or_default();
    show(&state, &ctx, page, FormErrors::default(), values)
}

/// Which field a problem belongs to, and its message id.
fn field_of(e: PiiError, pii: &Pii) -> (&'static str, &'static str) {
    match e {
        // Read from the document and not editable: only new photos can change them.
        PiiError::GivenName | PiiError::FamilyName | PiiError::Birthdate => {
            ("document", "verify-review-identity-unreadable")
        }
        PiiError::TooYoung => ("document", "verify-review-too-young"),
        PiiError::Line1 => ("line1", "verify-review-line1-invalid"),
        PiiError::Line2 => ("line2", "verify-review-line2-invalid"),
        PiiError::City => ("city", "verify-review-city-invalid"),
        PiiError::State if !valid_state(&pii.address.state) => {
            ("state", "verify-review-state-invalid")
        }
        PiiError::Zip => ("zip", "verify-review-zip-invalid"),
        // What only the document says: upload it again.
        PiiError::State | PiiError::IdNumber | PiiError::Ssn => {
            ("document", "verify-review-document-invalid")
        }
    }
}

/// Every problem of `pii`, in the order of the form: each one found is set aside (on a
/// scratch copy, with a valid stand-in) and the rest checked again.
fn problems(page: &Page, pii: &Pii, now_ms: i64) -> FormErrors {
    let mut errors = FormErrors::default();
    let mut scratch = pii.clone();
    for _ in 0..12 {
        let Err(e) = scratch.validate(now_ms) else {
            break;
        };
        let (field, id) = field_of(e, &scratch);
        errors.add(field, page.t(id));
        match field {
            "line1" => scratch.address.line1 = "A".into(),
            "line2" => scratch.address.line2.clear(),
            "city" => scratch.address.city = "A".into(),
            "state" => scratch.address.state = "VA".into(),
            "zip" => scratch.address.zip = "00000".into(),
            _ => break,
        }
    }
    errors
}

async fn submit(
    State(state): State<WebState>,
    verifier: Verifier,
    page: Page,
    CsrfForm(values): CsrfForm<Fields>,
) -> Result<Response, WebError> {
    let idv = state.idv().await?;
    let ctx = Ctx::load(&state, verifier).await?;
    if !ctx.allows(Step::Review) {
        return Ok(ctx.to_step(&page));
    }
    let Some(draft) = ctx.draft.as_ref() else {
        return Ok(ctx.to_step(&page));
    };
    let pii = values.apply(draft);
    let errors = problems(&page, &pii, state.services.clock.now_ms());
    if !errors.is_empty() {
        return show(&state, &ctx, page, errors, values);
    }
    let user = ctx.user().to_owned();
    idv.limiter.hit(&IDV_RESOLUTION, &user).await?;
    let job = idv
        .jobs
        .enqueue_resolution(&user, &pii, &ctx.flow_key())
        .await?;
    let mut flow = ctx.flow.clone();
    flow.reset_checks();
    flow.resolution_job = Some(job);
    flow.draft_tag = Some(ctx.tag(&pii));
    flow.failure = None;
    if !ctx.commit(idv, &mut flow, Some(&pii)).await? {
        return Ok(Redirect::to(&page.href(Step::Review.path())).into_response());
    }
    Ok(Redirect::to(&page.href(Step::Checks.path())).into_response())
}
