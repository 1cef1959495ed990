//! Photo receipts: what a phone signs for each photo, the receipt's canonical bytes, the
//! device keys that sign them and the checks a verifier (the server) runs.
//!
//! A [`PhotoReceipt`] binds the SHA-256 of the final JPEG to the capture's metadata (ids,
//! WGS-84 fix with accuracy and mock flag, device / HLC / server-estimated times, the
//! monotonic clock) and to the hash of the same device's previous receipt, so that each
//! device's receipts form a chain: a receipt cannot be dropped, reordered or replayed
//! without the server noticing. The device signs the receipt's [canonical
//! bytes](PhotoReceipt::canonical_bytes) with its key: a software Ed25519 key
//! ([`SoftwareKey`], the portable default) or a hardware ECDSA P-256 key (Android
//! Keystore, Secure Enclave) behind the [`ReceiptSigner`] trait. [`verify`] returns a typed
//! [`VerifyFailure`] for each way a receipt can be wrong.
//!
//! # Canonical bytes, version 1
//!
//! JSON is how a receipt travels; what is signed is a fixed binary layout, so that two
//! encoders can never disagree on field order, number formatting or escaping. Integers are
//! big-endian; `f64` values are their IEEE-754 bits, big-endian (JSON carries them in the
//! shortest form that round-trips exactly, so a receipt read back from JSON has the same
//! bytes); an optional value is one byte `0` (absent) or `1` followed by the value; text is a
//! `u32` byte length followed by its UTF-8 bytes. In this order:
//!
//! | # | field | encoding |
//! |---|---|---|
//! | 0 | magic | the 4 bytes `FKPR` |
//! | 1 | `version` | `u16` (`1`) |
//! | 2 | `fact_id` | 16 bytes (UUID) |
//! | 3 | `visit_id` | optional 16 bytes |
//! | 4 | `rep_id` | 16 bytes |
//! | 5 | `device_id` | 16 bytes |
//! | 6 | `key_id` | 16 bytes |
//! | 7 | `sha256` | 32 bytes |
//! | 8 | `size_bytes` | `u64` |
//! | 9 | `width`, `height` | `u32`, `u32` |
//! | 10 | `dhash` | `u64` |
//! | 11 | `verification_code` | text |
//! | 12 | `fix` | optional: `lat` `f64`, `lng` `f64`, `accuracy_m` `f64`, `fix_time_ms` `i64`, provider `u8` (other 0, gnss 1, network 2, fused 3), `is_mock` `u8` (0 or 1) |
//! | 13 | `at.device_ms` | `i64` |
//! | 14 | `at.hlc` | `wall_ms` `u64`, `counter` `u32`, `node` `u64` |
//! | 15 | `at.server_estimate_ms` | optional `i64` |
//! | 16 | `monotonic_ms` | `u64` |
//! | 17 | `previous` | optional 32 bytes |
//!
//! The receipt's own hash ([`PhotoReceipt::receipt_hash`], the link the next receipt names
//! in `previous`) is the SHA-256 of these bytes. A new field means a new version.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::DecodePublicKey as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::clock::EventTime;
use crate::ids::{DeviceId, FactId, UserId, VisitId};
use crate::model::{LocationFix, LocationProvider};

/// The receipt layout this build writes and the only one it verifies.
pub const RECEIPT_VERSION: u16 = 1;

/// The first bytes of every receipt's canonical bytes (domain separation: these bytes can
/// never be mistaken for another message the same key signs).
pub const CANONICAL_MAGIC: [u8; 4] = *b"FKPR";

/// Two perceptual hashes this many bits apart or fewer are the same picture (resized,
/// re-encoded or restamped); unrelated photos are typically 20 or more bits apart.
pub const NEAR_DUPLICATE_MAX_DISTANCE: u32 = 10;

/// The longest verification code a receipt may carry, in bytes.
pub const MAX_VERIFICATION_CODE_LEN: usize = 32;

/// A SHA-256 digest; in JSON, 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hash(pub [u8; 32]);

impl Sha256Hash {
    /// The SHA-256 of `bytes`.
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The digest as 64 lower-case hex digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Hash({})", self.to_hex())
    }
}

impl FromStr for Sha256Hash {
    type Err = SigningError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        hex_decode::<32>(s).map(Self).ok_or(SigningError::BadHex { field: "sha256", len: s.len() })
    }
}

impl Serialize for Sha256Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A 64-bit perceptual hash (dHash) of a photo's picture; in JSON, 16 lower-case hex digits
/// (a JSON number would lose bits in a JavaScript dashboard).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PerceptualHash(pub u64);

impl PerceptualHash {
    /// How many of the 64 bits differ (the Hamming distance): small for the same picture.
    #[must_use]
    pub fn distance(self, other: Self) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    /// Whether `other` is the same picture as far as reuse detection is concerned (at most
    /// [`NEAR_DUPLICATE_MAX_DISTANCE`] bits apart).
    #[must_use]
    pub fn is_near_duplicate(self, other: Self) -> bool {
        self.distance(other) <= NEAR_DUPLICATE_MAX_DISTANCE
    }
}

impl fmt::Display for PerceptualHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for PerceptualHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PerceptualHash({:016x})", self.0)
    }
}

impl Serialize for PerceptualHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PerceptualHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex_decode::<8>(&text)
            .map(|b| Self(u64::from_be_bytes(b)))
            .ok_or_else(|| serde::de::Error::custom(SigningError::BadHex { field: "dhash", len: text.len() }))
    }
}

