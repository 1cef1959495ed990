//! Device keys, photo checks, receipt chains and perceptual hashes in SQLite.

use fieldkit_domain::clock::EventTime;
use fieldkit_domain::ids::{DeviceId, FactId, OrgId, UserId};
use fieldkit_domain::model::LocationFix;
use fieldkit_domain::signing::{DevicePublicKey, PerceptualHash, Sha256Hash, SignatureAlgorithm};
use rusqlite::types::{ToSql, Type};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Deserialize;

use super::uuid_col;
use crate::storage::values::to_i64;
use crate::storage::{
    DeviceKey, KeyRegistration, NewDeviceKey, PhotoCheck, PhotoHash, PhotoQuery, PhotoReason, PhotoReuse,
    PhotoStatus, StorageError, StorageResult, StoredPhoto,
};

fn conversion(idx: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, message.into())
}

fn algorithm_name(algorithm: SignatureAlgorithm) -> &'static str {
    match algorithm {
        SignatureAlgorithm::Ed25519 => "ed25519",
        SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa_p256_sha256",
    }
}

/// A public key from its stored algorithm (column `idx`) and bytes (column `idx + 1`).
fn key_col(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<DevicePublicKey> {
    let algorithm: String = row.get(idx)?;
    let bytes: Vec<u8> = row.get(idx + 1)?;
    let key = match algorithm.as_str() {
        "ed25519" => DevicePublicKey::ed25519(&bytes),
        "ecdsa_p256_sha256" => DevicePublicKey::p256_sec1(&bytes),
        other => return Err(conversion(idx, format!("unknown key algorithm {other:?}"))),
    };
    key.map_err(|e| conversion(idx + 1, e.to_string()))
}

fn status_col(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<PhotoStatus> {
    let text: String = row.get(idx)?;
    PhotoStatus::parse(&text).ok_or_else(|| conversion(idx, format!("unknown photo status {text:?}")))
}

fn hash_col(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<Sha256Hash>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| t.parse::<Sha256Hash>().map_err(|e| conversion(idx, e.to_string()))).transpose()
}

pub(super) fn register_key(
    tx: &Transaction<'_>,
    org_id: OrgId,
    new: &NewDeviceKey,
) -> StorageResult<KeyRegistration> {
    let (org, device) = (org_id.to_string(), new.device_id.to_string());
    let before: Option<DevicePublicKey> = tx
        .prepare_cached("SELECT algorithm, public_key FROM device_keys WHERE org_id = ?1 AND device_id = ?2")?
        .query_row(params![org, device], |row| key_col(row, 0))
        .optional()?;
    let key_id = new.key.key_id();
    let outcome = match before {
        None => KeyRegistration::New,
        Some(old) if old.key_id() == key_id => KeyRegistration::Unchanged,
        Some(old) => KeyRegistration::Replaced { previous: old.key_id() },
    };
    // The same key again keeps its chain head; another key starts a chain of its own.
    tx.prepare_cached(
        "INSERT INTO device_keys (org_id, device_id, user_id, algorithm, public_key, key_id, registered_ms, chain_head)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)
         ON CONFLICT (org_id, device_id) DO UPDATE SET user_id = excluded.user_id,
             algorithm = excluded.algorithm, public_key = excluded.public_key,
             registered_ms = excluded.registered_ms,
             chain_head = CASE WHEN device_keys.key_id = excluded.key_id THEN device_keys.chain_head END,
             key_id = excluded.key_id",
    )?
    .execute(params![
        org,
        device,
        new.user_id.to_string(),
        algorithm_name(new.key.algorithm()),
        new.key.as_bytes(),
        key_id.to_string(),
        new.registered_ms,
    ])?;
    Ok(outcome)
}

pub(super) fn device_key(
    tx: &Transaction<'_>,
    org_id: OrgId,
    device_id: DeviceId,
) -> StorageResult<Option<DeviceKey>> {
    Ok(tx
        .prepare_cached(
            "SELECT user_id, algorithm, public_key, registered_ms, chain_head FROM device_keys
             WHERE org_id = ?1 AND device_id = ?2",
        )?
        .query_row(params![org_id.to_string(), device_id.to_string()], |row| {
            Ok(DeviceKey {
                device_id,
                user_id: UserId::from(uuid_col(row, 0)?),
                key: key_col(row, 1)?,
                registered_ms: row.get(3)?,
                chain_head: hash_col(row, 4)?,
            })
        })
        .optional()?)
}

pub(super) fn receipt_seen(
    tx: &Transaction<'_>,
    org_id: OrgId,
    receipt_hash: Sha256Hash,
) -> StorageResult<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM photo_checks
                            WHERE org_id = ?1 AND receipt_hash = ?2 AND status = 'verified')",
        )?
        .query_row(params![org_id.to_string(), receipt_hash.to_hex()], |row| row.get(0))?)
}

