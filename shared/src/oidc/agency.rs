//! The agency registry (OIDC-9): who may ask for a sign-in, where answers may go, which
//! keys authenticate the agency, and what it may receive. Kept in the store as JSON, one
//! item per client, written by the operator command (`cargo run -- agency add|update|remove`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::OidcError;
use super::claims::Scope;
use super::jose::{Alg, PublicJwk};
use crate::clock::Clock;
use crate::session::Aal;
use crate::store::{Expect, Index, Item, Key, Query, Store};

/// One registered agency application (an OIDC client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// The client id (Login.gov calls it the issuer): 1 to 255 visible ASCII characters.
    pub client_id: String,
    /// The name people see on the consent page, 1 to 120 characters.
    pub name: String,
    /// The department: applications registered under one agency id receive the same
    /// pairwise subject for a person (OIDC-6).
    pub agency_id: String,
    /// 1 (authentication only) or 2 (verified identity available).
    #[serde(default = "one")]
    pub ial: u8,
    /// The AAL asked when the request names none: `default`, `aal2` or `phishing_resistant`.
    #[serde(default)]
    pub default_aal: AalSetting,
    /// Public keys that sign the agency's `private_key_jwt` assertions (RS256 or ES256).
    #[serde(default)]
    pub keys: Vec<PublicJwk>,
    /// Where the agency publishes those keys, when it registered a JWKS URL: the
    /// operator command reads it at registration and `agency refresh-keys` reads it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Exact redirect URIs: https, or http on localhost for development.
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// The attribute bundle: the scopes the agency may ask for (`openid` is implied).
    pub scopes: Vec<String>,
    /// Whether the agency may authenticate with PKCE alone (apps that cannot hold a key).
    #[serde(default)]
    pub pkce: bool,
    /// The ID token's signature: RS256 (default) or ES256.
    #[serde(default = "rs256")]
    pub id_token_alg: Alg,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_notification_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_to_proof_url: Option<String>,
}

fn one() -> u8 {
    1
}

fn rs256() -> Alg {
    Alg::RS256
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AalSetting {
    #[default]
    Default,
    Aal2,
    PhishingResistant,
}

impl AalSetting {
    pub fn aal(self) -> Aal {
        match self {
            AalSetting::Default => Aal::Default,
            AalSetting::Aal2 => Aal::Aal2,
            AalSetting::PhishingResistant => Aal::PhishingResistant,
        }
    }
}

/// Whether a redirect URI may be registered: absolute https without fragment, or plain
/// http on a loopback host (development and the local demo agency).
pub fn valid_redirect_uri(uri: &str) -> bool {
    if uri.len() > 2000 || uri.contains('#') || uri.chars().any(|c| c.is_control() || c == ' ') {
        return false;
    }
    let rest = if let Some(rest) = uri.strip_prefix("https://") {
        rest
    } else if let Some(rest) = uri.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return false;
        }
        rest
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/')
}

impl Agency {
    /// Checks a registration before it is stored; the message names the field.
    pub fn validate(&self) -> Result<(), OidcError> {
        let bad = |m: &str| Err(OidcError::InvalidAgency(m.into()));
        if self.client_id.is_empty()
            || self.client_id.len() > 255
            || !self.client_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return bad("client_id must be 1 to 255 visible ASCII characters");
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 120 {
            return bad("name must be 1 to 120 characters");
        }
        if self.agency_id.is_empty() || self.agency_id.len() > 255 {
            return bad("agency_id must be 1 to 255 characters");
        }
        if !matches!(self.ial, 1 | 2) {
            return bad("ial must be 1 or 2");
        }
        if self.redirect_uris.is_empty() {
            return bad("redirect_uris needs at least one URI");
        }
        for uri in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
        {
            if !valid_redirect_uri(uri) {
                return bad(
                    "redirect URIs must be absolute https URIs (http only on localhost), without fragment",
                );
            }
        }
        if self.keys.is_empty() && !self.pkce {
            return bad("an agency needs keys (private_key_jwt) or pkce = true");
        }
        if let Some(uri) = &self.jwks_uri
            && !valid_redirect_uri(uri)
        {
            return bad("jwks_uri must be an absolute https URI (http only on localhost)");
        }
        if self.keys.iter().any(|k| !k.is_valid()) {
            return bad("keys must be RSA (2048 bits or more) or P-256 public JWKs");
        }
        for scope in &self.scopes {
            let Some(s) = Scope::parse(scope) else {
                return bad("scopes holds an unknown scope");
            };
            if s.needs_ial2() && self.ial < 2 {
                return bad("verified-identity scopes need ial = 2");
            }
        }
        Ok(())
    }

    /// Whether `uri` is exactly one of the registered redirect URIs (no normalisation).
    pub fn redirects_to(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri)
    }

    pub fn logs_out_to(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|u| u == uri)
    }

    /// The scopes it may receive, `openid` included.
    pub fn allows(&self, scope: Scope) -> bool {
        scope == Scope::OpenId || self.scopes.iter().any(|s| s == scope.as_str())
    }
}

/// How long a process trusts an agency it read: changes (a new key, a removed redirect
/// URI, a removed agency) reach every running function within this time.
pub const CACHE_SECS: i64 = 60;

