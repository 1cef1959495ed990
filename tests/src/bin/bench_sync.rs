//! `bench_sync`: FieldKit's sync benchmarks, run by hand and never by the test command.
//!
//! Build it in release (`cargo build --release -p fieldkit-e2e --bin bench_sync`) and run one
//! benchmark or all of them (`bench_sync all`); `bench/run` does both and installs the
//! automerge-repo peer. Every benchmark uses the real server (axum over a SQLite file in a
//! temp folder, on a loopback port) and real engines (SQLite files in temp folders). Timed
//! figures are repeated (`--runs`) and quoted as medians; BENCHMARKS.md records the results.
//!
//! 1. `week-offline`: a phone queues 10,000 operations offline, then one `sync_now()` pushes
//!    them; beside it, in the same run, the automerge-repo peer (`bench/automerge-repo`)
//!    syncs 10,000 records to its own server.
//! 2. `reconnect`: a phone holding 5,000 records syncs again with nothing new.
//! 3. `ingest`: the server's fact ingest on SQLite against a plain batched rusqlite loop.
//! 4. `first-sync`: a fresh phone's first sync of 5,000 customers and 500 tasks.
//! 5. `local-write`: the latency of one check-in (durable, with projection and outbox).
//! 6. `memory`: the engine's peak RSS (VmHWM) in a process that runs only the engine, during
//!    the 10,000-operation sync and with 50,000 visits stored; the server runs in a child.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::{Args as ClapArgs, Parser, Subcommand};
use fieldkit_domain::clock::{EventTime, HlcClock};
use fieldkit_domain::ids::{CustomerId, FactId, OrgId, TaskId, UserId, VisitId};
use fieldkit_domain::model::{
    CheckIn, Customer, Grade, LocationFix, LocationProvider, Place, Task, WgsPoint,
};
use fieldkit_domain::protocol::{Fact, Record};
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, open_phone};
use fieldkit_engine::{CheckInInput, FieldKit, SyncReport};
use fieldkit_server::Limits;
use fieldkit_server::storage::{FactFilter, NewFact, PgStorage, ReceivedFact, SqliteStorage, Storage};
use reqwest::StatusCode;
use rusqlite::OptionalExtension;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The org every benchmark uses.
const ORG: &str = "bench";
/// The rep whose phone is measured.
const REP: &str = "rep1";

/// FieldKit's sync benchmarks (see BENCHMARKS.md). Run in release.
#[derive(Debug, Parser)]
struct Args {
    /// Repetitions of each timed benchmark; medians are quoted.
    #[arg(long, default_value_t = 3, global = true)]
    runs: usize,
    /// The automerge-repo peer's folder (`bench/automerge-repo`, installed with `npm ci`).
    #[arg(long, global = true)]
    peer_dir: Option<PathBuf>,
    /// Skip the automerge-repo peer.
    #[arg(long, global = true)]
    no_peer: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Every benchmark, one after the other, with the default sizes.
    All,
    /// 1. A week offline: queued operations pushed in one sync, beside automerge-repo.
    WeekOffline(WeekArgs),
    /// 2. Reconnect with nothing new, for a phone holding `customers` records.
    Reconnect {
        /// Customers the phone holds.
        #[arg(long, default_value_t = 5_000)]
        customers: usize,
        /// Reconnects timed.
        #[arg(long, default_value_t = 20)]
        repeats: usize,
    },
    /// 3. Server ingest: SQLite beside a plain rusqlite loop (and PostgreSQL with `--postgres`).
    Ingest {
        /// Facts inserted per run.
        #[arg(long, default_value_t = 100_000)]
        facts: usize,
        /// Facts per transaction (and per storage call).
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// A PostgreSQL server (libpq URL) to measure the same ingest on, in the same runs,
        /// each into a fresh database.
        #[arg(long, env = "FIELDKIT_PG_URL")]
        postgres: Option<String>,
    },
    /// 4. First sync of a fresh phone.
    FirstSync {
        /// Customers (reference data for everyone).
        #[arg(long, default_value_t = 5_000)]
        customers: usize,
        /// Tasks assigned to the rep, dispatched through the manager's API.
        #[arg(long, default_value_t = 500)]
        tasks: usize,
    },
    /// 5. Latency of a local check-in.
    LocalWrite {
        /// Check-ins timed per run.
        #[arg(long, default_value_t = 2_000)]
        writes: usize,
    },
    /// 6. The engine's peak memory, the server in another process.
    Memory {
        /// Visits stored on the phone (each made by a check-in).
        #[arg(long, default_value_t = 50_000)]
        visits: usize,
    },
    /// (internal) The server in its own process for `memory`: prints `listening URL`, exits
    /// when its stdin closes.
    #[command(hide = true)]
    ServeChild {
        /// The server's data folder.
        #[arg(long)]
        data_dir: PathBuf,
        /// Tasks dispatched to the rep.
        #[arg(long, default_value_t = 0)]
        tasks: usize,
    },
    /// (internal) An engine alone in its process for `memory`: prints one JSON line per stage.
    #[command(hide = true)]
    PhoneChild {
        /// The server.
        #[arg(long)]
        url: String,
        /// The engine's database.
        #[arg(long)]
        db: PathBuf,
        /// `mix`, `visits` or `reopen`.
        #[arg(long)]
        phase: String,
        /// The rep who logs in.
        #[arg(long, default_value = REP)]
        user: String,
        /// Check-ins for the `visits` phase.
        #[arg(long, default_value_t = 0)]
        n: usize,
    },
}

/// The mix of a week offline; an operation is one call of the engine's facade.
#[derive(Debug, Clone, Copy, ClapArgs)]
struct WeekArgs {
    /// `check_in` calls (each stores a fact and opens a visit document).
    #[arg(long, default_value_t = 4_000)]
    check_ins: usize,
    /// `update_visit` calls (notes of the visits just opened, one each).
    #[arg(long, default_value_t = 4_000)]
    visit_edits: usize,
    /// `update_task` calls (notes), spread over `tasks` tasks.
    #[arg(long, default_value_t = 2_000)]
    task_edits: usize,
    /// Tasks dispatched to the rep (and pulled) before going offline.
    #[arg(long, default_value_t = 500)]
    tasks: usize,
    /// Records the automerge-repo peer syncs (one document each).
    #[arg(long, default_value_t = 10_000)]
    peer_records: usize,
}

