//! Randomness as a port: the operating system's generator in production, a seeded
//! deterministic stream in tests.

use std::fmt::Debug;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Fills buffers with random bytes. Implementations must be cryptographically secure
/// outside tests.
pub trait Random: Send + Sync + Debug {
    fn fill(&self, buf: &mut [u8]);
}

/// Convenience draws on top of any [`Random`].
pub trait RandomExt: Random {
    fn array<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }

    /// `bytes` random bytes as unpadded base64url text: 32 bytes give 43 characters.
    fn token(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.fill(&mut buf);
        URL_SAFE_NO_PAD.encode(buf)
    }
}

impl<R: Random + ?Sized> RandomExt for R {}

/// Whether `text` has the shape of a [`RandomExt::token`] of `bytes` bytes: exactly that
/// many base64url characters, nothing else. Tokens from outside (cookies, URLs) are
/// checked with it before they reach the store.
pub fn is_token(text: &str, bytes: usize) -> bool {
    text.len() == (bytes * 4).div_ceil(3)
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The operating system's generator (getrandom).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // Without the OS generator nothing here is safe to run: stop rather than continue.
        #[allow(clippy::expect_used)]
        getrandom::fill(buf).expect("the operating system's random generator failed");
    }
}

/// A deterministic stream (SHA-256 in counter mode over a seed), for tests only.
#[derive(Debug)]
pub struct SeededRandom {
    seed: [u8; 32],
    counter: Mutex<u64>,
}

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self {
            seed: Sha256::digest(seed.to_be_bytes()).into(),
            counter: Mutex::new(0),
        }
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        let mut counter = self.counter.lock().unwrap_or_else(|e| e.into_inner());
        for chunk in buf.chunks_mut(32) {
            let mut h = Sha256::new();
            h.update(self.seed);
            h.update(counter.to_be_bytes());
            *counter += 1;
            let block = h.finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_streams_repeat_and_differ_by_seed() {
        let (a, b, c) = (
            SeededRandom::new(1),
            SeededRandom::new(1),
            SeededRandom::new(2),
        );
        let (x, y, z): ([u8; 40], [u8; 40], [u8; 40]) = (a.array(), b.array(), c.array());
        assert_eq!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn tokens_have_the_expected_length() {
        assert_eq!(OsRandom.token(32).len(), 43);
        assert_ne!(OsRandom.token(32), OsRandom.token(32));
        assert!(is_token(&OsRandom.token(32), 32));
        assert!(is_token(&OsRandom.token(16), 16));
        assert!(!is_token(&OsRandom.token(32), 16));
        assert!(!is_token(&format!("{}=", "a".repeat(42)), 32));
    }
}
