//! Visits: a check-in is judged (the org's rules, the customer's geofence, the previous
//! fix, the device clock) and, if allowed, opens a visit — the check-in fact and the visit
//! document written together; a check-out closes it and says how long it lasted. SOP
//! progress and notes are edits of the visit document.

use fieldkit_domain::checkin::{
    self, CheckInAssessment, CheckInTarget, CheckInTransition, CheckOutTransition, OpenVisit, VisitDuration,
};
use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::docs::task::{self, TaskPatch};
use fieldkit_domain::docs::visit::{self, VisitPatch};
use fieldkit_domain::geo::{validate_accuracy, validate_not_future};
use fieldkit_domain::ids::{CustomerId, FactId, TaskId, UserId, VisitId};
use fieldkit_domain::model::{CheckIn, CheckOut, LocationFix, OrgSettings, SopIncomplete, TaskStatus, Visit};
use fieldkit_domain::protocol::{Fact, Record, RecordKind};
use rusqlite::{Connection, Transaction};

use super::sop::{self, StepProblem};
use super::{FieldKit, settings};
use crate::documents;
use crate::error::{Error, Result};
use crate::session;
use crate::store::docs::DocSession;
use crate::store::{facts, meta, outbox, parse_json, records, to_json, visits};
use crate::time::now_ms;

/// What the rep enters to check in at a customer.
#[derive(Debug, Clone)]
pub struct CheckInInput {
    /// The customer visited.
    pub customer_id: CustomerId,
    /// The task being done, if any.
    pub task_id: Option<TaskId>,
    /// The location fix the OS reported, with its mock flag.
    pub fix: LocationFix,
    /// The rep's note; for a check-in out of range, the reason the org asks for.
    pub note: Option<String>,
}

/// Why a check-in or check-out was refused. Nothing was stored.
#[derive(Debug, Clone, PartialEq)]
pub enum VisitRefusal {
    /// The org's rules reject this check-in; the assessment says why (and whether a stated
    /// reason would let it through).
    Rejected {
        /// The verdict and the geofence numbers.
        assessment: CheckInAssessment,
    },
    /// A visit to this customer is already open: the app shows it instead.
    AlreadyCheckedIn {
        /// The open visit.
        visit_id: VisitId,
    },
    /// A visit to another customer is open and the org wants a check-out first.
    CheckOutFirst {
        /// The open visit.
        open_visit_id: VisitId,
        /// Its customer.
        open_customer_id: CustomerId,
    },
    /// There is no open visit to check out of.
    NoOpenVisit,
    /// The check-out names a visit that is not the open one.
    NotTheOpenVisit {
        /// The visit that is open.
        open_visit_id: VisitId,
    },
    /// Required SOP steps are open and the org refuses check-out until they are done.
    RequiredStepsMissing {
        /// The open required steps.
        missing: Vec<u32>,
    },
    /// An SOP step cannot be marked complete yet.
    Step(StepProblem),
}

impl std::fmt::Display for VisitRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VisitRefusal::Rejected { assessment } => {
                write!(f, "check-in rejected by the org's rules: {:?}", assessment.verdict)
            }
            VisitRefusal::AlreadyCheckedIn { visit_id } => write!(f, "visit {visit_id} is already open here"),
            VisitRefusal::CheckOutFirst { open_visit_id, .. } => {
                write!(f, "check out of open visit {open_visit_id} first")
            }
            VisitRefusal::NoOpenVisit => write!(f, "no visit is open to check out of"),
            VisitRefusal::NotTheOpenVisit { open_visit_id } => {
                write!(f, "the open visit is {open_visit_id}, not the one named")
            }
            VisitRefusal::RequiredStepsMissing { missing } => {
                write!(f, "required sop steps {missing:?} are not done")
            }
            VisitRefusal::Step(StepProblem::NoSuchStep { step, steps }) => {
                write!(f, "sop step {step} does not exist (the sop has {steps})")
            }
            VisitRefusal::Step(StepProblem::OutOfOrder { step, missing }) => {
                write!(f, "sop step {step} waits for required steps {missing:?}")
            }
            VisitRefusal::Step(StepProblem::EvidenceMissing { step, needs }) => {
                write!(f, "sop step {step} needs a {needs} in this visit first")
            }
        }
    }
}

