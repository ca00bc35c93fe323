//! Managing an account as its owner lives it — addresses, password, deletion, account
//! reset when every factor is lost, "this wasn't me" — over the embedded store, with the
//! clock moved by the test. Races are made certain, not likely: a gate in front of the
//! store holds each racer's transaction until all of them have read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle::account::accounts::{AccountError, Accounts, SignupStart};
use passerelle::account::addresses::AddAddress;
use passerelle::account::email::EmailAddress;
use passerelle::account::events::{EventContext, history};
use passerelle::account::links::LinkToken;
use passerelle::account::password::PasswordProblem;
use passerelle::account::password_hash::HashParams;
use passerelle::account::recovery::DueReset;
use passerelle::clock::{Clock, ManualClock};
use passerelle::envelope::{CacheLimits, Envelope};
use passerelle::keys::local::LocalKeyService;
use passerelle::random::OsRandom;
use passerelle::session::{SessionPolicy, Sessions};
use passerelle::sqlite::Db;
use passerelle::store::embedded::EmbeddedStore;
use passerelle::store::gated::Gated;
use passerelle::store::{Expect, Item, Key, Store, Write};

const FAST: HashParams = HashParams {
    m_cost_kib: 1024,
    t_cost: 1,
    p_cost: 1,
};
const GOOD: &str = "correct horse battery staple";
const OTHER_GOOD: &str = "violet umbrella marching quietly";
const THIRD_GOOD: &str = "seventeen copper kettles humming";
const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

struct World {
    _dir: tempfile::TempDir,
    db: Db,
    clock: Arc<ManualClock>,
    gated: Arc<Gated>,
    store: Arc<dyn Store>,
    accounts: Accounts,
    sessions: Sessions,
}

async fn world_with(params: HashParams) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_ms(1_800_000_000_000));
    let db = Db::in_dir(dir.path()).unwrap();
    let gated = Arc::new(Gated::new(Arc::new(EmbeddedStore::new(
        db.clone(),
        clock.clone() as Arc<dyn Clock>,
    ))));
    let store: Arc<dyn Store> = gated.clone();
    let keys = Arc::new(LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap());
    let envelope = Arc::new(Envelope::new(
        keys,
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        CacheLimits::default(),
    ));
    let accounts = Accounts::new(
        Arc::clone(&store),
        envelope,
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        params,
    )
    .await
    .unwrap();
    let sessions = Sessions::new(
        Arc::clone(&store),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        SessionPolicy::default(),
    );
    World {
        _dir: dir,
        db,
        clock,
        gated,
        store,
        accounts,
        sessions,
    }
}

async fn world() -> World {
    world_with(FAST).await
}

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn ctx() -> EventContext {
    EventContext::default()
}

async fn registered(w: &World, address: &str) -> String {
    let SignupStart::Confirm(token) = w
        .accounts
        .begin_signup(&email(address), "fr")
        .await
        .unwrap()
    else {
        panic!("{address} is new");
    };
    let id = w
        .accounts
        .complete_signup(&token, GOOD, &ctx())
        .await
        .unwrap()
        .id;
    // Events of one millisecond have no order: keep the history's order certain.
    w.clock.advance_ms(SECOND);
    id
}

async fn add_link(w: &World, user_id: &str, address: &str) -> LinkToken {
    match w
        .accounts
        .begin_add_address(user_id, &email(address))
        .await
        .unwrap()
    {
        AddAddress::Confirm(token) => token,
        other => panic!("{address}: {other:?}"),
    }
}

async fn added(w: &World, user_id: &str, address: &str) {
    let token = add_link(w, user_id, address).await;
    let (account, confirmed) = w
        .accounts
        .confirm_add_address(&token, &ctx())
        .await
        .unwrap();
    assert_eq!(account.id, user_id);
    assert_eq!(confirmed, email(address));
    w.clock.advance_ms(SECOND);
}

async fn addresses(w: &World, user_id: &str) -> Vec<String> {
    w.accounts
        .list_addresses(user_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.address.as_str().to_owned())
        .collect()
}

