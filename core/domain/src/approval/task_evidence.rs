//! The evidence an action step of a task flow asks for (a photo, an order, a stock count,
//! a submitted form), looked for in the task's visits: the visits whose check-in names the
//! task. The phone and the server ask the same question of what each holds.

use std::collections::BTreeSet;

use crate::ids::{TaskId, VisitId};
use crate::model::{FormResponse, SopStepKind};
use crate::protocol::Fact;

/// What `evidence` still lacks for task `task_id` among `facts` and `responses` (`None`
/// when it is there): `"photo"`, `"order"`, `"stock count"` or `"form"`.
#[must_use]
pub fn missing_evidence(
    evidence: &SopStepKind,
    task_id: TaskId,
    facts: &[&Fact],
    responses: &[&FormResponse],
) -> Option<&'static str> {
    let visits: BTreeSet<VisitId> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::CheckIn(c) if c.task_id == Some(task_id) => Some(c.visit_id),
            _ => None,
        })
        .collect();
    let in_task = |visit: Option<VisitId>| visit.is_some_and(|v| visits.contains(&v));
    let found = match evidence {
        SopStepKind::Photo => facts.iter().any(|f| matches!(f, Fact::Photo(p) if in_task(p.visit_id))),
        SopStepKind::Order => facts.iter().any(|f| matches!(f, Fact::Order(o) if in_task(o.visit_id))),
        SopStepKind::StockCount => {
            facts.iter().any(|f| matches!(f, Fact::StockCount(s) if in_task(s.visit_id)))
        }
        SopStepKind::Form { template_id } => {
            responses.iter().any(|r| r.submitted && r.template_id == *template_id && in_task(r.visit_id))
        }
    };
    (!found).then_some(match evidence {
        SopStepKind::Photo => "photo",
        SopStepKind::Order => "order",
        SopStepKind::StockCount => "stock count",
        SopStepKind::Form { .. } => "form",
    })
}
