//! `fieldkit-server verify-photo FILE.jpg RECEIPT.json`: the built binary on a photo stamped
//! here (a receipt made by hand for the storefront fixture's bytes, signed with a software
//! key), then on a flipped byte, a changed receipt field and files it cannot read.

use std::path::{Path, PathBuf};
use std::process::Command;

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::ids::{DeviceId, FactId, UserId, VisitId};
use fieldkit_domain::model::{LocationFix, LocationProvider, WgsPoint};
use fieldkit_domain::signing::{
    PerceptualHash, PhotoReceipt, RECEIPT_VERSION, ReceiptSigner, Sha256Hash, SoftwareKey, sign_receipt,
    verification_code,
};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/photos/storefront.jpg");

fn receipt_for(key: &SoftwareKey, photo: &[u8]) -> anyhow::Result<PhotoReceipt> {
    let fact_id = FactId::new();
    Ok(PhotoReceipt {
        version: RECEIPT_VERSION,
        fact_id,
        visit_id: Some(VisitId::new()),
        rep_id: UserId::new(),
        device_id: DeviceId::new(),
        key_id: key.public_key().key_id(),
        sha256: Sha256Hash::of(photo),
        size_bytes: photo.len() as u64,
        width: 1600,
        height: 1200,
        dhash: PerceptualHash(0x3c3c_7e7e_ffff_0000),
        verification_code: verification_code(fact_id),
        fix: Some(LocationFix {
            point: WgsPoint::new(31.230_416, 121.473_701)?,
            accuracy_m: 8.0,
            fix_time_ms: 1_764_201_598_500,
            provider: LocationProvider::Gnss,
            is_mock: false,
        }),
        at: EventTime {
            device_ms: 1_764_201_600_000,
            hlc: Hlc { wall_ms: 1_764_201_600_000, counter: 0, node: 1 },
            server_estimate_ms: Some(1_764_201_599_760),
        },
        monotonic_ms: 86_400_000,
        previous: Some(Sha256Hash::of(b"the device's previous receipt")),
    })
}

/// Writes the photo and its receipt file (as `photo-bench` does) into `dir`.
fn stamp(
    dir: &Path,
    photo: &[u8],
    receipt: &PhotoReceipt,
    key: &SoftwareKey,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let signature = sign_receipt(receipt, key)?;
    let jpg = dir.join("storefront.jpg");
    std::fs::write(&jpg, photo)?;
    let doc =
        serde_json::json!({ "receipt": receipt, "signature": signature, "public_key": key.public_key() });
    let json = dir.join("storefront.receipt.json");
    std::fs::write(&json, serde_json::to_string_pretty(&doc)?)?;
    Ok((jpg, json))
}

/// Runs `verify-photo` and returns its exit code, stdout and stderr.
fn verify_photo(jpg: &Path, receipt: &Path) -> anyhow::Result<(i32, String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_fieldkit-server"))
        .arg("verify-photo")
        .arg(jpg)
        .arg(receipt)
        .output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout)?.trim().to_owned(),
        String::from_utf8(out.stderr)?.trim().to_owned(),
    ))
}

#[test]
fn a_stamped_photo_is_authentic_and_a_flipped_byte_or_changed_field_is_not() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let photo = std::fs::read(FIXTURE)?;
    let key = SoftwareKey::from_seed(&[42; 32]);
    let receipt = receipt_for(&key, &photo)?;
    let (jpg, json) = stamp(dir.path(), &photo, &receipt, &key)?;
    assert_eq!(verify_photo(&jpg, &json)?, (0, "authentic".to_owned(), String::new()));

    let mut flipped = photo.clone();
    flipped[photo.len() / 2] ^= 0x01;
    std::fs::write(&jpg, &flipped)?;
    let (code, stdout, _) = verify_photo(&jpg, &json)?;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.starts_with("not authentic: bytes_mismatch: photo bytes hash to "), "{stdout}");

    // The right bytes, but the receipt file claims another width than was signed.
    std::fs::write(&jpg, &photo)?;
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json)?)?;
    doc["receipt"]["width"] = serde_json::json!(4000);
    std::fs::write(&json, serde_json::to_vec(&doc)?)?;
    let (code, stdout, _) = verify_photo(&jpg, &json)?;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.starts_with("not authentic: bad_signature: "), "{stdout}");
    Ok(())
}

#[test]
fn files_that_cannot_be_read_as_a_photo_and_its_receipt_exit_2_with_an_error() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let photo = std::fs::read(FIXTURE)?;
    let key = SoftwareKey::from_seed(&[43; 32]);
    let (jpg, json) = stamp(dir.path(), &photo, &receipt_for(&key, &photo)?, &key)?;

    let (code, stdout, stderr) = verify_photo(&dir.path().join("missing.jpg"), &json)?;
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(stderr.contains("error: cannot read") && stderr.contains("missing.jpg"), "{stderr}");

    std::fs::write(&json, b"{\"receipt\": 1}")?;
    let (code, _, stderr) = verify_photo(&jpg, &json)?;
    assert_eq!(code, 2);
    assert!(stderr.contains("is not a receipt file"), "{stderr}");
    Ok(())
}