impl WeekArgs {
    fn operations(&self) -> usize {
        self.check_ins + self.visit_edits + self.task_edits
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    fieldkit_e2e::harness::log_to_stderr_if_asked();
    let args = Args::parse();
    let runs = args.runs.max(1);
    let peer = if args.no_peer { None } else { Some(args.peer_dir.clone().unwrap_or_else(default_peer_dir)) };
    match args.command {
        Cmd::ServeChild { data_dir, tasks } => return serve_child(&data_dir, tasks).await,
        Cmd::PhoneChild { url, db, phase, user, n } => return phone_child(&url, &db, &phase, &user, n).await,
        _ => {}
    }
    print_machine();
    match args.command {
        Cmd::All => {
            let week = WeekArgs {
                check_ins: 4_000,
                visit_edits: 4_000,
                task_edits: 2_000,
                tasks: 500,
                peer_records: 10_000,
            };
            let measured = week_offline(week, runs, peer.as_deref(), None).await?;
            let records =
                WeekArgs { check_ins: 10_000, visit_edits: 0, task_edits: 0, tasks: 0, peer_records: 10_000 };
            week_offline(records, runs, None, measured).await?;
            let small =
                WeekArgs { check_ins: 1_000, visit_edits: 0, task_edits: 0, tasks: 0, peer_records: 1_000 };
            week_offline(small, runs, peer.as_deref(), None).await?;
            reconnect(5_000, 20).await?;
            ingest(100_000, 500, runs, None).await?;
            first_sync(5_000, 500, runs).await?;
            local_write(2_000, runs).await?;
            memory(50_000).await?;
        }
        Cmd::WeekOffline(week) => {
            week_offline(week, runs, peer.as_deref(), None).await?;
        }
        Cmd::Reconnect { customers, repeats } => reconnect(customers, repeats).await?,
        Cmd::Ingest { facts, batch, postgres } => ingest(facts, batch, runs, postgres).await?,
        Cmd::FirstSync { customers, tasks } => first_sync(customers, tasks, runs).await?,
        Cmd::LocalWrite { writes } => local_write(writes, runs).await?,
        Cmd::Memory { visits } => memory(visits).await?,
        Cmd::ServeChild { .. } | Cmd::PhoneChild { .. } => {}
    }
    Ok(())
}

fn default_peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/automerge-repo")
}

// ---------------------------------------------------------------------------------------
// 1. A week offline
// ---------------------------------------------------------------------------------------

/// What one run of the week offline measured.
struct WeekRun {
    create: Duration,
    sync: Duration,
    queued_items: u64,
    report: SyncReport,
    server_facts: usize,
    wire: Option<(u64, u64)>,
    /// In the wire run: what a second phone of the same rep pulls (entries, bytes received).
    second_phone: Option<(u32, u64)>,
}

/// The automerge-repo peer's medians over its runs.
#[derive(Debug, Clone, Copy)]
struct PeerMedians {
    records: usize,
    create_s: f64,
    sync_s: f64,
    payload_bytes: f64,
    wire_bytes: f64,
}

