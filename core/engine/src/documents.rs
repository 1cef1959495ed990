//! Shared documents on the phone: local edits and merges of the server's state, each
//! written in one transaction with the document's projection (the plain table the app
//! queries) and, for local edits, the document's outbox entry.

use automerge::AutoCommit;
use fieldkit_domain::docs::{self, DocError, form_response, task, visit};
use fieldkit_domain::protocol::RecordKind;
use rusqlite::Transaction;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::docs::{DocSession, mark_synced, same_heads, save};
use crate::store::{docs as doc_rows, outbox, tasks, visits};

/// Writes the projection of a document into its table.
fn project(tx: &Transaction<'_>, kind: RecordKind, doc: &AutoCommit) -> Result<()> {
    match kind {
        RecordKind::Task => tasks::upsert(tx, &task::project(doc)?),
        RecordKind::Visit => visits::upsert(tx, &visit::project(doc)?),
        RecordKind::FormResponse => visits::upsert_response(tx, &form_response::project(doc)?),
        other => Err(Error::Protocol(format!("{} is not a shared document", other.as_str()))),
    }
}

/// Creates a document made on this phone and queues it.
pub(crate) fn create(
    tx: &Transaction<'_>,
    session: &mut DocSession<'_>,
    kind: RecordKind,
    id: Uuid,
    now_ms: i64,
    write: impl FnOnce(&mut AutoCommit) -> Result<(), DocError>,
) -> Result<()> {
    let doc = session.create(kind, id);
    write(doc)?;
    save(tx, kind, id, doc)?;
    project(tx, kind, doc)?;
    outbox::append(tx, kind.as_str(), &id.to_string(), now_ms)
}

/// Edits a document and, if anything changed, saves it, updates its projection and queues it.
pub(crate) fn edit<T>(
    tx: &Transaction<'_>,
    session: &mut DocSession<'_>,
    kind: RecordKind,
    id: Uuid,
    now_ms: i64,
    change: impl FnOnce(&mut AutoCommit) -> Result<T, DocError>,
) -> Result<T> {
    let Some(doc) = session.get(tx, kind, id)? else {
        let what = format!("{} {id}", kind.as_str());
        return Err(if doc_rows::is_closed(tx, kind, id)? {
            Error::Closed(what)
        } else {
            Error::NotFound(what)
        });
    };
    let before = doc.get_heads();
    let out = change(doc)?;
    if doc.get_heads() != before {
        save(tx, kind, id, doc)?;
        project(tx, kind, doc)?;
        outbox::append(tx, kind.as_str(), &id.to_string(), now_ms)?;
    }
    Ok(out)
}

/// Merges the whole document as the server holds it into the local copy. What the server
/// sent, it has: the document's synced heads move forward, and if nothing local is newer
/// its outbox entry goes (an acknowledgement lost in transit is made good here).
pub(crate) fn merge_remote(
    tx: &Transaction<'_>,
    session: &mut DocSession<'_>,
    kind: RecordKind,
    id: Uuid,
    state: &[u8],
) -> Result<()> {
    let server_heads = AutoCommit::load(state)
        .map_err(|e| Error::Protocol(format!("document from server: {e}")))?
        .get_heads();
    let doc = match session.get(tx, kind, id)? {
        Some(doc) => doc,
        None => {
            // A closed document the server changed since (a manager's note): its state
            // holds the whole history, so the document simply opens again from it.
            doc_rows::reopen(tx, kind, id)?;
            session.create(kind, id)
        }
    };
    docs::merge(doc, state)?;
    save(tx, kind, id, doc)?;
    project(tx, kind, doc)?;
    if same_heads(&doc.get_heads(), &server_heads) && mark_synced(tx, kind, id, &server_heads)? {
        outbox::remove(tx, &id.to_string())?;
        compact_if_closed(tx, session, kind, id)?;
    }
    Ok(())
}

