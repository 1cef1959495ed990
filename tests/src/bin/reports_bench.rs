//! The manager's side at scale: a year of a 200-rep org (about 300,000 visits, 150,000
//! orders, a track per rep-day) generated straight into a server data folder through the
//! storage API (see `fieldkit_e2e::year_data`), then the real server started on loopback
//! over it and timed over HTTP:
//!
//! - `GET /v1/reports/summary` for one month, as the admin (every rep) and as a team's
//!   manager (their team);
//! - `GET /v1/reports/leaderboard` for the same month, as the admin and as that manager;
//! - `GET /v1/tasks/{id}/candidates` (smart assignment), as the admin (ranking every rep)
//!   and as a manager (their team);
//! - the summary for the whole year (the longest period the route accepts).
//!
//! ```text
//! cargo run --release -p fieldkit-e2e --bin reports-bench -- [--repetitions 20 --year-repetitions 5]
//! cargo run -p fieldkit-e2e --bin reports-bench -- --quick      # 20 reps, June 2025
//! ```
//!
//! Each request runs once to warm up, then `--repetitions` times; the table gives the
//! median, p90, p99 and max of the wall-clock time of the HTTP call (client included). Then
//! the month and year summaries are taken apart on the server's storage (`--breakdown`,
//! default on): the same storage reads and the same `report_kit::summary` the route runs,
//! each timed, to show what dominates. Results are in BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use fieldkit_domain::checkin::Verdict;
use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{TaskId, UserId};
use fieldkit_domain::model::{Role, TrackPoint};
use fieldkit_domain::protocol::Fact;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer};
use fieldkit_e2e::year_data::{self, Rng, YearOrg, YearSpec};
use fieldkit_server::Limits;
use fieldkit_server::report_kit::{self, JudgedCheckIn, RepInfo, ServerVerdict, SummaryInput};
use fieldkit_server::storage::{
    FactFilter, FactQuery, PointSource, ServerAssessment, SqliteStorage, Storage,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;

#[derive(Parser, Debug, Clone)]
#[command(about = "Times the manager's reports and smart assignment over a generated year")]
struct Args {
    /// A small run: 20 reps in 2 teams, 300 customers, June 2025 only (well under a minute).
    #[arg(long)]
    quick: bool,
    /// Timed runs of each month request and each ranking (after one warm-up run).
    #[arg(long)]
    repetitions: Option<usize>,
    /// Timed runs of each whole-year request (after one warm-up run).
    #[arg(long)]
    year_repetitions: Option<usize>,
    /// The month reported, YYYY-MM (default: June 2025, inside both sizes' data).
    #[arg(long, default_value = "2025-06")]
    month: String,
    /// Tasks ranked by smart assignment (each ranked in turn).
    #[arg(long, default_value_t = 10)]
    ranked_tasks: usize,
    /// Keep the generated server data here (a new folder); default: a temp folder, removed.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Skip the server-side breakdown of the summaries.
    #[arg(long)]
    no_breakdown: bool,
}

/// One timed request: its times in milliseconds and the size of its answer.
struct Timed {
    label: String,
    scope: String,
    times: Vec<f64>,
    answer_bytes: usize,
}

impl Timed {
    fn pick(&self, q: f64) -> f64 {
        let mut t = self.times.clone();
        t.sort_by(f64::total_cmp);
        t[((t.len() - 1) as f64 * q).round() as usize]
    }
}

/// The whole run's figures (what the test checks).
struct Outcome {
    year: YearOrg,
    timed: Vec<Timed>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let outcome = runtime.block_on(run(args))?;
    eprintln!(
        "done: {} timed requests over {} generated visits",
        outcome.timed.iter().map(|t| t.times.len()).sum::<usize>(),
        outcome.year.totals.visits
    );
    Ok(())
}

async fn run(args: Args) -> Result<Outcome> {
    let spec = if args.quick { YearSpec::quick() } else { YearSpec::full() };
    let repetitions = args.repetitions.unwrap_or(if args.quick { 3 } else { 20 }).max(1);
    let year_repetitions = args.year_repetitions.unwrap_or(if args.quick { 1 } else { 5 }).max(1);
    let (month_from, month_to) = month_bounds(&args.month)?;

    let temp = tempfile::tempdir()?;
    let dir = match &args.data_dir {
        Some(dir) => {
            anyhow::ensure!(
                !fieldkit_server::config::database_path(dir).exists(),
                "{} already holds a database; give a new folder",
                dir.display()
            );
            dir.clone()
        }
        None => temp.path().to_owned(),
    };
    std::fs::create_dir_all(&dir)?;
    let db_path = fieldkit_server::config::database_path(&dir);

    // 1. Generate.
    let started = Instant::now();
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&db_path)?);
    let year = year_data::generate(Arc::clone(&storage), &spec).await?;
    drop(storage);
    let generation_s = started.elapsed().as_secs_f64();
    let sizes = database_sizes(&db_path)?;
    let t = &year.totals;
    println!("## Generated ({})", if args.quick { "--quick" } else { "full" });
    println!();
    println!("| what | figure |");
    println!("|---|---:|");
    println!(
        "| reps / teams / customers / products | {} / {} / {} / {} |",
        spec.reps, spec.teams, spec.customers, spec.products
    );
    println!(
        "| period | {} to {} ({} working days, {} rep-days) |",
        spec.from, spec.to, t.working_days, t.rep_days
    );
    println!(
        "| visits (check-in + check-out) | {} ({} not accepted by the server) |",
        t.visits, t.not_accepted
    );
    println!("| orders / lines | {} / {} |", t.orders, t.order_lines);
    println!("| track batches / points | {} / {} |", t.track_batches, t.track_points);
    println!("| day plans | {} |", t.day_plans);
    println!("| facts stored | {} |", t.facts);
    println!("| location points stored (tracks + fixes) | {} |", sizes.points);
    println!("| generation time (provisioning included) | {generation_s:.1} s |");
    println!("| database size (after a WAL checkpoint) | {:.1} MiB |", sizes.bytes as f64 / 1_048_576.0);
    println!();

    // 2. Serve it.
    let server = TestServer::start_in_sqlite(&dir, "127.0.0.1:0", Limits::default()).await?;
    let api = Api::new(&server.url);
    let admin = api.login(&spec.slug, "admin", PASSWORD).await?;
    let team = &year.teams[0];
    let manager = api.login(&spec.slug, &team.manager.username, PASSWORD).await?;
    let ranked = make_tasks(&api, &admin, &year, args.ranked_tasks).await?;

    // 3. Time.
    let month = format!("from={}&to={}", month_from, month_to);
    let whole_year = "from=2025-01-01&to=2025-12-31";
    let all = format!("{} reps", spec.reps);
    let mine = format!("team of {} reps", team.reps.len());
    let mut timed = Vec::new();
    let month_counts = year.months.get(&(month_from.year(), month_from.month())).copied().unwrap_or_default();

    let summary = time_get(&api, &admin, &format!("/v1/reports/summary?{month}"), repetitions).await?;
    check_summary(&summary.1, spec.reps, &month_counts)?;
    timed.push(Timed { label: "summary, one month".into(), scope: format!("admin, {all}"), ..summary.0 });

    let summary = time_get(&api, &manager, &format!("/v1/reports/summary?{month}"), repetitions).await?;
    anyhow::ensure!(summary.1["reps"].as_array().map(Vec::len) == Some(team.reps.len()), "team rows");
    timed.push(Timed { label: "summary, one month".into(), scope: format!("manager, {mine}"), ..summary.0 });

    let board =
        time_get(&api, &admin, &format!("/v1/reports/leaderboard?{month}&metric=orders_amount"), repetitions)
            .await?;
    anyhow::ensure!(board.1["standings"].as_array().map(Vec::len) == Some(spec.reps), "a standing per rep");
    timed.push(Timed { label: "leaderboard, one month".into(), scope: format!("admin, {all}"), ..board.0 });

    let board = time_get(
        &api,
        &manager,
        &format!("/v1/reports/leaderboard?{month}&metric=orders_amount"),
        repetitions,
    )
    .await?;
    timed.push(Timed {
        label: "leaderboard, one month".into(),
        scope: format!("manager, {mine}"),
        ..board.0
    });

    for (token, scope, reps) in [
        (&admin, format!("admin, {all}"), spec.reps),
        (&manager, format!("manager, {mine}"), team.reps.len()),
    ] {
        let mut runs = Timed {
            label: "smart assignment (candidates)".into(),
            scope,
            times: Vec::new(),
            answer_bytes: 0,
        };
        for (i, task) in ranked.iter().enumerate() {
            let path = format!("/v1/tasks/{task}/candidates?limit=50");
            let (t, answer) = time_get(&api, token, &path, repetitions.div_ceil(ranked.len()).max(1)).await?;
            anyhow::ensure!(
                answer.as_array().map(Vec::len) == Some(reps.min(50)),
                "every rep ranked: {answer}"
            );
            if i == 0 {
                runs.answer_bytes = t.answer_bytes;
            }
            runs.times.extend(t.times);
        }
        timed.push(runs);
    }

    let summary =
        time_get(&api, &admin, &format!("/v1/reports/summary?{whole_year}"), year_repetitions).await?;
    check_summary(&summary.1, spec.reps, &year.totals)?;
    timed.push(Timed { label: "summary, whole year".into(), scope: format!("admin, {all}"), ..summary.0 });

    let summary =
        time_get(&api, &manager, &format!("/v1/reports/summary?{whole_year}"), year_repetitions).await?;
    timed.push(Timed { label: "summary, whole year".into(), scope: format!("manager, {mine}"), ..summary.0 });

    println!(
        "## Timed over HTTP ({repetitions} runs per month request and ranking, {year_repetitions} per year request; one warm-up each)"
    );
    println!();
    println!("| request | caller | runs | median | p90 | p99 | max | answer |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for t in &timed {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} KiB |",
            t.label,
            t.scope,
            t.times.len(),
            ms(t.pick(0.5)),
            ms(t.pick(0.9)),
            ms(t.pick(0.99)),
            ms(t.pick(1.0)),
            t.answer_bytes as f64 / 1024.0
        );
    }
    println!();

    if !args.no_breakdown {
        println!("## Where the summary's time goes (the route's steps on the server's storage, admin scope)");
        println!();
        println!("| period | step | time | rows |");
        println!("|---|---|---:|---:|");
        let storage: Arc<dyn Storage> = server.storage.clone();
        breakdown(&storage, &year, "one month", month_from, month_to).await?;
        breakdown(&storage, &year, "whole year", CivilDate::new(2025, 1, 1)?, CivilDate::new(2025, 12, 31)?)
            .await?;
        println!();
        println!("## Where smart assignment's time goes (the route's reads, admin scope)");
        println!();
        println!("| step | time | rows |");
        println!("|---|---:|---:|");
        assignment_breakdown(&storage, &year).await?;
        println!();
    }
    server.stop().await?;
    Ok(Outcome { year, timed })
}