/// A closed visit: the check-out fact and how long the visit lasted.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CheckedOut {
    /// The check-out fact, with the phone's verdict.
    pub check_out: CheckOut,
    /// Check-in to check-out, and the clock it was measured on.
    pub duration: VisitDuration,
}

/// Refuses a fix that is malformed or stamped in the future (the point itself was checked
/// when it was built).
pub(crate) fn validate_fix(fix: &LocationFix, at: &EventTime, settings: &OrgSettings) -> Result<()> {
    validate_accuracy(fix.accuracy_m)?;
    let reference_ms = at.server_estimate_ms.map_or(at.device_ms, |s| s.max(at.device_ms));
    validate_not_future(fix.fix_time_ms, reference_ms, settings.check_in.max_clock_skew_ms)?;
    Ok(())
}

/// The rep's latest fix before `fix_time_ms`, for the impossible-speed check.
fn previous_fix(conn: &Connection, fix_time_ms: i64) -> Result<Option<LocationFix>> {
    let last: Option<LocationFix> =
        meta::get(conn, meta::LAST_FIX)?.map(|s| parse_json("last fix", &s)).transpose()?;
    Ok(last.filter(|p| p.fix_time_ms < fix_time_ms))
}

/// Remembers `fix` as the rep's latest, unless a later one is known.
pub(crate) fn remember_fix(tx: &Transaction<'_>, fix: &LocationFix) -> Result<()> {
    let last: Option<LocationFix> =
        meta::get(tx, meta::LAST_FIX)?.map(|s| parse_json("last fix", &s)).transpose()?;
    if last.is_none_or(|l| l.fix_time_ms < fix.fix_time_ms) {
        meta::set(tx, meta::LAST_FIX, &to_json(fix))?;
    }
    Ok(())
}

/// The required SOP steps `visit_id` has open (none without an SOP).
fn missing_steps(conn: &Connection, visit_id: VisitId) -> Result<Vec<u32>> {
    let Some(visit) = visits::get(conn, visit_id)? else { return Ok(Vec::new()) };
    Ok(sop::sop_of(conn, &visit)?.map(|t| t.open_required(&visit.completed_steps)).unwrap_or_default())
}

/// The customer's geofence, if the customer is on this phone.
fn target(conn: &Connection, customer_id: CustomerId) -> Result<Option<CheckInTarget>> {
    Ok(match records::get(conn, RecordKind::Customer, customer_id.0)? {
        Some(Record::Customer(c)) => Some(CheckInTarget::of_customer(&c)),
        _ => None,
    })
}

/// The visit `rep` has open on this phone, if any.
fn open_visit(conn: &Connection, rep: UserId) -> Result<Option<OpenVisit>> {
    let Some(visit) = visits::open_of(conn, rep)? else { return Ok(None) };
    let checked_in = match facts::check_in_of(conn, &visit.id.to_string())? {
        Some(check_in) => check_in.at,
        // Opened on another phone of the rep's: only its device time is known here.
        None => EventTime {
            device_ms: visit.started_ms,
            hlc: Hlc { wall_ms: visit.started_ms.unsigned_abs(), counter: 0, node: 0 },
            server_estimate_ms: None,
        },
    };
    Ok(Some(OpenVisit { visit_id: visit.id, customer_id: visit.customer_id, checked_in }))
}

