//! The customer 360° view on a full phone database: 5,000 customers, 50,000 visits and
//! 20,000 orders, made through the engine's facade against a real server on loopback (the
//! customers and the price list arrive by sync), then the view of random customers timed.
//!
//! ```text
//! cargo run --release -p fieldkit-e2e --bin customer360-bench -- [--customers 5000 --visits 50000 --orders 20000 --queries 2000]
//! ```
//!
//! Prints the build time, then the median, p99 and max of `customer_360` over `--queries`
//! customers picked with a fixed seed. Results are in BENCHMARKS.md.
//!
//! `--encryption both` (the default) runs two phones side by side in the same run, one on a
//! plain SQLite database and one encrypted with SQLCipher (`FieldKit::open_encrypted`),
//! interleaving their writes and their views call by call so that the load of the machine
//! falls on both alike; it prints the local-write latency (`check_in`, one durable
//! transaction per call) and the view's figures for each, and the encrypted/plain ratio of
//! the medians. `plain` or `encrypted` runs one phone.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use fieldkit_domain::ids::{CustomerId, ProductId};
use fieldkit_domain::model::{LocationFix, LocationProvider, WgsPoint};
use fieldkit_e2e::harness::{Api, PASSWORD, Phone, TestServer};
use fieldkit_engine::{CheckInInput, Config, DatabaseKey, FieldKit, OrderLineInput};
use serde_json::json;

#[derive(Parser)]
#[command(about = "Times the customer 360° view on a full phone database")]
struct Args {
    /// Customers on the phone.
    #[arg(long, default_value_t = 5_000)]
    customers: usize,
    /// Visits (check-in and check-out each).
    #[arg(long, default_value_t = 50_000)]
    visits: usize,
    /// Orders, one per visit for the first visits.
    #[arg(long, default_value_t = 20_000)]
    orders: usize,
    /// Views timed.
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Which phone databases: `plain`, `encrypted` (SQLCipher) or `both`, side by side.
    #[arg(long, value_enum, default_value_t = Encryption::Both)]
    encryption: Encryption,
}

/// The phone databases a run compares.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Encryption {
    Plain,
    Encrypted,
    Both,
}

/// One phone of the run with its timings.
struct Bench {
    label: &'static str,
    phone: Phone,
    check_ins: Vec<f64>,
    writes_s: f64,
    views: Vec<f64>,
}

