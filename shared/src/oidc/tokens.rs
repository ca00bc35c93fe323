//! The provider as agencies meet it (OIDC-3, OIDC-4): codes issued at the end of the
//! authorize step, the token exchange with client authentication, access tokens for
//! userinfo, and ID tokens. Every refusal is an RFC 6749 error.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::agency::{Agencies, Agency};
use super::claims::{at_hash, pairwise_subject};
use super::client_auth::{ASSERTION_TYPE, check_assertion, claimed_client, pkce_matches};
use super::codes::{self, Grant, Opened, marker_expiry};
use super::consent::Consents;
use super::jose::Jws;
use super::pending::PendingRequests;
use super::request::Params;
use super::signing::SigningKeys;
use super::verified;
use super::{LEEWAY_SECS, OidcError, TOKEN_SECS, hashed, secs};
use crate::clock::Clock;
use crate::envelope::Envelope;
use crate::fingerprint::Fingerprints;
use crate::keys::SecretKey;
use crate::random::{Random, RandomExt};
use crate::store::{Expect, Item, Key, Store, StoreError, Write};

/// The successful token response (RFC 6749 5.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
}

/// A refused token request (RFC 6749 5.2), or an internal failure.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Answered with status 400 (RFC 6749 5.2; the endpoint answers 401 only to header
    /// authentication, before any of this runs).
    #[error("{error}: {description}")]
    Protocol {
        error: &'static str,
        description: &'static str,
    },
    #[error(transparent)]
    Internal(#[from] OidcError),
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        TokenError::Internal(e.into())
    }
}

fn refuse(error: &'static str, description: &'static str) -> TokenError {
    TokenError::Protocol { error, description }
}

/// The token item's attribute holding its verified claims, sealed for the token
/// ([`verified::seal_for_token`]); IAL2 grants only.
const CLAIMS_ATTR: &str = "claims";

fn token_key(access_token_hash: &str) -> Key {
    Key::new(format!("OIDC_TOKEN#{access_token_hash}"), "TOKEN")
}

fn jti_key(client_id: &str, jti: &str) -> Key {
    Key::new(format!("OIDC_JTI#{client_id}#{}", hashed(jti)), "JTI")
}

/// The OpenID provider of one deployment.
#[derive(Debug)]
pub struct Provider {
    /// The issuer URL (the public URL), without trailing slash.
    pub issuer: String,
    pub agencies: Agencies,
    pub keys: SigningKeys,
    pub pending: PendingRequests,
    pub consents: Consents,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    /// Seals codes (a subkey a day) and, through its `pairwise` subkey, subjects.
    fingerprints: Fingerprints,
    pairwise: SecretKey,
}

impl Provider {
    /// `fingerprints`: the deployment's fingerprint root.
    pub fn new(
        issuer: impl Into<String>,
        store: Arc<dyn Store>,
        envelope: Arc<Envelope>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        fingerprints: Fingerprints,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            agencies: Agencies::new(Arc::clone(&store), Arc::clone(&clock)),
            keys: SigningKeys::new(
                Arc::clone(&store),
                envelope,
                Arc::clone(&clock),
                Arc::clone(&random),
            ),
            pending: PendingRequests::new(
                Arc::clone(&store),
                Arc::clone(&clock),
                Arc::clone(&random),
            ),
            consents: Consents::new(Arc::clone(&store), Arc::clone(&clock)),
            store,
            clock,
            random,
            pairwise: fingerprints.subkey("pairwise"),
            fingerprints,
        }
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// The person's subject for an agency (OIDC-6).
    pub fn subject(&self, agency_id: &str, user_id: &str) -> String {
        pairwise_subject(&self.pairwise, agency_id, user_id)
    }

    /// A new code for `grant`, valid [`CODE_SECS`](super::CODE_SECS): the grant sealed,
    /// nothing stored ([`codes`]).
    pub fn issue_code(&self, grant: &Grant) -> String {
        codes::seal(
            &self.fingerprints,
            grant,
            self.clock.now_ms(),
            self.random.array(),
        )
    }

