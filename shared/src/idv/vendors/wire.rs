//! The vendors' API as JSON over HTTP: what the HTTP client sends and what the mock vendors
//! (`infra/local/src/vendors/`) answer. Every call is a `POST` of a JSON body to a path under
//! the base URL (`PASSERELLE_VENDOR_URL`):
//!
//! | Path | Body | Answer |
//! | --- | --- | --- |
//! | [`DOCUMENT_PATH`] | [`DocumentSubmission`] (images in base64) | 202 [`Accepted`], then the result by callback ([`DocumentCallback`]) |
//! | [`RESOLUTION_PATH`] | [`ResolutionRequest`] | 200 [`CheckAnswer`] |
//! | [`STATE_ID_PATH`] | [`StateIdRequest`] | 200 [`CheckAnswer`] |
//! | [`PHONE_PATH`] | [`PhoneRequest`] | 200 [`CheckAnswer`] |
//! | [`LETTER_PATH`] | [`LetterRequest`] | 202 [`Accepted`] |
//!
//! Every body but [`Accepted`] and [`CheckAnswer`] is personal data: `Debug` shows none of
//! it and the values are wiped when dropped.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::idv::pii::{Address, Pii};

pub const DOCUMENT_PATH: &str = "/document/v1/submissions";
pub const RESOLUTION_PATH: &str = "/resolution/v1/checks";
pub const STATE_ID_PATH: &str = "/state-id/v1/checks";
pub const PHONE_PATH: &str = "/address/v1/phone-checks";
pub const LETTER_PATH: &str = "/letters/v1";

/// The images of a document check. `client_ref` is the job id the callback names.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct DocumentSubmission {
    pub client_ref: String,
    /// Base64 (standard alphabet, padded).
    pub front: String,
    pub back: String,
    #[serde(default)]
    pub selfie: Option<String>,
}

/// The vendor took the request; the result (if any) comes later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub reference: String,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ResolutionRequest {
    pub given_name: String,
    pub family_name: String,
    pub birthdate: String,
    pub ssn: String,
    pub address: Address,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct StateIdRequest {
    pub given_name: String,
    pub family_name: String,
    pub birthdate: String,
    pub id_number: String,
    pub id_state: String,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct PhoneRequest {
    /// E.164.
    pub phone: String,
    pub given_name: String,
    pub family_name: String,
    pub address: Address,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct LetterRequest {
    pub client_ref: String,
    pub given_name: String,
    pub family_name: String,
    pub address: Address,
    pub code: String,
}

/// A synchronous check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckResult {
    Pass,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckAnswer {
    pub result: CheckResult,
}

/// What the document vendor posts to `/vendor/callback/document`, signed
/// ([`crate::idv::callback`]).
#[derive(Clone, Serialize, Deserialize)]
pub struct DocumentCallback {
    /// The job id the submission named.
    pub client_ref: String,
    /// The vendor's reference, as [`Accepted`] gave it.
    pub reference: String,
    /// Whether the document is genuine.
    pub authentic: bool,
    /// Whether the selfie shows the document's holder; absent without a selfie.
    #[serde(default)]
    pub selfie_match: Option<bool>,
    /// What the vendor read on the document (name, birth date, address, ID number and
    /// state); absent when it could not read it.
    #[serde(default)]
    pub extracted: Option<Pii>,
}

impl Drop for DocumentCallback {
    fn drop(&mut self) {
        self.client_ref.zeroize();
        self.reference.zeroize();
        // `extracted` wipes itself (Pii is ZeroizeOnDrop).
    }
}

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), "([redacted])"))
            }
        }
    )*};
}

redacted_debug!(
    DocumentSubmission,
    ResolutionRequest,
    StateIdRequest,
    PhoneRequest,
    LetterRequest,
    DocumentCallback
);

impl ResolutionRequest {
    pub fn from_pii(pii: &Pii) -> Self {
        Self {
            given_name: pii.given_name.clone(),
            family_name: pii.family_name.clone(),
            birthdate: pii.birthdate.clone(),
            ssn: pii.ssn.clone(),
            address: pii.address.clone(),
        }
    }
}

impl StateIdRequest {
    pub fn from_pii(pii: &Pii) -> Self {
        Self {
            given_name: pii.given_name.clone(),
            family_name: pii.family_name.clone(),
            birthdate: pii.birthdate.clone(),
            id_number: pii.id_number.clone(),
            id_state: pii.id_state.clone(),
        }
    }
}

impl PhoneRequest {
    pub fn from_pii(phone: &str, pii: &Pii) -> Self {
        Self {
            phone: phone.to_owned(),
            given_name: pii.given_name.clone(),
            family_name: pii.family_name.clone(),
            address: pii.address.clone(),
        }
    }
}

impl LetterRequest {
    pub fn from_pii(job_id: &str, pii: &Pii, code: &str) -> Self {
        Self {
            client_ref: job_id.to_owned(),
            given_name: pii.given_name.clone(),
            family_name: pii.family_name.clone(),
            address: pii.address.clone(),
            code: code.to_owned(),
        }
    }
}