/// Runs the week offline `runs` times (with the peer beside each run when `peer` is given)
/// and prints medians and ratios; `earlier_peer` compares with a peer measured before.
async fn week_offline(
    week: WeekArgs,
    runs: usize,
    peer: Option<&Path>,
    earlier_peer: Option<PeerMedians>,
) -> anyhow::Result<Option<PeerMedians>> {
    println!(
        "\n== 1. A week offline: {} operations = {} check_in + {} update_visit + {} update_task \
         (over {} tasks); one sync_now()",
        week.operations(),
        week.check_ins,
        week.visit_edits,
        week.task_edits,
        week.tasks
    );
    print_load("start");
    let peer = match peer {
        Some(dir) if dir.join("node_modules").is_dir() => Some(dir),
        Some(dir) => {
            println!(
                "   automerge-repo peer not installed in {} (run `npm ci` there, or bench/run): skipped",
                dir.display()
            );
            None
        }
        None => None,
    };
    let mut ours = Vec::new();
    let mut theirs: Vec<Value> = Vec::new();
    for run in 1..=runs {
        let r = week_run(week, false).await?;
        println!(
            "   run {run} fieldkit: create {:.2} s, sync {:.3} s, {} items queued, {} round trips, \
             {} pushed, {} pulled back, {} B up + {} B down (JSON bodies), {} facts on the server",
            r.create.as_secs_f64(),
            r.sync.as_secs_f64(),
            r.queued_items,
            r.report.round_trips,
            r.report.pushed,
            r.report.pulled,
            r.report.bytes_sent,
            r.report.bytes_received,
            r.server_facts
        );
        ours.push(r);
        if let Some(dir) = peer {
            let p = run_peer(dir, week.peer_records)?;
            println!("   run {run} automerge-repo: {p}");
            theirs.push(p);
        }
    }
    // One more run through a counting TCP proxy: bytes on the wire, HTTP headers included.
    let wired = week_run(week, true).await?;
    let (wire_up, wire_down) = wired.wire.unwrap_or_default();
    println!(
        "   wire run (through a counting proxy, not in the medians): sync {:.3} s, {} B up + {} B down \
         on the wire",
        wired.sync.as_secs_f64(),
        wire_up,
        wire_down
    );
    if let Some((entries, bytes)) = wired.second_phone {
        println!(
            "   a second phone of the same rep then pulls {entries} entries in {bytes} B ({:.0} B/entry): \
             the documents the first phone pushed, which its own feed skips (no echo)",
            bytes as f64 / entries.max(1) as f64
        );
    }
    print_load("end");

    let ops = week.operations() as f64;
    let create = median(ours.iter().map(|r| r.create.as_secs_f64()));
    let sync = median(ours.iter().map(|r| r.sync.as_secs_f64()));
    let last = &ours[ours.len() - 1];
    let body_bytes = (last.report.bytes_sent + last.report.bytes_received) as f64;
    let wire_bytes = (wire_up + wire_down) as f64;
    println!("   --- medians of {} runs", ours.len());
    println!(
        "   fieldkit: create {create:.2} s ({:.0} ops/s), sync {sync:.3} s ({:.0} ops/s); target < 2 s: {}",
        ops / create,
        ops / sync,
        verdict(sync < 2.0)
    );
    println!(
        "   fieldkit bytes: {:.0} B/op in JSON bodies ({:.0} B up/op), {:.0} B/op on the wire; \
         {:.0} B per queued item",
        body_bytes / ops,
        last.report.bytes_sent as f64 / ops,
        wire_bytes / ops,
        body_bytes / last.queued_items.max(1) as f64
    );
    let measured = (!theirs.is_empty()).then(|| PeerMedians {
        records: week.peer_records,
        create_s: median(theirs.iter().filter_map(|p| p["create_ms"].as_f64())) / 1000.0,
        sync_s: median(theirs.iter().filter_map(|p| p["sync_ms"].as_f64())) / 1000.0,
        payload_bytes: median(theirs.iter().filter_map(|p| p["payload_bytes"].as_f64())),
        wire_bytes: median(theirs.iter().filter_map(|p| p["wire_bytes"].as_f64())),
    });
    if let Some(p) = measured.or(earlier_peer) {
        let records = p.records as f64;
        let when =
            if measured.is_some() { "beside these runs" } else { "measured beside the previous benchmark" };
        println!(
            "   automerge-repo ({records:.0} records, {when}): create {:.2} s, sync {:.3} s, \
             {:.0} B/record in frames, {:.0} B/record on the wire",
            p.create_s,
            p.sync_s,
            p.payload_bytes / records,
            p.wire_bytes / records
        );
        println!(
            "   ratio: fieldkit sync is {:.1}x faster ({}); {:.2}x the bytes per op/record on the wire \
             ({} fewer bytes)",
            p.sync_s / sync,
            verdict(sync < p.sync_s),
            (wire_bytes / ops) / (p.wire_bytes / records),
            verdict(wire_bytes / ops < p.wire_bytes / records)
        );
    }
    Ok(measured)
}

/// One week offline on a fresh server and phone.
async fn week_run(week: WeekArgs, through_proxy: bool) -> anyhow::Result<WeekRun> {
    let server = TestServer::start().await?;
    let org = server.org(ORG, 1).await?;
    let api = Api::new(&server.url);
    let tasks = dispatch_tasks(&api, &org.manager_token, org.reps[0].id, week.tasks).await?;
    let proxy = if through_proxy { Some(CountingProxy::start(&server.url).await?) } else { None };
    let url = proxy.as_ref().map_or(server.url.as_str(), |p| p.url.as_str());
    let dir = tempfile::tempdir()?;
    let kit = open_phone(&dir.path().join("fieldkit.db"), url, ORG)?;
    kit.login(REP, PASSWORD).await?;
    kit.sync_now().await?;
    ensure!(kit.my_tasks()?.len() == week.tasks, "the phone did not pull its tasks");

    let started = Instant::now();
    create_mix(&kit, week, &tasks)?;
    let create = started.elapsed();
    let queued_items = kit.sync_status()?.outbox.pending;

    let before = proxy.as_ref().map(CountingProxy::counts);
    let started = Instant::now();
    let report = kit.sync_now().await?;
    let sync = started.elapsed();
    let wire = match (proxy.as_ref(), before) {
        (Some(p), Some((up, down))) => {
            let (u, d) = p.counts();
            Some((u - up, d - down))
        }
        _ => None,
    };
    let status = kit.sync_status()?;
    ensure!(
        status.outbox.pending == 0 && status.outbox.parked == 0,
        "the sync left {} pending and {} parked",
        status.outbox.pending,
        status.outbox.parked
    );
    let server_facts = server.storage.facts(org.org.id, FactFilter::default()).await?.len();
    // Each visit is a check-in and a check-out fact.
    ensure!(server_facts == 2 * week.check_ins, "the server holds {server_facts} facts");
    let second_phone = if through_proxy {
        let other = server.phone(ORG, REP).await?;
        let pulled = other.kit.sync_now().await?;
        Some((pulled.pulled, pulled.bytes_received))
    } else {
        None
    };
    drop(kit);
    server.stop().await?;
    Ok(WeekRun { create, sync, queued_items, report, server_facts, wire, second_phone })
}

/// The week's operations, interleaved as a rep's days would: a check-in, the visit's notes,
/// an edit of a task's notes. Notes are ASCII: with automerge 0.12's default code-point text
/// indexing, autosurgeon's `Text::update` (byte offsets) fails on non-ASCII notes edits.
fn create_mix(kit: &FieldKit, week: WeekArgs, tasks: &[TaskId]) -> anyhow::Result<()> {
    ensure!(week.visit_edits <= week.check_ins, "each visit edit needs a visit");
    ensure!(week.task_edits == 0 || !tasks.is_empty(), "task edits need tasks");
    let steps = week.check_ins.max(week.visit_edits).max(week.task_edits);
    for i in 0..steps {
        if i < week.check_ins {
            // The visit's notes are written while it is open: a checked-out visit is closed.
            let notes = (i < week.visit_edits).then(|| format!("shelf checked, stock ok #{i}"));
            visit_with_notes(kit, i, notes)?;
        }
        if i < week.task_edits {
            let task = tasks[i % tasks.len()];
            kit.update_task(task, None, Some(format!("called the owner, restock on Friday #{i}")))?;
        }
    }
    Ok(())
}

