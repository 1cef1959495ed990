//! Photos that prove themselves: what the server derives from the photo facts phones push,
//! before storing them, and the offline check of a stamped photo against its receipt file.
//!
//! Each new photo fact gets a check, stored with the fact in its transaction (like the
//! check-in verdicts of `crate::location`): `unsigned` without a receipt; otherwise the
//! receipt must match the record (ids, hash, size, the code derived from the fact id) and
//! pass the domain's [`signing::verify`] against the key the pushing user registered for the
//! receipt's device at login, the receipts verified before (replays) and the device's chain
//! head (the hash of its last verified receipt). A failure never costs the fact: it is kept,
//! `failed`, with every reason. A verified receipt moves the device's chain head, is
//! countersigned by the server's key (see `crate::server_key`) and its perceptual hash is
//! compared with the org's earlier verified photos of other visits. The photo's bytes are
//! checked when its blob completes (`Storage::complete_blob`).
//!
//! Photos of one push are checked in order, the chain heads and the receipts verified so far
//! kept in memory, so that a phone may push several chained photos at once. Pushes with
//! photos to one org are serialised (`AppState::lock_photos`) from these reads to the
//! storing transaction.

use std::collections::{HashMap, HashSet};

use fieldkit_domain::ids::{DeviceId, OrgId, UserId, VisitId};
use fieldkit_domain::model::PhotoRecord;
use fieldkit_domain::protocol::Fact;
use fieldkit_domain::signing::{
    self, DevicePublicKey, PerceptualHash, PhotoReceipt, ReceiptSignature, Sha256Hash, VerifiedReceipt,
    VerifyFailure,
};
use serde::Deserialize;

use crate::server_key::ServerKey;
use crate::storage::{
    DeviceKey, PhotoCheck, PhotoHash, PhotoReason, PhotoReuse, PhotoStatus, SignedPhoto, Storage,
    StorageResult,
};

/// Checks the photo facts of one push, in order.
pub(crate) struct PhotoJudge<'a> {
    storage: &'a dyn Storage,
    org_id: OrgId,
    pusher: UserId,
    server_key: &'a ServerKey,
    received_ms: i64,
    /// Device keys looked up so far (`None`: none usable by the pusher), with the chain
    /// heads this push has moved.
    keys: HashMap<DeviceId, Option<DeviceKey>>,
    /// Receipts verified earlier in this push.
    verified_now: HashSet<Sha256Hash>,
    /// The org's verified photos, loaded at the first signed photo, grown by this push's.
    earlier: Option<Vec<PhotoHash>>,
}

impl<'a> PhotoJudge<'a> {
    /// A judge for one push by `pusher` to `org_id`, received at `received_ms` (the time the
    /// facts are stored with, which the countersignature covers).
    pub(crate) fn new(
        storage: &'a dyn Storage,
        org_id: OrgId,
        pusher: UserId,
        server_key: &'a ServerKey,
        received_ms: i64,
    ) -> Self {
        Self {
            storage,
            org_id,
            pusher,
            server_key,
            received_ms,
            keys: HashMap::new(),
            verified_now: HashSet::new(),
            earlier: None,
        }
    }

    /// The server's check of `fact`; `None` for facts that are not photos. Only a failing
    /// database is an error (the push is answered with a retryable error).
    pub(crate) async fn judge(&mut self, fact: &Fact) -> StorageResult<Option<PhotoCheck>> {
        let Fact::Photo(record) = fact else { return Ok(None) };
        let Some(signed) = &record.receipt else {
            return Ok(Some(PhotoCheck {
                visit_id: record.visit_id,
                sha256: record.sha256.clone(),
                size_bytes: record.size_bytes,
                status: PhotoStatus::Unsigned,
                reasons: Vec::new(),
                signed: None,
                reuse: None,
                countersignature: None,
            }));
        };
        let receipt = &signed.receipt;
        let receipt_hash = receipt.receipt_hash();
        let mut reasons: Vec<PhotoReason> = record_mismatch(record, receipt).into_iter().collect();
        let key = self.key(receipt.device_id).await?;
        let seen = self.verified_now.contains(&receipt_hash)
            || self.storage.receipt_seen(self.org_id, receipt_hash).await?;
        let verdict = signing::verify(
            receipt,
            &signed.signature,
            key.as_ref().map(|k| &k.key),
            None,
            key.as_ref().and_then(|k| k.chain_head.as_ref()),
            |hash| seen && *hash == receipt_hash,
        );
        if let Err(failure) = &verdict {
            reasons.push(PhotoReason::of_failure(failure));
        }
        let mut check = PhotoCheck {
            visit_id: record.visit_id,
            sha256: record.sha256.clone(),
            size_bytes: receipt.size_bytes,
            status: if reasons.is_empty() { PhotoStatus::Verified } else { PhotoStatus::Failed },
            reasons,
            signed: Some(SignedPhoto {
                device_id: receipt.device_id,
                key_id: receipt.key_id,
                receipt_hash,
                verification_code: receipt.verification_code.clone(),
                dhash: receipt.dhash,
            }),
            reuse: None,
            countersignature: None,
        };
        if check.status == PhotoStatus::Verified {
            if let Some(Some(key)) = self.keys.get_mut(&receipt.device_id) {
                key.chain_head = Some(receipt_hash);
            }
            self.verified_now.insert(receipt_hash);
            check.reuse = self.reuse(record, receipt.dhash).await?;
            check.countersignature =
                Some(self.server_key.countersign(&receipt_hash, self.received_ms).to_vec());
        }
        Ok(Some(check))
    }

