//! Customer imports in PostgreSQL: the customers of a batch and their external codes
//! (`customer_codes`) written in the caller's one transaction, so a batch is stored whole or
//! not at all.

use std::collections::HashMap;

use fieldkit_domain::ids::{CustomerId, OrgId};
use fieldkit_domain::protocol::{Record, RecordKind};

use super::{Tx, feed, uuid_col};
use crate::storage::{ImportedCustomer, StorageError, StorageResult};

/// The org's codes whose customer is live (not deleted), code → customer.
pub(super) async fn all(tx: &Tx<'_>, org_id: OrgId) -> StorageResult<HashMap<String, CustomerId>> {
    let rows = tx
        .query(
            "SELECT c.code, c.customer_id FROM customer_codes c
             JOIN records r ON r.org_id = c.org_id AND r.kind = $2 AND r.id = c.customer_id AND r.deleted = 0
             WHERE c.org_id = $1",
            &[&org_id.to_string(), &RecordKind::Customer.as_str()],
        )
        .await?;
    rows.iter().map(|row| Ok((row.try_get::<_, String>(0)?, CustomerId::from(uuid_col(row, 1)?)))).collect()
}

/// Writes every customer (the same path as `put_record`: next sequence number, audience,
/// removal for a previous owner) and remembers its code. A code that already names another
/// live customer fails the whole batch with [`StorageError::AlreadyExists`] (two imports
/// raced to create the same account); one naming a deleted customer moves to the new one.
pub(super) async fn import(
    tx: &Tx<'_>,
    org_id: OrgId,
    batch: &[ImportedCustomer],
) -> StorageResult<Vec<u64>> {
    let org = org_id.to_string();
    let mut seqs = Vec::with_capacity(batch.len());
    for item in batch {
        let customer = &item.customer;
        seqs.push(
            feed::put_record(tx, org_id, &Record::Customer(customer.clone()), customer.owner_id).await?,
        );
        let Some(code) = &item.code else { continue };
        let id = customer.id.to_string();
        let statement = tx
            .prepare_cached("SELECT customer_id FROM customer_codes WHERE org_id = $1 AND code = $2")
            .await?;
        let holder: Option<String> =
            tx.query_opt(&statement, &[&org, code]).await?.map(|r| r.try_get(0)).transpose()?;
        if let Some(holder) = holder.filter(|h| *h != id) {
            let statement = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM records WHERE org_id = $1 AND kind = $2 AND id = $3 AND deleted = 0)",
                )
                .await?;
            let live: bool = tx
                .query_one(&statement, &[&org, &RecordKind::Customer.as_str(), &holder])
                .await?
                .try_get(0)?;
            if live {
                return Err(StorageError::AlreadyExists(format!("customer code {code:?}")));
            }
        }
        let statement = tx
            .prepare_cached(
                "INSERT INTO customer_codes (org_id, code, customer_id) VALUES ($1, $2, $3)
                 ON CONFLICT (org_id, code) DO UPDATE SET customer_id = excluded.customer_id",
            )
            .await?;
        tx.execute(&statement, &[&org, code, &id]).await?;
    }
    Ok(seqs)
}

#[cfg(test)]
mod tests {
    use crate::storage::postgres::tests::fresh_storage;
    use fieldkit_domain::ids::{CustomerId, UserId};
    use fieldkit_domain::model::{Customer, Grade, Place, WgsPoint};
    use fieldkit_domain::protocol::RecordKind;

    use crate::storage::{FeedReader, ImportedCustomer, Storage, StorageError};

    fn customer(name: &str, owner: Option<UserId>) -> anyhow::Result<Customer> {
        Ok(Customer {
            id: CustomerId::new(),
            name: name.into(),
            place: Place { point: WgsPoint::new(31.2, 121.4)?, address: String::new() },
            grade: Grade::B,
            tags: Vec::new(),
            geofence_radius_m: None,
            owner_id: owner,
        })
    }

    #[tokio::test]
    async fn an_imported_batch_is_stored_with_its_codes_and_reaches_the_owners_feed() -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let org = storage.create_org("acme", "Acme").await?;
        let rep = UserId::new();
        let (a, b) = (customer("A", Some(rep))?, customer("B", None)?);
        let batch = vec![
            ImportedCustomer { customer: a.clone(), code: Some("C-1".into()) },
            ImportedCustomer { customer: b.clone(), code: None },
        ];
        let seqs = storage.import_customers(org.id, batch).await?;
        assert_eq!(seqs.len(), 2);
        assert!(seqs[0] < seqs[1]);
        let codes = storage.customer_codes(org.id).await?;
        assert_eq!(codes.len(), 1);
        assert_eq!(codes.get("C-1"), Some(&a.id));
        let feed = storage.feed(org.id, FeedReader::Member(rep), None, 0, 100).await?;
        assert_eq!(feed.entries.len(), 2, "the rep gets their customer and the unowned one");
        Ok(())
    }

    #[tokio::test]
    async fn a_batch_failing_half_way_stores_nothing() -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let org = storage.create_org("acme", "Acme").await?;
        let first = customer("First", None)?;
        storage
            .import_customers(
                org.id,
                vec![ImportedCustomer { customer: first.clone(), code: Some("X".into()) }],
            )
            .await?;
        // The second item claims a code another live customer holds: the batch fails after
        // its first customer was written, and that write is rolled back with it.
        let (fresh, clash) = (customer("Fresh", None)?, customer("Clash", None)?);
        let batch = vec![
            ImportedCustomer { customer: fresh.clone(), code: Some("Y".into()) },
            ImportedCustomer { customer: clash.clone(), code: Some("X".into()) },
        ];
        let err = storage.import_customers(org.id, batch).await;
        assert!(matches!(err, Err(StorageError::AlreadyExists(_))), "{err:?}");
        assert!(storage.record(org.id, RecordKind::Customer, fresh.id.0).await?.is_none());
        assert!(storage.record(org.id, RecordKind::Customer, clash.id.0).await?.is_none());
        let codes = storage.customer_codes(org.id).await?;
        assert_eq!((codes.len(), codes.get("X")), (1, Some(&first.id)));
        Ok(())
    }

    #[tokio::test]
    async fn the_code_of_a_deleted_customer_moves_to_its_replacement() -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let org = storage.create_org("acme", "Acme").await?;
        let old = customer("Old", None)?;
        storage
            .import_customers(
                org.id,
                vec![ImportedCustomer { customer: old.clone(), code: Some("K".into()) }],
            )
            .await?;
        storage.delete_record(org.id, RecordKind::Customer, old.id.0).await?;
        assert!(storage.customer_codes(org.id).await?.is_empty(), "a deleted customer's code is free");
        let new = customer("New", None)?;
        storage
            .import_customers(
                org.id,
                vec![ImportedCustomer { customer: new.clone(), code: Some("K".into()) }],
            )
            .await?;
        assert_eq!(storage.customer_codes(org.id).await?.get("K"), Some(&new.id));
        Ok(())
    }
}
