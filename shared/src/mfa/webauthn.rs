//! Security keys and face or touch unlock (MFA-1), with webauthn-rs: registering an
//! authenticator as a method and signing in with it. Both kinds resist phishing: the
//! browser binds every answer to our origin and the authenticator to our relying-party
//! id, so a look-alike site gets nothing it can replay here.
//!
//! A ceremony (registration or sign-in) takes two requests: the first draws a challenge
//! and keeps webauthn-rs's state server-side, sealed, in a `WEBAUTHN_CEREMONY#<id>` item
//! of the account that expires after 5 minutes; the second takes that item away with a
//! conditional delete before checking the answer, so a ceremony is used at most once —
//! of two concurrent answers, one finds it and the other does not.
//!
//! Every authenticator is registered as a webauthn-rs `SecurityKey` credential (user
//! presence required, user verification when the device offers it), whether the person
//! chose a security key (roaming) or face or touch unlock (platform): the choice is kept
//! as `attachment` and steers the browser, and one sign-in ceremony can then offer all of
//! an account's authenticators together. It is a second factor after the password.
//!
//! Signature counters: webauthn-rs refuses an answer whose counter does not exceed the
//! one the ceremony started with, and the stored `counter` only ever rises, through a
//! conditional update — so a cloned authenticator that falls behind the original is
//! refused, even when the two answer concurrently. Authenticators without a counter
//! (synced passkeys) always report 0 and are not checked.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    AuthenticatorAttachment, PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey,
    SecurityKeyAuthentication, SecurityKeyRegistration, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
};
use zeroize::Zeroizing;

use super::factors::{
    FactorKind, FactorSummary, Factors, context, credential_key, factor_key, is_id, record,
};
use super::{MfaError, keyed_mac, valid_name};
use crate::account::events::{EventContext, partition};
use crate::store::{Check, Expect, Item, Key, StoreError, Update, Write};

/// How long a ceremony's state is kept: the person has this long to touch the key.
pub const CEREMONY_LIFETIME_SECS: i64 = 5 * 60;

/// What the browser is told to wait for; shorter than the ceremony, so an answer given
/// at the browser's last moment still finds its state.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(270);

/// Longest answer accepted from a browser (a registration with attestation
/// certificates is a few kilobytes).
const MAX_ANSWER_BYTES: usize = 32 * 1024;

/// Which kind of authenticator the person set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attachment {
    /// A security key: plugged in, tapped (NFC) or reached over Bluetooth.
    SecurityKey,
    /// Face or touch unlock built into the phone or computer (a platform authenticator).
    Platform,
}

impl Attachment {
    pub const ALL: [Attachment; 2] = [Attachment::SecurityKey, Attachment::Platform];

    /// The stable name: stored as `attachment`, and in forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Attachment::SecurityKey => "security_key",
            Attachment::Platform => "platform",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    fn authenticator_attachment(self) -> AuthenticatorAttachment {
        match self {
            Attachment::SecurityKey => AuthenticatorAttachment::CrossPlatform,
            Attachment::Platform => AuthenticatorAttachment::Platform,
        }
    }
}

/// This deployment as a WebAuthn relying party: its id is the public URL's host, the only
/// origin accepted is the public URL's origin. Built once per process.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    webauthn: Webauthn,
    id: String,
    origin: String,
}

impl RelyingParty {
    /// From the public URL people reach (`PASSERELLE_PUBLIC_URL`), e.g.
    /// `https://id.example.gov` (id `id.example.gov`) or `http://localhost:3000`. A URL
    /// whose host is an IP address is refused: browsers refuse WebAuthn there.
    pub fn new(public_url: &str, name: &str) -> Result<Self, MfaError> {
        let url = Url::parse(public_url)
            .map_err(|e| MfaError::WebAuthnConfig(format!("{public_url:?} is not a URL: {e}")))?;
        let id = url
            .domain()
            .ok_or_else(|| {
                MfaError::WebAuthnConfig(format!(
                    "{public_url:?} has no domain name; browsers refuse WebAuthn on an IP \
                     address (use http://localhost:PORT locally)"
                ))
            })?
            .to_owned();
        let origin = url.origin().ascii_serialization();
        let origin_url = Url::parse(&origin)
            .map_err(|e| MfaError::WebAuthnConfig(format!("origin {origin:?}: {e}")))?;
        let webauthn = WebauthnBuilder::new(&id, &origin_url)
            .and_then(|b| b.rp_name(name).timeout(BROWSER_TIMEOUT).build())
            .map_err(|e| MfaError::WebAuthnConfig(format!("{public_url:?}: {e}")))?;
        Ok(Self {
            webauthn,
            id,
            origin,
        })
    }

