//! The server's own Ed25519 key, which countersigns every photo receipt it verifies.
//!
//! A countersignature is the server's signature of [`countersigned_message`]: the receipt's
//! hash (32 bytes) followed by the time the server received the photo fact (Unix
//! milliseconds, 8 bytes big-endian). It proves that this server held the receipt, verified,
//! at that time; anyone can check it with the public key served at `GET /v1/server-key`.
//!
//! The secret is 32 random bytes in `server-signing.key` in the data folder, created on
//! first start (owner read/write only) and loaded at every start after, so countersignatures
//! stay checkable across restarts. Losing the file loses nothing already countersigned: the
//! old public key still checks the old countersignatures.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::Signer as _;
use fieldkit_domain::signing::Sha256Hash;

/// The file holding the key's secret, inside the data folder.
pub const FILE_NAME: &str = "server-signing.key";

/// What can go wrong loading or creating the key.
#[derive(Debug, thiserror::Error)]
pub enum ServerKeyError {
    /// The file could not be read or written.
    #[error("cannot use server key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not hold a 32-byte secret.
    #[error("server key file {path} holds {len} bytes, not the 32 of an ed25519 secret")]
    BadLength {
        /// The file.
        path: PathBuf,
        /// How many bytes it holds.
        len: usize,
    },
    /// The operating system gave no random bytes.
    #[error("no randomness for a new server key: {0}")]
    NoRandomness(String),
}

/// The server's countersigning key.
pub struct ServerKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerKey({})", self.public_key_hex())
    }
}

/// What the server signs for a verified receipt: its hash, then `received_ms` as 8 bytes
/// big-endian.
#[must_use]
pub fn countersigned_message(receipt_hash: &Sha256Hash, received_ms: i64) -> [u8; 40] {
    let mut message = [0u8; 40];
    message[..32].copy_from_slice(&receipt_hash.0);
    message[32..].copy_from_slice(&received_ms.to_be_bytes());
    message
}

impl ServerKey {
    /// A new random key, kept nowhere (for a server without a data folder, and tests).
    pub fn generate() -> Result<Self, ServerKeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| ServerKeyError::NoRandomness(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }

    /// The key whose secret is `seed`.
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// Loads the key from `path`, or creates it there (32 random bytes, mode 0600) if the
    /// file does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, ServerKeyError> {
        let io = |source| ServerKeyError::Io { path: path.to_owned(), source };
        match std::fs::read(path) {
            Ok(bytes) => return Self::from_file_bytes(path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| ServerKeyError::NoRandomness(e.to_string()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(&seed).and_then(|()| file.sync_all()).map_err(io)?;
                tracing::info!(path = %path.display(), "created the server's countersigning key");
                Ok(Self::from_seed(&seed))
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let bytes = std::fs::read(path).map_err(io)?;
                Self::from_file_bytes(path, &bytes)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, ServerKeyError> {
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ServerKeyError::BadLength { path: path.to_owned(), len: bytes.len() })?;
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "server key file is readable by others; chmod 600 it");
            }
        }
        Ok(Self::from_seed(&seed))
    }

    /// The public key's 32 bytes.
    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// The public key as 64 lower-case hex digits.
    #[must_use]
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key())
    }

    /// The server's signature of [`countersigned_message`] for this receipt and time.
    #[must_use]
    pub fn countersign(&self, receipt_hash: &Sha256Hash, received_ms: i64) -> [u8; 64] {
        self.0.sign(&countersigned_message(receipt_hash, received_ms)).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_private_to_its_owner_and_loaded_the_same_after() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(FILE_NAME);
        let first = ServerKey::load_or_create(&path)?;
        assert_eq!(std::fs::read(&path)?.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        }
        let again = ServerKey::load_or_create(&path)?;
        assert_eq!(first.public_key(), again.public_key());
        Ok(())
    }

    #[test]
    fn a_key_file_of_the_wrong_length_is_refused_and_named() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, b"short")?;
        let err = ServerKey::load_or_create(&path).expect_err("refused");
        assert!(err.to_string().contains("holds 5 bytes"), "{err}");
        Ok(())
    }

    #[test]
    fn a_countersignature_checks_with_the_public_key_and_only_for_its_time() -> anyhow::Result<()> {
        let key = ServerKey::from_seed(&[9; 32]);
        let hash = Sha256Hash::of(b"receipt");
        let signature = ed25519_dalek::Signature::from_bytes(&key.countersign(&hash, 1_700_000_000_000));
        let public = ed25519_dalek::VerifyingKey::from_bytes(&key.public_key())?;
        assert!(public.verify_strict(&countersigned_message(&hash, 1_700_000_000_000), &signature).is_ok());
        assert!(public.verify_strict(&countersigned_message(&hash, 1_700_000_000_001), &signature).is_err());
        Ok(())
    }
}
