//! The `fieldkit-server` binary: parses the command line and runs the library.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use fieldkit_server::blobs::BlobStore;
use fieldkit_server::config::{
    Cli, Command, LogFormat, ServeArgs, VerifyPhotoArgs, blob_dir, config_file, database_path,
    server_key_path,
};
use fieldkit_server::photos::{ReceiptFile, verify_stamped_photo};
use fieldkit_server::provision::{self, UserSpec};
use fieldkit_server::retention;
use fieldkit_server::server_key::ServerKey;
use fieldkit_server::storage::{PgStorage, SqliteStorage, Storage, failure_code};
use fieldkit_server::summaries;
use fieldkit_server::{AppState, Limits};

fn main() -> anyhow::Result<ExitCode> {
    // First, while this is the only thread: the configuration file's variables join the
    // environment (without replacing any already set), where the flags read their defaults.
    let args: Vec<String> = std::env::args().collect();
    if let Some(file) = config_file(&args) {
        dotenvy::from_path(&file)
            .with_context(|| format!("cannot read the configuration file {}", file.display()))?;
    }
    let cli = Cli::parse();
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "info,tower_http=warn".into())
    };
    // Logs on stderr: stdout carries the subcommands' answers (`verify-photo`, `backup`, …).
    match cli.log_format {
        LogFormat::Text => {
            tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter()).init()
        }
        LogFormat::Json => {
            tracing_subscriber::fmt().json().with_writer(std::io::stderr).with_env_filter(filter()).init();
        }
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run(cli))
}

