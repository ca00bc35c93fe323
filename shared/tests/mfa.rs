//! Second factors as a person sets them up and uses them — authentication apps, backup
//! codes, phones — and the rules that hold under concurrency, over the embedded store
//! with the clock moved by the test.

use std::sync::Arc;

use passerelle::account::accounts::{AccountStatus, Accounts, SignupStart};
use passerelle::account::email::EmailAddress;
use passerelle::account::events::{EventContext, history};
use passerelle::account::password_hash::HashParams;
use passerelle::clock::{Clock, ManualClock};
use passerelle::config::EmbeddedConfig;
use passerelle::mfa::totp::{code_at_step, step_at};
use passerelle::mfa::{FactorKind, FactorSummary, Factors, MfaError, PhoneDelivery};
use passerelle::random::OsRandom;
use passerelle::services::Services;
use passerelle::store::{Query, Store};

const FAST: HashParams = HashParams {
    m_cost_kib: 1024,
    t_cost: 1,
    p_cost: 1,
};
const MINUTE_MS: i64 = 60_000;
const NUMBER: &str = "+1 703-555-0100";

struct World {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    accounts: Accounts,
    factors: Factors,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    // Mid-step, so that a test's own steps do not straddle a boundary by accident.
    let clock = Arc::new(ManualClock::at_ms(1_800_000_015_000));
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
        FAST,
    )
    .await
    .unwrap();
    let factors = Factors::new(
        Arc::clone(&store),
        envelope,
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        accounts.fingerprints().subkey("mfa"),
    );
    World {
        _dir: dir,
        clock,
        store,
        accounts,
        factors,
    }
}

fn ctx() -> EventContext {
    EventContext::default()
}

/// A new account, waiting for its first second factor.
async fn registered(w: &World, address: &str) -> String {
    let email = EmailAddress::parse(address).unwrap();
    let SignupStart::Confirm(token) = w.accounts.begin_signup(&email, "en").await.unwrap() else {
        panic!("{address} is new");
    };
    w.accounts
        .complete_signup(&token, "correct horse battery staple", &ctx())
        .await
        .unwrap()
        .id
}

async fn status(w: &World, user: &str) -> AccountStatus {
    w.accounts.account(user).await.unwrap().unwrap().status
}

