//! The org tree in PostgreSQL (`departments`): reading it, and saving a department only
//! where the tree stays a tree.

use fieldkit_domain::ids::{OrgId, TeamId};
use fieldkit_domain::model::{Department, OrgTree};
use tokio_postgres::error::SqlState;

use super::{Tx, uuid_col};
use crate::storage::{StorageError, StorageResult};

/// Every department of the org, by name (byte order, as SQLite sorts, whatever the
/// database's collation).
pub(super) async fn all(tx: &Tx<'_>, org_id: OrgId) -> StorageResult<Vec<Department>> {
    let statement = tx
        .prepare_cached(
            "SELECT id, name, parent_id FROM departments WHERE org_id = $1 ORDER BY name COLLATE \"C\", id COLLATE \"C\"",
        )
        .await?;
    let rows = tx.query(&statement, &[&org_id.to_string()]).await?;
    rows.iter()
        .map(|row| {
            let parent: Option<String> = row.try_get(2)?;
            Ok(Department {
                id: uuid_col(row, 0)?.into(),
                name: row.try_get(1)?,
                parent_id: parent.map(|_| uuid_col(row, 2)).transpose()?.map(Into::into),
            })
        })
        .collect()
}

/// The org's tree.
pub(super) async fn tree(tx: &Tx<'_>, org_id: OrgId) -> StorageResult<OrgTree> {
    Ok(OrgTree::new(&all(tx, org_id).await?))
}

/// Creates or updates `department`, refusing a parent that is unknown or inside it. The
/// check and the write share the transaction (which holds the org's lock), so two moves at
/// once cannot make a cycle.
pub(super) async fn save(tx: &Tx<'_>, org_id: OrgId, department: &Department) -> StorageResult<()> {
    tree(tx, org_id)
        .await?
        .check_parent(department.id, department.parent_id)
        .map_err(|e| StorageError::Refused(e.to_string()))?;
    tx.execute(
        "INSERT INTO departments (org_id, id, name, parent_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id",
        &[
            &org_id.to_string(),
            &department.id.to_string(),
            &department.name,
            &department.parent_id.map(|p| p.to_string()),
        ],
    )
    .await
    .map_err(|e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            StorageError::AlreadyExists(format!("department {:?} under the same parent", department.name))
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Whether `team` is a department of the org.
pub(super) async fn exists(tx: &Tx<'_>, org_id: OrgId, team: TeamId) -> StorageResult<bool> {
    Ok(tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM departments WHERE org_id = $1 AND id = $2)",
            &[&org_id.to_string(), &team.to_string()],
        )
        .await?
        .try_get(0)?)
}

#[cfg(test)]
mod tests {
    use crate::storage::postgres::tests::fresh_storage;
    use fieldkit_domain::ids::TeamId;
    use fieldkit_domain::model::Department;

    use crate::storage::{Storage, StorageError};

    fn department(name: &str, parent_id: Option<TeamId>) -> Department {
        Department { id: TeamId::new(), name: name.into(), parent_id }
    }

    #[tokio::test]
    async fn departments_are_listed_in_byte_order_of_their_names_as_in_sqlite() -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let org = storage.create_org("acme", "Acme").await?;
        for name in ["north", "Zeta", "alpha", "Beta"] {
            storage.save_department(org.id, department(name, None)).await?;
        }
        let names: Vec<String> = storage.departments(org.id).await?.into_iter().map(|d| d.name).collect();
        assert_eq!(names, ["Beta", "Zeta", "alpha", "north"]);
        Ok(())
    }

    #[tokio::test]
    async fn a_name_taken_by_a_sibling_is_refused_but_free_under_another_parent() -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let org = storage.create_org("acme", "Acme").await?;
        let (east, west) = (department("East", None), department("West", None));
        storage.save_department(org.id, east.clone()).await?;
        storage.save_department(org.id, west.clone()).await?;
        storage.save_department(org.id, department("Sales", Some(east.id))).await?;
        let clash = storage.save_department(org.id, department("Sales", Some(east.id))).await;
        assert!(matches!(clash, Err(StorageError::AlreadyExists(_))), "{clash:?}");
        let top = storage.save_department(org.id, department("East", None)).await;
        assert!(matches!(top, Err(StorageError::AlreadyExists(_))), "{top:?}");
        storage.save_department(org.id, department("Sales", Some(west.id))).await?;
        assert_eq!(storage.departments(org.id).await?.len(), 4);
        Ok(())
    }

    #[tokio::test]
    async fn a_department_moved_under_its_own_child_is_refused_and_stays_put() -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let org = storage.create_org("acme", "Acme").await?;
        let parent = department("Parent", None);
        let child = department("Child", Some(parent.id));
        storage.save_department(org.id, parent.clone()).await?;
        storage.save_department(org.id, child.clone()).await?;
        let moved =
            storage.save_department(org.id, Department { parent_id: Some(child.id), ..parent.clone() }).await;
        assert!(matches!(moved, Err(StorageError::Refused(_))), "{moved:?}");
        let stored = storage.departments(org.id).await?;
        assert_eq!(stored.iter().find(|d| d.id == parent.id).map(|d| d.parent_id), Some(None));
        Ok(())
    }
}