async fn email_count(w: &World, user_id: &str) -> Option<i64> {
    w.store
        .get(&Key::new(format!("USER#{user_id}"), "ACCOUNT"))
        .await
        .unwrap()
        .and_then(|i| i.num("emails"))
}

async fn kinds(w: &World, user_id: &str) -> Vec<String> {
    history(w.store.as_ref(), user_id, 100, None)
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|i| i.str("kind").map(str::to_owned))
        .collect()
}

/// Every item in the database, expired or not: (pk, sk, attributes as JSON).
async fn scan(w: &World) -> Vec<(String, String, String)> {
    w.db.sql(|c| {
        let mut stmt = c.prepare("SELECT pk, sk, attrs FROM items")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .unwrap()
}

fn is_invalid_link<T: std::fmt::Debug>(r: &Result<T, AccountError>) -> bool {
    matches!(r, Err(AccountError::LinkInvalid))
}

// --- Addresses -------------------------------------------------------------------------

#[tokio::test]
async fn given_a_second_address_when_its_link_is_followed_then_it_is_added_once() {
    // Given Jane's account
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    w.clock.advance_ms(MINUTE);
    // When she adds an address and follows the link mailed to it
    let token = add_link(&w, &id, "Jane.Work@Example.gov").await;
    let (_, confirmed) = w
        .accounts
        .confirm_add_address(&token, &ctx())
        .await
        .unwrap();
    // Then both addresses are hers, oldest (the primary one) first
    assert_eq!(confirmed.as_str(), "jane.work@example.gov");
    assert_eq!(
        addresses(&w, &id).await,
        vec!["jane@example.gov", "jane.work@example.gov"]
    );
    assert_eq!(
        w.accounts.primary_address(&id).await.unwrap().as_str(),
        "jane@example.gov"
    );
    let (account, all) = w.accounts.addresses_for_mail(&id).await.unwrap();
    assert_eq!((account.id.as_str(), all.len()), (id.as_str(), 2));
    assert_eq!(email_count(&w, &id).await, Some(2));
    assert_eq!(kinds(&w, &id).await, vec!["email_added", "account_created"]);
    // And she can sign in with either
    assert!(
        w.accounts
            .authenticate("jane.work@example.gov", GOOD)
            .await
            .is_ok()
    );
    // And the link does not work twice, and asking again says it is already hers
    assert!(is_invalid_link(
        &w.accounts.confirm_add_address(&token, &ctx()).await
    ));
    assert!(matches!(
        w.accounts
            .begin_add_address(&id, &email("jane.work@example.gov"))
            .await
            .unwrap(),
        AddAddress::AlreadyYours
    ));
    assert_eq!(email_count(&w, &id).await, Some(2));
}

#[tokio::test]
async fn given_an_add_address_link_when_24_hours_pass_then_it_is_refused() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    let early = add_link(&w, &id, "early@example.gov").await;
    let late = add_link(&w, &id, "late@example.gov").await;
    // Just before 24 hours a link still works
    w.clock.advance_ms(DAY - SECOND);
    w.accounts
        .confirm_add_address(&early, &ctx())
        .await
        .unwrap();
    // At 24 hours it does nothing
    w.clock.advance_ms(SECOND);
    assert!(is_invalid_link(
        &w.accounts.confirm_add_address(&late, &ctx()).await
    ));
    assert_eq!(
        addresses(&w, &id).await,
        vec!["jane@example.gov", "early@example.gov"]
    );
}

#[tokio::test]
async fn given_twelve_addresses_when_a_thirteenth_is_added_then_it_is_refused() {
    // Given an account with eleven addresses and two links waiting for a twelfth
    let w = world().await;
    let id = registered(&w, "a0@example.gov").await;
    for n in 1..11 {
        added(&w, &id, &format!("a{n}@example.gov")).await;
    }
    let twelfth = add_link(&w, &id, "a11@example.gov").await;
    let thirteenth = add_link(&w, &id, "a12@example.gov").await;
    // When both are followed, then the first fills the account and the second is refused
    w.accounts
        .confirm_add_address(&twelfth, &ctx())
        .await
        .unwrap();
    let refused = w.accounts.confirm_add_address(&thirteenth, &ctx()).await;
    assert!(
        matches!(refused, Err(AccountError::TooManyAddresses)),
        "{refused:?}"
    );
    // And asking for another link is refused up front
    assert!(matches!(
        w.accounts
            .begin_add_address(&id, &email("a13@example.gov"))
            .await
            .unwrap(),
        AddAddress::TooMany
    ));
    // And the account holds twelve, and the refused address stayed free
    assert_eq!(addresses(&w, &id).await.len(), 12);
    assert_eq!(email_count(&w, &id).await, Some(12));
    assert!(matches!(
        w.accounts
            .begin_signup(&email("a12@example.gov"), "en")
            .await
            .unwrap(),
        SignupStart::Confirm(_)
    ));
}

#[tokio::test]
async fn given_one_address_when_it_is_removed_then_it_is_refused() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    let only = w.accounts.list_addresses(&id).await.unwrap();
    let r = w.accounts.remove_address(&id, &only[0].fp, &ctx()).await;
    assert!(matches!(r, Err(AccountError::LastAddress)), "{r:?}");
    assert_eq!(addresses(&w, &id).await, vec!["jane@example.gov"]);
    // And a fingerprint that names nothing, or is no fingerprint, is not found
    for fp in ["A".repeat(43), "../ACCOUNT".to_owned(), "x".repeat(5000)] {
        let r = w.accounts.remove_address(&id, &fp, &ctx()).await;
        assert!(matches!(r, Err(AccountError::AddressNotFound)), "{r:?}");
    }
}

