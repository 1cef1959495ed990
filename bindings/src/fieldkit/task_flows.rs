//! Task flows: where a task stands in its kind's ordered steps (e.g. a repair: diagnose →
//! quote → customer approval → repair → sign-off), marking an action step done and asking
//! for an approval step. Steps are done in order; the server checks them again.

use fieldkit_domain::approval::{ApprovalRequest, StepId, TaskStepDone};
use fieldkit_domain::ids::TaskId;
use fieldkit_engine::TaskSteps;

use super::{FieldKit, parse_id};
use crate::error::FieldKitError;
use crate::runtime::guard;

/// Parses a step id the app passed; `InvalidInput` naming `step` when it is empty.
fn parse_step(text: String) -> Result<StepId, FieldKitError> {
    if text.trim().is_empty() {
        return Err(FieldKitError::invalid("step", "a step id must not be empty"));
    }
    Ok(StepId(text))
}

#[uniffi::export]
impl FieldKit {
    /// Where task `task_id` stands in its kind's flow: the flow, the steps done and what it
    /// waits for (`null`/`nil` when its kind has no flow on this phone). Works offline.
    ///
    /// Fails with `InvalidInput` for a malformed id, `NotFound` if the task is not on this
    /// phone.
    pub fn task_steps(&self, task_id: String) -> Result<Option<TaskSteps>, FieldKitError> {
        guard(|| {
            let id: TaskId = parse_id("task_id", &task_id)?;
            Ok(self.inner.task_steps(id)?)
        })
    }

    /// Marks action step `step` of task `task_id` done; stored and queued, sent with the
    /// next sync. Works offline.
    ///
    /// Fails with `InvalidInput` for a malformed id or an empty step, `NotFound` if the task
    /// is not on this phone, `Refused` when its kind has no flow here or the step is not
    /// due (the reason names the step due), already done or an approval step. Nothing is
    /// stored then.
    pub fn complete_task_step(&self, task_id: String, step: String) -> Result<TaskStepDone, FieldKitError> {
        guard(|| {
            let id: TaskId = parse_id("task_id", &task_id)?;
            Ok(self.inner.complete_task_step(id, parse_step(step)?)?)
        })
    }

    /// Asks for approval step `step` of task `task_id` (with the amount at stake, minor
    /// units, if any, and a reason), under the step's own flow; stored and queued. Works
    /// offline; `approvals` lists it.
    ///
    /// Fails with `InvalidInput` for a malformed id, an empty step or a negative amount,
    /// `NotFound` if the task is not on this phone, `Refused` when its kind has no flow here
    /// or the step is not due, already approved or an action step. Nothing is stored then.
    pub fn request_task_step_approval(
        &self,
        task_id: String,
        step: String,
        amount_minor: Option<i64>,
        reason: String,
    ) -> Result<ApprovalRequest, FieldKitError> {
        guard(|| {
            let id: TaskId = parse_id("task_id", &task_id)?;
            Ok(self.inner.request_task_step_approval(id, parse_step(step)?, amount_minor, reason)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fieldkit::tests::open_fresh;

    #[test]
    fn the_task_step_calls_name_a_malformed_id_or_step_and_an_unknown_task_is_not_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let kit = open_fresh(&dir);
        let bad = kit.task_steps("forty-two".into());
        assert!(
            matches!(bad, Err(FieldKitError::InvalidInput { ref field, .. }) if field == "task_id"),
            "{bad:?}"
        );
        let task = TaskId::new().to_string();
        let empty = kit.request_task_step_approval(task.clone(), " ".into(), None, String::new());
        assert!(
            matches!(empty, Err(FieldKitError::InvalidInput { ref field, .. }) if field == "step"),
            "{empty:?}"
        );
        let unknown = kit.task_steps(task.clone());
        assert!(matches!(unknown, Err(FieldKitError::NotFound { .. })), "{unknown:?}");
        let no_login = kit.complete_task_step(task, "diagnose".into());
        assert!(matches!(no_login, Err(FieldKitError::Unauthorized { .. })), "{no_login:?}");
    }
}
