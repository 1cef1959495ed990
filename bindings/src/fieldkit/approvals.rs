//! Approvals: the org's approval flows, asking for an approval (leave, a business trip, a
//! discount, a new customer…), the user's requests with where each stands, and, for
//! approvers, the requests waiting for their decision and deciding them. Where a request
//! stands comes from the server (its view reaches the phone with the next sync).

use fieldkit_domain::approval::{ApprovalFlow, ApprovalRequest, ApprovalView, Decision, Verdict};
use fieldkit_engine::MyApproval;

use super::FieldKit;
use crate::error::FieldKitError;
use crate::records::approvals::RequestSubjectInput;
use crate::runtime::guard;

#[uniffi::export]
impl FieldKit {
    /// The org's approval flows on this phone, one per kind of request (as of the last
    /// sync): a kind without one cannot be requested. Works offline.
    pub fn approval_flows(&self) -> Result<Vec<ApprovalFlow>, FieldKitError> {
        guard(|| Ok(self.inner.approval_flows()?))
    }

    /// Asks for an approval of `subject`, for `reason` (free text), under the org's flow of
    /// its kind: stored and queued, sent with the next sync. Works offline. Returns the
    /// request; `approvals` lists it, with where it stands once the server has said.
    ///
    /// Fails with `Refused` when no flow of the kind is on this phone (the reason names the
    /// kind; sync, then try again), `InvalidInput` (`subject`) for a range that does not end
    /// after it starts, a bad distance or a negative amount, `InvalidInput` naming a
    /// malformed id or currency, `Unauthorized` without a login. Nothing is stored then.
    pub fn request_approval(
        &self,
        subject: RequestSubjectInput,
        reason: String,
    ) -> Result<ApprovalRequest, FieldKitError> {
        guard(|| {
            let subject = subject.parse()?;
            Ok(self.inner.request_approval(subject, reason)?)
        })
    }

    /// The user's approval requests, newest first: each with the server's latest view
    /// (status, steps, comments) once it has arrived, whether the server has the request
    /// yet, and the server's reason if it refused it for good. Works offline.
    pub fn approvals(&self) -> Result<Vec<MyApproval>, FieldKitError> {
        guard(|| Ok(self.inner.approvals()?))
    }

    /// The requests on this phone waiting for the user's decision, oldest first (an
    /// approver's inbox). A request reaches the phones of its requester's manager and the
    /// org's admins; an approver outside the requester's department decides in the
    /// dashboard. Works offline.
    pub fn approvals_to_decide(&self) -> Result<Vec<ApprovalView>, FieldKitError> {
        guard(|| Ok(self.inner.approvals_to_decide()?))
    }

    /// Approves or rejects request `request_id` at the step it waits at, with `comment`
    /// (why, for a rejection). Stored and queued; the server checks it at the next sync and
    /// the request's new standing reaches everyone's phone. Works offline.
    ///
    /// Fails with `Refused` when the request is not on this phone or not waiting for this
    /// user's decision (the reason says why), `InvalidInput` naming a malformed id,
    /// `Unauthorized` without a login. Nothing is stored then.
    pub fn decide_approval(
        &self,
        request_id: String,
        verdict: Verdict,
        comment: String,
    ) -> Result<Decision, FieldKitError> {
        guard(|| {
            let id = crate::fieldkit::parse_id("request_id", &request_id)?;
            Ok(self.inner.decide_approval(id, verdict, comment)?)
        })
    }
}