/// Runs the automerge-repo peer once and returns its JSON line.
fn run_peer(dir: &Path, records: usize) -> anyhow::Result<Value> {
    let output = Command::new("node")
        .arg(dir.join("bench.mjs"))
        .args(["--n", &records.to_string()])
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run node (the automerge-repo peer needs Node 20)")?;
    ensure!(output.status.success(), "the automerge-repo peer failed: {}", output.status);
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("the automerge-repo peer printed no JSON line")?;
    Ok(serde_json::from_str(line)?)
}

// ---------------------------------------------------------------------------------------
// 2. Reconnect with nothing new
// ---------------------------------------------------------------------------------------

async fn reconnect(customers: usize, repeats: usize) -> anyhow::Result<()> {
    println!("\n== 2. Reconnect with nothing new, phone holding {customers} customers");
    print_load("start");
    let server = TestServer::start().await?;
    let org = server.org(ORG, 1).await?;
    put_customers(&server, org.org.id, customers).await?;
    let proxy = CountingProxy::start(&server.url).await?;
    let dir = tempfile::tempdir()?;
    let kit = open_phone(&dir.path().join("fieldkit.db"), &proxy.url, ORG)?;
    kit.login(REP, PASSWORD).await?;
    let first = kit.sync_now().await?;
    ensure!(kit.customers()?.len() == customers, "the phone holds {} customers", kit.customers()?.len());
    println!("   first sync pulled {} entries in {} round trips", first.pulled, first.round_trips);
    let mut times = Vec::new();
    let mut reports = Vec::new();
    let mut wires = Vec::new();
    for _ in 0..repeats.max(1) {
        let (up, down) = proxy.counts();
        let started = Instant::now();
        let report = kit.sync_now().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let (u, d) = proxy.counts();
        wires.push((u - up, d - down));
        reports.push(report);
    }
    let report = reports[reports.len() - 1];
    let (wire_up, wire_down) = wires[wires.len() - 1];
    ensure!(reports.iter().all(|r| r.pulled == 0 && r.pushed == 0), "a reconnect moved data");
    println!(
        "   reconnect: {} round trip(s), {} B up + {} B down in JSON bodies = {} B; \
         {} B up + {} B down on the wire = {} B",
        report.round_trips,
        report.bytes_sent,
        report.bytes_received,
        report.bytes_sent + report.bytes_received,
        wire_up,
        wire_down,
        wire_up + wire_down
    );
    println!(
        "   time (median of {}, through the counting proxy): {:.2} ms; target one round trip \
         under 1 KB: {} (bodies), {} (wire)",
        times.len(),
        median(times.iter().copied()),
        verdict(report.round_trips == 1 && report.bytes_sent + report.bytes_received < 1024),
        verdict(report.round_trips == 1 && wire_up + wire_down < 1024)
    );
    print_load("end");
    drop(kit);
    server.stop().await
}

// ---------------------------------------------------------------------------------------
// 3. Server ingest
// ---------------------------------------------------------------------------------------

async fn ingest(facts: usize, batch: usize, runs: usize, postgres: Option<String>) -> anyhow::Result<()> {
    let batch = batch.max(1);
    println!(
        "\n== 3. Server ingest on SQLite: {facts} check-in facts in transactions of {batch}; \
         WAL, synchronous=NORMAL"
    );
    print_load("start");
    let rep = UserId::new();
    let bodies = check_in_facts(rep, facts);
    let json_bytes: usize = fact_rows(&bodies)?.iter().map(|r| r.fact.body.len()).sum();
    println!("   a check-in fact's canonical JSON: {} B on average", json_bytes / facts.max(1));
    let mut storage = Vec::new();
    let mut plain = Vec::new();
    let mut lookups = Vec::new();
    let mut seqs = Vec::new();
    let mut http = Vec::new();
    let (mut pg_storage, mut pg_http) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let dir = tempfile::tempdir()?;
        let s =
            ingest_storage(&SqliteStorage::open(&dir.path().join("fieldkit.db"))?, &bodies, batch).await?;
        let p = ingest_plain(&bodies, batch, Extra::None).await?;
        let l = ingest_plain(&bodies, batch, Extra::Lookup).await?;
        let q = ingest_plain(&bodies, batch, Extra::LookupAndSeq).await?;
        let dir = tempfile::tempdir()?;
        let h = ingest_http(Arc::new(SqliteStorage::open(&dir.path().join("fieldkit.db"))?), facts).await?;
        println!(
            "   run {run}: Storage::store_facts {s:.0} facts/s, plain rusqlite {p:.0} rows/s \
             (+ row lookup {l:.0}, + lookup and sequence bump {q:.0}), POST /v1/sync {h:.0} facts/s"
        );
        storage.push(s);
        plain.push(p);
        lookups.push(l);
        seqs.push(q);
        http.push(h);
        if let Some(url) = postgres.as_deref() {
            let s = ingest_storage(&fresh_postgres(url, 4).await?, &bodies, batch).await?;
            let h = ingest_http(Arc::new(fresh_postgres(url, 16).await?), facts).await?;
            println!(
                "   run {run}, PostgreSQL: Storage::store_facts {s:.0} facts/s, POST /v1/sync {h:.0} facts/s"
            );
            pg_storage.push(s);
            pg_http.push(h);
        }
    }
    let (s, p, h) =
        (median(storage.iter().copied()), median(plain.iter().copied()), median(http.iter().copied()));
    println!("   --- medians of {runs} runs");
    println!(
        "   Storage::store_facts: {s:.0} facts/s = {:.0} % of the plain loop ({p:.0} rows/s); \
         target >= 50 %: {}",
        100.0 * s / p,
        verdict(s >= 0.5 * p)
    );
    println!(
        "   the plain loop with the storage's per-row extras: + lookup {:.0} rows/s ({:.0} %), \
         + lookup and sequence bump {:.0} rows/s ({:.0} %)",
        median(lookups.iter().copied()),
        100.0 * median(lookups.iter().copied()) / p,
        median(seqs.iter().copied()),
        100.0 * median(seqs.iter().copied()) / p
    );
    println!(
        "   full HTTP path (POST /v1/sync, {} facts per request, one client): {h:.0} facts/s = {:.0} % \
         of the plain loop",
        fieldkit_domain::protocol::MAX_PUSH_ITEMS,
        100.0 * h / p
    );
    if postgres.is_some() {
        let (ps, ph) = (median(pg_storage.iter().copied()), median(pg_http.iter().copied()));
        println!(
            "   PostgreSQL beside it: Storage::store_facts {ps:.0} facts/s ({:.2}x SQLite's), \
             POST /v1/sync {ph:.0} facts/s ({:.2}x SQLite's)",
            ps / s,
            ph / h
        );
    }
    print_load("end");
    Ok(())
}

