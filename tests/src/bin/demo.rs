//! `fieldkit-demo`: the whole loop on one machine. Starts the real server on its embedded
//! SQLite, seeds a demo org in Shanghai, drives three reps' engines through a day (tasks
//! pulled, check-ins recorded offline, synced when back online), prints what happened and
//! keeps serving with the demo logins printed.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use fieldkit_domain::ids::TeamId;
use fieldkit_domain::model::{LocationFix, LocationProvider, Role, TaskStatus, WgsPoint};
use fieldkit_e2e::demo_data;
use fieldkit_e2e::harness::{Api, TestServer, open_phone};
use fieldkit_engine::CheckInInput;
use fieldkit_engine::photo::{PhotoInput, PipelineConfig};
use fieldkit_server::Limits;
use fieldkit_server::blobs::BlobStore;
use fieldkit_server::provision::{self, UserSpec};
use fieldkit_server::storage::PgStorage;
use serde_json::json;

const ORG: &str = "demo";
const PASSWORD: &str = "fieldkit-demo";
const REPS: [(&str, &str); 3] = [("rep1", "张伟"), ("rep2", "李娜"), ("rep3", "王芳")];
/// The CJK font the phones stamp photos with (Debian's `fonts-wqy-microhei`; on a phone, the system font).
const DEMO_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// FieldKit demo: one server, three reps, one day.
#[derive(Debug, Parser)]
struct Args {
    /// Address the server listens on.
    #[arg(long, env = "FIELDKIT_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Scratch folder for the server's and the phones' databases (emptied at start).
    #[arg(long, default_value = ".fieldkit-demo")]
    data_dir: PathBuf,
    /// Exit after the day instead of serving on.
    #[arg(long)]
    exit: bool,
    /// Keep the server's data in this PostgreSQL database instead of SQLite in the data
    /// folder (an empty database; `scripts/check-backup` uses it).
    #[arg(long, env = "FIELDKIT_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    if args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir)
            .with_context(|| format!("cannot empty {}", args.data_dir.display()))?;
    }
    let server_dir = args.data_dir.join("server");
    let server = match args.database_url.as_deref().filter(|url| !url.is_empty()) {
        Some(url) => {
            let storage = Arc::new(PgStorage::connect(url, 8).await?);
            let blobs = Arc::new(BlobStore::open(&fieldkit_server::config::blob_dir(&server_dir))?);
            let server = TestServer::start_over(storage, blobs, &args.bind, Limits::default()).await?;
            println!("FieldKit server on {} (PostgreSQL)", server.url);
            server
        }
        None => {
            let server = TestServer::start_in(&server_dir, &args.bind, Limits::default()).await?;
            println!("FieldKit server on {} (SQLite in {})", server.url, server_dir.display());
            server
        }
    };

    // The operator creates the org and its people.
    let storage = server.storage.as_ref();
    let org = provision::create_org(storage, ORG, "演示贸易有限公司").await?;
    let team = TeamId::new();
    let add = |username: &'static str, name: &'static str, role| {
        let spec = UserSpec {
            username,
            display_name: name,
            role,
            team_id: Some(team),
            data_scope: None,
            password: PASSWORD,
        };
        provision::add_user(storage, org.id, spec)
    };
    add("manager", "赵经理", Role::Manager).await?;
    let mut reps = Vec::new();
    for (username, name) in REPS {
        reps.push(add(username, name, Role::Rep).await?);
    }

    // The manager sets up customers and dispatches the day's visits.
    let api = Api::new(&server.url);
    let manager = api.login(ORG, "manager", PASSWORD).await?;
    let customers = demo_data::create_customers(&api, &manager, &reps).await?;
    let end_of_day = fieldkit_server::now_ms() + 8 * 3_600_000;
    let tasks = demo_data::dispatch_visits(&api, &manager, &customers, end_of_day).await?;
    println!("\n1. Dispatch: manager created {} customers and {} visit tasks", customers.len(), tasks.len());

    println!("\n2. The reps' day (each phone is a real engine over its own SQLite file)");
    let storefront: &[u8] = include_bytes!("../../fixtures/photos/storefront.jpg");
    let font = std::fs::read(DEMO_FONT).ok();
    if font.is_none() {
        println!(
            "   (no CJK font at {DEMO_FONT}: photos are attached unstamped and unsigned; scripts/setup installs it)"
        );
    }
    for (username, name) in REPS {
        let db = args.data_dir.join(format!("phone-{username}.sqlite3"));
        let phone = open_phone(&db, &server.url, ORG)?;
        phone.login(username, PASSWORD).await?;
        if let Some(font) = &font {
            phone.configure_photos(PipelineConfig::default(), font.clone(), 0)?;
        }
        let morning = phone.sync_now().await?;
        let my_tasks = phone.my_tasks()?;
        println!(
            "   {name} ({username}): pulled {} changes, {} tasks for today",
            morning.pulled,
            my_tasks.len()
        );

        // The rep is already out when the manager adds a note to the first task.
        let first = my_tasks.first().map(|t| t.id);
        if let Some(first) = first {
            let note = json!({ "notes": "经理：请顺便推荐新品。" });
            api.send("PATCH", &format!("/v1/tasks/{first}"), Some(&manager), Some(&note)).await?;
        }

        // In the field, offline: every visit is written locally and queued.
        for task in &my_tasks {
            let (Some(customer), Some(place)) = (task.customer_id, &task.place) else {
                continue;
            };
            let fix = LocationFix {
                point: WgsPoint::new(place.point.lat() + 0.0001, place.point.lng() - 0.0001)?,
                accuracy_m: 12.0,
                fix_time_ms: fieldkit_server::now_ms(),
                provider: LocationProvider::Fused,
                is_mock: false,
            };
            let input = CheckInInput { customer_id: customer, task_id: Some(task.id), fix, note: None };
            let visit = phone.check_in(input)?.visit_id;
            if font.is_some() {
                phone.take_photo(PhotoInput::Jpeg(storefront), Some(visit), Some(fix))?;
            } else {
                phone.record_photo(Some(visit), storefront, Some(fix))?;
            }
            phone.update_visit(visit, Some(0), Some("陈列整齐，库存充足。".into()))?;
            phone.check_out(visit, fix)?;
            let notes = format!("{}已拜访。", task.notes);
            phone.update_task(task.id, Some(TaskStatus::Done), Some(notes))?;
        }
        let waiting = phone.sync_status()?;
        println!(
            "     offline: {} visits (check-in, photo, SOP step, check-out, task done); {} items and {} photo file(s) queued",
            my_tasks.len(),
            waiting.outbox.pending,
            waiting.blobs_pending
        );

        // Back online.
        let evening = phone.sync_now().await?;
        let status = phone.sync_status()?;
        println!(
            "     back online: {} round trip(s), {} items pushed, {} KB sent; photos: {} uploaded, {} already on the server; {} waiting, {} parked",
            evening.round_trips,
            evening.pushed,
            (evening.bytes_sent + evening.blobs.bytes_sent) / 1024,
            evening.blobs.completed,
            evening.blobs.skipped,
            status.outbox.pending,
            status.outbox.parked
        );
        if let Some(first) = first {
            let (_, task) = api.send("GET", &format!("/v1/tasks/{first}"), Some(&manager), None).await?;
            println!("     merged on the server: status {}, notes {}", task["status"], task["notes"]);
        }
    }

    let count = |body: &serde_json::Value| body.as_array().map_or(0, Vec::len);
    let (_, check_ins) = api.send("GET", "/v1/facts?kind=check_in", Some(&manager), None).await?;
    let (_, photos) = api.send("GET", "/v1/photos", Some(&manager), None).await?;
    let verified = photos.as_array().map_or(0, |p| p.iter().filter(|p| p["status"] == "verified").count());
    let (_, missing) = api.send("GET", "/v1/blobs/missing", Some(&manager), None).await?;
    let mut done = 0;
    for task in &tasks {
        let (_, task) = api.send("GET", &format!("/v1/tasks/{}", task.id), Some(&manager), None).await?;
        done += usize::from(task["status"] == "done");
    }
    println!(
        "\n3. The manager's view: {} check-ins and {} photo records ({verified} with verified signed receipts) from {} reps ({} photos still missing their bytes); {done} of {} tasks done",
        count(&check_ins),
        count(&photos),
        REPS.len(),
        count(&missing),
        tasks.len()
    );

    println!("\nDemo logins (org \"{ORG}\", password \"{PASSWORD}\"): manager, rep1, rep2, rep3");
    println!("Try: curl -s {}/healthz", server.url);
    if args.exit {
        return server.stop().await;
    }
    println!("Serving; press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    server.stop().await
}
