//! Blobs on the phone (photos, voice notes): bytes in files beside the database, named by
//! their SHA-256, and uploaded on a queue of their own in resumable chunks, so that a slow
//! or failing upload never holds back the data sync. A transient failure waits (at least
//! [`MIN_RETRY_MS`], growing with failures in a row); a refusal parks the blob with its
//! reason; [`queue`] tells the app what waits, how far it got and why it stopped.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{Store, blobs};
use crate::sync::HttpClient;
use crate::sync::backoff::jittered_delay_ms;
use crate::time::now_ms;

/// Bytes sent per upload request.
pub const CHUNK_BYTES: u64 = 256 * 1024;

/// The shortest wait before a blob whose upload failed is tried again (the jittered backoff
/// may draw less; a blob upload is heavy, so it never goes again at once).
pub const MIN_RETRY_MS: u64 = 1_000;

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

/// A blob not yet on the server, as the app may show it: what waits, how far its upload
/// got, and why it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QueuedBlob {
    /// SHA-256 of the bytes, lower-case hex (the photo record's `sha256`).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Bytes the server said it holds at its last answer since the engine was opened;
    /// `None` before any answer.
    pub server_received: Option<u64>,
    /// Failed attempts in a row (progress starts the count again).
    pub attempts: u32,
    /// Whether the server refused it for good: it is not retried.
    pub parked: bool,
    /// Why the last attempt failed, or why it was parked: lower-case, starting with the
    /// server's error code for a refusal (e.g. `payload_too_large: …`) or with
    /// `server unreachable:` for a failure that is retried. `None` if nothing failed yet.
    pub reason: Option<String>,
    /// Device time the next attempt is due, Unix milliseconds; `None` when it goes at the
    /// next upload (and for a parked blob).
    pub next_attempt_ms: Option<i64>,
}

/// The folder of blob files, and how far the server has each blob being uploaded.
pub(crate) struct BlobFiles {
    dir: PathBuf,
    /// Bytes the server last said it holds, per blob still uploading (in memory only: the
    /// next upload asks the server again anyway).
    on_server: Mutex<HashMap<String, u64>>,
}

impl BlobFiles {
    /// Blob files of the database at `db_path` live in `<db_path>.blobs/`.
    pub(crate) fn beside(db_path: &Path) -> Self {
        let mut dir = db_path.as_os_str().to_owned();
        dir.push(".blobs");
        Self { dir: PathBuf::from(dir), on_server: Mutex::new(HashMap::new()) }
    }

    fn heard(&self, sha256: &str, received: Option<u64>) {
        let mut on_server = self.on_server.lock().unwrap_or_else(PoisonError::into_inner);
        match received {
            Some(n) => on_server.insert(sha256.to_owned(), n),
            None => on_server.remove(sha256),
        };
    }

    fn on_server(&self, sha256: &str) -> Option<u64> {
        self.on_server.lock().unwrap_or_else(PoisonError::into_inner).get(sha256).copied()
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
            Err(e) if stops_the_round(&e) => return Err(e),
            Err(e) => {
                fail(store, &blob.sha256, &e, false)?;
                report.failed += 1;
                return Ok(report);
            }
        };
        if status.as_ref().is_some_and(|s| s.complete) {
            store.write(|tx| blobs::done(tx, &blob.sha256))?;
            files.heard(&blob.sha256, None);
            report.skipped += 1;
            continue;
        }
        let start = status.map_or(0, |s| s.received);
        files.heard(&blob.sha256, Some(start));
        let mut offset = start;
        while offset < blob.size {
            let len = CHUNK_BYTES.min(blob.size - offset).min(budget.unwrap_or(u64::MAX));
            if len == 0 {
                return Ok(report);
            }
            let bytes = match files.read_range(&blob.sha256, offset, len) {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::error!(blob = %blob.sha256, error = %e, "blob file unreadable; parked");
                    store.write(|tx| blobs::park(tx, &blob.sha256, &reason(&e)))?;
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
                    files.heard(&blob.sha256, Some(offset));
                    if status.complete {
                        store.write(|tx| blobs::done(tx, &blob.sha256))?;
                        files.heard(&blob.sha256, None);
                        report.completed += 1;
                        break;
                    }
                }
                Err(e) if stops_the_round(&e) => return Err(e),
                Err(e @ Error::Server { .. }) => {
                    tracing::warn!(blob = %blob.sha256, error = %e, "server refused a blob for good; parked");
                    store.write(|tx| blobs::park(tx, &blob.sha256, &reason(&e)))?;
                    report.parked += 1;
                    break;
                }
                Err(e) => {
                    // The network, a server that is down for now, or an answer garbled on
                    // the way: the same bytes may go through later.
                    fail(store, &blob.sha256, &e, offset > start)?;
                    report.failed += 1;
                    return Ok(report);
                }
            }
        }
    }
    Ok(report)
}

