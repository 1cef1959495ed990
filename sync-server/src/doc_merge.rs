//! What the server accepts into a shared document, decided inside the storing transaction.
//!
//! Changes pushed by a phone are merged into the stored document; the merged projection is
//! then checked against the caller's rights: a rep may change only a task's progress and
//! notes, and only while it is assigned to them; visits and form responses belong to the
//! rep who made them, and their identity fields never change. A submitted form response is
//! validated against the template version it was filled in (the domain's validator, the one
//! the phone ran); a task whose flow is not finished is not marked done. A refused push
//! stores nothing. A merge that leaves the pusher holding the whole document says so, so
//! that the pusher's feed does not echo it back.

use automerge::{ActorId, AutoCommit, ChangeHash};
use fieldkit_domain::docs::{self, DocError, form_response, task, visit};
use std::collections::HashMap;
use std::sync::Arc;

use fieldkit_domain::approval::StepId;
use fieldkit_domain::forms::validate_response;
use fieldkit_domain::ids::{DeviceId, TaskId, UserId};
use fieldkit_domain::model::{FormTemplate, Role, TaskStatus, User};
use fieldkit_domain::protocol::{PushOutcome, RecordKind, RejectCode};

use crate::approvals::task_steps;
use crate::storage::{DocDecision, DocMerge};

fn refuse(code: RejectCode, reason: String) -> DocDecision {
    DocDecision::Refuse(PushOutcome::Rejected { code, reason })
}

/// What every document of one push is checked against, read once per push.
#[derive(Clone)]
pub(crate) struct PushContext {
    /// Who pushes.
    pub caller: User,
    /// From which installation.
    pub device: DeviceId,
    /// The server's automerge actor.
    pub actor: ActorId,
    /// Form templates by record id ([`FormTemplate::record_id`]): every version of each.
    pub templates: Arc<HashMap<uuid::Uuid, FormTemplate>>,
    /// For pushed tasks whose flow is not finished: the step it waits for.
    pub unfinished: Arc<HashMap<TaskId, StepId>>,
}

/// The decision for changes `changes` pushed to document `kind`/`id`.
pub(crate) fn merge_push(ctx: PushContext, kind: RecordKind, id: uuid::Uuid, changes: Vec<u8>) -> DocMerge {
    let PushContext { caller, device, actor, templates, unfinished } = ctx;
    Box::new(move |stored: Option<&[u8]>| {
        let label = format!("{} {id}", kind.as_str());
        let mut doc = match stored {
            Some(bytes) => match docs::load(bytes, actor) {
                Ok(doc) => doc,
                Err(e) => {
                    tracing::error!(doc = %label, error = %e, "stored document does not load");
                    return refuse(RejectCode::Invalid, format!("{label} cannot be merged now"));
                }
            },
            None => docs::empty(actor),
        };
        let before = match stored.map(|_| Projection::of(kind, &doc)).transpose() {
            Ok(before) => before,
            Err(e) => return refuse(RejectCode::Invalid, format!("{label}: {e}")),
        };
        let heads = doc.get_heads();
        if let Err(e) = docs::merge(&mut doc, &changes) {
            return refuse(RejectCode::Invalid, format!("{label}: {e}"));
        }
        if !docs::is_complete(&doc) {
            return DocDecision::Refuse(PushOutcome::ResendWhole);
        }
        if doc.get_heads() == heads {
            return DocDecision::Unchanged;
        }
        let after = match Projection::of(kind, &doc) {
            Ok(after) => after,
            Err(e) => return refuse(RejectCode::Invalid, format!("{label}: {e}")),
        };
        if after.id() != id {
            return refuse(RejectCode::Invalid, format!("{label}: the document holds another record"));
        }
        if let Err(reason) = allowed(&caller, before.as_ref(), &after) {
            tracing::warn!(doc = %label, user = %caller.id, "document change refused: {reason}");
            return refuse(RejectCode::NotAllowed, format!("{label}: {reason}"));
        }
        if let (Some(Projection::Task(b)), Projection::Task(a)) = (before.as_ref(), &after)
            && a.status == TaskStatus::Done
            && b.status != TaskStatus::Done
            && let Some(step) = unfinished.get(&a.id)
        {
            return refuse(RejectCode::Invalid, task_steps::not_finished_reason(a.id, step));
        }
        if let Projection::FormResponse(r) = &after
            && r.submitted
            && let Some(template) = templates.get(&FormTemplate::record_id(r.template_id, r.template_version))
            && let Err(errors) = validate_response(template, &r.values)
        {
            let broken: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return refuse(RejectCode::Invalid, format!("{label}: {}", broken.join("; ")));
        }
        let new_heads = doc.get_heads();
        let held_by = pusher_holds_all(&heads, &new_heads).then_some(device);
        DocDecision::Write { state: doc.save(), body: after.to_json(), audience: after.audience(), held_by }
    })
}

