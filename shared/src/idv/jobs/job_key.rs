//! The keys a proofing job's PII is sealed under, so that the table holds its input, its
//! images and its result as ciphertext whose key it never holds (issue 16).
//!
//! - [`FlowKey`]: HMAC-SHA256(session token, `passerelle/proofing-flow/v1`). The token is
//!   the secret in the browser's `__Host-session` cookie; the store keeps only its
//!   SHA-256. Only the person's browser (through the pages) can derive it, until the
//!   session ends.
//! - [`JobKey`]: HMAC-SHA256(flow key, job id), one per job. It seals the job's input and
//!   images (AES-256-GCM). The worker gets it **only inside the job's queue message**,
//!   sealed by the envelope (`purpose=proofing-job`, `job=<id>`): while the message is in
//!   the queue (seconds; at most the queue's retention for a dead-lettered one) the key
//!   service can open the key and, with it, the job's input. Once the message is gone,
//!   nothing anyone holds opens the input or the images in the table or its backups.
//! - The result (the data a document vendor read) is sealed to an X25519 public key of
//!   the job's ([`seal_result`]), stored on the job: the worker and the vendor's callback
//!   can seal it, only the flow key opens it (its private key is HMAC-SHA256(flow key,
//!   label | job id), not derivable from the job key). So not even a captured queue
//!   message opens a result.
//!
//! Formats (each a version byte first):
//! - sealed under a job key: `1 | nonce (12) | AES-256-GCM(plaintext)` with associated
//!   data `passerelle/proofing-job/v1/<purpose>/<job id>`;
//! - a result: `1 | ephemeral X25519 public key (32) | nonce (12) | AES-256-GCM(result)`,
//!   its key HMAC-SHA256(shared secret, `passerelle/proofing-result/v1` | ephemeral |
//!   recipient), its associated data the job id.

use curve25519_dalek::montgomery::MontgomeryPoint;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::aead;
use crate::random::{Random, RandomExt};
use crate::session::SessionToken;

const FLOW_LABEL: &[u8] = b"passerelle/proofing-flow/v1";
const RESULT_KEY_LABEL: &[u8] = b"passerelle/proofing-result-key/v1";
const RESULT_LABEL: &[u8] = b"passerelle/proofing-result/v1";
const FORMAT: u8 = 1;
/// An X25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    for part in parts {
        mac.update(part);
    }
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// The key of one person's verification flow, derived from their session token. Never
/// stored; `Debug` shows nothing.
pub struct FlowKey(Zeroizing<[u8; 32]>);

impl FlowKey {
    /// The flow key of the session whose cookie holds `token`.
    pub fn of_session(token: &SessionToken) -> Self {
        Self::of_secret(token.as_str())
    }

    fn of_secret(secret: &str) -> Self {
        Self(hmac(secret.as_bytes(), &[FLOW_LABEL]))
    }

    /// A flow key from raw bytes (tests and tools that hold no session).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key of job `id` of this flow.
    pub fn job(&self, id: &str) -> JobKey {
        JobKey(hmac(self.0.as_slice(), &[id.as_bytes()]))
    }

    /// The private key of job `job`'s result: from the flow key, not the job key, so
    /// that what the worker holds (the job key, in the message) opens no result.
    fn result_private_key(&self, job: &str) -> Zeroizing<[u8; 32]> {
        hmac(self.0.as_slice(), &[RESULT_KEY_LABEL, job.as_bytes()])
    }

    /// The public key job `job`'s result is sealed to (stored on the job: it opens
    /// nothing).
    pub fn result_public_key(&self, job: &str) -> Option<[u8; PUBLIC_KEY_LEN]> {
        Some(MontgomeryPoint::mul_base_clamped(*self.result_private_key(job)).to_bytes())
    }

    /// Opens a result [`seal_result`] sealed for job `job` to its public key.
    pub fn open_result(&self, job: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (&format, rest) = sealed.split_first()?;
        if format != FORMAT || rest.len() < PUBLIC_KEY_LEN + aead::NONCE_LEN {
            return None;
        }
        let (ephemeral, rest) = rest.split_at(PUBLIC_KEY_LEN);
        let (nonce, ciphertext) = rest.split_at(aead::NONCE_LEN);
        let nonce: [u8; aead::NONCE_LEN] = nonce.try_into().ok()?;
        let recipient = self.result_public_key(job)?;
        let shared = agree(&self.result_private_key(job), ephemeral)?;
        let key = hmac(shared.as_slice(), &[RESULT_LABEL, ephemeral, &recipient]);
        aead::decrypt(&key, &nonce, job.as_bytes(), ciphertext)
    }
}

impl std::fmt::Debug for FlowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowKey([redacted])")
    }
}

/// The key of one proofing job. `Debug` shows nothing.
#[derive(Clone)]
pub struct JobKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for JobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobKey([redacted])")
    }
}

fn associated_data(purpose: &str, job: &str) -> Vec<u8> {
    format!("passerelle/proofing-job/v1/{purpose}/{job}").into_bytes()
}

