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

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use fieldkit_domain::ids::{CustomerId, ProductId};
use fieldkit_domain::model::{LocationFix, LocationProvider, WgsPoint};
use fieldkit_e2e::harness::{Api, TestServer};
use fieldkit_engine::{CheckInInput, OrderLineInput};
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
    let phone = server.phone("bench", "rep1").await?;
    phone.kit.sync_now().await?;
    eprintln!("{} customers on the phone after {:.1} s", customers.len(), started.elapsed().as_secs_f64());

    let line = OrderLineInput { product_id: product, quantity: 12, discount_minor: 0 };
    for v in 0..args.visits {
        let i = v % customers.len();
        let (lat, lng) = point(i);
        let fix = LocationFix {
            point: WgsPoint::new(lat, lng)?,
            accuracy_m: 10.0,
            fix_time_ms: fieldkit_server::now_ms(),
            provider: LocationProvider::Gnss,
            is_mock: false,
        };
        let input = CheckInInput { customer_id: customers[i], task_id: None, fix, note: None };
        let check_in = phone.kit.check_in(input).with_context(|| format!("visit {v}"))?;
        if v < args.orders {
            phone.kit.take_order(customers[i], Some(check_in.visit_id), &[line], None, None)?;
        }
        phone.kit.check_out(check_in.visit_id, fix)?;
    }
    eprintln!(
        "{} visits and {} orders written after {:.1} s",
        args.visits,
        args.orders,
        started.elapsed().as_secs_f64()
    );

    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut times = Vec::with_capacity(args.queries);
    for _ in 0..args.queries {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let id = customers[usize::try_from(seed % customers.len() as u64)?];
        let t = Instant::now();
        let view = phone.kit.customer_360(id)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(view.visit_count > 0, "customer without visits");
    }
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "customer_360 over {} queries: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        times.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
    server.stop().await
}

/// Customer `i`'s place: a grid over central Shanghai.
fn point(i: usize) -> (f64, f64) {
    let (row, col) = (i / 100, i % 100);
    (31.10 + row as f64 * 0.004, 121.30 + col as f64 * 0.004)
}
