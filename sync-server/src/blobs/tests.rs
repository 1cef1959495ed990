//! The blob store over a folder in a temp dir and over object_store's in-memory store.

use object_store::memory::InMemory;

use super::*;

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `len` bytes that differ from one position to the next.
fn blob(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from((i * 7 + i / 251) % 251).expect("below 251")).collect()
}

async fn read_all(store: &BlobStore, org: OrgId, sha256: &str) -> Result<Vec<u8>, BlobError> {
    let got = store.read(org, sha256).await?;
    let pieces: Vec<Bytes> = got.stream.try_collect().await?;
    let bytes = pieces.concat();
    assert_eq!(bytes.len() as u64, got.size, "the stream carries the announced size");
    Ok(bytes)
}

/// Writes `bytes[range]` as the chunk at `range.start`.
async fn put(
    store: &BlobStore,
    org: OrgId,
    sha256: &str,
    bytes: &[u8],
    range: std::ops::Range<usize>,
) -> Result<(), BlobError> {
    store.write_at(org, sha256, range.start as u64, Bytes::copy_from_slice(&bytes[range])).await
}

/// Every file under `dir`, relative to it.
fn files(dir: &FsPath) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("readable folder") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).expect("inside").to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn chunks_in_order_publish_one_file_at_the_old_path_and_leave_no_chunk() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = BlobStore::open(dir.path())?;
    let (org, bytes) = (OrgId::new(), blob(1000));
    let name = sha(&bytes);
    put(&store, org, &name, &bytes, 0..400).await?;
    put(&store, org, &name, &bytes, 400..1000).await?;
    assert_eq!(store.chunks(org, &name).await?, vec![(0, 400), (400, 600)]);

    assert_eq!(store.finish(org, &name, 1000).await?, Finish::Published);
    assert_eq!(files(dir.path()), vec![format!("{org}/{name}")], "the complete blob alone");
    assert_eq!(std::fs::read(dir.path().join(org.to_string()).join(&name))?, bytes);
    assert_eq!(read_all(&store, org, &name).await?, bytes);
    assert!(store.chunks(org, &name).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn an_upload_cut_midway_is_continued_by_another_instance_over_the_same_folder() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (first, second) = (BlobStore::open(dir.path())?, BlobStore::open(dir.path())?);
    let (org, bytes) = (OrgId::new(), blob(300_000));
    let name = sha(&bytes);
    put(&first, org, &name, &bytes, 0..131_072).await?;
    // The connection dies; the next chunk reaches the other instance, which knows nothing
    // of the first but what the store holds.
    assert_eq!(second.chunks(org, &name).await?, vec![(0, 131_072)]);
    put(&second, org, &name, &bytes, 131_072..262_144).await?;
    put(&first, org, &name, &bytes, 262_144..300_000).await?;
    assert_eq!(second.finish(org, &name, 300_000).await?, Finish::Published);
    assert_eq!(read_all(&first, org, &name).await?, bytes);
    Ok(())
}

#[tokio::test]
async fn a_chunk_sent_again_at_the_same_offset_replaces_what_an_interrupted_write_left() -> anyhow::Result<()>
{
    let store = BlobStore::new(Arc::new(InMemory::new()));
    let (org, bytes) = (OrgId::new(), blob(1000));
    let name = sha(&bytes);
    put(&store, org, &name, &bytes, 0..500).await?;
    store.write_at(org, &name, 500, Bytes::from_static(b"garbage from a cut request")).await?;
    put(&store, org, &name, &bytes, 500..1000).await?;
    assert_eq!(store.chunks(org, &name).await?, vec![(0, 500), (500, 500)]);
    assert_eq!(store.finish(org, &name, 1000).await?, Finish::Published);
    assert_eq!(read_all(&store, org, &name).await?, bytes);
    Ok(())
}

#[tokio::test]
async fn overlapping_chunks_of_different_lengths_still_make_the_blob() -> anyhow::Result<()> {
    let store = BlobStore::new(Arc::new(InMemory::new()));
    let (org, bytes) = (OrgId::new(), blob(1000));
    let name = sha(&bytes);
    put(&store, org, &name, &bytes, 0..600).await?;
    put(&store, org, &name, &bytes, 400..1000).await?;
    assert_eq!(store.finish(org, &name, 1000).await?, Finish::Published);
    assert_eq!(read_all(&store, org, &name).await?, bytes);
    Ok(())
}

#[tokio::test]
async fn bytes_that_do_not_hash_to_the_name_are_refused_nothing_is_published_and_the_chunks_go()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = BlobStore::open(dir.path())?;
    let (org, bytes) = (OrgId::new(), blob(1000));
    let other = sha(b"other");
    put(&store, org, &other, &bytes, 0..1000).await?;
    assert_eq!(store.finish(org, &other, 1000).await?, Finish::Refused);
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
    let unread = store.read(org, &other).await;
    assert!(matches!(unread, Err(BlobError::Store(object_store::Error::NotFound { .. }))));
    Ok(())
}