fn ms(v: f64) -> String {
    if v >= 1000.0 { format!("{:.2} s", v / 1000.0) } else { format!("{v:.1} ms") }
}

/// The first and last day of `YYYY-MM`.
fn month_bounds(text: &str) -> Result<(CivilDate, CivilDate)> {
    let (y, m) = text.split_once('-').context("month is YYYY-MM")?;
    let (y, m): (i32, u8) = (y.parse()?, m.parse()?);
    let first = CivilDate::new(y, m, 1)?;
    let next = if m == 12 { CivilDate::new(y + 1, 1, 1)? } else { CivilDate::new(y, m + 1, 1)? };
    Ok((first, CivilDate::from_days(next.to_days() - 1)))
}

/// One GET: one warm-up, then `runs` timed calls; fails unless each answers 200.
async fn time_get(api: &Api, token: &str, path: &str, runs: usize) -> Result<(Timed, Value)> {
    let (status, answer) = api.send("GET", path, Some(token), None).await?;
    anyhow::ensure!(status == StatusCode::OK, "{path}: {status} {answer}");
    let answer_bytes = serde_json::to_vec(&answer)?.len();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let (status, _) = api.send("GET", path, Some(token), None).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(status == StatusCode::OK, "{path}: {status}");
    }
    Ok((Timed { label: String::new(), scope: String::new(), times, answer_bytes }, answer))
}