/// The first 16 bytes of the SHA-256 of a public key's algorithm tag and normalised bytes:
/// names the key that signed a receipt; in JSON, 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 16]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex_encode(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex_decode::<16>(&text).map(Self).ok_or_else(|| {
            serde::de::Error::custom(SigningError::BadHex { field: "key_id", len: text.len() })
        })
    }
}

/// The signature scheme of a device key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032): the software key every phone can have.
    Ed25519,
    /// ECDSA over P-256 with SHA-256 of the message (`SHA256withECDSA`), signatures in ASN.1
    /// DER: what Android Keystore and the iOS Secure Enclave produce.
    EcdsaP256Sha256,
}

impl SignatureAlgorithm {
    fn tag(self) -> u8 {
        match self {
            Self::Ed25519 => 1,
            Self::EcdsaP256Sha256 => 2,
        }
    }
}

/// A device's public key, validated and normalised (Ed25519: 32 bytes; P-256: the 65-byte
/// uncompressed SEC1 point, whichever encoding it came in), so that one key has one
/// [`KeyId`]. In JSON: `{"algorithm": "...", "key": "<base64>"}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPublicKey", into = "RawPublicKey")]
pub struct DevicePublicKey {
    algorithm: SignatureAlgorithm,
    bytes: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct RawPublicKey {
    algorithm: SignatureAlgorithm,
    #[serde(with = "crate::protocol::bytes")]
    key: Vec<u8>,
}

impl TryFrom<RawPublicKey> for DevicePublicKey {
    type Error = SigningError;
    fn try_from(raw: RawPublicKey) -> Result<Self, Self::Error> {
        match raw.algorithm {
            SignatureAlgorithm::Ed25519 => Self::ed25519(&raw.key),
            SignatureAlgorithm::EcdsaP256Sha256 => Self::p256_sec1(&raw.key),
        }
    }
}

impl From<DevicePublicKey> for RawPublicKey {
    fn from(key: DevicePublicKey) -> Self {
        Self { algorithm: key.algorithm, key: key.bytes }
    }
}

impl DevicePublicKey {
    /// An Ed25519 public key from its 32 bytes; refuses bytes that are not a curve point.
    pub fn ed25519(bytes: &[u8]) -> Result<Self, SigningError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| SigningError::BadPublicKey {
            algorithm: SignatureAlgorithm::Ed25519,
            len: bytes.len(),
        })?;
        ed25519_dalek::VerifyingKey::from_bytes(&array)
            .map_err(|_| SigningError::BadPublicKey { algorithm: SignatureAlgorithm::Ed25519, len: 32 })?;
        Ok(Self { algorithm: SignatureAlgorithm::Ed25519, bytes: array.to_vec() })
    }

    /// A P-256 public key from a SEC1 point, compressed (33 bytes) or not (65 bytes: what
    /// the iOS `SecKeyCopyExternalRepresentation` gives); refuses points off the curve.
    pub fn p256_sec1(bytes: &[u8]) -> Result<Self, SigningError> {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(|_| {
            SigningError::BadPublicKey { algorithm: SignatureAlgorithm::EcdsaP256Sha256, len: bytes.len() }
        })?;
        Ok(Self::from_p256(&key))
    }

    /// A P-256 public key from an X.509 `SubjectPublicKeyInfo` in DER (what Android's
    /// `PublicKey.getEncoded()` gives).
    pub fn p256_spki_der(der: &[u8]) -> Result<Self, SigningError> {
        let key = p256::ecdsa::VerifyingKey::from_public_key_der(der).map_err(|_| {
            SigningError::BadPublicKey { algorithm: SignatureAlgorithm::EcdsaP256Sha256, len: der.len() }
        })?;
        Ok(Self::from_p256(&key))
    }

    fn from_p256(key: &p256::ecdsa::VerifyingKey) -> Self {
        Self {
            algorithm: SignatureAlgorithm::EcdsaP256Sha256,
            bytes: key.to_sec1_point(false).as_bytes().to_vec(),
        }
    }

    /// The key's signature scheme.
    #[must_use]
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The normalised key bytes (Ed25519: 32 bytes; P-256: 65-byte uncompressed SEC1).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The key's id: the first 16 bytes of SHA-256(algorithm tag ‖ normalised bytes).
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        let mut hasher = Sha256::new();
        hasher.update([self.algorithm.tag()]);
        hasher.update(&self.bytes);
        let digest: [u8; 32] = hasher.finalize().into();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        KeyId(id)
    }

    /// Whether `signature` is this key's signature of `message`.
    #[must_use]
    pub fn verifies(&self, message: &[u8], signature: &ReceiptSignature) -> bool {
        if signature.algorithm != self.algorithm {
            return false;
        }
        match self.algorithm {
            SignatureAlgorithm::Ed25519 => {
                let Ok(key_bytes) = <[u8; 32]>::try_from(self.bytes.as_slice()) else { return false };
                let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes) else { return false };
                let Ok(sig) = ed25519_dalek::Signature::from_slice(&signature.bytes) else { return false };
                key.verify_strict(message, &sig).is_ok()
            }
            SignatureAlgorithm::EcdsaP256Sha256 => {
                let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(&self.bytes) else { return false };
                let Ok(sig) = p256::ecdsa::Signature::from_der(&signature.bytes) else { return false };
                // Keystore and Secure Enclave do not normalise s; (r, s) and (r, n - s) are
                // equally valid, so accept both.
                let sig = sig.normalize_s();
                key.verify(message, &sig).is_ok()
            }
        }
    }
}