/// The blobs not yet on the server, waiting ones first (oldest first), then parked ones.
pub(crate) fn queue(store: &Store, files: &BlobFiles) -> Result<Vec<QueuedBlob>> {
    let rows = store.read(blobs::queue)?;
    Ok(rows
        .into_iter()
        .map(|row| QueuedBlob {
            server_received: files.on_server(&row.sha256),
            size: row.size,
            attempts: row.attempts,
            parked: row.parked,
            reason: row.last_error,
            next_attempt_ms: (!row.parked && row.next_attempt_ms > 0).then_some(row.next_attempt_ms),
            sha256: row.sha256,
        })
        .collect())
}

/// Failures that concern the session, not the blob: the round stops, the blob keeps its
/// place and no attempt is counted against it.
fn stops_the_round(error: &Error) -> bool {
    matches!(error, Error::SessionExpired | Error::BadCredentials | Error::NotLoggedIn)
}

/// Records a transient failure and schedules the next attempt: the jittered backoff for the
/// failures in a row, never sooner than [`MIN_RETRY_MS`]. A failure after progress (bytes
/// the server took in this round) starts the count again, so a long upload on a flaky
/// network keeps going while one that never moves waits longer and longer.
fn fail(store: &Store, sha256: &str, error: &Error, progressed: bool) -> Result<()> {
    store.write(|tx| {
        let attempts = if progressed { 1 } else { blobs::attempts(tx, sha256)?.saturating_add(1) };
        let delay = jittered_delay_ms(attempts).max(MIN_RETRY_MS);
        let retry_at = now_ms().saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
        blobs::failed(tx, sha256, attempts, &reason(error), retry_at)
    })
}

/// Why a blob's upload stopped, for the app: lower-case, naming the server's error code for
/// a refusal, no personal data (blob messages name sizes and hashes only).
fn reason(error: &Error) -> String {
    match error {
        Error::Server { code: Some(code), message } => {
            let code = serde_json::to_value(code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "refused".to_owned());
            format!("{code}: {message}")
        }
        Error::Server { code: None, message } => format!("refused: {}", message.to_lowercase()),
        Error::Network(detail) => format!("server unreachable: {}", detail.to_lowercase()),
        Error::Io(e) => format!("local file unreadable: {}", e.kind().to_string().to_lowercase()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::protocol::ErrorCode;

    use super::*;

    #[test]
    fn a_refusal_reads_as_the_servers_code_and_message_in_lower_case() {
        let refused = Error::Server {
            code: Some(ErrorCode::PayloadTooLarge),
            message: "blob of 2097152 bytes is larger than the 1048576 bytes accepted".to_owned(),
        };
        assert_eq!(
            reason(&refused),
            "payload_too_large: blob of 2097152 bytes is larger than the 1048576 bytes accepted"
        );
        let down = Error::Network("server answered 503 Service Unavailable".to_owned());
        assert_eq!(reason(&down), "server unreachable: server answered 503 service unavailable");
        let gone = Error::Io(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(reason(&gone), "local file unreadable: entity not found");
    }

    #[test]
    fn a_failed_blob_waits_at_least_a_second_and_counts_its_failures_in_a_row() {
        let (_dir, store) = {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::open(&dir.path().join("fieldkit.db")).expect("open");
            (dir, store)
        };
        let files = BlobFiles::beside(&std::env::temp_dir().join("unused.db"));
        let sha = "d".repeat(64);
        store.write(|tx| blobs::enqueue(tx, &sha, 100, 1)).expect("enqueue");
        let down = Error::Network("server answered 503 Service Unavailable".to_owned());
        for expected in 1..=3 {
            let before = now_ms();
            fail(&store, &sha, &down, false).expect("fail");
            let queued = queue(&store, &files).expect("queue");
            let entry = &queued[0];
            assert_eq!((entry.attempts, entry.parked), (expected, false));
            let due = entry.next_attempt_ms.expect("a retry time");
            assert!(due >= before + 1_000, "retried {} ms after the failure", due - before);
            assert!(store.read(|conn| blobs::due(conn, before)).expect("due").is_empty());
        }
        fail(&store, &sha, &down, true).expect("fail after progress");
        assert_eq!(queue(&store, &files).expect("queue")[0].attempts, 1, "progress starts the count again");
        assert_eq!(
            queue(&store, &files).expect("queue")[0].reason.as_deref(),
            Some("server unreachable: server answered 503 service unavailable")
        );
    }

    #[test]
    fn the_server_progress_heard_is_shown_until_the_blob_is_done() {
        let files = BlobFiles::beside(&std::env::temp_dir().join("unused.db"));
        let sha = "e".repeat(64);
        assert_eq!(files.on_server(&sha), None);
        files.heard(&sha, Some(4096));
        assert_eq!(files.on_server(&sha), Some(4096));
        files.heard(&sha, None);
        assert_eq!(files.on_server(&sha), None);
    }
}
