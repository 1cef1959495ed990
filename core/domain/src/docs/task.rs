//! The task document: details the manager edits, progress and notes the rep edits.
//!
//! Progress is a grow-only set of marks (`in_progress`, `done`, `cancelled`), never a single
//! overwritable status, so a stale manager edit cannot reopen a task the rep finished
//! offline. The status shown is the furthest mark: `done` beats `cancelled` (the work was
//! done), either beats `in_progress`, which beats `open`. Reopening is not an edit; it is a
//! new task.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, Text};

use super::{DocError, parse_id, read, write};
use crate::ids::{CustomerId, TaskId, UserId};
use crate::model::{Place, Task, TaskKind, TaskStatus, WgsPoint};

/// A place inside a document.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct PlaceDoc {
    lat: f64,
    lng: f64,
    address: String,
}

impl From<&Place> for PlaceDoc {
    fn from(p: &Place) -> Self {
        Self { lat: p.point.lat(), lng: p.point.lng(), address: p.address.clone() }
    }
}

impl PlaceDoc {
    fn to_place(&self) -> Result<Place, DocError> {
        Ok(Place { point: WgsPoint::new(self.lat, self.lng)?, address: self.address.clone() })
    }
}

/// The schema of a task document.
#[derive(Debug, Clone, Reconcile, Hydrate)]
struct TaskDoc {
    id: String,
    kind: String,
    title: String,
    goal: String,
    deadline_ms: Option<i64>,
    place: Option<PlaceDoc>,
    customer_id: Option<String>,
    assignee_id: Option<String>,
    progress: BTreeMap<String, bool>,
    notes: Text,
}

/// A change to a task; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskPatch {
    /// New title.
    pub title: Option<String>,
    /// New goal.
    pub goal: Option<String>,
    /// New deadline (`Some(None)` clears it).
    pub deadline_ms: Option<Option<i64>>,
    /// New place (`Some(None)` clears it).
    pub place: Option<Option<Place>>,
    /// New customer (`Some(None)` clears it).
    pub customer_id: Option<Option<CustomerId>>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee_id: Option<Option<UserId>>,
    /// Move the task forward to this status.
    pub status: Option<TaskStatus>,
    /// New notes text (merged with concurrent edits character by character).
    pub notes: Option<String>,
}

impl TaskPatch {
    /// Whether the patch touches only what a rep may change: status and notes.
    #[must_use]
    pub fn is_reps_own(&self) -> bool {
        self.title.is_none()
            && self.goal.is_none()
            && self.deadline_ms.is_none()
            && self.place.is_none()
            && self.customer_id.is_none()
            && self.assignee_id.is_none()
    }
}

fn kind_name(kind: TaskKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn mark_of(status: TaskStatus) -> Option<&'static str> {
    match status {
        TaskStatus::Open => None,
        other => Some(other.as_str()),
    }
}

fn status_of(progress: &BTreeMap<String, bool>) -> TaskStatus {
    let has = |s: TaskStatus| progress.get(s.as_str()).copied().unwrap_or(false);
    [TaskStatus::Done, TaskStatus::Cancelled, TaskStatus::InProgress]
        .into_iter()
        .find(|s| has(*s))
        .unwrap_or(TaskStatus::Open)
}

/// Writes a new task into an empty document (the server does this when a task is created).
pub fn create(doc: &mut AutoCommit, task: &Task) -> Result<(), DocError> {
    let mut progress = BTreeMap::new();
    if let Some(mark) = mark_of(task.status) {
        progress.insert(mark.to_owned(), true);
    }
    let value = TaskDoc {
        id: task.id.to_string(),
        kind: kind_name(task.kind),
        title: task.title.clone(),
        goal: task.goal.clone(),
        deadline_ms: task.deadline_ms,
        place: task.place.as_ref().map(PlaceDoc::from),
        customer_id: task.customer_id.map(|c| c.to_string()),
        assignee_id: task.assignee_id.map(|a| a.to_string()),
        progress,
        notes: Text::with_value(&task.notes),
    };
    write(doc, &value)
}