/// The registry over the store, with a short per-process cache: every code exchange and
/// authorize step reads its agency, and registrations change rarely.
#[derive(Debug, Clone)]
pub struct Agencies {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

/// When a registration was read, and what was found (`None`: no such agency).
type Cached = (i64, Option<Agency>);

/// Entries beyond this are dropped wholesale (a flood of unknown client ids).
const CACHE_ENTRIES: usize = 1000;

fn key(client_id: &str) -> Key {
    Key::new(format!("AGENCY#{client_id}"), "AGENCY")
}

impl Agencies {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn forget(&self, client_id: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(client_id);
        }
    }

    /// Registers or replaces an agency, whatever was there (the demo agency at start-up).
    pub async fn put(&self, agency: &Agency) -> Result<(), OidcError> {
        self.write(agency, Expect::Any).await
    }

    /// Registers a new agency; a client id already taken is refused, so two operators
    /// cannot overwrite each other's registration by accident.
    pub async fn add(&self, agency: &Agency) -> Result<(), OidcError> {
        self.write(agency, Expect::Absent)
            .await
            .map_err(|e| match e {
                OidcError::Store(s) if s.is_condition_failure() => {
                    OidcError::InvalidAgency(format!(
                        "client_id {} is already registered: use `agency update`",
                        agency.client_id
                    ))
                }
                e => e,
            })
    }

    /// Replaces the registration of an agency that exists.
    pub async fn update(&self, agency: &Agency) -> Result<(), OidcError> {
        self.write(agency, Expect::Present)
            .await
            .map_err(|e| match e {
                OidcError::Store(s) if s.is_condition_failure() => OidcError::InvalidAgency(
                    format!("no agency {} to update: use `agency add`", agency.client_id),
                ),
                e => e,
            })
    }

    async fn write(&self, agency: &Agency, expect: Expect) -> Result<(), OidcError> {
        agency.validate()?;
        self.forget(&agency.client_id);
        let doc = serde_json::to_string(agency).map_err(|_| OidcError::Malformed)?;
        self.store
            .put(
                Item::new(key(&agency.client_id))
                    .with("doc", doc)
                    .with("gsi1pk", "AGENCIES")
                    .with("gsi1sk", agency.client_id.clone()),
                expect,
            )
            .await?;
        Ok(())
    }

    /// Every registration, by client id (the operator's `agency list`).
    pub async fn list(&self) -> Result<Vec<Agency>, OidcError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .query(
                    &Query::partition("AGENCIES")
                        .on(Index::Gsi1)
                        .limit(100)
                        .after(cursor),
                )
                .await?;
            for item in &page.items {
                let doc = item.str("doc").ok_or(OidcError::Malformed)?;
                out.push(serde_json::from_str(doc).map_err(|_| OidcError::Malformed)?);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// The agency, as read at most [`CACHE_SECS`] ago by this process.
    pub async fn get(&self, client_id: &str) -> Result<Option<Agency>, OidcError> {
        if client_id.is_empty() || client_id.len() > 255 {
            return Ok(None);
        }
        let now = self.clock.now_ms();
        if let Ok(cache) = self.cache.lock()
            && let Some((read_ms, agency)) = cache.get(client_id)
            && now - read_ms < CACHE_SECS * 1000
        {
            return Ok(agency.clone());
        }
        let agency = self.read(client_id).await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(client_id.to_owned(), (now, agency.clone()));
        }
        Ok(agency)
    }

    async fn read(&self, client_id: &str) -> Result<Option<Agency>, OidcError> {
        let Some(item) = self.store.get(&key(client_id)).await? else {
            return Ok(None);
        };
        let doc = item.str("doc").ok_or(OidcError::Malformed)?;
        serde_json::from_str(doc)
            .map(Some)
            .map_err(|_| OidcError::Malformed)
    }

    pub async fn remove(&self, client_id: &str) -> Result<bool, OidcError> {
        self.forget(client_id);
        Ok(self
            .store
            .delete(&key(client_id), Expect::Any)
            .await?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Agency {
        Agency {
            client_id: "urn:gov:demo".into(),
            name: "Demo agency".into(),
            agency_id: "demo".into(),
            ial: 1,
            default_aal: AalSetting::Default,
            keys: vec![],
            jwks_uri: None,
            redirect_uris: vec!["https://demo.example.gov/callback".into()],
            post_logout_redirect_uris: vec![],
            scopes: vec!["email".into()],
            pkce: true,
            id_token_alg: Alg::RS256,
            push_notification_url: None,
            failure_to_proof_url: None,
        }
    }

    #[test]
    fn redirect_uris_are_https_or_local_http() {
        assert!(valid_redirect_uri("https://a.gov/cb"));
        assert!(valid_redirect_uri("http://localhost:3000/demo/callback"));
        assert!(valid_redirect_uri("http://127.0.0.1/cb"));
        assert!(!valid_redirect_uri("http://a.gov/cb"));
        assert!(!valid_redirect_uri("https://a.gov/cb#x"));
        assert!(!valid_redirect_uri("javascript:alert(1)"));
        assert!(!valid_redirect_uri("https:///path"));
        assert!(!valid_redirect_uri("http://localhost.evil.com/cb"));
    }

    #[test]
    fn registrations_are_checked() {
        assert!(sample().validate().is_ok());
        let mut a = sample();
        a.pkce = false;
        assert!(a.validate().is_err(), "no way to authenticate");
        let mut a = sample();
        a.scopes.push("social_security_number".into());
        assert!(a.validate().is_err(), "IAL2 scope on an IAL1 agency");
        a.ial = 2;
        assert!(a.validate().is_ok());
        let mut a = sample();
        a.redirect_uris = vec!["https://a.gov/cb#frag".into()];
        assert!(a.validate().is_err());
    }
}
