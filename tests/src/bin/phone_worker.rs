//! `phone_worker`: a phone in its own process, for the crash tests (`tests/crash.rs`) to kill
//! with SIGKILL at random moments.
//!
//! It opens the engine on a database file, logs in if no session is stored, then records
//! check-ins in a loop, edits shared documents (the open visit's notes; the notes and status
//! of the tasks dispatched to the rep) at random (seeded) and syncs every few writes. Each
//! note edit appends a token unique to the run, `[<label>.<write>.<what>]`, to the notes as
//! the phone holds them, so the test can tell an edit lost from one applied twice. Its
//! standard output is a line protocol the test reads; a line is written and flushed right
//! after the call it reports returns:
//!
//! - `ready <device id>`: the engine is open and logged in;
//! - `ack <fact id>`: `check_in` returned this fact, so the app was told it is saved;
//! - `visit-note <visit id> <token>`: `update_visit` returned notes ending with the token;
//! - `task-note <task id> <token>`: `update_task` returned notes ending with the token;
//! - `task-status <task id> <status>`: `update_task` returned the task at this status;
//! - `syncing`: a sync starts;
//! - `synced <pushed> <already stored> <rejected>`: the sync succeeded;
//! - `sync-error <message>`: the sync failed with a retryable error (server unreachable);
//! - `fatal <message>`: anything else failed; the process exits with status 1;
//! - `done`: every write was made.
//!
//! Logs go to stderr only when `RUST_LOG` is set.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use fieldkit_domain::ids::{CustomerId, VisitId};
use fieldkit_domain::model::{LocationFix, LocationProvider, TaskStatus, WgsPoint};
use fieldkit_e2e::harness::{PASSWORD, open_phone};
use fieldkit_e2e::proxy::SplitMix64;
use fieldkit_engine::{CheckInInput, FieldKit};

/// A phone that checks in, edits its visits and tasks, and syncs until it is killed.
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
    /// A label put in each check-in's note and each edit's token (the test passes its round
    /// number); without spaces, as tokens are read up to the end of their line.
    #[arg(long, default_value = "w")]
    label: String,
    /// The seed of the choice of edits.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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
    let mut rng = SplitMix64::new(args.seed);
    for i in 1..=args.writes {
        let check_in = kit.check_in(CheckInInput {
            customer_id: CustomerId::new(),
            task_id: None,
            fix: fix(i)?,
            note: Some(format!("{} #{i}", args.label)),
        })?;
        // Printed only once the engine has returned: from here on the app believes it saved.
        say(&format!("ack {}", check_in.id));
        // None, one or two notes on the open visit, appended one after the other.
        for k in 0..rng.below(3) {
            append_visit_note(&kit, check_in.visit_id, &format!("[{}.{i}.v{k}]", args.label))?;
        }
        if rng.below(4) == 0 {
            edit_a_task(&kit, &mut rng, &format!("[{}.{i}.t]", args.label))?;
        }
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

/// Appends `token` to the visit's notes as this phone holds them and reports it.
fn append_visit_note(kit: &FieldKit, id: VisitId, token: &str) -> anyhow::Result<()> {
    let visit = kit.visit(id)?.with_context(|| format!("visit {id} is not on the phone"))?;
    let visit = kit.update_visit(id, None, Some(format!("{}{token}", visit.notes)))?;
    anyhow::ensure!(visit.notes.ends_with(token), "visit {id} did not keep the note {token}");
    say(&format!("visit-note {id} {token}"));
    Ok(())
}

/// Appends `token` to the notes of one of the rep's tasks (if any has arrived yet), and one
/// time in three moves it a step forward (open, in progress, done); reports what it did.
fn edit_a_task(kit: &FieldKit, rng: &mut SplitMix64, token: &str) -> anyhow::Result<()> {
    let tasks = kit.my_tasks()?;
    if tasks.is_empty() {
        return Ok(());
    }
    let task = &tasks[usize::try_from(rng.below(u64::try_from(tasks.len())?))?];
    let status = match (rng.below(3), task.status) {
        (0, TaskStatus::Open) => Some(TaskStatus::InProgress),
        (0, TaskStatus::InProgress) => Some(TaskStatus::Done),
        _ => None,
    };
    let updated = kit.update_task(task.id, status, Some(format!("{}{token}", task.notes)))?;
    anyhow::ensure!(updated.notes.ends_with(token), "task {} did not keep the note {token}", task.id);
    say(&format!("task-note {} {token}", task.id));
    if let Some(status) = status {
        anyhow::ensure!(updated.status == status, "task {} is {:?}, not {status:?}", task.id, updated.status);
        say(&format!("task-status {} {}", task.id, status.as_str()));
    }
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