    /// The key `device_id` registered, if the pusher registered it: a key another user
    /// registered is treated as unknown (a rep cannot sign with a colleague's device).
    async fn key(&mut self, device_id: DeviceId) -> StorageResult<Option<DeviceKey>> {
        if let Some(known) = self.keys.get(&device_id) {
            return Ok(known.clone());
        }
        let key = self.storage.device_key(self.org_id, device_id).await?.filter(|k| k.user_id == self.pusher);
        self.keys.insert(device_id, key.clone());
        Ok(key)
    }

    /// The closest earlier verified photo of another visit showing the same picture; then
    /// remembers this one for the rest of the push.
    async fn reuse(
        &mut self,
        record: &PhotoRecord,
        dhash: PerceptualHash,
    ) -> StorageResult<Option<PhotoReuse>> {
        let earlier = match &mut self.earlier {
            Some(earlier) => earlier,
            none => none.insert(self.storage.photo_hashes(self.org_id).await?),
        };
        let found = closest_reuse(earlier, record.visit_id, dhash);
        earlier.push(PhotoHash { fact_id: record.id, visit_id: record.visit_id, dhash });
        Ok(found)
    }
}

/// The closest of `earlier` (first on ties) that is a near duplicate of `dhash` and belongs to
/// another visit than `visit` (a photo without a visit belongs to none, so it is compared with
/// every other).
///
/// A linear scan of the org's verified photos, which is fine: an XOR and a popcount each,
/// about 600,000 photos per millisecond in a release build (measured once by hand on a
/// 2-core AMD EPYC). Reading the hashes from SQLite costs more than scanning them: about
/// 70 ms per 100,000 photos, once per push with photos (same one-off measurement). Past a few
/// hundred thousand photos per org, keep the hashes in memory per org (or index them: BK-tree,
/// multi-index hashing) rather than reading them for every push.
fn closest_reuse(earlier: &[PhotoHash], visit: Option<VisitId>, dhash: PerceptualHash) -> Option<PhotoReuse> {
    earlier
        .iter()
        .filter(|e| visit.is_none() || e.visit_id != visit)
        .filter(|e| e.dhash.is_near_duplicate(dhash))
        .map(|e| PhotoReuse { of_fact_id: e.fact_id, distance: e.dhash.distance(dhash) })
        .min_by_key(|r| r.distance)
}

/// Why `receipt` is not the receipt of `record`: the fields they disagree on.
fn record_mismatch(record: &PhotoRecord, receipt: &PhotoReceipt) -> Option<PhotoReason> {
    let checks = [
        ("fact_id", receipt.fact_id == record.id),
        ("rep_id", receipt.rep_id == record.rep_id),
        ("visit_id", receipt.visit_id == record.visit_id),
        ("sha256", receipt.sha256.to_hex() == record.sha256),
        ("size_bytes", receipt.size_bytes == record.size_bytes),
        // The code printed on the photo is derived from the fact id, so that no receipt can
        // claim another photo's code.
        ("verification_code", receipt.verification_code == signing::verification_code(receipt.fact_id)),
    ];
    let fields: Vec<&str> = checks.iter().filter(|(_, ok)| !ok).map(|(field, _)| *field).collect();
    (!fields.is_empty()).then(|| PhotoReason {
        code: "record_mismatch".to_owned(),
        message: format!("the receipt disagrees with photo record {} on {}", record.id, fields.join(", ")),
    })
}

/// A receipt file as `photo-bench` writes it beside each stamped photo.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceiptFile {
    /// The receipt.
    pub receipt: PhotoReceipt,
    /// The device's signature of its canonical bytes.
    pub signature: ReceiptSignature,
    /// The public key of the device that signed it.
    pub public_key: DevicePublicKey,
}

/// Checks a stamped photo against its receipt file, offline: the signature with the file's
/// own public key (the chain taken as the receipt says, nothing seen before), then the photo
/// bytes. It proves that the bytes are the photo that key signed for; whether the key is a
/// rep's registered one is for the server to say.
pub fn verify_stamped_photo(photo: &[u8], file: &ReceiptFile) -> Result<VerifiedReceipt, VerifyFailure> {
    let receipt = &file.receipt;
    let verified = signing::verify(
        receipt,
        &file.signature,
        Some(&file.public_key),
        None,
        receipt.previous.as_ref(),
        |_| false,
    )?;
    signing::verify_photo_bytes(receipt, photo)?;
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldkit_domain::ids::FactId;

    fn hash(dhash: u64, visit: Option<VisitId>) -> PhotoHash {
        PhotoHash { fact_id: FactId::new(), visit_id: visit, dhash: PerceptualHash(dhash) }
    }

    #[test]
    fn the_closest_near_duplicate_of_another_visit_is_the_reuse_and_the_same_visit_is_never() {
        let (here, there) = (VisitId::new(), VisitId::new());
        let same_visit = hash(0xff00, Some(here));
        let far = hash(0xff00 ^ 0x0fff_ffff, Some(there));
        let near = hash(0xff00 ^ 0b1110, Some(there));
        let nearer = hash(0xff00 ^ 0b1, None);
        let tie = hash(0xff00 ^ 0b10, Some(there));
        let earlier = [same_visit, far, near, nearer, tie];
        let found = closest_reuse(&earlier, Some(here), PerceptualHash(0xff00));
        assert_eq!(found, Some(PhotoReuse { of_fact_id: nearer.fact_id, distance: 1 }), "first on ties");
        assert_eq!(closest_reuse(&[same_visit, far], Some(here), PerceptualHash(0xff00)), None);
        let without_visit = closest_reuse(&[same_visit], None, PerceptualHash(0xff00));
        assert_eq!(without_visit.map(|r| r.of_fact_id), Some(same_visit.fact_id));
    }
}
