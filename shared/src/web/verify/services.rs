//! What the verification pages work with — verified identities, letters, duplicate
//! claims, the session's copy of the PII, proofing jobs and the flow items — built once
//! per process on first use, like [`crate::web::account_state`] (they need the
//! deployment's fingerprint key, which the account services load).

use std::sync::Arc;

use tokio::sync::OnceCell;

use super::flow::Flows;
use crate::idv::duplicates::Duplicates;
use crate::idv::jobs::Jobs;
use crate::idv::letter::Letters;
use crate::idv::profile::Profiles;
use crate::idv::session_pii::SessionPii;
use crate::ratelimit::RateLimiter;
use crate::web::WebState;
use crate::web::error::WebError;

#[derive(Debug)]
pub struct IdvServices {
    pub profiles: Profiles,
    pub letters: Letters,
    pub duplicates: Duplicates,
    pub session_pii: SessionPii,
    /// Proofing jobs on the services' proofing queue.
    pub jobs: Jobs,
    /// The same counters as the account services' limiter (same fingerprint key).
    pub limiter: Arc<RateLimiter>,
    pub flows: Flows,
}

/// The lazily built [`IdvServices`].
#[derive(Debug, Default)]
pub struct IdvCell {
    cell: OnceCell<IdvServices>,
}

impl IdvCell {
    /// Built on first call with the state's argon2 cost (which also derives the sealing
    /// keys). A failure is not remembered: the next request tries again.
    pub async fn get(&self, state: &WebState) -> Result<&IdvServices, WebError> {
        self.cell
            .get_or_try_init(|| async {
                let accounts = &state.account_services().await?.accounts;
                let s = &state.services;
                let fingerprints = accounts.fingerprints();
                let limiter = Arc::new(RateLimiter::new(
                    Arc::clone(&s.store),
                    Arc::clone(&s.clock),
                    fingerprints.subkey("ratelimit"),
                ));
                Ok(IdvServices {
                    profiles: Profiles::new(
                        Arc::clone(&s.store),
                        Arc::clone(&s.envelope),
                        Arc::clone(&s.clock),
                        Arc::clone(&s.random),
                        Arc::clone(&limiter),
                        state.hash,
                    ),
                    letters: Letters::new(
                        Arc::clone(&s.store),
                        Arc::clone(&s.clock),
                        Arc::clone(&s.random),
                        Arc::clone(&limiter),
                        fingerprints.subkey("idv-letter"),
                    ),
                    duplicates: Duplicates::new(Arc::clone(&s.store), Arc::clone(&s.keys)),
                    session_pii: SessionPii::new(Arc::clone(&s.store), Arc::clone(&s.random)),
                    jobs: s.proofing(),
                    limiter,
                    flows: Flows::new(
                        Arc::clone(&s.store),
                        Arc::clone(&s.clock),
                        Arc::clone(&s.random),
                    ),
                })
            })
            .await
    }
}

impl WebState {
    /// The identity-verification services (built on the first call).
    pub async fn idv(&self) -> Result<&IdvServices, WebError> {
        self.idv.get(self).await
    }
}
