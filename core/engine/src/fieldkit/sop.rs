//! SOP enforcement: a visit for a task follows the SOP template of the task's kind. Steps
//! are completed in order (a step waits for every earlier required step), a step that asks
//! for something (a photo, an order, a form) is complete only when it exists in the visit,
//! and a check-out with required steps open is refused or flagged, as the org decides.

use fieldkit_domain::model::{SopStepKind, SopTemplate, Visit};
use fieldkit_domain::protocol::{Fact, Record, RecordKind};
use rusqlite::Connection;

use fieldkit_domain::ids::VisitId;

use super::FieldKit;
use crate::error::{Error, Result};
use crate::store::{facts, records, tasks, visits};

/// Why a step cannot be marked complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepProblem {
    /// The SOP has no such step.
    NoSuchStep {
        /// The step asked for.
        step: u32,
        /// How many steps the SOP has.
        steps: u32,
    },
    /// Earlier required steps are still open.
    OutOfOrder {
        /// The step asked for.
        step: u32,
        /// The required steps before it still open.
        missing: Vec<u32>,
    },
    /// The step asks for a photo, an order or a submitted form the visit does not have yet.
    EvidenceMissing {
        /// The step asked for.
        step: u32,
        /// What it needs: `photo`, `order` or `form`.
        needs: &'static str,
    },
}

impl FieldKit {
    /// The SOP visit `id` follows (the template for its task's kind), so the app can show
    /// its steps; `None` for a visit without a task or an org without such an SOP. Offline;
    /// [`Error::NotFound`] for a visit not on this phone.
    pub fn visit_sop(&self, id: VisitId) -> Result<Option<SopTemplate>> {
        self.store.read(|conn| {
            let visit = visits::get(conn, id)?.ok_or_else(|| Error::NotFound(format!("visit {id}")))?;
            sop_of(conn, &visit)
        })
    }
}

/// The SOP the visit follows: the template for its task's kind, if it has a task and the
/// org has one.
pub(crate) fn sop_of(conn: &Connection, visit: &Visit) -> Result<Option<SopTemplate>> {
    let Some(task_id) = visit.task_id else { return Ok(None) };
    let Some(task) = tasks::get(conn, task_id)? else { return Ok(None) };
    Ok(records::all(conn, RecordKind::SopTemplate)?.into_iter().find_map(|r| match r {
        Record::SopTemplate(t) if t.task_kind == task.kind => Some(t),
        _ => None,
    }))
}

/// Whether `step` of `sop` may be marked complete in `visit` now.
pub(crate) fn check_step(
    conn: &Connection,
    sop: &SopTemplate,
    visit: &Visit,
    step: u32,
) -> Result<Option<StepProblem>> {
    let steps = u32::try_from(sop.steps.len()).unwrap_or(u32::MAX);
    let Some(def) = usize::try_from(step).ok().and_then(|i| sop.steps.get(i)) else {
        return Ok(Some(StepProblem::NoSuchStep { step, steps }));
    };
    let missing: Vec<u32> =
        sop.open_required(&visit.completed_steps).into_iter().filter(|m| *m < step).collect();
    if !missing.is_empty() {
        return Ok(Some(StepProblem::OutOfOrder { step, missing }));
    }
    let in_visit = facts::of_visit(conn, &visit.id.to_string())?;
    let needs = match &def.kind {
        SopStepKind::Photo => (!in_visit.iter().any(|f| matches!(f, Fact::Photo(_)))).then_some("photo"),
        SopStepKind::Order => (!in_visit.iter().any(|f| matches!(f, Fact::Order(_)))).then_some("order"),
        SopStepKind::Form { template_id } => {
            let filled = visits::responses(conn)?
                .iter()
                .any(|r| r.visit_id == Some(visit.id) && r.template_id == *template_id && r.submitted);
            (!filled).then_some("form")
        }
        SopStepKind::StockCount => {
            (!in_visit.iter().any(|f| matches!(f, Fact::StockCount(_)))).then_some("stock count")
        }
    };
    Ok(needs.map(|needs| StepProblem::EvidenceMissing { step, needs }))
}
