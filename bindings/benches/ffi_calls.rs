//! The Rust side of the FFI round-trip bench (BENCHMARKS.md "Bindings"): the same calls the
//! Kotlin bench makes (`bindings/kotlin/bench`), on the phone database it left behind, made
//! directly on the engine (`fieldkit_engine::FieldKit`). (The FFI crate is built only as a
//! `cdylib` and `staticlib`, so that cargo applies LTO to it; a bench cannot link it as a
//! Rust library.) Run by scripts/bench-kotlin, never by CI:
//! `FIELDKIT_BENCH_DB=… FIELDKIT_TEST_URL=… FIELDKIT_TEST_ORG=… cargo bench -p fieldkit-ffi --bench ffi_calls`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

/// A variable scripts/bench-kotlin sets.
fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set; run the bench through scripts/bench-kotlin"))
}

/// An optional count from the environment.
fn env_count(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| format!("{name} is not a count: {v}")),
        Err(_) => Ok(default),
    }
}

/// Calls `call` `iterations / 10` times untimed, then `iterations` times timing each call,
/// and prints the median, p90, p99 and minimum in microseconds.
fn measure<T>(name: &str, iterations: usize, mut call: impl FnMut() -> T) {
    for _ in 0..iterations / 10 {
        black_box(call());
    }
    let mut nanos: Vec<u128> = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        black_box(call());
        nanos.push(start.elapsed().as_nanos());
    }
    nanos.sort_unstable();
    let quantile = |q: f64| nanos[((nanos.len() - 1) as f64 * q) as usize] as f64 / 1_000.0;
    println!(
        "{name:<36} n={iterations:<7} median {:9.2} µs   p90 {:9.2} µs   p99 {:9.2} µs   min {:9.2} µs",
        quantile(0.5),
        quantile(0.9),
        quantile(0.99),
        quantile(0.0)
    );
}

/// Opens the phone database and times each call.
fn run() -> Result<(), String> {
    let db = PathBuf::from(env("FIELDKIT_BENCH_DB")?);
    let server_url = env("FIELDKIT_TEST_URL")?;
    let org = env("FIELDKIT_TEST_ORG")?;
    let getters = env_count("FIELDKIT_BENCH_GETTER_ITERATIONS", 200_000)?;
    let statuses = env_count("FIELDKIT_BENCH_STATUS_ITERATIONS", 20_000)?;
    let lists = env_count("FIELDKIT_BENCH_LIST_ITERATIONS", 3_000)?;

    {
        let config =
            fieldkit_engine::Config { db_path: db.clone(), server_url: server_url.clone(), org: org.clone() };
        let kit = fieldkit_engine::FieldKit::open(config).map_err(|e| format!("open the engine: {e}"))?;
        let tasks = kit.my_tasks().map_err(|e| e.to_string())?.len();
        println!("engine (fieldkit_engine::FieldKit), {tasks} tasks on the phone:");
        measure("engine device_id().to_string()", getters, || kit.device_id().to_string());
        measure("engine sync_status()", statuses, || kit.sync_status().map_err(|e| e.to_string()));
        measure(&format!("engine my_tasks() ({tasks} tasks)"), lists, || {
            kit.my_tasks().map_err(|e| e.to_string())
        });
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("ffi_calls: {e}");
        std::process::exit(1);
    }
}
