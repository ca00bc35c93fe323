//! The envelope suite, over each key service: sealed values open only for their context
//! and record, any tampering fails, and the data-key cache keeps the key service off the
//! hot path.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use super::{Harness, unique};
use crate::clock::{Clock, ManualClock};
use crate::envelope::{CacheLimits, Envelope, EnvelopeError, FORMAT_V1};
use crate::keys::{DataKey, EncryptionContext, KeyError, KeyService, MacPurpose, SecretKey};
use crate::random::OsRandom;

/// Counts calls to the key service underneath.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn KeyService>,
    generated: AtomicUsize,
    decrypted: AtomicUsize,
}

#[async_trait]
impl KeyService for Counting {
    fn adapter(&self) -> &'static str {
        self.inner.adapter()
    }
    async fn generate_data_key(&self, c: &EncryptionContext) -> Result<DataKey, KeyError> {
        self.generated.fetch_add(1, Ordering::SeqCst);
        self.inner.generate_data_key(c).await
    }
    async fn decrypt_data_key(
        &self,
        id: &str,
        w: &[u8],
        c: &EncryptionContext,
    ) -> Result<SecretKey, KeyError> {
        self.decrypted.fetch_add(1, Ordering::SeqCst);
        self.inner.decrypt_data_key(id, w, c).await
    }
    async fn mac(&self, purpose: MacPurpose, data: &[u8]) -> Result<[u8; 32], KeyError> {
        self.inner.mac(purpose, data).await
    }
}

async fn envelope(
    h: &dyn Harness,
    limits: CacheLimits,
) -> (Envelope, Arc<Counting>, Arc<ManualClock>) {
    let counting = Arc::new(Counting {
        inner: h.keys().await,
        generated: AtomicUsize::new(0),
        decrypted: AtomicUsize::new(0),
    });
    let clock = Arc::new(ManualClock::at_ms(1_800_000_000_000));
    let env = Envelope::new(
        counting.clone(),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        limits,
    );
    (env, counting, clock)
}

fn ctx(user: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "pii")
        .with("user", user)
}

pub async fn sealed_values_open_for_their_record(h: &dyn Harness) {
    let (env, _, _) = envelope(h, CacheLimits::default()).await;
    let user = unique("u");
    let sealed = env
        .seal(&ctx(&user), "USER#1#PII", b"Jane Doe, 1970-01-01")
        .await
        .unwrap();
    assert_eq!(
        sealed[0], FORMAT_V1,
        "the header starts with the format version"
    );
    let key_id = Envelope::key_id_of(&sealed).expect("the header names the root key");
    assert!(!key_id.is_empty());
    assert!(
        !sealed.windows(8).any(|w| w == b"Jane Doe"),
        "no plaintext in the output"
    );
    let opened = env.open(&ctx(&user), "USER#1#PII", &sealed).await.unwrap();
    assert_eq!(opened.as_slice(), b"Jane Doe, 1970-01-01");
    let empty = env.seal(&ctx(&user), "USER#1#EMPTY", b"").await.unwrap();
    assert!(
        env.open(&ctx(&user), "USER#1#EMPTY", &empty)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn flipping_any_byte_fails(h: &dyn Harness) {
    // Without a cache, a flipped wrapped key reaches the key service and is refused there too.
    for limits in [CacheLimits::default(), CacheLimits::disabled()] {
        let (env, _, _) = envelope(h, limits).await;
        let c = ctx(&unique("u"));
        let sealed = env.seal(&c, "R", b"secret").await.unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x20;
            assert!(
                env.open(&c, "R", &bad).await.is_err(),
                "byte {i} flipped still opened"
            );
        }
        assert!(
            env.open(&c, "R", &sealed[..sealed.len() - 1])
                .await
                .is_err()
        );
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(env.open(&c, "R", &longer).await.is_err());
        assert!(matches!(
            env.open(&c, "R", &[]).await,
            Err(EnvelopeError::Malformed)
        ));
    }
}

pub async fn moving_a_ciphertext_fails(h: &dyn Harness) {
    let (env, _, _) = envelope(h, CacheLimits::default()).await;
    let (alice, bob) = (ctx(&unique("alice")), ctx(&unique("bob")));
    let a = env
        .seal(&alice, "USER#alice#PII", b"alice's data")
        .await
        .unwrap();
    let b = env.seal(&bob, "USER#bob#PII", b"bob's data").await.unwrap();
    // Another record under the same context, or the other user's context: both refused.
    assert!(matches!(
        env.open(&alice, "USER#bob#PII", &a).await,
        Err(EnvelopeError::Rejected)
    ));
    assert!(env.open(&bob, "USER#alice#PII", &a).await.is_err());
    assert!(env.open(&alice, "USER#bob#PII", &b).await.is_err());
    assert!(env.open(&bob, "USER#bob#PII", &b).await.is_ok());
}

pub async fn changing_the_context_fails(h: &dyn Harness) {
    let (env, _, _) = envelope(h, CacheLimits::disabled()).await;
    let c = ctx(&unique("u"));
    let sealed = env.seal(&c, "R", b"secret").await.unwrap();
    assert!(
        env.open(&c.clone().with("purpose", "other"), "R", &sealed)
            .await
            .is_err()
    );
    assert!(
        env.open(&EncryptionContext::new(), "R", &sealed)
            .await
            .is_err()
    );
}

pub async fn the_cache_keeps_the_key_service_off_the_hot_path(h: &dyn Harness) {
    let (env, counting, clock) = envelope(
        h,
        CacheLimits {
            ttl_ms: 60_000,
            capacity: 8,
            max_uses: 3,
        },
    )
    .await;
    let c = ctx(&unique("u"));
    let mut sealed = Vec::new();
    for i in 0..3 {
        sealed.push(env.seal(&c, &format!("R{i}"), b"v").await.unwrap());
    }
    assert_eq!(
        counting.generated.load(Ordering::SeqCst),
        1,
        "one data key for three seals"
    );
    env.seal(&c, "R3", b"v").await.unwrap();
    assert_eq!(
        counting.generated.load(Ordering::SeqCst),
        2,
        "a key is retired after max_uses"
    );

    let (fresh, fresh_count, _) = envelope(
        h,
        CacheLimits {
            ttl_ms: 60_000,
            capacity: 8,
            max_uses: 3,
        },
    )
    .await;
    for _ in 0..5 {
        fresh.open(&c, "R0", &sealed[0]).await.unwrap();
    }
    assert_eq!(
        fresh_count.decrypted.load(Ordering::SeqCst),
        1,
        "opens reuse the unwrapped key"
    );
    let _ = clock;
    let (expiring, expiring_count, expiring_clock) = envelope(
        h,
        CacheLimits {
            ttl_ms: 60_000,
            capacity: 8,
            max_uses: 3,
        },
    )
    .await;
    expiring.open(&c, "R1", &sealed[1]).await.unwrap();
    expiring_clock.advance_ms(60_000);
    expiring.open(&c, "R1", &sealed[1]).await.unwrap();
    assert_eq!(
        expiring_count.decrypted.load(Ordering::SeqCst),
        2,
        "a cached key expires"
    );
}
