//! The app's hardware photo signer (a foreign trait): Android Keystore or the iOS Secure
//! Enclave holds the key, FieldKit asks it to sign each photo's receipt. Its public key is
//! read once, when the engine opens, and registered with the server at the next login.

use std::sync::Arc;

use fieldkit_domain::signing::{DevicePublicKey, ReceiptSignature, ReceiptSigner, SigningError};

use crate::error::FieldKitError;

/// The signature scheme of the app's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SignerAlgorithm {
    /// ECDSA over P-256 with SHA-256 (`SHA256withECDSA`), signatures in ASN.1 DER: what
    /// Android Keystore and the Secure Enclave produce.
    EcdsaP256Sha256,
    /// Ed25519, signatures of 64 bytes.
    Ed25519,
}

/// The app's public key.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignerKey {
    /// The scheme.
    pub algorithm: SignerAlgorithm,
    /// The key: for P-256 the X.509 SubjectPublicKeyInfo DER (Java's `PublicKey.encoded`,
    /// `SecKeyCopyExternalRepresentation` wrapped) or the 65-byte uncompressed point; for
    /// Ed25519 the 32 bytes.
    pub public_key: Vec<u8>,
}

/// A signer whose key the app holds. Called on FieldKit's threads while a photo is taken.
#[uniffi::export(with_foreign)]
pub trait PhotoSigner: Send + Sync {
    /// The public key (read once, when the engine opens).
    fn public_key(&self) -> Result<SignerKey, FieldKitError>;
    /// Signs `message` (a receipt's canonical bytes) with the private key: for P-256, the
    /// DER signature of SHA-256 of `message`.
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, FieldKitError>;
}

/// The app's signer as the engine's `ReceiptSigner`.
pub(crate) struct ForeignSigner {
    app: Arc<dyn PhotoSigner>,
    key: DevicePublicKey,
}

impl ForeignSigner {
    /// Reads and checks the app's public key. Fails with `InvalidInput` (`signer`) for a key
    /// that is not one of the scheme, or with what the app threw.
    pub(crate) fn new(app: Arc<dyn PhotoSigner>) -> Result<Self, FieldKitError> {
        let key = app.public_key()?;
        let parsed = match key.algorithm {
            SignerAlgorithm::Ed25519 => DevicePublicKey::ed25519(&key.public_key),
            SignerAlgorithm::EcdsaP256Sha256 if key.public_key.len() == 65 => {
                DevicePublicKey::p256_sec1(&key.public_key)
            }
            SignerAlgorithm::EcdsaP256Sha256 => DevicePublicKey::p256_spki_der(&key.public_key),
        }
        .map_err(|e| FieldKitError::invalid("signer", e.to_string()))?;
        Ok(Self { app, key: parsed })
    }
}

impl ReceiptSigner for ForeignSigner {
    fn public_key(&self) -> DevicePublicKey {
        self.key.clone()
    }

    fn sign_message(&self, message: &[u8]) -> Result<ReceiptSignature, SigningError> {
        let app = Arc::clone(&self.app);
        let message = message.to_vec();
        let signed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || app.sign(message)));
        match signed {
            Ok(Ok(bytes)) => Ok(ReceiptSignature { algorithm: self.key.algorithm(), bytes }),
            Ok(Err(e)) => Err(SigningError::Signer(e.to_string())),
            Err(_) => Err(SigningError::Signer("the app's signer panicked".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signer whose key and signatures are whatever the test says.
    struct Fake {
        key: SignerKey,
        fail: bool,
    }

    impl PhotoSigner for Fake {
        fn public_key(&self) -> Result<SignerKey, FieldKitError> {
            Ok(self.key.clone())
        }

        fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, FieldKitError> {
            if self.fail {
                return Err(FieldKitError::Internal { detail: "keystore locked".into() });
            }
            Ok(message.into_iter().rev().collect())
        }
    }

    /// The Ed25519 public key of a fixed software key.
    fn ed25519_key() -> SignerKey {
        let key = fieldkit_domain::signing::SoftwareKey::from_seed(&[7; 32]);
        SignerKey { algorithm: SignerAlgorithm::Ed25519, public_key: key.public_key().as_bytes().to_vec() }
    }

    #[test]
    fn a_key_that_is_not_one_of_its_scheme_is_invalid_input_naming_the_signer() {
        let bad = Fake {
            key: SignerKey { algorithm: SignerAlgorithm::Ed25519, public_key: vec![1, 2, 3] },
            fail: false,
        };
        let err = ForeignSigner::new(Arc::new(bad)).err().expect("refused");
        assert!(matches!(err, FieldKitError::InvalidInput { ref field, .. } if field == "signer"), "{err:?}");
    }

    #[test]
    fn the_apps_signature_is_passed_through_and_its_failure_becomes_a_signer_error() {
        let good = ForeignSigner::new(Arc::new(Fake { key: ed25519_key(), fail: false })).expect("valid key");
        let signature = good.sign_message(&[1, 2, 3]).expect("signs");
        assert_eq!(
            (signature.algorithm, signature.bytes),
            (fieldkit_domain::signing::SignatureAlgorithm::Ed25519, vec![3, 2, 1])
        );
        let failing =
            ForeignSigner::new(Arc::new(Fake { key: ed25519_key(), fail: true })).expect("valid key");
        assert!(
            matches!(failing.sign_message(&[1]), Err(SigningError::Signer(ref m)) if m.contains("keystore locked"))
        );
    }
}