#[tokio::test]
async fn given_two_addresses_when_both_are_removed_at_once_then_one_remains() {
    // Given Jane with two addresses
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    added(&w, &id, "jane.work@example.gov").await;
    let entries = w.accounts.list_addresses(&id).await.unwrap();
    // When two tabs remove one each at the same moment
    let c = ctx();
    w.gated.arm(2);
    let (a, b) = tokio::join!(
        w.accounts.remove_address(&id, &entries[0].fp, &c),
        w.accounts.remove_address(&id, &entries[1].fp, &c),
    );
    // Then exactly one removal wins, and one address is left
    let removed = match (a, b) {
        (Ok(e), Err(AccountError::LastAddress)) | (Err(AccountError::LastAddress), Ok(e)) => e,
        other => panic!("{other:?}"),
    };
    let left = addresses(&w, &id).await;
    assert_eq!(left.len(), 1);
    assert_ne!(left[0], removed.as_str());
    assert_eq!(email_count(&w, &id).await, Some(1));
    assert_eq!(
        kinds(&w, &id).await,
        vec!["email_removed", "email_added", "account_created"]
    );
    // And the removed address is free to register again, and no longer signs in
    assert!(matches!(
        w.accounts.begin_signup(&removed, "en").await.unwrap(),
        SignupStart::Confirm(_)
    ));
    assert!(
        w.accounts
            .authenticate(removed.as_str(), GOOD)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn given_an_address_of_another_account_when_it_is_added_then_the_claim_refuses_it() {
    // Given Jane and Bob
    let w = world().await;
    let jane = registered(&w, "jane@example.gov").await;
    let bob = registered(&w, "bob@example.gov").await;
    // When Jane tries to add Bob's address, then no link is made
    assert!(matches!(
        w.accounts
            .begin_add_address(&jane, &email("bob@example.gov"))
            .await
            .unwrap(),
        AddAddress::TakenElsewhere
    ));
    // When Jane's link for a free address is followed after Bob registered it elsewhere
    let token = add_link(&w, &jane, "shared@example.gov").await;
    added(&w, &bob, "shared@example.gov").await;
    let r = w.accounts.confirm_add_address(&token, &ctx()).await;
    // Then the claim refuses it and nothing of it was written to Jane's account
    assert!(matches!(r, Err(AccountError::EmailTaken)), "{r:?}");
    assert_eq!(addresses(&w, &jane).await, vec!["jane@example.gov"]);
    assert_eq!(email_count(&w, &jane).await, Some(1));
    assert_eq!(kinds(&w, &jane).await, vec!["account_created"]);
    // And an address Jane added cannot be signed up for
    added(&w, &jane, "jane.home@example.gov").await;
    assert!(matches!(
        w.accounts
            .begin_signup(&email("jane.home@example.gov"), "en")
            .await
            .unwrap(),
        SignupStart::AlreadyRegistered
    ));
}

#[tokio::test]
async fn given_an_account_when_its_language_is_set_then_only_known_languages_are_taken() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    assert_eq!(w.accounts.set_locale(&id, "es").await.unwrap().locale, "es");
    assert_eq!(w.accounts.account(&id).await.unwrap().unwrap().locale, "es");
    for bad in ["de", "", "EN", "en-US"] {
        assert!(matches!(
            w.accounts.set_locale(&id, bad).await,
            Err(AccountError::InvalidLocale)
        ));
    }
    assert!(matches!(
        w.accounts.set_locale("nobody", "en").await,
        Err(AccountError::AccountNotFound)
    ));
}

// --- Password change -------------------------------------------------------------------

#[tokio::test]
async fn given_the_current_password_when_it_is_changed_then_only_the_new_one_works() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    w.clock.advance_ms(HOUR);
    // A wrong current password changes nothing
    let r = w
        .accounts
        .change_password(&id, OTHER_GOOD, THIRD_GOOD, &ctx(), vec![])
        .await;
    assert!(matches!(r, Err(AccountError::InvalidCredentials)), "{r:?}");
    // A new password made of the address is refused
    let r = w
        .accounts
        .change_password(&id, GOOD, "jane example gov 2030", &ctx(), vec![])
        .await;
    assert!(
        matches!(
            r,
            Err(AccountError::Password(PasswordProblem::ContainsEmail))
        ),
        "{r:?}"
    );
    // More extra writes than a transaction holds are refused before anything is written
    let too_many = (0..99)
        .map(|n| {
            Write::Put(
                Item::new(Key::new(format!("TEST#{n}"), "MARKER")),
                Expect::Absent,
            )
        })
        .collect();
    let r = w
        .accounts
        .change_password(&id, GOOD, OTHER_GOOD, &ctx(), too_many)
        .await;
    assert!(matches!(r, Err(AccountError::Store(_))), "{r:?}");
    assert!(
        w.accounts
            .authenticate("jane@example.gov", GOOD)
            .await
            .is_ok()
    );
    // The right one changes it
    let account = w
        .accounts
        .change_password(&id, GOOD, OTHER_GOOD, &ctx(), vec![])
        .await
        .unwrap();
    assert_eq!(account.password_changed_ms, w.clock.now_ms());
    assert!(
        w.accounts
            .authenticate("jane@example.gov", GOOD)
            .await
            .is_err()
    );
    let signed_in = w
        .accounts
        .authenticate("jane@example.gov", OTHER_GOOD)
        .await
        .unwrap();
    assert_eq!(signed_in.password_changed_ms, w.clock.now_ms());
    assert_eq!(
        kinds(&w, &id).await,
        vec!["password_changed", "account_created"]
    );
}

