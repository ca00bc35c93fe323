//! Crypto-shredding (issue 16): a copy of the table taken before an account was deleted,
//! restored after, opens nothing of the account, even with the key service. What the copy
//! holds of it is sealed under the account's key, and the deletion destroyed that key in
//! the key table, which no backup of the table contains.

mod support;

use std::path::Path;
use std::sync::Arc;

use passerelle::account::accounts::Accounts;
use passerelle::clock::Clock;
use passerelle::random::OsRandom;
use passerelle::sqlite::Db;
use passerelle::store::embedded::EmbeddedStore;
use passerelle::store::{Query, Store};
use support::{Browser, FAST, GOOD, Site, sign_up_with_app, site_with_clock};

const ADDRESS: &str = "shredded@example.gov";

/// A copy of the site's table as a backup holds it: the database and its WAL, not the
/// key table beside them.
fn backup_of(site: &Site) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for name in ["passerelle.db", "passerelle.db-wal"] {
        let from = site.data_dir().join(name);
        if from.exists() {
            std::fs::copy(&from, copy.path().join(name)).unwrap();
        }
    }
    copy
}

/// The deployment's account services over `store`, with the live site's key service and
/// key table (its envelope).
async fn accounts_over(site: &Site, store: Arc<dyn Store>) -> Accounts {
    Accounts::new(
        store,
        Arc::clone(&site.services.envelope),
        Arc::clone(&site.services.clock),
        Arc::new(OsRandom),
        FAST,
    )
    .await
    .unwrap()
}

/// A restored copy's table.
fn restored(site: &Site, copy: &Path) -> Arc<dyn Store> {
    let clock: Arc<dyn Clock> = Arc::clone(&site.services.clock);
    Arc::new(EmbeddedStore::new(
        Db::open(&copy.join("passerelle.db")).unwrap(),
        clock,
    ))
}

/// Every binary attribute of the account's partition in `store`: what it sealed.
async fn sealed_values(store: &dyn Store, user: &str) -> Vec<Vec<u8>> {
    let items = store
        .query(&Query::partition(format!("USER#{user}")))
        .await
        .unwrap()
        .items;
    items
        .iter()
        .flat_map(|item| {
            item.attrs
                .keys()
                .filter_map(|name| item.bytes(name).map(<[u8]>::to_vec))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn given_a_backup_from_before_a_deletion_when_restored_after_then_nothing_of_the_account_opens()
 {
    // Given an account with its address, password and authenticator app
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "", ADDRESS).await;
    let live = accounts_over(&site, Arc::clone(&site.services.store)).await;
    let user = live.authenticate(ADDRESS, GOOD).await.unwrap().id;
    // And two copies of the table taken while it exists
    let (control, backup) = (backup_of(&site), backup_of(&site));
    // The control: before the deletion, a restored copy opens the account
    let before = accounts_over(&site, restored(&site, control.path())).await;
    let addresses = before.list_addresses(&user).await.unwrap();
    assert_eq!(addresses[0].address.as_str(), ADDRESS);
    assert_eq!(before.authenticate(ADDRESS, GOOD).await.unwrap().id, user);
    // Everything the account sealed is under its key (format 2)
    let sealed = sealed_values(restored(&site, backup.path()).as_ref(), &user).await;
    assert!(
        sealed.len() >= 3,
        "address, password, app: {}",
        sealed.len()
    );
    assert!(sealed.iter().all(|v| v.first() == Some(&2)), "{sealed:?}");

    // The account's key, as the key table holds it (sealed under the wrap key)
    let table = site.services.envelope.account_keys().unwrap().store();
    let key_before: Vec<Vec<u8>> = table
        .query(&Query::partition(format!("ACCOUNT_KEY#{user}")))
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|i| i.bytes("key").map(<[u8]>::to_vec))
        // As the embedded store writes a binary attribute: base64 in its JSON.
        .map(|k| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .encode(k)
                .into_bytes()
        })
        .collect();
    assert_eq!(key_before.len(), 1);
    let raw = std::fs::read(site.data_dir().join("account-keys.db-wal")).unwrap_or_default();
    let raw_db = std::fs::read(site.data_dir().join("account-keys.db")).unwrap_or_default();
    assert!(
        [raw, raw_db].iter().any(|b| b
            .windows(key_before[0].len())
            .any(|w| w == key_before[0].as_slice())),
        "the control: the scan finds the key while it exists"
    );
    // When the person deletes the account
    b.get("/account/delete").await;
    let done = b
        .post("/account/delete", &[("password", GOOD), ("confirm", "yes")])
        .await;
    assert!(done.body.contains("deleted"), "{}", done.body);

    // Then the copy from before, restored, opens nothing of it with the key service
    let after = accounts_over(&site, restored(&site, backup.path())).await;
    assert!(
        after.list_addresses(&user).await.is_err(),
        "no address opens"
    );
    assert!(
        after.authenticate(ADDRESS, GOOD).await.is_err(),
        "the password hash does not open"
    );
    let envelope = &site.services.envelope;
    for purpose in ["email", "password", "totp"] {
        let context = passerelle::keys::EncryptionContext::new()
            .with("purpose", purpose)
            .with("user", user.as_str());
        for value in &sealed {
            assert!(envelope.open(&context, "any", value).await.is_err());
        }
    }
    // And the key table holds nothing of the account any more, not even in its files
    for name in ["account-keys.db", "account-keys.db-wal"] {
        let path = site.data_dir().join(name);
        let bytes = std::fs::read(&path).unwrap_or_default();
        for wrapped in &key_before {
            assert!(
                !bytes
                    .windows(wrapped.len())
                    .any(|w| w == wrapped.as_slice()),
                "{name} still holds the deleted key"
            );
        }
    }
    let keys = envelope.account_keys().unwrap().store();
    let left = keys
        .query(&Query::partition(format!("ACCOUNT_KEY#{user}")))
        .await
        .unwrap()
        .items;
    assert!(left.is_empty());
}

#[tokio::test]
async fn given_another_account_when_one_is_deleted_then_the_others_copy_still_opens() {
    let site = site_with_clock();
    let mut gone = Browser::new(&site);
    sign_up_with_app(&mut gone, "", ADDRESS).await;
    let mut kept = Browser::new(&site);
    sign_up_with_app(&mut kept, "", "kept@example.gov").await;
    let backup = backup_of(&site);
    gone.get("/account/delete").await;
    let done = gone
        .post("/account/delete", &[("password", GOOD), ("confirm", "yes")])
        .await;
    assert!(done.body.contains("deleted"), "{}", done.body);
    // The backup restores the other account whole: only the deleted one is shredded
    let after = accounts_over(&site, restored(&site, backup.path())).await;
    let account = after.authenticate("kept@example.gov", GOOD).await.unwrap();
    let addresses = after.list_addresses(&account.id).await.unwrap();
    assert_eq!(addresses[0].address.as_str(), "kept@example.gov");
}