/// The summary counts exactly what was generated for its period.
fn check_summary(answer: &Value, reps: usize, counts: &year_data::Counts) -> Result<()> {
    let totals = &answer["totals"];
    let got = |k: &str| totals[k].as_u64().unwrap_or(u64::MAX) as usize;
    anyhow::ensure!(answer["reps"].as_array().map(Vec::len) == Some(reps), "a row per rep");
    anyhow::ensure!(
        got("visits") == counts.visits,
        "visits: {} reported, {} generated",
        got("visits"),
        counts.visits
    );
    anyhow::ensure!(
        got("orders") == counts.orders,
        "orders: {} reported, {} generated",
        got("orders"),
        counts.orders
    );
    anyhow::ensure!(
        got("accepted") == counts.visits - counts.not_accepted,
        "accepted: {} reported, {} generated",
        got("accepted"),
        counts.visits - counts.not_accepted
    );
    let amount = totals["order_amounts"][0]["minor"].as_i64();
    anyhow::ensure!(
        amount == Some(counts.order_amount_minor),
        "amount {amount:?} vs {}",
        counts.order_amount_minor
    );
    anyhow::ensure!(totals["distance_m"].as_i64().is_some_and(|d| d > 0), "some distance travelled");
    Ok(())
}

/// Each rep gets an open task due today and an undated one (their load), and
/// `ranked` unassigned visits at customers of the first team are made to rank.
async fn make_tasks(api: &Api, admin: &str, year: &YearOrg, ranked: usize) -> Result<Vec<TaskId>> {
    let mut rng = Rng::new(0x7a5c);
    let today_end = fieldkit_server::now_ms() + 60 * 60 * 1000;
    for team in &year.teams {
        for rep in &team.reps {
            let customer = &year.customers[rng.below(year.customers.len())];
            for deadline in [Some(today_end), None] {
                let body = json!({ "kind": "customer_visit", "title": "restock", "customer_id": customer.id,
                                   "assignee_id": rep.id, "deadline_ms": deadline });
                let (status, answer) = api.send("POST", "/v1/tasks", Some(admin), Some(&body)).await?;
                anyhow::ensure!(status.is_success(), "task: {status} {answer}");
            }
        }
    }
    let team_customers: Vec<_> = year.customers.iter().step_by(year.teams.len()).collect();
    let mut ids = Vec::with_capacity(ranked);
    for _ in 0..ranked.max(1) {
        let customer = team_customers[rng.below(team_customers.len())];
        let body = json!({ "kind": "customer_visit", "title": "new listing", "customer_id": customer.id });
        let (status, answer) = api.send("POST", "/v1/tasks", Some(admin), Some(&body)).await?;
        anyhow::ensure!(status.is_success(), "task: {status} {answer}");
        ids.push(serde_json::from_value(answer["id"].clone())?);
    }
    Ok(ids)
}

