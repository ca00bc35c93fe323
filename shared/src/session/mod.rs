//! Server-side sessions (ACC-3). The browser holds a 256-bit random token; the store keeps
//! only its SHA-256, so a copied table opens no session. A session ends after 15 minutes
//! idle or 12 hours in all; an account has one active session, and signing in again
//! replaces it (the id rotates at every sign-in); "sign out everywhere" ends it from any
//! device. Sensitive actions need a factor used within the last 20 minutes.
//!
//! Signing in has two stages. The password opens a *pending* session
//! ([`Sessions::start_pending`]): it can only reach the factor step (or factor set-up),
//! and it does not replace the account's active session, so someone who knows only the
//! password cannot sign the owner out. The factor then [`Sessions::start`]s the real
//! session under a new token, which replaces the pending one and any previous session.

pub mod devices;
mod policy;
pub mod remember;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use policy::SessionPolicy;

use crate::clock::Clock;
use crate::random::{Random, RandomExt, is_token};
use crate::store::{Check, Expect, Item, Key, Store, StoreError, Update, Write};

/// How many times a sign-in retries when another sign-in of the same account races it.
const START_ATTEMPTS: usize = 3;

/// The secret the browser holds (in a `__Host-` cookie). Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Accepts a cookie value; anything that is not 43 base64url characters is no token.
    pub fn parse(value: &str) -> Option<Self> {
        is_token(value, 32).then(|| Self(Zeroizing::new(value.to_owned())))
    }

    /// The store's name for the session: the token's SHA-256, base64url.
    pub(crate) fn id(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

/// What the server knows about a live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The token's hash: safe to log, useless to replay.
    pub id: String,
    pub user_id: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    /// When a second factor was last used in this session, and which kind. `None` for a
    /// pending session (password only).
    pub factor_ms: Option<i64>,
    pub factor_kind: Option<String>,
}

/// What an agency may ask of a sign-in (MFA-7, as `acr_values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aal {
    /// Password and a factor; a remembered browser counts.
    Default,
    /// Password and a factor used in this sign-in: no remembered browser.
    Aal2,
    /// Password and a phishing-resistant factor (WebAuthn).
    PhishingResistant,
}

impl Session {
    /// Whether this session meets what an agency asks (the OIDC authorize step sends the
    /// person to the factor step otherwise).
    pub fn satisfies(&self, aal: Aal) -> bool {
        let kind = self.factor_kind.as_deref();
        match aal {
            Aal::Default => self.is_complete(),
            Aal::Aal2 => self.is_complete() && kind != Some(remember::REMEMBERED),
            Aal::PhishingResistant => self.is_complete() && kind == Some("webauthn"),
        }
    }

    /// Signed in with password and factor (not just the password).
    pub fn is_complete(&self) -> bool {
        self.factor_ms.is_some()
    }

    /// Whether a sensitive action may go ahead without asking for a factor again.
    /// A remembered browser (ACC-4) completes a sign-in but is never a recent factor.
    pub fn has_recent_factor(&self, policy: &SessionPolicy, now_ms: i64) -> bool {
        self.factor_kind.as_deref() != Some(remember::REMEMBERED)
            && self
                .factor_ms
                .is_some_and(|t| now_ms - t < policy.recent_factor_secs * 1000)
    }

    /// When the idle timeout ends the session if nothing happens before.
    pub fn idle_deadline_ms(&self, policy: &SessionPolicy) -> i64 {
        (self.last_seen_ms + policy.idle_secs * 1000).min(self.absolute_deadline_ms(policy))
    }

    pub fn absolute_deadline_ms(&self, policy: &SessionPolicy) -> i64 {
        self.created_ms + policy.absolute_secs * 1000
    }
}

/// A sign-in prepared by [`Sessions::start_writes`], valid once its writes commit.
#[derive(Debug)]
pub struct StartedSession {
    pub token: SessionToken,
    pub session: Session,
    pub writes: Vec<Write>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The account no longer exists (deleted while signing in).
    #[error("the account no longer exists")]
    NoAccount,
    /// Other sign-ins of the same account kept winning; the caller may ask to retry.
    #[error("the session could not be started because of concurrent sign-ins")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    policy: SessionPolicy,
}