#[tokio::test]
async fn given_two_password_changes_at_once_then_one_commits_and_the_other_writes_nothing() {
    // Given Jane signed in on two devices, both changing the password at the same moment,
    // each with its own extra write (as the session rotation would be)
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    let marker = |n: &str| Item::new(Key::new(format!("TEST#{n}"), "MARKER"));
    let c = ctx();
    w.gated.arm(2);
    let (a, b) = tokio::join!(
        w.accounts.change_password(
            &id,
            GOOD,
            OTHER_GOOD,
            &c,
            vec![Write::Put(marker("a"), Expect::Absent)],
        ),
        w.accounts.change_password(
            &id,
            GOOD,
            THIRD_GOOD,
            &c,
            vec![Write::Put(marker("b"), Expect::Absent)],
        ),
    );
    // Then exactly one commits, the other gets Conflict and none of its writes exist
    let (winner, loser, loser_marker) = match (&a, &b) {
        (Ok(_), Err(AccountError::Conflict)) => (OTHER_GOOD, THIRD_GOOD, "b"),
        (Err(AccountError::Conflict), Ok(_)) => (THIRD_GOOD, OTHER_GOOD, "a"),
        other => panic!("{other:?}"),
    };
    assert!(
        w.accounts
            .authenticate("jane@example.gov", winner)
            .await
            .is_ok()
    );
    for old in [GOOD, loser] {
        assert!(
            w.accounts
                .authenticate("jane@example.gov", old)
                .await
                .is_err()
        );
    }
    assert!(
        w.store
            .get(&marker(loser_marker).key)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        kinds(&w, &id).await,
        vec!["password_changed", "account_created"]
    );
    // When the loser retries with the password now in force, then it commits last and is
    // the password
    w.accounts
        .change_password(&id, winner, loser, &ctx(), vec![])
        .await
        .unwrap();
    assert!(
        w.accounts
            .authenticate("jane@example.gov", loser)
            .await
            .is_ok()
    );
    assert!(
        w.accounts
            .authenticate("jane@example.gov", winner)
            .await
            .is_err()
    );
}

