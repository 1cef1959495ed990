//! Shared documents: the records more than one party edits (task, visit, form response),
//! each one automerge document, with the meaning of their fields defined here.
//!
//! A document is created by one party (tasks by the server, visits and form responses by
//! the phone) and then edited concurrently by others. Edits are made by hydrating the
//! document into its schema struct, changing that, and reconciling it back (autosurgeon),
//! which records the smallest set of automerge operations. Merging is automerge's: edits to
//! different fields all survive; concurrent writes to one scalar field keep one winner,
//! chosen the same way on every replica; text fields (notes) merge character by character.
//! Fields whose meaning must not regress (a task's progress, a visit's completed steps) are
//! grow-only sets of marks, so a stale edit can never undo them.

pub mod form_response;
pub mod task;
pub mod visit;

use automerge::{ActorId, AutoCommit, ChangeHash, LoadOptions, TextEncoding};
use autosurgeon::{Hydrate, Reconcile};

/// What can go wrong with a document.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocError {
    /// The bytes are not an automerge document or change set.
    #[error("document bytes do not load: {0}")]
    Load(String),
    /// The document does not have the shape of its kind.
    #[error("document does not match its schema: {0}")]
    Shape(String),
    /// An edit could not be recorded.
    #[error("edit could not be recorded: {0}")]
    Edit(String),
    /// A status may only move forward.
    #[error("status cannot go back from {from} to {to}")]
    StatusRegress {
        /// The current status.
        from: &'static str,
        /// The status asked for.
        to: &'static str,
    },
    /// A value breaks a domain rule.
    #[error(transparent)]
    Invalid(#[from] crate::DomainError),
}

/// The automerge actor of an installation or server process: the 16 bytes of its id.
/// Actor ids are unique per install and never derived from the user.
#[must_use]
pub fn actor(id: uuid::Uuid) -> ActorId {
    ActorId::from(id.into_bytes())
}

/// Text positions count UTF-8 bytes, as autosurgeon's text diffs do: with any other unit a
/// Chinese note would be spliced at the wrong place (or out of bounds).
const TEXT_ENCODING: TextEncoding = TextEncoding::Utf8CodeUnit;

/// A new, empty document whose changes are made by `actor`.
#[must_use]
pub fn empty(actor: ActorId) -> AutoCommit {
    AutoCommit::new_with_encoding(TEXT_ENCODING).with_actor(actor)
}

/// Loads a saved document; its future changes are made by `actor`.
pub fn load(bytes: &[u8], actor: ActorId) -> Result<AutoCommit, DocError> {
    AutoCommit::load_with_options(bytes, LoadOptions::new().text_encoding(TEXT_ENCODING))
        .map(|d| d.with_actor(actor))
        .map_err(|e| DocError::Load(e.to_string()))
}

/// Merges saved bytes (a whole document or changes) into `doc`.
pub fn merge(doc: &mut AutoCommit, bytes: &[u8]) -> Result<(), DocError> {
    doc.load_incremental(bytes).map(drop).map_err(|e| DocError::Load(e.to_string()))
}

/// Whether `doc` holds every change its changes depend on (a change set applied without
/// its history leaves gaps).
#[must_use]
pub fn is_complete(doc: &AutoCommit) -> bool {
    use automerge::ReadDoc;
    doc.get_missing_deps(&[]).is_empty()
}

/// Heads as text, for storage.
#[must_use]
pub fn heads_to_text(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ToString::to_string).collect()
}

/// Heads from their text form; unknown text is dropped (it only makes a push larger).
#[must_use]
pub fn heads_from_text(text: &[String]) -> Vec<ChangeHash> {
    text.iter().filter_map(|h| h.parse().ok()).collect()
}

/// Reads a document into its schema struct.
pub(crate) fn read<T: Hydrate>(doc: &AutoCommit) -> Result<T, DocError> {
    autosurgeon::hydrate(doc).map_err(|e| DocError::Shape(e.to_string()))
}

/// Writes a schema struct into a document as the smallest set of changes and commits them.
pub(crate) fn write<T: Reconcile>(doc: &mut AutoCommit, value: &T) -> Result<(), DocError> {
    autosurgeon::reconcile(doc, value).map_err(|e| DocError::Edit(e.to_string()))?;
    doc.commit();
    Ok(())
}

/// Parses an id stored as text in a document.
pub(crate) fn parse_id<T: From<uuid::Uuid>>(field: &'static str, text: &str) -> Result<T, DocError> {
    uuid::Uuid::parse_str(text)
        .map(T::from)
        .map_err(|_| DocError::Shape(format!("{field} {text:?} is not an id")))
}
