//! Blobs on object storage: the server's blob store on an S3-compatible server (moto's
//! `moto_server`, started here on a loopback port, installed by `scripts/setup`), and server
//! instances that share one store with no sticky sessions: a chunk that reaches another
//! instance continues the same upload.
//!
//! Without `moto_server` the S3 scenarios print why and pass, unless `FIELDKIT_REQUIRE_S3`
//! is set (the test command sets it in CI), which makes a missing server a failure.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldkit_domain::ids::CustomerId;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, check_in_at, incompressible};
use fieldkit_engine::photo::{PhotoInput, PipelineConfig};
use fieldkit_server::Limits;
use fieldkit_server::blobs::BlobStore;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

const STOREFRONT: &[u8] = include_bytes!("../fixtures/photos/storefront.jpg");
const BUCKET: &str = "fieldkit-blobs";
/// The key prefix the servers keep their blobs under in the bucket.
const PREFIX: &str = "eu/prod";

/// A `moto_server` child process on a loopback port, killed on drop.
struct Moto {
    endpoint: String,
    child: Child,
}

impl Moto {
    /// Starts `moto_server` and waits until it answers; `None` (after saying why) when it is
    /// not installed and `FIELDKIT_REQUIRE_S3` is not set.
    async fn start() -> anyhow::Result<Option<Self>> {
        // reqwest is built without a TLS provider of its own (the workspace's choice).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let spawned = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let required = std::env::var("FIELDKIT_REQUIRE_S3").is_ok_and(|v| !v.is_empty() && v != "0");
                anyhow::ensure!(
                    !required,
                    "moto_server is not installed and FIELDKIT_REQUIRE_S3 is set: run scripts/setup"
                );
                println!(
                    "SKIPPED: moto_server (an S3-compatible server) is not installed; scripts/setup \
                     installs it, and FIELDKIT_REQUIRE_S3=1 turns this skip into a failure"
                );
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let mut moto = Self { endpoint: format!("http://127.0.0.1:{port}"), child };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = moto.child.try_wait()? {
                anyhow::bail!("moto_server exited at start: {status}");
            }
            if http.get(&moto.endpoint).send().await.is_ok() {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "moto_server did not answer within a minute");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        moto.put_bucket().await?;
        Ok(Some(moto))
    }

    async fn put_bucket(&self) -> anyhow::Result<()> {
        let made = reqwest::Client::new().put(format!("{}/{BUCKET}", self.endpoint)).send().await?;
        anyhow::ensure!(made.status().is_success(), "creating the bucket: {}", made.status());
        Ok(())
    }

    /// A blob store on the bucket, as a server instance opens it.
    fn store(&self) -> anyhow::Result<Arc<BlobStore>> {
        Ok(Arc::new(BlobStore::s3(
            BUCKET,
            PREFIX,
            &[
                ("aws_endpoint", self.endpoint.as_str()),
                ("aws_allow_http", "true"),
                ("aws_region", "us-east-1"),
                ("aws_access_key_id", "fieldkit-test"),
                ("aws_secret_access_key", "fieldkit-test"),
            ],
        )?))
    }

    /// A client of the bucket of its own, to look behind the server.
    fn bucket(&self) -> anyhow::Result<AmazonS3> {
        Ok(AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(BUCKET)
            .with_access_key_id("fieldkit-test")
            .with_secret_access_key("fieldkit-test")
            .build()?)
    }

    /// Every key in the bucket.
    async fn keys(&self) -> anyhow::Result<Vec<String>> {
        let listed: Vec<_> = self.bucket()?.list(None).try_collect().await?;
        let mut keys: Vec<String> = listed.into_iter().map(|meta| meta.location.to_string()).collect();
        keys.sort();
        Ok(keys)
    }

