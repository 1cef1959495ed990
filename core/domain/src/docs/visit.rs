//! The visit document: opened by the rep's check-in, closed by the check-out, with SOP
//! progress (a grow-only set of completed steps) and notes both rep and manager edit.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, Text};

use super::{DocError, parse_id, read, write};
use crate::ids::FactId;
use crate::model::Visit;

/// The schema of a visit document.
#[derive(Debug, Clone, Reconcile, Hydrate)]
struct VisitDoc {
    id: String,
    customer_id: String,
    task_id: Option<String>,
    rep_id: String,
    check_in_id: String,
    check_out_id: Option<String>,
    started_ms: i64,
    ended_ms: Option<i64>,
    steps_done: BTreeMap<String, bool>,
    notes: Text,
}

/// A change to a visit; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitPatch {
    /// Close the visit with this check-out fact at this device time.
    pub check_out: Option<(FactId, i64)>,
    /// Mark this SOP step completed.
    pub complete_step: Option<u32>,
    /// New notes text.
    pub notes: Option<String>,
}

/// Writes a new visit into an empty document (the phone does this at check-in).
pub fn create(doc: &mut AutoCommit, visit: &Visit) -> Result<(), DocError> {
    let value = VisitDoc {
        id: visit.id.to_string(),
        customer_id: visit.customer_id.to_string(),
        task_id: visit.task_id.map(|t| t.to_string()),
        rep_id: visit.rep_id.to_string(),
        check_in_id: visit.check_in_id.to_string(),
        check_out_id: visit.check_out_id.map(|c| c.to_string()),
        started_ms: visit.started_ms,
        ended_ms: visit.ended_ms,
        steps_done: visit.completed_steps.iter().map(|s| (s.to_string(), true)).collect(),
        notes: Text::with_value(&visit.notes),
    };
    write(doc, &value)
}

/// Reads the visit a document holds.
pub fn project(doc: &AutoCommit) -> Result<Visit, DocError> {
    let d: VisitDoc = read(doc)?;
    let mut completed_steps: Vec<u32> =
        d.steps_done.iter().filter(|(_, done)| **done).filter_map(|(k, _)| k.parse().ok()).collect();
    completed_steps.sort_unstable();
    Ok(Visit {
        id: parse_id("visit id", &d.id)?,
        customer_id: parse_id("customer id", &d.customer_id)?,
        task_id: d.task_id.as_deref().map(|t| parse_id("task id", t)).transpose()?,
        rep_id: parse_id("rep id", &d.rep_id)?,
        check_in_id: parse_id("check-in id", &d.check_in_id)?,
        check_out_id: d.check_out_id.as_deref().map(|c| parse_id("check-out id", c)).transpose()?,
        started_ms: d.started_ms,
        ended_ms: d.ended_ms,
        completed_steps,
        notes: d.notes.as_str().to_owned(),
    })
}

/// Applies a patch as one change.
pub fn apply(doc: &mut AutoCommit, patch: &VisitPatch) -> Result<(), DocError> {
    let mut d: VisitDoc = read(doc)?;
    if let Some((check_out, at)) = patch.check_out {
        d.check_out_id = Some(check_out.to_string());
        d.ended_ms = Some(at);
    }
    if let Some(step) = patch.complete_step {
        d.steps_done.insert(step.to_string(), true);
    }
    if let Some(notes) = &patch.notes {
        d.notes.update(notes);
    }
    write(doc, &d)
}

/// Whether a change from `before` to `after` only does what the visit's rep may do (a rep
/// may not move a visit to another customer, rep or check-in); `Err` names the field.
pub fn check_reps_edit(before: &Visit, after: &Visit) -> Result<(), &'static str> {
    let same = |a: bool, name| if a { Ok(()) } else { Err(name) };
    same(before.id == after.id, "id")?;
    same(before.customer_id == after.customer_id, "customer")?;
    same(before.rep_id == after.rep_id, "rep")?;
    same(before.check_in_id == after.check_in_id, "check-in")?;
    same(before.started_ms == after.started_ms, "start time")
}
