//! Blob scenarios: resumable, content-addressed uploads on their own queue, verified by the
//! server, which also knows which photos still wait for their bytes.

use fieldkit_domain::protocol::BlobStatus;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer};
use fieldkit_server::Limits;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `len` bytes that do not compress (a stand-in for a JPEG's entropy-coded data).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

async fn put_raw(
    api: &Api,
    token: &str,
    sha: &str,
    offset: u64,
    size: u64,
    bytes: Vec<u8>,
) -> anyhow::Result<(StatusCode, Value)> {
    api.send_raw("PUT", &format!("/v1/blobs/{sha}?offset={offset}&size={size}"), Some(token), Some(bytes))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5_mb_photo_cut_at_80_percent_resumes_where_it_stopped() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    let photo = noise(5 * 1024 * 1024, 1);
    let record = phone.kit.record_photo(None, &photo, None)?;
    assert_eq!(phone.kit.blob_state(&record.sha256)?.as_deref(), Some("pending"));

    // The app is stopped after 4 MB (80 %) went up.
    let first = phone.kit.upload_blobs(Some(4 * 1024 * 1024)).await?;
    assert_eq!((first.bytes_sent, first.completed), (4 * 1024 * 1024, 0));
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let (_, status) = api.send("GET", &format!("/v1/blobs/{}", record.sha256), Some(&token), None).await?;
    let status: BlobStatus = serde_json::from_value(status)?;
    assert_eq!((status.received, status.complete), (4 * 1024 * 1024, false));

    // The next sync sends only the last megabyte.
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.blobs.bytes_sent, 1024 * 1024, "resumed, not restarted");
    assert_eq!(report.blobs.completed, 1);
    assert_eq!(phone.kit.blob_state(&record.sha256)?.as_deref(), Some("done"));
    let (status, _) = api.send("GET", &format!("/v1/blobs/{}", record.sha256), Some(&token), None).await?;
    assert_eq!(status, StatusCode::OK);
    let content = reqwest::Client::new()
        .get(format!("{}/v1/blobs/{}/content", server.url, record.sha256))
        .bearer_auth(&token)
        .send()
        .await?
        .bytes()
        .await?;
    assert_eq!(content.as_ref(), photo.as_slice());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_the_server_already_has_is_not_sent_again() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 2).await?;
    let photo = noise(700 * 1024, 2);
    let first = server.phone("acme", "rep1").await?;
    first.kit.record_photo(None, &photo, None)?;
    assert_eq!(first.kit.sync_now().await?.blobs.bytes_sent, photo.len() as u64);

    let second = server.phone("acme", "rep2").await?;
    second.kit.record_photo(None, &photo, None)?;
    let report = second.kit.sync_now().await?;
    assert_eq!((report.blobs.skipped, report.blobs.bytes_sent), (1, 0));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_blob_never_holds_back_the_data_and_the_server_lists_what_is_missing() -> anyhow::Result<()>
{
    let limits = Limits { max_blob_bytes: 1024 * 1024, ..Limits::default() };
    let server = TestServer::start_with(limits).await?;
    let org = server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    let too_big = phone.kit.record_photo(None, &noise(2 * 1024 * 1024, 3), None)?;
    let fine = phone.kit.record_photo(None, &noise(300 * 1024, 4), None)?;

    let report = phone.kit.sync_now().await?;
    assert_eq!(report.pushed, 2, "both photo records synced");
    assert_eq!((report.blobs.parked, report.blobs.completed), (1, 1));
    assert_eq!(phone.kit.blob_state(&too_big.sha256)?.as_deref(), Some("parked"));
    let status = phone.kit.sync_status()?;
    assert_eq!((status.blobs_pending, status.blobs_parked, status.outbox.pending), (0, 1, 0));

    let api = Api::new(&server.url);
    let (_, missing) = api.send("GET", "/v1/blobs/missing", Some(&org.manager_token), None).await?;
    let missing = missing.as_array().cloned().unwrap_or_default();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0]["sha256"], too_big.sha256.as_str());
    assert_eq!(missing[0]["fact_id"], serde_json::json!(too_big.id));
    assert!(!missing.iter().any(|m| m["sha256"] == fine.sha256.as_str()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_do_not_match_their_name_or_size_are_refused_and_kept_nowhere() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let bytes = noise(1000, 5);
    let sha = hex::encode(Sha256::digest(&bytes));

    // A name that is not a sha-256 (and could be a path).
    let (status, _) = put_raw(&api, &token, "..%2F..%2Fetc%2Fpasswd", 0, 4, b"root".to_vec()).await?;
    assert!(status.is_client_error());
    // A chunk past the announced size.
    let (status, body) = put_raw(&api, &token, &sha, 0, 10, bytes.clone()).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Whole bytes under someone else's name: refused and dropped.
    let other = hex::encode(Sha256::digest(b"other"));
    let (status, body) = put_raw(&api, &token, &other, 0, 1000, bytes.clone()).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("do not hash"), "{body}");
    let (_, status) = api.send("GET", &format!("/v1/blobs/{other}"), Some(&token), None).await?;
    assert_eq!((status["received"].as_u64(), status["complete"].as_bool()), (Some(0), Some(false)));

    // A chunk at the wrong offset appends nothing and says where to resume.
    let (_, status) = put_raw(&api, &token, &sha, 0, 1000, bytes[..400].to_vec()).await?;
    assert_eq!(status["received"], 400);
    let (status_code, status) = put_raw(&api, &token, &sha, 100, 1000, bytes[100..500].to_vec()).await?;
    assert_eq!((status_code, status["received"].as_u64()), (StatusCode::OK, Some(400)));
    let (_, status) = put_raw(&api, &token, &sha, 400, 1000, bytes[400..].to_vec()).await?;
    assert_eq!(status["complete"], true);
    Ok(())
}