// --- Deletion --------------------------------------------------------------------------

#[tokio::test]
async fn given_an_account_when_it_is_deleted_then_nothing_of_it_remains_and_its_addresses_are_free()
{
    // Given Jane with two addresses, a session, a pending account reset and a history
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    let other = registered(&w, "bob@example.gov").await;
    added(&w, &id, "jane.work@example.gov").await;
    let fps: Vec<String> = w
        .accounts
        .list_addresses(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.fp)
        .collect();
    let (session_token, session) = w.sessions.start(&id, Some("totp")).await.unwrap();
    w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
    // When she deletes her account
    let (account, mailed) = w.accounts.delete_account(&id).await.unwrap();
    // Then the "account deleted" email can go to both addresses, in her language
    assert_eq!(account.id, id);
    assert_eq!(account.locale, "fr");
    let mut mailed: Vec<&str> = mailed.iter().map(EmailAddress::as_str).collect();
    mailed.sort_unstable();
    assert_eq!(mailed, vec!["jane.work@example.gov", "jane@example.gov"]);
    // And no item of hers is left: partition, claims, session
    let partition = format!("USER#{id}");
    let session_pk = format!("SESSION#{}", session.id);
    let claims: Vec<String> = fps.iter().map(|fp| format!("EMAIL#{fp}")).collect();
    for (pk, sk, attrs) in scan(&w).await {
        assert_ne!(pk, partition, "{sk} left");
        assert_ne!(pk, session_pk, "session left");
        assert!(!claims.contains(&pk), "claim {pk} left");
        if pk.starts_with("EMAIL#") {
            assert!(!attrs.contains(&id), "a claim names the deleted account");
        }
    }
    assert!(
        w.sessions.resume(&session_token).await.unwrap().is_none(),
        "the session ended"
    );
    // And Bob's account is untouched
    assert!(
        w.accounts
            .authenticate("bob@example.gov", GOOD)
            .await
            .is_ok()
    );
    assert_eq!(w.accounts.list_addresses(&other).await.unwrap().len(), 1);
    // And nobody signs in with her addresses, which can register again
    assert!(
        w.accounts
            .authenticate("jane@example.gov", GOOD)
            .await
            .is_err()
    );
    assert_eq!(w.accounts.account(&id).await.unwrap(), None);
    let again = registered(&w, "jane@example.gov").await;
    assert_ne!(again, id);
    // And deleting again changes nothing, and the reset she had asked for never comes
    assert!(matches!(
        w.accounts.delete_account(&id).await,
        Err(AccountError::AccountNotFound)
    ));
    w.clock.advance_ms(DAY);
    assert!(w.accounts.due_account_resets(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn given_a_large_history_when_the_account_is_deleted_then_every_page_goes() {
    // More items than one transaction holds: the deletion pages through the partition.
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    for n in 0..130 {
        w.store
            .put(
                Item::new(Key::new(format!("USER#{id}"), format!("FACTOR#{n:03}"))),
                Expect::Absent,
            )
            .await
            .unwrap();
    }
    w.accounts.delete_account(&id).await.unwrap();
    let partition = format!("USER#{id}");
    assert!(scan(&w).await.iter().all(|(pk, _, _)| *pk != partition));
}

// --- Account reset (every factor lost) -------------------------------------------------

async fn one_due(w: &World) -> DueReset {
    let mut due = w.accounts.due_account_resets(10).await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    due.remove(0)
}

#[tokio::test]
async fn given_a_reset_request_when_24_hours_pass_then_one_mailing_and_its_link_deletes() {
    // Given Jane, with two addresses, who lost every factor and asks for a reset
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    added(&w, &id, "jane.work@example.gov").await;
    w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
    // When she asks again an hour later, then the wait does not restart
    w.clock.advance_ms(HOUR);
    w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
    // Then at 23 h 59 nothing is due
    w.clock.advance_ms(DAY - HOUR - MINUTE);
    assert!(w.accounts.due_account_resets(10).await.unwrap().is_empty());
    // When two runs of the job look at 24 h, at the same moment
    w.clock.advance_ms(MINUTE);
    w.gated.arm(2);
    let (a, b) = tokio::join!(
        w.accounts.due_account_resets(10),
        w.accounts.due_account_resets(10),
    );
    // Then the reset is mailed once, to both addresses, in her language
    let mut due: Vec<DueReset> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert_eq!(due.len(), 1, "{due:?}");
    let reset = due.remove(0);
    assert_eq!(reset.user_id, id);
    assert_eq!(reset.locale, "fr");
    assert_eq!(reset.addresses.len(), 2);
    // And is not found again
    w.clock.advance_ms(HOUR);
    assert!(w.accounts.due_account_resets(10).await.unwrap().is_empty());
    assert_eq!(
        kinds(&w, &id).await,
        vec![
            "account_reset_requested",
            "account_reset_requested",
            "email_added",
            "account_created"
        ]
    );
    // When she follows the deletion link, then the account is gone, once
    let (account, mailed) = w
        .accounts
        .delete_by_reset_link(&reset.delete)
        .await
        .unwrap();
    assert_eq!((account.id.as_str(), mailed.len()), (id.as_str(), 2));
    assert_eq!(w.accounts.account(&id).await.unwrap(), None);
    assert!(
        scan(&w)
            .await
            .iter()
            .all(|(pk, _, _)| *pk != format!("USER#{id}"))
    );
    assert!(is_invalid_link(
        &w.accounts.delete_by_reset_link(&reset.delete).await
    ));
    assert!(is_invalid_link(
        &w.accounts.cancel_account_reset(&reset.cancel, &ctx()).await
    ));
    registered(&w, "jane@example.gov").await;
}

#[tokio::test]
async fn given_a_mailed_reset_when_an_email_cancels_it_then_the_deletion_link_does_nothing() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
    w.clock.advance_ms(DAY);
    let reset = one_due(&w).await;
    // When the cancel link of the mailing is followed
    let account = w
        .accounts
        .cancel_account_reset(&reset.cancel, &ctx())
        .await
        .unwrap();
    assert_eq!(account.id, id);
    // Then the deletion link finds no reset, and the account stays
    assert!(matches!(
        w.accounts.delete_by_reset_link(&reset.delete).await,
        Err(AccountError::ResetNotRequested)
    ));
    assert!(w.accounts.account(&id).await.unwrap().is_some());
    assert!(
        w.accounts
            .authenticate("jane@example.gov", GOOD)
            .await
            .is_ok()
    );
    // And the cancel link worked once
    assert!(is_invalid_link(
        &w.accounts.cancel_account_reset(&reset.cancel, &ctx()).await
    ));
    assert_eq!(kinds(&w, &id).await[0], "account_reset_cancelled");
}

#[tokio::test]
async fn given_a_reset_request_when_it_is_cancelled_before_its_time_then_nothing_is_mailed() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    // Cancelled through the link of the request's email
    let cancel = w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
    w.clock.advance_ms(HOUR);
    w.accounts
        .cancel_account_reset(&cancel, &ctx())
        .await
        .unwrap();
    w.clock.advance_ms(DAY);
    assert!(w.accounts.due_account_resets(10).await.unwrap().is_empty());
    assert!(is_invalid_link(
        &w.accounts.cancel_account_reset(&cancel, &ctx()).await
    ));
    // Cancelled by a full sign-in with a factor
    let again = w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
    w.clock.advance_ms(HOUR);
    assert!(
        w.accounts
            .cancel_account_reset_for(&id, &ctx())
            .await
            .unwrap()
    );
    assert!(
        !w.accounts
            .cancel_account_reset_for(&id, &ctx())
            .await
            .unwrap()
    );
    w.clock.advance_ms(DAY);
    assert!(w.accounts.due_account_resets(10).await.unwrap().is_empty());
    // And a cancel link with nothing to cancel says so
    assert!(matches!(
        w.accounts.cancel_account_reset(&again, &ctx()).await,
        Err(AccountError::ResetNotRequested)
    ));
}

#[tokio::test]
async fn given_a_mailed_reset_when_24_more_hours_pass_then_its_link_is_refused() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
    w.clock.advance_ms(DAY);
    let reset = one_due(&w).await;
    // When the deletion link is followed 24 hours after the mailing
    w.clock.advance_ms(DAY);
    // Then it is refused and the account stays
    assert!(is_invalid_link(
        &w.accounts.delete_by_reset_link(&reset.delete).await
    ));
    assert!(w.accounts.account(&id).await.unwrap().is_some());
    // And a new request starts a new 24-hour wait
    w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
    w.clock.advance_ms(DAY - SECOND);
    assert!(w.accounts.due_account_resets(10).await.unwrap().is_empty());
    w.clock.advance_ms(SECOND);
    assert_eq!(one_due(&w).await.user_id, id);
}