/// Whether the device that pushed holds the whole merged document, so sending it back would
/// be an echo. Merging adds only pushed changes, so a head that was not a head before came
/// from the push, and the pusher holds it and all its ancestors. If every head after the
/// merge is such a change, the pusher holds everything; a head left over from before is a
/// change it may lack.
fn pusher_holds_all(heads_before: &[ChangeHash], heads_after: &[ChangeHash]) -> bool {
    heads_after.iter().all(|head| !heads_before.contains(head))
}

/// A document read into its record.
pub(crate) enum Projection {
    Task(fieldkit_domain::model::Task),
    Visit(fieldkit_domain::model::Visit),
    FormResponse(fieldkit_domain::model::FormResponse),
}

impl Projection {
    pub(crate) fn of(kind: RecordKind, doc: &AutoCommit) -> Result<Self, DocError> {
        match kind {
            RecordKind::Task => task::project(doc).map(Projection::Task),
            RecordKind::Visit => visit::project(doc).map(Projection::Visit),
            RecordKind::FormResponse => form_response::project(doc).map(Projection::FormResponse),
            other => Err(DocError::Shape(format!("{} is not a shared document", other.as_str()))),
        }
    }

    fn id(&self) -> uuid::Uuid {
        match self {
            Projection::Task(t) => t.id.0,
            Projection::Visit(v) => v.id.0,
            Projection::FormResponse(f) => f.id.0,
        }
    }

    /// Who receives the document in their feed: the task's assignee, the visit's or
    /// response's rep.
    pub(crate) fn audience(&self) -> Option<UserId> {
        match self {
            Projection::Task(t) => t.assignee_id,
            Projection::Visit(v) => Some(v.rep_id),
            Projection::FormResponse(f) => Some(f.rep_id),
        }
    }

    pub(crate) fn to_json(&self) -> String {
        match self {
            Projection::Task(t) => serde_json::to_string(t),
            Projection::Visit(v) => serde_json::to_string(v),
            Projection::FormResponse(f) => serde_json::to_string(f),
        }
        .expect("records always serialize")
    }
}

/// Whether `caller` may turn `before` (`None`: a new document) into `after`.
fn allowed(caller: &User, before: Option<&Projection>, after: &Projection) -> Result<(), String> {
    let manager = matches!(caller.role, Role::Manager | Role::Admin);
    match (before, after) {
        (None, Projection::Task(_)) => Err("tasks are created through the dispatch api".into()),
        (Some(Projection::Task(b)), Projection::Task(a)) => {
            if manager {
                return Ok(());
            }
            if b.assignee_id != Some(caller.id) {
                return Err("the task is not assigned to you".into());
            }
            task::check_reps_edit(b, a).map_err(|field| format!("a rep may not change the {field}"))
        }
        (None, Projection::Visit(a)) => owner_check(manager, caller, a.rep_id),
        (Some(Projection::Visit(b)), Projection::Visit(a)) => {
            owner_check(manager, caller, b.rep_id)?;
            visit::check_reps_edit(b, a).map_err(|field| format!("the {field} of a visit never changes"))
        }
        (None, Projection::FormResponse(a)) => owner_check(manager, caller, a.rep_id),
        (Some(Projection::FormResponse(b)), Projection::FormResponse(a)) => {
            owner_check(manager, caller, b.rep_id)?;
            if b.submitted {
                return Err("the response is already submitted".into());
            }
            if (b.template_id, b.template_version, b.rep_id) != (a.template_id, a.template_version, a.rep_id)
            {
                return Err("the template and rep of a response never change".into());
            }
            Ok(())
        }
        _ => Err("the document changed kind".into()),
    }
}

fn owner_check(manager: bool, caller: &User, owner: UserId) -> Result<(), String> {
    if manager || owner == caller.id { Ok(()) } else { Err("it belongs to another rep".into()) }
}
