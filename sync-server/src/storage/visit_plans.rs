//! What storage keeps of the visit plans the server generates by customer grade: one entry
//! per customer and local date, with the task that carries the visit to the rep's phone.

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{CustomerId, TaskId, UserId};
use fieldkit_domain::model::Task;

use super::DocUpdate;

/// A planned visit as stored, with its task as it stands now.
#[derive(Debug, Clone)]
pub struct PlanEntry {
    /// The customer to visit.
    pub customer_id: CustomerId,
    /// The local date (the org's `working_hours.offset`).
    pub date: CivilDate,
    /// The customer's owner when it was planned (the task's first assignee).
    pub rep_id: UserId,
    /// The task carrying the visit.
    pub task_id: TaskId,
    /// The grade's interval in days when it was planned.
    pub interval_days: u32,
    /// The task's projection now (`None`: the task was deleted).
    pub task: Option<Task>,
}

/// A visit to plan, for [`super::Storage::add_plan_entries`].
pub struct NewPlanEntry {
    /// The customer to visit.
    pub customer_id: CustomerId,
    /// The local date.
    pub date: CivilDate,
    /// The rep who visits (the task's assignee).
    pub rep_id: UserId,
    /// The grade's interval in days.
    pub interval_days: u32,
    /// Creates the visit's task (see `routes::tasks::creation`); the entry records its id.
    pub task: DocUpdate,
}
