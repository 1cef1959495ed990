//! A real server on loopback, real engines in temp folders, and a plain HTTP client for
//! what a manager's dashboard or a hostile client would send.

use std::path::Path;
use std::sync::Arc;

use sha2::Digest;

use fieldkit_domain::ids::{CustomerId, DeviceId, TeamId};
use fieldkit_domain::model::{CheckIn, LocationFix, LocationProvider, Org, Role, User, WgsPoint};
use fieldkit_domain::protocol::{Fact, PROTOCOL_VERSION, SyncRequest};
use fieldkit_engine::{CheckInInput, Config, FieldKit};
use fieldkit_server::blobs::BlobStore;
use fieldkit_server::provision::{self, UserSpec};
use fieldkit_server::storage::{PgStorage, SqliteStorage, Storage};
use fieldkit_server::{AppState, Limits};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

/// The operator's token for `GET /metrics` on every test server.
pub const METRICS_TOKEN: &str = "operator metrics token";

/// The environment variable naming a PostgreSQL server (a libpq URL) to run the test servers
/// on instead of SQLite; `scripts/test` sets it for its second pass over the suite.
pub const POSTGRES_ENV: &str = "FIELDKIT_TEST_POSTGRES";

/// Whether the test servers run on PostgreSQL (see [`POSTGRES_ENV`]).
pub fn on_postgres() -> bool {
    std::env::var(POSTGRES_ENV).is_ok_and(|url| !url.is_empty())
}

/// The storage of a test server whose data folder is `data_dir`: SQLite in that folder, or,
/// on PostgreSQL, a database named after the folder (created when missing), so a server
/// restarted over the same folder finds its data again and every test gets its own.
pub async fn open_storage(data_dir: &Path) -> anyhow::Result<Arc<dyn Storage>> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => {
            let folder = data_dir.canonicalize()?;
            let digest = sha2::Sha256::digest(folder.as_os_str().as_encoded_bytes());
            let name = format!("fk_{}", &hex::encode(digest)[..24]);
            let config = PgStorage::ensure_database(&url, &name).await?;
            Ok(Arc::new(PgStorage::connect_with(config, 8).await?))
        }
        _ => Ok(Arc::new(SqliteStorage::open(&fieldkit_server::config::database_path(data_dir))?)),
    }
}