/// A PostgreSQL storage over a fresh database on the server at `url`.
async fn fresh_postgres(url: &str, pool: usize) -> anyhow::Result<PgStorage> {
    let name = format!("fk_bench_{}", uuid::Uuid::now_v7().simple());
    Ok(PgStorage::connect_with(PgStorage::ensure_database(url, &name).await?, pool).await?)
}

/// Canonical JSON bodies of `n` check-ins by `rep`, as the sync route encodes them.
fn check_in_facts(rep: UserId, n: usize) -> Vec<Fact> {
    let mut clock = HlcClock::new(0x5eed);
    (0..n)
        .map(|i| {
            let now = 1_764_201_600_000 + i as i64;
            Fact::CheckIn(CheckIn {
                id: FactId::new(),
                visit_id: VisitId::new(),
                customer_id: CustomerId::new(),
                task_id: None,
                rep_id: rep,
                fix: fix(i),
                at: EventTime {
                    device_ms: now,
                    hlc: clock.tick(now.unsigned_abs()),
                    server_estimate_ms: Some(now + 120),
                },
                note: None,
                assessment: None,
            })
        })
        .collect()
}

/// Rows of the facts table for `facts`: (id, kind, rep, body, body hash).
fn fact_rows(facts: &[Fact]) -> anyhow::Result<Vec<ReceivedFact>> {
    facts
        .iter()
        .enumerate()
        .map(|(i, fact)| {
            let row = NewFact {
                id: fact.id(),
                kind: fact.kind(),
                rep_id: fact.rep_id(),
                body: serde_json::to_string(fact)?,
                // A stand-in of the same length: storage compares it, never computes it.
                body_sha256: format!("{i:064x}"),
                clock_skew_ms: fact.at().and_then(|at| at.server_estimate_ms.map(|e| at.device_ms - e)),
            };
            let event_ms = fact.at().map(|at| at.device_ms);
            Ok(ReceivedFact {
                fact: row,
                clock_flagged: false,
                event_ms,
                server_assessment: None,
                points: Vec::new(),
                photo: None,
            })
        })
        .collect()
}

/// Facts per second through `Storage::store_facts` on `storage` (a fresh database).
async fn ingest_storage(storage: &dyn Storage, facts: &[Fact], batch: usize) -> anyhow::Result<f64> {
    let org = fieldkit_server::provision::create_org(storage, ORG, "Bench").await?;
    let rows = fact_rows(facts)?;
    let mut batches: Vec<Vec<ReceivedFact>> = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        batches.push(rows.by_ref().take(batch).collect());
    }
    let started = Instant::now();
    let mut stored = 0;
    for b in batches {
        stored += storage.store_facts(org.id, b, fieldkit_server::now_ms()).await?.len();
    }
    let secs = started.elapsed().as_secs_f64();
    ensure!(stored == facts.len(), "storage answered {stored} facts");
    Ok(facts.len() as f64 / secs)
}

/// Rows per second inserted by a plain rusqlite loop: the same rows into the facts table of a
/// database the server's own migrations made, with the same pragmas and transaction size, and
/// nothing else (no lookup of an existing row, no sequence bump, no org settings read).
///
/// `extra` adds, per row, the work the storage does besides the insert, to see what it
/// costs: [`Extra::Lookup`] the read of an existing row, [`Extra::LookupAndSeq`] that and the
/// bump of the org's sequence (`UPDATE orgs … RETURNING`).
async fn ingest_plain(facts: &[Fact], batch: usize, extra: Extra) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("plain.db");
    let org = {
        let storage = SqliteStorage::open(&path)?;
        fieldkit_server::provision::create_org(&storage, ORG, "Bench").await?
    }
    .id
    .to_string();
    let mut conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let rows = fact_rows(facts)?;
    let now = fieldkit_server::now_ms();
    let started = Instant::now();
    let mut seq = 0_i64;
    for chunk in rows.chunks(batch) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO facts (org_id, id, kind, rep_id, body, body_sha256, seq, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut lookup =
                tx.prepare_cached("SELECT body_sha256 FROM facts WHERE org_id = ?1 AND id = ?2")?;
            let mut bump = tx
                .prepare_cached("UPDATE orgs SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq")?;
            for row in chunk {
                let row = &row.fact;
                let id = row.id.to_string();
                if extra != Extra::None {
                    let found: Option<String> =
                        lookup.query_row(rusqlite::params![org, id], |r| r.get(0)).optional()?;
                    ensure!(found.is_none(), "fact {id} is already there");
                }
                if extra == Extra::LookupAndSeq {
                    seq = bump.query_row([&org], |r| r.get(0))?;
                } else {
                    seq += 1;
                }
                insert.execute(rusqlite::params![
                    org,
                    id,
                    row.kind,
                    row.rep_id.to_string(),
                    row.body,
                    row.body_sha256,
                    seq,
                    now
                ])?;
            }
        }
        tx.commit()?;
    }
    Ok(facts.len() as f64 / started.elapsed().as_secs_f64())
}