    /// An object's bytes.
    async fn object(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        Ok(self.bucket()?.get(&ObjectPath::from(key)).await?.bytes().await?.to_vec())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CJK font the photo stamp is drawn with (`scripts/setup` installs it).
fn font() -> Vec<u8> {
    let path = std::env::var("FIELDKIT_TEST_FONT")
        .unwrap_or_else(|_| "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc".to_owned());
    std::fs::read(&path).unwrap_or_else(|e| panic!("test font {path}: {e} (run scripts/setup)"))
}

async fn content(url: &str, token: &str, sha: &str) -> anyhow::Result<Vec<u8>> {
    Ok(reqwest::Client::new()
        .get(format!("{url}/v1/blobs/{sha}/content"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?
        .to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_photo_cut_midway_lands_in_the_bucket_byte_identical_and_leaves_no_chunk_behind()
-> anyhow::Result<()> {
    let Some(moto) = Moto::start().await? else { return Ok(()) };
    let data = tempfile::tempdir()?;
    let server =
        TestServer::start_in_with_blobs(data.path(), "127.0.0.1:0", Limits::default(), moto.store()?).await?;
    let org = server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.configure_photos(PipelineConfig::default(), font(), 0)?;
    let visit = phone.kit.check_in(check_in_at(CustomerId::new()))?;
    let photo = phone.kit.take_photo(PhotoInput::Jpeg(STOREFRONT), Some(visit.visit_id), Some(visit.fix))?;
    let receipt = photo.receipt.as_ref().expect("the pipeline signs");
    let on_phone = std::fs::read(phone.kit.photo_file(&receipt.receipt.sha256).expect("kept on the phone"))?;
    let size = on_phone.len() as u64;
    assert!(size > 100 * 1024, "a stamped photo of {size} bytes");

    // The app is stopped with half the photo sent: the bucket holds that half as a chunk.
    let first = phone.kit.upload_blobs(Some(size / 2)).await?;
    assert_eq!((first.bytes_sent, first.completed), (size / 2, 0), "{first:?}");
    let chunk = format!("{PREFIX}/{}/{}.parts/{:020}", org.org.id, photo.sha256, 0);
    assert_eq!(moto.keys().await?, vec![chunk.clone()]);
    assert_eq!(moto.object(&chunk).await?, on_phone[..usize::try_from(size / 2)?]);

    // The next sync sends only the rest; the server publishes the verified photo as one
    // object and drops the chunks.
    let report = phone.kit.sync_now().await?;
    assert_eq!((report.blobs.completed, report.blobs.bytes_sent), (1, size - size / 2), "{:?}", report.blobs);
    let published = format!("{PREFIX}/{}/{}", org.org.id, photo.sha256);
    assert_eq!(moto.keys().await?, vec![published.clone()], "the photo alone, no chunk left");
    let in_bucket = moto.object(&published).await?;
    assert!(in_bucket == on_phone, "the bucket holds exactly the phone's file");
    assert_eq!(hex::encode(Sha256::digest(&in_bucket)), photo.sha256);
    assert!(content(&server.url, &org.manager_token, &photo.sha256).await? == on_phone);

    // The server checked the photo's bytes against its signed receipt.
    let (status, listed) =
        Api::new(&server.url).send("GET", "/v1/photos", Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed[0]["bytes_verified"], true, "{listed}");
    Ok(())
}

/// Two server instances over one database and the blob store `make` opens (once for each
/// instance): the chunks of one upload go to them in turn, and both serve the result.
async fn two_instances_share_one_upload(
    make: impl Fn() -> anyhow::Result<Arc<BlobStore>>,
) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let a = TestServer::start_in_with_blobs(data.path(), "127.0.0.1:0", Limits::default(), make()?).await?;
    let b = TestServer::start_in_with_blobs(data.path(), "127.0.0.1:0", Limits::default(), make()?).await?;
    a.org("acme", 1).await?;
    let (api_a, api_b) = (Api::new(&a.url), Api::new(&b.url));
    let token = api_a.login("acme", "rep1", PASSWORD).await?;
    let bytes = incompressible(1_100_000, 21);
    let (sha, size) = (hex::encode(Sha256::digest(&bytes)), bytes.len());
    let chunk = 256 * 1024;

    for (i, start) in (0..size).step_by(chunk).enumerate() {
        let end = (start + chunk).min(size);
        let api = if i % 2 == 0 { &api_a } else { &api_b };
        let path = format!("/v1/blobs/{sha}?offset={start}&size={size}");
        let (status, answer) =
            api.send_raw("PUT", &path, Some(&token), Some(bytes[start..end].to_vec())).await?;
        assert_eq!(status, StatusCode::OK, "chunk {i}: {answer}");
        assert_eq!(answer["received"], end, "chunk {i} continued the upload: {answer}");
        // The other instance sees the same progress.
        let other = if i % 2 == 0 { &api_b } else { &api_a };
        let (_, seen) = other.send("GET", &format!("/v1/blobs/{sha}"), Some(&token), None).await?;
        assert_eq!(
            (seen["received"].as_u64(), seen["complete"].as_bool()),
            (Some(end as u64), Some(end == size))
        );
    }
    // A retry of an early chunk on either instance changes nothing.
    let (_, again) = api_b
        .send_raw(
            "PUT",
            &format!("/v1/blobs/{sha}?offset=0&size={size}"),
            Some(&token),
            Some(bytes[..chunk].to_vec()),
        )
        .await?;
    assert_eq!(again["complete"], true, "{again}");
    for server in [&a, &b] {
        assert!(content(&server.url, &token, &sha).await? == bytes, "{} serves the whole blob", server.url);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_that_reaches_a_second_instance_continues_the_upload_on_the_shared_bucket()
-> anyhow::Result<()> {
    let Some(moto) = Moto::start().await? else { return Ok(()) };
    two_instances_share_one_upload(|| moto.store()).await?;
    let keys = moto.keys().await?;
    assert_eq!(keys.len(), 1, "one published blob, no chunk: {keys:?}");
    assert!(!keys[0].contains(".parts"), "{keys:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_that_reaches_a_second_instance_continues_the_upload_on_a_shared_folder() -> anyhow::Result<()>
{
    let shared = tempfile::tempdir()?;
    two_instances_share_one_upload(|| Ok(Arc::new(BlobStore::open(shared.path())?))).await
}
