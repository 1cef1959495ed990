//! The device's photo-signing key. By default a software Ed25519 key, drawn from the OS's
//! random source on first use and kept in the engine's database; an app with a hardware key
//! (Android Keystore, Secure Enclave: ECDSA P-256) supplies its own [`ReceiptSigner`]
//! instead, and the database then holds no secret.

use std::sync::Arc;

use fieldkit_domain::signing::{ReceiptSigner, SoftwareKey};

use crate::error::{Error, Result};
use crate::store::{Store, meta};

/// A signer the engine can share between threads.
pub type SharedSigner = Arc<dyn ReceiptSigner + Send + Sync>;

/// The software key stored in `store`, made and stored now if there is none.
pub(crate) fn software_key(store: &Store) -> Result<SoftwareKey> {
    store.write(|tx| {
        if let Some(hex_seed) = meta::get(tx, meta::DEVICE_KEY)? {
            let seed: [u8; 32] = hex::decode(&hex_seed)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| Error::Corrupt { what: "device key", detail: "not 32 hex bytes".into() })?;
            return Ok(SoftwareKey::from_seed(&seed));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| Error::Corrupt { what: "device key", detail: format!("no randomness: {e}") })?;
        meta::set(tx, meta::DEVICE_KEY, &hex::encode(seed))?;
        let key = SoftwareKey::from_seed(&seed);
        tracing::info!(key = %key.public_key().key_id(), "device signing key created");
        Ok(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_software_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        let first = software_key(&Store::open(&path).expect("opens")).expect("made").public_key();
        let again = software_key(&Store::open(&path).expect("reopens")).expect("loaded").public_key();
        assert_eq!(first, again);
        let other = tempfile::tempdir().expect("temp dir");
        let elsewhere =
            software_key(&Store::open(&other.path().join("fieldkit.db")).expect("opens")).expect("made");
        assert_ne!(first, elsewhere.public_key(), "each installation draws its own key");
    }
}
