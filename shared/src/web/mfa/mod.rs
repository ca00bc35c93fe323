//! Second factors on the web (MFA-1 … MFA-4, MFA-6): setting up a first or another
//! method, and the factor step that finishes a sign-in or, for a signed-in person, is
//! asked again before a sensitive action.
//!
//! Who may add a method ([`access::FactorAccess`]): a pending session of an account that
//! has no method yet (the end of sign-up), or a complete session whose last factor is
//! recent. A pending session of an account that has methods is sent to the factor step:
//! knowing the password is never enough to add one.

pub(crate) mod access;
mod added;
mod backup_codes;
mod code;
mod finish;
mod names;
mod phone;
mod setup;
mod totp;
mod verify;
mod webauthn;

use axum::Router;

use super::WebState;

pub use access::urlencode;
pub use finish::{DEVICE_COOKIE, REMEMBER_COOKIE, complete_sign_in, factor_passed};
pub use names::factor_label;

pub fn routes() -> Router<WebState> {
    Router::new()
        .merge(setup::routes())
        .merge(totp::routes())
        .merge(backup_codes::routes())
        .merge(phone::routes())
        .merge(verify::routes())
        .merge(webauthn::routes())
}
