//! The blob store: uploaded bytes (photos, voice notes, knowledge-base files) as objects
//! through `object_store`, in a local folder by default or on S3-compatible storage. The
//! keys are in `layout`.
//!
//! No server instance keeps anything a later request needs: every accepted chunk is an
//! object of its own, so the next chunk of an upload may reach another instance over the
//! same store, and how far an upload got is the database's row (shared by the instances).
//! The chunk that completes a blob makes the instance that took it read the chunks in
//! order, hash them and publish the blob only when the hash is its name; then the chunks
//! go. Two instances completing one blob at once publish the same verified bytes.
//!
//! Within an instance, changes to one blob are serialised by striped locks (a fixed set, so
//! memory stays bounded whatever the number of blobs).

mod layout;
mod location;
#[cfg(test)]
mod tests;

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use fieldkit_domain::ids::OrgId;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use location::BlobLocation;

const STRIPES: usize = 64;

/// What can go wrong with the blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// `--blob-store` names neither a folder nor an S3 bucket.
    #[error("blob store location {0:?} is neither a folder nor an s3://bucket[/prefix] url")]
    Location(String),
    /// An S3 setting with a name object_store does not know.
    #[error("blob store option {0:?} is not an s3 setting")]
    Option(String),
    /// The blob folder cannot be created.
    #[error("cannot create the blob folder: {0}")]
    Folder(#[source] std::io::Error),
    /// The object store failed (disk, network, permissions, a missing object).
    #[error("blob store failed: {0}")]
    Store(#[from] object_store::Error),
    /// Writing the complete blob failed.
    #[error("writing a blob failed: {0}")]
    Write(#[source] std::io::Error),
}

/// How completing an upload went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The bytes hash to the blob's name and are published; the chunks are gone.
    Published,
    /// The bytes do not hash to the blob's name: nothing is published and the chunks are
    /// gone, so the upload starts over.
    Refused,
    /// The stored chunks reach only this far without a gap (a chunk was lost, say by a store
    /// that forgot a write): the upload goes on from there.
    Short {
        /// How many bytes from the start are stored.
        received: u64,
    },
}

/// A complete blob's bytes, read as they come.
pub struct BlobBytes {
    /// Its length.
    pub size: u64,
    /// Its bytes, piece by piece.
    pub stream: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

/// Blob bytes on an object store.
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    stripes: Vec<Arc<Mutex<()>>>,
}

impl BlobStore {
    /// A store over any object store.
    #[must_use]
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store, stripes: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect() }
    }

    /// A store in the folder `dir` (created if missing), each write flushed to disk before
    /// it is acknowledged; blobs completed by the folder-only store before it are read as
    /// they are.
    ///
    /// # Errors
    /// When the folder cannot be created or opened.
    pub fn open(dir: &FsPath) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir).map_err(BlobError::Folder)?;
        let local = LocalFileSystem::new_with_prefix(dir)?.with_fsync(true).with_automatic_cleanup(true);
        Ok(Self::new(Arc::new(local)))
    }

    /// A store in `bucket` on S3-compatible storage, under the key `prefix` (empty: none),
    /// configured by the usual AWS environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`, …) and then by `options`,
    /// `(name, value)` pairs with the same names in lower case (`aws_endpoint`, …).
    ///
    /// # Errors
    /// For an unknown option or settings object_store refuses.
    pub fn s3(bucket: &str, prefix: &str, options: &[(&str, &str)]) -> Result<Self, BlobError> {
        // reqwest is built without a TLS provider of its own (the workspace's choice): ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (name, value) in options {
            let key: AmazonS3ConfigKey = name.parse().map_err(|_| BlobError::Option((*name).to_owned()))?;
            builder = builder.with_config(key, *value);
        }
        let s3 = builder.build()?;
        Ok(if prefix.is_empty() {
            Self::new(Arc::new(s3))
        } else {
            Self::new(Arc::new(PrefixStore::new(s3, prefix)))
        })
    }

    /// The store `spec` names (see [`BlobLocation::parse`]), or the folder `default_dir`
    /// when there is no spec.
    ///
    /// # Errors
    /// As [`BlobLocation::parse`], [`BlobStore::open`] and [`BlobStore::s3`].
    pub fn from_spec(spec: Option<&str>, default_dir: &FsPath) -> Result<Self, BlobError> {
        match spec.map(BlobLocation::parse).transpose()? {
            None => Self::open(default_dir),
            Some(BlobLocation::Folder(dir)) => Self::open(&dir),
            Some(BlobLocation::S3 { bucket, prefix }) => Self::s3(&bucket, &prefix, &[]),
        }
    }

    /// Exclusive access to one blob, within this instance, while its upload state changes.
    pub async fn lock(&self, sha256: &str) -> OwnedMutexGuard<()> {
        let stripe =
            sha256.bytes().fold(0_usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b))) % STRIPES;
        Arc::clone(&self.stripes[stripe]).lock_owned().await
    }

    /// Stores `bytes` as the chunk of the arriving blob that starts at `offset`, durably;
    /// a chunk stored before at the same offset is replaced whole.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn write_at(
        &self,
        org: OrgId,
        sha256: &str,
        offset: u64,
        bytes: Bytes,
    ) -> Result<(), BlobError> {
        self.store.put(&layout::part_key(org, sha256, offset), PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// Completes the arriving blob of `size` bytes: its chunks are read in order and hashed
    /// on their way to the complete blob, which is published only if the hash is the blob's
    /// name. See [`Finish`].
    ///
    /// # Errors
    /// When the store fails; nothing is published then and the chunks stay.
    pub async fn finish(&self, org: OrgId, sha256: &str, size: u64) -> Result<Finish, BlobError> {
        let parts = self.parts(org, sha256).await?;
        let target = layout::blob_key(org, sha256);
        let pieces = match layout::plan(&parts, size) {
            Ok(pieces) => pieces,
            Err(received) => {
                // Published already, by an instance that stopped before it said so, or by
                // another that completed it a moment ago.
                if self.holds(&target, sha256, size).await? {
                    self.discard(&parts).await?;
                    return Ok(Finish::Published);
                }
                return Ok(Finish::Short { received });
            }
        };
        let mut writer = BufWriter::new(Arc::clone(&self.store), target);
        let mut hasher = Sha256::new();
        for piece in pieces {
            let copied = match self.store.get_range(&piece.location, piece.range).await {
                Ok(bytes) => {
                    hasher.update(&bytes);
                    writer.put(bytes).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = copied {
                let _ = writer.abort().await;
                return Err(e.into());
            }
        }
        if hex::encode(hasher.finalize()) != sha256 {
            writer.abort().await?;
            self.discard(&parts).await?;
            return Ok(Finish::Refused);
        }
        writer.shutdown().await.map_err(BlobError::Write)?;
        self.discard(&parts).await?;
        Ok(Finish::Published)
    }

    /// The bytes of a complete blob, as a stream.
    ///
    /// # Errors
    /// When the store fails or holds no such blob ([`object_store::Error::NotFound`]).
    pub async fn read(&self, org: OrgId, sha256: &str) -> Result<BlobBytes, BlobError> {
        let got = self.store.get(&layout::blob_key(org, sha256)).await?;
        Ok(BlobBytes { size: got.meta.size, stream: got.into_stream() })
    }

    /// The offsets and lengths of the chunks stored for an arriving blob, in offset order
    /// (a half-upload of the folder-only store counting as the chunk at 0).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn chunks(&self, org: OrgId, sha256: &str) -> Result<Vec<(u64, u64)>, BlobError> {
        let mut parts = self.parts(org, sha256).await?;
        parts.sort_by_key(|p| p.offset);
        Ok(parts.into_iter().map(|p| (p.offset, p.len)).collect())
    }

    async fn parts(&self, org: OrgId, sha256: &str) -> Result<Vec<layout::Part>, BlobError> {
        let listed: Vec<_> = self.store.list(Some(&layout::parts_prefix(org, sha256))).try_collect().await?;
        let mut parts: Vec<_> = listed
            .into_iter()
            .filter_map(|meta| {
                let offset = layout::part_offset(&meta.location)?;
                Some(layout::Part { location: meta.location, offset, len: meta.size })
            })
            .collect();
        let legacy = layout::legacy_part_key(org, sha256);
        match self.store.head(&legacy).await {
            Ok(meta) => parts.push(layout::Part { location: legacy, offset: 0, len: meta.size }),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(parts)
    }

    /// Whether the complete blob is stored with the right size and hash.
    async fn holds(&self, target: &Path, sha256: &str, size: u64) -> Result<bool, BlobError> {
        let got = match self.store.get(target).await {
            Ok(got) if got.meta.size == size => got,
            Ok(_) | Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let mut hasher = Sha256::new();
        let mut bytes = got.into_stream();
        while let Some(piece) = bytes.next().await {
            hasher.update(piece?);
        }
        Ok(hex::encode(hasher.finalize()) == sha256)
    }

    /// Deletes chunks; one already gone (another instance got there first) is no error.
    async fn discard(&self, parts: &[layout::Part]) -> Result<(), BlobError> {
        let locations: Vec<_> = parts.iter().map(|p| Ok(p.location.clone())).collect();
        let mut deleted = self.store.delete_stream(stream::iter(locations).boxed());
        while let Some(outcome) = deleted.next().await {
            match outcome {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
