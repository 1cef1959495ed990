//! Device revocations in PostgreSQL (`device_revocations`): revoking a device the org knows
//! (one of its users' tokens or a registered key names it), reading when a device was
//! revoked, and which device a token was issued to.

use fieldkit_domain::ids::{DeviceId, OrgId, UserId};

use super::{Tx, uuid_col};
use crate::storage::StorageResult;

/// Whether a token of one of the org's users, or a key registered in the org, names the device.
async fn known(tx: &Tx<'_>, org: &str, device: &str) -> StorageResult<bool> {
    let statement = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM tokens t JOIN users u ON u.id = t.user_id
                            WHERE u.org_id = $1 AND t.device_id = $2)
                 OR EXISTS (SELECT 1 FROM device_keys WHERE org_id = $1 AND device_id = $2)",
        )
        .await?;
    Ok(tx.query_one(&statement, &[&org, &device]).await?.try_get(0)?)
}

/// Revokes the org's device at `revoked_ms` unless it was revoked before; answers the
/// revocation time kept (the first one), or `None` when the org does not know the device.
pub(super) async fn revoke(
    tx: &Tx<'_>,
    org_id: OrgId,
    device_id: DeviceId,
    revoked_ms: i64,
    revoked_by: UserId,
) -> StorageResult<Option<i64>> {
    let (org, device) = (org_id.to_string(), device_id.to_string());
    if !known(tx, &org, &device).await? {
        return Ok(None);
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO device_revocations (org_id, device_id, revoked_ms, revoked_by)
             VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, device_id) DO NOTHING",
        )
        .await?;
    tx.execute(&statement, &[&org, &device, &revoked_ms, &revoked_by.to_string()]).await?;
    revocation(tx, org_id, device_id).await
}

/// When the org's device was revoked, if it was.
pub(super) async fn revocation(
    tx: &Tx<'_>,
    org_id: OrgId,
    device_id: DeviceId,
) -> StorageResult<Option<i64>> {
    let statement = tx
        .prepare_cached("SELECT revoked_ms FROM device_revocations WHERE org_id = $1 AND device_id = $2")
        .await?;
    let row = tx.query_opt(&statement, &[&org_id.to_string(), &device_id.to_string()]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// The device a token was issued to, if the token is known (expired or not).
pub(super) async fn token_device(tx: &Tx<'_>, token_sha256: &str) -> StorageResult<Option<DeviceId>> {
    let statement = tx.prepare_cached("SELECT device_id FROM tokens WHERE token_sha256 = $1").await?;
    let row = tx.query_opt(&statement, &[&token_sha256]).await?;
    Ok(row.map(|row| uuid_col(&row, 0)).transpose()?.map(DeviceId::from))
}

#[cfg(test)]
mod tests {
    //! Need a PostgreSQL server, as `super::super::tests` explains: without
    //! `FIELDKIT_PG_URL` they print why and pass, unless `FIELDKIT_REQUIRE_POSTGRES=1`.
    use crate::storage::postgres::tests::fresh_storage;

    use fieldkit_domain::ids::{DeviceId, OrgId, UserId};
    use fieldkit_domain::model::Role;

    use crate::storage::postgres::PgStorage;
    use crate::storage::{NewToken, NewUser, Storage};

    /// A fresh database with two orgs, a user in the first holding a token on `device`.
    async fn setup() -> anyhow::Result<Option<(PgStorage, [OrgId; 2], UserId, DeviceId)>> {
        let Some(storage) = fresh_storage().await? else { return Ok(None) };
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
        Ok(Some((storage, [acme.id, other.id], user.id, device)))
    }

    #[tokio::test]
    async fn a_second_revocation_keeps_the_first_time() -> anyhow::Result<()> {
        let Some((storage, [acme, _], admin, device)) = setup().await? else { return Ok(()) };
        assert_eq!(storage.device_revocation(acme, device).await?, None);
        assert_eq!(storage.revoke_device(acme, device, 1_000, admin).await?, Some(1_000));
        assert_eq!(storage.revoke_device(acme, device, 2_000, admin).await?, Some(1_000));
        assert_eq!(storage.device_revocation(acme, device).await?, Some(1_000));
        Ok(())
    }

    #[tokio::test]
    async fn a_device_unknown_to_the_org_is_not_revoked() -> anyhow::Result<()> {
        let Some((storage, [acme, other], admin, device)) = setup().await? else { return Ok(()) };
        let unknown = DeviceId::new();
        assert_eq!(storage.revoke_device(acme, unknown, 1_000, admin).await?, None);
        assert_eq!(storage.revoke_device(other, device, 1_000, admin).await?, None);
        assert_eq!(storage.device_revocation(other, device).await?, None);
        assert_eq!(storage.device_revocation(acme, device).await?, None);
        Ok(())
    }

    #[tokio::test]
    async fn a_token_names_the_device_it_was_issued_to() -> anyhow::Result<()> {
        let Some((storage, _, _, device)) = setup().await? else { return Ok(()) };
        assert_eq!(storage.token_device(&"ab".repeat(32)).await?, Some(device));
        assert_eq!(storage.token_device(&"cd".repeat(32)).await?, None);
        Ok(())
    }
}
