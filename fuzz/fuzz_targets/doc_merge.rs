//! Automerge bytes from the other side: the changes a phone pushes (the server merges them
//! into its stored document, `doc_merge.rs`) and a document's whole state in the feed (the
//! phone merges it, `documents.rs`, or loads it from its store). Through the domain's own
//! functions: [`docs::load`], [`docs::merge`], [`docs::is_complete`] and the projections of
//! a task, a visit and a form response, then an edit of each (the manager's patch, the rep's
//! notes) on what loaded.
//!
//! Properties: merging the same bytes twice changes nothing the second time (the feed
//! relies on it: merging a state is idempotent); a document that projects saves and loads
//! back to the same projection; loading the bytes and merging them into an empty document
//! agree when the result is complete.

#![no_main]

use std::collections::BTreeMap;

use automerge::AutoCommit;
use fieldkit_domain::docs::task::TaskPatch;
use fieldkit_domain::docs::visit::VisitPatch;
use fieldkit_domain::docs::{self, form_response, task, visit};
use fieldkit_domain::ids::FactId;
use fieldkit_domain::model::TaskStatus;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let actor = || docs::actor(uuid::Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_00aa));

    // The server: an empty document (a new record) merges the pushed changes.
    let mut merged = docs::empty(actor());
    let merged_ok = docs::merge(&mut merged, data).is_ok();
    if merged_ok {
        let heads = merged.get_heads();
        let again = docs::merge(&mut merged, data);
        assert!(again.is_ok(), "the same bytes merged a second time fail: {again:?}");
        assert_eq!(merged.get_heads(), heads, "merging the same bytes twice changed the document");
        let _ = docs::is_complete(&merged);
        round_trip_projections(&mut merged);
    }

    // The phone: a document's whole state as the feed (or its own store) holds it.
    if let Ok(mut loaded) = docs::load(data, actor()) {
        if merged_ok && docs::is_complete(&loaded) && docs::is_complete(&merged) {
            assert_eq!(loaded.get_heads(), merged.get_heads(), "load and merge into empty disagree");
        }
        round_trip_projections(&mut loaded);
        edit(&mut loaded);
    }
});

/// Each projection that reads must read the same after a save and a load.
fn round_trip_projections(doc: &mut AutoCommit) {
    let saved = doc.save();
    let reloaded = docs::load(&saved, docs::actor(uuid::Uuid::from_u128(1))).expect("a saved document loads");
    if let Ok(t) = task::project(doc) {
        assert_eq!(task::project(&reloaded).as_ref(), Ok(&t), "a task reads differently after save/load");
    }
    if let Ok(v) = visit::project(doc) {
        assert_eq!(visit::project(&reloaded).as_ref(), Ok(&v), "a visit reads differently after save/load");
    }
    if let Ok(r) = form_response::project(doc) {
        assert_eq!(
            form_response::project(&reloaded).as_ref(),
            Ok(&r),
            "a form response reads differently after save/load"
        );
    }
}

/// The edits the server and the phone make on stored documents; an edit that is accepted
/// leaves a document that still reads.
fn edit(doc: &mut AutoCommit) {
    if task::project(doc).is_ok() {
        let patch = TaskPatch {
            status: Some(TaskStatus::InProgress),
            notes: Some("到店 ok\n补货".into()),
            title: Some("巡店".into()),
            ..TaskPatch::default()
        };
        if task::apply(doc, &patch).is_ok() {
            assert!(task::project(doc).is_ok(), "a task edited by the domain no longer reads");
        }
    }
    if visit::project(doc).is_ok() {
        let patch = VisitPatch {
            check_out: Some((FactId::from(uuid::Uuid::from_u128(7)), 1_764_201_600_000)),
            complete_step: Some(1),
            notes: Some("货架 3 缺货".into()),
        };
        if visit::apply(doc, &patch).is_ok() {
            assert!(visit::project(doc).is_ok(), "a visit edited by the domain no longer reads");
        }
    }
    if form_response::project(doc).is_ok() {
        let values = BTreeMap::from([("shelf_share".to_owned(), serde_json::json!(35.5))]);
        if form_response::apply(doc, &values, true).is_ok() {
            assert!(form_response::project(doc).is_ok(), "a response edited by the domain no longer reads");
        }
    }
}
