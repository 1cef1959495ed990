//! The knowledge base on the phone: articles arrive as reference data and are searched
//! offline, Chinese and English alike; their attachments are fetched on demand and kept
//! among the blob files, so a file opened once opens again offline.

use std::path::PathBuf;

use fieldkit_domain::ids::ArticleId;
use fieldkit_domain::model::KbArticle;
use fieldkit_domain::protocol::{Record, RecordKind, is_sha256_hex};

use super::FieldKit;
use crate::error::{Error, Result};
use crate::session;
use crate::store::kb::{self, KbHit};
use crate::store::records;

impl FieldKit {
    /// Searches the knowledge base for articles containing every word of `query`, best
    /// first, with matches highlighted in 【】. Works offline.
    pub fn search_kb(&self, query: &str, limit: u32) -> Result<Vec<KbHit>> {
        self.store.read(|conn| kb::search(conn, query, limit))
    }

    /// An article as last synced, with its list of attachments. Works offline;
    /// [`Error::NotFound`] if the phone has no such article.
    pub fn kb_article(&self, id: ArticleId) -> Result<KbArticle> {
        match self.store.read(|conn| records::get(conn, RecordKind::KbArticle, id.0))? {
            Some(Record::KbArticle(article)) => Ok(article),
            _ => Err(Error::NotFound(format!("article {id}"))),
        }
    }

    /// The local file of the article's attachment whose SHA-256 is `sha256`. A file the
    /// phone already holds is returned at once, offline. Otherwise it is downloaded from
    /// the server with the session's token, checked against the attachment's size and
    /// SHA-256 (a mismatch is an error and keeps nothing), stored among the blob files
    /// under its hash, and its path returned.
    ///
    /// Errors: [`Error::NotFound`] for an article the phone does not have or an attachment
    /// it does not list; [`Error::Network`] (retryable) when the server cannot be reached;
    /// [`Error::NotLoggedIn`] when a download is needed without a session.
    pub async fn kb_attachment(&self, article: ArticleId, sha256: &str) -> Result<PathBuf> {
        let found = self.kb_article(article)?;
        let attachment = found
            .attachment(sha256)
            .filter(|a| is_sha256_hex(&a.sha256))
            .ok_or_else(|| Error::NotFound(format!("attachment {sha256:?} of article {article}")))?;
        if let Some(path) = self.blob_files.file(&attachment.sha256) {
            return Ok(path);
        }
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        let mut incoming = self.blob_files.receive(&attachment.sha256, attachment.size_bytes)?;
        self.client
            .blob_content(&session.token, &attachment.sha256, &mut |piece| incoming.write(piece))
            .await?;
        let path = incoming.finish()?;
        tracing::debug!(article = %article, blob = %attachment.sha256, "kb attachment downloaded");
        Ok(path)
    }
}
