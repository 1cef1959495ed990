//! Photos that prove themselves: the camera's picture goes through the pipeline (upright,
//! downscaled, watermarked, re-encoded without the camera's metadata), its SHA-256 and the
//! capture context go into a receipt signed with the device key and chained to the device's
//! previous receipt, and the JPEG (a blob) and its record (a fact) are stored before the app
//! is told. The record syncs with the data, the bytes on the blob queue.

use std::sync::{Arc, PoisonError};

use fieldkit_domain::ids::{FactId, VisitId};
use fieldkit_domain::model::{LocationFix, PhotoRecord};
use fieldkit_domain::protocol::{Fact, Record, RecordKind};
use fieldkit_domain::signing::{
    PhotoReceipt, RECEIPT_VERSION, Sha256Hash, SignedReceipt, sign_receipt, verification_code,
};

use super::{FieldKit, settings};
use crate::blobs::{self, BlobReport, QueuedBlob};
use crate::error::{Error, Result};
use crate::photo::{CaptureContext, CaptureTime, PhotoInput, PhotoPipeline, PipelineConfig, WatermarkFonts};
use crate::session;
use crate::store::{blobs as blob_rows, facts, meta, outbox, records, visits};
use crate::time::now_ms;

impl FieldKit {
    /// Sets up the photo pipeline: its settings (long edge, JPEG quality, pixel caps) and
    /// the watermark font, which must have CJK glyphs (pass the system font's bytes, e.g.
    /// Noto Sans CJK; `font_index` picks a face in a `.ttc` collection).
    pub fn configure_photos(&self, config: PipelineConfig, font: Vec<u8>, font_index: u32) -> Result<()> {
        let pipeline = PhotoPipeline::new(config, WatermarkFonts::load(font, font_index)?)?;
        *self.photo_pipeline.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(pipeline));
        Ok(())
    }

    /// Takes a photo in `visit_id`: runs the pipeline on the camera's picture (the panel
    /// prints the time, the place, the customer, the rep and the verification code), signs
    /// the receipt, and stores the JPEG (queued for upload) and the record (queued as a fact)
    /// in one transaction. Offline. Bad input (empty, not a JPEG, too many pixels, damaged)
    /// is a [`Error::Photo`] and stores nothing.
    pub fn take_photo(
        &self,
        input: PhotoInput<'_>,
        visit_id: Option<VisitId>,
        fix: Option<LocationFix>,
    ) -> Result<PhotoRecord> {
        let pipeline = self
            .photo_pipeline
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(Error::NotConfigured("the photo pipeline", "configure_photos"))?;
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        let now = now_ms();
        let (at, settings, customer) = self.store.write(|tx| {
            let settings = settings::load(tx)?;
            let at = self.event_time(tx, now)?;
            let customer_id = match visit_id {
                Some(id) => visits::get(tx, id)?.map(|v| v.customer_id),
                None => None,
            };
            let customer = match customer_id {
                Some(id) => match records::get(tx, RecordKind::Customer, id.0)? {
                    Some(Record::Customer(c)) => Some(c),
                    _ => None,
                },
                None => None,
            };
            Ok((at, settings, customer))
        })?;
        if let Some(fix) = &fix {
            super::visits::validate_fix(fix, &at, &settings)?;
        }
        let id = FactId::new();
        let code = verification_code(id);
        let ctx = CaptureContext {
            visit_id,
            customer_name: customer.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
            customer_address: customer.as_ref().map(|c| c.place.address.clone()).unwrap_or_default(),
            rep_name: session.user.display_name.clone(),
            fix,
            time: CaptureTime::from_event_time(&at),
            utc_offset_minutes: settings.working_hours.offset.minutes(),
            verification_code: code.clone(),
        };
        let photo = pipeline.process(input, &ctx)?;
        let sha256 = self.blob_files.put(&photo.jpeg)?;
        let size_bytes = photo.jpeg.len() as u64;

        let _chain = self.photo_chain.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = self.store.read(chain_head)?;
        let receipt = PhotoReceipt {
            version: RECEIPT_VERSION,
            fact_id: id,
            visit_id,
            rep_id: session.user.id,
            device_id: self.device_id,
            key_id: self.signer.public_key().key_id(),
            sha256: photo.sha256,
            size_bytes,
            width: photo.width,
            height: photo.height,
            dhash: photo.dhash,
            verification_code: code,
            fix,
            at,
            monotonic_ms: u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX),
            previous,
        };
        let signature = sign_receipt(&receipt, self.signer.as_ref())?;
        let head = receipt.receipt_hash();
        let record = PhotoRecord {
            id,
            visit_id,
            rep_id: session.user.id,
            sha256,
            size_bytes,
            fix,
            at,
            receipt: Some(SignedReceipt { receipt, signature }),
        };
        self.write_local(|tx, _| {
            meta::set(tx, meta::PHOTO_CHAIN_HEAD, &head.to_hex())?;
            store_photo(tx, &record, now)
        })?;
        tracing::debug!(photo = %record.id, "photo taken and signed");
        Ok(record)
    }

    /// Attaches a file as a photo without the pipeline: stored and uploaded as given, with
    /// no watermark and no signed receipt (the server marks it unsigned). For pictures that
    /// did not come from the camera. Offline.
    pub fn record_photo(
        &self,
        visit_id: Option<VisitId>,
        jpeg: &[u8],
        fix: Option<LocationFix>,
    ) -> Result<PhotoRecord> {
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        let sha256 = self.blob_files.put(jpeg)?;
        let size_bytes = jpeg.len() as u64;
        let now = now_ms();
        self.write_local(|tx, _| {
            let record = PhotoRecord {
                id: FactId::new(),
                visit_id,
                rep_id: session.user.id,
                sha256: sha256.clone(),
                size_bytes,
                fix,
                at: self.event_time(tx, now)?,
                receipt: None,
            };
            store_photo(tx, &record, now)?;
            Ok(record)
        })
    }

    /// Uploads queued blobs, at most `budget` bytes of them (`None`: all), resuming each
    /// where the server stands. Failures wait for their retry; they never fail the call.
    pub async fn upload_blobs(&self, budget: Option<u64>) -> Result<BlobReport> {
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        blobs::upload(&self.store, &self.blob_files, &self.client, &session.token, budget).await
    }

    /// The stamped JPEG of a photo on this phone (its record's `sha256`), for the app to
    /// show; `None` when the file is not here (taken on another phone, or not yet fetched).
    #[must_use]
    pub fn photo_file(&self, sha256: &Sha256Hash) -> Option<std::path::PathBuf> {
        self.blob_files.file(&sha256.to_hex())
    }

    /// The upload state of a blob: `pending`, `done` or `parked`; `None` if not queued.
    pub fn blob_state(&self, sha256: &str) -> Result<Option<String>> {
        self.store.read(|conn| blob_rows::state(conn, sha256))
    }

    /// The blobs not yet on the server: waiting ones (oldest first), then the ones the
    /// server refused for good, each with how far it got, its failures in a row, when it
    /// goes next and why it last stopped. Offline.
    pub fn blob_queue(&self) -> Result<Vec<QueuedBlob>> {
        blobs::queue(&self.store, &self.blob_files)
    }
}

/// The hash of the last receipt this device signed.
fn chain_head(conn: &rusqlite::Connection) -> Result<Option<Sha256Hash>> {
    meta::get(conn, meta::PHOTO_CHAIN_HEAD)?
        .map(|hex| {
            hex.parse::<Sha256Hash>()
                .map_err(|e| Error::Corrupt { what: "photo chain head", detail: e.to_string() })
        })
        .transpose()
}

/// Queues the photo's bytes for upload and stores its record as a queued fact.
fn store_photo(tx: &rusqlite::Transaction<'_>, record: &PhotoRecord, now: i64) -> Result<()> {
    blob_rows::enqueue(tx, &record.sha256, record.size_bytes, now)?;
    let visit = record.visit_id.map(|v| v.to_string());
    facts::insert(tx, &Fact::Photo(Box::new(record.clone())), visit, now)?;
    outbox::append(tx, outbox::KIND_FACT, &record.id.to_string(), now)?;
    Ok(())
}
