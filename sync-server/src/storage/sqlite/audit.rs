//! The audit log in SQLite (`audit_log`, migration 015): appending an entry with the org's
//! next audit sequence number, and reading entries newest first, a page at a time.

use fieldkit_domain::ids::OrgId;
use rusqlite::{Transaction, params};

use super::uuid_col;
use crate::audit::{AuditAction, AuditEntry, NewAuditEntry};
use crate::storage::{StorageError, StorageResult};

/// Appends `entry` to the org's log; answers its sequence number. Must run in a write
/// transaction (which serialises appends, so sequence numbers never repeat).
pub(super) fn append(tx: &Transaction<'_>, org_id: OrgId, entry: &NewAuditEntry) -> StorageResult<u64> {
    let seq: i64 = tx
        .prepare_cached(
            "INSERT INTO audit_log (org_id, seq, at_ms, actor_id, action, target, detail)
             VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log WHERE org_id = ?1),
                     ?2, ?3, ?4, ?5, ?6)
             RETURNING seq",
        )?
        .query_row(
            params![
                org_id.to_string(),
                entry.at_ms,
                entry.actor_id.to_string(),
                entry.action.as_str(),
                entry.target,
                entry.detail
            ],
            |row| row.get(0),
        )?;
    Ok(u64::try_from(seq).expect("audit sequence numbers start at 1"))
}

/// The org's entries below `before_seq` (all when `None`), newest first, at most `limit`.
pub(super) fn log(
    tx: &Transaction<'_>,
    org_id: OrgId,
    before_seq: Option<u64>,
    limit: u32,
) -> StorageResult<Vec<AuditEntry>> {
    let before = before_seq.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let mut stmt = tx.prepare_cached(
        "SELECT seq, at_ms, actor_id, action, target, detail FROM audit_log
         WHERE org_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![org_id.to_string(), before, limit], |row| {
        let seq: i64 = row.get(0)?;
        Ok((
            seq,
            row.get::<_, i64>(1)?,
            uuid_col(row, 2)?,
            row.get::<_, String>(3)?,
            row.get(4)?,
            row.get(5)?,
        ))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (seq, at_ms, actor, action, target, detail) = row?;
        let action: AuditAction = serde_json::from_value(serde_json::Value::String(action))
            .map_err(|source| StorageError::Corrupt { what: "audit action", source })?;
        entries.push(AuditEntry {
            seq: u64::try_from(seq).unwrap_or_default(),
            at_ms,
            actor_id: actor.into(),
            action,
            target,
            detail,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::model::Role;

    use super::super::SqliteStorage;
    use crate::audit::{AuditAction, NewAuditEntry};
    use crate::provision::{self, UserSpec};
    use crate::storage::Storage;

    #[tokio::test]
    async fn each_org_numbers_its_entries_from_1_and_pages_newest_first() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let storage = SqliteStorage::open(&dir.path().join("db.sqlite3"))?;
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