/// Work added to the plain loop, row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    /// The insert alone: the limit.
    None,
    /// A read of the row first.
    Lookup,
    /// A read of the row and a bump of the org's sequence.
    LookupAndSeq,
}

/// Facts per second pushed through `POST /v1/sync` by one client, as full requests.
async fn ingest_http(storage: Arc<dyn Storage>, n: usize) -> anyhow::Result<f64> {
    let blobs = tempfile::tempdir()?;
    let blobs = Arc::new(fieldkit_server::blobs::BlobStore::open(blobs.path())?);
    let server = TestServer::start_over(storage, blobs, "127.0.0.1:0", Limits::default()).await?;
    let org = server.org(ORG, 1).await?;
    let api = Api::new(&server.url);
    let token = api.login(ORG, REP, PASSWORD).await?;
    let facts = check_in_facts(org.reps[0].id, n);
    let device = fieldkit_domain::ids::DeviceId::new();
    let bodies = facts
        .chunks(fieldkit_domain::protocol::MAX_PUSH_ITEMS)
        .map(|chunk| {
            serde_json::to_vec(&json!({
                "protocol": fieldkit_domain::protocol::PROTOCOL_VERSION,
                "device_id": device, "cursor": 0, "pull_limit": 1, "sent_at_ms": 0,
                "push": chunk,
            }))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    for body in bodies {
        let (status, answer) = api.send_raw("POST", "/v1/sync", Some(&token), Some(body)).await?;
        ensure!(status == StatusCode::OK, "sync refused: {status} {answer}");
    }
    let secs = started.elapsed().as_secs_f64();
    let stored = server.storage.facts(org.org.id, FactFilter::default()).await?.len();
    ensure!(stored == n, "the server holds {stored} facts");
    server.stop().await?;
    Ok(n as f64 / secs)
}

// ---------------------------------------------------------------------------------------
// 4. First sync
// ---------------------------------------------------------------------------------------

async fn first_sync(customers: usize, tasks: usize, runs: usize) -> anyhow::Result<()> {
    println!(
        "\n== 4. First sync of a fresh phone: {customers} customers (via Storage::put_record) and \
         {tasks} tasks (via POST /v1/tasks)"
    );
    print_load("start");
    let server = TestServer::start().await?;
    let org = server.org(ORG, 1).await?;
    put_customers(&server, org.org.id, customers).await?;
    let api = Api::new(&server.url);
    dispatch_tasks(&api, &org.manager_token, org.reps[0].id, tasks).await?;
    let mut times = Vec::new();
    let mut logins = Vec::new();
    let mut last = SyncReport::default();
    for run in 1..=runs {
        let dir = tempfile::tempdir()?;
        let kit = open_phone(&dir.path().join("fieldkit.db"), &server.url, ORG)?;
        let started = Instant::now();
        kit.login(REP, PASSWORD).await?;
        let login = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let report = kit.sync_now().await?;
        let secs = started.elapsed().as_secs_f64();
        ensure!(
            kit.customers()?.len() == customers && kit.my_tasks()?.len() == tasks,
            "the phone holds {} customers and {} tasks",
            kit.customers()?.len(),
            kit.my_tasks()?.len()
        );
        println!(
            "   run {run}: login {login:.3} s, sync {secs:.3} s, {} entries, {} round trips, \
             {} B up + {} B down (JSON bodies)",
            report.pulled, report.round_trips, report.bytes_sent, report.bytes_received
        );
        times.push(secs);
        logins.push(login);
        last = report;
    }
    // Bytes on the wire, once, through the counting proxy.
    let proxy = CountingProxy::start(&server.url).await?;
    let dir = tempfile::tempdir()?;
    let kit = open_phone(&dir.path().join("fieldkit.db"), &proxy.url, ORG)?;
    kit.login(REP, PASSWORD).await?;
    let (up, down) = proxy.counts();
    kit.sync_now().await?;
    let (u, d) = proxy.counts();
    let secs = median(times.iter().copied());
    println!("   --- medians of {runs} runs");
    println!(
        "   first sync: {secs:.3} s ({:.0} entries/s), {} round trips, {:.2} MB in JSON bodies \
         ({:.0} B/entry), {:.2} MB on the wire; login before it {:.3} s",
        f64::from(last.pulled) / secs,
        last.round_trips,
        (last.bytes_sent + last.bytes_received) as f64 / 1e6,
        (last.bytes_sent + last.bytes_received) as f64 / f64::from(last.pulled.max(1)),
        (u - up + d - down) as f64 / 1e6,
        median(logins.iter().copied())
    );
    print_load("end");
    drop(kit);
    server.stop().await
}

// ---------------------------------------------------------------------------------------
// 5. Local write latency
// ---------------------------------------------------------------------------------------

async fn local_write(writes: usize, runs: usize) -> anyhow::Result<()> {
    println!(
        "\n== 5. Local write: check_in (fact + visit document + projection + outbox, one \
         transaction, synchronous=FULL), {writes} per run"
    );
    print_load("start");
    let server = TestServer::start().await?;
    server.org(ORG, 1).await?;
    let mut all = Vec::new();
    for run in 1..=runs {
        let phone = server.phone(ORG, REP).await?;
        let mut lat = Vec::with_capacity(writes);
        for i in 0..writes {
            let started = Instant::now();
            let check_in = phone.kit.check_in(check_in_input(i))?;
            lat.push(started.elapsed().as_secs_f64() * 1000.0);
            phone.kit.check_out(check_in.visit_id, check_in.fix)?;
        }
        let (med, p99, max) = (percentile(&lat, 0.5), percentile(&lat, 0.99), percentile(&lat, 1.0));
        let total: f64 = lat.iter().sum();
        println!(
            "   run {run}: median {med:.3} ms, p99 {p99:.3} ms, max {max:.3} ms, mean {:.3} ms \
             ({total:.0} ms in all)",
            total / lat.len().max(1) as f64
        );
        all.extend(lat);
    }
    let (med, p99) = (percentile(&all, 0.5), percentile(&all, 0.99));
    println!("   --- all {} writes pooled", all.len());
    println!("   check_in: median {med:.3} ms, p99 {p99:.3} ms; target p99 < 2 ms: {}", verdict(p99 < 2.0));
    print_load("end");
    server.stop().await
}

// ---------------------------------------------------------------------------------------
// 6. Memory
// ---------------------------------------------------------------------------------------

async fn memory(visits: usize) -> anyhow::Result<()> {
    println!("\n== 6. Engine memory (VmHWM of a process running only the engine; server in a child process)");
    print_load("start");
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let (mut server, url) = spawn_server_child(&exe, &dir.path().join("server"), 500)?;
    // rep1 holds the 500 tasks and does the week's mix; rep2 (nothing to pull) the visits.
    let phases = [
        ("mix", "rep1", dir.path().join("mix.db"), 0),
        ("visits", "rep2", dir.path().join("visits.db"), visits),
        ("reopen", "rep2", dir.path().join("visits.db"), 0),
    ];
    let mut result = Ok(());
    for (phase, user, db, n) in &phases {
        println!("   phase {phase} ({user}):");
        let output = Command::new(&exe)
            .args(["phone-child", "--url", &url, "--phase", phase, "--user", user])
            .args(["--n", &n.to_string()])
            .arg("--db")
            .arg(db)
            .stderr(Stdio::inherit())
            .output()?;
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            match serde_json::from_str::<Value>(line) {
                Ok(v) => println!(
                    "     {:<44} VmHWM {:>7.1} MB  VmRSS {:>7.1} MB  {:>9.2} s  {}",
                    v["stage"].as_str().unwrap_or("?"),
                    v["vm_hwm_kb"].as_f64().unwrap_or(0.0) / 1024.0,
                    v["vm_rss_kb"].as_f64().unwrap_or(0.0) / 1024.0,
                    v["secs"].as_f64().unwrap_or(0.0),
                    v["note"].as_str().unwrap_or("")
                ),
                Err(_) => println!("     {line}"),
            }
        }
        if !output.status.success() {
            result = Err(anyhow::anyhow!("phone child {phase} failed: {}", output.status));
            break;
        }
    }
    stop_child(&mut server);
    println!("   target: under 50 MB (VmHWM, the peak resident set of the engine's process)");
    print_load("end");
    result
}

fn spawn_server_child(exe: &Path, data_dir: &Path, tasks: usize) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(exe)
        .arg("serve-child")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--tasks", &tasks.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        match lines.next() {
            Some(line) => {
                if let Some(url) = line?.strip_prefix("listening ") {
                    break url.to_owned();
                }
            }
            None => {
                stop_child(&mut child);
                bail!("the server child exited before listening");
            }
        }
    };
    Ok((child, url))
}

