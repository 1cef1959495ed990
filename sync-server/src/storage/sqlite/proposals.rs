//! Decisions on customer proposals in SQLite (`proposal_decisions`, migration 008). An
//! approval writes its customer in the same transaction, so the customer exists exactly when
//! the decision does.

use fieldkit_domain::ids::OrgId;
use fieldkit_domain::model::Customer;
use fieldkit_domain::protocol::Record;
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{feed, uuid_col};
use crate::storage::{DecisionOutcome, DecisionStatus, ProposalDecision, StorageResult};

const COLUMNS: &str = "fact_id, status, customer_id, decided_by, reason, decided_ms";

fn decision(row: &rusqlite::Row<'_>) -> rusqlite::Result<ProposalDecision> {
    let status: String = row.get(1)?;
    let customer: Option<String> = row.get(2)?;
    Ok(ProposalDecision {
        fact_id: uuid_col(row, 0)?.into(),
        status: DecisionStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                Type::Text,
                format!("unknown status {status:?}").into(),
            )
        })?,
        customer_id: customer
            .map(|c| Uuid::parse_str(&c).map(Into::into))
            .transpose()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, Type::Text, Box::new(e)))?,
        decided_by: uuid_col(row, 3)?.into(),
        reason: row.get(4)?,
        decided_ms: row.get(5)?,
    })
}

pub(super) fn all(tx: &Transaction<'_>, org_id: OrgId) -> StorageResult<Vec<ProposalDecision>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM proposal_decisions WHERE org_id = ?1 ORDER BY decided_ms"
    ))?;
    let rows = stmt.query_map([org_id.to_string()], decision)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn decide(
    tx: &Transaction<'_>,
    org_id: OrgId,
    new: &ProposalDecision,
    customer: Option<&Customer>,
) -> StorageResult<DecisionOutcome> {
    let org = org_id.to_string();
    let before = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM proposal_decisions WHERE org_id = ?1 AND fact_id = ?2"
        ))?
        .query_row(params![org, new.fact_id.to_string()], decision)
        .optional()?;
    if let Some(before) = before {
        return Ok(DecisionOutcome::AlreadyDecided(before));
    }
    if let Some(customer) = customer {
        // Addressed like `POST /v1/customers`: to the owner (and so their manager).
        feed::put_record(tx, org_id, &Record::Customer(customer.clone()), customer.owner_id)?;
    }
    tx.prepare_cached(
        "INSERT INTO proposal_decisions (org_id, fact_id, status, customer_id, decided_by, reason, decided_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        org,
        new.fact_id.to_string(),
        new.status.as_str(),
        new.customer_id.map(|c| c.to_string()),
        new.decided_by.to_string(),
        new.reason,
        new.decided_ms
    ])?;
    Ok(DecisionOutcome::Recorded)
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::{CustomerId, FactId, UserId};
    use fieldkit_domain::model::{Customer, Grade, Place, WgsPoint};
    use fieldkit_domain::protocol::RecordKind;

    use crate::storage::{DecisionOutcome, DecisionStatus, ProposalDecision, SqliteStorage, Storage};

    #[tokio::test]
    async fn a_proposal_is_decided_once_and_its_approval_creates_the_customer() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let storage = SqliteStorage::open(&dir.path().join("db.sqlite3"))?;
        let org = storage.create_org("acme", "Acme").await?;
        let rep = UserId::new();
        let customer = Customer {
            id: CustomerId::new(),
            name: "Corner Shop".into(),
            place: Place { point: WgsPoint::new(31.2, 121.4)?, address: String::new() },
            grade: Grade::B,
            tags: Vec::new(),
            geofence_radius_m: None,
            owner_id: Some(rep),
        };
        let approval = ProposalDecision {
            fact_id: FactId::new(),
            status: DecisionStatus::Approved,
            customer_id: Some(customer.id),
            decided_by: UserId::new(),
            reason: String::new(),
            decided_ms: 7,
        };
        let outcome = storage.decide_proposal(org.id, approval.clone(), Some(customer.clone())).await?;
        assert_eq!(outcome, DecisionOutcome::Recorded);
        let stored = storage.record(org.id, RecordKind::Customer, customer.id.0).await?;
        assert_eq!(stored.map(|r| r.audience), Some(Some(rep)));

        // A second decision, even another one, changes nothing and names the first.
        let rejection =
            ProposalDecision { status: DecisionStatus::Rejected, customer_id: None, ..approval.clone() };
        let other = Customer { id: CustomerId::new(), ..customer };
        let outcome = storage.decide_proposal(org.id, rejection, Some(other.clone())).await?;
        assert_eq!(outcome, DecisionOutcome::AlreadyDecided(approval.clone()));
        assert!(storage.record(org.id, RecordKind::Customer, other.id.0).await?.is_none());
        assert_eq!(storage.proposal_decisions(org.id).await?, [approval]);
        Ok(())
    }
}
