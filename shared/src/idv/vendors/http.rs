//! The vendors' HTTP client: JSON over HTTP(S) to one base URL ([`super::wire`]), each call
//! bounded by a timeout and retried with exponential back-off when the vendor is
//! unavailable (timeouts, connection failures, 5xx, 429). A 4xx is a definite answer and
//! is never retried. TLS is rustls on aws-lc-rs, with the platform's root certificates.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::{self, Accepted, CheckAnswer, CheckResult};
use super::{
    AddressVendor, DocumentImages, DocumentVendor, LetterVendor, ResolutionVendor, StateIdVendor,
    Vendor, VendorError, Vendors, Verdict,
};
use crate::config::{ConfigError, VendorConfig};
use crate::idv::pii::Pii;

/// How one call waits and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Each try's whole exchange, connection included.
    pub timeout: Duration,
    /// Tries per call, the first included (at least 1).
    pub tries: u32,
    /// The wait before the second try; doubled before each next one.
    pub backoff: Duration,
}

impl RetryPolicy {
    /// Two tries, 200 ms apart: with the default 5 s timeout a call ends within ~10.2 s,
    /// so a job's two calls fit the worker's 30 s.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            tries: 2,
            backoff: Duration::from_millis(200),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpVendors {
    client: reqwest::Client,
    base_url: String,
    policy: RetryPolicy,
}

impl HttpVendors {
    /// A client of the vendors at `base_url` (no trailing slash).
    pub fn new(base_url: &str, policy: RetryPolicy) -> Result<Self, VendorError> {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.timeout)
            .timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| VendorError::Unavailable(format!("no HTTP client: {e}")))?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            policy: RetryPolicy {
                tries: policy.tries.max(1),
                ..policy
            },
        })
    }

    /// The client `PASSERELLE_VENDOR_URL` and `PASSERELLE_VENDOR_TIMEOUT_MS` describe.
    pub fn from_config(config: &VendorConfig) -> Result<Self, ConfigError> {
        let url = config.url()?;
        let policy = RetryPolicy::with_timeout(Duration::from_millis(config.timeout_ms));
        Self::new(url, policy).map_err(|e| ConfigError {
            variable: "PASSERELLE_VENDOR_URL",
            value: format!("{url} ({e})"),
            expected: "an http(s) base URL the HTTP client can use",
        })
    }

    /// Every vendor port served by this client.
    pub fn vendors(self) -> Vendors {
        Vendors::all(Arc::new(self))
    }

    /// POSTs `body` to `path`; retries what may succeed later; decodes a 2xx answer.
    async fn post<B: Serialize + Sync, R: DeserializeOwned>(
        &self,
        vendor: Vendor,
        path: &str,
        body: &B,
    ) -> Result<R, VendorError> {
        let url = format!("{}{path}", self.base_url);
        let mut wait = self.policy.backoff;
        let mut last = VendorError::Unavailable("no try was made".into());
        for attempt in 1..=self.policy.tries {
            if attempt > 1 {
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
            match self.client.post(&url).json(body).send().await {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        // A 2xx that is not the expected JSON is the vendor's fault: retry.
                        match response.json::<R>().await {
                            Ok(answer) => return Ok(answer),
                            Err(e) if e.is_timeout() => {
                                last = VendorError::Unavailable(format!(
                                    "{}: timed out reading the answer",
                                    vendor.name()
                                ));
                            }
                            Err(_) => {
                                last = VendorError::Unavailable(format!(
                                    "{}: an unexpected answer ({status})",
                                    vendor.name()
                                ));
                            }
                        }
                    } else if status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                        || status == reqwest::StatusCode::REQUEST_TIMEOUT
                    {
                        last = VendorError::Unavailable(format!("{}: {status}", vendor.name()));
                    } else {
                        // 3xx (redirects are not followed) and 4xx: the same request gets
                        // the same answer.
                        return Err(VendorError::Rejected(format!(
                            "{}: {status}",
                            vendor.name()
                        )));
                    }
                }
                Err(e) => {
                    let what = if e.is_timeout() {
                        "timed out"
                    } else if e.is_connect() {
                        "could not connect"
                    } else {
                        "the request failed"
                    };
                    last = VendorError::Unavailable(format!("{}: {what}", vendor.name()));
                }
            }
            tracing::warn!(
                vendor = vendor.name(),
                attempt,
                tries = self.policy.tries,
                error = %last,
                "vendor call failed"
            );
        }
        Err(last)
    }
}

fn verdict(answer: CheckAnswer) -> Verdict {
    match answer.result {
        CheckResult::Pass => Verdict::Pass,
        CheckResult::Fail => Verdict::Fail,
    }
}

#[async_trait]
impl DocumentVendor for HttpVendors {
    async fn submit(
        &self,
        job_id: &str,
        images: DocumentImages<'_>,
    ) -> Result<String, VendorError> {
        let body = wire::DocumentSubmission {
            client_ref: job_id.to_owned(),
            front: STANDARD.encode(images.front),
            back: STANDARD.encode(images.back),
            selfie: images.selfie.map(|s| STANDARD.encode(s)),
        };
        let accepted: Accepted = self
            .post(Vendor::Document, wire::DOCUMENT_PATH, &body)
            .await?;
        Ok(accepted.reference)
    }
}

#[async_trait]
impl ResolutionVendor for HttpVendors {
    async fn resolve(&self, pii: &Pii) -> Result<Verdict, VendorError> {
        let body = wire::ResolutionRequest::from_pii(pii);
        self.post(Vendor::Resolution, wire::RESOLUTION_PATH, &body)
            .await
            .map(verdict)
    }
}

#[async_trait]
impl StateIdVendor for HttpVendors {
    async fn check_state_id(&self, pii: &Pii) -> Result<Verdict, VendorError> {
        let body = wire::StateIdRequest::from_pii(pii);
        self.post(Vendor::StateId, wire::STATE_ID_PATH, &body)
            .await
            .map(verdict)
    }
}

#[async_trait]
impl AddressVendor for HttpVendors {
    async fn check_phone(&self, phone: &str, pii: &Pii) -> Result<Verdict, VendorError> {
        let body = wire::PhoneRequest::from_pii(phone, pii);
        self.post(Vendor::Address, wire::PHONE_PATH, &body)
            .await
            .map(verdict)
    }
}

#[async_trait]
impl LetterVendor for HttpVendors {
    async fn send_letter(
        &self,
        job_id: &str,
        pii: &Pii,
        code: &str,
    ) -> Result<String, VendorError> {
        let body = wire::LetterRequest::from_pii(job_id, pii, code);
        let accepted: Accepted = self.post(Vendor::Letter, wire::LETTER_PATH, &body).await?;
        Ok(accepted.reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_vendor_that_is_down_is_unavailable_after_the_tries() {
        // Given a port nothing listens on
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let policy = RetryPolicy {
            timeout: Duration::from_millis(300),
            tries: 2,
            backoff: Duration::from_millis(10),
        };
        let client = HttpVendors::new(&format!("http://127.0.0.1:{port}"), policy).unwrap();
        // When a check is asked, then it is unavailable (retryable), not a failure
        let err = client.resolve(&Pii::default()).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }
}
