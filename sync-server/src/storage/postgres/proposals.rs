//! Decisions on customer proposals in PostgreSQL (`proposal_decisions`). An approval writes
//! its customer in the same transaction, so the customer exists exactly when the decision
//! does.

use fieldkit_domain::ids::OrgId;
use fieldkit_domain::model::Customer;
use fieldkit_domain::protocol::Record;
use uuid::Uuid;

use super::{Tx, feed, uuid_col};
use crate::storage::{DecisionOutcome, DecisionStatus, ProposalDecision, StorageError, StorageResult};

const COLUMNS: &str = "fact_id, status, customer_id, decided_by, reason, decided_ms";

fn decision(row: &tokio_postgres::Row) -> StorageResult<ProposalDecision> {
    let status: String = row.try_get(1)?;
    let customer: Option<String> = row.try_get(2)?;
    Ok(ProposalDecision {
        fact_id: uuid_col(row, 0)?.into(),
        status: DecisionStatus::parse(&status)
            .ok_or_else(|| StorageError::Unreadable(format!("decision status {status:?}")))?,
        customer_id: customer
            .map(|c| {
                Uuid::parse_str(&c).map(Into::into).map_err(|_| StorageError::Unreadable(format!("id {c:?}")))
            })
            .transpose()?,
        decided_by: uuid_col(row, 3)?.into(),
        reason: row.try_get(4)?,
        decided_ms: row.try_get(5)?,
    })
}

/// Every decision of the org, oldest first.
pub(super) async fn all(tx: &Tx<'_>, org_id: OrgId) -> StorageResult<Vec<ProposalDecision>> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM proposal_decisions WHERE org_id = $1 ORDER BY decided_ms"
        ))
        .await?;
    tx.query(&statement, &[&org_id.to_string()]).await?.iter().map(decision).collect()
}

/// Records `new` (and, for an approval, writes `customer`) unless the proposal was already
/// decided, in which case nothing changes and the earlier decision is returned.
pub(super) async fn decide(
    tx: &Tx<'_>,
    org_id: OrgId,
    new: &ProposalDecision,
    customer: Option<&Customer>,
) -> StorageResult<DecisionOutcome> {
    let org = org_id.to_string();
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM proposal_decisions WHERE org_id = $1 AND fact_id = $2"
        ))
        .await?;
    let before = tx.query_opt(&statement, &[&org, &new.fact_id.to_string()]).await?;
    if let Some(before) = before {
        return Ok(DecisionOutcome::AlreadyDecided(decision(&before)?));
    }
    if let Some(customer) = customer {
        // Addressed like `POST /v1/customers`: to the owner (and so their manager).
        feed::put_record(tx, org_id, &Record::Customer(customer.clone()), customer.owner_id).await?;
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO proposal_decisions (org_id, fact_id, status, customer_id, decided_by, reason, decided_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &org,
            &new.fact_id.to_string(),
            &new.status.as_str(),
            &new.customer_id.map(|c| c.to_string()),
            &new.decided_by.to_string(),
            &new.reason,
            &new.decided_ms,
        ],
    )
    .await?;
    Ok(DecisionOutcome::Recorded)
}

#[cfg(test)]
mod tests {
    use crate::storage::postgres::tests::fresh_storage;
    use fieldkit_domain::ids::{CustomerId, FactId, UserId};
    use fieldkit_domain::model::{Customer, Grade, Place, WgsPoint};
    use fieldkit_domain::protocol::RecordKind;

    use crate::storage::{DecisionOutcome, DecisionStatus, ProposalDecision, Storage};

    #[tokio::test]
    async fn a_proposal_is_decided_once_and_its_approval_creates_the_customer() -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
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