/// Once the server has every change of a closed document (a visit checked out, a form
/// response submitted), the phone drops its automerge state, history and all, and keeps
/// only the projection the app reads; editing it is then refused as [`Error::Closed`]. The
/// server keeps the whole document, so a later change there (a manager's note) arrives as a
/// whole state and opens it again. Runs inside the transaction that applies the
/// acknowledgement, so a crash leaves either the document or its compacted form.
pub(crate) fn compact_if_closed(
    tx: &Transaction<'_>,
    session: &mut DocSession<'_>,
    kind: RecordKind,
    id: Uuid,
) -> Result<bool> {
    if !visits::is_closed(tx, kind, id)? || outbox::contains(tx, &id.to_string())? {
        return Ok(false);
    }
    session.forget(kind, id);
    doc_rows::close(tx, kind, id, crate::time::now_ms())?;
    Ok(true)
}

/// Drops a document that left this user's scope, unless local changes still wait to be
/// pushed (the server will answer those; the app sees them parked if refused).
pub(crate) fn remove(
    tx: &Transaction<'_>,
    session: &mut DocSession<'_>,
    kind: RecordKind,
    id: Uuid,
) -> Result<()> {
    match kind {
        RecordKind::Task => tasks::remove(tx, id)?,
        RecordKind::Visit | RecordKind::FormResponse => {}
        other => {
            return Err(Error::Protocol(format!("{} is not a shared document", other.as_str())));
        }
    }
    if !outbox::contains(tx, &id.to_string())? {
        doc_rows::delete(tx, kind, id)?;
        session.forget(kind, id);
    }
    Ok(())
}

