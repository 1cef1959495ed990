//! The blob store: uploaded bytes as files under the data folder, one folder per org,
//! `<sha256>.part` while arriving and `<sha256>` once complete and verified.
//!
//! Writes to one blob are serialised by striped locks (a fixed set, so memory stays
//! bounded whatever the number of blobs). A chunk is written at its offset after cutting
//! the file there, so bytes left by an interrupted write are overwritten, never kept.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fieldkit_domain::ids::OrgId;
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OwnedMutexGuard};

const STRIPES: usize = 64;

/// Blob bytes on the local file system.
pub struct BlobStore {
    dir: PathBuf,
    stripes: Vec<Arc<Mutex<()>>>,
}

impl BlobStore {
    /// A store in `dir` (created if missing).
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self { dir: dir.to_owned(), stripes: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect() })
    }

    /// Exclusive access to one blob while its upload state changes.
    pub async fn lock(&self, sha256: &str) -> OwnedMutexGuard<()> {
        let stripe =
            sha256.bytes().fold(0_usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b))) % STRIPES;
        Arc::clone(&self.stripes[stripe]).lock_owned().await
    }

    fn path(&self, org: OrgId, sha256: &str, part: bool) -> PathBuf {
        let name = if part { format!("{sha256}.part") } else { sha256.to_owned() };
        self.dir.join(org.to_string()).join(name)
    }

    /// Writes `bytes` at `offset` of the arriving blob, durably.
    pub async fn write_at(
        &self,
        org: OrgId,
        sha256: &str,
        offset: u64,
        bytes: Vec<u8>,
    ) -> std::io::Result<()> {
        let path = self.path(org, sha256, true);
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut file =
                std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
            file.set_len(offset)?;
            file.seek(SeekFrom::Start(offset))?;
            file.write_all(&bytes)?;
            file.sync_all()
        })
        .await?
    }

    /// Verifies the arrived blob against its name: on a match it becomes complete; on a
    /// mismatch its bytes are dropped. Returns whether it matched.
    pub async fn finish(&self, org: OrgId, sha256: &str) -> std::io::Result<bool> {
        let (part, done, expected) =
            (self.path(org, sha256, true), self.path(org, sha256, false), sha256.to_owned());
        tokio::task::spawn_blocking(move || {
            let mut hasher = Sha256::new();
            std::io::copy(&mut std::fs::File::open(&part)?, &mut hasher)?;
            if hex::encode(hasher.finalize()) == expected {
                std::fs::rename(&part, &done)?;
                Ok(true)
            } else {
                std::fs::remove_file(&part)?;
                Ok(false)
            }
        })
        .await?
    }

    /// The bytes of a complete blob.
    pub async fn read(&self, org: OrgId, sha256: &str) -> std::io::Result<Vec<u8>> {
        let path = self.path(org, sha256, false);
        tokio::task::spawn_blocking(move || std::fs::read(path)).await?
    }
}
