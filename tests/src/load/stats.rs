//! What a load run measured: sync latencies inside the measurement window, counts of syncs,
//! facts, errors and refusals, and CPU time read from `/proc`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Errors kept verbatim (the first few of each kind), for the report.
const KEPT_MESSAGES: usize = 5;

/// Shared counters and latency samples of one run.
#[derive(Debug)]
pub struct Stats {
    /// Samples count from this instant on (after the warm-up).
    measure_from: Mutex<Option<Instant>>,
    /// Latencies of steady syncs (not a phone's first) started in the window, ms.
    latencies_ms: Mutex<Vec<f64>>,
    /// Latencies of phones' first syncs (the initial pull), ms.
    first_ms: Mutex<Vec<f64>>,
    /// Latencies of blob uploads, ms.
    blob_ms: Mutex<Vec<f64>>,
    /// Syncs answered 200 in the window.
    pub syncs_in_window: AtomicU64,
    /// Syncs answered 200 in all.
    pub syncs: AtomicU64,
    /// Facts pushed and acknowledged (stored or already stored).
    pub facts_acked: AtomicU64,
    /// Facts acknowledged as already stored (retries the server deduplicated).
    pub facts_already: AtomicU64,
    /// Form responses (documents) acknowledged.
    pub docs_acked: AtomicU64,
    /// Photos' bytes uploaded.
    pub blobs_done: AtomicU64,
    /// Syncs whose phone was still busy with the previous one at its next tick.
    pub late_ticks: AtomicU64,
    /// Failures by kind, with the first few messages.
    errors: Mutex<BTreeMap<String, (u64, Vec<String>)>>,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty stats; nothing is measured until [`Stats::start_window`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            measure_from: Mutex::new(None),
            latencies_ms: Mutex::new(Vec::new()),
            first_ms: Mutex::new(Vec::new()),
            blob_ms: Mutex::new(Vec::new()),
            syncs_in_window: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            facts_acked: AtomicU64::new(0),
            facts_already: AtomicU64::new(0),
            docs_acked: AtomicU64::new(0),
            blobs_done: AtomicU64::new(0),
            late_ticks: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    /// Starts the measurement window now.
    pub fn start_window(&self) {
        *lock(&self.measure_from) = Some(Instant::now());
    }

    fn in_window(&self, started: Instant) -> bool {
        lock(&self.measure_from).is_some_and(|from| started >= from)
    }

    /// Records one sync answered 200 that started at `started` and took `took`.
    pub fn sync_done(&self, started: Instant, took: Duration, first: bool) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        let ms = took.as_secs_f64() * 1000.0;
        if first {
            lock(&self.first_ms).push(ms);
        } else if self.in_window(started) {
            self.syncs_in_window.fetch_add(1, Ordering::Relaxed);
            lock(&self.latencies_ms).push(ms);
        }
    }

    /// Records one blob upload.
    pub fn blob_done(&self, took: Duration) {
        self.blobs_done.fetch_add(1, Ordering::Relaxed);
        lock(&self.blob_ms).push(took.as_secs_f64() * 1000.0);
    }

    /// Records a failure of `kind` (keeps the first few messages).
    pub fn error(&self, kind: &str, message: String) {
        let mut errors = lock(&self.errors);
        let entry = errors.entry(kind.to_owned()).or_default();
        entry.0 += 1;
        if entry.1.len() < KEPT_MESSAGES {
            entry.1.push(message);
        }
    }

    /// Failures by kind: (count, first messages).
    #[must_use]
    pub fn errors(&self) -> BTreeMap<String, (u64, Vec<String>)> {
        lock(&self.errors).clone()
    }

    /// Failures of every kind.
    #[must_use]
    pub fn error_count(&self) -> u64 {
        lock(&self.errors).values().map(|e| e.0).sum()
    }

    /// Steady sync latencies in the window, ms.
    #[must_use]
    pub fn latencies(&self) -> Vec<f64> {
        lock(&self.latencies_ms).clone()
    }

    /// First-sync latencies, ms.
    #[must_use]
    pub fn first_latencies(&self) -> Vec<f64> {
        lock(&self.first_ms).clone()
    }

    /// Blob upload latencies, ms.
    #[must_use]
    pub fn blob_latencies(&self) -> Vec<f64> {
        lock(&self.blob_ms).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// p50, p90, p99 and max of `values` (nearest rank), ms.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// The percentiles of `values` (NaN when empty).
    #[must_use]
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| -> f64 {
            if v.is_empty() {
                return f64::NAN;
            }
            let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
            v[rank.min(v.len()) - 1]
        };
        Self {
            n: v.len(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: v.last().copied().unwrap_or(f64::NAN),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n={} p50={:.1} ms p90={:.1} ms p99={:.1} ms max={:.1} ms",
            self.n, self.p50, self.p90, self.p99, self.max
        )
    }
}

/// CPU time counters read from `/proc`: the whole machine, this process, the server
/// children and PostgreSQL's processes.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    /// Machine jiffies (all CPUs) busy, and in all.
    pub machine_busy: u64,
    /// Machine jiffies in all.
    pub machine_total: u64,
    /// This process (the generator), jiffies.
    pub generator: u64,
    /// The server instances, jiffies.
    pub servers: u64,
    /// Every `postgres` process, jiffies.
    pub postgres: u64,
}

impl CpuSample {
    /// Reads the counters now; `server_pids` are the instances' process ids.
    #[must_use]
    pub fn now(server_pids: &[u32]) -> Self {
        let (machine_busy, machine_total) = machine_jiffies().unwrap_or_default();
        let generator = process_jiffies("self").unwrap_or_default();
        let servers = server_pids.iter().filter_map(|p| process_jiffies(&p.to_string())).sum();
        let postgres = postgres_jiffies();
        Self { machine_busy, machine_total, generator, servers, postgres }
    }

    /// The CPU used between `earlier` and `self`, as text: cores busy on the machine and
    /// per party (1.0 = one core all the time).
    #[must_use]
    pub fn since(&self, earlier: &CpuSample, wall: Duration) -> String {
        let hz = 100.0;
        let secs = wall.as_secs_f64().max(1e-9);
        let cores = |j: u64, e: u64| j.saturating_sub(e) as f64 / hz / secs;
        let total = self.machine_total.saturating_sub(earlier.machine_total).max(1) as f64;
        let busy = self.machine_busy.saturating_sub(earlier.machine_busy) as f64;
        let ncpu = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) as f64;
        format!(
            "machine {:.0}% busy ({:.2} of {ncpu:.0} cores); servers {:.2} cores, postgres {:.2}, generator {:.2}",
            busy / total * 100.0,
            busy / total * ncpu,
            cores(self.servers, earlier.servers),
            cores(self.postgres, earlier.postgres),
            cores(self.generator, earlier.generator)
        )
    }
}

fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// utime + stime of `/proc/PID/stat` (fields 14 and 15).
fn process_jiffies(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn postgres_jiffies() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "postgres"))
        .filter_map(|e| process_jiffies(&e.file_name().to_string_lossy()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&v);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
    }

    #[test]
    fn syncs_before_the_window_are_not_sampled() {
        let stats = Stats::new();
        stats.sync_done(Instant::now(), Duration::from_millis(5), false);
        stats.start_window();
        stats.sync_done(Instant::now(), Duration::from_millis(7), false);
        stats.sync_done(Instant::now(), Duration::from_millis(9), true);
        assert_eq!(stats.latencies(), vec![7.0]);
        assert_eq!(stats.first_latencies(), vec![9.0]);
        assert_eq!(stats.syncs.load(Ordering::Relaxed), 3);
    }
}
