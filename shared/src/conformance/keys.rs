//! The key service suite: data keys unwrap only with the context they were made for, and
//! MACs are stable, keyed by the deployment and separated by purpose and by part.

use super::{Harness, unique};
use crate::keys::{EncryptionContext, KeyError, MAC_MESSAGE_MAX, MacPurpose, mac_message};

fn context(user: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "pii")
        .with("user", user)
}

pub async fn data_keys_unwrap_with_their_context(h: &dyn Harness) {
    let keys = h.keys().await;
    let ctx = context(&unique("u"));
    let dk = keys.generate_data_key(&ctx).await.unwrap();
    assert!(!dk.key_id.is_empty());
    assert_ne!(dk.wrapped.as_slice(), dk.plaintext.expose().as_slice());
    let back = keys
        .decrypt_data_key(&dk.key_id, &dk.wrapped, &ctx)
        .await
        .unwrap();
    assert_eq!(back, dk.plaintext);
    let other = keys.generate_data_key(&ctx).await.unwrap();
    assert_ne!(other.plaintext, dk.plaintext, "every data key is fresh");
}

pub async fn another_context_is_rejected(h: &dyn Harness) {
    let keys = h.keys().await;
    let ctx = context("alice");
    let dk = keys.generate_data_key(&ctx).await.unwrap();
    for wrong in [
        context("bob"),
        EncryptionContext::new().with("purpose", "pii"),
        ctx.clone().with("extra", "1"),
    ] {
        let r = keys.decrypt_data_key(&dk.key_id, &dk.wrapped, &wrong).await;
        assert!(matches!(r, Err(KeyError::Rejected)), "{r:?}");
    }
}

pub async fn a_tampered_wrapped_key_is_rejected(h: &dyn Harness) {
    let keys = h.keys().await;
    let ctx = context("carol");
    let dk = keys.generate_data_key(&ctx).await.unwrap();
    let mut bad = dk.wrapped.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    let r = keys.decrypt_data_key(&dk.key_id, &bad, &ctx).await;
    assert!(matches!(r, Err(KeyError::Rejected)), "{r:?}");
    let r = keys.decrypt_data_key(&dk.key_id, &[], &ctx).await;
    assert!(r.is_err());
}

pub async fn secrets_never_show_in_debug(h: &dyn Harness) {
    let keys = h.keys().await;
    let dk = keys.generate_data_key(&context("dave")).await.unwrap();
    let shown = format!("{dk:?}");
    assert!(shown.contains("redacted"), "{shown}");
    let hex: String = dk
        .plaintext
        .expose()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!shown.contains(&hex));
    assert!(!shown.contains(&format!("{:?}", dk.plaintext.expose())));
}

pub async fn macs_are_stable_keyed_and_separated(h: &dyn Harness) {
    let keys = h.keys().await;
    let ssn = b"900112233";
    // The same input gives the same MAC
    let mac = keys.mac(MacPurpose::IdvSsn, ssn).await.unwrap();
    assert_eq!(mac, keys.mac(MacPurpose::IdvSsn, ssn).await.unwrap());
    // Other data, another purpose: another MAC
    assert_ne!(
        mac,
        keys.mac(MacPurpose::IdvSsn, b"900112234").await.unwrap()
    );
    assert_ne!(mac, keys.mac(MacPurpose::IdvSsnLimit, ssn).await.unwrap());
    assert_ne!(mac, keys.mac(MacPurpose::PepperV1, ssn).await.unwrap());
    // Parts are length-prefixed: ["ab", "c"] is not ["a", "bc"]
    let ab_c = keys.mac_of(MacPurpose::Test, &[b"ab", b"c"]).await.unwrap();
    let a_bc = keys.mac_of(MacPurpose::Test, &[b"a", b"bc"]).await.unwrap();
    assert_ne!(ab_c, a_bc);
    // Another deployment's key service (its own MAC key) gives another MAC
    let other = h.other_keys().await;
    assert_ne!(mac, other.mac(MacPurpose::IdvSsn, ssn).await.unwrap());
    // Keyed: neither the data nor an unkeyed hash of the message it MACs
    let message = mac_message(MacPurpose::IdvSsn, ssn).unwrap();
    let unkeyed: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(message.as_slice()).into();
    assert_ne!(mac, unkeyed);
    assert!(!mac.windows(ssn.len()).any(|w| w == ssn));
    // The longest message KMS takes, and no longer
    let room = MAC_MESSAGE_MAX - mac_message(MacPurpose::Test, b"").unwrap().len();
    keys.mac(MacPurpose::Test, &vec![7; room]).await.unwrap();
    let r = keys.mac(MacPurpose::Test, &vec![7; room + 1]).await;
    assert!(matches!(r, Err(KeyError::TooLong)), "{r:?}");
}
