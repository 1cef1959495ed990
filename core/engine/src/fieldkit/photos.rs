//! Photos: the JPEG kept as a blob, its record kept as a fact, both written before the app
//! is told; the record syncs with the data, the bytes on the blob queue.

use fieldkit_domain::ids::{FactId, VisitId};
use fieldkit_domain::model::{LocationFix, PhotoRecord};
use fieldkit_domain::protocol::Fact;

use super::FieldKit;
use crate::blobs::{self, BlobReport};
use crate::error::{Error, Result};
use crate::session;
use crate::store::{blobs as blob_rows, facts, outbox};
use crate::time::now_ms;

impl FieldKit {
    /// Records a photo taken in `visit_id` (the final JPEG bytes): the bytes are stored
    /// under their SHA-256 and queued for upload, and the photo's record is stored and
    /// queued as a fact. Offline.
    pub fn record_photo(
        &self,
        visit_id: Option<VisitId>,
        jpeg: &[u8],
        fix: Option<LocationFix>,
    ) -> Result<PhotoRecord> {
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        let sha256 = self.blob_files.put(jpeg)?;
        let size = jpeg.len() as u64;
        let now = now_ms();
        self.write_local(|tx, _| {
            let photo = PhotoRecord {
                id: FactId::new(),
                visit_id,
                rep_id: session.user.id,
                sha256: sha256.clone(),
                size_bytes: size,
                fix,
                at: self.event_time(tx, now)?,
                receipt: None,
            };
            blob_rows::enqueue(tx, &sha256, size, now)?;
            facts::insert(tx, &Fact::Photo(photo.clone()), visit_id.map(|v| v.to_string()), now)?;
            outbox::append(tx, outbox::KIND_FACT, &photo.id.to_string(), now)?;
            Ok(photo)
        })
    }

    /// Uploads queued blobs, at most `budget` bytes of them (`None`: all), resuming each
    /// where the server stands. Failures wait for their retry; they never fail the call.
    pub async fn upload_blobs(&self, budget: Option<u64>) -> Result<BlobReport> {
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        blobs::upload(&self.store, &self.blob_files, &self.client, &session.token, budget).await
    }

    /// The upload state of a blob: `pending`, `done` or `parked`; `None` if not queued.
    pub fn blob_state(&self, sha256: &str) -> Result<Option<String>> {
        self.store.read(|conn| blob_rows::state(conn, sha256))
    }
}