pub(super) fn hashes(tx: &Transaction<'_>, org_id: OrgId) -> StorageResult<Vec<PhotoHash>> {
    let mut stmt = tx.prepare_cached(
        "SELECT fact_id, visit_id, dhash FROM photo_checks
         WHERE org_id = ?1 AND status = 'verified' AND dhash IS NOT NULL ORDER BY rowid",
    )?;
    let rows = stmt.query_map([org_id.to_string()], |row| {
        let visit: Option<String> = row.get(1)?;
        let dhash: i64 = row.get(2)?;
        Ok(PhotoHash {
            fact_id: FactId::from(uuid_col(row, 0)?),
            visit_id: visit.map(|_| uuid_col(row, 1)).transpose()?.map(Into::into),
            dhash: PerceptualHash(u64::from_ne_bytes(dhash.to_ne_bytes())),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores the check of a photo fact stored now; a verified check moves its device's chain
/// head (if the key it was verified with is still the device's), and the bytes are checked
/// at once if the blob has already arrived.
pub(super) fn insert_check(
    tx: &Transaction<'_>,
    org: &str,
    fact_id: FactId,
    rep_id: UserId,
    check: &PhotoCheck,
    now_ms: i64,
) -> StorageResult<()> {
    let fact = fact_id.to_string();
    let signed = check.signed.as_ref();
    tx.prepare_cached(
        "INSERT INTO photo_checks (org_id, fact_id, rep_id, visit_id, sha256, size_bytes, status, reasons,
                                   device_id, key_id, receipt_hash, verification_code, dhash, reuse_of,
                                   reuse_distance, countersignature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        org,
        fact,
        rep_id.to_string(),
        check.visit_id.map(|v| v.to_string()),
        check.sha256,
        to_i64(check.size_bytes),
        check.status.as_str(),
        serde_json::to_string(&check.reasons).expect("reasons always serialize"),
        signed.map(|s| s.device_id.to_string()),
        signed.map(|s| s.key_id.to_string()),
        signed.map(|s| s.receipt_hash.to_hex()),
        signed.map(|s| s.verification_code.as_str()),
        signed.map(|s| i64::from_ne_bytes(s.dhash.0.to_ne_bytes())),
        check.reuse.map(|r| r.of_fact_id.to_string()),
        check.reuse.map(|r| r.distance),
        check.countersignature,
    ])?;
    if let (PhotoStatus::Verified, Some(signed)) = (check.status, signed) {
        tx.prepare_cached(
            "UPDATE device_keys SET chain_head = ?4 WHERE org_id = ?1 AND device_id = ?2 AND key_id = ?3",
        )?
        .execute(params![
            org,
            signed.device_id.to_string(),
            signed.key_id.to_string(),
            signed.receipt_hash.to_hex()
        ])?;
    }
    let arrived: Option<i64> = tx
        .prepare_cached("SELECT size FROM blobs WHERE org_id = ?1 AND sha256 = ?2 AND complete = 1")?
        .query_row(params![org, check.sha256], |row| row.get(0))
        .optional()?;
    if let Some(size) = arrived {
        check_bytes(tx, org, &check.sha256, size.unsigned_abs(), Some(&fact), now_ms)?;
    }
    Ok(())
}

/// Checks the photos naming blob `sha256` (only `fact_id`, if given) whose bytes were not
/// checked yet against the blob's `size`. Returns how many were checked.
pub(super) fn check_bytes(
    tx: &Transaction<'_>,
    org: &str,
    sha256: &str,
    size: u64,
    fact_id: Option<&str>,
    now_ms: i64,
) -> StorageResult<usize> {
    let pending: Vec<(String, i64, PhotoStatus, String)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT fact_id, size_bytes, status, reasons FROM photo_checks
             WHERE org_id = ?1 AND sha256 = ?2 AND bytes_checked_ms IS NULL AND (?3 IS NULL OR fact_id = ?3)",
        )?;
        let rows = stmt.query_map(params![org, sha256, fact_id], |row| {
            Ok((row.get(0)?, row.get(1)?, status_col(row, 2)?, row.get(3)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut update = tx.prepare_cached(
        "UPDATE photo_checks SET bytes_verified = ?3, bytes_checked_ms = ?4, status = ?5, reasons = ?6
         WHERE org_id = ?1 AND fact_id = ?2",
    )?;
    for (fact, expected, status, reasons) in &pending {
        let (expected, mut status) = (expected.unsigned_abs(), *status);
        let mut reasons: Vec<PhotoReason> = serde_json::from_str(reasons)
            .map_err(|source| StorageError::Corrupt { what: "photo reasons", source })?;
        let matches = expected == size;
        if !matches {
            reasons.push(PhotoReason::bytes_mismatch(sha256, expected, size));
            if status == PhotoStatus::Verified {
                status = PhotoStatus::Failed;
            }
        }
        update.execute(params![
            org,
            fact,
            matches,
            now_ms,
            status.as_str(),
            serde_json::to_string(&reasons).expect("reasons always serialize"),
        ])?;
    }
    Ok(pending.len())
}

/// The part of a photo fact's stored body the listing shows.
#[derive(Deserialize)]
struct PhotoBody {
    body: PhotoFields,
}

#[derive(Deserialize)]
struct PhotoFields {
    at: EventTime,
    fix: Option<LocationFix>,
}

pub(super) fn list(
    tx: &Transaction<'_>,
    org_id: OrgId,
    query: &PhotoQuery,
) -> StorageResult<Vec<StoredPhoto>> {
    // Only the filters in use go into the SQL, so that a lookup by hash or code uses its index.
    let mut conditions = vec!["p.org_id = ?1".to_owned()];
    let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(org_id.to_string())];
    let mut add = |condition: &str, arg: Box<dyn ToSql>| {
        args.push(arg);
        conditions.push(condition.replace("?N", &format!("?{}", args.len())));
    };
    if let Some(ids) = &query.rep_ids {
        add(
            "p.rep_id IN (SELECT value FROM json_each(?N))",
            Box::new(serde_json::to_string(ids).expect("ids always serialize")),
        );
    }
    if let Some(visit) = query.visit_id {
        add("p.visit_id = ?N", Box::new(visit.to_string()));
    }
    if let Some(customer) = query.customer_id {
        add(
            "p.visit_id IN (SELECT json_extract(c.body, '$.body.visit_id') FROM facts c
                            WHERE c.org_id = ?1 AND c.kind = 'check_in'
                              AND json_extract(c.body, '$.body.customer_id') = ?N)",
            Box::new(customer.to_string()),
        );
    }
    if let Some(sha256) = &query.sha256 {
        add("p.sha256 = ?N", Box::new(sha256.clone()));
    }
    if let Some(code) = &query.verification_code {
        add("p.verification_code = ?N", Box::new(code.clone()));
    }
    let sql = format!(
        "SELECT p.fact_id, p.rep_id, p.visit_id, p.sha256, p.size_bytes, p.verification_code, p.receipt_hash,
                p.status, p.reasons, p.bytes_verified, p.reuse_of, p.reuse_distance, p.countersignature,
                f.received_ms, f.body,
                (SELECT json_extract(c.body, '$.body.customer_id') FROM facts c
                 WHERE c.org_id = p.org_id AND c.kind = 'check_in'
                   AND json_extract(c.body, '$.body.visit_id') = p.visit_id
                 ORDER BY c.seq LIMIT 1)
         FROM photo_checks p JOIN facts f ON f.org_id = p.org_id AND f.id = p.fact_id
         WHERE {}
         ORDER BY f.seq",
        conditions.join(" AND ")
    );
    let mut stmt = tx.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |row| {
        let visit: Option<String> = row.get(2)?;
        let reuse_of: Option<String> = row.get(10)?;
        let reuse_distance: Option<u32> = row.get(11)?;
        let customer: Option<String> = row.get(15)?;
        let reuse = match (reuse_of, reuse_distance) {
            (Some(_), Some(distance)) => Some(PhotoReuse { of_fact_id: uuid_col(row, 10)?.into(), distance }),
            _ => None,
        };
        let reasons: String = row.get(8)?;
        let body: String = row.get(14)?;
        let reasons = serde_json::from_str::<Vec<PhotoReason>>(&reasons)
            .map_err(|source| StorageError::Corrupt { what: "photo reasons", source });
        let body = serde_json::from_str::<PhotoBody>(&body)
            .map_err(|source| StorageError::Corrupt { what: "photo fact", source });
        let (fact_id, rep_id) = (uuid_col(row, 0)?.into(), uuid_col(row, 1)?.into());
        let visit_id = visit.map(|_| uuid_col(row, 2)).transpose()?.map(Into::into);
        let customer_id = customer.map(|_| uuid_col(row, 15)).transpose()?.map(Into::into);
        let sha256: String = row.get(3)?;
        let size_bytes = row.get::<_, i64>(4)?.unsigned_abs();
        let verification_code: Option<String> = row.get(5)?;
        let receipt_hash = hash_col(row, 6)?;
        let status = status_col(row, 7)?;
        let bytes_verified: bool = row.get(9)?;
        let countersignature: Option<Vec<u8>> = row.get(12)?;
        let received_ms: i64 = row.get(13)?;
        Ok(body.and_then(|body| {
            Ok(StoredPhoto {
                fact_id,
                rep_id,
                visit_id,
                customer_id,
                sha256,
                size_bytes,
                taken_at: body.body.at,
                fix: body.body.fix,
                verification_code,
                receipt_hash,
                status,
                reasons: reasons?,
                bytes_verified,
                reuse,
                received_ms,
                countersignature,
            })
        }))
    })?;
    rows.map(|row| row?).collect()
}
