//! Check-in, check-out, SOP steps and the open visit.

use fieldkit_domain::ids::{CustomerId, VisitId};

use super::{FieldKit, parse_id, parse_opt_id};
use crate::error::FieldKitError;
use fieldkit_domain::model::{CheckIn, LocationFix, Visit};
use fieldkit_engine::CheckedOut;

use crate::records::geo::checked_fix;
use crate::runtime::guard;

#[uniffi::export]
impl FieldKit {
    /// Checks in at a customer with the fix the OS reported: judged under the org's rules
    /// and, if allowed, stored with the visit it opens (and the task moving to in
    /// progress), queued for sync. Works offline. The result carries the verdict: accepted,
    /// or flagged with its reasons (for example too far from the customer, with the rep's
    /// `note` as the stated reason).
    ///
    /// Fails with `Refused` when the rules reject the check-in (its `verdict` says why and
    /// whether a stated reason would let it through), when a visit here is already open,
    /// or when a visit elsewhere must be checked out of first; with `InvalidInput` for a
    /// malformed id or fix; `Unauthorized` when nobody is logged in. Nothing is stored then.
    pub fn check_in(
        &self,
        customer_id: String,
        task_id: Option<String>,
        fix: LocationFix,
        note: Option<String>,
    ) -> Result<CheckIn, FieldKitError> {
        guard(|| {
            let input = fieldkit_engine::CheckInInput {
                customer_id: parse_id::<CustomerId>("customer_id", &customer_id)?,
                task_id: parse_opt_id("task_id", task_id.as_deref())?,
                fix: checked_fix("location", fix)?,
                note,
            };
            Ok(self.inner.check_in(input)?)
        })
    }

    /// Checks out of the open visit `visit_id` with the fix the OS reported (out of range
    /// only flags a check-out). Works offline. Returns how long the visit lasted, the
    /// verdict and the required SOP steps left open.
    ///
    /// Fails with `Refused` when no visit is open, `visit_id` is not the open one, or the
    /// org refuses check-out until the required SOP steps are done.
    pub fn check_out(&self, visit_id: String, fix: LocationFix) -> Result<CheckedOut, FieldKitError> {
        guard(|| {
            let id: VisitId = parse_id("visit_id", &visit_id)?;
            Ok(self.inner.check_out(id, checked_fix("location", fix)?)?)
        })
    }

    /// The visit the logged-in rep has open, or `null`/`nil`. Works offline.
    pub fn open_visit(&self) -> Result<Option<Visit>, FieldKitError> {
        guard(|| Ok(self.inner.open_visit()?))
    }

    /// One visit on this phone, or `null`/`nil`. Works offline.
    pub fn visit(&self, visit_id: String) -> Result<Option<Visit>, FieldKitError> {
        guard(|| Ok(self.inner.visit(parse_id("visit_id", &visit_id)?)?))
    }

    /// The visits on this phone, newest first. Works offline.
    pub fn visits(&self) -> Result<Vec<Visit>, FieldKitError> {
        guard(|| Ok(self.inner.visits()?))
    }

    /// Marks SOP step `complete_step` (an index) of a visit done and/or replaces its notes;
    /// `null`/`nil` leaves that part as it is. Works offline. Returns the visit as it now
    /// stands.
    ///
    /// Fails with `Refused` when the step waits for earlier required steps, or asks for a
    /// photo, an order or a submitted form the visit does not have yet; `NotFound` for a
    /// visit not on this phone.
    pub fn update_visit(
        &self,
        visit_id: String,
        complete_step: Option<u32>,
        notes: Option<String>,
    ) -> Result<Visit, FieldKitError> {
        guard(|| {
            let id: VisitId = parse_id("visit_id", &visit_id)?;
            Ok(self.inner.update_visit(id, complete_step, notes)?)
        })
    }
}
