//! AES-256-GCM, the one symmetric primitive: callers supply a unique 96-bit nonce.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
use zeroize::Zeroizing;

pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;

pub fn encrypt(key: &[u8; 32], nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(&(*key).into());
    let nonce = Nonce::<Aes256Gcm>::from(*nonce);
    // Encryption fails only for messages over 64 GiB, which nothing here produces.
    cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default()
}

/// `None` when the key, nonce, associated data or ciphertext do not match.
pub fn decrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new(&(*key).into());
    let nonce = Nonce::<Aes256Gcm>::from(*nonce);
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_aad() {
        let key = [7u8; 32];
        let nonce = [1u8; 12];
        let ct = encrypt(&key, &nonce, b"record-1", b"secret");
        assert_eq!(ct.len(), 6 + TAG_LEN);
        assert_eq!(
            decrypt(&key, &nonce, b"record-1", &ct)
                .as_deref()
                .map(Vec::as_slice),
            Some(&b"secret"[..])
        );
        assert!(decrypt(&key, &nonce, b"record-2", &ct).is_none());
    }
}
