//! The server's own count of a visit's open SOP steps, from the visit and task documents it
//! holds and the org's SOP templates — so a check-out that claims fewer open steps than the
//! visit shows (a phone edited on the way) is caught. Computed when check-outs are listed:
//! the visit document of a push is stored after its facts, so receipt is too early.

use automerge::ActorId;
use fieldkit_domain::docs::{self, task, visit};
use fieldkit_domain::ids::{OrgId, VisitId};
use fieldkit_domain::model::SopTemplate;
use fieldkit_domain::protocol::{Record, RecordKind};

use crate::storage::{Storage, StorageResult};

/// The org's SOP templates.
pub(crate) async fn templates(storage: &dyn Storage, org: OrgId) -> StorageResult<Vec<SopTemplate>> {
    Ok(storage
        .records(org, RecordKind::SopTemplate)
        .await?
        .into_iter()
        .filter_map(|r| match r.record {
            Record::SopTemplate(t) => Some(t),
            _ => None,
        })
        .collect())
}

/// The required steps of `visit_id`'s SOP it has not completed; `None` when the server has
/// no such visit, it has no task, or its task's kind has no SOP.
pub(crate) async fn open_required_steps(
    storage: &dyn Storage,
    org: OrgId,
    visit_id: VisitId,
    sops: &[SopTemplate],
    actor: &ActorId,
) -> StorageResult<Option<Vec<u32>>> {
    let Some(stored) = storage.doc(org, RecordKind::Visit, visit_id.0).await? else { return Ok(None) };
    let Ok(visit) = docs::load(&stored.state, actor.clone()).and_then(|d| visit::project(&d)) else {
        return Ok(None);
    };
    let Some(task_id) = visit.task_id else { return Ok(None) };
    let Some(stored) = storage.doc(org, RecordKind::Task, task_id.0).await? else { return Ok(None) };
    let Ok(task) = docs::load(&stored.state, actor.clone()).and_then(|d| task::project(&d)) else {
        return Ok(None);
    };
    Ok(sops.iter().find(|s| s.task_kind == task.kind).map(|sop| sop.open_required(&visit.completed_steps)))
}
