//! Blobs on the phone (photos, voice notes): bytes in files beside the database, named by
//! their SHA-256, and uploaded on a queue of their own in resumable chunks, so that a slow
//! or failing upload never holds back the data sync.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{Store, blobs};
use crate::sync::HttpClient;
use crate::sync::backoff::jittered_delay_ms;
use crate::time::now_ms;

/// Bytes sent per upload request.
pub const CHUNK_BYTES: u64 = 256 * 1024;

/// What one round of blob uploads did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BlobReport {
    /// Blobs that finished uploading now.
    pub completed: u32,
    /// Blobs the server already had whole (nothing sent).
    pub skipped: u32,
    /// Chunk bytes sent.
    pub bytes_sent: u64,
    /// Blobs whose upload failed and waits for a retry.
    pub failed: u32,
    /// Blobs the server refused for good.
    pub parked: u32,
}

/// The folder of blob files.
pub(crate) struct BlobFiles {
    dir: PathBuf,
}

impl BlobFiles {
    /// Blob files of the database at `db_path` live in `<db_path>.blobs/`.
    pub(crate) fn beside(db_path: &Path) -> Self {
        let mut dir = db_path.as_os_str().to_owned();
        dir.push(".blobs");
        Self { dir: PathBuf::from(dir) }
    }

    /// Stores bytes durably under their SHA-256 and returns it (lower-case hex).
    pub(crate) fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.dir.join(&sha256);
        if !path.exists() {
            std::fs::create_dir_all(&self.dir)?;
            let tmp = self.dir.join(format!("{sha256}.tmp"));
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
        }
        Ok(sha256)
    }

    /// The file holding the blob `sha256`, if this phone has it whole (files appear only
    /// once their bytes are complete, under the name they hash to).
    pub(crate) fn file(&self, sha256: &str) -> Option<PathBuf> {
        let path = self.dir.join(sha256);
        path.is_file().then_some(path)
    }

    /// Starts receiving the blob `sha256` of `size` bytes from elsewhere (a download).
    /// Nothing is kept under its name unless [`Incoming::finish`] finds the bytes match.
    pub(crate) fn receive(&self, sha256: &str, size: u64) -> Result<Incoming> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!("{sha256}.{:016x}.download", fastrand::u64(..)));
        let file = std::fs::File::create(&tmp)?;
        Ok(Incoming {
            file,
            tmp,
            dest: self.dir.join(sha256),
            sha256: sha256.to_owned(),
            size,
            received: 0,
            hasher: Sha256::new(),
            kept: false,
        })
    }

    fn read_range(&self, sha256: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let mut file = std::fs::File::open(self.dir.join(sha256))?;
        file.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.take(len).read_to_end(&mut buf)?;
        Ok(buf)
    }
}

/// A blob arriving on the phone: written to a temporary file and hashed as it comes, kept
/// under its name only when its size and SHA-256 are the ones expected. Dropped unfinished
/// (or refused), it leaves no file behind.
pub(crate) struct Incoming {
    file: std::fs::File,
    tmp: PathBuf,
    dest: PathBuf,
    sha256: String,
    size: u64,
    received: u64,
    hasher: Sha256,
    kept: bool,
}

impl Incoming {
    /// Appends the next bytes; more bytes than expected is an error at once.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.received = self.received.saturating_add(bytes.len() as u64);
        if self.received > self.size {
            return Err(Error::Protocol(format!(
                "blob {} arrived with more than the {} bytes expected",
                self.sha256, self.size
            )));
        }
        self.hasher.update(bytes);
        self.file.write_all(bytes)?;
        Ok(())
    }

    /// Checks the size and the SHA-256 of what arrived and, if both match, keeps the file
    /// durably under the blob's name and returns its path. A mismatch keeps nothing.
    pub(crate) fn finish(mut self) -> Result<PathBuf> {
        if self.received != self.size {
            return Err(Error::Protocol(format!(
                "blob {} arrived with {} bytes, not the {} expected",
                self.sha256, self.received, self.size
            )));
        }
        let actual = hex::encode(std::mem::take(&mut self.hasher).finalize());
        if actual != self.sha256 {
            return Err(Error::Protocol(format!(
                "downloaded bytes hash to {actual}, not to the blob's name {}",
                self.sha256
            )));
        }
        self.file.sync_all()?;
        std::fs::rename(&self.tmp, &self.dest)?;
        self.kept = true;
        Ok(self.dest.clone())
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.kept
            && let Err(e) = std::fs::remove_file(&self.tmp)
        {
            tracing::warn!(blob = %self.sha256, error = %e, "cannot remove an unfinished download");
        }
    }
}

/// Uploads due blobs, oldest first, resuming each where the server stands. `budget` caps
/// the bytes sent in this call (`None`: no cap); what is left goes next time.
pub(crate) async fn upload(
    store: &Store,
    files: &BlobFiles,
    client: &HttpClient,
    token: &str,
    mut budget: Option<u64>,
) -> Result<BlobReport> {
    let mut report = BlobReport::default();
    for blob in store.read(|conn| blobs::due(conn, now_ms()))? {
        let status = match client.blob_status(token, &blob.sha256).await {
            Ok(status) => status,
            Err(e) => {
                fail(store, &blob.sha256, &e)?;
                report.failed += 1;
                return Ok(report);
            }
        };
        if status.as_ref().is_some_and(|s| s.complete) {
            store.write(|tx| blobs::done(tx, &blob.sha256))?;
            report.skipped += 1;
            continue;
        }
        let mut offset = status.map_or(0, |s| s.received);
        while offset < blob.size {
            let len = CHUNK_BYTES.min(blob.size - offset).min(budget.unwrap_or(u64::MAX));
            if len == 0 {
                return Ok(report);
            }
            let bytes = match files.read_range(&blob.sha256, offset, len) {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::error!(blob = %blob.sha256, error = %e, "blob file unreadable; parked");
                    store
                        .write(|tx| blobs::park(tx, &blob.sha256, &format!("local file unreadable: {e}")))?;
                    report.parked += 1;
                    break;
                }
            };
            match client.put_blob_chunk(token, &blob.sha256, offset, blob.size, bytes).await {
                Ok(status) => {
                    if status.received == offset + len {
                        report.bytes_sent += len;
                        budget = budget.map(|b| b - len);
                    }
                    offset = status.received;
                    if status.complete {
                        store.write(|tx| blobs::done(tx, &blob.sha256))?;
                        report.completed += 1;
                        break;
                    }
                }
                Err(e) if e.is_retryable() => {
                    fail(store, &blob.sha256, &e)?;
                    report.failed += 1;
                    return Ok(report);
                }
                Err(e) => {
                    tracing::warn!(blob = %blob.sha256, error = %e, "server refused a blob for good; parked");
                    store.write(|tx| blobs::park(tx, &blob.sha256, &e.to_string()))?;
                    report.parked += 1;
                    break;
                }
            }
        }
    }
    Ok(report)
}

fn fail(store: &Store, sha256: &str, error: &Error) -> Result<()> {
    store.write(|tx| {
        let attempts = blobs::attempts(tx, sha256)?.saturating_add(1);
        let retry_at =
            now_ms().saturating_add(i64::try_from(jittered_delay_ms(attempts)).unwrap_or(i64::MAX));
        blobs::failed(tx, sha256, &error.to_string(), retry_at)
    })
}
