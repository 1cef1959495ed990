//! Track processing and datum conversion benchmark for `fieldkit-domain`'s geo module.
//!
//! ```text
//! cargo run --release -p fieldkit-e2e --bin geo-bench [-- --runs 5 --points 10000 --conversions 1000000]
//! ```
//!
//! 1. A generated 10,000-point working day in Shanghai (drives at 10 m/s between customers
//!    within 6 km, 20-minute stays with indoor jitter, multipath jumps, network fixes, a
//!    tunnel on every fifth drive) goes through the whole pipeline:
//!    working-hours gate, filter, Kalman smoother, stays matched to 200 customers, daily
//!    mileage and Douglas–Peucker at 8 m. Each stage is timed; the median over `--runs`
//!    is printed, with the process's peak RSS (`VmHWM` from `/proc/self/status`) before and
//!    after processing.
//! 2. Conversion throughput over `--conversions` points spread over China (and 10 %
//!    outside it): the region test alone, WGS-84 → GCJ-02 with and without the region test,
//!    the exact GCJ-02 → WGS-84 inverse, and GCJ-02 ⇄ BD-09.
//!
//! Results are written by hand into `bench/geo/RESULTS.md`.

use std::hint::black_box;
use std::time::Instant;

use clap::Parser;
use fieldkit_domain::geo::{
    ChinaRegion, CustomerSite, FilterConfig, GateDecision, KalmanConfig, LocalFrame, MileageConfig,
    ShiftRegions, StayConfig, TrackingPolicy, UtcOffset, WorkWindow, WorkingHours, bd09_to_gcj02,
    china_region, daily_mileage, detect_stays, filter_track, gcj02_to_bd09, gcj02_to_wgs84_exact,
    simplify_track, smooth_track, wgs84_to_gcj02, wgs84_to_gcj02_unchecked,
};
use fieldkit_domain::ids::CustomerId;
use fieldkit_domain::model::{TrackPoint, WgsPoint};

#[derive(Parser)]
#[command(about = "Benchmarks track processing and China datum conversions")]
struct Args {
    /// Repetitions of each measurement; medians are reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Points in the generated day track.
    #[arg(long, default_value_t = 10_000)]
    points: usize,
    /// Points per conversion measurement.
    #[arg(long, default_value_t = 1_000_000)]
    conversions: usize,
}

/// Deterministic xorshift64* in [-1, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Peak resident set size so far, KiB (`VmHWM`), or 0 where /proc is missing.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Unix ms of 2025-03-03 (a Monday) at `h:m` in Shanghai.
fn local_ms(h: i64, m: i64) -> i64 {
    (1_740_960_000 + h * 3_600 + m * 60 - 8 * 3_600) * 1_000
}

struct Day {
    points: Vec<TrackPoint>,
    sites: Vec<CustomerSite>,
}