#[tokio::test]
async fn given_many_due_resets_when_the_job_runs_then_it_takes_them_by_its_limit_in_due_order() {
    let w = world().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = registered(&w, &format!("p{n}@example.gov")).await;
        w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
        ids.push(id);
        w.clock.advance_ms(MINUTE);
    }
    // At 24 h after the third request, three are due
    w.clock.advance_ms(DAY - 3 * MINUTE);
    let first: Vec<String> = w
        .accounts
        .due_account_resets(2)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.user_id)
        .collect();
    assert_eq!(first, ids[..2]);
    let rest: Vec<String> = w
        .accounts
        .due_account_resets(10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.user_id)
        .collect();
    assert_eq!(rest, ids[2..3]);
}

#[tokio::test]
async fn given_a_mailed_reset_when_its_cancel_and_delete_links_race_then_exactly_one_wins() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    w.accounts.request_account_reset(&id, &ctx()).await.unwrap();
    w.clock.advance_ms(DAY);
    let reset = one_due(&w).await;
    // When one email's cancel link and another's deletion link are followed at once
    let c = ctx();
    w.gated.arm(2);
    let (cancelled, deleted) = tokio::join!(
        w.accounts.cancel_account_reset(&reset.cancel, &c),
        w.accounts.delete_by_reset_link(&reset.delete),
    );
    // Then exactly one of them happened
    match (&cancelled, &deleted) {
        (Ok(_), Err(AccountError::ResetNotRequested)) => {
            assert!(w.accounts.account(&id).await.unwrap().is_some());
        }
        (Err(AccountError::ResetNotRequested), Ok(_)) => {
            assert!(w.accounts.account(&id).await.unwrap().is_none());
        }
        other => panic!("{other:?}"),
    }
}