/// Runs the command.
async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::VerifyPhoto(args) => Ok(verify_photo(&args)),
        Command::Backup { to } => {
            if cli.database_url.as_deref().is_some_and(|url| !url.is_empty()) {
                anyhow::bail!(
                    "backup copies the embedded SQLite database; on PostgreSQL use pg_dump (docs/operations.md)"
                );
            }
            let storage =
                SqliteStorage::open(&database_path(&cli.data_dir)).context("cannot open the database")?;
            storage.backup_to(&to).await.with_context(|| format!("cannot back up to {}", to.display()))?;
            println!("backed up to {}", to.display());
            Ok(ExitCode::SUCCESS)
        }
        command => {
            let storage = open_storage(&cli.data_dir, cli.database_url.as_deref(), cli.database_pool).await?;
            with_database(&cli.data_dir, storage, command).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `verify-photo`: 0 authentic, 1 not authentic, 2 nothing could be checked.
fn verify_photo(args: &VerifyPhotoArgs) -> ExitCode {
    let read = |path: &Path| std::fs::read(path).with_context(|| format!("cannot read {}", path.display()));
    let inputs = read(&args.photo).and_then(|photo| {
        let receipt = read(&args.receipt)?;
        let file: ReceiptFile = serde_json::from_slice(&receipt).with_context(|| {
            format!("{} is not a receipt file ({{receipt, signature, public_key}})", args.receipt.display())
        })?;
        Ok((photo, file))
    });
    let (photo, file) = match inputs {
        Ok(inputs) => inputs,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    match verify_stamped_photo(&photo, &file) {
        Ok(_) => {
            println!("authentic");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            println!("not authentic: {}: {failure}", failure_code(&failure));
            ExitCode::from(1)
        }
    }
}

/// The database: PostgreSQL when a URL is given, else the data folder's SQLite file.
async fn open_storage(
    data_dir: &Path,
    database_url: Option<&str>,
    pool: usize,
) -> anyhow::Result<Arc<dyn Storage>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    Ok(match database_url.filter(|url| !url.is_empty()) {
        Some(url) => {
            let storage = PgStorage::connect(url, pool).await.context("cannot open the postgres database")?;
            tracing::info!(pool, "storage: postgres");
            Arc::new(storage)
        }
        None => Arc::new(SqliteStorage::open(&database_path(data_dir)).context("cannot open the database")?),
    })
}

/// The subcommands that work on the database.
async fn with_database(data_dir: &Path, storage: Arc<dyn Storage>, command: Command) -> anyhow::Result<()> {
    match command {
        Command::VerifyPhoto(_) | Command::Backup { .. } => {
            anyhow::bail!("handled before the database opens")
        }
        Command::Serve(args) => {
            let limits =
                args.rate_limits(Limits { max_body_bytes: args.max_body_bytes, ..Limits::default() });
            let blobs = Arc::new(
                BlobStore::from_spec(args.blob_store.as_deref(), &blob_dir(data_dir))
                    .context("cannot open the blob store")?,
            );
            let key_file = args.server_key_file.clone().unwrap_or_else(|| server_key_path(data_dir));
            let server_key = ServerKey::load_or_create(&key_file)?;
            let mut state = AppState::new(storage, blobs, limits)
                .map_err(anyhow::Error::msg)?
                .with_server_key(server_key);
            if let Some(token) = args.metrics_token.as_deref().filter(|t| !t.is_empty()) {
                state = state.with_metrics_token(token);
            }
            let listener = tokio::net::TcpListener::bind(args.bind)
                .await
                .with_context(|| format!("cannot listen on {}", args.bind))?;
            tracing::info!(addr = %listener.local_addr()?, data_dir = %data_dir.display(), "serving");
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let summaries = (args.summaries_every_minutes > 0).then(|| {
                let every = std::time::Duration::from_secs(args.summaries_every_minutes.saturating_mul(60));
                tokio::spawn(summaries::run(state.clone(), every, stopped))
            });
            // Time-outs escalate within a minute even when nobody reads the request.
            let approvals = tokio::spawn(fieldkit_server::approvals::run(
                state.clone(),
                std::time::Duration::from_secs(60),
                stop.subscribe(),
            ));
            let served = fieldkit_server::serve(listener, state, shutdown_signal()).await;
            let _ = stop.send(true);
            if let Err(e) = approvals.await {
                tracing::error!(error = %e, "approval refresh task failed");
            }
            if let Some(task) = summaries
                && let Err(e) = task.await
            {
                tracing::error!(error = %e, "summary generator task failed");
            }
            served?;
            tracing::info!("stopped");
        }
        Command::Summarize { org, date } => {
            let blobs =
                Arc::new(BlobStore::open(&blob_dir(data_dir)).context("cannot open the blob folder")?);
            let state = AppState::new(storage, blobs, Limits::default()).map_err(anyhow::Error::msg)?;
            let runs = summaries::summarize(&state, fieldkit_server::now_ms(), org.as_deref(), date).await?;
            for run in runs {
                println!(
                    "summarized {}: {} periods built, {} up to date",
                    run.org.slug,
                    run.built.len(),
                    run.unchanged
                );
            }
        }
        Command::CreateOrg { slug, name } => {
            let org = provision::create_org(storage.as_ref(), &slug, &name).await?;
            println!("created org {} ({})", org.slug, org.id);
        }
        Command::PruneFeed { org, keep_days } => {
            let org = storage.org_by_slug(&org).await?.with_context(|| format!("no org {org:?}"))?;
            let before = fieldkit_server::now_ms() - i64::from(keep_days) * 24 * 3_600_000;
            let pruned = storage.prune_removals(org.id, before).await?;
            println!("pruned {pruned} removals older than {keep_days} days from {}", org.slug);
        }
        Command::PruneTracks { org } => {
            let now = fieldkit_server::now_ms();
            let results = match org {
                Some(slug) => {
                    let org =
                        storage.org_by_slug(&slug).await?.with_context(|| format!("no org {slug:?}"))?;
                    let pruned = retention::prune_org(storage.as_ref(), &org, now).await?;
                    vec![retention::OrgPrune { org, pruned }]
                }
                None => retention::prune_all(storage.as_ref(), now).await?,
            };
            for r in results {
                println!(
                    "pruned {} track points and {} track facts past retention from {}",
                    r.pruned.points, r.pruned.facts, r.org.slug
                );
            }
        }
        Command::AddUser { org, username, display_name, role, password } => {
            let org = storage.org_by_slug(&org).await?.with_context(|| format!("no org {org:?}"))?;
            let spec = UserSpec {
                username: &username,
                display_name: &display_name,
                role,
                team_id: None,
                data_scope: None,
                password: &password,
            };
            let user = provision::add_user(storage.as_ref(), org.id, spec).await?;
            println!("added {} {} ({})", user.role.as_str(), user.username, user.id);
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}
