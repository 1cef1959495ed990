//! `load-gen`: N simulated phones doing realistic days against FieldKit server instances on
//! loopback, run by hand (its `--smoke` mode is a test: tests/load_smoke.rs).
//!
//! Build it in release (`cargo build --release -p fieldkit-e2e --bin load-gen`). The server
//! instances are copies of this binary (`load-gen serve …`) in child processes, over a fresh
//! SQLite file or a fresh database on a throw-away PostgreSQL cluster of its own
//! (`scripts/pg-test-cluster` on `--pg-port`, default 54339, so that restarting it never
//! disturbs the test suite's cluster). Phones are light tasks (see `fieldkit_e2e::load::phone`)
//! on one HTTP client; requests are balanced client-side, each to the next instance (no proxy
//! in the measured path). Latency is client-side: request sent to the whole answer read.
//!
//! Modes:
//! - default, open loop: every phone syncs every `--interval-s` at a random phase for
//!   `--duration-s`; the first interval is the warm-up (each phone's first sync, the initial
//!   pull, reported apart); the rest is measured.
//! - `--max-throughput`: `--concurrency` phones sync back to back for `--duration-s`.
//! - `--soak-s S --faults`: the open loop for S seconds with a fault every `--fault-every-s`
//!   (in turn: an instance killed with SIGKILL and restarted, PostgreSQL stopped and
//!   started); then the outboxes drain and every fact is checked stored exactly once.
//! - `--smoke`: 20 phones syncing every 2 s for 20 s on 2 PostgreSQL instances, one killed and
//!   restarted at 8 s; then the exactly-once check. Under a minute.
//!
//! Exits non-zero when the exactly-once check fails or the outboxes do not drain.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use fieldkit_domain::ids::FactId;
use fieldkit_e2e::load::phone::{Shared, SimPhone};
use fieldkit_e2e::load::servers::{self, Backend, Instance, PgCluster};
use fieldkit_e2e::load::stats::{CpuSample, Percentiles};
use fieldkit_e2e::load::verify;
use fieldkit_e2e::load::world::{self, World, WorldSize};
use fieldkit_server::storage::{PgStorage, SqliteStorage, Storage};
use tokio::sync::Mutex;