/// Reads the task a document holds.
pub fn project(doc: &AutoCommit) -> Result<Task, DocError> {
    let d: TaskDoc = read(doc)?;
    let kind: TaskKind = serde_json::from_value(serde_json::Value::String(d.kind.clone()))
        .map_err(|_| DocError::Shape(format!("task kind {:?} is unknown", d.kind)))?;
    Ok(Task {
        id: parse_id::<TaskId>("task id", &d.id)?,
        kind,
        title: d.title,
        goal: d.goal,
        deadline_ms: d.deadline_ms,
        place: d.place.as_ref().map(PlaceDoc::to_place).transpose()?,
        customer_id: d.customer_id.as_deref().map(|c| parse_id("customer id", c)).transpose()?,
        assignee_id: d.assignee_id.as_deref().map(|a| parse_id("assignee id", a)).transpose()?,
        status: status_of(&d.progress),
        notes: d.notes.as_str().to_owned(),
    })
}

/// Applies a patch as one change. Moving the status back is refused and changes nothing.
pub fn apply(doc: &mut AutoCommit, patch: &TaskPatch) -> Result<(), DocError> {
    let mut d: TaskDoc = read(doc)?;
    if let Some(to) = patch.status {
        let from = status_of(&d.progress);
        if to.rank() < from.rank() || (from.is_final() && to != from) {
            return Err(DocError::StatusRegress { from: from.as_str(), to: to.as_str() });
        }
        if let Some(mark) = mark_of(to) {
            d.progress.insert(mark.to_owned(), true);
        }
    }
    if let Some(title) = &patch.title {
        d.title.clone_from(title);
    }
    if let Some(goal) = &patch.goal {
        d.goal.clone_from(goal);
    }
    if let Some(deadline) = patch.deadline_ms {
        d.deadline_ms = deadline;
    }
    if let Some(place) = &patch.place {
        d.place = place.as_ref().map(PlaceDoc::from);
    }
    if let Some(customer) = patch.customer_id {
        d.customer_id = customer.map(|c| c.to_string());
    }
    if let Some(assignee) = patch.assignee_id {
        d.assignee_id = assignee.map(|a| a.to_string());
    }
    if let Some(notes) = &patch.notes {
        d.notes.update(notes);
    }
    write(doc, &d)
}

