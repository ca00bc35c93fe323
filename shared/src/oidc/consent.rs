//! Consent (OIDC-8): what each person allowed each agency to receive. Asked again after a
//! year, when an agency asks for an attribute not yet allowed, after the identity is
//! verified again, or after the person revoked it on the account page.

use std::sync::Arc;

use crate::account::events::partition;
use crate::clock::Clock;
use crate::store::{Expect, Item, Key, Query, Store};

use super::{OidcError, secs};

/// OIDC-8: a consent lasts a year.
pub const CONSENT_SECS: i64 = 365 * 24 * 3600;

/// One agency the person shares attributes with, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEntry {
    pub client_id: String,
    pub agency_name: String,
    pub scopes: Vec<String>,
    pub granted_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Consents {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

fn key(user_id: &str, client_id: &str) -> Key {
    Key::new(partition(user_id), format!("CONSENT#{client_id}"))
}

impl Consents {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Whether the person must be asked before `client_id` receives `scopes`.
    /// `verified_ms` is when the identity was last verified (none for IAL1).
    pub async fn needed(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        verified_ms: Option<i64>,
    ) -> Result<bool, OidcError> {
        let Some(item) = self.store.get(&key(user_id, client_id)).await? else {
            return Ok(true);
        };
        let granted: Vec<&str> = item.str("scopes").unwrap_or("").split(' ').collect();
        let covers_scopes = scopes.iter().all(|s| granted.contains(&s.as_str()));
        let covers_verification = verified_ms.is_none_or(|v| item.num("verified_ms") == Some(v));
        Ok(!(covers_scopes && covers_verification))
    }

    /// Records the person's consent (replacing an earlier one).
    pub async fn grant(
        &self,
        user_id: &str,
        client_id: &str,
        agency_name: &str,
        scopes: &[String],
        verified_ms: Option<i64>,
    ) -> Result<(), OidcError> {
        let now = self.clock.now_ms();
        let mut item = Item::new(key(user_id, client_id))
            .with("client_id", client_id)
            .with("name", agency_name)
            .with("scopes", scopes.join(" "))
            .with("granted_ms", now)
            .expiring_at(secs(now) + CONSENT_SECS);
        if let Some(v) = verified_ms {
            item = item.with("verified_ms", v);
        }
        self.store.put(item, Expect::Any).await?;
        Ok(())
    }

    /// Withdraws consent: the agency's next request asks again. `false` if there was none.
    pub async fn revoke(&self, user_id: &str, client_id: &str) -> Result<bool, OidcError> {
        Ok(self
            .store
            .delete(&key(user_id, client_id), Expect::Any)
            .await?
            .is_some())
    }

    /// Every live consent of the person, by agency.
    pub async fn list(&self, user_id: &str) -> Result<Vec<ConsentEntry>, OidcError> {
        let page = self
            .store
            .query(
                &Query::partition(partition(user_id))
                    .prefix("CONSENT#")
                    .limit(100),
            )
            .await?;
        Ok(page
            .items
            .iter()
            .filter_map(|item| {
                Some(ConsentEntry {
                    client_id: item.str("client_id")?.to_owned(),
                    agency_name: item.str("name")?.to_owned(),
                    scopes: item
                        .str("scopes")?
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    granted_ms: item.num("granted_ms")?,
                })
            })
            .collect())
    }
}
