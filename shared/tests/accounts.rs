//! Account flows as a person goes through them — sign up by confirmed email, sign in,
//! reset a password — over the embedded store, with the clock moved by the test.

use std::sync::Arc;

use passerelle::account::accounts::{AccountError, AccountStatus, Accounts, SignupStart};
use passerelle::account::email::EmailAddress;
use passerelle::account::events::{EventContext, history};
use passerelle::account::links::LinkToken;
use passerelle::account::password::PasswordProblem;
use passerelle::account::password_hash::HashParams;
use passerelle::clock::{Clock, ManualClock};
use passerelle::config::EmbeddedConfig;
use passerelle::envelope::Envelope;
use passerelle::random::OsRandom;
use passerelle::services::Services;
use passerelle::store::{Key, Query, Store};

/// Cheap argon2 for tests; the defaults are checked in the password-hash module.
const FAST: HashParams = HashParams {
    m_cost_kib: 1024,
    t_cost: 1,
    p_cost: 1,
};
const GOOD: &str = "correct horse battery staple";
const OTHER_GOOD: &str = "violet umbrella marching quietly";

struct World {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    /// The deployment's envelope (its account keys with it).
    envelope: Arc<Envelope>,
    accounts: Accounts,
}

async fn world_with(params: HashParams) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_ms(1_800_000_000_000));
    // The embedded adapters, as the local stack builds them.
    let services = Services::embedded(
        &EmbeddedConfig {
            data_dir: dir.path().to_path_buf(),
            max_receives: 5,
        },
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
    )
    .unwrap();
    let store = Arc::clone(&services.store);
    let envelope = Arc::clone(&services.envelope);
    let accounts = Accounts::new(
        Arc::clone(&store),
        Arc::clone(&envelope),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        params,
    )
    .await
    .unwrap();
    World {
        _dir: dir,
        clock,
        store,
        envelope,
        accounts,
    }
}

async fn world() -> World {
    world_with(FAST).await
}

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

async fn confirm_link(w: &World, address: &str) -> LinkToken {
    match w
        .accounts
        .begin_signup(&email(address), "fr")
        .await
        .unwrap()
    {
        SignupStart::Confirm(token) => token,
        SignupStart::AlreadyRegistered => panic!("{address} is new"),
    }
}

async fn registered(w: &World, address: &str) -> String {
    let token = confirm_link(w, address).await;
    w.accounts
        .complete_signup(&token, GOOD, &EventContext::default())
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn signing_up_confirms_the_address_then_sets_the_password() {
    // Given a person who asked to sign up
    let w = world().await;
    let token = confirm_link(&w, "  Jane.Doe@Example.gov ").await;
    // When they open the emailed link, then it names their normalised address
    assert_eq!(
        w.accounts.signup_email(&token).await.unwrap().as_str(),
        "jane.doe@example.gov"
    );
    // When they choose a weak password, then it is refused and the link still works
    let weak = w
        .accounts
        .complete_signup(&token, "janedoe2024!!", &EventContext::default())
        .await;
    assert!(
        matches!(
            weak,
            Err(AccountError::Password(PasswordProblem::ContainsEmail))
        ),
        "{weak:?}"
    );
    assert!(w.accounts.signup_email(&token).await.is_ok());
    // When they choose a good one, then the account exists, waiting for a second factor
    let ctx = EventContext {
        device: Some("Firefox on Linux".into()),
        place: None,
    };
    let account = w
        .accounts
        .complete_signup(&token, GOOD, &ctx)
        .await
        .unwrap();
    assert_eq!(account.status, AccountStatus::FactorPending);
    assert_eq!(account.locale, "fr");
    // And the link is used up
    let again = w.accounts.complete_signup(&token, GOOD, &ctx).await;
    assert!(matches!(again, Err(AccountError::LinkInvalid)));
    // And the history starts with the account's creation, with the device
    let page = history(w.store.as_ref(), &account.id, 10, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].str("kind"), Some("account_created"));
    assert_eq!(page.items[0].str("device"), Some("Firefox on Linux"));
}

