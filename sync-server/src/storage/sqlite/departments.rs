//! The org tree in SQLite (`departments`, migration 011): reading it, and saving a
//! department only where the tree stays a tree.

use fieldkit_domain::ids::{OrgId, TeamId};
use fieldkit_domain::model::{Department, OrgTree};
use rusqlite::{Transaction, params};

use super::uuid_col;
use crate::storage::{StorageError, StorageResult};

/// Every department of the org, by name.
pub(super) fn all(tx: &Transaction<'_>, org_id: OrgId) -> StorageResult<Vec<Department>> {
    let mut stmt =
        tx.prepare_cached("SELECT id, name, parent_id FROM departments WHERE org_id = ?1 ORDER BY name, id")?;
    let rows = stmt.query_map([org_id.to_string()], |row| {
        let parent: Option<String> = row.get(2)?;
        Ok(Department {
            id: uuid_col(row, 0)?.into(),
            name: row.get(1)?,
            parent_id: parent.map(|_| uuid_col(row, 2)).transpose()?.map(Into::into),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The org's tree.
pub(super) fn tree(tx: &Transaction<'_>, org_id: OrgId) -> StorageResult<OrgTree> {
    Ok(OrgTree::new(&all(tx, org_id)?))
}

/// Creates or updates `department`, refusing a parent that is unknown or inside it. The
/// check and the write share the transaction, so two moves at once cannot make a cycle.
pub(super) fn save(tx: &Transaction<'_>, org_id: OrgId, department: &Department) -> StorageResult<()> {
    tree(tx, org_id)?
        .check_parent(department.id, department.parent_id)
        .map_err(|e| StorageError::Refused(e.to_string()))?;
    tx.execute(
        "INSERT INTO departments (org_id, id, name, parent_id) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (org_id, id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id",
        params![
            org_id.to_string(),
            department.id.to_string(),
            department.name,
            department.parent_id.map(|p| p.to_string())
        ],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            StorageError::AlreadyExists(format!("department {:?} under the same parent", department.name))
        }
        e => e.into(),
    })?;
    Ok(())
}

/// Whether `team` is a department of the org.
pub(super) fn exists(tx: &Transaction<'_>, org_id: OrgId, team: TeamId) -> StorageResult<bool> {
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM departments WHERE org_id = ?1 AND id = ?2)",
        [org_id.to_string(), team.to_string()],
        |row| row.get(0),
    )?)
}