impl fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevicePublicKey({:?}, {})", self.algorithm, self.key_id())
    }
}

/// A device's signature of a receipt's canonical bytes. In JSON:
/// `{"algorithm": "...", "signature": "<base64>"}` (Ed25519: 64 bytes; ECDSA: ASN.1 DER).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptSignature {
    /// The scheme that made it.
    pub algorithm: SignatureAlgorithm,
    /// The signature bytes.
    #[serde(rename = "signature", with = "crate::protocol::bytes")]
    pub bytes: Vec<u8>,
}

/// What a phone signs for each photo it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoReceipt {
    /// The receipt layout, [`RECEIPT_VERSION`].
    pub version: u16,
    /// The photo's fact id.
    pub fact_id: FactId,
    /// The visit the photo belongs to.
    pub visit_id: Option<VisitId>,
    /// The rep who took it.
    pub rep_id: UserId,
    /// The installation that took and signed it.
    pub device_id: DeviceId,
    /// The key that signs this receipt.
    pub key_id: KeyId,
    /// SHA-256 of the final JPEG bytes.
    pub sha256: Sha256Hash,
    /// Size of the final JPEG in bytes.
    pub size_bytes: u64,
    /// Width of the final picture in pixels.
    pub width: u32,
    /// Height of the final picture in pixels.
    pub height: u32,
    /// Perceptual hash of the picture (above the watermark panel), for reuse detection.
    pub dhash: PerceptualHash,
    /// The short code printed on the photo (see [`verification_code`]).
    pub verification_code: String,
    /// Where the phone was, if it had a fix (with accuracy and the OS's mock flag).
    pub fix: Option<LocationFix>,
    /// When: device clock, HLC stamp and server-time estimate.
    pub at: EventTime,
    /// The device's monotonic clock at capture, milliseconds since boot: it moves on even
    /// when the user changes the wall clock.
    pub monotonic_ms: u64,
    /// [`PhotoReceipt::receipt_hash`] of this device's previous receipt; `None` for the first
    /// receipt made with this key.
    pub previous: Option<Sha256Hash>,
}

impl PhotoReceipt {
    /// The receipt's canonical bytes: what the device signs (layout in the module docs).
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&CANONICAL_MAGIC);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(self.fact_id.0.as_bytes());
        put_option(&mut out, self.visit_id.as_ref(), |out, v| out.extend_from_slice(v.0.as_bytes()));
        out.extend_from_slice(self.rep_id.0.as_bytes());
        out.extend_from_slice(self.device_id.0.as_bytes());
        out.extend_from_slice(&self.key_id.0);
        out.extend_from_slice(&self.sha256.0);
        out.extend_from_slice(&self.size_bytes.to_be_bytes());
        out.extend_from_slice(&self.width.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.dhash.0.to_be_bytes());
        put_text(&mut out, &self.verification_code);
        put_option(&mut out, self.fix.as_ref(), |out, fix| {
            out.extend_from_slice(&fix.point.lat().to_bits().to_be_bytes());
            out.extend_from_slice(&fix.point.lng().to_bits().to_be_bytes());
            out.extend_from_slice(&fix.accuracy_m.to_bits().to_be_bytes());
            out.extend_from_slice(&fix.fix_time_ms.to_be_bytes());
            out.push(provider_tag(fix.provider));
            out.push(u8::from(fix.is_mock));
        });
        out.extend_from_slice(&self.at.device_ms.to_be_bytes());
        out.extend_from_slice(&self.at.hlc.wall_ms.to_be_bytes());
        out.extend_from_slice(&self.at.hlc.counter.to_be_bytes());
        out.extend_from_slice(&self.at.hlc.node.to_be_bytes());
        put_option(&mut out, self.at.server_estimate_ms.as_ref(), |out, ms| {
            out.extend_from_slice(&ms.to_be_bytes());
        });
        out.extend_from_slice(&self.monotonic_ms.to_be_bytes());
        put_option(&mut out, self.previous.as_ref(), |out, h| out.extend_from_slice(&h.0));
        out
    }

    /// SHA-256 of the canonical bytes: the link the device's next receipt names in
    /// `previous`, and the key a verifier remembers to spot replays.
    #[must_use]
    pub fn receipt_hash(&self) -> Sha256Hash {
        Sha256Hash::of(&self.canonical_bytes())
    }

    /// Checks what a receipt must satisfy before it is signed: the current version, a
    /// finite non-negative accuracy and a short ASCII verification code.
    pub fn validate(&self) -> Result<(), SigningError> {
        if self.version != RECEIPT_VERSION {
            return Err(SigningError::UnsupportedVersion(self.version));
        }
        if let Some(fix) = &self.fix
            && !(fix.accuracy_m.is_finite() && fix.accuracy_m >= 0.0)
        {
            return Err(SigningError::BadAccuracy(fix.accuracy_m));
        }
        let code = &self.verification_code;
        if code.is_empty() || code.len() > MAX_VERIFICATION_CODE_LEN || !code.is_ascii() {
            return Err(SigningError::BadVerificationCode { len: code.len() });
        }
        Ok(())
    }
}

fn put_option<T>(out: &mut Vec<u8>, value: Option<&T>, put: impl FnOnce(&mut Vec<u8>, &T)) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put(out, v);
        }
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    // Lengths above u32::MAX cannot occur: validate() caps the only text field at 32 bytes.
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn provider_tag(provider: LocationProvider) -> u8 {
    match provider {
        LocationProvider::Other => 0,
        LocationProvider::Gnss => 1,
        LocationProvider::Network => 2,
        LocationProvider::Fused => 3,
    }
}

