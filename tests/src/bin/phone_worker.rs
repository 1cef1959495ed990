//! `phone_worker`: a phone in its own process, for the crash tests (`tests/crash.rs`) to kill
//! with SIGKILL at random moments.
//!
//! It opens the engine on a database file, logs in if no session is stored, then records
//! check-ins in a loop and syncs every few writes. Its standard output is a line protocol
//! the test reads; a line is written and flushed right after the call it reports returns:
//!
//! - `ready <device id>`: the engine is open and logged in;
//! - `ack <fact id>`: `check_in` returned this fact, so the app was told it is saved;
//! - `syncing`: a sync starts;
//! - `synced <pushed> <already stored> <rejected>`: the sync succeeded;
//! - `sync-error <message>`: the sync failed with a retryable error (server unreachable);
//! - `fatal <message>`: anything else failed; the process exits with status 1;
//! - `done`: every write was made.
//!
//! Logs go to stderr only when `RUST_LOG` is set.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use fieldkit_domain::ids::CustomerId;
use fieldkit_domain::model::{LocationFix, LocationProvider, WgsPoint};
use fieldkit_e2e::harness::{PASSWORD, open_phone};
use fieldkit_engine::CheckInInput;

/// A phone that checks in and syncs until it is killed.
#[derive(Debug, Parser)]
struct Args {
    /// The engine's SQLite file.
    #[arg(long)]
    db: PathBuf,
    /// The sync server's base URL.
    #[arg(long)]
    url: String,
    /// The org's login name.
    #[arg(long)]
    org: String,
    /// The rep who logs in when no session is stored.
    #[arg(long)]
    user: String,
    /// How many check-ins to record before stopping.
    #[arg(long, default_value_t = 1000)]
    writes: u32,
    /// Sync after every this many check-ins (0: never).
    #[arg(long, default_value_t = 5)]
    sync_every: u32,
    /// A label put in each check-in's note (the test passes its round number).
    #[arg(long, default_value = "")]
    label: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    fieldkit_e2e::harness::log_to_stderr_if_asked();
    let args = Args::parse();
    if let Err(e) = run(&args).await {
        say(&format!("fatal {e:#}"));
        std::process::exit(1);
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let kit = open_phone(&args.db, &args.url, &args.org)?;
    if let Some(moved) = kit.recovered_database() {
        anyhow::bail!("the database was damaged and moved to {}", moved.display());
    }
    if kit.current_user()?.is_none() {
        kit.login(&args.user, PASSWORD).await?;
    }
    // A kill between a check-in and its check-out leaves the visit open: close it first.
    if let Some(open) = kit.open_visit()? {
        kit.check_out(open.id, fix(0)?)?;
    }
    say(&format!("ready {}", kit.device_id()));
    for i in 1..=args.writes {
        let check_in = kit.check_in(CheckInInput {
            customer_id: CustomerId::new(),
            task_id: None,
            fix: fix(i)?,
            note: Some(format!("{} #{i}", args.label)),
        })?;
        // Printed only once the engine has returned: from here on the app believes it saved.
        say(&format!("ack {}", check_in.id));
        kit.check_out(check_in.visit_id, check_in.fix)?;
        if args.sync_every > 0 && i % args.sync_every == 0 {
            say("syncing");
            match kit.sync_now().await {
                Ok(report) => {
                    say(&format!("synced {} {} {}", report.pushed, report.already_stored, report.rejected))
                }
                Err(e) if e.is_retryable() => say(&format!("sync-error {e}")),
                Err(e) => return Err(e.into()),
            }
        }
    }
    say("done");
    Ok(())
}

/// A fix in central Shanghai that moves a little with every write.
fn fix(i: u32) -> anyhow::Result<LocationFix> {
    let step = f64::from(i % 1000) * 1e-5;
    Ok(LocationFix {
        point: WgsPoint::new(31.2304 + step, 121.4737 - step)?,
        accuracy_m: 12.0,
        fix_time_ms: fieldkit_server::now_ms(),
        provider: LocationProvider::Gnss,
        is_mock: false,
    })
}

/// Writes one line to stdout and flushes it. If stdout is gone (the test stopped reading),
/// there is nobody left to tell, so the write error is ignored.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