/// The session item; what lives only as long as the session is an attribute of it (the
/// verified identity's session copy, IDV-9), so every way a session ends removes it.
pub(crate) fn session_key(id: &str) -> Key {
    Key::new(format!("SESSION#{id}"), "SESSION")
}

/// The account item: sessions start only while it exists.
fn account_key(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "ACCOUNT")
}

/// The account's pointer to its one active session.
fn active_key(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "ACTIVE_SESSION")
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

impl Sessions {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        policy: SessionPolicy,
    ) -> Self {
        Self {
            store,
            clock,
            random,
            policy,
        }
    }

    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// Signs `user_id` in: a new session (new token, so the id rotates) replaces the
    /// account's previous one in one transaction. `factor` names the factor just used.
    pub async fn start(
        &self,
        user_id: &str,
        factor: Option<&str>,
    ) -> Result<(SessionToken, Session), SessionError> {
        for _ in 0..START_ATTEMPTS {
            let mut started = self.start_writes(user_id, factor).await?;
            // An account deleted meanwhile gets no session back.
            started
                .writes
                .push(Write::Check(account_key(user_id), Expect::Present));
            match self.store.transact(started.writes).await {
                Ok(()) => return Ok((started.token, started.session)),
                Err(StoreError::TransactionCanceled { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(SessionError::Contended)
    }

    /// The writes that sign `user_id` in, for a caller that commits them in its own
    /// transaction (a password change commits the new password and the only surviving
    /// session together). The writes fail as a whole if another sign-in moved the
    /// account's session pointer since it was read here: the caller retries. The caller's
    /// own writes must require the account to exist (a password change updates it).
    pub async fn start_writes(
        &self,
        user_id: &str,
        factor: Option<&str>,
    ) -> Result<StartedSession, SessionError> {
        let now = self.clock.now_ms();
        let token = SessionToken(Zeroizing::new(self.random.token(32)));
        let session = Session {
            id: token.id(),
            user_id: user_id.to_owned(),
            created_ms: now,
            last_seen_ms: now,
            factor_ms: factor.map(|_| now),
            factor_kind: factor.map(str::to_owned),
        };
        let pointer = self.store.get(&active_key(user_id)).await?;
        let mut writes = vec![Write::Put(self.item(&session), Expect::Absent)];
        let (pointer_expect, previous) = match &pointer {
            Some(p) => (
                Expect::Version(p.version),
                p.str("session").map(str::to_owned),
            ),
            None => (Expect::Absent, None),
        };
        writes.push(Write::Put(
            Item::new(active_key(user_id))
                .with("session", session.id.clone())
                .expiring_at(secs(session.absolute_deadline_ms(&self.policy))),
            pointer_expect,
        ));
        if let Some(old) = previous {
            writes.push(Write::Delete(session_key(&old), Expect::Any));
        }
        Ok(StartedSession {
            token,
            session,
            writes,
        })
    }

    /// The password stage of a sign-in (or the end of sign-up): a session that only the
    /// factor step accepts. It leaves the account's active session alone.
    pub async fn start_pending(
        &self,
        user_id: &str,
    ) -> Result<(SessionToken, Session), SessionError> {
        let now = self.clock.now_ms();
        let token = SessionToken(Zeroizing::new(self.random.token(32)));
        let session = Session {
            id: token.id(),
            user_id: user_id.to_owned(),
            created_ms: now,
            last_seen_ms: now,
            factor_ms: None,
            factor_kind: None,
        };
        let writes = vec![
            Write::Put(self.item(&session), Expect::Absent),
            Write::Check(account_key(user_id), Expect::Present),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok((token, session)),
            Err(StoreError::TransactionCanceled { .. }) => Err(SessionError::NoAccount),
            Err(e) => Err(e.into()),
        }
    }

    /// Completes a sign-in: the factor was just used in the pending session behind
    /// `pending`, which gives way to a full session under a new token.
    pub async fn complete(
        &self,
        pending: &SessionToken,
        user_id: &str,
        factor: &str,
    ) -> Result<(SessionToken, Session), SessionError> {
        let started = self.start(user_id, Some(factor)).await?;
        self.store
            .delete(&session_key(&pending.id()), Expect::Any)
            .await?;
        Ok(started)
    }

    fn item(&self, s: &Session) -> Item {
        let mut item = Item::new(session_key(&s.id))
            .with("user", s.user_id.clone())
            .with("created_ms", s.created_ms)
            .with("last_seen_ms", s.last_seen_ms)
            .expiring_at(secs(s.idle_deadline_ms(&self.policy)));
        if let (Some(t), Some(k)) = (s.factor_ms, &s.factor_kind) {
            item = item.with("factor_ms", t).with("factor_kind", k.clone());
        }
        item
    }

    fn from_item(item: &Item) -> Option<Session> {
        Some(Session {
            id: item.key.pk.strip_prefix("SESSION#")?.to_owned(),
            user_id: item.str("user")?.to_owned(),
            created_ms: item.num("created_ms")?,
            last_seen_ms: item.num("last_seen_ms")?,
            factor_ms: item.num("factor_ms"),
            factor_kind: item.str("factor_kind").map(str::to_owned),
        })
    }

    /// The live session for a browser's token, marking it used (which pushes the idle
    /// timeout back). `None` when it never existed, timed out, or was replaced.
    pub async fn resume(&self, token: &SessionToken) -> Result<Option<Session>, SessionError> {
        let now = self.clock.now_ms();
        let Some(item) = self.store.get(&session_key(&token.id())).await? else {
            return Ok(None);
        };
        let Some(mut session) = Self::from_item(&item) else {
            return Ok(None);
        };
        if now >= session.idle_deadline_ms(&self.policy) {
            return Ok(None);
        }
        // Touch at most once a minute (a quarter of the idle timeout when that is
        // shorter): an idle deadline a minute early costs nothing, a write on every
        // request costs a lot.
        let touch_every_ms = (self.policy.idle_secs * 1000 / 4).min(60_000);
        if now - session.last_seen_ms >= touch_every_ms {
            session.last_seen_ms = now;
            let touched = self
                .store
                .update(
                    Update::new(session_key(&session.id))
                        .set("last_seen_ms", now)
                        .expire_at(secs(session.idle_deadline_ms(&self.policy))),
                    Expect::Present,
                )
                .await;
            match touched {
                Ok(_) => {}
                // Ended (or replaced) between the read and the touch.
                Err(StoreError::ConditionFailed) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Some(session))
    }

    /// Records that a second factor was just used in this session.
    pub async fn record_factor(
        &self,
        token: &SessionToken,
        kind: &str,
    ) -> Result<bool, SessionError> {
        let now = self.clock.now_ms();
        let done = self
            .store
            .update(
                Update::new(session_key(&token.id()))
                    .set("factor_ms", now)
                    .set("factor_kind", kind),
                Expect::Present,
            )
            .await;
        match done {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Signs this browser out.
    pub async fn end(&self, token: &SessionToken) -> Result<(), SessionError> {
        let id = token.id();
        let Some(item) = self.store.delete(&session_key(&id), Expect::Any).await? else {
            return Ok(());
        };
        if let Some(user) = item.str("user") {
            // Clear the pointer only if it still names this session.
            let cleared = self
                .store
                .delete(
                    &active_key(user),
                    Expect::All(vec![Check::eq("session", id.as_str())]),
                )
                .await;
            match cleared {
                Ok(_) | Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Signs the account out on every device (after a password change, a reset, or on
    /// request).
    pub async fn end_all(&self, user_id: &str) -> Result<(), SessionError> {
        let pointer = self.store.delete(&active_key(user_id), Expect::Any).await?;
        if let Some(id) = pointer.as_ref().and_then(|p| p.str("session")) {
            self.store.delete(&session_key(id), Expect::Any).await?;
        }
        Ok(())
    }
}