// --- "This wasn't me" ------------------------------------------------------------------

#[tokio::test]
async fn given_a_not_me_report_then_the_password_stops_working_until_a_reset() {
    // Given Jane, notified of a change she did not make
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    let token = w.accounts.not_me_link(&id).await.unwrap();
    // When she follows the "this wasn't me" link
    let (account, mailed) = w.accounts.report_not_me(&token, &ctx()).await.unwrap();
    assert_eq!(account.id, id);
    assert_eq!(mailed, vec![email("jane@example.gov")]);
    // Then her password signs in no more, exactly like a wrong one
    let r = w.accounts.authenticate("jane@example.gov", GOOD).await;
    assert!(matches!(r, Err(AccountError::InvalidCredentials)), "{r:?}");
    let r = w
        .accounts
        .change_password(&id, GOOD, OTHER_GOOD, &ctx(), vec![])
        .await;
    assert!(matches!(r, Err(AccountError::InvalidCredentials)), "{r:?}");
    let item = w
        .store
        .get(&Key::new(format!("USER#{id}"), "ACCOUNT"))
        .await
        .unwrap()
        .unwrap();
    assert!(item.get("password").is_none());
    assert_eq!(
        item.get("password_reset_required")
            .and_then(|v| v.as_bool()),
        Some(true)
    );
    assert_eq!(kinds(&w, &id).await[0], "not_me_reported");
    // And the link works once
    assert!(is_invalid_link(
        &w.accounts.report_not_me(&token, &ctx()).await
    ));
    // When she resets her password by email, then she signs in again
    let (_, reset) = w
        .accounts
        .begin_reset(&email("jane@example.gov"))
        .await
        .unwrap()
        .unwrap();
    w.accounts
        .complete_reset(&reset, OTHER_GOOD, &ctx())
        .await
        .unwrap();
    assert!(
        w.accounts
            .authenticate("jane@example.gov", OTHER_GOOD)
            .await
            .is_ok()
    );
    let item = w
        .store
        .get(&Key::new(format!("USER#{id}"), "ACCOUNT"))
        .await
        .unwrap()
        .unwrap();
    assert!(item.get("password_reset_required").is_none());
}