fn generate_day(n: usize) -> anyhow::Result<Day> {
    let origin = WgsPoint::new(31.2000, 121.4000)?;
    let frame = LocalFrame::new(origin);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let point = |x: f64, y: f64| frame.to_point(x, y).ok_or_else(|| anyhow::anyhow!("off the globe"));
    let mut sites = Vec::new();
    for _ in 0..200 {
        let (x, y) = (rng.next() * 6_000.0, rng.next() * 6_000.0);
        sites.push(CustomerSite { customer_id: CustomerId::new(), point: point(x, y)?, radius_m: 200.0 });
    }
    // 08:30–18:00 is 34,200 s; spread n fixes over it, alternating drives and stays.
    let interval_ms = (34_200_000 / n.max(1)) as i64;
    let mut points = Vec::with_capacity(n);
    let (mut x, mut y) = (0.0_f64, 0.0_f64);
    let mut t = local_ms(8, 30);
    let mut shop = 0usize;
    while points.len() < n {
        // Drive to the next shop at 10 m/s.
        let target = frame.to_xy(sites[(shop * 7) % sites.len()].point);
        shop += 1;
        let len = (target.0 - x).hypot(target.1 - y);
        let steps = ((len / 10.0) / (interval_ms as f64 / 1_000.0)).ceil().max(1.0) as usize;
        let (dx, dy) = ((target.0 - x) / steps as f64, (target.1 - y) / steps as f64);
        for step in 0..steps {
            x += dx;
            y += dy;
            t += interval_ms;
            // Every fifth drive goes through a tunnel: no fixes for its first half.
            if shop.is_multiple_of(5) && step < steps / 2 {
                continue;
            }
            points.push(TrackPoint {
                point: point(x + rng.next() * 4.0, y + rng.next() * 4.0)?,
                accuracy_m: 8.0,
                time_ms: t,
            });
        }
        // Stay 20 minutes with indoor jitter; now and then a jump or a network fix.
        for k in 0..(1_200_000 / interval_ms) {
            t += interval_ms;
            let (jx, jy, acc) = match k % 97 {
                13 => (2_500.0, 0.0, 15.0),
                41 => (0.0, 0.0, 350.0),
                _ => (rng.next() * 15.0, rng.next() * 15.0, 25.0),
            };
            points.push(TrackPoint { point: point(x + jx, y + jy)?, accuracy_m: acc, time_ms: t });
        }
    }
    points.truncate(n);
    Ok(Day { points, sites })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runs = args.runs.max(1);
    println!("geo-bench: {} runs, {}-point day, {} conversions", runs, args.points, args.conversions);

    let day = generate_day(args.points)?;
    let policy = TrackingPolicy::new(WorkingHours::weekdays(UtcOffset::CHINA, WorkWindow::hm(8, 30, 18, 0)?));
    let rss_before = peak_rss_kib();
    let stages = ["gate", "filter", "smooth", "stays", "mileage", "simplify", "total"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); stages.len()];
    let mut summary = String::new();
    for _ in 0..runs {
        let start = Instant::now();
        let mut lap = Instant::now();
        let mut mark = |i: usize, times: &mut Vec<Vec<f64>>| {
            times[i].push(lap.elapsed().as_secs_f64() * 1e3);
            lap = Instant::now();
        };
        let mut kept = Vec::with_capacity(day.points.len());
        for p in &day.points {
            if policy.gate(p.time_ms, true, p.time_ms)? == GateDecision::Record {
                kept.push(*p);
            }
        }
        mark(0, &mut times);
        let filtered = filter_track(black_box(&kept), &FilterConfig::default());
        mark(1, &mut times);
        let smooth = smooth_track(&filtered.kept, &KalmanConfig::default());
        mark(2, &mut times);
        let stays = detect_stays(&smooth, &StayConfig::default(), &day.sites);
        mark(3, &mut times);
        let days = daily_mileage(&smooth, &MileageConfig::new(UtcOffset::CHINA));
        mark(4, &mut times);
        let simple = simplify_track(&smooth, 8.0)?;
        mark(5, &mut times);
        times[6].push(start.elapsed().as_secs_f64() * 1e3);
        summary = format!(
            "kept {} of {} fixes ({} dropped by the filter), {} stays ({} matched), {:.1} km, {} gaps, {} points after simplification",
            filtered.kept.len(),
            day.points.len(),
            filtered.dropped.len(),
            stays.len(),
            stays.iter().filter(|s| s.customer.is_some()).count(),
            days.iter().map(|d| d.distance_m).sum::<f64>() / 1_000.0,
            days.iter().map(|d| d.gaps.len()).sum::<usize>(),
            simple.len()
        );
    }
    let rss_after = peak_rss_kib();
    println!("\n## {}-point day track\n\n{summary}\n", args.points);
    println!("| stage | median ms |\n|---|---:|");
    for (name, t) in stages.iter().zip(&times) {
        println!("| {name} | {:.3} |", median(t.clone()));
    }
    println!(
        "\npeak RSS (VmHWM): {rss_before} KiB before processing, {rss_after} KiB after ({} KiB more)",
        rss_after.saturating_sub(rss_before)
    );

    // Conversions.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut pts = Vec::with_capacity(args.conversions);
    for i in 0..args.conversions {
        let (lat, lng) = if i % 10 == 9 {
            (35.0 + rng.next() * 20.0, 140.0 + rng.next() * 20.0) // outside: Japan and beyond
        } else {
            (33.0 + rng.next() * 13.0, 108.0 + rng.next() * 12.0) // central and eastern China
        };
        pts.push(WgsPoint::new(lat, lng)?);
    }
    let gcj: Vec<_> = pts.iter().map(|&p| wgs84_to_gcj02_unchecked(p)).collect();
    let bd: Vec<_> = gcj.iter().map(|&g| gcj02_to_bd09(g)).collect();
    let million = args.conversions as f64 / 1e6;
    let time = |f: &dyn Fn() -> f64| -> f64 {
        median(
            (0..runs)
                .map(|_| {
                    let s = Instant::now();
                    black_box(f());
                    s.elapsed().as_secs_f64() * 1e3
                })
                .collect(),
        )
    };
    let rows: Vec<(&str, f64)> = vec![
        (
            "china_region (point in outline)",
            time(&|| {
                pts.iter().filter(|&&p| china_region(black_box(p)) == ChinaRegion::Mainland).count() as f64
            }),
        ),
        (
            "wgs84_to_gcj02_unchecked (formula only)",
            time(&|| pts.iter().map(|&p| wgs84_to_gcj02_unchecked(black_box(p)).lat()).sum()),
        ),
        (
            "wgs84_to_gcj02 (region test + formula)",
            time(&|| {
                pts.iter().map(|&p| wgs84_to_gcj02(black_box(p), ShiftRegions::GREATER_CHINA).lat()).sum()
            }),
        ),
        (
            "gcj02_to_wgs84_exact (iterative inverse)",
            time(&|| gcj.iter().map(|&g| gcj02_to_wgs84_exact(black_box(g)).lat()).sum()),
        ),
        ("gcj02_to_bd09", time(&|| gcj.iter().map(|&g| gcj02_to_bd09(black_box(g)).lat()).sum())),
        (
            "bd09_to_gcj02 (iterative inverse)",
            time(&|| bd.iter().map(|&b| bd09_to_gcj02(black_box(b)).lat()).sum()),
        ),
    ];
    println!("\n## Conversions ({} points, 10 % outside China)\n", args.conversions);
    println!("| operation | median ms per million | ns per point | million points/s |\n|---|---:|---:|---:|");
    for (name, ms) in rows {
        let per_million = ms / million;
        // Milliseconds per million points are numerically nanoseconds per point.
        println!("| {name} | {per_million:.1} | {per_million:.1} | {:.2} |", 1e3 / per_million);
    }
    println!("\npeak RSS at exit (VmHWM): {} KiB", peak_rss_kib());
    Ok(())
}