/// Load and soak generator (see the module doc). Run in release.
#[derive(Debug, Parser)]
struct Args {
    /// Simulated phones (one rep each).
    #[arg(long, default_value_t = 2_000)]
    phones: usize,
    /// Seconds between a phone's syncs.
    #[arg(long, default_value_t = 60.0)]
    interval_s: f64,
    /// Seconds the run lasts (open loop: the first interval is the warm-up).
    #[arg(long, default_value_t = 300.0)]
    duration_s: f64,
    /// Where the servers keep their data.
    #[arg(long, value_enum, default_value_t = BackendKind::Postgres)]
    backend: BackendKind,
    /// Server instances (PostgreSQL only for more than one).
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// PostgreSQL connections per instance.
    #[arg(long, default_value_t = 16)]
    pool: usize,
    /// Closed loop: `--concurrency` phones syncing back to back.
    #[arg(long)]
    max_throughput: bool,
    /// Phones of the closed loop.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Soak: the open loop for this many seconds, then drain and the exactly-once check.
    #[arg(long)]
    soak_s: Option<f64>,
    /// Faults during the soak.
    #[arg(long)]
    faults: bool,
    /// Seconds between faults.
    #[arg(long, default_value_t = 120.0)]
    fault_every_s: f64,
    /// The short CI run (see the module doc).
    #[arg(long)]
    smoke: bool,
    /// Phones (reps) per org.
    #[arg(long, default_value_t = 100)]
    phones_per_org: usize,
    /// Customers per org.
    #[arg(long, default_value_t = 100)]
    customers: usize,
    /// Products per org.
    #[arg(long, default_value_t = 20)]
    products: usize,
    /// Port of the generator's own PostgreSQL cluster.
    #[arg(long, default_value_t = 54339)]
    pg_port: u16,
    /// Folder of the generator's own PostgreSQL cluster.
    #[arg(long, default_value = "/tmp/fieldkit-load-pg")]
    pg_dir: PathBuf,
    /// Seed of the phones' randomness.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// (internal) One server instance, until killed.
    #[command(hide = true)]
    Serve {
        /// Address to listen on.
        #[arg(long)]
        bind: String,
        /// The SQLite data folder.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The PostgreSQL database.
        #[arg(long)]
        database_url: Option<String>,
        /// PostgreSQL connections.
        #[arg(long, default_value_t = 16)]
        pool: usize,
        /// Blob folder, shared by the instances.
        #[arg(long)]
        blob_dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    fieldkit_e2e::harness::log_to_stderr_if_asked();
    // Plain HTTP on loopback; reqwest still wants a TLS provider set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = Args::parse();
    if let Some(Cmd::Serve { bind, data_dir, database_url, pool, blob_dir }) = args.command.take() {
        let backend = match (database_url, data_dir) {
            (Some(url), _) => Backend::Postgres(url),
            (None, Some(dir)) => Backend::Sqlite(dir),
            (None, None) => bail!("serve needs --database-url or --data-dir"),
        };
        servers::serve(&bind, &backend, pool, &blob_dir).await?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if args.smoke {
        args.phones = args.phones.min(20);
        args.phones_per_org = 10;
        args.customers = 20;
        args.interval_s = 2.0;
        args.backend = BackendKind::Postgres;
        args.instances = 2;
        args.soak_s = Some(20.0);
        args.faults = true;
        args.fault_every_s = 8.0;
    }
    if args.backend == BackendKind::Sqlite && args.instances > 1 {
        bail!(
            "several instances over one SQLite file is not a supported deployment; use --instances 1 \
             or --backend postgres"
        );
    }
    print_machine();
    let run = Run::set_up(&args).await?;
    let ok = if args.soak_s.is_some() {
        run.soak(&args).await?
    } else if args.max_throughput {
        run.closed_loop(&args).await?;
        true
    } else {
        run.open_loop(&args).await?;
        true
    };
    Ok(if ok { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
}

/// Servers started over a provisioned world.
struct Run {
    world: World,
    backend: Backend,
    cluster: Option<PgCluster>,
    instances: Arc<Mutex<Vec<Instance>>>,
    shared: Arc<Shared>,
    _dir: tempfile::TempDir,
}

impl Run {
    async fn set_up(args: &Args) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let (backend, cluster, storage): (Backend, Option<PgCluster>, Arc<dyn Storage>) = match args.backend {
            BackendKind::Postgres => {
                let cluster = PgCluster { port: args.pg_port, dir: args.pg_dir.clone() };
                let server_url = cluster.start().await?;
                let url = cluster.fresh_database(&server_url).await?;
                let storage = Arc::new(PgStorage::connect(&url, 4).await?);
                (Backend::Postgres(url), Some(cluster), storage)
            }
            BackendKind::Sqlite => {
                let data = dir.path().join("data");
                std::fs::create_dir_all(&data)?;
                let storage = Arc::new(SqliteStorage::open(&fieldkit_server::config::database_path(&data))?);
                (Backend::Sqlite(data), None, storage)
            }
        };
        let size = WorldSize {
            phones: args.phones,
            phones_per_org: args.phones_per_org,
            customers: args.customers,
            products: args.products,
        };
        let world = world::provision(storage.as_ref(), size).await?;
        drop(storage);
        println!(
            "provisioned {} orgs, {} phones, {} customers and {} products per org in {:.1} s",
            world.orgs.len(),
            world.phones.len(),
            args.customers,
            args.products,
            started.elapsed().as_secs_f64()
        );
        let blobs = dir.path().join("blobs");
        std::fs::create_dir_all(&blobs)?;
        let mut instances = Vec::new();
        for i in 0..args.instances.max(1) {
            let log = dir.path().join(format!("instance-{i}.log"));
            instances.push(Instance::start(&backend, args.pool, &blobs, log).await?);
        }
        let urls: Vec<String> = instances.iter().map(|i| i.url.clone()).collect();
        println!(
            "{} {} instance(s) at {} (client-side round robin), pool {} each",
            instances.len(),
            match backend {
                Backend::Sqlite(_) => "SQLite",
                Backend::Postgres(_) => "PostgreSQL",
            },
            urls.join(", "),
            args.pool
        );
        let shared = Arc::new(Shared::new(urls));
        Ok(Self { world, backend, cluster, instances: Arc::new(Mutex::new(instances)), shared, _dir: dir })
    }

    fn phones(&self, n: usize, seed: u64) -> Vec<SimPhone> {
        self.world
            .phones
            .iter()
            .take(n)
            .enumerate()
            .map(|(i, p)| {
                SimPhone::new(
                    p.clone(),
                    self.world.orgs[p.org].clone(),
                    seed.wrapping_mul(1_000_003) + i as u64,
                )
            })
            .collect()
    }

    async fn pids(&self) -> Vec<u32> {
        self.instances.lock().await.iter().filter_map(Instance::pid).collect()
    }

    fn label(&self, args: &Args) -> String {
        let backend = match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        };
        format!("{backend} x{}", args.instances.max(1))
    }

    /// Spawns every phone's open loop; answers the phones when `end` is reached.
    fn spawn_open_loop(
        &self,
        args: &Args,
        start: Instant,
        end: Instant,
    ) -> Vec<tokio::task::JoinHandle<SimPhone>> {
        let interval = Duration::from_secs_f64(args.interval_s.max(0.1));
        let mut rng = fieldkit_e2e::proxy::SplitMix64::new(args.seed);
        self.phones(args.phones, args.seed)
            .into_iter()
            .map(|phone| {
                let phase = Duration::from_millis(rng.below(interval.as_millis() as u64));
                let shared = Arc::clone(&self.shared);
                tokio::spawn(open_loop(phone, shared, start + phase, interval, end))
            })
            .collect()
    }

    async fn open_loop(&self, args: &Args) -> anyhow::Result<()> {
        let interval = Duration::from_secs_f64(args.interval_s);
        let duration = Duration::from_secs_f64(args.duration_s);
        if duration <= interval {
            bail!("--duration-s must be longer than --interval-s (the first interval is the warm-up)");
        }
        println!(
            "\n== open loop: {} phones syncing every {:.0} s for {:.0} s ({}), warm-up {:.0} s",
            args.phones,
            args.interval_s,
            args.duration_s,
            self.label(args),
            args.interval_s
        );
        print_load("start");
        let start = Instant::now();
        let end = start + duration;
        let tasks = self.spawn_open_loop(args, start, end);
        tokio::time::sleep_until((start + interval).into()).await;
        self.shared.stats.start_window();
        let window_start = Instant::now();
        let cpu0 = CpuSample::now(&self.pids().await);
        tokio::time::sleep_until(end.into()).await;
        let cpu1 = CpuSample::now(&self.pids().await);
        let window = window_start.elapsed();
        print_load("end of window");
        let mut phones = Vec::new();
        for t in tasks {
            phones.push(t.await?);
        }
        self.report(args, window, &cpu1.since(&cpu0, window), &phones);
        Ok(())
    }

    async fn closed_loop(&self, args: &Args) -> anyhow::Result<()> {
        let n = args.concurrency.min(self.world.phones.len());
        println!(
            "\n== closed loop (max throughput): {n} phones syncing back to back for {:.0} s ({})",
            args.duration_s,
            self.label(args)
        );
        let mut phones = self.phones(n, args.seed);
        // Each phone's first sync (the initial pull) before the clock starts.
        let firsts = phones.drain(..).map(|mut p| {
            let shared = Arc::clone(&self.shared);
            tokio::spawn(async move {
                let _ = p.sync(&shared).await;
                p
            })
        });
        let mut warm = Vec::new();
        for t in firsts.collect::<Vec<_>>() {
            warm.push(t.await?);
        }
        print_load("start");
        self.shared.stats.start_window();
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(args.duration_s);
        let cpu0 = CpuSample::now(&self.pids().await);
        let tasks: Vec<_> = warm
            .into_iter()
            .map(|mut p| {
                let shared = Arc::clone(&self.shared);
                tokio::spawn(async move {
                    while Instant::now() < end {
                        // A phone whose last sync failed sends the same outbox again after
                        // a pause instead of making more work.
                        if p.drained() {
                            p.advance(fieldkit_server::now_ms());
                        }
                        if let Err(e) = p.sync(&shared).await {
                            shared.stats.error(&e.kind(), e.to_string());
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                    p
                })
            })
            .collect();
        let mut phones = Vec::new();
        for t in tasks {
            phones.push(t.await?);
        }
        let window = start.elapsed();
        let cpu1 = CpuSample::now(&self.pids().await);
        print_load("end");
        self.report(args, window, &cpu1.since(&cpu0, window), &phones);
        Ok(())
    }

    /// The open loop with faults, then drain and the exactly-once check; answers whether it
    /// held.
    async fn soak(&self, args: &Args) -> anyhow::Result<bool> {
        let soak = Duration::from_secs_f64(args.soak_s.unwrap_or(1_800.0));
        println!(
            "\n== soak: {} phones syncing every {:.0} s for {:.0} s ({}), faults {}",
            args.phones,
            args.interval_s,
            soak.as_secs_f64(),
            self.label(args),
            if args.faults { format!("every {:.0} s", args.fault_every_s) } else { "off".to_owned() }
        );
        let start = Instant::now();
        let end = start + soak;
        let tasks = self.spawn_open_loop(args, start, end);
        self.shared.stats.start_window();
        let faults = if args.faults {
            let instances = Arc::clone(&self.instances);
            let cluster = self.cluster.clone();
            let every = Duration::from_secs_f64(args.fault_every_s);
            Some(tokio::spawn(fault_loop(instances, cluster, every, start, end)))
        } else {
            None
        };
        let mut phones = Vec::new();
        for t in tasks {
            phones.push(t.await?);
        }
        if let Some(f) = faults {
            f.await??;
        }
        println!("   load stopped at {:.0} s; draining the outboxes", start.elapsed().as_secs_f64());
        let drained = drain(&mut phones, &self.shared, Duration::from_secs(120)).await;
        self.report(args, start.elapsed(), "n/a (faults)", &phones);
        let made: BTreeSet<FactId> = phones.iter().flat_map(|p| p.made.iter().copied()).collect();
        let orgs: Vec<_> = self.world.orgs.iter().map(|o| o.id).collect();
        let storage: Arc<dyn Storage> = match &self.backend {
            Backend::Postgres(url) => Arc::new(PgStorage::connect(url, 2).await?),
            Backend::Sqlite(dir) => {
                Arc::new(SqliteStorage::open(&fieldkit_server::config::database_path(dir))?)
            }
        };
        let outcome = verify::check(storage.as_ref(), &orgs, &made).await?;
        println!(
            "   exactly-once check: {} facts made, {} stored; lost={} duplicated={} unexpected={}",
            made.len(),
            outcome.stored,
            outcome.lost.len(),
            outcome.duplicated.len(),
            outcome.unexpected.len()
        );
        for (what, ids) in [
            ("lost", &outcome.lost),
            ("duplicated", &outcome.duplicated),
            ("unexpected", &outcome.unexpected),
        ] {
            for id in ids.iter().take(20) {
                println!("   {what}: {id}");
            }
        }
        let mut ok = outcome.exact() && drained;
        if let Backend::Postgres(url) = &self.backend {
            let (rows, dups) = verify::postgres_rows(url).await?;
            println!("   facts table: {rows} rows, {} ids in more than one row", dups.len());
            ok &= dups.is_empty() && usize::try_from(rows).ok() == Some(made.len());
        }
        let rejected: usize = phones.iter().map(|p| p.rejected.len()).sum();
        if rejected > 0 {
            println!("   {rejected} facts refused for good by the server (counted as lost above)");
        }
        println!("   result: {}", if ok { "EXACTLY ONCE" } else { "FAILED" });
        Ok(ok)
    }

    fn report(&self, args: &Args, window: Duration, cpu: &str, phones: &[SimPhone]) {
        let stats = &self.shared.stats;
        let steady = Percentiles::of(&stats.latencies());
        let first = Percentiles::of(&stats.first_latencies());
        let blobs = Percentiles::of(&stats.blob_latencies());
        let in_window = stats.syncs_in_window.load(Ordering::Relaxed);
        let made: usize = phones.iter().map(|p| p.made.len()).sum();
        let waiting = phones.iter().filter(|p| !p.drained()).count();
        println!("   --- {} phones, {}", phones.len(), self.label(args));
        println!("   sync latency (steady syncs in the window): {steady}");
        println!("   first sync (initial pull): {first}");
        println!("   photo upload (42 KB, one PUT): {blobs}");
        println!(
            "   throughput: {in_window} syncs in {:.1} s = {:.1} syncs/s; {} syncs in all",
            window.as_secs_f64(),
            in_window as f64 / window.as_secs_f64().max(1e-9),
            stats.syncs.load(Ordering::Relaxed)
        );
        println!(
            "   facts: {made} made, {} acknowledged ({} as already stored: retries), {} forms, {} photos' bytes; \
             {} late ticks; {waiting} phones with work still queued",
            stats.facts_acked.load(Ordering::Relaxed),
            stats.facts_already.load(Ordering::Relaxed),
            stats.docs_acked.load(Ordering::Relaxed),
            stats.blobs_done.load(Ordering::Relaxed),
            stats.late_ticks.load(Ordering::Relaxed)
        );
        println!("   cpu over the window: {cpu}");
        let errors = stats.errors();
        println!("   errors: {}", stats.error_count());
        for (kind, (count, messages)) in errors {
            println!("     {kind}: {count}");
            for m in messages {
                println!("       e.g. {m}");
            }
        }
        if steady.n > 0 {
            println!(
                "   RESULT {} phones={} interval={:.0}s: p50={:.1}ms p99={:.1}ms syncs/s={:.1} errors={} target p99<500ms: {}",
                self.label(args),
                phones.len(),
                args.interval_s,
                steady.p50,
                steady.p99,
                in_window as f64 / window.as_secs_f64().max(1e-9),
                stats.error_count(),
                if steady.p99 < 500.0 { "MET" } else { "MISSED" }
            );
        }
    }
}

/// One phone's open loop: a minute of its day, then a sync, every `interval` from `first`.
async fn open_loop(
    mut phone: SimPhone,
    shared: Arc<Shared>,
    first: Instant,
    interval: Duration,
    end: Instant,
) -> SimPhone {
    let mut next = first;
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        phone.advance(fieldkit_server::now_ms());
        if let Err(e) = phone.sync(&shared).await {
            shared.stats.error(&e.kind(), e.to_string());
        }
        next += interval;
        let now = Instant::now();
        while next < now {
            next += interval;
            shared.stats.late_ticks.fetch_add(1, Ordering::Relaxed);
        }
    }
    phone
}

/// Syncs every phone until nothing waits (retrying each second) or `within` passes;
/// answers whether everything drained.
async fn drain(phones: &mut Vec<SimPhone>, shared: &Arc<Shared>, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let tasks: Vec<_> = phones
        .drain(..)
        .map(|mut p| {
            let shared = Arc::clone(shared);
            tokio::spawn(async move {
                while !p.drained() && Instant::now() < deadline {
                    if let Err(e) = p.sync(&shared).await {
                        shared.stats.error(&format!("drain {}", e.kind()), e.to_string());
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                p
            })
        })
        .collect();
    for t in tasks {
        match t.await {
            Ok(p) => phones.push(p),
            Err(e) => eprintln!("a phone task failed: {e}"),
        }
    }
    let waiting: Vec<_> = phones.iter().filter(|p| !p.drained()).map(SimPhone::pending).collect();
    if !waiting.is_empty() {
        println!(
            "   {} phones did not drain (facts, forms, photos waiting): {:?}",
            waiting.len(),
            &waiting[..waiting.len().min(5)]
        );
    }
    waiting.is_empty()
}

/// A fault every `every` until `end`, in turn: an instance killed (SIGKILL) and restarted
/// 2 s later, and (on PostgreSQL) the database stopped and started 3 s later.
async fn fault_loop(
    instances: Arc<Mutex<Vec<Instance>>>,
    cluster: Option<PgCluster>,
    every: Duration,
    start: Instant,
    end: Instant,
) -> anyhow::Result<()> {
    let mut k = 0_usize;
    loop {
        let at = start + every * (k as u32 + 1);
        if at + Duration::from_secs(4) >= end {
            return Ok(());
        }
        tokio::time::sleep_until(at.into()).await;
        let t = start.elapsed().as_secs_f64();
        match (&cluster, k % 2) {
            (Some(cluster), 1) => {
                println!("   [{t:6.1} s] fault: PostgreSQL stopped");
                cluster.stop().await?;
                tokio::time::sleep(Duration::from_secs(3)).await;
                cluster.start().await.context("restarting PostgreSQL")?;
                println!("   [{:6.1} s] PostgreSQL started again", start.elapsed().as_secs_f64());
            }
            _ => {
                let mut all = instances.lock().await;
                let n = all.len();
                let victim = &mut all[(k / 2) % n];
                println!("   [{t:6.1} s] fault: instance {} killed (SIGKILL)", victim.url);
                victim.kill().await?;
                tokio::time::sleep(Duration::from_secs(2)).await;
                victim.restart().await?;
                println!("   [{:6.1} s] instance {} restarted", start.elapsed().as_secs_f64(), victim.url);
            }
        }
        k += 1;
    }
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
    println!(
        "machine: {cpu}, {cores} cores available (shared by the generator, the servers and PostgreSQL); \
         load-gen ({} build)",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
}

fn print_load(when: &str) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let fields: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("   load average at {when}: {}", fields.join(" "));
}