/// A fresh database on the PostgreSQL server that `FIELDKIT_PG_URL` names (scripts/test
/// starts one), for tests of several instances over one database whatever the pass; `None`,
/// with the reason printed, when there is none and `FIELDKIT_REQUIRE_POSTGRES` is not `1`.
pub async fn fresh_postgres() -> anyhow::Result<Option<tokio_postgres::Config>> {
    let Some(url) = std::env::var("FIELDKIT_PG_URL").ok().filter(|u| !u.is_empty()) else {
        anyhow::ensure!(
            std::env::var("FIELDKIT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "FIELDKIT_REQUIRE_POSTGRES=1 but FIELDKIT_PG_URL is not set"
        );
        eprintln!("skipped: no PostgreSQL (set FIELDKIT_PG_URL, see scripts/pg-test-cluster)");
        return Ok(None);
    };
    let name = format!("fk_{}", uuid::Uuid::now_v7().simple());
    Ok(Some(PgStorage::ensure_database(&url, &name).await?))
}

/// The server, running in this process on a loopback port.
pub struct TestServer {
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// The server's storage, for assertions that look behind the API.
    pub storage: Arc<dyn Storage>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on `127.0.0.1:0` over a fresh database in a temp folder.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(Limits::default()).await
    }

    /// Starts a server with the given limits.
    pub async fn start_with(limits: Limits) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut server = Self::start_in(dir.path(), "127.0.0.1:0", limits).await?;
        server._dir = Some(dir);
        Ok(server)
    }

    /// Starts a server over the database in `data_dir`, listening on `bind` (SQLite in the
    /// folder, or PostgreSQL in this pass of the suite: see [`open_storage`]).
    pub async fn start_in(data_dir: &Path, bind: &str, limits: Limits) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let blobs = Arc::new(BlobStore::open(&fieldkit_server::config::blob_dir(data_dir))?);
        Self::start_over(open_storage(data_dir).await?, blobs, bind, limits).await
    }

    /// As [`TestServer::start_in`], always on the folder's SQLite file: for tests whose
    /// subject is that file (upgrades of it, a process killed over it, data written into it).
    pub async fn start_in_sqlite(data_dir: &Path, bind: &str, limits: Limits) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let storage = Arc::new(SqliteStorage::open(&fieldkit_server::config::database_path(data_dir))?);
        let blobs = Arc::new(BlobStore::open(&fieldkit_server::config::blob_dir(data_dir))?);
        Self::start_over(storage, blobs, bind, limits).await
    }

    /// Starts a server over `storage` with blob bytes in `blobs`, listening on `bind`: one
    /// of several instances over one database.
    pub async fn start_over(
        storage: Arc<dyn Storage>,
        blobs: Arc<BlobStore>,
        bind: &str,
        limits: Limits,
    ) -> anyhow::Result<Self> {
        let state = AppState::new(storage.clone(), blobs, limits)
            .map_err(anyhow::Error::msg)?
            .with_metrics_token(METRICS_TOKEN);
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(fieldkit_server::serve(listener, state, async {
            let _ = rx.await;
        }));
        Ok(Self { url, storage, shutdown: Some(tx), task: Some(task), _dir: None })
    }

    /// Starts a server over the database in `data_dir` (as [`TestServer::start_in`]) with
    /// its blob bytes in `blobs` instead of the data folder's `blobs/`: S3-compatible
    /// storage, or one store several servers share.
    pub async fn start_in_with_blobs(
        data_dir: &Path,
        bind: &str,
        limits: Limits,
        blobs: Arc<BlobStore>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        Self::start_over(open_storage(data_dir).await?, blobs, bind, limits).await
    }

    /// Creates an org with one team: a manager and `reps` reps (`rep1`, `rep2`, …).
    pub async fn org(&self, slug: &str, reps: usize) -> anyhow::Result<TestOrg> {
        let org = provision::create_org(self.storage.as_ref(), slug, &format!("Org {slug}")).await?;
        let team = TeamId::new();
        let manager = self.user(&org, "manager", Role::Manager, team).await?;
        let mut rep_users = Vec::new();
        for i in 1..=reps {
            rep_users.push(self.user(&org, &format!("rep{i}"), Role::Rep, team).await?);
        }
        let api = Api::new(&self.url);
        let manager_token = api.login(slug, "manager", PASSWORD).await?;
        Ok(TestOrg { org, manager, manager_token, reps: rep_users })
    }

    /// Adds a user to `org` in `team`.
    pub async fn user(&self, org: &Org, username: &str, role: Role, team: TeamId) -> anyhow::Result<User> {
        let spec = UserSpec {
            username,
            display_name: username,
            role,
            team_id: Some(team),
            data_scope: None,
            password: PASSWORD,
        };
        Ok(provision::add_user(self.storage.as_ref(), org.id, spec).await?)
    }

    /// Opens a phone (an engine over a temp database) for `username` of `org` and logs in.
    pub async fn phone(&self, org: &str, username: &str) -> anyhow::Result<Phone> {
        let dir = tempfile::tempdir()?;
        let kit = open_phone(&dir.path().join("fieldkit.db"), &self.url, org)?;
        kit.login(username, PASSWORD).await?;
        Ok(Phone { kit, _dir: dir })
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Opens an engine over the database at `db_path`.
pub fn open_phone(db_path: &Path, server_url: &str, org: &str) -> anyhow::Result<FieldKit> {
    Ok(FieldKit::open(Config {
        db_path: db_path.to_owned(),
        server_url: server_url.to_owned(),
        org: org.to_owned(),
    })?)
}

/// An org made by [`TestServer::org`].
pub struct TestOrg {
    /// The org.
    pub org: Org,
    /// Its manager.
    pub manager: User,
    /// The manager's bearer token.
    pub manager_token: String,
    /// Its reps, `rep1` first.
    pub reps: Vec<User>,
}

/// An engine in a temp folder.
pub struct Phone {
    /// The engine.
    pub kit: FieldKit,
    _dir: tempfile::TempDir,
}

impl Phone {
    /// A phone from an engine the test opened itself in `dir` (kept until the phone drops).
    #[must_use]
    pub fn from_kit(kit: FieldKit, dir: tempfile::TempDir) -> Self {
        Self { kit, _dir: dir }
    }
}

/// A plain JSON-over-HTTP client, for what a dashboard or a hostile client sends.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// A client of the server at `base`.
    #[must_use]
    pub fn new(base: &str) -> Self {
        // Test code talks plain HTTP on loopback; reqwest still wants a TLS provider set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self { base: base.to_owned(), http: reqwest::Client::new() }
    }

    /// Logs in and returns the token.
    pub async fn login(&self, org: &str, username: &str, password: &str) -> anyhow::Result<String> {
        let body = serde_json::json!({
            "org": org, "username": username, "password": password,
            "device_id": "00000000-0000-7000-8000-000000000001"
        });
        let (status, answer) = self.send("POST", "/v1/login", None, Some(&body)).await?;
        anyhow::ensure!(status == StatusCode::OK, "login failed: {status} {answer}");
        Ok(answer["token"].as_str().unwrap_or_default().to_owned())
    }

    /// Sends a JSON request and returns the status and the JSON answer (`Null` if none).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let raw = body.map(serde_json::to_vec).transpose()?;
        self.send_raw(method, path, token, raw).await
    }

    /// Sends a JSON request as `token`'s user and insists on status `want`; returns the JSON
    /// answer.
    pub async fn expect(
        &self,
        method: &str,
        token: &str,
        path: &str,
        body: Option<Value>,
        want: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.send(method, path, Some(token), body.as_ref()).await?;
        anyhow::ensure!(status == want, "{method} {path}: {status} {answer}");
        Ok(answer)
    }

    /// Pushes `facts` through `POST /v1/sync` as a phone of `token`'s user (a fresh device
    /// id) and returns the answer; fails unless the server answered 200 and every fact's
    /// outcome is one of `accepted` (`stored`, `already_stored`…).
    pub async fn push_facts(
        &self,
        token: &str,
        facts: Vec<Fact>,
        accepted: &[&str],
    ) -> anyhow::Result<Value> {
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: DeviceId::new(),
            cursor: 0,
            pull_limit: 1,
            sent_at_ms: fieldkit_server::now_ms(),
            push: facts,
            docs: Vec::new(),
        };
        let (status, answer) =
            self.send("POST", "/v1/sync", Some(token), Some(&serde_json::to_value(request)?)).await?;
        anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
        for ack in answer["acks"].as_array().into_iter().flatten() {
            let outcome = ack["outcome"].as_str().unwrap_or_default();
            anyhow::ensure!(accepted.contains(&outcome), "a fact was refused: {ack}");
        }
        Ok(answer)
    }

    /// `GET path` as `token`'s user, for answers that are not JSON (CSV reports): the
    /// status, the content type and the body as text.
    pub async fn get_text(&self, token: &str, path: &str) -> anyhow::Result<(StatusCode, String, String)> {
        let answer = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await?;
        let status = answer.status();
        let content_type = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok((status, content_type, answer.text().await?))
    }

    /// A CSV report: its content type and body; fails unless the server answered 200.
    pub async fn get_csv(&self, token: &str, path: &str) -> anyhow::Result<(String, String)> {
        let (status, content_type, body) = self.get_text(token, path).await?;
        anyhow::ensure!(status == StatusCode::OK, "{path}: {status} {body}");
        Ok((content_type, body))
    }

    /// Sends raw bytes as a JSON body and returns the status and the JSON answer.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes)? };
        Ok((status, value))
    }
}

