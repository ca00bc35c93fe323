//! The accounts side of the web state: [`Accounts`], the [`RateLimiter`], [`Sessions`],
//! second [`Factors`], [`Devices`] and the WebAuthn [`RelyingParty`], built once per
//! process on first use.
//!
//! They are built lazily because `Accounts` needs the deployment's fingerprint key, which
//! is loaded (or created) through the store and the key service: an async step that
//! `Services::embedded` (sync, used by many tests) cannot take, and that pages which never
//! touch an account (home, health, assets) should not wait for.

use std::sync::Arc;

use tokio::sync::OnceCell;

use super::error::WebError;
use crate::account::accounts::Accounts;
use crate::account::password_hash::HashParams;
use crate::mfa::{Factors, RelyingParty};
use crate::ratelimit::RateLimiter;
use crate::services::Services;
use crate::session::devices::Devices;
use crate::session::remember::RememberedBrowsers;
use crate::session::{SessionPolicy, Sessions};

/// What the account pages work with.
#[derive(Debug)]
pub struct AccountServices {
    pub accounts: Accounts,
    pub limiter: RateLimiter,
    pub sessions: Sessions,
    pub factors: Factors,
    pub devices: Devices,
    pub remembered: RememberedBrowsers,
    /// Security keys and face or touch unlock, for the public URL; `None` when that URL
    /// cannot be a relying party (an IP address): the pages then do not offer them.
    pub webauthn: Option<RelyingParty>,
}

/// The lazily built [`AccountServices`] and the argon2 cost they use.
#[derive(Debug)]
pub struct AccountCell {
    cell: OnceCell<AccountServices>,
    hash: HashParams,
    policy: SessionPolicy,
}

impl AccountCell {
    pub fn new(hash: HashParams, policy: SessionPolicy) -> Self {
        Self {
            cell: OnceCell::new(),
            hash,
            policy,
        }
    }

    /// The account services, built on first call. A failure (store or key service down)
    /// is not remembered: the next request tries again.
    pub async fn get(
        &self,
        services: &Services,
        public_url: &str,
    ) -> Result<&AccountServices, WebError> {
        self.cell
            .get_or_try_init(|| async {
                let accounts = Accounts::new(
                    Arc::clone(&services.store),
                    Arc::clone(&services.envelope),
                    Arc::clone(&services.clock),
                    Arc::clone(&services.random),
                    self.hash,
                )
                .await
                .map_err(WebError::from)?;
                let limiter = RateLimiter::new(
                    Arc::clone(&services.store),
                    Arc::clone(&services.clock),
                    accounts.fingerprints().subkey("ratelimit"),
                );
                let sessions = Sessions::new(
                    Arc::clone(&services.store),
                    Arc::clone(&services.clock),
                    Arc::clone(&services.random),
                    self.policy,
                );
                let factors = Factors::new(
                    Arc::clone(&services.store),
                    Arc::clone(&services.envelope),
                    Arc::clone(&services.clock),
                    Arc::clone(&services.random),
                    accounts.fingerprints().subkey("mfa"),
                );
                let devices =
                    Devices::new(Arc::clone(&services.store), Arc::clone(&services.clock));
                let remembered = RememberedBrowsers::new(
                    Arc::clone(&services.store),
                    Arc::clone(&services.envelope),
                    Arc::clone(&services.clock),
                );
                let webauthn = match RelyingParty::new(public_url, "Passerelle") {
                    Ok(rp) => Some(rp),
                    Err(e) => {
                        tracing::warn!(error = %e, "security keys and face or touch unlock are off");
                        None
                    }
                };
                Ok(AccountServices {
                    accounts,
                    limiter,
                    sessions,
                    factors,
                    devices,
                    remembered,
                    webauthn,
                })
            })
            .await
    }
}