/// Drops everything the server sent that it will send again after a feed reset: reference
/// data, and tasks with no local change waiting. Visits, form responses and queued work stay.
pub(crate) fn forget_server_data(tx: &Transaction<'_>, session: &mut DocSession<'_>) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM records;
         DELETE FROM kb_fts;
         DELETE FROM tasks WHERE id NOT IN (SELECT item_id FROM outbox);
         DELETE FROM docs WHERE kind = 'task' AND id NOT IN (SELECT item_id FROM outbox);",
    )?;
    session.forget_kind(RecordKind::Task);
    Ok(())
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::docs::visit::{self, VisitPatch};
    use fieldkit_domain::ids::{CustomerId, FactId, UserId, VisitId};
    use fieldkit_domain::model::Visit;

    use super::*;
    use crate::store::Store;
    use crate::store::docs::CACHE_CAPACITY;

    fn visit() -> Visit {
        Visit {
            id: VisitId::new(),
            customer_id: CustomerId::new(),
            task_id: None,
            rep_id: UserId::new(),
            check_in_id: FactId::new(),
            check_out_id: None,
            started_ms: 1,
            ended_ms: None,
            completed_steps: vec![],
            notes: String::new(),
        }
    }

    fn notes_of(store: &Store, id: VisitId) -> String {
        store.read(|c| crate::store::visits::get(c, id)).expect("read").expect("visit").notes
    }

    #[test]
    fn only_a_bounded_number_of_documents_stay_open_and_evicted_ones_load_on_demand() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("f.db")).expect("open");
        let actor = fieldkit_domain::docs::actor(uuid::Uuid::now_v7());
        let visits: Vec<Visit> = (0..3 * CACHE_CAPACITY).map(|_| visit()).collect();
        for v in &visits {
            store
                .write_docs(&actor, |tx, docs| {
                    create(tx, docs, RecordKind::Visit, v.id.0, 1, |d| visit::create(d, v))
                })
                .expect("create");
        }
        assert_eq!(store.open_documents(), CACHE_CAPACITY);
        // The first visit was evicted long ago; editing it loads it from SQLite.
        let first = visits[0].id;
        let patch = VisitPatch { notes: Some("back from disk".into()), ..VisitPatch::default() };
        store
            .write_docs(&actor, |tx, docs| {
                edit(tx, docs, RecordKind::Visit, first.0, 2, |d| visit::apply(d, &patch))
            })
            .expect("edit");
        assert_eq!(notes_of(&store, first), "back from disk");
        assert_eq!(store.open_documents(), CACHE_CAPACITY);
    }

    #[test]
    fn a_checked_out_visit_drops_its_history_once_acknowledged_refuses_edits_and_reopens_from_the_server() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("f.db")).expect("open");
        let actor = fieldkit_domain::docs::actor(uuid::Uuid::now_v7());
        let v = visit();
        let id = v.id.0;
        let check_out = VisitPatch { check_out: Some((FactId::new(), 5)), ..VisitPatch::default() };
        store
            .write_docs(&actor, |tx, docs| {
                create(tx, docs, RecordKind::Visit, id, 1, |d| visit::create(d, &v))?;
                edit(tx, docs, RecordKind::Visit, id, 2, |d| visit::apply(d, &check_out))
            })
            .expect("check in and out");
        let server_copy =
            store.read(|c| doc_rows::state(c, RecordKind::Visit, id)).expect("read").expect("doc");

        // Still queued: nothing is compacted.
        let compacted = store
            .write_docs(&actor, |tx, docs| compact_if_closed(tx, docs, RecordKind::Visit, id))
            .expect("try");
        assert!(!compacted);
        // Acknowledged (the sync removes the outbox entry in the same transaction).
        let compacted = store
            .write_docs(&actor, |tx, docs| {
                outbox::remove(tx, &id.to_string())?;
                compact_if_closed(tx, docs, RecordKind::Visit, id)
            })
            .expect("ack");
        assert!(compacted);
        assert_eq!(store.read(|c| doc_rows::state(c, RecordKind::Visit, id)).expect("read"), None);
        assert_eq!(store.open_documents(), 0, "nothing of it stays open");
        let kept = store.read(|c| crate::store::visits::get(c, v.id)).expect("read").expect("projection");
        assert!(kept.check_out_id.is_some());

        let patch = VisitPatch { notes: Some("too late".into()), ..VisitPatch::default() };
        let refused = store.write_docs(&actor, |tx, docs| {
            edit(tx, docs, RecordKind::Visit, id, 3, |d| visit::apply(d, &patch))
        });
        assert!(
            matches!(refused, Err(Error::Closed(ref what)) if what.contains(&id.to_string())),
            "{refused:?}"
        );
        assert_eq!(notes_of(&store, v.id), "");

        // A manager's note on the server comes down as the whole state: the visit opens from
        // it, shows the note, and, having nothing unsynced, closes again.
        let mut server = docs::load(&server_copy, docs::actor(uuid::Uuid::now_v7())).expect("load");
        let note = VisitPatch { notes: Some("well done".into()), ..VisitPatch::default() };
        visit::apply(&mut server, &note).expect("note");
        store
            .write_docs(&actor, |tx, docs| merge_remote(tx, docs, RecordKind::Visit, id, &server.save()))
            .expect("merge");
        assert_eq!(notes_of(&store, v.id), "well done");
        assert_eq!(store.read(|c| doc_rows::state(c, RecordKind::Visit, id)).expect("read"), None);
        assert!(store.read(|c| doc_rows::is_closed(c, RecordKind::Visit, id)).expect("read"));
    }

    #[test]
    fn an_edit_whose_transaction_fails_leaves_neither_the_database_nor_the_open_document_changed() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("f.db")).expect("open");
        let actor = fieldkit_domain::docs::actor(uuid::Uuid::now_v7());
        let v = visit();
        store
            .write_docs(&actor, |tx, docs| {
                create(tx, docs, RecordKind::Visit, v.id.0, 1, |d| visit::create(d, &v))
            })
            .expect("create");
        let patch = VisitPatch { notes: Some("never committed".into()), ..VisitPatch::default() };
        let failed: Result<()> = store.write_docs(&actor, |tx, docs| {
            edit(tx, docs, RecordKind::Visit, v.id.0, 2, |d| visit::apply(d, &patch))?;
            Err(Error::NotLoggedIn)
        });
        assert!(failed.is_err());
        assert_eq!(notes_of(&store, v.id), "");
        // The next edit starts from the committed state, not from the rolled-back one.
        let patch = VisitPatch { complete_step: Some(1), ..VisitPatch::default() };
        let after = store
            .write_docs(&actor, |tx, docs| {
                edit(tx, docs, RecordKind::Visit, v.id.0, 3, |d| {
                    visit::apply(d, &patch)?;
                    visit::project(d)
                })
            })
            .expect("edit");
        assert_eq!((after.notes.as_str(), after.completed_steps.as_slice()), ("", &[1][..]));
    }
}