/// Sizes of the generated database.
struct Sizes {
    bytes: u64,
    points: u64,
}

fn database_sizes(db_path: &Path) -> Result<Sizes> {
    let conn = rusqlite::Connection::open(db_path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let points: i64 = conn.query_row("SELECT count(*) FROM track_points", [], |r| r.get(0))?;
    drop(conn);
    let mut bytes = std::fs::metadata(db_path)?.len();
    for suffix in ["-wal", "-shm"] {
        let mut p = db_path.as_os_str().to_owned();
        p.push(suffix);
        bytes += std::fs::metadata(PathBuf::from(p)).map(|m| m.len()).unwrap_or(0);
    }
    Ok(Sizes { bytes, points: u64::try_from(points)? })
}

/// The admin summary of `from..=to`, step by step as `routes/team_reports.rs` runs it, each
/// step timed.
async fn breakdown(
    storage: &Arc<dyn Storage>,
    year: &YearOrg,
    period: &str,
    from: CivilDate,
    to: CivilDate,
) -> Result<()> {
    let org = year.org.id;
    let settings = storage.org_settings(org).await?;
    let offset_ms = i64::from(settings.working_hours.offset.minutes()) * 60_000;
    let (start_ms, end_ms) = (from.to_days() * DAY_MS - offset_ms, (to.to_days() + 1) * DAY_MS - offset_ms);
    let row = |step: &str, t: Instant, rows: usize| {
        println!("| {period} | {step} | {} | {rows} |", ms(t.elapsed().as_secs_f64() * 1000.0));
    };
    let select = |kind: &str, until: i64| FactQuery {
        filter: FactFilter { kind: Some(kind.to_owned()), rep_ids: None },
        flagged: None,
        event_from_ms: Some(start_ms),
        event_until_ms: Some(until),
    };

    let t = Instant::now();
    let stored = storage.select_facts(org, select("check_in", end_ms)).await?;
    row("select check-ins (SQL)", t, stored.len());
    let t = Instant::now();
    let mut check_ins = Vec::with_capacity(stored.len());
    for f in &stored {
        if let Fact::CheckIn(check_in) = serde_json::from_str(&f.body)? {
            let outcome = match &f.server_assessment {
                Some(ServerAssessment::Judged(a)) => Some(match a.verdict {
                    Verdict::Accepted => "accepted",
                    Verdict::Flagged { .. } => "flagged",
                    Verdict::Rejected { .. } => "rejected",
                }),
                _ => None,
            };
            check_ins.push(JudgedCheckIn { check_in, verdict: ServerVerdict::from_outcome(outcome) });
        }
    }
    row("parse check-ins (JSON)", t, check_ins.len());

    let t = Instant::now();
    let stored = storage.select_facts(org, select("check_out", end_ms + DAY_MS)).await?;
    row("select check-outs (SQL)", t, stored.len());
    let t = Instant::now();
    let check_outs: Vec<_> = stored
        .iter()
        .filter_map(|f| match serde_json::from_str(&f.body) {
            Ok(Fact::CheckOut(c)) => Some(c),
            _ => None,
        })
        .collect();
    row("parse check-outs (JSON)", t, check_outs.len());

    let t = Instant::now();
    let stored = storage.select_facts(org, select("order", end_ms)).await?;
    row("select orders (SQL)", t, stored.len());
    let t = Instant::now();
    let orders: Vec<_> = stored
        .iter()
        .filter_map(|f| match serde_json::from_str(&f.body) {
            Ok(Fact::Order(o)) => Some(o),
            _ => None,
        })
        .collect();
    row("parse orders (JSON)", t, orders.len());

    let t = Instant::now();
    let reps: Vec<RepInfo> = storage
        .users(org)
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Rep)
        .map(|u| RepInfo { id: u.id, name: u.display_name })
        .collect();
    let mut tracks: std::collections::HashMap<UserId, Vec<TrackPoint>> = std::collections::HashMap::new();
    let mut points = 0;
    for rep in &reps {
        let found = storage.location_points(org, rep.id, start_ms, end_ms, Some(PointSource::Track)).await?;
        points += found.len();
        tracks.insert(rep.id, found.into_iter().map(|p| p.point).collect());
    }
    row("track points, one query per rep (SQL)", t, points);

    let input = SummaryInput {
        reps,
        check_ins,
        check_outs,
        tracks,
        orders,
        new_customers: Vec::new(),
        track_filter: settings.track_filter,
        offset: settings.working_hours.offset,
    };
    let t = Instant::now();
    let summary = report_kit::summary(&input);
    row("report_kit::summary (visits, filter + mileage, orders)", t, summary.reps.len());
    Ok(())
}