/// Closes the child's stdin (it exits on EOF) and waits; kills it if it lingers.
fn stop_child(child: &mut Child) {
    drop(child.stdin.take());
    for _ in 0..100 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The server alone in this process, with the bench org and `tasks` tasks for the rep.
async fn serve_child(data_dir: &Path, tasks: usize) -> anyhow::Result<()> {
    let server = TestServer::start_in_sqlite(data_dir, "127.0.0.1:0", Limits::default()).await?;
    let org = server.org(ORG, 2).await?;
    let api = Api::new(&server.url);
    dispatch_tasks(&api, &org.manager_token, org.reps[0].id, tasks).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening {}", server.url)?;
        out.flush()?;
    }
    // Serve until the parent closes our stdin.
    tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await??;
    server.stop().await
}

/// An engine alone in this process; prints one JSON line per stage with its memory.
async fn phone_child(url: &str, db: &Path, phase: &str, user: &str, n: usize) -> anyhow::Result<()> {
    let stage = |name: &str, secs: f64, note: String| -> anyhow::Result<()> {
        let (rss, hwm) = memory_kb()?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{}",
            json!({"stage": name, "vm_rss_kb": rss, "vm_hwm_kb": hwm, "secs": secs, "note": note})
        )?;
        out.flush()?;
        Ok(())
    };
    stage("process started", 0.0, String::new())?;
    let kit = open_phone(db, url, ORG)?;
    match phase {
        "mix" | "visits" => {
            kit.login(user, PASSWORD).await?;
            let started = Instant::now();
            let pulled = kit.sync_now().await?;
            stage(
                "logged in, tasks pulled",
                started.elapsed().as_secs_f64(),
                format!("{} entries", pulled.pulled),
            )?;
            let started = Instant::now();
            let ops = if phase == "mix" {
                let tasks: Vec<TaskId> = kit.my_tasks()?.iter().map(|t| t.id).collect();
                let week = WeekArgs {
                    check_ins: 4_000,
                    visit_edits: 4_000,
                    task_edits: 2_000,
                    tasks: tasks.len(),
                    peer_records: 0,
                };
                create_mix(&kit, week, &tasks)?;
                week.operations()
            } else {
                let mut first = None;
                for i in 0..n {
                    first.get_or_insert(visit(&kit, i)?);
                }
                if let Some(v) = first {
                    std::fs::write(visit_id_file(db), v.to_string())?;
                }
                n
            };
            let queued = kit.sync_status()?.outbox.pending;
            stage(
                &format!("{ops} operations created offline"),
                started.elapsed().as_secs_f64(),
                format!("{queued} items queued"),
            )?;
            reset_peak()?;
            stage("peak reset (clear_refs)", 0.0, String::new())?;
            let started = Instant::now();
            let report = kit.sync_now().await?;
            stage(
                "sync_now() pushed everything",
                started.elapsed().as_secs_f64(),
                format!(
                    "{} pushed, {} round trips, {} open documents",
                    report.pushed,
                    report.round_trips,
                    kit.open_documents()
                ),
            )?;
        }
        "reopen" => {
            stage("engine opened", 0.0, String::new())?;
            let oldest: VisitId = std::fs::read_to_string(visit_id_file(db))?.trim().parse()?;
            let started = Instant::now();
            ensure!(kit.visit(oldest)?.is_some(), "the oldest visit is still listed");
            visit_with_notes(&kit, 0, Some("follow-up: samples left".to_owned()))?;
            let report = kit.sync_now().await?;
            stage(
                "read the oldest visit + check_in, update_visit, check_out + sync_now()",
                started.elapsed().as_secs_f64(),
                format!("{} pushed", report.pushed),
            )?;
            let started = Instant::now();
            let count = kit.visits()?.len();
            stage("visits() listed", started.elapsed().as_secs_f64(), format!("{count} visits"))?;
        }
        other => bail!("unknown phase {other}"),
    }
    Ok(())
}

