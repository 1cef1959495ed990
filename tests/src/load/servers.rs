//! Server instances as child processes on loopback ports (copies of the `load-gen` binary
//! running its `serve` subcommand, so no second binary is needed), killed with SIGKILL and
//! restarted on the same port for the soak; and the throw-away PostgreSQL cluster of
//! `scripts/pg-test-cluster`, on a port and folder of its own so that restarting it never
//! disturbs the test suite's cluster.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fieldkit_server::blobs::BlobStore;
use fieldkit_server::storage::{PgStorage, SqliteStorage, Storage};
use fieldkit_server::{AppState, Limits};
use std::process::{Child, Command};

/// Where the instances keep their data.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The SQLite file in this folder (one instance only).
    Sqlite(PathBuf),
    /// This PostgreSQL database (a libpq URL).
    Postgres(String),
}

/// What `load-gen serve` runs: the server over `backend` with blobs in `blob_dir`, on
/// `bind`, with rate limits off, until the process is killed.
pub async fn serve(bind: &str, backend: &Backend, pool: usize, blob_dir: &Path) -> anyhow::Result<()> {
    let storage: Arc<dyn Storage> = match backend {
        Backend::Sqlite(dir) => {
            std::fs::create_dir_all(dir)?;
            Arc::new(SqliteStorage::open(&fieldkit_server::config::database_path(dir))?)
        }
        Backend::Postgres(url) => Arc::new(PgStorage::connect(url, pool).await?),
    };
    let blobs = Arc::new(BlobStore::open(blob_dir)?);
    // Every simulated phone talks from 127.0.0.1: the per-address budgets would measure the
    // rate limiter, not sync.
    let limits = Limits::default().without_rate_limits();
    let state = AppState::new(storage, blobs, limits).map_err(anyhow::Error::msg)?;
    let listener =
        tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    fieldkit_server::serve(listener, state, std::future::pending::<()>()).await?;
    Ok(())
}

/// One server instance in a child process.
#[derive(Debug)]
pub struct Instance {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Instance {
    /// Starts `load-gen serve` on a free loopback port and waits until it answers.
    pub async fn start(
        backend: &Backend,
        pool: usize,
        blob_dir: &Path,
        log: PathBuf,
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut args = vec![
            "serve".to_owned(),
            "--bind".to_owned(),
            format!("127.0.0.1:{port}"),
            "--pool".to_owned(),
            pool.to_string(),
            "--blob-dir".to_owned(),
            blob_dir.display().to_string(),
        ];
        match backend {
            Backend::Sqlite(dir) => args.extend(["--data-dir".to_owned(), dir.display().to_string()]),
            Backend::Postgres(url) => args.extend(["--database-url".to_owned(), url.clone()]),
        }
        let mut instance = Self { url: format!("http://127.0.0.1:{port}"), args, log, child: None };
        instance.spawn().await?;
        Ok(instance)
    }

    /// The child's process id, while it runs.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let exe = std::env::current_exe()?;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log)?;
        let child = Command::new(exe)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(60)).await
    }

    /// Waits until `GET /healthz` answers 200 (the storage answers too).
    async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + within;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("server instance {} exited with {status} (see {})", self.url, self.log.display());
            }
            if let Ok(answer) = http.get(format!("{}/healthz", self.url)).send().await
                && answer.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("server instance {} not ready after {within:?} (see {})", self.url, self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the instance with SIGKILL (no graceful shutdown) and reaps it.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            tokio::task::spawn_blocking(move || child.wait()).await??;
        }
        Ok(())
    }

    /// Starts the instance again on its port; retries while it exits at once (the database
    /// still restarting).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let mut last = None;
        for _ in 0..30 {
            match self.spawn().await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    self.kill().await?;
                    last = Some(e);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("instance {} did not restart", self.url)))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The throw-away PostgreSQL cluster run by `scripts/pg-test-cluster` on its own port and
/// folder.
#[derive(Debug, Clone)]
pub struct PgCluster {
    /// Its port.
    pub port: u16,
    /// Its data folder.
    pub dir: PathBuf,
}

impl PgCluster {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test-cluster")
    }

    async fn run(&self, action: &str) -> anyhow::Result<String> {
        let mut command = Command::new(Self::script());
        command
            .arg(action)
            .env("FIELDKIT_PG_PORT", self.port.to_string())
            .env("FIELDKIT_PG_DIR", &self.dir)
            .stdin(Stdio::null());
        let out = tokio::task::spawn_blocking(move || command.output())
            .await?
            .context("cannot run scripts/pg-test-cluster")?;
        if !out.status.success() {
            bail!("scripts/pg-test-cluster {action} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Starts the cluster (creating it when missing); answers its server URL.
    pub async fn start(&self) -> anyhow::Result<String> {
        self.run("start").await
    }

    /// Stops the cluster (fast shutdown: open connections are cut).
    pub async fn stop(&self) -> anyhow::Result<()> {
        self.run("stop").await.map(drop)
    }

    /// A fresh database on the cluster; answers its URL.
    pub async fn fresh_database(&self, server_url: &str) -> anyhow::Result<String> {
        let name = format!("load_{}", uuid::Uuid::now_v7().simple());
        PgStorage::ensure_database(server_url, &name).await?;
        Ok(format!("postgres://postgres@127.0.0.1:{}/{name}", self.port))
    }
}
