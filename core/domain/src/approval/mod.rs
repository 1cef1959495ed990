//! Configurable approval flows: what an org's admin defines per kind of request, the
//! requests and decisions (immutable facts synced from phones), and the pure state machine
//! that says where a request stands, who may act and which decisions did not count.
//!
//! - [`flow`](ApprovalFlow): steps with approvers (manager, department head, role, group,
//!   named users), any-of / all-of, conditions, time-outs and escalation; validation.
//! - [`request`](ApprovalRequest): the built-in kinds (out-of-range check-in, new customer,
//!   order discount, leave, business trip, task step) and [`Decision`]s.
//! - [`decide`]: the state at a given time from any set of decisions; [`authorize`].
//! - [`tracking_paused`]: approved leave and trips pause location tracking.
//! - [`TaskFlow`]: ordered task steps, actions or approvals.
//! - [`ApprovalView`]: a request as its requester's phone holds it.
//! - [`discount_allowance`]: an approved order discount as an order's allowance.
//!
//! Org facts (who is whose manager, who heads a department, who holds a role) come in
//! through an [`ApproverDirectory`]; time comes in as Unix milliseconds.

mod decide;
mod directory;
mod discount;
mod flow;
mod leave;
mod request;
mod task_evidence;
mod task_flow;
mod view;

#[cfg(test)]
mod testkit;

pub use decide::{
    ApprovalState, ApprovalStatus, AuthorizeError, DecideError, IgnoreReason, IgnoredDecision, StepOutcome,
    StepRecord, authorize, decide,
};
pub use directory::{ApproverDirectory, StaticDirectory, resolve_approvers};
pub use discount::{AllowanceError, discount_allowance};
pub use flow::{
    ApprovalFlow, Approvers, Escalation, FlowError, FlowStep, NoApproverPolicy, StepCondition, StepRule,
    StepTimeout,
};
pub use leave::{tracking_paused, tracking_pauses};
pub use request::{
    ApprovalKind, ApprovalRequest, Decision, MS_PER_DAY, Quantity, RequestError, RequestSubject, StepId,
    TimeRange, Verdict,
};
pub use task_evidence::missing_evidence;
pub use task_flow::{
    NextTaskStep, TaskFlow, TaskFlowError, TaskFlowStep, TaskProgress, TaskStepDone, TaskStepKind,
};
pub use view::{ApprovalView, DecisionNote, view_of};