impl FieldKit {
    /// Checks in at a customer: judges the fix under the org's rules and, if allowed, stores
    /// the check-in fact (with the verdict), the visit it opens and (for a task still open)
    /// the task moving to in-progress, durably and queued, in one transaction. Offline.
    ///
    /// Refusals are [`Error::Refused`], with nothing stored: rejected by the rules, already
    /// checked in here, or (unless the org closes it automatically) a visit elsewhere still
    /// open. A customer not yet on this phone cannot be judged here: the check-in is kept
    /// without a phone verdict and the server judges it. A check-in let through flagged as
    /// too far also raises an out-of-range approval request when the org has that flow.
    pub fn check_in(&self, input: CheckInInput) -> Result<CheckIn> {
        let user = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user;
        let rep = user.id;
        let now = now_ms();
        self.write_local(|tx, docs| {
            let settings = settings::load(tx)?;
            let at = self.event_time(tx, now)?;
            validate_fix(&input.fix, &at, &settings)?;
            let open = open_visit(tx, rep)?;
            let close =
                match checkin::on_check_in(open.as_ref(), input.customer_id, settings.check_in.open_visit) {
                    CheckInTransition::Open => None,
                    CheckInTransition::AlreadyCheckedIn { visit_id } => {
                        return Err(Error::Refused(VisitRefusal::AlreadyCheckedIn { visit_id }));
                    }
                    CheckInTransition::CheckOutFirst { open_visit_id, open_customer_id } => {
                        return Err(Error::Refused(VisitRefusal::CheckOutFirst {
                            open_visit_id,
                            open_customer_id,
                        }));
                    }
                    CheckInTransition::AutoCheckOutThenOpen { .. } => open,
                };
            let previous = previous_fix(tx, input.fix.fix_time_ms)?;
            let assessment = target(tx, input.customer_id)?
                .map(|target| {
                    let judged = checkin::CheckInInput {
                        fix: input.fix,
                        target,
                        previous_fix: previous,
                        device_now_ms: at.device_ms,
                        server_estimate_ms: at.server_estimate_ms,
                        stated_reason: input.note.clone(),
                    };
                    checkin::assess_check_in(&judged, &settings.check_in)
                })
                .transpose()?;
            if let Some(assessment) = &assessment
                && !assessment.verdict.is_allowed()
            {
                return Err(Error::Refused(VisitRefusal::Rejected { assessment: assessment.clone() }));
            }
            if let Some(open) = close {
                self.close_visit(tx, docs, &open, rep, input.fix, at, true, &settings, now)?;
            }
            let check_in = CheckIn {
                id: FactId::new(),
                visit_id: VisitId::new(),
                customer_id: input.customer_id,
                task_id: input.task_id,
                rep_id: rep,
                fix: input.fix,
                at,
                note: input.note,
                assessment,
            };
            self.open_visit_with(tx, docs, &check_in, now)?;
            remember_fix(tx, &check_in.fix)?;
            self.ask_to_approve_distance(tx, &user, &check_in, now)?;
            Ok(check_in)
        })
    }

    /// When the org has an out-of-range check-in flow and `check_in` was let through only
    /// flagged as too far, raises the approval request for it in the same transaction (the
    /// rep's stated reason is the request's reason).
    fn ask_to_approve_distance(
        &self,
        tx: &rusqlite::Transaction<'_>,
        user: &fieldkit_domain::model::User,
        check_in: &CheckIn,
        now: i64,
    ) -> Result<()> {
        let Some(assessment) = &check_in.assessment else { return Ok(()) };
        let checkin::Verdict::Flagged { reasons, .. } = &assessment.verdict else { return Ok(()) };
        if !reasons.iter().any(|r| matches!(r, checkin::Reason::TooFar { .. })) {
            return Ok(());
        }
        let kind = fieldkit_domain::approval::ApprovalKind::OutOfRangeCheckIn;
        let Some(flow) = super::approvals::flow_of(tx, kind)? else { return Ok(()) };
        let subject = fieldkit_domain::approval::RequestSubject::OutOfRangeCheckIn {
            visit_id: check_in.visit_id,
            customer_id: check_in.customer_id,
            distance_m: assessment.distance_m,
        };
        self.queue_request(tx, user, &flow, subject, check_in.note.clone().unwrap_or_default(), now)?;
        Ok(())
    }

    /// Checks out of the open visit `visit_id`: judges the fix (out of range only flags),
    /// stores the check-out fact and the visit's end in one transaction, and says how long
    /// the visit lasted. Offline. A check-out with no open visit, or naming another visit
    /// than the open one, is [`Error::Refused`].
    pub fn check_out(&self, visit_id: VisitId, fix: LocationFix) -> Result<CheckedOut> {
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        let now = now_ms();
        self.write_local(|tx, docs| {
            let settings = settings::load(tx)?;
            let at = self.event_time(tx, now)?;
            validate_fix(&fix, &at, &settings)?;
            let open = open_visit(tx, rep)?;
            match checkin::on_check_out(open.as_ref(), visit_id, &at)? {
                CheckOutTransition::NoOpenVisit => Err(Error::Refused(VisitRefusal::NoOpenVisit)),
                CheckOutTransition::NotTheOpenVisit { open_visit_id } => {
                    Err(Error::Refused(VisitRefusal::NotTheOpenVisit { open_visit_id }))
                }
                CheckOutTransition::Close { duration, .. } => {
                    let open = open.expect("a visit to close is open");
                    let missing = missing_steps(tx, open.visit_id)?;
                    if !missing.is_empty() && settings.sop_incomplete == SopIncomplete::Refuse {
                        return Err(Error::Refused(VisitRefusal::RequiredStepsMissing { missing }));
                    }
                    let check_out = self.close_visit(tx, docs, &open, rep, fix, at, false, &settings, now)?;
                    remember_fix(tx, &fix)?;
                    Ok(CheckedOut { check_out, duration })
                }
            }
        })
    }

