//! Approval flows in PostgreSQL (`approval_flows`): every version of every kind, the current
//! one of each kind also in the feed for phones. The approval steps of a task flow store
//! their flows here too, as `task_step` versions that are never the kind's current flow; the
//! task flow itself is a feed record.
//!
//! A new version is the kind's highest plus one; the org lock every write takes first (see
//! the module doc of `postgres`) keeps two writers from picking the same number.

use fieldkit_domain::approval::{ApprovalFlow, ApprovalKind, TaskFlow, TaskStepKind};
use fieldkit_domain::ids::OrgId;
use fieldkit_domain::protocol::{Record, RecordKind};

use super::{Tx, feed};
use crate::storage::{StorageError, StorageResult};

fn flow(row: &tokio_postgres::Row) -> StorageResult<ApprovalFlow> {
    let body: String = row.try_get(0)?;
    serde_json::from_str(&body).map_err(|source| StorageError::Corrupt { what: "approval flow", source })
}

/// Stores `flow` as the next version of its kind and puts it in every phone's feed.
pub(super) async fn put(
    tx: &Tx<'_>,
    org_id: OrgId,
    flow: &ApprovalFlow,
    now_ms: i64,
) -> StorageResult<ApprovalFlow> {
    let stored = insert_version(tx, org_id, flow, now_ms).await?;
    feed::put_record(tx, org_id, &Record::ApprovalFlow(stored.clone()), None).await?;
    Ok(stored)
}

/// Stores `flow` as the next version of its kind, without publishing it.
async fn insert_version(
    tx: &Tx<'_>,
    org_id: OrgId,
    flow: &ApprovalFlow,
    now_ms: i64,
) -> StorageResult<ApprovalFlow> {
    let org = org_id.to_string();
    let kind = flow.kind.as_str();
    let statement = tx
        .prepare_cached(
            "SELECT COALESCE(MAX(version), 0) FROM approval_flows WHERE org_id = $1 AND kind = $2",
        )
        .await?;
    let latest: i64 = tx.query_one(&statement, &[&org, &kind]).await?.try_get(0)?;
    let latest =
        u32::try_from(latest).map_err(|_| StorageError::Unreadable(format!("flow version {latest}")))?;
    let stored = ApprovalFlow { version: latest + 1, ..flow.clone() };
    let body = serde_json::to_string(&stored).expect("flows always serialize");
    let statement = tx
        .prepare_cached(
            "INSERT INTO approval_flows (org_id, kind, version, body, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(&statement, &[&org, &kind, &i64::from(stored.version), &body, &now_ms]).await?;
    Ok(stored)
}

/// Stores the flow of each approval step of `task_flow` as the next `task_step` version
/// (not the kind's current flow: requests for that step name it) and puts the task flow,
/// with those versions, in every phone's feed.
pub(super) async fn put_task_flow(
    tx: &Tx<'_>,
    org_id: OrgId,
    task_flow: &TaskFlow,
    now_ms: i64,
) -> StorageResult<TaskFlow> {
    let mut stored = task_flow.clone();
    for step in &mut stored.steps {
        if let TaskStepKind::Approval { flow } = &mut step.kind {
            *flow = insert_version(tx, org_id, flow, now_ms).await?;
        }
    }
    feed::put_record(tx, org_id, &Record::TaskFlow(stored.clone()), None).await?;
    Ok(stored)
}

/// The current flow of every kind that has one (the one phones hold), in kind order.
pub(super) async fn current(tx: &Tx<'_>, org_id: OrgId) -> StorageResult<Vec<ApprovalFlow>> {
    let mut flows: Vec<ApprovalFlow> = feed::records(tx, org_id, RecordKind::ApprovalFlow)
        .await?
        .into_iter()
        .filter_map(|stored| match stored.record {
            Record::ApprovalFlow(flow) => Some(flow),
            _ => None,
        })
        .collect();
    flows.sort_by(|a, b| a.kind.as_str().cmp(b.kind.as_str()));
    Ok(flows)
}

/// One version of a kind's flow.
pub(super) async fn get(
    tx: &Tx<'_>,
    org_id: OrgId,
    kind: ApprovalKind,
    version: u32,
) -> StorageResult<Option<ApprovalFlow>> {
    let statement = tx
        .prepare_cached("SELECT body FROM approval_flows WHERE org_id = $1 AND kind = $2 AND version = $3")
        .await?;
    tx.query_opt(&statement, &[&org_id.to_string(), &kind.as_str(), &i64::from(version)])
        .await?
        .as_ref()
        .map(flow)
        .transpose()
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::approval::{Approvers, FlowStep, NoApproverPolicy, StepId, StepRule, TaskFlowStep};
    use fieldkit_domain::model::TaskKind;

    use crate::storage::Storage;

    use super::*;
    use crate::storage::postgres::tests::fresh_storage;

    fn flow() -> ApprovalFlow {
        ApprovalFlow {
            kind: ApprovalKind::TaskStep,
            version: 1,
            steps: vec![FlowStep {
                id: StepId::from("manager"),
                title: "Manager".into(),
                approvers: vec![Approvers::Manager],
                rule: StepRule::AnyOf,
                condition: None,
                timeout: None,
                escalation_only: false,
            }],
            when_no_approver: NoApproverPolicy::Wait,
        }
    }

    #[tokio::test]
    async fn a_task_flows_approval_step_is_a_new_version_that_is_not_the_kinds_current_flow()
    -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let org = storage.create_org("acme", "Acme").await?;
        storage.put_approval_flow(org.id, flow(), 1).await?;
        let task_flow = TaskFlow {
            task_kind: TaskKind::Repair,
            steps: vec![TaskFlowStep {
                id: StepId::from("approval"),
                title: "Approval".into(),
                kind: TaskStepKind::Approval { flow: flow() },
            }],
        };
        let stored = storage.put_task_flow(org.id, task_flow, 2).await?;
        assert_eq!(stored.approval_flow(&StepId::from("approval")).map(|f| f.version), Some(2));
        assert_eq!(
            storage.approval_flow(org.id, ApprovalKind::TaskStep, 2).await?.map(|f| f.version),
            Some(2)
        );
        let current: Vec<u32> = storage.approval_flows(org.id).await?.iter().map(|f| f.version).collect();
        assert_eq!(current, [1], "the org's own task_step flow stays current");
        let published =
            storage.record(org.id, RecordKind::TaskFlow, TaskFlow::record_id(TaskKind::Repair)).await?;
        assert!(matches!(published.map(|s| s.record), Some(Record::TaskFlow(f)) if f == stored));
        Ok(())
    }
}
