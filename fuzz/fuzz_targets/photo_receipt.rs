//! Signed photo receipts as the server receives them (JSON in a photo fact; `photos.rs`
//! verifies them before storing) and device public keys as registered at login (raw Ed25519,
//! SEC1 or SPKI DER P-256 bytes).
//!
//! Properties: a decoded receipt survives the JSON round trip with the same canonical bytes
//! (else its signature would break on the server); a receipt the fuzzer made, once signed
//! by an Ed25519 or a P-256 key, verifies, still verifies after its JSON round trip, fails as
//! a replay and fails once a byte of its signature changes; an Ed25519 signature verifies
//! only if it is the key's own; a key parsed from bytes parses again from its normalised
//! bytes to the same key.

#![no_main]

use fieldkit_domain::signing::{
    DevicePublicKey, PhotoReceipt, ReceiptSigner, SignedReceipt, sign_receipt, verification_code, verify,
    verify_photo_bytes,
};
use fieldkit_fuzz::{P256Signer, assert_round_trip, software_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for parse in [DevicePublicKey::ed25519, DevicePublicKey::p256_sec1, DevicePublicKey::p256_spki_der] {
        if let Ok(key) = parse(data) {
            assert_round_trip(&key);
            let again = match key.algorithm() {
                fieldkit_domain::signing::SignatureAlgorithm::Ed25519 => {
                    DevicePublicKey::ed25519(key.as_bytes())
                }
                fieldkit_domain::signing::SignatureAlgorithm::EcdsaP256Sha256 => {
                    DevicePublicKey::p256_sec1(key.as_bytes())
                }
            };
            assert_eq!(again.as_ref(), Ok(&key), "a key does not parse back from its own bytes");
        }
    }

    let Ok(signed) = serde_json::from_slice::<SignedReceipt>(data) else { return };
    assert_round_trip(&signed);
    let receipt = &signed.receipt;
    let wire = serde_json::to_vec(receipt).expect("a receipt encodes");
    let back: PhotoReceipt = serde_json::from_slice(&wire).expect("a receipt decodes back");
    assert_eq!(back.canonical_bytes(), receipt.canonical_bytes(), "canonical bytes change over the wire");
    let _ = receipt.validate();
    let _ = verification_code(receipt.fact_id);
    let _ = verify_photo_bytes(receipt, data);

    let ed25519 = software_key();
    let p256 = P256Signer::fixed();
    let signers: [&dyn ReceiptSigner; 2] = [&ed25519, &p256];
    for signer in signers {
        let key = signer.public_key();
        // The same receipt naming the key and signed by it.
        let mut own = receipt.clone();
        own.key_id = key.key_id();
        let Ok(signature) = sign_receipt(&own, signer) else { continue };
        let head = own.previous;
        // The fuzzer's signature on that receipt: an Ed25519 signature (deterministic, and
        // unique under strict verification) verifies only if it is the key's own.
        if key.algorithm() == fieldkit_domain::signing::SignatureAlgorithm::Ed25519 {
            let theirs = verify(&own, &signed.signature, Some(&key), None, head.as_ref(), |_| false);
            assert_eq!(
                theirs.is_ok(),
                signed.signature == signature,
                "a signature not made by the key verifies"
            );
        }
        let verified = verify(&own, &signature, Some(&key), None, head.as_ref(), |_| false);
        assert!(verified.is_ok(), "a receipt signed by the registered key fails: {verified:?}");
        let replayed = verify(&own, &signature, Some(&key), None, head.as_ref(), |_| true);
        assert!(replayed.is_err(), "a replayed receipt verifies");
        let travelled: PhotoReceipt =
            serde_json::from_slice(&serde_json::to_vec(&own).expect("encodes")).expect("decodes");
        let verified = verify(&travelled, &signature, Some(&key), None, head.as_ref(), |_| false);
        assert!(verified.is_ok(), "a signed receipt fails after its JSON round trip: {verified:?}");
        if let Some(i) = data.first().map(|b| usize::from(*b) % signature.bytes.len().max(1)) {
            let mut damaged = signature.clone();
            if let Some(byte) = damaged.bytes.get_mut(i) {
                *byte ^= 0x01;
                let verified = verify(&own, &damaged, Some(&key), None, head.as_ref(), |_| false);
                assert!(verified.is_err(), "a damaged signature verifies");
            }
        }
    }
});
