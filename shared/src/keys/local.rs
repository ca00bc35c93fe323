//! The embedded key service: root keys in a file of the data directory (mode 0600, made
//! on first run). The last key in the file wraps new data keys; older ones still unwrap,
//! so rotation is appending a key. Beside it, `mac-key` (32 random bytes, mode 0600, made
//! on first run) keys the HMAC-SHA256 of [`KeyService::mac`], computed here: like the
//! KMS HMAC key it stands for, it is never handed out.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{DataKey, EncryptionContext, KeyError, KeyService, MacPurpose, SecretKey, mac_message};
use crate::aead;
use crate::random::{Random, RandomExt};

pub const ROOT_KEYS_FILE: &str = "root-keys";
pub const MAC_KEY_FILE: &str = "mac-key";
const WRAP_LABEL: &[u8] = b"passerelle/local-data-key/v1";

#[derive(Debug, thiserror::Error)]
#[error("root key file {path}: {detail}")]
pub struct RootKeyError {
    pub path: String,
    pub detail: String,
}

pub struct LocalKeyService {
    path: PathBuf,
    keys: RwLock<Vec<(String, SecretKey)>>,
    /// Never shown, wiped on drop ([`SecretKey`]).
    mac_key: SecretKey,
    random: Arc<dyn Random>,
}

impl std::fmt::Debug for LocalKeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self
            .keys
            .read()
            .map(|k| k.iter().map(|(id, _)| id.clone()).collect())
            .unwrap_or_default();
        f.debug_struct("LocalKeyService")
            .field("path", &self.path)
            .field("key_ids", &ids)
            .finish()
    }
}

impl LocalKeyService {
    /// Loads the root keys from `dir`, creating the file with one key on first run.
    pub fn open(dir: &Path, random: Arc<dyn Random>) -> Result<Self, RootKeyError> {
        let path = dir.join(ROOT_KEYS_FILE);
        let err = |detail: String| RootKeyError {
            path: path.display().to_string(),
            detail,
        };
        if !path.exists() {
            // Written whole and synced under a name of its own, then linked into place (as
            // the MAC key is): a process killed mid-write leaves no empty or partial file
            // that every later start would read as "no root key", and of two processes
            // starting at once the first link wins and both read it.
            let line = zeroize::Zeroizing::new(format!(
                "local-1:{}\n",
                STANDARD.encode(random.array::<32>())
            ));
            let fresh = dir.join(format!("{ROOT_KEYS_FILE}.{}.new", random.token(6)));
            let written = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&fresh)
                .and_then(|mut file| {
                    file.write_all(line.as_bytes())
                        .and_then(|()| file.sync_all())
                });
            let linked = written.and_then(|()| fs::hard_link(&fresh, &path));
            let _ = fs::remove_file(&fresh);
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(err(e.to_string())),
            }
        }
        refuse_shared(&path).map_err(err)?;
        let keys =
            parse(&fs::read_to_string(&path).map_err(|e| err(e.to_string()))?).map_err(err)?;
        let mac_key = open_mac_key(dir, random.as_ref())?;
        Ok(Self {
            path,
            keys: RwLock::new(keys),
            mac_key,
            random,
        })
    }

    /// Adds a new root key, which wraps every data key from now on. Returns its id.
    pub fn rotate(&self) -> Result<String, RootKeyError> {
        let err = |detail: String| RootKeyError {
            path: self.path.display().to_string(),
            detail,
        };
        let mut keys = self.keys.write().map_err(|e| err(e.to_string()))?;
        let id = format!("local-{}", keys.len() + 1);
        let key = self.random.array::<32>();
        let mut file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| err(e.to_string()))?;
        file.write_all(format!("{id}:{}\n", STANDARD.encode(key)).as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| err(e.to_string()))?;
        keys.push((id.clone(), SecretKey::from_bytes(key)));
        Ok(id)
    }

    fn find(&self, key_id: &str) -> Option<SecretKey> {
        let keys = self.keys.read().ok()?;
        keys.iter()
            .find(|(id, _)| id == key_id)
            .map(|(_, k)| k.clone())
    }

    fn current(&self) -> Result<(String, SecretKey), KeyError> {
        let keys = self
            .keys
            .read()
            .map_err(|e| KeyError::Failed(e.to_string()))?;
        keys.last()
            .cloned()
            .ok_or_else(|| KeyError::Failed("no root key".into()))
    }
}

/// Refuses a key file others can read.
fn refuse_shared(path: &Path) -> Result<(), String> {
    let mode = fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "is readable by others (mode {:o}); run chmod 600 on it",
            mode & 0o777
        ));
    }
    Ok(())
}

/// The MAC key of `dir`, made on first run. A new key is written whole to a file of its
/// own and then linked into place, so a process racing this one reads either no file or
/// the complete key, never a partial one, and both end up with the same key.
fn open_mac_key(dir: &Path, random: &dyn Random) -> Result<SecretKey, RootKeyError> {
    let path = dir.join(MAC_KEY_FILE);
    let err = |detail: String| RootKeyError {
        path: path.display().to_string(),
        detail,
    };
    if !path.exists() {
        let suffix: String = random
            .array::<6>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let fresh = dir.join(format!("{MAC_KEY_FILE}.{suffix}.new"));
        let key = zeroize::Zeroizing::new(random.array::<32>());
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&fresh)
            .and_then(|mut file| file.write_all(key.as_ref()).and_then(|()| file.sync_all()));
        let linked = written.and_then(|()| fs::hard_link(&fresh, &path));
        let _ = fs::remove_file(&fresh);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err(e.to_string())),
        }
    }
    refuse_shared(&path).map_err(err)?;
    let bytes = zeroize::Zeroizing::new(fs::read(&path).map_err(|e| err(e.to_string()))?);
    SecretKey::from_slice(&bytes).ok_or_else(|| err("is not 32 bytes".into()))
}