/// The reads `routes/assign.rs` makes to rank every rep of the org for one task, each timed.
async fn assignment_breakdown(storage: &Arc<dyn Storage>, year: &YearOrg) -> Result<()> {
    let org = year.org.id;
    let row = |step: &str, t: Instant, rows: usize| {
        println!("| {step} | {} | {rows} |", ms(t.elapsed().as_secs_f64() * 1000.0));
    };
    let t = Instant::now();
    let reps: Vec<UserId> =
        storage.users(org).await?.into_iter().filter(|u| u.role == Role::Rep).map(|u| u.id).collect();
    row("users", t, reps.len());
    let t = Instant::now();
    let customers = storage.customers(org).await?;
    row("customers (records, JSON)", t, customers.len());
    let t = Instant::now();
    let tasks = storage.assigned_tasks(org, reps.clone()).await?;
    row("assigned tasks, one query per rep", t, tasks.len());
    let t = Instant::now();
    // As the route: plans made from a week before today on (the generated year is in the
    // past, so none is today's; the route reads as few).
    let query = FactQuery {
        filter: FactFilter { kind: Some("day_plan".to_owned()), rep_ids: Some(reps.clone()) },
        event_from_ms: Some(fieldkit_server::now_ms() - 8 * 86_400_000),
        ..FactQuery::default()
    };
    let plans = storage.select_facts(org, query).await?;
    row("select the reps' day plans of the last week (SQL)", t, plans.len());
    let t = Instant::now();
    let parsed =
        plans.iter().filter(|f| matches!(serde_json::from_str(&f.body), Ok(Fact::DayPlan(_)))).count();
    row("parse those day plans (JSON) to find today's", t, parsed);
    let t = Instant::now();
    let now = fieldkit_server::now_ms();
    for rep in &reps {
        storage.latest_point_before(org, *rep, now).await?;
    }
    row("latest point, one query per rep", t, reps.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_mode_generates_a_month_and_times_every_report_over_http() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let args =
            Args::parse_from(["reports-bench", "--quick", "--repetitions", "1", "--ranked-tasks", "2"]);
        let outcome = runtime.block_on(run(args)).expect("the quick run completes");
        assert_eq!(outcome.year.teams.len(), 2);
        assert!(outcome.year.totals.visits > 2_000, "about 20 reps × 21 days × 5.75 visits");
        assert!(outcome.year.totals.orders > 800);
        assert_eq!(outcome.timed.len(), 8);
        assert_eq!(outcome.year.months.len(), 1, "June only");
        assert!(outcome.timed.iter().all(|t| !t.times.is_empty()));
    }
}