impl Bench {
    fn new(label: &'static str, phone: Phone) -> Self {
        Self { label, phone, check_ins: Vec::new(), writes_s: 0.0, views: Vec::new() }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let server = TestServer::start().await?;
    let org = server.org("bench", 1).await?;
    let api = Api::new(&server.url);
    let started = Instant::now();
    let token = Some(org.manager_token.as_str());
    let product = json!({ "sku": "COLA", "name": "Cola", "list_price": { "minor": 350, "currency": "CNY" } });
    let (_, product) = api.send("POST", "/v1/products", token, Some(&product)).await?;
    let product: ProductId = serde_json::from_value(product["id"].clone())?;
    let mut customers = Vec::with_capacity(args.customers);
    for i in 0..args.customers {
        let (lat, lng) = point(i);
        let body = json!({
            "name": format!("Shop {i}"), "grade": "B", "owner_id": org.reps[0].id,
            "place": { "point": { "lat": lat, "lng": lng }, "address": "" }
        });
        let (_, created) = api.send("POST", "/v1/customers", token, Some(&body)).await?;
        customers.push(serde_json::from_value::<CustomerId>(created["id"].clone())?);
    }
    let mut phones = Vec::new();
    if args.encryption != Encryption::Encrypted {
        phones.push(Bench::new("plain", server.phone("bench", "rep1").await?));
    }
    if args.encryption != Encryption::Plain {
        phones.push(Bench::new("encrypted", encrypted_phone(&server.url, "bench", "rep1").await?));
    }
    for bench in &phones {
        bench.phone.kit.sync_now().await?;
    }
    eprintln!("{} customers on the phone(s) after {:.1} s", customers.len(), started.elapsed().as_secs_f64());

    let line = OrderLineInput { product_id: product, quantity: 12, discount_minor: 0 };
    for v in 0..args.visits {
        let i = v % customers.len();
        let (lat, lng) = point(i);
        for bench in &mut phones {
            let fix = LocationFix {
                point: WgsPoint::new(lat, lng)?,
                accuracy_m: 10.0,
                fix_time_ms: fieldkit_server::now_ms(),
                provider: LocationProvider::Gnss,
                is_mock: false,
            };
            let kit = &bench.phone.kit;
            let input = CheckInInput { customer_id: customers[i], task_id: None, fix, note: None };
            let t = Instant::now();
            let check_in = kit.check_in(input).with_context(|| format!("visit {v}"))?;
            bench.check_ins.push(t.elapsed().as_secs_f64() * 1000.0);
            if v < args.orders {
                kit.take_order(customers[i], Some(check_in.visit_id), &[line], None, None)?;
            }
            kit.check_out(check_in.visit_id, fix)?;
            bench.writes_s += t.elapsed().as_secs_f64();
        }
    }
    eprintln!(
        "{} visits and {} orders written on each phone after {:.1} s",
        args.visits,
        args.orders,
        started.elapsed().as_secs_f64()
    );

    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..args.queries {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let id = customers[usize::try_from(seed % customers.len() as u64)?];
        for bench in &mut phones {
            let t = Instant::now();
            let view = bench.phone.kit.customer_360(id)?;
            bench.views.push(t.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(view.visit_count > 0, "customer without visits");
        }
    }
    let writes = args.visits * 2 + args.orders.min(args.visits);
    let mut medians = Vec::new();
    for bench in &mut phones {
        let (check_in, view) = (Stats::of(&mut bench.check_ins), Stats::of(&mut bench.views));
        println!(
            "{:>9}: check_in over {} calls: median {:.3} ms, p99 {:.3} ms, max {:.3} ms; \
             {writes} writes in {:.1} s ({:.3} ms per write)",
            bench.label,
            bench.check_ins.len(),
            check_in.median,
            check_in.p99,
            check_in.max,
            bench.writes_s,
            bench.writes_s * 1000.0 / writes as f64
        );
        println!(
            "{:>9}: customer_360 over {} queries: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            bench.label,
            bench.views.len(),
            view.median,
            view.p99,
            view.max
        );
        medians.push((check_in, view, bench.writes_s));
    }
    if let [(plain_in, plain_view, plain_s), (enc_in, enc_view, enc_s)] = medians[..] {
        println!(
            "encrypted/plain: check_in median x{:.2}, p99 x{:.2}; all writes x{:.2}; customer_360 median x{:.2}, p99 x{:.2}",
            enc_in.median / plain_in.median,
            enc_in.p99 / plain_in.p99,
            enc_s / plain_s,
            enc_view.median / plain_view.median,
            enc_view.p99 / plain_view.p99
        );
    }
    server.stop().await
}

/// Median, p99 and max of timings in milliseconds.
#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    p99: f64,
    max: f64,
}

impl Stats {
    fn of(times: &mut [f64]) -> Self {
        times.sort_by(f64::total_cmp);
        let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        Self { median: pick(0.5), p99: pick(0.99), max: pick(1.0) }
    }
}

/// A phone whose database is encrypted (a fixed key: what the cipher costs does not depend
/// on the key's value), logged in as `username`.
async fn encrypted_phone(server_url: &str, org: &str, username: &str) -> Result<Phone> {
    let dir = tempfile::tempdir()?;
    let key = DatabaseKey::from_bytes(&[0x5A; DatabaseKey::LEN])?;
    let config = Config {
        db_path: dir.path().join("fieldkit.db"),
        server_url: server_url.to_owned(),
        org: org.to_owned(),
    };
    let kit = FieldKit::open_encrypted(config, &key)?;
    kit.login(username, PASSWORD).await?;
    Ok(Phone::from_kit(kit, dir))
}

/// Customer `i`'s place: a grid over central Shanghai.
fn point(i: usize) -> (f64, f64) {
    let (row, col) = (i / 100, i % 100);
    (31.10 + row as f64 * 0.004, 121.30 + col as f64 * 0.004)
}