#[tokio::test]
async fn given_a_not_me_link_when_10_days_pass_then_it_is_refused() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    let early = w.accounts.not_me_link(&id).await.unwrap();
    let late = w.accounts.not_me_link(&id).await.unwrap();
    w.clock.advance_ms(10 * DAY - SECOND);
    w.accounts.report_not_me(&early, &ctx()).await.unwrap();
    w.clock.advance_ms(SECOND);
    assert!(is_invalid_link(
        &w.accounts.report_not_me(&late, &ctx()).await
    ));
    let forged = LinkToken::parse(&"A".repeat(43)).unwrap();
    assert!(is_invalid_link(
        &w.accounts.report_not_me(&forged, &ctx()).await
    ));
}

#[tokio::test]
async fn given_a_disabled_password_then_a_sign_in_costs_the_argon2_work_of_a_wrong_one() {
    // Costly enough that the hashing dominates a store read.
    let w = world_with(HashParams {
        m_cost_kib: 8 * 1024,
        t_cost: 2,
        p_cost: 1,
    })
    .await;
    registered(&w, "wrong@example.gov").await;
    let disabled = registered(&w, "disabled@example.gov").await;
    let token = w.accounts.not_me_link(&disabled).await.unwrap();
    w.accounts.report_not_me(&token, &ctx()).await.unwrap();
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mut wrong_times, mut disabled_times) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        let r = w
            .accounts
            .authenticate("wrong@example.gov", "not the password at all")
            .await;
        wrong_times.push(t.elapsed());
        assert!(matches!(r, Err(AccountError::InvalidCredentials)));
        let t = Instant::now();
        let r = w.accounts.authenticate("disabled@example.gov", GOOD).await;
        disabled_times.push(t.elapsed());
        assert!(matches!(r, Err(AccountError::InvalidCredentials)));
    }
    let (wrong_t, disabled_t) = (median(wrong_times), median(disabled_times));
    // Without the dummy hash the disabled account answers in a store read, a small
    // fraction of a verification; with it, in about the same time.
    assert!(
        disabled_t * 2 >= wrong_t,
        "disabled {disabled_t:?} vs wrong {wrong_t:?}"
    );
}
