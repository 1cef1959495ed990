//! What the fuzz targets share: the round-trip property every wire type must keep, and the
//! fixed keys the receipt checks sign and verify with.

use std::fmt::Debug;

use fieldkit_domain::signing::{DevicePublicKey, SoftwareKey};
use p256::ecdsa::SigningKey;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Asserts that `value`, decoded from untrusted bytes, encodes to JSON that decodes back to
/// an equal value, and that this second encoding is byte for byte the first: what a server
/// stores or forwards after decoding reads back as the same thing on the other side.
pub fn assert_round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = serde_json::to_vec(value).expect("a decoded value encodes");
    let again: T = match serde_json::from_slice(&json) {
        Ok(again) => again,
        Err(e) => panic!("the re-encoded value does not decode: {e}\n{}", String::from_utf8_lossy(&json)),
    };
    assert_eq!(&again, value, "decode(encode(x)) differs from x");
    let json_again = serde_json::to_vec(&again).expect("a decoded value encodes");
    assert_eq!(
        String::from_utf8_lossy(&json),
        String::from_utf8_lossy(&json_again),
        "encode(decode(encode(x))) differs from encode(x)"
    );
}

/// The software (Ed25519) key the targets sign with: fixed, so runs are reproducible.
#[must_use]
pub fn software_key() -> SoftwareKey {
    SoftwareKey::from_seed(&[7; 32])
}

/// A fixed hardware-style P-256 public key (SEC1, uncompressed), for the ECDSA path of the
/// verifier.
#[must_use]
pub fn p256_key() -> DevicePublicKey {
    let signing = SigningKey::from_slice(&[9; 32]).expect("a fixed valid scalar");
    let point = signing.verifying_key().to_sec1_point(false);
    DevicePublicKey::p256_sec1(point.as_bytes()).expect("a key p256 made is valid")
}

/// A P-256 signer as the app's hardware key would be (ECDSA over SHA-256, DER signatures),
/// from fixed bytes.
pub struct P256Signer(SigningKey);

impl P256Signer {
    /// The fixed key of [`p256_key`].
    #[must_use]
    pub fn fixed() -> Self {
        Self(SigningKey::from_slice(&[9; 32]).expect("a fixed valid scalar"))
    }
}

impl fieldkit_domain::signing::ReceiptSigner for P256Signer {
    fn public_key(&self) -> DevicePublicKey {
        p256_key()
    }

    fn sign_message(
        &self,
        message: &[u8],
    ) -> Result<fieldkit_domain::signing::ReceiptSignature, fieldkit_domain::signing::SigningError> {
        use p256::ecdsa::signature::Signer as _;
        let signature: p256::ecdsa::Signature = self.0.sign(message);
        Ok(fieldkit_domain::signing::ReceiptSignature {
            algorithm: fieldkit_domain::signing::SignatureAlgorithm::EcdsaP256Sha256,
            bytes: signature.to_der().as_bytes().to_vec(),
        })
    }
}