fn visit_id_file(db: &Path) -> PathBuf {
    db.with_extension("first-visit")
}

/// (VmRSS, VmHWM) of this process in kB.
fn memory_kb() -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/self/status"))?;
        Ok(line.trim_start_matches(name).trim().trim_end_matches("kB").trim().parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Resets VmHWM to the current RSS (Linux: `5` written to `/proc/self/clear_refs`).
fn reset_peak() -> anyhow::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5").context("cannot reset the peak RSS")
}

// ---------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------

/// A GNSS fix near People's Square, a little different for each `i`.
fn fix(i: usize) -> LocationFix {
    let d = (i % 1000) as f64 * 1e-5;
    LocationFix {
        point: WgsPoint::new(31.2304 + d, 121.4737 + d).expect("points near Shanghai are valid"),
        accuracy_m: 15.0,
        fix_time_ms: 1_764_201_600_000 + i as i64,
        provider: LocationProvider::Gnss,
        is_mock: false,
    }
}

/// A visit to customer `i`, checked in and out (a rep checks out before the next check-in).
fn visit(kit: &FieldKit, i: usize) -> anyhow::Result<VisitId> {
    visit_with_notes(kit, i, None)
}

/// A visit to customer `i` with `notes` written while it is open, then checked out.
fn visit_with_notes(kit: &FieldKit, i: usize, notes: Option<String>) -> anyhow::Result<VisitId> {
    let check_in = kit.check_in(check_in_input(i))?;
    if notes.is_some() {
        kit.update_visit(check_in.visit_id, None, notes)?;
    }
    kit.check_out(check_in.visit_id, check_in.fix)?;
    Ok(check_in.visit_id)
}

fn check_in_input(i: usize) -> CheckInInput {
    CheckInInput {
        customer_id: CustomerId::new(),
        task_id: None,
        fix: fix(i),
        note: i.is_multiple_of(4).then(|| "门店装修，临时在侧门签到".to_owned()),
    }
}

/// Stores `n` customers as reference data for everyone, through the storage.
async fn put_customers(server: &TestServer, org: OrgId, n: usize) -> anyhow::Result<()> {
    const KINDS: [&str; 5] = ["百佳便利", "好运超市", "新鲜果园", "万家粮油", "康乐药房"];
    for i in 0..n {
        let d = (i % 2000) as f64 * 1e-4;
        let customer = Customer {
            id: CustomerId::new(),
            name: format!("{}（{}号店）", KINDS[i % KINDS.len()], i + 1),
            place: Place {
                point: WgsPoint::new(31.15 + d, 121.40 + d).expect("points near Shanghai are valid"),
                address: format!("上海市徐汇区漕溪北路{}号", i + 1),
            },
            grade: [Grade::A, Grade::B, Grade::C][i % 3],
            tags: vec!["便利店".to_owned(), "徐汇".to_owned()],
            geofence_radius_m: Some(200),
            owner_id: None,
        };
        server.storage.put_record(org, Record::Customer(customer), None).await?;
    }
    Ok(())
}

/// Dispatches `n` visit tasks to `assignee` through the manager's API.
async fn dispatch_tasks(api: &Api, token: &str, assignee: UserId, n: usize) -> anyhow::Result<Vec<TaskId>> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({
            "kind": "customer_visit",
            "title": format!("拜访 好运超市（{}号店）", i + 1),
            "goal": "检查陈列，清点库存，下订单",
            "deadline_ms": 1_764_288_000_000_i64 + i as i64 * 60_000,
            "assignee_id": assignee,
        });
        let (status, answer) = api.send("POST", "/v1/tasks", Some(token), Some(&body)).await?;
        ensure!(status == StatusCode::CREATED, "task not created: {status} {answer}");
        let task: Task = serde_json::from_value(answer)?;
        ids.push(task.id);
    }
    Ok(ids)
}

/// A TCP proxy on loopback that counts the bytes each way: what goes on the wire, HTTP
/// headers included.
struct CountingProxy {
    url: String,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    async fn start(target_url: &str) -> anyhow::Result<Self> {
        let target = target_url.strip_prefix("http://").context("the proxy forwards plain http")?.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (u, d) = (Arc::clone(&up), Arc::clone(&down));
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (u, d, target) = (Arc::clone(&u), Arc::clone(&d), target.clone());
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    tokio::join!(pump(ri, wo, u), pump(ro, wi, d));
                });
            }
        });
        Ok(Self { url, up, down, task })
    }

    /// Bytes so far: (client to server, server to client).
    fn counts(&self) -> (u64, u64) {
        (self.up.load(Ordering::Relaxed), self.down.load(Ordering::Relaxed))
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counter: Arc<AtomicU64>,
) {
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    percentile(&v, 0.5)
}

/// The nearest-rank percentile `q` (0..=1) of `values`; NaN if empty.
fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if (q - 0.5).abs() < f64::EPSILON && v.len().is_multiple_of(2) {
        let mid = v.len() / 2;
        return f64::midpoint(v[mid - 1], v[mid]);
    }
    let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "machine: {cpu}, {cores} cores available, Linux {}; bench_sync {} ({} build)",
        kernel.trim(),
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
}

fn print_load(when: &str) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let fields: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("   load average at {when}: {}", fields.join(" "));
}
