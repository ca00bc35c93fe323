//! The identity-proofing vendors behind narrow ports (IDV-3), one per capability: document
//! authenticity with data extraction and selfie match, identity resolution, state-ID check,
//! phone-to-address, letter sending. The worker calls them; the document vendor answers
//! later through a signed callback ([`crate::idv::callback`]).
//!
//! [`wire`] is the JSON the vendors' API speaks (shared by the HTTP clients and the local
//! mock vendors); [`http`] (feature `vendors`) is the client, with per-call timeouts and
//! bounded retries.

#[cfg(feature = "vendors")]
pub mod http;
pub mod wire;

use std::sync::Arc;

use async_trait::async_trait;

use super::pii::Pii;

/// Which capability, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Document,
    Resolution,
    StateId,
    Address,
    Letter,
}

impl Vendor {
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Document => "document",
            Vendor::Resolution => "resolution",
            Vendor::StateId => "state-id",
            Vendor::Address => "phone-address",
            Vendor::Letter => "letter",
        }
    }
}

/// A check's answer about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VendorError {
    /// The vendor did not answer in time, or failed (5xx, 429, connection): try again
    /// later. The detail is for logs and never holds personal data.
    #[error("the vendor is unavailable: {0}")]
    Unavailable(String),
    /// The vendor refused the request (4xx): asking again would get the same answer.
    #[error("the vendor refused the request: {0}")]
    Rejected(String),
}

impl VendorError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, VendorError::Unavailable(_))
    }
}

/// The images of one document check: both sides of the ID, and a selfie when the agency
/// asks for a facial match.
#[derive(Clone, Copy)]
pub struct DocumentImages<'a> {
    pub front: &'a [u8],
    pub back: &'a [u8],
    pub selfie: Option<&'a [u8]>,
}

impl std::fmt::Debug for DocumentImages<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentImages")
            .field("front", &self.front.len())
            .field("back", &self.back.len())
            .field("selfie", &self.selfie.map(<[u8]>::len))
            .finish()
    }
}

/// Document authenticity, data extraction and selfie match. The vendor accepts the images
/// and answers later by callback, naming `job_id`.
#[async_trait]
pub trait DocumentVendor: Send + Sync + std::fmt::Debug {
    /// Submits the images; returns the vendor's reference for this check.
    async fn submit(&self, job_id: &str, images: DocumentImages<'_>)
    -> Result<String, VendorError>;
}

/// Identity resolution: do the name, date of birth, SSN and address belong together?
#[async_trait]
pub trait ResolutionVendor: Send + Sync + std::fmt::Debug {
    async fn resolve(&self, pii: &Pii) -> Result<Verdict, VendorError>;
}

/// The issuing state's records: does this ID number exist with this name and birth date?
#[async_trait]
pub trait StateIdVendor: Send + Sync + std::fmt::Debug {
    async fn check_state_id(&self, pii: &Pii) -> Result<Verdict, VendorError>;
}

/// Phone-to-address: is `phone` (E.164) the person's, at the person's address?
#[async_trait]
pub trait AddressVendor: Send + Sync + std::fmt::Debug {
    async fn check_phone(&self, phone: &str, pii: &Pii) -> Result<Verdict, VendorError>;
}

/// Mails a letter with a code to the person's address (name and address from `pii`);
/// returns the vendor's reference. The code comes from [`crate::idv::letter`].
#[async_trait]
pub trait LetterVendor: Send + Sync + std::fmt::Debug {
    async fn send_letter(&self, job_id: &str, pii: &Pii, code: &str)
    -> Result<String, VendorError>;
}

/// Every vendor the worker calls.
#[derive(Debug, Clone)]
pub struct Vendors {
    pub document: Arc<dyn DocumentVendor>,
    pub resolution: Arc<dyn ResolutionVendor>,
    pub state_id: Arc<dyn StateIdVendor>,
    pub address: Arc<dyn AddressVendor>,
    pub letter: Arc<dyn LetterVendor>,
}

impl Vendors {
    /// One implementation for every capability (the HTTP client, a test fake).
    pub fn all<V>(vendor: Arc<V>) -> Self
    where
        V: DocumentVendor + ResolutionVendor + StateIdVendor + AddressVendor + LetterVendor,
        V: 'static,
    {
        Self {
            document: vendor.clone(),
            resolution: vendor.clone(),
            state_id: vendor.clone(),
            address: vendor.clone(),
            letter: vendor,
        }
    }
}
