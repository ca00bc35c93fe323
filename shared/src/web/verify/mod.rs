//! The identity-verification pages (IDV-1): consent → document capture → SSN → review →
//! checks → address confirmation (phone, or letter) → password → personal key; the
//! letter code, and the personal key after a password reset (ACC-5).
//!
//! - Where the person stands is kept server-side, one item per account ([`flow`]): only
//!   times, job ids, which checks passed and the address method — never PII. Every
//!   change is a conditional write, so two tabs, the back button or a refresh cannot
//!   make a check's result apply to data it did not check.
//! - The PII being verified (the "draft") lives only in the session ([`SessionPii`],
//!   IDV-9). The flow item holds a tag of the draft under a key derived from the
//!   session cookie's token ([`flow::draft_tag`]); a draft that does not match its tag
//!   (changed in another tab meanwhile) sends the person back to review it, and its
//!   checks run again.
//! - Each page refuses to run before its step ([`context::Ctx::allows`]) and redirects
//!   to the step the person is at. Going back to an earlier step and submitting it again
//!   clears what came after it.
//! - The checks run in proofing jobs ([`crate::idv::jobs`]); their pages poll
//!   (`verify_poll.js`, or a meta refresh without JavaScript) and settle the result
//!   when it is in.
//!
//! [`SessionPii`]: crate::idv::session_pii::SessionPii

mod address;
mod checks;
pub mod context;
mod document;
mod errors;
pub mod flow;
mod intro;
mod letter;
mod password;
mod personal_key;
mod reactivate;
mod review;
pub mod services;
mod ssn;
mod wait;

use axum::Router;

use super::WebState;

pub use services::{IdvCell, IdvServices};

/// The largest upload body the document page reads: three 5 MB images and the form's
/// overhead. A bigger body gets the "too large" page (413) before anything is stored.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<WebState> {
    Router::new()
        .merge(intro::routes())
        .merge(document::routes())
        .merge(ssn::routes())
        .merge(review::routes())
        .merge(checks::routes())
        .merge(address::routes())
        .merge(password::routes())
        .merge(personal_key::routes())
        .merge(letter::routes())
        .merge(reactivate::routes())
        .merge(wait::routes())
}
