//! `test_server`: the sync server in its own process, for the crash tests (`tests/crash.rs`)
//! to kill with SIGKILL and restart on the same data folder.
//!
//! It serves the database in `--data-dir` on `--bind` and prints `listening <base url>` on
//! stdout once the socket accepts connections. Binding is retried for a few seconds, since a
//! restart reuses the port of the process just killed. Ctrl-C stops it gracefully.
//! Logs go to stderr only when `RUST_LOG` is set.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use fieldkit_e2e::harness::TestServer;
use fieldkit_server::Limits;

/// The sync server over one data folder, on one address.
#[derive(Debug, Parser)]
struct Args {
    /// The folder that holds the server's SQLite database.
    #[arg(long)]
    data_dir: PathBuf,
    /// The address to listen on, e.g. `127.0.0.1:0`.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
}

/// How long a busy address is retried.
const BIND_PATIENCE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    fieldkit_e2e::harness::log_to_stderr_if_asked();
    let args = Args::parse();
    let started = Instant::now();
    let server = loop {
        match TestServer::start_in_sqlite(&args.data_dir, &args.bind, Limits::default()).await {
            Ok(server) => break server,
            Err(e) if is_addr_in_use(&e) && started.elapsed() < BIND_PATIENCE => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening {}", server.url)?;
        out.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    server.stop().await
}

fn is_addr_in_use(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
}