#[tokio::test]
async fn a_lost_chunk_says_how_far_the_stored_bytes_reach_and_the_upload_goes_on_from_there()
-> anyhow::Result<()> {
    let store = BlobStore::new(Arc::new(InMemory::new()));
    let (org, bytes) = (OrgId::new(), blob(1000));
    let name = sha(&bytes);
    put(&store, org, &name, &bytes, 0..300).await?;
    put(&store, org, &name, &bytes, 600..1000).await?;
    assert_eq!(store.finish(org, &name, 1000).await?, Finish::Short { received: 300 });
    assert!(store.read(org, &name).await.is_err(), "nothing published");
    put(&store, org, &name, &bytes, 300..600).await?;
    assert_eq!(store.finish(org, &name, 1000).await?, Finish::Published);
    assert_eq!(read_all(&store, org, &name).await?, bytes);
    Ok(())
}

#[tokio::test]
async fn a_blob_published_before_its_completion_was_recorded_is_recognised_when_its_last_chunk_comes_again()
-> anyhow::Result<()> {
    let store = BlobStore::new(Arc::new(InMemory::new()));
    let (org, bytes) = (OrgId::new(), blob(1000));
    let name = sha(&bytes);
    put(&store, org, &name, &bytes, 0..600).await?;
    put(&store, org, &name, &bytes, 600..1000).await?;
    assert_eq!(store.finish(org, &name, 1000).await?, Finish::Published);
    // The instance stopped before the database said so: the phone sends the last chunk again.
    put(&store, org, &name, &bytes, 600..1000).await?;
    assert_eq!(store.finish(org, &name, 1000).await?, Finish::Published);
    assert!(store.chunks(org, &name).await?.is_empty());
    assert_eq!(read_all(&store, org, &name).await?, bytes);
    Ok(())
}

#[tokio::test]
async fn a_blob_larger_than_the_write_buffer_is_published_whole() -> anyhow::Result<()> {
    let store = BlobStore::new(Arc::new(InMemory::new()));
    let (org, bytes) = (OrgId::new(), blob(11 * 1024 * 1024));
    let name = sha(&bytes);
    for start in (0..bytes.len()).step_by(256 * 1024) {
        put(&store, org, &name, &bytes, start..(start + 256 * 1024).min(bytes.len())).await?;
    }
    assert_eq!(store.finish(org, &name, bytes.len() as u64).await?, Finish::Published);
    assert!(read_all(&store, org, &name).await? == bytes);
    assert!(store.chunks(org, &name).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn blobs_left_by_the_folder_only_store_are_read_and_its_half_uploads_continue() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let org = OrgId::new();
    let org_dir = dir.path().join(org.to_string());
    std::fs::create_dir_all(&org_dir)?;
    let (done, half) = (blob(700), blob(1000));
    std::fs::write(org_dir.join(sha(&done)), &done)?;
    // Its part file ran 100 bytes past what the database acknowledged (500) when it stopped.
    std::fs::write(org_dir.join(format!("{}.part", sha(&half))), &half[..600])?;

    let store = BlobStore::open(dir.path())?;
    assert_eq!(read_all(&store, org, &sha(&done)).await?, done);
    assert_eq!(store.chunks(org, &sha(&half)).await?, vec![(0, 600)]);
    put(&store, org, &sha(&half), &half, 500..1000).await?;
    assert_eq!(store.finish(org, &sha(&half), 1000).await?, Finish::Published);
    assert_eq!(read_all(&store, org, &sha(&half)).await?, half);
    let mut expected = vec![format!("{org}/{}", sha(&done)), format!("{org}/{}", sha(&half))];
    expected.sort();
    assert_eq!(files(dir.path()), expected, "the old part file is gone");
    Ok(())
}

#[tokio::test]
async fn blobs_of_one_org_are_not_blobs_of_another() -> anyhow::Result<()> {
    let store = BlobStore::new(Arc::new(InMemory::new()));
    let (org, other, bytes) = (OrgId::new(), OrgId::new(), blob(100));
    let name = sha(&bytes);
    put(&store, org, &name, &bytes, 0..100).await?;
    assert!(store.chunks(other, &name).await?.is_empty());
    assert_eq!(store.finish(other, &name, 100).await?, Finish::Short { received: 0 });
    assert_eq!(store.finish(org, &name, 100).await?, Finish::Published);
    assert!(store.read(other, &name).await.is_err());
    Ok(())
}

#[test]
fn a_spec_names_a_folder_or_an_s3_bucket_and_nothing_else() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let default = dir.path().join("blobs");
    BlobStore::from_spec(None, &default)?;
    assert!(default.is_dir(), "the default folder is made");
    let elsewhere = dir.path().join("shared");
    BlobStore::from_spec(elsewhere.to_str(), &default)?;
    assert!(elsewhere.is_dir());
    assert!(matches!(BlobStore::from_spec(Some("gs://bucket"), &default), Err(BlobError::Location(_))));
    let unknown = BlobStore::s3("bucket", "", &[("aws_no_such_setting", "1")]);
    assert!(matches!(&unknown, Err(BlobError::Option(name)) if name == "aws_no_such_setting"));
    Ok(())
}