#[tokio::test]
async fn the_store_never_holds_an_address_or_password_in_clear() {
    let w = world().await;
    let id = registered(&w, "jane.doe@example.gov").await;
    let items = w
        .store
        .query(&Query::partition(format!("USER#{id}")).limit(100))
        .await
        .unwrap()
        .items;
    assert!(items.len() >= 3);
    for item in &items {
        let dump = format!("{item:?}");
        assert!(!dump.contains("jane"), "{dump}");
        assert!(!dump.contains("horse"), "{dump}");
        for value in item.attrs.values() {
            if let Some(bytes) = value.as_bytes() {
                assert!(!bytes.windows(4).any(|w| w == b"jane" || w == b"$arg"));
            }
        }
    }
}

#[tokio::test]
async fn a_registered_address_is_not_revealed_but_reported_to_its_owner() {
    let w = world().await;
    registered(&w, "jane@example.gov").await;
    let again = w
        .accounts
        .begin_signup(&email("JANE@example.gov"), "en")
        .await
        .unwrap();
    assert!(matches!(again, SignupStart::AlreadyRegistered));
}

#[tokio::test]
async fn a_confirmation_link_lasts_24_hours_and_a_forged_one_nothing() {
    let w = world().await;
    let token = confirm_link(&w, "late@example.gov").await;
    w.clock.advance_ms(24 * 3600 * 1000);
    assert!(matches!(
        w.accounts.signup_email(&token).await,
        Err(AccountError::LinkInvalid)
    ));
    assert!(matches!(
        w.accounts
            .complete_signup(&token, GOOD, &EventContext::default())
            .await,
        Err(AccountError::LinkInvalid)
    ));
    let forged = LinkToken::parse(&"A".repeat(43)).unwrap();
    assert!(matches!(
        w.accounts.signup_email(&forged).await,
        Err(AccountError::LinkInvalid)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_racing_sign_ups_with_one_address_make_one_account() {
    // Given twenty confirmation links for the same address (twenty tabs, twenty emails)
    let w = Arc::new(world().await);
    let mut tokens = Vec::new();
    for _ in 0..20 {
        tokens.push(confirm_link(&w, "race@example.gov").await);
    }
    // When all twenty set a password at once
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let w = Arc::clone(&w);
            tokio::spawn(async move {
                w.accounts
                    .complete_signup(&token, GOOD, &EventContext::default())
                    .await
            })
        })
        .collect();
    let (mut created, mut taken) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(AccountError::EmailTaken) => taken += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    // Then exactly one account exists and the others were told the address is taken
    assert_eq!((created, taken), (1, 19));
    assert!(
        w.accounts
            .authenticate("race@example.gov", GOOD)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn signing_in_fails_the_same_way_for_every_wrong_answer() {
    let w = world().await;
    registered(&w, "jane@example.gov").await;
    assert!(
        w.accounts
            .authenticate(" JANE@example.gov", GOOD)
            .await
            .is_ok()
    );
    for (address, password) in [
        ("jane@example.gov", "wrong password entirely"),
        ("nobody@example.gov", GOOD),
        ("not an address", GOOD),
        ("", ""),
    ] {
        let r = w.accounts.authenticate(address, password).await;
        assert!(
            matches!(r, Err(AccountError::InvalidCredentials)),
            "{address}: {r:?}"
        );
    }
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_within_30_minutes() {
    // Given a registered person who forgot their password
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    w.clock.advance_ms(3_600_000);
    assert!(
        w.accounts
            .begin_reset(&email("nobody@example.gov"))
            .await
            .unwrap()
            .is_none()
    );
    let (account, token) = w
        .accounts
        .begin_reset(&email("jane@example.gov"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.id, id);
    // When they choose a new password through the link
    w.accounts
        .complete_reset(&token, OTHER_GOOD, &EventContext::default())
        .await
        .unwrap();
    // Then only the new password works, the link is used up, and the history says so
    assert!(
        w.accounts
            .authenticate("jane@example.gov", GOOD)
            .await
            .is_err()
    );
    assert!(
        w.accounts
            .authenticate("jane@example.gov", OTHER_GOOD)
            .await
            .is_ok()
    );
    assert!(matches!(
        w.accounts
            .complete_reset(&token, GOOD, &EventContext::default())
            .await,
        Err(AccountError::LinkInvalid)
    ));
    let kinds: Vec<String> = history(w.store.as_ref(), &id, 10, None)
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|i| i.str("kind").map(str::to_owned))
        .collect();
    assert_eq!(kinds, vec!["password_reset", "account_created"]);
    // And a link older than 30 minutes does nothing
    let (_, late) = w
        .accounts
        .begin_reset(&email("jane@example.gov"))
        .await
        .unwrap()
        .unwrap();
    w.clock.advance_ms(30 * 60 * 1000);
    assert!(matches!(
        w.accounts
            .complete_reset(&late, GOOD, &EventContext::default())
            .await,
        Err(AccountError::LinkInvalid)
    ));
}

#[tokio::test]
async fn changed_hash_parameters_rehash_at_the_next_sign_in() {
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    let before = w
        .store
        .get(&Key::new(format!("USER#{id}"), "ACCOUNT"))
        .await
        .unwrap()
        .unwrap();
    // Given the operator raised the cost, when the person signs in
    let stronger = HashParams {
        m_cost_kib: 2048,
        ..FAST
    };
    let upgraded = Accounts::new(
        Arc::clone(&w.store),
        Arc::clone(&w.envelope),
        w.clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        stronger,
    )
    .await
    .unwrap();
    upgraded
        .authenticate("jane@example.gov", GOOD)
        .await
        .unwrap();
    // Then the stored hash was replaced, and still verifies
    let after = w
        .store
        .get(&Key::new(format!("USER#{id}"), "ACCOUNT"))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(before.bytes("password"), after.bytes("password"));
    assert_eq!(after.version, before.version + 1);
    upgraded
        .authenticate("jane@example.gov", GOOD)
        .await
        .unwrap();
    assert_eq!(
        w.store
            .get(&Key::new(format!("USER#{id}"), "ACCOUNT"))
            .await
            .unwrap()
            .unwrap()
            .version,
        after.version,
        "no second rehash"
    );
}

#[tokio::test]
async fn a_hash_from_before_the_pepper_is_peppered_at_the_next_sign_in() {
    use argon2::PasswordHasher as _;
    use passerelle::keys::EncryptionContext;
    use passerelle::store::{Expect, Update};

    // Given an account whose stored hash is argon2id alone, as sealed before the pepper
    let w = world().await;
    let id = registered(&w, "jane@example.gov").await;
    let key = Key::new(format!("USER#{id}"), "ACCOUNT");
    let envelope = Arc::clone(&w.envelope);
    let context = EncryptionContext::new()
        .with("purpose", "password")
        .with("user", id.clone());
    let record = format!("USER#{id}#password");
    let phc = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(FAST.m_cost_kib, FAST.t_cost, FAST.p_cost, Some(32)).unwrap(),
    )
    .hash_password_with_salt(GOOD.as_bytes(), b"an-old-salt-here")
    .unwrap()
    .to_string();
    let old = envelope
        .seal(&context, &record, phc.as_bytes())
        .await
        .unwrap();
    w.store
        .update(
            Update::new(key.clone()).set("password", old),
            Expect::Present,
        )
        .await
        .unwrap();
    let before = w.store.get(&key).await.unwrap().unwrap();
    // When the person signs in with a wrong password, nothing changes
    assert!(matches!(
        w.accounts
            .authenticate("jane@example.gov", OTHER_GOOD)
            .await,
        Err(AccountError::InvalidCredentials)
    ));
    assert_eq!(
        w.store.get(&key).await.unwrap().unwrap().version,
        before.version
    );
    // When they sign in with theirs, it is accepted once by argon2 alone …
    w.accounts
        .authenticate("jane@example.gov", GOOD)
        .await
        .unwrap();
    // … and the stored hash is replaced by a peppered one, which verifies from then on
    let after = w.store.get(&key).await.unwrap().unwrap();
    assert_eq!(after.version, before.version + 1);
    let opened = envelope
        .open(&context, &record, after.bytes("password").unwrap())
        .await
        .unwrap();
    assert!(
        opened.starts_with(b"pepper-v1$argon2id$v=19$"),
        "{opened:?}"
    );
    w.accounts
        .authenticate("jane@example.gov", GOOD)
        .await
        .unwrap();
    assert!(matches!(
        w.accounts
            .authenticate("jane@example.gov", OTHER_GOOD)
            .await,
        Err(AccountError::InvalidCredentials)
    ));
    assert_eq!(
        w.store.get(&key).await.unwrap().unwrap().version,
        after.version,
        "no second rehash"
    );
}
