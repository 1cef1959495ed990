//! Shared documents in SQLite, and the small in-memory cache of open ones.
//!
//! An open automerge document costs ~18 KB, so only the most recently used are kept open
//! ([`CACHE_CAPACITY`]); the rest are loaded on demand. Every edit saves the whole, compacted
//! document in the transaction that makes the edit, so a crash leaves either the old or the
//! new state and never a half-written history.

use std::num::NonZeroUsize;

use automerge::{ActorId, AutoCommit, ChangeHash};
use fieldkit_domain::docs;
use fieldkit_domain::protocol::RecordKind;
use lru::LruCache;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{parse_json, to_json};
use crate::error::{Error, Result};

/// How many documents stay open in memory.
pub const CACHE_CAPACITY: usize = 64;

type Key = (RecordKind, Uuid);

/// The documents kept open, owned by the writer connection.
pub(crate) struct DocCache {
    open: LruCache<Key, AutoCommit>,
}

impl DocCache {
    pub(crate) fn new() -> Self {
        Self { open: LruCache::new(NonZeroUsize::new(CACHE_CAPACITY).expect("capacity is not zero")) }
    }

    /// How many documents are open.
    pub(crate) fn len(&self) -> usize {
        self.open.len()
    }
}

/// The documents one write transaction works on. Documents are taken out of the cache while
/// the transaction runs and put back only if it commits, so a rolled-back edit never
/// lingers in memory.
pub(crate) struct DocSession<'a> {
    cache: &'a mut DocCache,
    actor: ActorId,
    taken: Vec<(Key, AutoCommit)>,
}

impl<'a> DocSession<'a> {
    pub(super) fn new(cache: &'a mut DocCache, actor: ActorId) -> Self {
        Self { cache, actor, taken: Vec::new() }
    }

    /// The open document, loading it if needed; `None` if this phone has no such document.
    pub(crate) fn get(
        &mut self,
        tx: &Transaction<'_>,
        kind: RecordKind,
        id: Uuid,
    ) -> Result<Option<&mut AutoCommit>> {
        let key = (kind, id);
        if let Some(i) = self.taken.iter().position(|(k, _)| *k == key) {
            return Ok(self.taken.get_mut(i).map(|(_, d)| d));
        }
        let doc = match self.cache.open.pop(&key) {
            Some(doc) => doc,
            None => match state(tx, kind, id)? {
                Some(bytes) => docs::load(&bytes, self.actor.clone())
                    .map_err(|e| Error::Corrupt { what: "document", detail: e.to_string() })?,
                None => return Ok(None),
            },
        };
        self.taken.push((key, doc));
        Ok(self.taken.last_mut().map(|(_, d)| d))
    }

    /// Opens a new, empty document made by this installation.
    pub(crate) fn create(&mut self, kind: RecordKind, id: Uuid) -> &mut AutoCommit {
        self.taken.push(((kind, id), docs::empty(self.actor.clone())));
        &mut self.taken.last_mut().expect("just pushed").1
    }

    /// Forgets an open document (it was removed).
    pub(crate) fn forget(&mut self, kind: RecordKind, id: Uuid) {
        self.taken.retain(|(k, _)| *k != (kind, id));
        self.cache.open.pop(&(kind, id));
    }

    /// Forgets every open document of a kind.
    pub(crate) fn forget_kind(&mut self, kind: RecordKind) {
        self.taken.retain(|((k, _), _)| *k != kind);
        let keys: Vec<Key> = self.cache.open.iter().map(|(k, _)| *k).filter(|(k, _)| *k == kind).collect();
        for key in keys {
            self.cache.open.pop(&key);
        }
    }

    /// After a commit: the documents go back into the cache.
    pub(super) fn committed(self) {
        for (key, doc) in self.taken {
            self.cache.open.put(key, doc);
        }
    }
}

fn heads_json(heads: &[ChangeHash]) -> String {
    to_json(&docs::heads_to_text(heads))
}

fn parse_heads(text: &str) -> Result<Vec<ChangeHash>> {
    Ok(docs::heads_from_text(&parse_json::<Vec<String>>("document heads", text)?))
}