/// A GNSS fix at a point (15 m accuracy, not mocked).
#[must_use]
pub fn fix_at(lat: f64, lng: f64) -> LocationFix {
    LocationFix {
        point: WgsPoint::new(lat, lng).expect("test coordinates are on the globe"),
        accuracy_m: 15.0,
        fix_time_ms: 1_764_201_600_000,
        provider: LocationProvider::Gnss,
        is_mock: false,
    }
}

/// A check-in at a customer in central Shanghai, for no task.
#[must_use]
pub fn check_in_at(customer: CustomerId) -> CheckInInput {
    CheckInInput { customer_id: customer, task_id: None, fix: fix_at(31.2304, 121.4737), note: None }
}

/// A visit opened and closed on the spot: a check-in at `customer` (see [`check_in_at`])
/// and its check-out, two facts and one visit document.
pub fn visit_once(kit: &FieldKit, customer: CustomerId) -> fieldkit_engine::Result<CheckIn> {
    let check_in = kit.check_in(check_in_at(customer))?;
    kit.check_out(check_in.visit_id, check_in.fix)?;
    Ok(check_in)
}

/// Logs to stderr when `RUST_LOG` is set (the helper binaries keep stdout for their own
/// machine-read output).
pub fn log_to_stderr_if_asked() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
}

/// `len` bytes that do not compress, the same for the same `seed` (xorshift): a stand-in
/// for the entropy-coded data of a photo or a recording.
#[must_use]
pub fn incompressible(len: usize, seed: u64) -> Vec<u8> {
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
