//! A validated authorization request kept server-side while the person signs in, signs
//! up or consents: the browser carries only its random id (a `__Host-` cookie), so
//! nothing the agency sent can be altered on the way, and a request is finished once.

use std::sync::Arc;

use super::request::AuthorizationRequest;
use super::{OidcError, REQUEST_SECS, secs};
use crate::clock::Clock;
use crate::random::{Random, RandomExt, is_token};
use crate::store::{Expect, Item, Key, Store};

/// Random bytes in a request id (22 base64url characters).
const ID_BYTES: usize = 16;

/// A request waiting for the person, and when it arrived (`prompt=login` needs a sign-in
/// that happened after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: String,
    pub request: AuthorizationRequest,
    pub created_ms: i64,
}

#[derive(Debug, Clone)]
pub struct PendingRequests {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

fn key(id: &str) -> Key {
    Key::new(format!("OIDC_REQUEST#{id}"), "REQUEST")
}

impl PendingRequests {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> Self {
        Self {
            store,
            clock,
            random,
        }
    }

    pub async fn keep(&self, request: &AuthorizationRequest) -> Result<Pending, OidcError> {
        let id = self.random.token(ID_BYTES);
        let now = self.clock.now_ms();
        let doc = serde_json::to_string(request).map_err(|_| OidcError::Malformed)?;
        self.store
            .put(
                Item::new(key(&id))
                    .with("doc", doc)
                    .with("created_ms", now)
                    .expiring_at(secs(now) + REQUEST_SECS),
                Expect::Absent,
            )
            .await?;
        Ok(Pending {
            id,
            request: request.clone(),
            created_ms: now,
        })
    }

    /// The request with this id, if it is still waiting.
    pub async fn get(&self, id: &str) -> Result<Option<Pending>, OidcError> {
        if !is_token(id, ID_BYTES) {
            return Ok(None);
        }
        let Some(item) = self.store.get(&key(id)).await? else {
            return Ok(None);
        };
        let request = item
            .str("doc")
            .and_then(|d| serde_json::from_str(d).ok())
            .ok_or(OidcError::Malformed)?;
        Ok(Some(Pending {
            id: id.to_owned(),
            request,
            created_ms: item.num("created_ms").ok_or(OidcError::Malformed)?,
        }))
    }

    /// Ends the request; `false` when another tab already did (that one answers).
    pub async fn finish(&self, id: &str) -> Result<bool, OidcError> {
        if !is_token(id, ID_BYTES) {
            return Ok(false);
        }
        match self.store.delete(&key(id), Expect::Present).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_condition_failure() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
