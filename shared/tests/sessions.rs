//! Sessions as a person lives them: sign in, stay active, go idle, sign in elsewhere, sign
//! out everywhere — over the embedded store, with the clock moved by the test.

use std::sync::Arc;

use passerelle::clock::{Clock, ManualClock};
use passerelle::random::OsRandom;
use passerelle::session::{SessionPolicy, SessionToken, Sessions};
use passerelle::sqlite::Db;
use passerelle::store::embedded::EmbeddedStore;
use passerelle::store::{Expect, Item, Key, Store};

const MINUTE: i64 = 60_000;

struct World {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    sessions: Sessions,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_ms(1_800_000_000_000));
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::new(
        Db::in_dir(dir.path()).unwrap(),
        clock.clone() as Arc<dyn Clock>,
    ));
    let sessions = Sessions::new(
        Arc::clone(&store),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        SessionPolicy::default(),
    );
    // Sessions start only for an account that exists.
    store
        .put(
            Item::new(Key::new("USER#u1", "ACCOUNT")).with("status", "active"),
            Expect::Absent,
        )
        .await
        .unwrap();
    World {
        _dir: dir,
        clock,
        store,
        sessions,
    }
}

#[tokio::test]
async fn a_session_resumes_and_the_store_never_holds_the_token() {
    // Given a person who signed in with an authentication app
    let w = world().await;
    let (token, started) = w.sessions.start("u1", Some("totp")).await.unwrap();
    // When the browser comes back with its cookie
    let resumed = w
        .sessions
        .resume(&token)
        .await
        .unwrap()
        .expect("a live session");
    // Then it is their session, and the store knows it only by the token's hash
    assert_eq!(resumed.user_id, "u1");
    assert_eq!(resumed.factor_kind.as_deref(), Some("totp"));
    assert_ne!(started.id, token.as_str());
    assert!(
        w.store
            .get(&Key::new(format!("SESSION#{}", token.as_str()), "SESSION"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        w.store
            .get(&Key::new(format!("SESSION#{}", started.id), "SESSION"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(!format!("{token:?}").contains(token.as_str()));
}

#[tokio::test]
async fn fifteen_idle_minutes_end_a_session_but_activity_keeps_it() {
    let w = world().await;
    let (token, _) = w.sessions.start("u1", None).await.unwrap();
    // Active every 10 minutes for an hour: still signed in
    for _ in 0..6 {
        w.clock.advance_ms(10 * MINUTE);
        assert!(w.sessions.resume(&token).await.unwrap().is_some());
    }
    // Then 15 idle minutes: gone
    w.clock.advance_ms(15 * MINUTE);
    assert!(w.sessions.resume(&token).await.unwrap().is_none());
}

#[tokio::test]
async fn twelve_hours_end_any_session() {
    let w = world().await;
    let (token, _) = w.sessions.start("u1", None).await.unwrap();
    for _ in 0..(12 * 6 - 1) {
        w.clock.advance_ms(10 * MINUTE);
        assert!(w.sessions.resume(&token).await.unwrap().is_some());
    }
    w.clock.advance_ms(10 * MINUTE);
    assert!(
        w.sessions.resume(&token).await.unwrap().is_none(),
        "absolute limit"
    );
}

#[tokio::test]
async fn signing_in_again_replaces_the_previous_session() {
    // Given a person signed in on a laptop
    let w = world().await;
    let (laptop, _) = w.sessions.start("u1", None).await.unwrap();
    // When they sign in on a phone
    let (phone, _) = w.sessions.start("u1", None).await.unwrap();
    // Then the laptop's session is gone: one active session per account, new id
    assert_ne!(laptop, phone);
    assert!(w.sessions.resume(&laptop).await.unwrap().is_none());
    assert!(w.sessions.resume(&phone).await.unwrap().is_some());
    // And another account is not affected
    w.store
        .put(
            Item::new(Key::new("USER#u2", "ACCOUNT")).with("status", "active"),
            Expect::Absent,
        )
        .await
        .unwrap();
    let (other, _) = w.sessions.start("u2", None).await.unwrap();
    assert!(w.sessions.resume(&phone).await.unwrap().is_some());
    assert!(w.sessions.resume(&other).await.unwrap().is_some());
}

#[tokio::test]
async fn signing_out_and_signing_out_everywhere() {
    let w = world().await;
    let (token, _) = w.sessions.start("u1", None).await.unwrap();
    w.sessions.end(&token).await.unwrap();
    assert!(w.sessions.resume(&token).await.unwrap().is_none());
    w.sessions.end(&token).await.unwrap();

    let (again, _) = w.sessions.start("u1", None).await.unwrap();
    w.sessions.end_all("u1").await.unwrap();
    assert!(w.sessions.resume(&again).await.unwrap().is_none());
}

#[tokio::test]
async fn sensitive_actions_need_a_factor_from_the_last_twenty_minutes() {
    let w = world().await;
    let policy = SessionPolicy::default();
    let (token, _) = w.sessions.start("u1", Some("webauthn")).await.unwrap();
    let s = w.sessions.resume(&token).await.unwrap().unwrap();
    assert!(s.has_recent_factor(&policy, w.clock.now_ms()));
    for _ in 0..2 {
        w.clock.advance_ms(10 * MINUTE);
        w.sessions.resume(&token).await.unwrap().unwrap();
    }
    let s = w.sessions.resume(&token).await.unwrap().unwrap();
    assert!(
        !s.has_recent_factor(&policy, w.clock.now_ms()),
        "20 minutes later"
    );
    assert!(w.sessions.record_factor(&token, "totp").await.unwrap());
    let s = w.sessions.resume(&token).await.unwrap().unwrap();
    assert!(s.has_recent_factor(&policy, w.clock.now_ms()));
    assert_eq!(s.factor_kind.as_deref(), Some("totp"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_ins_leave_exactly_one_session() {
    // Given ten browsers signing in to one account at once
    let w = world().await;
    let sessions = Arc::new(w.sessions.clone());
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let sessions = Arc::clone(&sessions);
            tokio::spawn(async move { sessions.start("u1", None).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        if let Ok((token, _)) = t.await.unwrap() {
            tokens.push(token);
        }
    }
    // Then exactly one of the sessions they got is live
    assert!(!tokens.is_empty());
    let mut live = 0;
    for token in &tokens {
        if w.sessions.resume(token).await.unwrap().is_some() {
            live += 1;
        }
    }
    assert_eq!(live, 1);
}

#[test]
fn only_well_formed_tokens_are_accepted() {
    assert!(SessionToken::parse("short").is_none());
    assert!(SessionToken::parse(&"a".repeat(44)).is_none());
    assert!(SessionToken::parse(&format!("{}!", "a".repeat(42))).is_none());
    assert!(SessionToken::parse(&"a".repeat(43)).is_some());
}

#[tokio::test]
async fn a_password_alone_opens_a_pending_session_that_replaces_nothing() {
    // Given the owner signed in on a laptop with password and factor
    let w = world().await;
    let (laptop, _) = w.sessions.start("u1", Some("totp")).await.unwrap();
    // When someone who knows only the password gets a pending session elsewhere
    let (pending, session) = w.sessions.start_pending("u1").await.unwrap();
    // Then it is pending, and the owner's session lives on
    assert!(!session.is_complete());
    assert!(w.sessions.resume(&laptop).await.unwrap().is_some());
    let resumed = w.sessions.resume(&pending).await.unwrap().unwrap();
    assert!(!resumed.is_complete());
    // When the factor step completes it, the token rotates and the pending one is gone
    let (full, session) = w.sessions.complete(&pending, "u1", "totp").await.unwrap();
    assert!(session.is_complete());
    assert_ne!(full, pending);
    assert!(w.sessions.resume(&pending).await.unwrap().is_none());
    // And, as any sign-in, it replaced the laptop's session
    assert!(w.sessions.resume(&laptop).await.unwrap().is_none());
    assert!(w.sessions.resume(&full).await.unwrap().is_some());
}

#[tokio::test]
async fn no_session_starts_for_an_account_that_is_gone() {
    let w = world().await;
    w.store
        .delete(&Key::new("USER#u1", "ACCOUNT"), Expect::Any)
        .await
        .unwrap();
    assert!(w.sessions.start_pending("u1").await.is_err());
    assert!(w.sessions.start("u1", Some("totp")).await.is_err());
}

#[tokio::test]
async fn what_a_session_satisfies_depends_on_the_factor_it_used() {
    use passerelle::session::Aal;
    use passerelle::session::remember::REMEMBERED;
    let w = world().await;
    let (_, pending) = w.sessions.start_pending("u1").await.unwrap();
    assert!(!pending.satisfies(Aal::Default));
    let (_, app) = w.sessions.start("u1", Some("totp")).await.unwrap();
    assert!(app.satisfies(Aal::Default) && app.satisfies(Aal::Aal2));
    assert!(!app.satisfies(Aal::PhishingResistant));
    let (_, remembered) = w.sessions.start("u1", Some(REMEMBERED)).await.unwrap();
    assert!(remembered.satisfies(Aal::Default));
    assert!(!remembered.satisfies(Aal::Aal2));
    let (_, key) = w.sessions.start("u1", Some("webauthn")).await.unwrap();
    assert!(key.satisfies(Aal::PhishingResistant));
}
