//! The audit log in PostgreSQL (`audit_log`): appending an entry with the org's next audit
//! sequence number, and reading entries newest first, a page at a time.

use fieldkit_domain::ids::OrgId;

use super::{Tx, uuid_col};
use crate::audit::{AuditAction, AuditEntry, NewAuditEntry};
use crate::storage::{StorageError, StorageResult};

/// Appends `entry` to the org's log; answers its sequence number. Must run in a write
/// transaction holding the org's lock (which serialises appends, so sequence numbers never
/// repeat).
pub(super) async fn append(tx: &Tx<'_>, org_id: OrgId, entry: &NewAuditEntry) -> StorageResult<u64> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO audit_log (org_id, seq, at_ms, actor_id, action, target, detail)
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log WHERE org_id = $1),
                     $2, $3, $4, $5, $6)
             RETURNING seq",
        )
        .await?;
    let seq: i64 = tx
        .query_one(
            &statement,
            &[
                &org_id.to_string(),
                &entry.at_ms,
                &entry.actor_id.to_string(),
                &entry.action.as_str(),
                &entry.target,
                &entry.detail,
            ],
        )
        .await?
        .try_get(0)?;
    Ok(u64::try_from(seq).expect("audit sequence numbers start at 1"))
}

/// The org's entries below `before_seq` (all when `None`), newest first, at most `limit`.
pub(super) async fn log(
    tx: &Tx<'_>,
    org_id: OrgId,
    before_seq: Option<u64>,
    limit: u32,
) -> StorageResult<Vec<AuditEntry>> {
    let before = before_seq.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let statement = tx
        .prepare_cached(
            "SELECT seq, at_ms, actor_id, action, target, detail FROM audit_log
             WHERE org_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
        )
        .await?;
    let rows = tx.query(&statement, &[&org_id.to_string(), &before, &i64::from(limit)]).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in &rows {
        let seq: i64 = row.try_get(0)?;
        let action: String = row.try_get(3)?;
        let action: AuditAction = serde_json::from_value(serde_json::Value::String(action))
            .map_err(|source| StorageError::Corrupt { what: "audit action", source })?;
        entries.push(AuditEntry {
            seq: u64::try_from(seq).unwrap_or_default(),
            at_ms: row.try_get(1)?,
            actor_id: uuid_col(row, 2)?.into(),
            action,
            target: row.try_get(4)?,
            detail: row.try_get(5)?,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    //! Need a PostgreSQL server, as `super::super::tests` explains: without
    //! `FIELDKIT_PG_URL` they print why and pass, unless `FIELDKIT_REQUIRE_POSTGRES=1`.
    use crate::storage::postgres::tests::fresh_storage;

    use fieldkit_domain::model::Role;

    use crate::audit::{AuditAction, NewAuditEntry};
    use crate::provision::{self, UserSpec};
    use crate::storage::Storage;

    #[tokio::test]
    async fn each_org_numbers_its_entries_from_1_and_pages_newest_first() -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let mut admins = Vec::new();
        for slug in ["acme", "globex"] {
            let org = provision::create_org(&storage, slug, "Org").await?;
            let spec = UserSpec {
                username: "admin",
                display_name: "Admin",
                role: Role::Admin,
                team_id: None,
                data_scope: None,
                password: "long enough password",
            };
            admins.push((org.id, provision::add_user(&storage, org.id, spec).await?.id));
        }
        let entry = |actor, target: &str| NewAuditEntry {
            at_ms: 1_000,
            actor_id: actor,
            action: AuditAction::DepartmentSaved,
            target: target.to_owned(),
            detail: "added".to_owned(),
        };
        let (acme, acme_admin) = admins[0];
        let (globex, globex_admin) = admins[1];
        for target in ["a", "b", "c"] {
            storage.append_audit(acme, entry(acme_admin, target)).await?;
        }
        assert_eq!(storage.append_audit(globex, entry(globex_admin, "g")).await?, 1);

        let targets = |entries: Vec<crate::audit::AuditEntry>| {
            entries.into_iter().map(|e| (e.seq, e.target)).collect::<Vec<_>>()
        };
        let all = targets(storage.audit_log(acme, None, 10).await?);
        assert_eq!(all, vec![(3, "c".to_owned()), (2, "b".to_owned()), (1, "a".to_owned())]);
        assert_eq!(targets(storage.audit_log(acme, Some(3), 1).await?), vec![(2, "b".to_owned())]);
        assert_eq!(targets(storage.audit_log(acme, Some(1), 10).await?), Vec::new());
        assert_eq!(targets(storage.audit_log(globex, None, 10).await?), vec![(1, "g".to_owned())]);
        Ok(())
    }
}
