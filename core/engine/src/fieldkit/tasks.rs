//! The rep's tasks and customers: read them, move a task forward, edit its notes.

use fieldkit_domain::docs::task::{self, TaskPatch};
use fieldkit_domain::ids::{CustomerId, TaskId};
use fieldkit_domain::model::{Customer, Task, TaskStatus};
use fieldkit_domain::protocol::{Record, RecordKind};

use super::FieldKit;
use crate::documents;
use crate::error::Result;
use crate::store::{records, tasks};
use crate::time::now_ms;

impl FieldKit {
    /// The tasks assigned to me, soonest deadline first.
    pub fn my_tasks(&self) -> Result<Vec<Task>> {
        self.store.read(tasks::all)
    }

    /// Moves a task forward (a status never moves back: [`crate::Error::Document`] if asked
    /// to) and/or replaces its notes; works offline, merged with the manager's edits at sync.
    /// A task whose kind has a flow cannot be moved to done before the flow is finished
    /// ([`crate::Error::TaskStep`] naming the step due).
    pub fn update_task(&self, id: TaskId, status: Option<TaskStatus>, notes: Option<String>) -> Result<Task> {
        let patch = TaskPatch { status, notes, ..TaskPatch::default() };
        self.write_local(|tx, docs| {
            if status == Some(TaskStatus::Done) {
                super::task_flows::check_finished(tx, id)?;
            }
            documents::edit(tx, docs, RecordKind::Task, id.0, now_ms(), |doc| {
                task::apply(doc, &patch)?;
                task::project(doc)
            })
        })
    }

    /// The customers this phone knows.
    pub fn customers(&self) -> Result<Vec<Customer>> {
        let all = self.store.read(|c| records::all(c, RecordKind::Customer))?;
        Ok(all.into_iter().filter_map(|r| if let Record::Customer(c) = r { Some(c) } else { None }).collect())
    }

    /// A customer this phone knows.
    pub fn customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        Ok(match self.store.read(|c| records::get(c, RecordKind::Customer, id.0))? {
            Some(Record::Customer(c)) => Some(c),
            _ => None,
        })
    }
}