/// Saves a document's whole state.
pub(crate) fn save(tx: &Transaction<'_>, kind: RecordKind, id: Uuid, doc: &mut AutoCommit) -> Result<()> {
    let heads = heads_json(&doc.get_heads());
    tx.prepare_cached(
        "INSERT INTO docs (kind, id, state, heads) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, id) DO UPDATE SET state = excluded.state, heads = excluded.heads",
    )?
    .execute(params![kind.as_str(), id.to_string(), doc.save(), heads])?;
    Ok(())
}

/// A document's saved state.
pub(crate) fn state(conn: &Connection, kind: RecordKind, id: Uuid) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT state FROM docs WHERE kind = ?1 AND id = ?2")?
        .query_row(params![kind.as_str(), id.to_string()], |r| r.get(0))
        .optional()?)
}

/// What a push must send for a document: the changes the server is not known to have,
/// and the heads they lead to.
pub(crate) fn unsynced_changes(
    conn: &Connection,
    kind: RecordKind,
    id: Uuid,
) -> Result<Option<(Vec<u8>, Vec<ChangeHash>)>> {
    let row: Option<(Vec<u8>, String)> = conn
        .prepare_cached("SELECT state, synced_heads FROM docs WHERE kind = ?1 AND id = ?2")?
        .query_row(params![kind.as_str(), id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((bytes, synced)) = row else {
        return Ok(None);
    };
    let mut doc =
        AutoCommit::load(&bytes).map_err(|e| Error::Corrupt { what: "document", detail: e.to_string() })?;
    let synced = parse_heads(&synced)?;
    Ok(Some((doc.save_after(&synced), doc.get_heads())))
}

/// Records that the server has every change up to `heads`. Returns whether the document
/// has nothing newer (so its outbox entry can go).
pub(crate) fn mark_synced(
    tx: &Transaction<'_>,
    kind: RecordKind,
    id: Uuid,
    heads: &[ChangeHash],
) -> Result<bool> {
    let text = heads_json(heads);
    tx.prepare_cached("UPDATE docs SET synced_heads = ?3 WHERE kind = ?1 AND id = ?2")?.execute(params![
        kind.as_str(),
        id.to_string(),
        text
    ])?;
    let current: Option<String> = tx
        .prepare_cached("SELECT heads FROM docs WHERE kind = ?1 AND id = ?2")?
        .query_row(params![kind.as_str(), id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(current.is_some_and(|c| parse_heads(&c).is_ok_and(|c| same_heads(&c, heads))))
}

/// Whether two sets of heads are equal (order does not matter).
pub(crate) fn same_heads(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// Deletes a document.
/// Drops a closed document's state and remembers that it was closed (see
/// `migrations/009_closed_documents.sql`).
pub(crate) fn close(tx: &Transaction<'_>, kind: RecordKind, id: Uuid, now_ms: i64) -> Result<()> {
    delete(tx, kind, id)?;
    tx.prepare_cached(
        "INSERT INTO closed_docs (kind, id, closed_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind, id) DO UPDATE SET closed_ms = excluded.closed_ms",
    )?
    .execute(params![kind.as_str(), id.to_string(), now_ms])?;
    Ok(())
}

/// Whether a document was closed and its state dropped.
pub(crate) fn is_closed(conn: &Connection, kind: RecordKind, id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM closed_docs WHERE kind = ?1 AND id = ?2)")?
        .query_row(params![kind.as_str(), id.to_string()], |r| r.get(0))?)
}

/// Forgets that a document was closed (the server sent a newer state of it).
pub(crate) fn reopen(tx: &Transaction<'_>, kind: RecordKind, id: Uuid) -> Result<()> {
    tx.prepare_cached("DELETE FROM closed_docs WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind.as_str(), id.to_string()])?;
    Ok(())
}

pub(crate) fn delete(tx: &Transaction<'_>, kind: RecordKind, id: Uuid) -> Result<()> {
    tx.execute("DELETE FROM docs WHERE kind = ?1 AND id = ?2", params![kind.as_str(), id.to_string()])?;
    Ok(())
}