/// RFC 4648 base32 back to bytes, as an authenticator app reads the secret.
fn unbase32(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.chars() {
        buffer = (buffer << 5) | ALPHABET.find(c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn step(w: &World) -> i64 {
    step_at(w.clock.now_secs())
}

/// The code the app shows `offset` steps from now.
fn app_code(w: &World, secret: &[u8], offset: i64) -> String {
    code_at_step(secret, step(w) + offset).to_string()
}

/// An app enrolled now, with the secret the person's phone keeps.
async fn enrol_app(w: &World, user: &str, name: &str) -> (FactorSummary, Vec<u8>) {
    let e = w
        .factors
        .begin_totp(user, "jane@example.gov")
        .await
        .unwrap();
    let secret = unbase32(&e.secret_base32);
    let code = app_code(w, &secret, 0);
    let factor = w
        .factors
        .confirm_totp(user, &e.id, name, &code, &ctx())
        .await
        .unwrap();
    (factor, secret)
}

/// A phone added now.
async fn add_phone(w: &World, user: &str, number: &str) -> FactorSummary {
    let challenge = w
        .factors
        .begin_phone(user, number, "US", PhoneDelivery::Sms)
        .await
        .unwrap();
    w.factors
        .confirm_phone(user, &challenge.id, &challenge.code, &ctx())
        .await
        .unwrap()
}

async fn event_kinds(w: &World, user: &str) -> Vec<String> {
    history(w.store.as_ref(), user, 100, None)
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|i| i.str("kind").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn enrolling_an_app_needs_a_right_first_code_and_activates_the_account() {
    // Given an account that has no second factor yet
    let w = world().await;
    let user = registered(&w, "jane@example.gov").await;
    assert_eq!(status(&w, &user).await, AccountStatus::FactorPending);
    // When they start adding an app
    let e = w
        .factors
        .begin_totp(&user, "jane@example.gov")
        .await
        .unwrap();
    // Then they get a 160-bit secret, as text, as an otpauth URI and as a QR code
    assert_eq!(e.secret_base32.len(), 32);
    assert_eq!(unbase32(&e.secret_base32).len(), 20);
    assert!(
        e.otpauth_uri
            .starts_with("otpauth://totp/Passerelle:jane%40example.gov?secret=")
    );
    assert!(e.otpauth_uri.contains(e.secret_base32.as_str()));
    assert!(e.qr_svg.starts_with("<svg") && e.qr_svg.ends_with("</svg>"));
    assert!(!format!("{e:?}").contains(e.secret_base32.as_str()));
    // And the page can show the same enrolment again
    let again = w.factors.totp_enrollment(&user, &e.id).await.unwrap();
    assert_eq!(again.secret_base32, e.secret_base32);
    assert_eq!(again.otpauth_uri, e.otpauth_uri);
    let secret = unbase32(&e.secret_base32);
    // When they type a wrong code, then nothing is added and the account still waits
    let right = app_code(&w, &secret, 0);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    let refused = w
        .factors
        .confirm_totp(&user, &e.id, "Work phone", wrong, &ctx())
        .await;
    assert!(matches!(refused, Err(MfaError::WrongCode)), "{refused:?}");
    assert!(w.factors.list(&user).await.unwrap().is_empty());
    assert_eq!(status(&w, &user).await, AccountStatus::FactorPending);
    // When they give no name, then it is refused too
    let unnamed = w
        .factors
        .confirm_totp(&user, &e.id, "  ", &right, &ctx())
        .await;
    assert!(matches!(unnamed, Err(MfaError::NameInvalid)), "{unnamed:?}");
    // When they type the right code with a name
    let factor = w
        .factors
        .confirm_totp(&user, &e.id, "  Work phone ", &right, &ctx())
        .await
        .unwrap();
    // Then the app is their method, named, and the account is active
    assert_eq!(factor.kind, FactorKind::Totp);
    assert_eq!(factor.name, "Work phone");
    assert_eq!(w.factors.list(&user).await.unwrap(), vec![factor.clone()]);
    assert_eq!(status(&w, &user).await, AccountStatus::Active);
    assert!(
        event_kinds(&w, &user)
            .await
            .contains(&"factor_added".to_owned())
    );
    // And the enrolment is used up
    let twice = w
        .factors
        .confirm_totp(&user, &e.id, "Work phone", &right, &ctx())
        .await;
    assert!(
        matches!(twice, Err(MfaError::EnrollmentExpired)),
        "{twice:?}"
    );
    assert!(matches!(
        w.factors.totp_enrollment(&user, &e.id).await,
        Err(MfaError::EnrollmentExpired)
    ));
}

#[tokio::test]
async fn an_app_enrolment_lasts_ten_minutes() {
    let w = world().await;
    let user = registered(&w, "slow@example.gov").await;
    let e = w
        .factors
        .begin_totp(&user, "slow@example.gov")
        .await
        .unwrap();
    let secret = unbase32(&e.secret_base32);
    w.clock.advance_ms(10 * MINUTE_MS);
    let late = w
        .factors
        .confirm_totp(&user, &e.id, "Phone", &app_code(&w, &secret, 0), &ctx())
        .await;
    assert!(matches!(late, Err(MfaError::EnrollmentExpired)), "{late:?}");
    assert!(matches!(
        w.factors
            .confirm_totp(&user, "forged", "Phone", "123456", &ctx())
            .await,
        Err(MfaError::EnrollmentExpired)
    ));
    assert_eq!(status(&w, &user).await, AccountStatus::FactorPending);
}

#[tokio::test]
async fn an_app_code_is_accepted_once_and_an_older_one_is_refused() {
    // Given an app enrolled with the code of this step
    let w = world().await;
    let user = registered(&w, "jane@example.gov").await;
    let (app, secret) = enrol_app(&w, &user, "Work phone").await;
    // Then that code does not sign in: it was used to enrol
    let used = app_code(&w, &secret, 0);
    assert_eq!(w.factors.verify_totp(&user, &used).await.unwrap(), None);
    // When the next code comes up, then it signs in once
    w.clock.advance_ms(30_000);
    let next = app_code(&w, &secret, 0);
    let signed_in = w.factors.verify_totp(&user, &next).await.unwrap().unwrap();
    assert_eq!(signed_in.id, app.id);
    assert_eq!(signed_in.last_used_ms, Some(w.clock.now_ms()));
    assert_eq!(w.factors.verify_totp(&user, &next).await.unwrap(), None);
    // And the previous step's code, though within the window, is refused
    assert_eq!(w.factors.verify_totp(&user, &used).await.unwrap(), None);
    // And the code typed with spaces is the same code
    w.clock.advance_ms(30_000);
    let spaced = app_code(&w, &secret, 0);
    let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
    assert!(
        w.factors
            .verify_totp(&user, &spaced)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(w.factors.verify_totp(&user, "12345").await.unwrap(), None);
}

#[tokio::test]
async fn a_code_one_step_off_is_accepted_and_two_steps_off_refused() {
    let w = world().await;
    let user = registered(&w, "drift@example.gov").await;
    let (_, secret) = enrol_app(&w, &user, "Old phone").await;
    w.clock.advance_ms(10 * MINUTE_MS);
    for offset in [-2, 2] {
        let code = app_code(&w, &secret, offset);
        assert_eq!(
            w.factors.verify_totp(&user, &code).await.unwrap(),
            None,
            "offset {offset}"
        );
    }
    let behind = app_code(&w, &secret, -1);
    assert!(
        w.factors
            .verify_totp(&user, &behind)
            .await
            .unwrap()
            .is_some()
    );
    let ahead = app_code(&w, &secret, 1);
    assert!(
        w.factors
            .verify_totp(&user, &ahead)
            .await
            .unwrap()
            .is_some()
    );
    // Once a later step is accepted, the current one is older: refused
    let now = app_code(&w, &secret, 0);
    assert_eq!(w.factors.verify_totp(&user, &now).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_uses_of_one_app_code_have_one_winner() {
    let w = Arc::new(world().await);
    let user = registered(&w, "race@example.gov").await;
    let (_, secret) = enrol_app(&w, &user, "Phone").await;
    w.clock.advance_ms(30_000);
    let code = app_code(&w, &secret, 0);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (w, user, code) = (Arc::clone(&w), user.clone(), code.clone());
            tokio::spawn(async move { w.factors.verify_totp(&user, &code).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn a_third_app_is_refused_and_each_app_has_its_own_codes() {
    // Given an account with two apps
    let w = world().await;
    let user = registered(&w, "apps@example.gov").await;
    let (first, first_secret) = enrol_app(&w, &user, "Phone").await;
    // An enrolment started while there was one app
    let late = w
        .factors
        .begin_totp(&user, "apps@example.gov")
        .await
        .unwrap();
    let (second, second_secret) = enrol_app(&w, &user, "Tablet").await;
    // When they start a third, then it is refused
    assert!(matches!(
        w.factors.begin_totp(&user, "apps@example.gov").await,
        Err(MfaError::TooManyApps)
    ));
    // And one started earlier cannot be finished either
    let code = app_code(&w, &unbase32(&late.secret_base32), 0);
    let third = w
        .factors
        .confirm_totp(&user, &late.id, "Laptop", &code, &ctx())
        .await;
    assert!(matches!(third, Err(MfaError::TooManyApps)), "{third:?}");
    assert_eq!(w.factors.list(&user).await.unwrap().len(), 2);
    // And each app's code signs in as that app
    w.clock.advance_ms(30_000);
    let by_second = app_code(&w, &second_secret, 0);
    assert_eq!(
        w.factors
            .verify_totp(&user, &by_second)
            .await
            .unwrap()
            .unwrap()
            .id,
        second.id
    );
    let by_first = app_code(&w, &first_secret, 0);
    assert_eq!(
        w.factors
            .verify_totp(&user, &by_first)
            .await
            .unwrap()
            .unwrap()
            .id,
        first.id
    );
}

#[tokio::test]
async fn ten_backup_codes_each_work_once() {
    // Given an account that generates backup codes as its first method
    let w = world().await;
    let user = registered(&w, "codes@example.gov").await;
    let codes = w
        .factors
        .generate_backup_codes(&user, &ctx())
        .await
        .unwrap();
    // Then there are ten, formatted XXXX-XXXX-XXXX, all different, and the account is active
    assert_eq!(codes.0.len(), 10);
    for code in &codes.0 {
        assert_eq!(code.len(), 14);
        assert_eq!(code.matches('-').count(), 2);
    }
    let distinct: std::collections::HashSet<&str> = codes.0.iter().map(|c| c.as_str()).collect();
    assert_eq!(distinct.len(), 10);
    assert_eq!(status(&w, &user).await, AccountStatus::Active);
    let listed = w.factors.list(&user).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, FactorKind::BackupCodes);
    assert_eq!(listed[0].detail.as_deref(), Some("10"));
    // When each is used, then each works once and the count goes down
    for (i, code) in codes.0.iter().enumerate() {
        // Typed loosely: lowercase, without hyphens, O for 0 and l for 1.
        let typed = code
            .replace('-', " ")
            .to_lowercase()
            .replace('0', "o")
            .replace('1', "l");
        let remaining = w.factors.use_backup_code(&user, &typed).await.unwrap();
        assert_eq!(remaining, Some(9 - i as u32), "{typed}");
        assert_eq!(w.factors.use_backup_code(&user, code).await.unwrap(), None);
    }
    let set = &w.factors.list(&user).await.unwrap()[0];
    assert_eq!(set.detail.as_deref(), Some("0"));
    assert!(set.last_used_ms.is_some());
    assert_eq!(
        w.factors
            .use_backup_code(&user, "not a code")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_uses_of_one_backup_code_have_one_winner() {
    let w = Arc::new(world().await);
    let user = registered(&w, "race@example.gov").await;
    let codes = w
        .factors
        .generate_backup_codes(&user, &ctx())
        .await
        .unwrap();
    for tasks in [2, 16] {
        let code = codes.0[tasks / 8].to_string();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (w, user, code) = (Arc::clone(&w), user.clone(), code.clone());
                tokio::spawn(async move { w.factors.use_backup_code(&user, &code).await.unwrap() })
            })
            .collect();
        let mut winners = Vec::new();
        for h in handles {
            winners.extend(h.await.unwrap());
        }
        assert_eq!(winners.len(), 1, "{tasks} tasks: {winners:?}");
    }
    let set = &w.factors.list(&user).await.unwrap()[0];
    assert_eq!(set.detail.as_deref(), Some("8"));
}

#[tokio::test]
async fn regenerated_codes_replace_the_old_ones() {
    // Given an account with an app and a set of backup codes, one of them used
    let w = world().await;
    let user = registered(&w, "regen@example.gov").await;
    enrol_app(&w, &user, "Phone").await;
    let old = w
        .factors
        .generate_backup_codes(&user, &ctx())
        .await
        .unwrap();
    assert_eq!(
        w.factors.use_backup_code(&user, &old.0[0]).await.unwrap(),
        Some(9)
    );
    let before = w.factors.list(&user).await.unwrap();
    // When they generate a new set
    let new = w
        .factors
        .generate_backup_codes(&user, &ctx())
        .await
        .unwrap();
    // Then none of the old codes works, every new one does, and it is still one method
    for code in &old.0[1..] {
        assert_eq!(w.factors.use_backup_code(&user, code).await.unwrap(), None);
    }
    let after = w.factors.list(&user).await.unwrap();
    assert_eq!(after.len(), 2);
    let set = after
        .iter()
        .find(|f| f.kind == FactorKind::BackupCodes)
        .unwrap();
    let old_set = before
        .iter()
        .find(|f| f.kind == FactorKind::BackupCodes)
        .unwrap();
    assert_eq!(set.id, old_set.id);
    assert_eq!(set.detail.as_deref(), Some("10"));
    for (i, code) in new.0.iter().enumerate() {
        assert_eq!(
            w.factors.use_backup_code(&user, code).await.unwrap(),
            Some(9 - i as u32)
        );
    }
    let events = event_kinds(&w, &user).await;
    assert_eq!(events.iter().filter(|k| *k == "factor_added").count(), 2);
    assert!(events.contains(&"backup_codes_regenerated".to_owned()));
    // And the set still counts once: removing the app leaves it as the last method
    let app = after.iter().find(|f| f.kind == FactorKind::Totp).unwrap();
    w.factors.remove(&user, &app.id, &ctx()).await.unwrap();
    assert!(matches!(
        w.factors.remove(&user, &set.id, &ctx()).await,
        Err(MfaError::LastFactor)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_method_cannot_be_removed_even_when_two_removals_race() {
    for round in 0..5 {
        // Given an account with two methods
        let w = Arc::new(world().await);
        let user = registered(&w, &format!("last{round}@example.gov")).await;
        let (app, _) = enrol_app(&w, &user, "Phone").await;
        let phone = add_phone(&w, &user, NUMBER).await;
        // When both are removed at once
        let tasks: Vec<_> = [app.id.clone(), phone.id.clone()]
            .into_iter()
            .map(|id| {
                let (w, user) = (Arc::clone(&w), user.clone());
                tokio::spawn(async move { w.factors.remove(&user, &id, &ctx()).await })
            })
            .collect();
        let (mut removed, mut refused) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => removed += 1,
                Err(MfaError::LastFactor) => refused += 1,
                Err(e) => panic!("unexpected: {e}"),
            }
        }
        // Then exactly one went, and one method is left
        assert_eq!((removed, refused), (1, 1), "round {round}");
        let left = w.factors.list(&user).await.unwrap();
        assert_eq!(left.len(), 1);
        assert!(matches!(
            w.factors.remove(&user, &left[0].id, &ctx()).await,
            Err(MfaError::LastFactor)
        ));
    }
}

#[tokio::test]
async fn methods_are_listed_oldest_first_renamed_and_removed() {
    let w = world().await;
    let user = registered(&w, "list@example.gov").await;
    let (app, _) = enrol_app(&w, &user, "Phone").await;
    w.clock.advance_ms(1000);
    let phone = add_phone(&w, &user, NUMBER).await;
    w.clock.advance_ms(1000);
    w.factors
        .generate_backup_codes(&user, &ctx())
        .await
        .unwrap();
    let listed = w.factors.list(&user).await.unwrap();
    let kinds: Vec<FactorKind> = listed.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [FactorKind::Totp, FactorKind::Phone, FactorKind::BackupCodes]
    );
    assert_eq!(listed[1].detail.as_deref(), Some("+1 •••• ••00"));
    assert_eq!(listed[1].name, "");
    // Renaming: trimmed, 1 to 40 characters, only existing methods
    w.factors
        .rename(&user, &phone.id, " Desk line ")
        .await
        .unwrap();
    assert_eq!(
        w.factors.get(&user, &phone.id).await.unwrap().unwrap().name,
        "Desk line"
    );
    assert!(matches!(
        w.factors.rename(&user, &phone.id, &"x".repeat(41)).await,
        Err(MfaError::NameInvalid)
    ));
    assert!(matches!(
        w.factors
            .rename(&user, "AAAAAAAAAAAAAAAAAAAAAA", "Lost")
            .await,
        Err(MfaError::NotFound)
    ));
    // Removing: the phone goes, with an event, and its number can be added again
    let removed = w.factors.remove(&user, &phone.id, &ctx()).await.unwrap();
    assert_eq!(removed.id, phone.id);
    assert!(matches!(
        w.factors.remove(&user, &phone.id, &ctx()).await,
        Err(MfaError::NotFound)
    ));
    assert!(
        event_kinds(&w, &user)
            .await
            .contains(&"factor_removed".to_owned())
    );
    add_phone(&w, &user, "(703) 555-0100").await;
    // Removing the backup codes removes their codes too
    let set = w
        .factors
        .list(&user)
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.kind == FactorKind::BackupCodes)
        .unwrap();
    w.factors.remove(&user, &set.id, &ctx()).await.unwrap();
    let left = w
        .store
        .query(&Query::partition(format!("USER#{user}")).prefix("BACKUP#"))
        .await
        .unwrap();
    assert!(left.items.is_empty());
    assert_eq!(w.factors.list(&user).await.unwrap().len(), 2);
    assert_eq!(w.factors.list(&user).await.unwrap()[0].id, app.id);
}

#[tokio::test]
async fn phone_numbers_are_validated_normalised_and_added_once() {
    let w = world().await;
    let user = registered(&w, "phone@example.gov").await;
    // Invalid numbers are refused before any code is sent
    for raw in ["123", "+1 703 555", "call me", "+1 900-555-0100"] {
        let refused = w
            .factors
            .begin_phone(&user, raw, "US", PhoneDelivery::Sms)
            .await;
        assert!(matches!(refused, Err(MfaError::PhoneInvalid)), "{raw}");
    }
    // A valid one is normalised to E.164 for sending
    let challenge = w
        .factors
        .begin_phone(&user, NUMBER, "FR", PhoneDelivery::Voice)
        .await
        .unwrap();
    assert_eq!(challenge.e164, "+17035550100");
    assert_eq!(challenge.delivery, PhoneDelivery::Voice);
    assert_eq!(challenge.code.len(), 6);
    assert!(challenge.code.bytes().all(|b| b.is_ascii_digit()));
    let dump = format!("{challenge:?}");
    assert!(!dump.contains("5550100") && !dump.contains(challenge.code.as_str()));
    // The same number typed another way, started before the first is confirmed
    let twin = w
        .factors
        .begin_phone(&user, "(703) 555-0100", "US", PhoneDelivery::Sms)
        .await
        .unwrap();
    let phone = w
        .factors
        .confirm_phone(&user, &challenge.id, &challenge.code, &ctx())
        .await
        .unwrap();
    assert_eq!(phone.kind, FactorKind::Phone);
    assert_eq!(phone.detail.as_deref(), Some("+1 •••• ••00"));
    assert_eq!(status(&w, &user).await, AccountStatus::Active);
    // Then adding it again is refused, whether started before or after
    let again = w
        .factors
        .confirm_phone(&user, &twin.id, &twin.code, &ctx())
        .await;
    assert!(matches!(again, Err(MfaError::PhoneTaken)), "{again:?}");
    assert!(matches!(
        w.factors
            .begin_phone(&user, "+17035550100", "US", PhoneDelivery::Sms)
            .await,
        Err(MfaError::PhoneTaken)
    ));
    // And signing in with it calls, as chosen
    let sign_in = w.factors.phone_challenge(&user, &phone.id).await.unwrap();
    assert_eq!(sign_in.e164, "+17035550100");
    assert_eq!(sign_in.delivery, PhoneDelivery::Voice);
}

#[tokio::test]
async fn a_sixth_phone_is_refused() {
    // Given an account with four phones, and two more being set up
    let w = world().await;
    let user = registered(&w, "phones@example.gov").await;
    for n in 0..4 {
        add_phone(&w, &user, &format!("+1 703-555-01{n:02}")).await;
    }
    let mut pending = Vec::new();
    for number in ["+1 703-555-0104", "+1 703-555-0105"] {
        let c = w
            .factors
            .begin_phone(&user, number, "US", PhoneDelivery::Sms)
            .await
            .unwrap();
        pending.push(c);
    }
    // When both are confirmed, then the fifth is added and the sixth refused
    let fifth = w
        .factors
        .confirm_phone(&user, &pending[0].id, &pending[0].code, &ctx())
        .await;
    assert!(fifth.is_ok(), "{fifth:?}");
    let sixth = w
        .factors
        .confirm_phone(&user, &pending[1].id, &pending[1].code, &ctx())
        .await;
    assert!(matches!(sixth, Err(MfaError::TooManyPhones)), "{sixth:?}");
    // And a sixth cannot even be started
    let another = w
        .factors
        .begin_phone(&user, "+1 703-555-0199", "US", PhoneDelivery::Sms)
        .await;
    assert!(
        matches!(another, Err(MfaError::TooManyPhones)),
        "{another:?}"
    );
    assert_eq!(w.factors.list(&user).await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_phone_set_up_code_expires_and_a_wrong_one_is_refused() {
    let w = world().await;
    let user = registered(&w, "late@example.gov").await;
    let challenge = w
        .factors
        .begin_phone(&user, NUMBER, "US", PhoneDelivery::Sms)
        .await
        .unwrap();
    let wrong = if challenge.code.as_str() == "000000" {
        "000001"
    } else {
        "000000"
    };
    let refused = w
        .factors
        .confirm_phone(&user, &challenge.id, wrong, &ctx())
        .await;
    assert!(matches!(refused, Err(MfaError::WrongCode)), "{refused:?}");
    w.clock.advance_ms(10 * MINUTE_MS);
    let late = w
        .factors
        .confirm_phone(&user, &challenge.id, &challenge.code, &ctx())
        .await;
    assert!(matches!(late, Err(MfaError::EnrollmentExpired)), "{late:?}");
    assert!(w.factors.list(&user).await.unwrap().is_empty());
    assert_eq!(status(&w, &user).await, AccountStatus::FactorPending);
}

#[tokio::test]
async fn a_sign_in_code_lasts_ten_minutes_and_works_once() {
    // Given an account with a phone
    let w = world().await;
    let user = registered(&w, "sms@example.gov").await;
    let phone = add_phone(&w, &user, NUMBER).await;
    // When a code is sent and ten minutes pass, then it no longer works
    let stale = w.factors.phone_challenge(&user, &phone.id).await.unwrap();
    w.clock.advance_ms(10 * MINUTE_MS);
    assert!(matches!(
        w.factors.verify_phone(&user, &stale.id, &stale.code).await,
        Err(MfaError::CodeExpired)
    ));
    // When a new code is sent, then a wrong code is refused and the right one works once
    let fresh = w.factors.phone_challenge(&user, &phone.id).await.unwrap();
    assert_ne!(fresh.id, stale.id);
    let wrong = if fresh.code.as_str() == "000000" {
        "000001"
    } else {
        "000000"
    };
    assert_eq!(
        w.factors
            .verify_phone(&user, &fresh.id, wrong)
            .await
            .unwrap(),
        None
    );
    w.clock.advance_ms(9 * MINUTE_MS);
    let used = w
        .factors
        .verify_phone(&user, &fresh.id, &fresh.code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.id, phone.id);
    assert_eq!(used.last_used_ms, Some(w.clock.now_ms()));
    assert!(matches!(
        w.factors.verify_phone(&user, &fresh.id, &fresh.code).await,
        Err(MfaError::CodeExpired)
    ));
    // And a set-up challenge does not sign in, nor a sign-in one set a phone up
    let setup = w
        .factors
        .begin_phone(&user, "+1 703-555-0101", "US", PhoneDelivery::Sms)
        .await
        .unwrap();
    assert!(matches!(
        w.factors.verify_phone(&user, &setup.id, &setup.code).await,
        Err(MfaError::CodeExpired)
    ));
    let sign_in = w.factors.phone_challenge(&user, &phone.id).await.unwrap();
    assert!(matches!(
        w.factors
            .confirm_phone(&user, &sign_in.id, &sign_in.code, &ctx())
            .await,
        Err(MfaError::EnrollmentExpired)
    ));
    // And only phones get codes
    let (app, _) = enrol_app(&w, &user, "Phone").await;
    assert!(matches!(
        w.factors.phone_challenge(&user, &app.id).await,
        Err(MfaError::NotFound)
    ));
}

#[tokio::test]
async fn a_sign_in_code_dies_after_five_wrong_tries() {
    let w = world().await;
    let user = registered(&w, "guess@example.gov").await;
    let phone = add_phone(&w, &user, NUMBER).await;
    let challenge = w.factors.phone_challenge(&user, &phone.id).await.unwrap();
    let right: u32 = challenge.code.parse().unwrap();
    for guess in 1..=5 {
        let wrong = format!("{:06}", (right + guess) % 1_000_000);
        assert_eq!(
            w.factors
                .verify_phone(&user, &challenge.id, &wrong)
                .await
                .unwrap(),
            None
        );
    }
    assert!(matches!(
        w.factors
            .verify_phone(&user, &challenge.id, &challenge.code)
            .await,
        Err(MfaError::CodeExpired)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_uses_of_one_phone_code_have_one_winner() {
    let w = Arc::new(world().await);
    let user = registered(&w, "race@example.gov").await;
    let phone = add_phone(&w, &user, NUMBER).await;
    let challenge = w.factors.phone_challenge(&user, &phone.id).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (w, user) = (Arc::clone(&w), user.clone());
            let (id, code) = (challenge.id.clone(), challenge.code.to_string());
            tokio::spawn(async move { w.factors.verify_phone(&user, &id, &code).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Some(_)) => winners += 1,
            Ok(None) | Err(MfaError::CodeExpired) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn one_accounts_codes_do_not_work_for_another() {
    let w = world().await;
    let jane = registered(&w, "jane@example.gov").await;
    let john = registered(&w, "john@example.gov").await;
    let (_, secret) = enrol_app(&w, &jane, "Phone").await;
    enrol_app(&w, &john, "Phone").await;
    let codes = w
        .factors
        .generate_backup_codes(&jane, &ctx())
        .await
        .unwrap();
    let phone = add_phone(&w, &jane, NUMBER).await;
    let challenge = w.factors.phone_challenge(&jane, &phone.id).await.unwrap();
    w.clock.advance_ms(30_000);
    assert_eq!(
        w.factors
            .verify_totp(&john, &app_code(&w, &secret, 0))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        w.factors.use_backup_code(&john, &codes.0[0]).await.unwrap(),
        None
    );
    assert!(matches!(
        w.factors
            .verify_phone(&john, &challenge.id, &challenge.code)
            .await,
        Err(MfaError::CodeExpired)
    ));
    assert!(matches!(
        w.factors.remove(&john, &phone.id, &ctx()).await,
        Err(MfaError::NotFound)
    ));
    // The same number may belong to two accounts
    add_phone(&w, &john, NUMBER).await;
}

#[tokio::test]
async fn the_store_never_holds_a_secret_number_or_code_in_clear() {
    // Given an account with an app, a phone, backup codes, and a pending enrolment and
    // sign-in code
    let w = world().await;
    let user = registered(&w, "secret@example.gov").await;
    let (_, secret) = enrol_app(&w, &user, "Phone").await;
    let pending = w
        .factors
        .begin_totp(&user, "secret@example.gov")
        .await
        .unwrap();
    let phone = add_phone(&w, &user, NUMBER).await;
    let challenge = w.factors.phone_challenge(&user, &phone.id).await.unwrap();
    let codes = w
        .factors
        .generate_backup_codes(&user, &ctx())
        .await
        .unwrap();
    // When the account's partition is read as a thief would
    let items = w
        .store
        .query(&Query::partition(format!("USER#{user}")).limit(1000))
        .await
        .unwrap()
        .items;
    assert!(items.len() >= 15, "{}", items.len());
    let base32 = passerelle::mfa::totp::base32(&secret);
    let mut needles: Vec<Vec<u8>> = vec![
        secret.clone(),
        base32.clone().into_bytes(),
        unbase32(&pending.secret_base32),
        pending.secret_base32.as_bytes().to_vec(),
        b"7035550100".to_vec(),
        challenge.code.as_bytes().to_vec(),
    ];
    for code in &codes.0 {
        needles.push(code.as_bytes().to_vec());
        needles.push(code.replace('-', "").into_bytes());
    }
    // Then none of the secrets appears, in text or in bytes
    for item in &items {
        let dump = format!("{item:?}");
        // (The 6-digit phone code could occur in a timestamp by chance: its check is
        // on the attribute values below.)
        for needle in needles.iter().filter(|n| n.len() > 6) {
            let text = String::from_utf8_lossy(needle);
            assert!(!dump.contains(text.as_ref()), "{text} in {dump}");
        }
        for value in item.attrs.values() {
            let bytes = value
                .as_bytes()
                .map(<[u8]>::to_vec)
                .or_else(|| value.as_str().map(|s| s.as_bytes().to_vec()))
                .unwrap_or_default();
            for needle in &needles {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                    "{:?} in {}",
                    String::from_utf8_lossy(needle),
                    item.key.sk
                );
            }
        }
    }
}