fn parse(text: &str) -> Result<Vec<(String, SecretKey)>, String> {
    let keys = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (id, b64) = line
                .split_once(':')
                .ok_or("a line is not `id:base64-key`")?;
            let bytes = STANDARD
                .decode(b64.trim())
                .map_err(|_| "a key is not base64")?;
            let key = SecretKey::from_slice(&bytes).ok_or("a key is not 32 bytes")?;
            Ok((id.to_owned(), key))
        })
        .collect::<Result<Vec<_>, &str>>()
        .map_err(str::to_owned)?;
    if keys.is_empty() {
        return Err("holds no key".into());
    }
    Ok(keys)
}

fn aad(key_id: &str, context: &EncryptionContext) -> Vec<u8> {
    let mut aad = WRAP_LABEL.to_vec();
    aad.extend_from_slice(&(key_id.len() as u32).to_be_bytes());
    aad.extend_from_slice(key_id.as_bytes());
    aad.extend_from_slice(&context.canonical());
    aad
}

#[async_trait]
impl KeyService for LocalKeyService {
    fn adapter(&self) -> &'static str {
        "local-key-file"
    }

    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<DataKey, KeyError> {
        let (key_id, root) = self.current()?;
        let plaintext = SecretKey::from_bytes(self.random.array::<32>());
        let nonce = self.random.array::<{ aead::NONCE_LEN }>();
        let mut wrapped = nonce.to_vec();
        wrapped.extend(aead::encrypt(
            root.expose(),
            &nonce,
            &aad(&key_id, context),
            plaintext.expose(),
        ));
        Ok(DataKey {
            key_id,
            plaintext,
            wrapped,
        })
    }

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretKey, KeyError> {
        let root = self.find(key_id).ok_or(KeyError::Rejected)?;
        let (nonce, ct) = wrapped
            .split_first_chunk::<{ aead::NONCE_LEN }>()
            .ok_or(KeyError::Rejected)?;
        let plain = aead::decrypt(root.expose(), nonce, &aad(key_id, context), ct)
            .ok_or(KeyError::Rejected)?;
        SecretKey::from_slice(&plain).ok_or(KeyError::Rejected)
    }

    async fn mac(&self, purpose: MacPurpose, data: &[u8]) -> Result<[u8; 32], KeyError> {
        let message = mac_message(purpose, data).ok_or(KeyError::TooLong)?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.mac_key.expose())
            .map_err(|_| KeyError::Failed("the MAC key is unusable".into()))?;
        mac.update(&message);
        Ok(mac.finalize().into_bytes().into())
    }
}

/// For tests of what the MAC key protects: an envelope over a key service holding the same
/// root keys as the one in `dir` (every seal opens) but a MAC key of its own (the pepper
/// and fingerprints differ), as someone holding every data key but not the MAC would.
#[cfg(test)]
pub(crate) fn same_root_keys_other_mac(
    dir: &Path,
) -> (tempfile::TempDir, crate::envelope::Envelope) {
    use crate::envelope::{CacheLimits, Envelope};
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join(ROOT_KEYS_FILE), other.path().join(ROOT_KEYS_FILE)).unwrap();
    let keys = LocalKeyService::open(other.path(), Arc::new(crate::random::OsRandom)).unwrap();
    let envelope = Envelope::new(
        Arc::new(keys),
        Arc::new(crate::clock::SystemClock),
        Arc::new(crate::random::OsRandom),
        CacheLimits::default(),
    );
    (other, envelope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn the_root_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap();
        let mode = fs::metadata(dir.path().join(ROOT_KEYS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap();
        assert_eq!(a.current().unwrap().1, b.current().unwrap().1);
    }

    #[tokio::test]
    async fn the_mac_key_file_is_private_reused_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let a = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap();
        let path = dir.path().join(MAC_KEY_FILE);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read(&path).unwrap().len(), 32);
        // No temporary file is left beside it
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        let b = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap();
        let mac = a.mac(MacPurpose::Test, b"x").await.unwrap();
        assert_eq!(mac, b.mac(MacPurpose::Test, b"x").await.unwrap());
        let shown = format!("{a:?}");
        let key: String = fs::read(&path)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            !shown.contains(&key) && !shown.contains("mac_key"),
            "{shown}"
        );
        // A shared MAC key is refused too
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap_err();
        assert!(
            err.to_string().contains(MAC_KEY_FILE) && err.to_string().contains("chmod 600"),
            "{err}"
        );
    }

    #[test]
    fn a_world_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap();
        let path = dir.path().join(ROOT_KEYS_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[tokio::test]
    async fn rotation_keeps_old_keys_readable() {
        let dir = tempfile::tempdir().unwrap();
        let keys = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap();
        let ctx = EncryptionContext::new().with("purpose", "test");
        let old = keys.generate_data_key(&ctx).await.unwrap();
        assert_eq!(keys.rotate().unwrap(), "local-2");
        let new = keys.generate_data_key(&ctx).await.unwrap();
        assert_eq!(new.key_id, "local-2");
        let reopened = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap();
        let back = reopened
            .decrypt_data_key(&old.key_id, &old.wrapped, &ctx)
            .await
            .unwrap();
        assert_eq!(back, old.plaintext);
    }
}
