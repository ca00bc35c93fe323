//! The embedded key service: root keys in a file of the data directory (mode 0600, made
//! on first run). The last key in the file wraps new data keys; older ones still unwrap,
//! so rotation is appending a key.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{DataKey, EncryptionContext, KeyError, KeyService, SecretKey};
use crate::aead;
use crate::random::{Random, RandomExt};

pub const ROOT_KEYS_FILE: &str = "root-keys";
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
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut file) => {
                let line = format!("local-1:{}\n", STANDARD.encode(random.array::<32>()));
                file.write_all(line.as_bytes())
                    .and_then(|_| file.sync_all())
                    .map_err(|e| err(e.to_string()))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err(e.to_string())),
        }
        let mode = fs::metadata(&path)
            .map_err(|e| err(e.to_string()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(err(format!(
                "is readable by others (mode {:o}); run chmod 600 on it",
                mode & 0o777
            )));
        }
        let keys =
            parse(&fs::read_to_string(&path).map_err(|e| err(e.to_string()))?).map_err(err)?;
        Ok(Self {
            path,
            keys: RwLock::new(keys),
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
            .map_err(|e| KeyError::Unavailable(e.to_string()))?;
        keys.last()
            .cloned()
            .ok_or_else(|| KeyError::Unavailable("no root key".into()))
    }
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
