//! Blob scenarios: resumable, content-addressed uploads on their own queue, verified by the
//! server, which also knows which photos still wait for their bytes; the app sees what waits
//! and why. A connection cut mid-upload goes through a real TCP forwarder ([`Cutter`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fieldkit_domain::protocol::BlobStatus;
use fieldkit_e2e::harness::{Api, PASSWORD, Phone, TestServer, incompressible, open_phone};
use fieldkit_e2e::proxy::{FaultPlan, FaultProxy};
use fieldkit_server::Limits;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The engine's upload chunk (`fieldkit_engine`'s `CHUNK_BYTES`).
const CHUNK: u64 = 256 * 1024;

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
    let photo = incompressible(5 * 1024 * 1024, 1);
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
    let photo = incompressible(700 * 1024, 2);
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
    let too_big = phone.kit.record_photo(None, &incompressible(2 * 1024 * 1024, 3), None)?;
    let fine = phone.kit.record_photo(None, &incompressible(300 * 1024, 4), None)?;

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
    let bytes = incompressible(1000, 5);
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

/// What a [`Cutter`] has forwarded and whether it is to cut.
#[derive(Default)]
struct CutState {
    /// Bytes forwarded from clients to the server, all connections together.
    sent: u64,
    /// The value of `sent` at which the connection carrying it is cut (once).
    cut_at: Option<u64>,
    /// Connections cut so far.
    cuts: u32,
}

/// A plain TCP forwarder on loopback between a phone and the server: it passes every byte
/// both ways and, once armed with [`Cutter::cut_after`], closes the connection (both sides)
/// when the clients have sent that many more bytes, then passes everything again. Real
/// sockets: the engine's HTTP client sees a connection die mid-request.
struct Cutter {
    url: String,
    state: Arc<Mutex<CutState>>,
    accept: JoinHandle<()>,
}

impl Cutter {
    async fn start(server_url: &str) -> anyhow::Result<Self> {
        let target: SocketAddr = server_url.trim_start_matches("http://").trim_end_matches('/').parse()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(CutState::default()));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                connections.spawn(forward(client, target, shared.clone()));
            }
        });
        Ok(Self { url, state, accept })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CutState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cuts the connection that carries the client's `bytes`-th byte from now.
    fn cut_after(&self, bytes: u64) {
        let mut state = self.lock();
        state.cut_at = Some(state.sent + bytes);
    }

    /// Bytes forwarded from clients to the server so far.
    fn sent(&self) -> u64 {
        self.lock().sent
    }

    fn cuts(&self) -> u32 {
        self.lock().cuts
    }
}