/// A receipt with its signature: what the phone uploads at once (the JPEG follows as a blob
/// when it can).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedReceipt {
    /// The receipt.
    pub receipt: PhotoReceipt,
    /// The device's signature of its canonical bytes.
    pub signature: ReceiptSignature,
}

/// Something that signs with a device key: the software [`SoftwareKey`], or the app's
/// hardware key (Android Keystore, Secure Enclave: ECDSA P-256, DER signatures of
/// SHA-256 of the message).
pub trait ReceiptSigner {
    /// The public key, as registered with the server at login.
    fn public_key(&self) -> DevicePublicKey;

    /// Signs `message` (the receipt's canonical bytes).
    fn sign_message(&self, message: &[u8]) -> Result<ReceiptSignature, SigningError>;
}

/// Signs `receipt` with `signer` after checking it ([`PhotoReceipt::validate`]) and that it
/// names the signer's key.
pub fn sign_receipt(
    receipt: &PhotoReceipt,
    signer: &dyn ReceiptSigner,
) -> Result<ReceiptSignature, SigningError> {
    receipt.validate()?;
    let key_id = signer.public_key().key_id();
    if receipt.key_id != key_id {
        return Err(SigningError::KeyIdMismatch { receipt: receipt.key_id, signer: key_id });
    }
    signer.sign_message(&receipt.canonical_bytes())
}

/// A software Ed25519 device key, made from 32 secret bytes the caller supplies (the engine
/// draws them from the OS's random source on first use and keeps them in its database).
#[derive(Clone)]
pub struct SoftwareKey(ed25519_dalek::SigningKey);

impl SoftwareKey {
    /// The key whose secret is `seed` (32 bytes from a cryptographic random source).
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The 32 secret bytes, to store the key.
    #[must_use]
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SoftwareKey({})", self.public_key().key_id())
    }
}

impl ReceiptSigner for SoftwareKey {
    fn public_key(&self) -> DevicePublicKey {
        DevicePublicKey {
            algorithm: SignatureAlgorithm::Ed25519,
            bytes: self.0.verifying_key().to_bytes().to_vec(),
        }
    }

    fn sign_message(&self, message: &[u8]) -> Result<ReceiptSignature, SigningError> {
        Ok(ReceiptSignature {
            algorithm: SignatureAlgorithm::Ed25519,
            bytes: self.0.sign(message).to_bytes().to_vec(),
        })
    }
}

/// A receipt that passed [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The receipt's hash: the device's new chain head, and what to remember as seen.
    pub receipt_hash: Sha256Hash,
    /// The key that signed it.
    pub key_id: KeyId,
}

/// Why a receipt or a photo failed verification. Messages name hashes and ids of keys,
/// never personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyFailure {
    /// The receipt is in a layout this build does not know.
    #[error("receipt version {0} is not supported (expected {RECEIPT_VERSION})")]
    UnsupportedVersion(u16),
    /// The server has no key registered for the receipt's device.
    #[error("no key is registered for the receipt's device")]
    UnknownDeviceKey,
    /// The receipt names a key other than the device's registered one (made on another
    /// device, or with a key the device no longer has).
    #[error("receipt names key {receipt}, the device's registered key is {registered}")]
    OtherDeviceKey {
        /// The key the receipt names.
        receipt: KeyId,
        /// The key registered for the device.
        registered: KeyId,
    },
    /// The signature does not match the receipt's canonical bytes and the device's key:
    /// a field was changed after signing, or the signature is damaged.
    #[error("the {algorithm:?} signature does not match the receipt and key {key}")]
    BadSignature {
        /// The signature's scheme.
        algorithm: SignatureAlgorithm,
        /// The key it was checked against.
        key: KeyId,
    },
    /// The photo bytes are not the ones the receipt was signed for.
    #[error(
        "photo bytes hash to {found} ({found_size} bytes), the receipt says {expected} ({expected_size} bytes)"
    )]
    BytesMismatch {
        /// SHA-256 in the receipt.
        expected: Sha256Hash,
        /// Size in the receipt.
        expected_size: u64,
        /// SHA-256 of the bytes given.
        found: Sha256Hash,
        /// Size of the bytes given.
        found_size: u64,
    },
    /// The same receipt was accepted before.
    #[error("receipt {0} was seen before")]
    Replayed(Sha256Hash),
    /// The receipt does not follow the device's last known receipt.
    #[error("receipt follows {}, the device's last known receipt is {}", opt_hash(found), opt_hash(expected))]
    BrokenChain {
        /// The device's last receipt known to the verifier.
        expected: Option<Sha256Hash>,
        /// The previous receipt the receipt names.
        found: Option<Sha256Hash>,
    },
}

fn opt_hash(hash: &Option<Sha256Hash>) -> String {
    hash.map_or_else(|| "none".to_owned(), |h| h.to_hex())
}