/// What changed between two projections of a task, for the server to check who may do what:
/// `Err` names the first field a rep may not change.
pub fn check_reps_edit(before: &Task, after: &Task) -> Result<(), &'static str> {
    let same = |a: bool, name| if a { Ok(()) } else { Err(name) };
    same(before.id == after.id, "id")?;
    same(before.kind == after.kind, "kind")?;
    same(before.title == after.title, "title")?;
    same(before.goal == after.goal, "goal")?;
    same(before.deadline_ms == after.deadline_ms, "deadline")?;
    same(before.place == after.place, "place")?;
    same(before.customer_id == after.customer_id, "customer")?;
    same(before.assignee_id == after.assignee_id, "assignee")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{actor, empty, load, merge};

    fn task() -> Task {
        Task {
            id: TaskId::new(),
            kind: TaskKind::CustomerVisit,
            title: "Visit".into(),
            goal: "Order".into(),
            deadline_ms: Some(1_000),
            place: None,
            customer_id: Some(CustomerId::new()),
            assignee_id: Some(UserId::new()),
            status: TaskStatus::Open,
            notes: "bring samples".into(),
        }
    }

    fn replicas() -> (AutoCommit, AutoCommit, Task) {
        let t = task();
        let mut server = empty(actor(uuid::Uuid::now_v7()));
        create(&mut server, &t).expect("create");
        let phone = load(&server.save(), actor(uuid::Uuid::now_v7())).expect("load");
        (server, phone, t)
    }

    fn sync(a: &mut AutoCommit, b: &mut AutoCommit) {
        let from_a = a.save();
        let from_b = b.save();
        merge(b, &from_a).expect("merge a into b");
        merge(a, &from_b).expect("merge b into a");
    }

    #[test]
    fn a_task_round_trips_through_its_document() {
        let (server, _, t) = replicas();
        assert_eq!(project(&server).expect("project"), t);
    }

    #[test]
    fn a_task_done_offline_is_not_reopened_by_a_stale_manager_edit() {
        let (mut server, mut phone, _) = replicas();
        apply(&mut phone, &TaskPatch { status: Some(TaskStatus::Done), ..Default::default() }).expect("done");
        // The manager, not having seen it, edits the title and sets the task in progress.
        let stale = TaskPatch {
            title: Some("Visit today".into()),
            status: Some(TaskStatus::InProgress),
            ..Default::default()
        };
        apply(&mut server, &stale).expect("stale edit");
        sync(&mut server, &mut phone);
        let (s, p) = (project(&server).expect("s"), project(&phone).expect("p"));
        assert_eq!(s, p);
        assert_eq!(s.status, TaskStatus::Done);
        assert_eq!(s.title, "Visit today");
    }

    #[test]
    fn concurrent_notes_edits_both_survive() {
        let (mut server, mut phone, _) = replicas();
        apply(
            &mut phone,
            &TaskPatch { notes: Some("bring samples; shop closed until 3pm".into()), ..Default::default() },
        )
        .expect("phone");
        apply(&mut server, &TaskPatch { notes: Some("urgent: bring samples".into()), ..Default::default() })
            .expect("server");
        sync(&mut server, &mut phone);
        let notes = project(&server).expect("s").notes;
        assert_eq!(notes, project(&phone).expect("p").notes);
        assert!(notes.contains("urgent: ") && notes.contains("shop closed until 3pm"), "{notes}");
    }

    #[test]
    fn chinese_notes_are_edited_and_merged_character_by_character() {
        let (mut server, mut phone, _) = replicas();
        apply(&mut server, &TaskPatch { notes: Some("经理：请带样品。".into()), ..Default::default() })
            .expect("server");
        sync(&mut server, &mut phone);
        apply(
            &mut phone,
            &TaskPatch {
                notes: Some("经理：请带样品。已拜访，陈列整齐。".into()), ..Default::default()
            },
        )
        .expect("phone");
        apply(&mut server, &TaskPatch { notes: Some("紧急！经理：请带样品。".into()), ..Default::default() })
            .expect("server");
        sync(&mut server, &mut phone);
        let notes = project(&server).expect("s").notes;
        assert_eq!(notes, project(&phone).expect("p").notes);
        assert_eq!(notes, "紧急！经理：请带样品。已拜访，陈列整齐。");
    }

    #[test]
    fn moving_a_status_back_is_refused_and_changes_nothing() {
        let (_, mut phone, _) = replicas();
        apply(&mut phone, &TaskPatch { status: Some(TaskStatus::Done), ..Default::default() }).expect("done");
        let heads = phone.get_heads();
        let err = apply(&mut phone, &TaskPatch { status: Some(TaskStatus::Open), ..Default::default() });
        assert_eq!(err, Err(DocError::StatusRegress { from: "done", to: "open" }));
        let err = apply(&mut phone, &TaskPatch { status: Some(TaskStatus::Cancelled), ..Default::default() });
        assert!(err.is_err());
        assert_eq!(phone.get_heads(), heads);
    }

    #[test]
    fn done_beats_a_concurrent_cancel() {
        let (mut server, mut phone, _) = replicas();
        apply(&mut phone, &TaskPatch { status: Some(TaskStatus::Done), ..Default::default() }).expect("done");
        apply(&mut server, &TaskPatch { status: Some(TaskStatus::Cancelled), ..Default::default() })
            .expect("cancel");
        sync(&mut server, &mut phone);
        assert_eq!(project(&server).expect("s").status, TaskStatus::Done);
    }

    #[test]
    fn a_reps_edit_may_touch_only_status_and_notes() {
        let t = task();
        let mut after = t.clone();
        after.status = TaskStatus::Done;
        after.notes = "x".into();
        assert_eq!(check_reps_edit(&t, &after), Ok(()));
        after.assignee_id = None;
        assert_eq!(check_reps_edit(&t, &after), Err("assignee"));
    }
}