impl JobKey {
    /// The key as bytes, to be sealed by the envelope into the job's message.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key from what the job's message held (after the envelope opened it).
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let key: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(key)))
    }

    /// Seals `plaintext` (the `purpose` part of job `job`: its input, an image).
    pub(crate) fn seal(
        &self,
        random: &dyn Random,
        purpose: &str,
        job: &str,
        plaintext: &[u8],
    ) -> Vec<u8> {
        let nonce = random.array::<{ aead::NONCE_LEN }>();
        let mut out = Vec::with_capacity(1 + aead::NONCE_LEN + plaintext.len() + aead::TAG_LEN);
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend(aead::encrypt(
            &self.0,
            &nonce,
            &associated_data(purpose, job),
            plaintext,
        ));
        out
    }

    /// Opens what [`JobKey::seal`] made for the same purpose and job; `None` otherwise.
    pub(crate) fn open(
        &self,
        purpose: &str,
        job: &str,
        sealed: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        let (&format, rest) = sealed.split_first()?;
        if format != FORMAT || rest.len() < aead::NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(aead::NONCE_LEN);
        let nonce: [u8; aead::NONCE_LEN] = nonce.try_into().ok()?;
        aead::decrypt(&self.0, &nonce, &associated_data(purpose, job), ciphertext)
    }
}

/// X25519 of `secret` and the peer's public key `peer`; `None` when `peer` is not 32
/// bytes or is a low-order point (the shared secret would be zero, known to anyone).
fn agree(secret: &[u8; 32], peer: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let peer: [u8; 32] = peer.try_into().ok()?;
    let shared = Zeroizing::new(MontgomeryPoint(peer).mul_clamped(*secret).to_bytes());
    (shared.iter().any(|b| *b != 0)).then_some(shared)
}

/// Seals job `job`'s `result` to `recipient` (the job's [`JobKey::result_public_key`]):
/// whoever holds only the public key (the worker, the vendor's callback) can seal, only
/// the flow key opens. `None` when `recipient` is not a valid X25519 key.
pub fn seal_result(
    random: &dyn Random,
    recipient: &[u8],
    job: &str,
    result: &[u8],
) -> Option<Vec<u8>> {
    let ephemeral = Zeroizing::new(random.array::<32>());
    let ephemeral_public = MontgomeryPoint::mul_base_clamped(*ephemeral).to_bytes();
    let shared = agree(&ephemeral, recipient)?;
    let key = hmac(
        shared.as_slice(),
        &[RESULT_LABEL, ephemeral_public.as_ref(), recipient],
    );
    let nonce = random.array::<{ aead::NONCE_LEN }>();
    let mut out = Vec::with_capacity(1 + PUBLIC_KEY_LEN + aead::NONCE_LEN + result.len() + 16);
    out.push(FORMAT);
    out.extend_from_slice(&ephemeral_public);
    out.extend_from_slice(&nonce);
    out.extend(aead::encrypt(&key, &nonce, job.as_bytes(), result));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    const JOB: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn given_a_session_then_each_job_has_its_own_key_and_other_sessions_open_nothing() {
        let flow = FlowKey::of_secret("token-a");
        let sealed = flow.job(JOB).seal(&OsRandom, "input", JOB, b"secret");
        assert_eq!(
            flow.job(JOB)
                .open("input", JOB, &sealed)
                .as_deref()
                .map(Vec::as_slice),
            Some(&b"secret"[..])
        );
        // Another job, session, purpose or a changed byte: nothing opens
        assert!(
            flow.job("BBBBBBBBBBBBBBBBBBBBBB")
                .open("input", JOB, &sealed)
                .is_none()
        );
        assert!(
            FlowKey::of_secret("token-b")
                .job(JOB)
                .open("input", JOB, &sealed)
                .is_none()
        );
        assert!(flow.job(JOB).open("front", JOB, &sealed).is_none());
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(flow.job(JOB).open("input", JOB, &bad).is_none());
    }

    #[test]
    fn given_the_public_key_only_when_a_result_is_sealed_then_only_the_flow_key_opens_it() {
        let key = FlowKey::of_secret("token-a");
        let public = key.result_public_key(JOB).unwrap();
        let sealed = seal_result(&OsRandom, &public, JOB, b"{\"given_name\":\"Ada\"}").unwrap();
        assert_eq!(
            key.open_result(JOB, &sealed).as_deref().map(Vec::as_slice),
            Some(&b"{\"given_name\":\"Ada\"}"[..])
        );
        // Not another job's key, not under another job id, not tampered
        let other = FlowKey::of_secret("token-b");
        assert!(other.open_result(JOB, &sealed).is_none());
        assert!(key.open_result("BBBBBBBBBBBBBBBBBBBBBB", &sealed).is_none());
        let mut bad = sealed.clone();
        bad[5] ^= 1;
        assert!(key.open_result(JOB, &bad).is_none());
        // Not a valid recipient (too short, or a low-order point): refused, not sealed to
        // a key everyone knows
        assert!(seal_result(&OsRandom, &[0u8; 3], JOB, b"x").is_none());
        assert!(seal_result(&OsRandom, &[0u8; 32], JOB, b"x").is_none());
    }

    #[test]
    fn debug_shows_no_key() {
        let flow = FlowKey::from_bytes([7; 32]);
        assert_eq!(format!("{flow:?}"), "FlowKey([redacted])");
        assert_eq!(format!("{:?}", flow.job(JOB)), "JobKey([redacted])");
    }
}