/// Verifies a receipt as the server does, in this order: version, the device's registered
/// key (`registered_key`: the key the server holds for `receipt.device_id`; `None` if it has
/// none), the key the receipt names, the signature, the photo bytes (when `photo` is given;
/// a receipt arrives before its photo, see [`verify_photo_bytes`]), replay (`seen` answers
/// whether a receipt hash was accepted before) and the chain (`chain_head`: the hash of the
/// device's last accepted receipt, `None` if none).
pub fn verify(
    receipt: &PhotoReceipt,
    signature: &ReceiptSignature,
    registered_key: Option<&DevicePublicKey>,
    photo: Option<&[u8]>,
    chain_head: Option<&Sha256Hash>,
    seen: impl Fn(&Sha256Hash) -> bool,
) -> Result<VerifiedReceipt, VerifyFailure> {
    if receipt.version != RECEIPT_VERSION {
        return Err(VerifyFailure::UnsupportedVersion(receipt.version));
    }
    let key = registered_key.ok_or(VerifyFailure::UnknownDeviceKey)?;
    let key_id = key.key_id();
    if receipt.key_id != key_id {
        return Err(VerifyFailure::OtherDeviceKey { receipt: receipt.key_id, registered: key_id });
    }
    let canonical = receipt.canonical_bytes();
    if !key.verifies(&canonical, signature) {
        return Err(VerifyFailure::BadSignature { algorithm: signature.algorithm, key: key_id });
    }
    if let Some(bytes) = photo {
        verify_photo_bytes(receipt, bytes)?;
    }
    let receipt_hash = Sha256Hash::of(&canonical);
    if seen(&receipt_hash) {
        return Err(VerifyFailure::Replayed(receipt_hash));
    }
    if receipt.previous.as_ref() != chain_head {
        return Err(VerifyFailure::BrokenChain { expected: chain_head.copied(), found: receipt.previous });
    }
    Ok(VerifiedReceipt { receipt_hash, key_id })
}

/// Checks that `photo` are the bytes `receipt` was signed for (size and SHA-256): for a photo
/// that arrives after its already verified receipt.
pub fn verify_photo_bytes(receipt: &PhotoReceipt, photo: &[u8]) -> Result<(), VerifyFailure> {
    let found = Sha256Hash::of(photo);
    let found_size = photo.len() as u64;
    if found != receipt.sha256 || found_size != receipt.size_bytes {
        return Err(VerifyFailure::BytesMismatch {
            expected: receipt.sha256,
            expected_size: receipt.size_bytes,
            found,
            found_size,
        });
    }
    Ok(())
}

/// The short code printed on a photo and kept in its receipt: the last 40 bits of the fact
/// id (random in a UUIDv7) in Crockford base32, as `XXXX-XXXX`. Anyone holding a print can
/// type it into the verification page; the server maps it back to the photo.
#[must_use]
pub fn verification_code(fact_id: FactId) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bytes = fact_id.0.as_bytes();
    let mut value = 0u64;
    for b in &bytes[11..16] {
        value = (value << 8) | u64::from(*b);
    }
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        let shift = 35 - 5 * i;
        code.push(char::from(ALPHABET[((value >> shift) & 31) as usize]));
    }
    code
}

