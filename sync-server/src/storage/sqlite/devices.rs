//! Device revocations in SQLite (`device_revocations`, migration 014): revoking a device the
//! org knows (one of its users' tokens or a registered key names it), reading when a device
//! was revoked, and which device a token was issued to.

use fieldkit_domain::ids::{DeviceId, OrgId, UserId};
use rusqlite::{OptionalExtension, Transaction, params};

use super::uuid_col;
use crate::storage::StorageResult;

/// Whether a token of one of the org's users, or a key registered in the org, names the device.
fn known(tx: &Transaction<'_>, org: &str, device: &str) -> StorageResult<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM tokens t JOIN users u ON u.id = t.user_id
                            WHERE u.org_id = ?1 AND t.device_id = ?2)
                 OR EXISTS (SELECT 1 FROM device_keys WHERE org_id = ?1 AND device_id = ?2)",
        )?
        .query_row(params![org, device], |row| row.get(0))?)
}

/// Revokes the org's device at `revoked_ms` unless it was revoked before; answers the
/// revocation time kept (the first one), or `None` when the org does not know the device.
pub(super) fn revoke(
    tx: &Transaction<'_>,
    org_id: OrgId,
    device_id: DeviceId,
    revoked_ms: i64,
    revoked_by: UserId,
) -> StorageResult<Option<i64>> {
    let (org, device) = (org_id.to_string(), device_id.to_string());
    if !known(tx, &org, &device)? {
        return Ok(None);
    }
    tx.prepare_cached(
        "INSERT INTO device_revocations (org_id, device_id, revoked_ms, revoked_by)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (org_id, device_id) DO NOTHING",
    )?
    .execute(params![org, device, revoked_ms, revoked_by.to_string()])?;
    revocation(tx, org_id, device_id)
}

/// When the org's device was revoked, if it was.
pub(super) fn revocation(
    tx: &Transaction<'_>,
    org_id: OrgId,
    device_id: DeviceId,
) -> StorageResult<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT revoked_ms FROM device_revocations WHERE org_id = ?1 AND device_id = ?2")?
        .query_row(params![org_id.to_string(), device_id.to_string()], |row| row.get(0))
        .optional()?)
}

/// The device a token was issued to, if the token is known (expired or not).
pub(super) fn token_device(tx: &Transaction<'_>, token_sha256: &str) -> StorageResult<Option<DeviceId>> {
    Ok(tx
        .prepare_cached("SELECT device_id FROM tokens WHERE token_sha256 = ?1")?
        .query_row([token_sha256], |row| uuid_col(row, 0))
        .optional()?
        .map(DeviceId::from))
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::{DeviceId, OrgId, UserId};
    use fieldkit_domain::model::Role;

    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{NewToken, NewUser, Storage};

    /// A fresh database with two orgs, a user in the first holding a token on `device`.
    async fn setup() -> anyhow::Result<(tempfile::TempDir, SqliteStorage, [OrgId; 2], UserId, DeviceId)> {
        let dir = tempfile::tempdir()?;
        let storage = SqliteStorage::open(&dir.path().join("db.sqlite3"))?;
        let acme = storage.create_org("acme", "Acme").await?;
        let other = storage.create_org("other", "Other").await?;
        let user = storage
            .create_user(NewUser {
                org_id: acme.id,
                username: "admin".into(),
                display_name: "Admin".into(),
                role: Role::Admin,
                team_id: None,
                data_scope: None,
                password_hash: "x".into(),
            })
            .await?;
        let device = DeviceId::new();
        storage
            .store_token(NewToken {
                token_sha256: "ab".repeat(32),
                user_id: user.id,
                device_id: device.as_uuid(),
                expires_at_ms: 10_000,
            })
            .await?;
        Ok((dir, storage, [acme.id, other.id], user.id, device))
    }

    #[tokio::test]
    async fn a_second_revocation_keeps_the_first_time() -> anyhow::Result<()> {
        let (_dir, storage, [acme, _], admin, device) = setup().await?;
        assert_eq!(storage.device_revocation(acme, device).await?, None);
        assert_eq!(storage.revoke_device(acme, device, 1_000, admin).await?, Some(1_000));
        assert_eq!(storage.revoke_device(acme, device, 2_000, admin).await?, Some(1_000));
        assert_eq!(storage.device_revocation(acme, device).await?, Some(1_000));
        Ok(())
    }

    #[tokio::test]
    async fn a_device_unknown_to_the_org_is_not_revoked() -> anyhow::Result<()> {
        let (_dir, storage, [acme, other], admin, device) = setup().await?;
        let unknown = DeviceId::new();
        assert_eq!(storage.revoke_device(acme, unknown, 1_000, admin).await?, None);
        assert_eq!(storage.revoke_device(other, device, 1_000, admin).await?, None);
        assert_eq!(storage.device_revocation(other, device).await?, None);
        assert_eq!(storage.device_revocation(acme, device).await?, None);
        Ok(())
    }

    #[tokio::test]
    async fn a_token_names_the_device_it_was_issued_to() -> anyhow::Result<()> {
        let (_dir, storage, _, _, device) = setup().await?;
        assert_eq!(storage.token_device(&"ab".repeat(32)).await?, Some(device));
        assert_eq!(storage.token_device(&"cd".repeat(32)).await?, None);
        Ok(())
    }
}
