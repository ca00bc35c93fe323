//! The key service suite: data keys unwrap only with the context they were made for.

use super::{Harness, unique};
use crate::keys::{EncryptionContext, KeyError};

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