/// What went wrong building, parsing or signing a receipt or key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SigningError {
    /// A hex field of the wrong length or with a non-hex digit.
    #[error("{field} is not lower-case hex of the right length (got {len} characters)")]
    BadHex {
        /// Which field.
        field: &'static str,
        /// How many characters it had.
        len: usize,
    },
    /// Public key bytes that are not a valid key of the scheme.
    #[error("not a valid {algorithm:?} public key ({len} bytes)")]
    BadPublicKey {
        /// The scheme.
        algorithm: SignatureAlgorithm,
        /// How many bytes were given.
        len: usize,
    },
    /// A receipt in a layout this build does not write.
    #[error("receipt version {0} is not supported (expected {RECEIPT_VERSION})")]
    UnsupportedVersion(u16),
    /// A fix accuracy that is negative or not finite.
    #[error("fix accuracy {0} must be a finite, non-negative number of metres")]
    BadAccuracy(f64),
    /// A verification code that is empty, too long or not ASCII.
    #[error("verification code must be 1..={MAX_VERIFICATION_CODE_LEN} ascii bytes, got {len}")]
    BadVerificationCode {
        /// Its length in bytes.
        len: usize,
    },
    /// The receipt names a key other than the signer's.
    #[error("receipt names key {receipt}, the signer's key is {signer}")]
    KeyIdMismatch {
        /// The key the receipt names.
        receipt: KeyId,
        /// The signer's key.
        signer: KeyId,
    },
    /// A hardware signer failed (its own message, from the app).
    #[error("the signer failed: {0}")]
    Signer(String),
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn hex_decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashSet;

    use p256::ecdsa::signature::Signer as _;
    use uuid::Uuid;

    use super::*;
    use crate::clock::Hlc;
    use crate::model::WgsPoint;

    const PHOTO: &[u8] = b"\xff\xd8 pretend these are the final jpeg bytes \xff\xd9";

    fn key(seed: u8) -> SoftwareKey {
        SoftwareKey::from_seed(&[seed; 32])
    }

    fn receipt_for(key_id: KeyId, previous: Option<Sha256Hash>, photo: &[u8]) -> PhotoReceipt {
        PhotoReceipt {
            version: RECEIPT_VERSION,
            fact_id: FactId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)),
            visit_id: Some(VisitId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002))),
            rep_id: UserId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0003)),
            device_id: DeviceId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0004)),
            key_id,
            sha256: Sha256Hash::of(photo),
            size_bytes: photo.len() as u64,
            width: 1920,
            height: 1440,
            dhash: PerceptualHash(0x0123_4567_89ab_cdef),
            verification_code: "7KQ2-MX4P".to_owned(),
            fix: Some(LocationFix {
                point: WgsPoint::new(31.230_416, 121.473_701).expect("valid point"),
                accuracy_m: 12.5,
                fix_time_ms: 1_760_000_000_000,
                provider: LocationProvider::Gnss,
                is_mock: false,
            }),
            at: EventTime {
                device_ms: 1_760_000_001_000,
                hlc: Hlc { wall_ms: 1_760_000_001_000, counter: 3, node: 42 },
                server_estimate_ms: Some(1_760_000_000_750),
            },
            monotonic_ms: 86_400_123,
            previous,
        }
    }

    fn signed(signer: &dyn ReceiptSigner, previous: Option<Sha256Hash>) -> (PhotoReceipt, ReceiptSignature) {
        let receipt = receipt_for(signer.public_key().key_id(), previous, PHOTO);
        let signature = sign_receipt(&receipt, signer).expect("signs");
        (receipt, signature)
    }

    fn never_seen(_: &Sha256Hash) -> bool {
        false
    }

    /// A P-256 key as the app's hardware signer would be (test-only, from fixed bytes).
    struct P256Signer(p256::ecdsa::SigningKey);

    impl ReceiptSigner for P256Signer {
        fn public_key(&self) -> DevicePublicKey {
            DevicePublicKey::from_p256(self.0.verifying_key())
        }
        fn sign_message(&self, message: &[u8]) -> Result<ReceiptSignature, SigningError> {
            let sig: p256::ecdsa::Signature = self.0.sign(message);
            Ok(ReceiptSignature {
                algorithm: SignatureAlgorithm::EcdsaP256Sha256,
                bytes: sig.to_der().as_bytes().to_vec(),
            })
        }
    }

    fn p256_signer() -> P256Signer {
        P256Signer(p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("valid scalar"))
    }

    #[test]
    fn a_receipt_with_any_coordinates_survives_the_wire_bit_for_bit() {
        // Coordinates computed on the phone (offsets, conversions) have all 17 digits; a JSON
        // parser that rounds the last bit would break the signature on the server.
        let mut receipt = receipt_for(key(1).public_key().key_id(), None, PHOTO);
        let mut x = 0.123_456_789_f64;
        for _ in 0..2_000 {
            x = (x * 3.987_654_321 + 0.1).fract();
            let point = WgsPoint::new(18.0 + 35.0 * x, 73.0 + 62.0 * (1.0 - x) + 1e-4).expect("in range");
            receipt.fix = receipt.fix.map(|f| LocationFix { point, accuracy_m: 3.0 + x, ..f });
            let wire = serde_json::to_string(&receipt).expect("serializes");
            let back: PhotoReceipt = serde_json::from_str(&wire).expect("parses");
            assert_eq!(back.canonical_bytes(), receipt.canonical_bytes(), "{wire}");
        }
    }

    #[test]
    fn canonical_bytes_follow_the_documented_layout() {
        let receipt = receipt_for(key(1).public_key().key_id(), None, PHOTO);
        let bytes = receipt.canonical_bytes();
        assert_eq!(&bytes[..4], b"FKPR");
        assert_eq!(&bytes[4..6], &[0, 1]);
        assert_eq!(&bytes[6..22], receipt.fact_id.0.as_bytes());
        assert_eq!(bytes[22], 1, "visit present");
        // magic, version, fact, visit, rep, device, key, sha, size, w, h, dhash, code,
        // fix, device ms, hlc, server estimate, monotonic, previous.
        let expected_len = 4
            + 2
            + 16
            + 17
            + 16
            + 16
            + 16
            + 32
            + 8
            + 4
            + 4
            + 8
            + (4 + 9)
            + (1 + 8 + 8 + 8 + 8 + 1 + 1)
            + 8
            + (8 + 4 + 8)
            + 9
            + 8
            + 1;
        assert_eq!(bytes.len(), expected_len);
        assert_eq!(*bytes.last().expect("not empty"), 0, "no previous receipt");
    }

    #[test]
    fn canonical_bytes_are_pinned_so_old_signatures_stay_valid() {
        // The expected hash was computed independently (a Python encoder written from the
        // layout table in the module docs).
        let receipt = receipt_for(KeyId([9; 16]), Some(Sha256Hash([5; 32])), PHOTO);
        assert_eq!(
            receipt.receipt_hash().to_hex(),
            "39d2126131065bd978bf97219eba6082a6c6911423475e4d278023b506c7da8e",
            "the version 1 layout changed: bump RECEIPT_VERSION instead"
        );
    }

    #[test]
    fn a_receipt_read_back_from_json_has_the_same_canonical_bytes() {
        let mut receipt = receipt_for(key(1).public_key().key_id(), Some(Sha256Hash([5; 32])), PHOTO);
        if let Some(fix) = receipt.fix.as_mut() {
            fix.accuracy_m = 0.1 + 0.2;
        }
        let json = serde_json::to_string(&receipt).expect("serialises");
        let back: PhotoReceipt = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, receipt);
        assert_eq!(back.canonical_bytes(), receipt.canonical_bytes());
        assert!(json.contains("\"dhash\":\"0123456789abcdef\""), "{json}");
    }

    #[test]
    fn an_ed25519_receipt_verifies_with_its_photo() {
        let signer = key(1);
        let (receipt, signature) = signed(&signer, None);
        let verified =
            verify(&receipt, &signature, Some(&signer.public_key()), Some(PHOTO), None, never_seen)
                .expect("authentic");
        assert_eq!(verified.receipt_hash, receipt.receipt_hash());
        assert_eq!(verified.key_id, signer.public_key().key_id());
    }

    #[test]
    fn a_p256_receipt_verifies_with_the_key_in_any_encoding() {
        let signer = p256_signer();
        let (receipt, signature) = signed(&signer, None);
        let point = signer.0.verifying_key().to_sec1_point(true);
        let compressed = DevicePublicKey::p256_sec1(point.as_bytes()).expect("compressed point");
        assert_eq!(compressed, signer.public_key(), "keys are normalised");
        for key in [signer.public_key(), compressed] {
            verify(&receipt, &signature, Some(&key), Some(PHOTO), None, never_seen).expect("authentic");
        }
    }

    #[test]
    fn a_p256_key_from_spki_der_matches_its_sec1_form() {
        use p256::pkcs8::EncodePublicKey as _;
        let signer = p256_signer();
        let der = signer.0.verifying_key().to_public_key_der().expect("encodes");
        let key = DevicePublicKey::p256_spki_der(der.as_bytes()).expect("parses");
        assert_eq!(key, signer.public_key());
        assert_eq!(key.as_bytes().len(), 65);
    }

    #[test]
    fn a_p256_signature_with_high_s_still_verifies() {
        let signer = p256_signer();
        let receipt = receipt_for(signer.public_key().key_id(), None, PHOTO);
        let low: p256::ecdsa::Signature = signer.0.sign(&receipt.canonical_bytes());
        let low = low.normalize_s();
        // n - s, built from the normalised signature by negating s.
        let (r, s) = low.split_scalars();
        let high = p256::ecdsa::Signature::from_scalars(r, -*s).expect("valid scalars");
        assert_ne!(high, low);
        let signature = ReceiptSignature {
            algorithm: SignatureAlgorithm::EcdsaP256Sha256,
            bytes: high.to_der().as_bytes().to_vec(),
        };
        verify(&receipt, &signature, Some(&signer.public_key()), Some(PHOTO), None, never_seen)
            .expect("authentic");
    }

    #[test]
    fn a_flipped_photo_byte_fails_as_a_bytes_mismatch() {
        let signer = key(1);
        let (receipt, signature) = signed(&signer, None);
        let mut photo = PHOTO.to_vec();
        photo[10] ^= 0x01;
        let err = verify(&receipt, &signature, Some(&signer.public_key()), Some(&photo), None, never_seen)
            .expect_err("tampered photo");
        assert!(
            matches!(err, VerifyFailure::BytesMismatch { found_size, .. } if found_size == PHOTO.len() as u64)
        );
        assert!(err.to_string().starts_with("photo bytes hash to "), "{err}");
        assert_eq!(verify_photo_bytes(&receipt, PHOTO), Ok(()));
    }

    #[test]
    fn a_swapped_metadata_field_fails_as_a_bad_signature() {
        for signer in [&key(1) as &dyn ReceiptSigner, &p256_signer()] {
            let (receipt, signature) = signed(signer, None);
            let mut moved = receipt.clone();
            moved.visit_id = Some(VisitId(Uuid::from_u128(99)));
            let mut later = receipt.clone();
            later.at.server_estimate_ms = Some(1_760_000_999_000);
            let mut elsewhere = receipt.clone();
            elsewhere.fix = elsewhere.fix.map(|f| LocationFix { is_mock: true, ..f });
            for tampered in [moved, later, elsewhere] {
                let err =
                    verify(&tampered, &signature, Some(&signer.public_key()), Some(PHOTO), None, never_seen)
                        .expect_err("tampered receipt");
                assert!(matches!(err, VerifyFailure::BadSignature { .. }), "{err}");
            }
        }
    }

    #[test]
    fn a_replayed_receipt_fails_as_replayed() {
        let signer = key(1);
        let seen = RefCell::new(HashSet::new());
        let (receipt, signature) = signed(&signer, None);
        let first = verify(&receipt, &signature, Some(&signer.public_key()), None, None, |h| {
            seen.borrow().contains(h)
        })
        .expect("first time");
        seen.borrow_mut().insert(first.receipt_hash);
        let err = verify(&receipt, &signature, Some(&signer.public_key()), None, None, |h| {
            seen.borrow().contains(h)
        })
        .expect_err("second time");
        assert_eq!(err, VerifyFailure::Replayed(first.receipt_hash));
    }

    #[test]
    fn a_receipt_from_another_device_fails_as_another_devices_key() {
        let ours = key(1);
        let theirs = key(2);
        let (receipt, signature) = signed(&theirs, None);
        let err = verify(&receipt, &signature, Some(&ours.public_key()), Some(PHOTO), None, never_seen)
            .expect_err("other key");
        assert_eq!(
            err,
            VerifyFailure::OtherDeviceKey {
                receipt: theirs.public_key().key_id(),
                registered: ours.public_key().key_id()
            }
        );
    }

    #[test]
    fn a_receipt_naming_our_key_but_signed_by_another_fails_as_a_bad_signature() {
        let ours = key(1);
        let mut receipt = receipt_for(ours.public_key().key_id(), None, PHOTO);
        receipt.monotonic_ms += 1;
        let signature = key(2).sign_message(&receipt.canonical_bytes()).expect("signs");
        let err = verify(&receipt, &signature, Some(&ours.public_key()), None, None, never_seen)
            .expect_err("forged");
        assert!(matches!(err, VerifyFailure::BadSignature { .. }), "{err}");
    }

    #[test]
    fn a_device_without_a_registered_key_fails_as_unknown() {
        let (receipt, signature) = signed(&key(1), None);
        let err = verify(&receipt, &signature, None, Some(PHOTO), None, never_seen).expect_err("no key");
        assert_eq!(err, VerifyFailure::UnknownDeviceKey);
    }

    #[test]
    fn a_chain_verifies_in_order_and_a_skipped_link_fails_as_a_broken_chain() {
        let signer = key(1);
        let public = signer.public_key();
        let (first, sig1) = signed(&signer, None);
        let (second, sig2) = signed(&signer, Some(first.receipt_hash()));
        let (third, sig3) = signed(&signer, Some(second.receipt_hash()));

        let head = verify(&first, &sig1, Some(&public), None, None, never_seen).expect("first").receipt_hash;
        // The second receipt never reaches the server: the third no longer follows the head.
        let err = verify(&third, &sig3, Some(&public), None, Some(&head), never_seen).expect_err("gap");
        assert_eq!(
            err,
            VerifyFailure::BrokenChain { expected: Some(head), found: Some(second.receipt_hash()) }
        );
        assert!(err.to_string().contains(&head.to_hex()), "{err}");
        let head = verify(&second, &sig2, Some(&public), None, Some(&head), never_seen)
            .expect("second")
            .receipt_hash;
        verify(&third, &sig3, Some(&public), None, Some(&head), never_seen).expect("third");
        // A device that claims to start a new chain while the server holds one is refused.
        let (restart, sig) = signed(&signer, None);
        let err = verify(&restart, &sig, Some(&public), None, Some(&head), never_seen).expect_err("restart");
        assert!(matches!(err, VerifyFailure::BrokenChain { found: None, .. }), "{err}");
    }

    #[test]
    fn a_signer_refuses_a_receipt_that_names_another_key_or_breaks_a_rule() {
        let receipt = receipt_for(key(2).public_key().key_id(), None, PHOTO);
        assert!(matches!(sign_receipt(&receipt, &key(1)), Err(SigningError::KeyIdMismatch { .. })));
        let mut bad = receipt_for(key(1).public_key().key_id(), None, PHOTO);
        bad.verification_code = String::new();
        assert_eq!(sign_receipt(&bad, &key(1)), Err(SigningError::BadVerificationCode { len: 0 }));
        let mut bad = receipt_for(key(1).public_key().key_id(), None, PHOTO);
        bad.fix = bad.fix.map(|f| LocationFix { accuracy_m: f64::NAN, ..f });
        assert!(matches!(sign_receipt(&bad, &key(1)), Err(SigningError::BadAccuracy(_))));
    }

    #[test]
    fn a_software_key_round_trips_through_its_seed_and_hides_it_in_debug() {
        let signer = key(3);
        assert_eq!(SoftwareKey::from_seed(&signer.seed()).public_key(), signer.public_key());
        let debug = format!("{signer:?}");
        assert!(debug.starts_with("SoftwareKey("), "{debug}");
        assert!(!debug.contains("0303"), "{debug}");
    }

    #[test]
    fn public_keys_refuse_bytes_that_are_not_keys() {
        assert!(DevicePublicKey::ed25519(&[1, 2, 3]).is_err());
        assert!(DevicePublicKey::p256_sec1(&[4; 65]).is_err());
        assert!(DevicePublicKey::p256_spki_der(b"not der").is_err());
        let json = r#"{"algorithm":"ecdsa_p256_sha256","key":"AAAA"}"#;
        assert!(serde_json::from_str::<DevicePublicKey>(json).is_err());
    }

    #[test]
    fn keys_and_signatures_travel_as_json() {
        let signer = p256_signer();
        let (receipt, signature) = signed(&signer, None);
        let key_json = serde_json::to_string(&signer.public_key()).expect("serialises");
        let key: DevicePublicKey = serde_json::from_str(&key_json).expect("parses");
        let doc = serde_json::to_string(&SignedReceipt { receipt, signature }).expect("serialises");
        let back: SignedReceipt = serde_json::from_str(&doc).expect("parses");
        verify(&back.receipt, &back.signature, Some(&key), Some(PHOTO), None, never_seen).expect("authentic");
    }

    #[test]
    fn verification_codes_are_short_unambiguous_and_stable() {
        let id = FactId(Uuid::from_u128(0x0190_0000_0000_7000_8000_00ff_ffff_ffff));
        assert_eq!(verification_code(id), "ZZZZ-ZZZZ");
        let id = FactId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0021));
        assert_eq!(verification_code(id), "0000-0011");
        let code = verification_code(FactId::new());
        assert_eq!(code.len(), 9);
        assert!(code.chars().all(|c| c == '-' || (c.is_ascii_alphanumeric() && !"ILOU".contains(c))));
    }

    #[test]
    fn perceptual_distance_counts_differing_bits() {
        let a = PerceptualHash(0b1011);
        assert_eq!(a.distance(PerceptualHash(0b0010)), 2);
        assert!(a.is_near_duplicate(PerceptualHash(0b0010)));
        assert!(!a.is_near_duplicate(PerceptualHash(!0b1011)));
        assert_eq!(a.to_string(), "000000000000000b");
    }

    #[test]
    fn hashes_parse_only_lower_case_hex_of_their_length() {
        let h = Sha256Hash::of(b"abc");
        assert_eq!(h.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(h.to_hex().parse::<Sha256Hash>(), Ok(h));
        assert!("BA78".parse::<Sha256Hash>().is_err());
        assert!(h.to_hex().to_uppercase().parse::<Sha256Hash>().is_err());
    }
}
