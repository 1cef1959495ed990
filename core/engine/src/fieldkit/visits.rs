//! Visits: check-in opens one (a check-in fact and a visit document, written together),
//! check-out closes it; SOP progress and notes are edits of the visit document.

use fieldkit_domain::DomainError;
use fieldkit_domain::docs::task::{self, TaskPatch};
use fieldkit_domain::docs::visit::{self, VisitPatch};
use fieldkit_domain::ids::{CustomerId, FactId, TaskId, VisitId};
use fieldkit_domain::model::{CheckIn, CheckOut, LocationFix, TaskStatus, Visit};
use fieldkit_domain::protocol::{Fact, RecordKind};

use super::FieldKit;
use crate::documents;
use crate::error::{Error, Result};
use crate::session;
use crate::store::{facts, outbox, visits};
use crate::time::now_ms;

/// What the rep enters to check in at a customer.
#[derive(Debug, Clone)]
pub struct CheckInInput {
    /// The customer visited.
    pub customer_id: CustomerId,
    /// The task being done, if any.
    pub task_id: Option<TaskId>,
    /// The location fix the OS reported.
    pub fix: LocationFix,
    /// The rep's note.
    pub note: Option<String>,
}

fn validate_fix(fix: &LocationFix) -> Result<()> {
    if !(fix.accuracy_m.is_finite() && fix.accuracy_m >= 0.0) {
        return Err(DomainError::BadMetres { field: "accuracy_m", value: fix.accuracy_m }.into());
    }
    Ok(())
}

impl FieldKit {
    /// Records a check-in: the fact, the visit it opens and (for a task still open) the
    /// task moving to in-progress, stored durably and queued in one transaction. Offline.
    pub fn check_in(&self, input: CheckInInput) -> Result<CheckIn> {
        validate_fix(&input.fix)?;
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        let now = now_ms();
        self.write_local(|tx, docs| {
            let check_in = CheckIn {
                id: FactId::new(),
                visit_id: VisitId::new(),
                customer_id: input.customer_id,
                task_id: input.task_id,
                rep_id: session.user.id,
                fix: input.fix,
                at: self.event_time(tx, now)?,
                note: input.note,
                assessment: None,
            };
            facts::insert(tx, &Fact::CheckIn(check_in.clone()), Some(check_in.visit_id.to_string()), now)?;
            outbox::append(tx, outbox::KIND_FACT, &check_in.id.to_string(), now)?;
            let visit = Visit {
                id: check_in.visit_id,
                customer_id: check_in.customer_id,
                task_id: check_in.task_id,
                rep_id: check_in.rep_id,
                check_in_id: check_in.id,
                check_out_id: None,
                started_ms: now,
                ended_ms: None,
                completed_steps: Vec::new(),
                notes: String::new(),
            };
            documents::create(tx, docs, RecordKind::Visit, visit.id.0, now, |doc| {
                visit::create(doc, &visit)
            })?;
            if let Some(task_id) = check_in.task_id
                && docs.get(tx, RecordKind::Task, task_id.0)?.is_some()
            {
                documents::edit(tx, docs, RecordKind::Task, task_id.0, now, |doc| {
                    if task::project(doc)?.status == TaskStatus::Open {
                        task::apply(
                            doc,
                            &TaskPatch { status: Some(TaskStatus::InProgress), ..TaskPatch::default() },
                        )?;
                    }
                    Ok(())
                })?;
            }
            Ok(check_in)
        })
    }

    /// Records a check-out closing `visit_id`: the fact and the visit's end, in one
    /// transaction. Offline.
    pub fn check_out(&self, visit_id: VisitId, fix: LocationFix) -> Result<CheckOut> {
        validate_fix(&fix)?;
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        let now = now_ms();
        self.write_local(|tx, docs| {
            let open =
                visits::get(tx, visit_id)?.ok_or_else(|| Error::NotFound(format!("visit {visit_id}")))?;
            let check_out = CheckOut {
                id: FactId::new(),
                visit_id,
                customer_id: open.customer_id,
                rep_id: session.user.id,
                fix,
                at: self.event_time(tx, now)?,
                automatic: false,
                assessment: None,
            };
            documents::edit(tx, docs, RecordKind::Visit, visit_id.0, now, |doc| {
                visit::apply(
                    doc,
                    &VisitPatch { check_out: Some((check_out.id, now)), ..VisitPatch::default() },
                )
            })?;
            facts::insert(tx, &Fact::CheckOut(check_out.clone()), Some(visit_id.to_string()), now)?;
            outbox::append(tx, outbox::KIND_FACT, &check_out.id.to_string(), now)?;
            Ok(check_out)
        })
    }

    /// Marks an SOP step of a visit completed and/or replaces the visit's notes.
    pub fn update_visit(
        &self,
        id: VisitId,
        complete_step: Option<u32>,
        notes: Option<String>,
    ) -> Result<Visit> {
        let patch = VisitPatch { complete_step, notes, ..VisitPatch::default() };
        self.write_local(|tx, docs| {
            documents::edit(tx, docs, RecordKind::Visit, id.0, now_ms(), |doc| {
                visit::apply(doc, &patch)?;
                visit::project(doc)
            })
        })
    }

    /// One visit on this phone.
    pub fn visit(&self, id: VisitId) -> Result<Option<Visit>> {
        self.store.read(|conn| visits::get(conn, id))
    }

    /// The visits on this phone, newest first.
    pub fn visits(&self) -> Result<Vec<Visit>> {
        self.store.read(visits::all)
    }

    /// The check-ins recorded on this phone, oldest first.
    pub fn check_ins(&self) -> Result<Vec<CheckIn>> {
        self.store.read(facts::check_ins)
    }
}