impl Drop for Cutter {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Forwards one connection until either side closes or the cut point is reached; then
/// drops both sockets.
async fn forward(client: TcpStream, target: SocketAddr, state: Arc<Mutex<CutState>>) {
    let Ok(server) = TcpStream::connect(target).await else { return };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async {
        let mut buf = vec![0_u8; 16 * 1024];
        loop {
            let n = client_read.read(&mut buf).await?;
            if n == 0 {
                return Ok::<(), std::io::Error>(());
            }
            let (pass, cut) = {
                let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
                let room = s.cut_at.map_or(u64::MAX, |at| at.saturating_sub(s.sent));
                let pass = usize::try_from(room).map_or(n, |room| room.min(n));
                s.sent += pass as u64;
                let cut = s.cut_at.is_some_and(|at| s.sent >= at);
                if cut {
                    s.cut_at = None;
                    s.cuts += 1;
                }
                (pass, cut)
            };
            server_write.write_all(&buf[..pass]).await?;
            if cut {
                server_write.flush().await?;
                return Ok(());
            }
        }
    };
    let downstream = tokio::io::copy(&mut server_read, &mut client_write);
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}

async fn server_status(api: &Api, token: &str, sha: &str) -> anyhow::Result<BlobStatus> {
    let (_, status) = api.send("GET", &format!("/v1/blobs/{sha}"), Some(token), None).await?;
    Ok(serde_json::from_value(status)?)
}

async fn server_content(url: &str, token: &str, sha: &str) -> anyhow::Result<Vec<u8>> {
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
async fn a_5_mb_upload_whose_connection_dies_at_80_percent_resumes_and_sends_only_the_rest()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let cutter = Cutter::start(&server.url).await?;
    let dir = tempfile::tempdir()?;
    let phone = Phone::from_kit(open_phone(&dir.path().join("fieldkit.db"), &cutter.url, "acme")?, dir);
    phone.kit.login("rep1", PASSWORD).await?;
    let size = 5 * 1024 * 1024;
    let photo = incompressible(usize::try_from(size)?, 6);
    let record = phone.kit.record_photo(None, &photo, None)?;

    // The connection dies 100 KiB into the 17th chunk (about 82 % of the bytes, request heads
    // included): the server never sees that chunk whole and keeps the 16 before it.
    cutter.cut_after(4 * 1024 * 1024 + 100 * 1024);
    let first = phone.kit.upload_blobs(None).await?;
    assert_eq!(cutter.cuts(), 1, "the connection was cut");
    assert_eq!((first.completed, first.failed, first.bytes_sent), (0, 1, 4 * 1024 * 1024), "{first:?}");
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let on_server = server_status(&api, &token, &record.sha256).await?;
    assert_eq!((on_server.received, on_server.complete), (4 * 1024 * 1024, false));

    // The app sees how far it got and why it stopped.
    let queue = phone.kit.blob_queue()?;
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!((queue[0].sha256.as_str(), queue[0].size), (record.sha256.as_str(), size));
    assert_eq!(queue[0].server_received, Some(4 * 1024 * 1024));
    assert_eq!((queue[0].attempts, queue[0].parked), (1, false));
    let reason = queue[0].reason.clone().unwrap_or_default();
    assert!(reason.starts_with("server unreachable: "), "{reason}");
    assert_eq!(reason, reason.to_lowercase());
    assert!(queue[0].next_attempt_ms.is_some(), "waits for its retry");

    // The next sync, on a sound connection, sends only what the server lacks.
    let before = cutter.sent();
    let report = phone.kit.sync_now().await?;
    let on_the_wire = cutter.sent() - before;
    assert_eq!((report.blobs.completed, report.blobs.bytes_sent), (1, 1024 * 1024), "{:?}", report.blobs);
    assert!(
        on_the_wire <= size * 3 / 10 + CHUNK,
        "resumed, not restarted: {on_the_wire} bytes went up for a {size}-byte file"
    );
    assert_eq!(cutter.cuts(), 1);
    assert_eq!(phone.kit.blob_state(&record.sha256)?.as_deref(), Some("done"));
    assert!(phone.kit.blob_queue()?.is_empty());

    let content = server_content(&server.url, &token, &record.sha256).await?;
    assert_eq!(hex::encode(Sha256::digest(&content)), record.sha256, "the server holds exactly the file");
    assert!(content == photo);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_blob_is_shown_to_the_app_with_the_servers_reason() -> anyhow::Result<()> {
    let limits = Limits { max_blob_bytes: 1024 * 1024, ..Limits::default() };
    let server = TestServer::start_with(limits).await?;
    server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    let too_big = phone.kit.record_photo(None, &incompressible(2 * 1024 * 1024, 7), None)?;
    let fine = phone.kit.record_photo(None, &incompressible(300 * 1024, 8), None)?;
    let waiting = phone.kit.blob_queue()?;
    assert_eq!(waiting.len(), 2, "both wait before the sync: {waiting:?}");
    assert!(waiting.iter().all(|b| !b.parked && b.reason.is_none() && b.attempts == 0));

    let report = phone.kit.sync_now().await?;
    assert_eq!((report.blobs.parked, report.blobs.completed), (1, 1));
    let queue = phone.kit.blob_queue()?;
    assert_eq!(queue.len(), 1, "the uploaded one has left the queue: {queue:?}");
    let parked = &queue[0];
    assert_eq!(
        (parked.sha256.as_str(), parked.size, parked.parked),
        (too_big.sha256.as_str(), 2 * 1024 * 1024, true)
    );
    assert_eq!(parked.next_attempt_ms, None, "a parked blob is not retried");
    assert_eq!(
        parked.reason.as_deref(),
        Some("payload_too_large: blob of 2097152 bytes is larger than the 1048576 bytes accepted")
    );
    assert!(!queue.iter().any(|b| b.sha256 == fine.sha256));
    // Parked, it stays parked: the next sync sends nothing for it.
    let again = phone.kit.sync_now().await?;
    assert_eq!((again.blobs.bytes_sent, again.blobs.parked), (0, 0));
    assert_eq!(phone.kit.blob_queue()?, queue);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_whose_upload_keeps_failing_backs_off_instead_of_hammering_the_server() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let mut plan = FaultPlan::none(9);
    plan.server_error = 1.0;
    let proxy = FaultProxy::start(&server.url, plan).await?;
    proxy.set_faults_enabled(false);
    let dir = tempfile::tempdir()?;
    let phone = Phone::from_kit(open_phone(&dir.path().join("fieldkit.db"), proxy.url(), "acme")?, dir);
    phone.kit.login("rep1", PASSWORD).await?;
    let photo = incompressible(600 * 1024, 10);
    let record = phone.kit.record_photo(None, &photo, None)?;

    // The server answers 500/503 to everything.
    proxy.set_faults_enabled(true);
    let failed_at = fieldkit_now_ms();
    let first = phone.kit.upload_blobs(None).await?;
    assert_eq!((first.failed, first.bytes_sent), (1, 0));
    let requests = proxy.counts().requests;
    for _ in 0..20 {
        let report = phone.kit.upload_blobs(None).await?;
        assert_eq!(report, Default::default(), "nothing is due yet");
    }
    assert_eq!(proxy.counts().requests, requests, "no request while the blob waits");
    let queue = phone.kit.blob_queue()?;
    assert_eq!((queue[0].attempts, queue[0].parked, queue[0].server_received), (1, false, None));
    let reason = queue[0].reason.clone().unwrap_or_default();
    assert!(reason.starts_with("server unreachable: server answered 50"), "{reason}");
    let due = queue[0].next_attempt_ms.unwrap_or_default();
    assert!(due >= failed_at + 1_000, "waits at least a second, not {} ms", due - failed_at);

    // When it falls due it is tried once more, and waits again, counting the failures.
    tokio::time::sleep(Duration::from_millis(u64::try_from(due - fieldkit_now_ms()).unwrap_or(0) + 50)).await;
    assert_eq!(phone.kit.upload_blobs(None).await?.failed, 1);
    assert_eq!(phone.kit.blob_queue()?[0].attempts, 2);

    // Healed, the next sync takes it up at once.
    proxy.set_faults_enabled(false);
    let report = phone.kit.sync_now().await?;
    assert_eq!((report.blobs.completed, report.blobs.bytes_sent), (1, photo.len() as u64));
    assert!(phone.kit.blob_queue()?.is_empty());
    assert_eq!(phone.kit.blob_state(&record.sha256)?.as_deref(), Some("done"));
    Ok(())
}

/// Device time now, Unix milliseconds (the engine's clock).
fn fieldkit_now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