    /// Writes the check-out fact closing `open` and the visit's end.
    #[allow(clippy::too_many_arguments)]
    fn close_visit(
        &self,
        tx: &Transaction<'_>,
        docs: &mut DocSession<'_>,
        open: &OpenVisit,
        rep: UserId,
        fix: LocationFix,
        at: EventTime,
        automatic: bool,
        settings: &OrgSettings,
        now: i64,
    ) -> Result<CheckOut> {
        let previous = previous_fix(tx, fix.fix_time_ms)?;
        let assessment = target(tx, open.customer_id)?
            .map(|target| {
                let judged = checkin::CheckInInput {
                    fix,
                    target,
                    previous_fix: previous,
                    device_now_ms: at.device_ms,
                    server_estimate_ms: at.server_estimate_ms,
                    stated_reason: None,
                };
                checkin::assess_check_out(&judged, &settings.check_in)
            })
            .transpose()?;
        let check_out = CheckOut {
            id: FactId::new(),
            visit_id: open.visit_id,
            customer_id: open.customer_id,
            rep_id: rep,
            fix,
            at,
            automatic,
            assessment,
            // An automatic check-out closes the visit whatever the policy; it is flagged.
            sop_missing: missing_steps(tx, open.visit_id)?,
        };
        documents::edit(tx, docs, RecordKind::Visit, open.visit_id.0, now, |doc| {
            visit::apply(doc, &VisitPatch { check_out: Some((check_out.id, now)), ..VisitPatch::default() })
        })?;
        let visit_id = open.visit_id.to_string();
        facts::insert(tx, &Fact::CheckOut(check_out.clone()), Some(visit_id), now)?;
        outbox::append(tx, outbox::KIND_FACT, &check_out.id.to_string(), now)?;
        Ok(check_out)
    }

    /// Writes the check-in fact, the visit document it opens and the task's move to
    /// in-progress.
    fn open_visit_with(
        &self,
        tx: &Transaction<'_>,
        docs: &mut DocSession<'_>,
        check_in: &CheckIn,
        now: i64,
    ) -> Result<()> {
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
        documents::create(tx, docs, RecordKind::Visit, visit.id.0, now, |doc| visit::create(doc, &visit))?;
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
        Ok(())
    }

    /// Marks an SOP step of a visit completed and/or replaces the visit's notes. For a visit
    /// that follows an SOP, a step is refused ([`VisitRefusal::Step`]) until the required
    /// steps before it are done and what it asks for (photo, order, submitted form) is in the
    /// visit.
    pub fn update_visit(
        &self,
        id: VisitId,
        complete_step: Option<u32>,
        notes: Option<String>,
    ) -> Result<Visit> {
        let patch = VisitPatch { complete_step, notes, ..VisitPatch::default() };
        self.write_local(|tx, docs| {
            if visits::is_closed(tx, RecordKind::Visit, id.0)? {
                return Err(Error::Closed(format!("visit {id}")));
            }
            if let Some(step) = complete_step
                && let Some(visit) = visits::get(tx, id)?
                && let Some(template) = sop::sop_of(tx, &visit)?
                && let Some(problem) = sop::check_step(tx, &template, &visit, step)?
            {
                return Err(Error::Refused(VisitRefusal::Step(problem)));
            }
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

    /// The visit the logged-in rep has open, if any.
    pub fn open_visit(&self) -> Result<Option<Visit>> {
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        self.store.read(|conn| visits::open_of(conn, rep))
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