    /// The relying-party id: the public URL's host.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The one origin answers must come from, e.g. `http://localhost:3000`.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// A ceremony begun: its id (for the form that finishes it) and the options for
/// `navigator.credentials.create` / `.get`, as JSON with binary fields in base64url.
#[derive(Debug, Clone)]
pub struct WebAuthnChallenge {
    pub id: String,
    pub options_json: String,
}

const REGISTER: &str = "register";
const SIGN_IN: &str = "sign_in";

fn ceremony_key(user_id: &str, ceremony_id: &str) -> Key {
    Key::new(
        partition(user_id),
        format!("WEBAUTHN_CEREMONY#{ceremony_id}"),
    )
}

/// A credential id (up to 1023 bytes) as a short key part: SHA-256, base64url.
fn credential_fp(cred_id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(cred_id))
}

/// The stored credential of a `FACTOR#` item of kind webauthn.
fn stored_credential(item: &Item) -> Result<SecurityKey, MfaError> {
    let json = item.str("credential").ok_or(MfaError::Malformed)?;
    serde_json::from_str(json).map_err(|_| MfaError::Malformed)
}

fn is_platform(item: &Item) -> bool {
    item.str("attachment") == Some(Attachment::Platform.as_str())
}

impl Factors {
    /// The user handle authenticators keep with a credential: derived from the account
    /// id under the `mfa` key, so it is stable and says nothing about the account.
    fn user_handle(&self, user_id: &str) -> Uuid {
        let mac = keyed_mac(self.key.expose(), &[b"webauthn-user", user_id.as_bytes()]);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&mac[..16]);
        Uuid::from_bytes(bytes)
    }

    /// Keeps a ceremony's state, sealed, for 5 minutes; returns its id.
    async fn keep_ceremony(
        &self,
        user_id: &str,
        purpose: &str,
        state: &impl serde::Serialize,
        extra: &[(&str, &str)],
    ) -> Result<String, MfaError> {
        let id = self.new_id();
        let key = ceremony_key(user_id, &id);
        let json = Zeroizing::new(serde_json::to_vec(state).map_err(|_| MfaError::Malformed)?);
        let sealed = self
            .envelope
            .seal(&context("webauthn", user_id), &record(&key), &json)
            .await?;
        let mut item = Item::new(key)
            .with("purpose", purpose)
            .with("state", sealed)
            .expiring_at(self.clock.now_secs() + CEREMONY_LIFETIME_SECS);
        for (name, value) in extra {
            item = item.with(name, *value);
        }
        self.store.put(item, Expect::Absent).await?;
        Ok(id)
    }

    /// Takes a ceremony away (a conditional delete: once only) and opens its state.
    /// [`MfaError::WebAuthnExpired`] when it is unknown, older than 5 minutes, already
    /// used, or of the other purpose.
    async fn take_ceremony(
        &self,
        user_id: &str,
        ceremony_id: &str,
        purpose: &str,
    ) -> Result<(Item, Zeroizing<Vec<u8>>), MfaError> {
        if !is_id(ceremony_id) {
            return Err(MfaError::WebAuthnExpired);
        }
        let key = ceremony_key(user_id, ceremony_id);
        let taken = self
            .store
            .delete(&key, Expect::All(vec![Check::eq("purpose", purpose)]))
            .await;
        let item = match taken {
            Ok(Some(item)) => item,
            Ok(None) | Err(StoreError::ConditionFailed) => return Err(MfaError::WebAuthnExpired),
            Err(e) => return Err(e.into()),
        };
        let sealed = item.bytes("state").ok_or(MfaError::Malformed)?;
        let state = self
            .envelope
            .open(&context("webauthn", user_id), &record(&key), sealed)
            .await?;
        Ok((item, state))
    }

    /// Starts registering an authenticator named `name` (checked now, so the person
    /// hears about a bad name before touching the key). `user_name` is what the
    /// authenticator may show for the account (its email address). The account's
    /// registered credentials are excluded, so the browser refuses the same one twice.
    pub async fn begin_webauthn(
        &self,
        rp: &RelyingParty,
        user_id: &str,
        user_name: &str,
        name: &str,
        attachment: Attachment,
    ) -> Result<WebAuthnChallenge, MfaError> {
        let name = valid_name(name)?;
        let exclude: Vec<_> = self
            .items_of(user_id, FactorKind::WebAuthn)
            .await?
            .iter()
            .filter_map(|i| stored_credential(i).ok())
            .map(|k| k.cred_id().clone())
            .collect();
        let (ccr, state) = rp
            .webauthn
            .start_securitykey_registration(
                self.user_handle(user_id),
                user_name,
                user_name,
                (!exclude.is_empty()).then_some(exclude),
                None,
                Some(attachment.authenticator_attachment()),
            )
            .map_err(|e| MfaError::WebAuthnConfig(e.to_string()))?;
        let mut options = serde_json::to_value(&ccr).map_err(|_| MfaError::Malformed)?;
        // Chromium refuses credProtect "userVerificationRequired" with residentKey
        // "discouraged" before any authenticator is asked; webauthn-rs does not enforce
        // the extension, so it is not sent.
        if let Some(ext) = options["publicKey"]["extensions"].as_object_mut() {
            ext.remove("credentialProtectionPolicy");
            ext.remove("enforceCredentialProtectionPolicy");
        }
        if attachment == Attachment::Platform {
            // webauthn-rs hints "security-key"; browsers follow hints over the attachment.
            options["publicKey"]["hints"] = serde_json::json!(["client-device"]);
        }
        let id = self
            .keep_ceremony(
                user_id,
                REGISTER,
                &state,
                &[("name", &name), ("attachment", attachment.as_str())],
            )
            .await?;
        Ok(WebAuthnChallenge {
            id,
            options_json: options.to_string(),
        })
    }

    /// Finishes a registration with the browser's answer (the JSON of the
    /// `PublicKeyCredential`, binary fields in base64url): the authenticator becomes a
    /// method in the transaction that adds every method. The ceremony is used up even
    /// when the answer is refused ([`MfaError::WebAuthnRejected`]: wrong origin,
    /// challenge or signature).
    pub async fn finish_webauthn(
        &self,
        rp: &RelyingParty,
        user_id: &str,
        ceremony_id: &str,
        answer: &str,
        ctx: &EventContext,
    ) -> Result<FactorSummary, MfaError> {
        let (ceremony, state) = self.take_ceremony(user_id, ceremony_id, REGISTER).await?;
        let state: SecurityKeyRegistration =
            serde_json::from_slice(&state).map_err(|_| MfaError::Malformed)?;
        let name = ceremony.str("name").ok_or(MfaError::Malformed)?;
        let attachment = ceremony
            .str("attachment")
            .and_then(Attachment::parse)
            .ok_or(MfaError::Malformed)?;
        if answer.len() > MAX_ANSWER_BYTES {
            return Err(MfaError::WebAuthnRejected);
        }
        let answer: RegisterPublicKeyCredential =
            serde_json::from_str(answer).map_err(|_| MfaError::WebAuthnRejected)?;
        let fp = credential_fp(&answer.raw_id);
        if self
            .store
            .get(&credential_key(user_id, &fp))
            .await?
            .is_some()
        {
            return Err(MfaError::WebAuthnAlreadyRegistered);
        }
        let credential = rp
            .webauthn
            .finish_securitykey_registration(&answer, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "a WebAuthn registration was refused");
                MfaError::WebAuthnRejected
            })?;
        let fp = credential_fp(credential.cred_id());
        let id = self.new_id();
        let json = serde_json::to_string(&credential).map_err(|_| MfaError::Malformed)?;
        let factor = Item::new(factor_key(user_id, &id))
            .with("kind", FactorKind::WebAuthn.as_str())
            .with("name", name)
            .with("created_ms", self.clock.now_ms())
            .with("attachment", attachment.as_str())
            .with("cred_fp", fp.clone())
            .with("credential", json)
            .with("counter", 0i64);
        let claim = Item::new(credential_key(user_id, &fp)).with("factor", id);
        self.add(
            user_id,
            FactorKind::WebAuthn,
            factor,
            vec![(
                Write::Put(claim, Expect::Absent),
                MfaError::WebAuthnAlreadyRegistered,
            )],
            ctx,
        )
        .await
    }

    /// Starts a sign-in with the account's authenticators ([`MfaError::NotFound`] when
    /// it has none).
    pub async fn begin_webauthn_sign_in(
        &self,
        rp: &RelyingParty,
        user_id: &str,
    ) -> Result<WebAuthnChallenge, MfaError> {
        let items = self.items_of(user_id, FactorKind::WebAuthn).await?;
        let credentials: Vec<SecurityKey> = items
            .iter()
            .filter_map(|i| match stored_credential(i) {
                Ok(c) => Some(c),
                Err(_) => {
                    tracing::warn!(sk = %i.key.sk, "skipping a malformed WebAuthn credential");
                    None
                }
            })
            .collect();
        if credentials.is_empty() {
            return Err(MfaError::NotFound);
        }
        let (rcr, state) = rp
            .webauthn
            .start_securitykey_authentication(&credentials)
            .map_err(|e| MfaError::WebAuthnConfig(e.to_string()))?;
        let mut options = serde_json::to_value(&rcr).map_err(|_| MfaError::Malformed)?;
        if items.iter().any(is_platform) {
            // Not only security keys: let the browser offer face or touch unlock too.
            if let Some(public_key) = options["publicKey"].as_object_mut() {
                public_key.remove("hints");
            }
        }
        let id = self.keep_ceremony(user_id, SIGN_IN, &state, &[]).await?;
        Ok(WebAuthnChallenge {
            id,
            options_json: options.to_string(),
        })
    }

    /// Signs in with the browser's answer to a sign-in ceremony: the authenticator's
    /// method when the answer is right, `None` otherwise — wrong origin or signature,
    /// another account's authenticator, or a counter that did not rise (a cloned
    /// authenticator). The caller counts a `None` as an MFA failure (MFA-6).
    /// [`MfaError::WebAuthnExpired`]: the ceremony is over 5 minutes old or was used.
    pub async fn finish_webauthn_sign_in(
        &self,
        rp: &RelyingParty,
        user_id: &str,
        ceremony_id: &str,
        answer: &str,
    ) -> Result<Option<FactorSummary>, MfaError> {
        let (_, state) = self.take_ceremony(user_id, ceremony_id, SIGN_IN).await?;
        let state: SecurityKeyAuthentication =
            serde_json::from_slice(&state).map_err(|_| MfaError::Malformed)?;
        if answer.len() > MAX_ANSWER_BYTES {
            return Ok(None);
        }
        let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(answer) else {
            return Ok(None);
        };
        let result = match rp
            .webauthn
            .finish_securitykey_authentication(&answer, &state)
        {
            Ok(result) => result,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                tracing::warn!(
                    user = user_id,
                    "a WebAuthn counter went backwards: possibly a cloned authenticator"
                );
                return Ok(None);
            }
            Err(e) => {
                tracing::info!(error = %e, "a WebAuthn sign-in was refused");
                return Ok(None);
            }
        };
        let fp = credential_fp(result.cred_id());
        let Some(item) = self
            .items_of(user_id, FactorKind::WebAuthn)
            .await?
            .into_iter()
            .find(|i| i.str("cred_fp") == Some(fp.as_str()))
        else {
            // Removed since the ceremony began.
            return Ok(None);
        };
        let mut credential = stored_credential(&item)?;
        credential.update_credential(&result);
        let counter = i64::from(result.counter());
        // The counter only rises; an authenticator without one stays at 0.
        let rises = if counter > 0 {
            Check::lt("counter", counter)
        } else {
            Check::eq("counter", 0i64)
        };
        let json = serde_json::to_string(&credential).map_err(|_| MfaError::Malformed)?;
        let accepted = self
            .store
            .update(
                Update::new(item.key.clone())
                    .set("counter", counter)
                    .set("credential", json)
                    .set("last_used_ms", self.clock.now_ms()),
                Expect::All(vec![rises]),
            )
            .await;
        match accepted {
            Ok(updated) => Ok(super::factors::summary(&updated)),
            Err(StoreError::ConditionFailed) => {
                tracing::warn!(
                    user = user_id,
                    "a WebAuthn counter did not rise past the stored one: possibly a cloned \
                     authenticator"
                );
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_comes_from_the_public_url() {
        let rp = RelyingParty::new("http://localhost:3000", "Passerelle").unwrap();
        assert_eq!(rp.id(), "localhost");
        assert_eq!(rp.origin(), "http://localhost:3000");
        let rp = RelyingParty::new("https://id.example.gov/prod", "Passerelle").unwrap();
        assert_eq!(rp.id(), "id.example.gov");
        assert_eq!(rp.origin(), "https://id.example.gov");
        for bad in ["http://127.0.0.1:3000", "not a url", "http://[::1]:3000"] {
            assert!(
                matches!(
                    RelyingParty::new(bad, "Passerelle"),
                    Err(MfaError::WebAuthnConfig(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn attachments_have_stable_names() {
        for a in Attachment::ALL {
            assert_eq!(Attachment::parse(a.as_str()), Some(a));
        }
        assert_eq!(Attachment::parse("usb"), None);
    }

    #[test]
    fn credential_ids_become_short_key_parts() {
        let long = vec![7u8; 1023];
        let fp = credential_fp(&long);
        assert_eq!(fp.len(), 43);
        assert_ne!(fp, credential_fp(&[7u8; 1022]));
        assert_eq!(fp, credential_fp(&long));
    }
}

/// The ceremony and counter rules over the embedded store, with a software security key
/// answering: the ones the pages cannot reach (two ceremonies in flight at once).
#[cfg(all(test, feature = "embedded"))]
mod ceremony_tests {
    use std::sync::Arc;

    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_authenticator_rs::softtoken::SoftToken;
    use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::config::EmbeddedConfig;
    use crate::keys::SecretKey;
    use crate::random::OsRandom;
    use crate::services::Services;

    const USER: &str = "u1";

    struct World {
        _dir: tempfile::TempDir,
        clock: Arc<ManualClock>,
        factors: Factors,
        rp: RelyingParty,
        origin: Url,
    }

    async fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_ms(1_800_000_000_000));
        let services = Services::embedded(
            &EmbeddedConfig {
                data_dir: dir.path().to_path_buf(),
                max_receives: 5,
            },
            clock.clone() as Arc<dyn Clock>,
            Arc::new(OsRandom),
        )
        .unwrap();
        // The account the methods belong to, still waiting for its first one.
        services
            .store
            .put(
                Item::new(Key::new(partition(USER), "ACCOUNT")).with("status", "factor_pending"),
                Expect::Absent,
            )
            .await
            .unwrap();
        let factors = Factors::new(
            Arc::clone(&services.store),
            Arc::clone(&services.envelope),
            clock.clone() as Arc<dyn Clock>,
            Arc::new(OsRandom),
            SecretKey::from_bytes([7; 32]),
        );
        World {
            _dir: dir,
            clock,
            factors,
            rp: RelyingParty::new("http://localhost:3000", "Passerelle").unwrap(),
            origin: Url::parse("http://localhost:3000").unwrap(),
        }
    }

    async fn registered(w: &World) -> SoftToken {
        let mut key = SoftToken::new(false).unwrap().0;
        let c = w
            .factors
            .begin_webauthn(&w.rp, USER, "a@example.gov", "Key", Attachment::SecurityKey)
            .await
            .unwrap();
        let ccr: CreationChallengeResponse = serde_json::from_str(&c.options_json).unwrap();
        let answer = key.do_registration(w.origin.clone(), ccr).unwrap();
        let json = serde_json::to_string(&answer).unwrap();
        w.factors
            .finish_webauthn(&w.rp, USER, &c.id, &json, &EventContext::default())
            .await
            .unwrap();
        key
    }

    /// A sign-in ceremony begun now, and `key`'s answer to it.
    async fn answer(w: &World, key: &mut SoftToken) -> (String, String) {
        let c = w.factors.begin_webauthn_sign_in(&w.rp, USER).await.unwrap();
        let rcr: RequestChallengeResponse = serde_json::from_str(&c.options_json).unwrap();
        let answer = key.do_authentication(w.origin.clone(), rcr).unwrap();
        (c.id, serde_json::to_string(&answer).unwrap())
    }

    async fn sign_in(w: &World, (id, json): &(String, String)) -> Result<bool, MfaError> {
        w.factors
            .finish_webauthn_sign_in(&w.rp, USER, id, json)
            .await
            .map(|f| f.is_some())
    }

    #[tokio::test]
    async fn a_clone_answering_a_ceremony_begun_before_the_original_answered_is_refused() {
        let w = world().await;
        let mut key = registered(&w).await;
        let mut clone = SoftToken::from_cbor(&key.to_cbor().unwrap()).unwrap();
        // Two ceremonies begin while the stored counter is 0: webauthn-rs alone would
        // accept any counter above 0 in either.
        let (first, second) = (
            w.factors.begin_webauthn_sign_in(&w.rp, USER).await.unwrap(),
            w.factors.begin_webauthn_sign_in(&w.rp, USER).await.unwrap(),
        );
        let answer_to = |key: &mut SoftToken, c: &WebAuthnChallenge| {
            let rcr: RequestChallengeResponse = serde_json::from_str(&c.options_json).unwrap();
            let a = key.do_authentication(w.origin.clone(), rcr).unwrap();
            (c.id.clone(), serde_json::to_string(&a).unwrap())
        };
        let original = answer_to(&mut key, &first);
        let copy = answer_to(&mut clone, &second);
        // The original's counter 1 is kept; the clone's 1 does not rise past it.
        assert!(sign_in(&w, &original).await.unwrap());
        assert!(!sign_in(&w, &copy).await.unwrap());
        // The original goes on (counter 2).
        assert!(sign_in(&w, &answer(&w, &mut key).await).await.unwrap());
    }

    #[tokio::test]
    async fn a_ceremony_is_taken_once_and_expires() {
        let w = world().await;
        let mut key = registered(&w).await;
        let a = answer(&w, &mut key).await;
        let (one, two) = tokio::join!(sign_in(&w, &a), sign_in(&w, &a));
        let outcomes = [one, two];
        assert_eq!(outcomes.iter().filter(|o| matches!(o, Ok(true))).count(), 1);
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o, Err(MfaError::WebAuthnExpired)))
                .count(),
            1
        );
        let late = answer(&w, &mut key).await;
        w.clock.advance_ms(CEREMONY_LIFETIME_SECS * 1000 + 1);
        assert!(matches!(
            sign_in(&w, &late).await,
            Err(MfaError::WebAuthnExpired)
        ));
        // A registration's ceremony is not a sign-in's, and the other way round.
        let c = w
            .factors
            .begin_webauthn(&w.rp, USER, "a@example.gov", "Key 2", Attachment::Platform)
            .await
            .unwrap();
        assert!(matches!(
            sign_in(&w, &(c.id.clone(), "{}".into())).await,
            Err(MfaError::WebAuthnExpired)
        ));
    }

    #[tokio::test]
    async fn removing_a_key_drops_its_claim() {
        let w = world().await;
        registered(&w).await;
        registered(&w).await;
        let claims = w.factors.items(USER, "WEBAUTHN_CRED#").await.unwrap();
        assert_eq!(claims.len(), 2);
        let methods = w.factors.list(USER).await.unwrap();
        assert_eq!(methods[0].detail.as_deref(), Some("security_key"));
        w.factors
            .remove(USER, &methods[0].id, &EventContext::default())
            .await
            .unwrap();
        let claims = w.factors.items(USER, "WEBAUTHN_CRED#").await.unwrap();
        assert_eq!(claims.len(), 1);
    }
}
