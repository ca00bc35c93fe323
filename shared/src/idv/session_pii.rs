//! The signed-in copy of a verified identity (IDV-9): while a session lives, the opened
//! PII is kept in it, encrypted under a key the server never stores. The key is
//! HMAC-SHA256(session token, "passerelle/session-pii/v1"): the token is the secret in the
//! browser's `__Host-` cookie, and the store keeps only its SHA-256 (the session id), from
//! which the key cannot be derived. A copied table, or an operator, reads nothing.
//!
//! The ciphertext is the `idv_pii` attribute of the session item itself (`SESSION#<id>`,
//! `SESSION`), so it shares the session's expiry and goes with it however the session
//! ends: sign-out, "sign out everywhere", a new sign-in replacing it, account deletion.
//! Layout: nonce (12) | AES-256-GCM(Pii JSON), tag (16), with the session id as
//! associated data.

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::error::IdvError;
use super::pii::Pii;
use crate::aead;
use crate::random::{Random, RandomExt};
use crate::session::{Session, SessionToken, session_key};
use crate::store::{Check, Expect, Store, StoreError, Update};

const ATTR: &str = "idv_pii";
const LABEL: &[u8] = b"passerelle/session-pii/v1";

fn key_of(token: &SessionToken) -> Zeroizing<[u8; 32]> {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token.as_str().as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(LABEL);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

fn associated_data(session_id: &str) -> Vec<u8> {
    let mut aad = LABEL.to_vec();
    aad.extend_from_slice(session_id.as_bytes());
    aad
}

/// Keeps, reads and forgets the session's copy of the identity.
#[derive(Debug, Clone)]
pub struct SessionPii {
    store: Arc<dyn Store>,
    random: Arc<dyn Random>,
}

impl SessionPii {
    pub fn new(store: Arc<dyn Store>, random: Arc<dyn Random>) -> Self {
        Self { store, random }
    }

    /// Keeps `pii` in the session `token` opened. `false` when the session has ended (or
    /// `token` is not its token): nothing was written.
    pub async fn keep(
        &self,
        token: &SessionToken,
        session: &Session,
        pii: &Pii,
    ) -> Result<bool, IdvError> {
        if token.id() != session.id {
            return Ok(false);
        }
        let key = key_of(token);
        let nonce = self.random.array::<{ aead::NONCE_LEN }>();
        let mut sealed = nonce.to_vec();
        sealed.extend(aead::encrypt(
            &key,
            &nonce,
            &associated_data(&session.id),
            &pii.to_json(),
        ));
        // Only onto the live session of this account: never recreate an ended one.
        let kept = self
            .store
            .update(
                Update::new(session_key(&session.id)).set(ATTR, sealed),
                Expect::All(vec![Check::eq("user", session.user_id.as_str())]),
            )
            .await;
        match kept {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The session's copy, if it has one and `token` is its token.
    pub async fn read(
        &self,
        token: &SessionToken,
        session: &Session,
    ) -> Result<Option<Pii>, IdvError> {
        if token.id() != session.id {
            return Ok(None);
        }
        let Some(item) = self.store.get(&session_key(&session.id)).await? else {
            return Ok(None);
        };
        let Some((nonce, ciphertext)) = item
            .bytes(ATTR)
            .and_then(|b| b.split_first_chunk::<{ aead::NONCE_LEN }>())
        else {
            return Ok(None);
        };
        let key = key_of(token);
        let plain = aead::decrypt(&key, nonce, &associated_data(&session.id), ciphertext);
        Ok(plain.and_then(|json| Pii::from_json(&json)))
    }

    /// Drops the session's copy (the person closed the identity pages, or it changed).
    pub async fn forget(&self, session: &Session) -> Result<(), IdvError> {
        let forgotten = self
            .store
            .update(
                Update::new(session_key(&session.id)).remove(ATTR),
                Expect::Present,
            )
            .await;
        match forgotten {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves the copy from one session to the next (the password step's pending session
    /// to the signed-in session the factor step starts). `false` when there was nothing
    /// to move or the new session has ended.
    pub async fn carry(
        &self,
        from: (&SessionToken, &Session),
        to: (&SessionToken, &Session),
    ) -> Result<bool, IdvError> {
        let Some(pii) = self.read(from.0, from.1).await? else {
            return Ok(false);
        };
        let kept = self.keep(to.0, to.1, &pii).await?;
        self.forget(from.1).await?;
        Ok(kept)
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::idv::testkit::{found, sample_pii, world};

    #[tokio::test]
    async fn given_a_kept_copy_then_only_its_session_token_reads_it_and_nothing_shows_at_rest() {
        let w = world().await;
        let user = w.account("ada@example.gov").await;
        let (token, session) = w.sessions.start(&user, Some("totp")).await.unwrap();
        assert_eq!(w.session_pii.read(&token, &session).await.unwrap(), None);
        assert!(
            w.session_pii
                .keep(&token, &session, &sample_pii())
                .await
                .unwrap()
        );
        assert_eq!(
            w.session_pii.read(&token, &session).await.unwrap(),
            Some(sample_pii())
        );
        // Another session's token neither reads nor writes this one
        let other = w.account("bob@example.gov").await;
        let (other_token, _) = w.sessions.start(&other, Some("totp")).await.unwrap();
        assert_eq!(
            w.session_pii.read(&other_token, &session).await.unwrap(),
            None
        );
        assert!(
            !w.session_pii
                .keep(&other_token, &session, &sample_pii())
                .await
                .unwrap()
        );
        // At rest: the ciphertext, the session id; never the PII, the token or the key
        let stored = w.stored_bytes().await;
        assert_eq!(found(&stored, "Zyxwvutsra"), None);
        assert_eq!(found(&stored, "900112233"), None);
        assert_eq!(found(&stored, token.as_str()), None);
        let key = key_of(&token);
        assert!(
            !stored
                .iter()
                .any(|b| b.windows(32).any(|w| w == key.as_slice()))
        );
        assert!(found(&stored, &session.id).is_some());
        // Forgetting drops it
        w.session_pii.forget(&session).await.unwrap();
        assert_eq!(w.session_pii.read(&token, &session).await.unwrap(), None);
    }

    #[tokio::test]
    async fn given_a_kept_copy_when_signing_out_then_it_is_gone() {
        let w = world().await;
        let user = w.account("ada@example.gov").await;
        let (token, session) = w.sessions.start(&user, Some("totp")).await.unwrap();
        w.session_pii
            .keep(&token, &session, &sample_pii())
            .await
            .unwrap();
        w.sessions.end(&token).await.unwrap();
        assert_eq!(w.session_pii.read(&token, &session).await.unwrap(), None);
        // And it cannot be kept on the ended session
        assert!(
            !w.session_pii
                .keep(&token, &session, &sample_pii())
                .await
                .unwrap()
        );
        assert!(
            w.store
                .get(&session_key(&session.id))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn given_a_kept_copy_when_a_new_session_replaces_it_or_it_times_out_then_it_is_gone() {
        let w = world().await;
        let user = w.account("ada@example.gov").await;
        let (token, session) = w.sessions.start(&user, Some("totp")).await.unwrap();
        w.session_pii
            .keep(&token, &session, &sample_pii())
            .await
            .unwrap();
        // A sign-in elsewhere replaces the session: the copy goes with it
        let (new_token, new_session) = w.sessions.start(&user, Some("totp")).await.unwrap();
        assert_eq!(w.session_pii.read(&token, &session).await.unwrap(), None);
        assert_eq!(
            w.session_pii.read(&new_token, &new_session).await.unwrap(),
            None
        );
        // A copy in the new session lasts as long as the session: 15 idle minutes
        w.session_pii
            .keep(&new_token, &new_session, &sample_pii())
            .await
            .unwrap();
        w.clock.advance_ms(15 * 60 * 1000);
        assert_eq!(
            w.session_pii.read(&new_token, &new_session).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn given_a_pending_session_copy_when_carried_then_the_signed_in_session_holds_it() {
        let w = world().await;
        let user = w.account("ada@example.gov").await;
        let (pending_token, pending) = w.sessions.start_pending(&user).await.unwrap();
        w.session_pii
            .keep(&pending_token, &pending, &sample_pii())
            .await
            .unwrap();
        let (token, session) = w
            .sessions
            .complete(&pending_token, &user, "totp")
            .await
            .unwrap();
        // `complete` deleted the pending session: carry before it, as the web layer must
        assert!(
            !w.session_pii
                .carry((&pending_token, &pending), (&token, &session))
                .await
                .unwrap()
        );
        let (pending_token, pending) = w.sessions.start_pending(&user).await.unwrap();
        w.session_pii
            .keep(&pending_token, &pending, &sample_pii())
            .await
            .unwrap();
        let (token, session) = w.sessions.start(&user, Some("totp")).await.unwrap();
        assert!(
            w.session_pii
                .carry((&pending_token, &pending), (&token, &session))
                .await
                .unwrap()
        );
        assert_eq!(
            w.session_pii.read(&token, &session).await.unwrap(),
            Some(sample_pii())
        );
        assert_eq!(
            w.session_pii.read(&pending_token, &pending).await.unwrap(),
            None
        );
    }
}