    /// The token endpoint: `grant_type=authorization_code`, the agency authenticated by
    /// `private_key_jwt` or PKCE.
    pub async fn exchange(&self, form: &Params) -> Result<TokenResponse, TokenError> {
        match form.get("grant_type") {
            Some("authorization_code") => {}
            None => return Err(refuse("invalid_request", "grant_type is required")),
            Some(_) => {
                return Err(refuse(
                    "unsupported_grant_type",
                    "only grant_type=authorization_code is supported",
                ));
            }
        }
        if form.has_repeats() {
            return Err(refuse(
                "invalid_request",
                "a parameter was sent more than once",
            ));
        }
        let Some(code) = form.get("code") else {
            return Err(refuse("invalid_request", "code is required"));
        };
        let Some(redirect_uri) = form.get("redirect_uri") else {
            return Err(refuse("invalid_request", "redirect_uri is required"));
        };
        let (agency, remember_jti) = self.authenticate(form).await?;
        let by_pkce = remember_jti.is_none();
        let now = self.clock.now_ms();
        let Ok(Opened {
            mut grant,
            marker: used,
        }) = codes::open(&self.fingerprints, code, now)
        else {
            return Err(self
                .grant_refused(&remember_jti, "the code is unknown or has expired")
                .await?);
        };
        // A code of the previous version, whose claims only the key service opened: this
        // version cannot release them, and a token without them would not be what was
        // granted. Only in the 5 minutes after an upgrade.
        if grant.sealed_by_key_service.is_some() {
            return Err(self
                .grant_refused(&remember_jti, "the code is unknown or has expired")
                .await?);
        }
        if grant.client_id != agency.client_id {
            return Err(self
                .grant_refused(&remember_jti, "the code was issued to another client")
                .await?);
        }
        if grant.redirect_uri != redirect_uri {
            return Err(self
                .grant_refused(
                    &remember_jti,
                    "redirect_uri differs from the authorization request",
                )
                .await?);
        }
        match (&grant.code_challenge, form.get("code_verifier")) {
            (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
            (Some(_), _) => {
                return Err(self
                    .grant_refused(&remember_jti, "the code_verifier does not match")
                    .await?);
            }
            (None, Some(_)) => {
                return Err(self
                    .grant_refused(
                        &remember_jti,
                        "the authorization request had no code_challenge",
                    )
                    .await?);
            }
            (None, None) if by_pkce => {
                return Err(self
                    .grant_refused(
                        &remember_jti,
                        "the authorization request had no code_challenge",
                    )
                    .await?);
            }
            (None, None) => {}
        }
        let access_token = self.random.token(32);
        let token_hash = hashed(&access_token);
        // The verified claims leave the grant before it is stored: the item keeps them only
        // sealed under a key derived from the access token (`verified`), which the store
        // does not hold (it names the item by the token's SHA-256). Opened by `bearer`.
        let claims = grant.claims.take().map(|claims| {
            verified::seal_for_token(
                &claims,
                &access_token,
                &grant.client_id,
                self.random.array(),
            )
        });
        let doc = serde_json::to_string(&grant).map_err(|_| OidcError::Malformed)?;
        let mut token_item = Item::new(token_key(&token_hash))
            .with("doc", doc)
            .expiring_at(secs(now) + TOKEN_SECS);
        if let Some(sealed) = claims {
            token_item = token_item.with(CLAIMS_ATTR, sealed);
        }
        let mut writes = vec![
            // The code's single use: a marker naming the token, absent until now.
            Write::Put(
                Item::new(used.clone())
                    .with("token", token_hash.clone())
                    .expiring_at(marker_expiry(now)),
                Expect::Absent,
            ),
            Write::Put(token_item, Expect::Absent),
        ];
        writes.extend(remember_jti);
        match self.store.transact(writes).await {
            Ok(()) => {}
            // The jti write (last) failed: the assertion was used before, or by a request
            // racing this one. A code redeemed meanwhile still loses its tokens.
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&2) => {
                if failed.contains(&0)
                    && let Some(marker) = self.store.get(&used).await?
                {
                    self.revoke_issued(&marker).await?;
                }
                return Err(refuse(
                    "invalid_client",
                    "the client assertion was already used (jti)",
                ));
            }
            Err(e) if e.is_condition_failure() => {
                if let Some(marker) = self.store.get(&used).await? {
                    self.revoke_issued(&marker).await?;
                }
                return Err(refuse(
                    "invalid_grant",
                    "the code was already used; its tokens are revoked",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let id_token = self.id_token(&agency, &grant, &access_token, now).await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: TOKEN_SECS,
            id_token,
        })
    }

    /// The agency the request authenticates as, and whether by PKCE alone.
    /// Also returns the write that remembers the assertion's `jti`: it commits in the
    /// redeem transaction, whose condition refuses a replay, so a replay costs no read of
    /// its own on the hot path.
    async fn authenticate(&self, form: &Params) -> Result<(Agency, Option<Write>), TokenError> {
        let now = secs(self.clock.now_ms());
        match (
            form.get("client_assertion_type"),
            form.get("client_assertion"),
        ) {
            (Some(ASSERTION_TYPE), Some(assertion)) => {
                let jws = Jws::parse(assertion)
                    .ok_or_else(|| refuse("invalid_client", "the client assertion is not a JWT"))?;
                let client_id = claimed_client(&jws)
                    .ok_or_else(|| refuse("invalid_client", "the client assertion has no iss"))?;
                if form.get("client_id").is_some_and(|c| c != client_id) {
                    return Err(refuse(
                        "invalid_client",
                        "client_id differs from the assertion's iss",
                    ));
                }
                let agency = self
                    .agencies
                    .get(client_id)
                    .await?
                    .ok_or_else(|| refuse("invalid_client", "the client is not registered"))?;
                let endpoint = self.token_endpoint();
                let checked = check_assertion(&jws, &agency, &[&self.issuer, &endpoint], now)
                    .map_err(|d| refuse("invalid_client", d))?;
                let key = jti_key(&agency.client_id, &checked.jti);
                let remember = Write::Put(
                    Item::new(key).expiring_at(checked.exp + LEEWAY_SECS + 1),
                    Expect::Absent,
                );
                Ok((agency, Some(remember)))
            }
            (Some(_), _) | (None, Some(_)) => Err(refuse(
                "invalid_client",
                "client_assertion_type must be jwt-bearer, with a client_assertion",
            )),
            (None, None) => {
                let Some(client_id) = form.get("client_id") else {
                    return Err(refuse(
                        "invalid_client",
                        "authenticate with private_key_jwt or send client_id with PKCE",
                    ));
                };
                let agency = self
                    .agencies
                    .get(client_id)
                    .await?
                    .ok_or_else(|| refuse("invalid_client", "the client is not registered"))?;
                if !agency.pkce {
                    return Err(refuse(
                        "invalid_client",
                        "this client must authenticate with private_key_jwt",
                    ));
                }
                if form.get("code_verifier").is_none() {
                    return Err(refuse("invalid_request", "code_verifier is required"));
                }
                Ok((agency, None))
            }
        }
    }

    /// The answer to a request whose client authenticated but whose grant is refused:
    /// a replayed assertion is the client's error first (RFC 6749 5.2 checks the client
    /// before the grant). Only refused requests pay for this read.
    async fn grant_refused(
        &self,
        remember_jti: &Option<Write>,
        description: &'static str,
    ) -> Result<TokenError, OidcError> {
        if let Some(jti) = remember_jti
            && self.store.get(jti.key()).await?.is_some()
        {
            return Ok(refuse(
                "invalid_client",
                "the client assertion was already used (jti)",
            ));
        }
        Ok(refuse("invalid_grant", description))
    }

    /// RFC 6749 10.5: a code used twice revokes the token it issued (named by the code's
    /// marker).
    async fn revoke_issued(&self, marker: &Item) -> Result<(), TokenError> {
        if let Some(hash) = marker.str("token") {
            self.store.delete(&token_key(hash), Expect::Any).await?;
        }
        Ok(())
    }

    async fn id_token(
        &self,
        agency: &Agency,
        grant: &Grant,
        access_token: &str,
        now_ms: i64,
    ) -> Result<String, OidcError> {
        let key = self.keys.current(agency.id_token_alg).await?;
        let now = secs(now_ms);
        let claims = json!({
            "iss": self.issuer,
            "sub": self.subject(&grant.agency_id, &grant.user_id),
            "aud": agency.client_id,
            "acr": grant.acr.ial.acr(),
            "nonce": grant.nonce,
            "jti": self.random.token(16),
            "at_hash": at_hash(access_token),
            "auth_time": secs(grant.auth_time_ms),
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_SECS,
        });
        key.sign("JWT", &claims)
            .map_err(|e| OidcError::Keys(e.to_string()))
    }

    /// What a bearer access token grants, while it is valid, its verified claims opened
    /// with the token itself (no key-service call).
    pub async fn bearer(&self, access_token: &str) -> Result<Option<Grant>, OidcError> {
        if !crate::random::is_token(access_token, 32) {
            return Ok(None);
        }
        let Some(item) = self.store.get(&token_key(&hashed(access_token))).await? else {
            return Ok(None);
        };
        let mut grant: Grant = item
            .str("doc")
            .and_then(|doc| serde_json::from_str(doc).ok())
            .ok_or(OidcError::Malformed)?;
        // A token of the previous version (claims sealed by the key service alone): refused
        // as expired, so the agency signs the person in again; gone 15 minutes after the
        // upgrade.
        if grant.sealed_by_key_service.is_some() {
            return Ok(None);
        }
        if let Some(sealed) = item.str(CLAIMS_ATTR) {
            // The item is named by this token's hash, so only an altered item fails here.
            let claims = verified::open_with_token(sealed, access_token, &grant.client_id)
                .map_err(|_| OidcError::Malformed)?;
            grant.claims = Some(claims);
        }
        Ok(Some(grant))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::clock::ManualClock;
    use crate::oidc::agency::AalSetting;
    use crate::oidc::claims::Scope;
    use crate::oidc::jose::Alg;
    use crate::oidc::request::{AalLevel, Acr, Ial};
    use crate::oidc::verified::{VerifiedClaims, claims_for};

    const CLIENT: &str = "urn:gov:test:tax";
    const REDIRECT: &str = "https://tax.example.gov/callback";
    const VERIFIER: &str = "a-code-verifier-of-at-least-forty-three-characters";

    async fn provider() -> (Provider, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_ms(1_800_000_000_000));
        let services = crate::services::Services::embedded(
            &crate::config::EmbeddedConfig {
                data_dir: dir.path().into(),
                max_receives: 5,
            },
            clock.clone(),
            Arc::new(crate::random::OsRandom),
        )
        .unwrap();
        let provider = Provider::new(
            "https://id.example.gov",
            services.store,
            services.envelope,
            clock,
            services.random,
            Fingerprints::from_key(SecretKey::from_bytes([7; 32])),
        );
        provider
            .agencies
            .put(&Agency {
                client_id: CLIENT.into(),
                name: "Tax Portal".into(),
                agency_id: "tax".into(),
                ial: 2,
                default_aal: AalSetting::Default,
                keys: vec![],
                jwks_uri: None,
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![],
                scopes: vec!["email".into(), "social_security_number".into()],
                pkce: true,
                id_token_alg: Alg::ES256,
                push_notification_url: None,
                failure_to_proof_url: None,
            })
            .await
            .unwrap();
        (provider, dir)
    }

    fn claims() -> VerifiedClaims {
        let pii = crate::idv::pii::Pii {
            given_name: "Zenobia".into(),
            family_name: "Quintessa".into(),
            birthdate: "1979-03-09".into(),
            address: crate::idv::pii::Address {
                line1: "42 Proofing Way".into(),
                line2: String::new(),
                city: "Alexandria".into(),
                state: "VA".into(),
                zip: "22314".into(),
            },
            id_number: "D12121212".into(),
            id_state: "VA".into(),
            ssn: "900112233".into(),
            phone: String::new(),
            verified_ms: 1,
        };
        claims_for(&[Scope::Profile, Scope::SocialSecurityNumber], &pii)
    }

    fn grant(claims: Option<VerifiedClaims>) -> Grant {
        Grant {
            user_id: "user-1".into(),
            client_id: CLIENT.into(),
            agency_id: "tax".into(),
            redirect_uri: REDIRECT.into(),
            scopes: vec!["openid".into(), "social_security_number".into()],
            nonce: "n".repeat(22),
            acr: Acr {
                ial: Ial::Verified,
                aal: AalLevel::Default,
            },
            aal: AalLevel::Aal2,
            auth_time_ms: 1,
            code_challenge: Some(URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER))),
            verified_at: Some(1),
            claims,
            sealed_by_key_service: None,
        }
    }

    async fn exchange(provider: &Provider, code: &str) -> Result<TokenResponse, TokenError> {
        provider
            .exchange(&Params::new(
                [
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT),
                    ("client_id", CLIENT),
                    ("code_verifier", VERIFIER),
                ]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
            ))
            .await
    }

    #[tokio::test]
    async fn given_an_ial2_code_when_exchanged_then_the_token_item_keeps_its_claims_only_sealed_for_the_token()
     {
        // Given a code whose grant carries verified claims,
        let (provider, _dir) = provider().await;
        let code = provider.issue_code(&grant(Some(claims())));
        // when the agency exchanges it,
        let tokens = exchange(&provider, &code).await.unwrap();
        // then the stored grant holds none of them, in clear or sealed by the key service,
        let item = provider
            .store
            .get(&token_key(&hashed(&tokens.access_token)))
            .await
            .unwrap()
            .unwrap();
        let doc = item.str("doc").unwrap();
        for value in ["Zenobia", "Quintessa", "1979-03-09", "900-11-2233"] {
            assert!(!doc.contains(value), "{value} in {doc}");
        }
        assert!(
            !doc.contains("claims") && !doc.contains("verified\""),
            "{doc}"
        );
        // the item's sealed claims open with the token alone,
        let sealed = item.str(CLAIMS_ATTR).unwrap();
        assert_eq!(
            verified::open_with_token(sealed, &tokens.access_token, CLIENT),
            Ok(claims())
        );
        // and userinfo's read of the token gives them back.
        let read = provider
            .bearer(&tokens.access_token)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.claims, Some(claims()));
        assert_eq!(read, grant(Some(claims())));
    }

    #[tokio::test]
    async fn given_another_tokens_claims_moved_into_a_token_item_then_they_do_not_open() {
        // Given two tokens of two sign-ins, one with claims,
        let (provider, _dir) = provider().await;
        let with = exchange(&provider, &provider.issue_code(&grant(Some(claims()))))
            .await
            .unwrap();
        let without = exchange(&provider, &provider.issue_code(&grant(None)))
            .await
            .unwrap();
        let plain = provider.bearer(&without.access_token).await.unwrap();
        assert_eq!(plain.unwrap().claims, None);
        // when someone with write access copies the first token's claims into the second,
        let sealed = provider
            .store
            .get(&token_key(&hashed(&with.access_token)))
            .await
            .unwrap()
            .unwrap()
            .str(CLAIMS_ATTR)
            .unwrap()
            .to_owned();
        let key = token_key(&hashed(&without.access_token));
        let item = provider.store.get(&key).await.unwrap().unwrap();
        provider
            .store
            .put(item.with(CLAIMS_ATTR, sealed), Expect::Any)
            .await
            .unwrap();
        // then the second token's userinfo read refuses them rather than release them.
        assert!(matches!(
            provider.bearer(&without.access_token).await,
            Err(OidcError::Malformed)
        ));
    }

    #[tokio::test]
    async fn given_a_code_or_token_of_the_previous_version_then_it_is_refused_not_answered_without_its_claims()
     {
        let (provider, _dir) = provider().await;
        // Given a code whose grant carries claims sealed by the key service alone, as the
        // previous version made them,
        let mut old = serde_json::to_value(grant(None)).unwrap();
        old["verified"] = "AQID".into();
        let code = codes::seal_grant_json(
            &provider.fingerprints,
            &old,
            provider.clock.now_ms(),
            [1; 12],
        );
        // when the agency exchanges it, it is refused like an expired code,
        match exchange(&provider, &code).await {
            Err(TokenError::Protocol { error, .. }) => assert_eq!(error, "invalid_grant"),
            other => panic!("{other:?}"),
        }
        // and a token item of the previous version is unknown to userinfo, so the agency
        // signs the person in again.
        let token = provider.random.token(32);
        provider
            .store
            .put(
                Item::new(token_key(&hashed(&token))).with("doc", old.to_string()),
                Expect::Absent,
            )
            .await
            .unwrap();
        assert_eq!(provider.bearer(&token).await.unwrap(), None);
    }
}
