//! A year of a field-sales org, generated straight into the server's storage: users through
//! [`provision`], customers, products and settings with `put_record`, and the field's facts
//! (check-ins, check-outs, orders, a track batch per rep-day, day plans) with
//! `store_facts`, each derived as the sync route derives it (canonical body and its
//! SHA-256, event time, clock flag, the server's verdict computed with the domain's own
//! check-in rules, the location points carried).
//!
//! Pushing 300,000 visits through `POST /v1/sync` would take far longer than the reports
//! under test; going through the storage API writes the same rows in a few minutes. Every
//! value comes from a seeded generator (SplitMix64), so two runs with the same
//! [`YearSpec`] write the same figures (only the org's and users' ids, made by the server,
//! differ).
//!
//! The world: teams of reps, each team in its own district of Shanghai with its own
//! customers (graded A, B, C; each owned by a rep of the team); products in a few lines
//! priced per grade. On every working day (the org's working hours) each rep leaves home
//! around 09:00, visits customers (mostly their own) for 12–40 minutes each with an order
//! in about half of the visits, and goes home; the day's track is sampled evenly along that
//! path and stored as one batch. A few check-ins are out of range (with a stated reason) or
//! come from a phone with a skewed clock, so verdicts and compliance vary.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use fieldkit_domain::checkin::{
    CheckInInput, CheckInPolicy, CheckInTarget, Verdict, assess_check_in, assess_check_out,
};
use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::geo::{CivilDate, haversine_m};
use fieldkit_domain::ids::{CustomerId, FactId, ProductId, TaskId, TeamId, VisitId};
use fieldkit_domain::model::{
    CheckIn, CheckOut, Currency, Customer, DayPlan, Grade, LocationFix, LocationProvider, Money, Order,
    OrderLine, Org, OrgSettings, Place, PlanTrigger, PlannedStop, Product, Role, TrackBatch, TrackPoint,
    User, WgsPoint,
};
use fieldkit_domain::protocol::{Fact, Record};
use fieldkit_server::provision::{self, UserSpec};
use fieldkit_server::storage::{
    FactInsert, LocationPoint, NewFact, PointSource, ReceivedFact, ServerAssessment, Storage,
};
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::harness::PASSWORD;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_320.0;
/// The product lines.
const LINES: &[&str] = &["Tea", "Water", "Juice", "Soda", "Dairy", "Coffee", "Snacks", "Beer"];

/// What to generate.
#[derive(Debug, Clone)]
pub struct YearSpec {
    /// The org's slug.
    pub slug: String,
    /// Reps, spread evenly over the teams.
    pub reps: usize,
    /// Teams, each with one manager.
    pub teams: usize,
    /// Customers, spread evenly over the teams.
    pub customers: usize,
    /// Products on the price list.
    pub products: usize,
    /// Product lines the products belong to (at most 8).
    pub lines: usize,
    /// First day generated (local date).
    pub from: CivilDate,
    /// Last day generated (local date, included).
    pub to: CivilDate,
    /// Visits per rep and working day, on average.
    pub visits_per_day: f64,
    /// Share of visits with an order.
    pub order_share: f64,
    /// Minutes between track points while moving (a rep-day's batch then has a few dozen).
    pub track_every_min: i64,
    /// Whether each rep-day also has a day-plan fact (the morning plan).
    pub day_plans: bool,
    /// Seed of every random choice.
    pub seed: u64,
}

impl YearSpec {
    /// The benchmark's org: 200 reps in 10 teams, 3,000 customers, 50 products in 5 lines,
    /// the whole of 2025 with 5.75 visits per rep-day (about 300,000 visits) and orders in
    /// half of them (about 150,000), a track point every 4 minutes on the move.
    #[must_use]
    pub fn full() -> Self {
        Self {
            slug: "year".to_owned(),
            reps: 200,
            teams: 10,
            customers: 3_000,
            products: 50,
            lines: 5,
            from: CivilDate::new(2025, 1, 1).expect("a real date"),
            to: CivilDate::new(2025, 12, 31).expect("a real date"),
            visits_per_day: 5.75,
            order_share: 0.5,
            track_every_min: 4,
            day_plans: true,
            seed: 0x5eed_2025,
        }
    }

    /// A small org for a quick check: 20 reps in 2 teams, 300 customers, June 2025.
    #[must_use]
    pub fn quick() -> Self {
        Self {
            reps: 20,
            teams: 2,
            customers: 300,
            from: CivilDate::new(2025, 6, 1).expect("a real date"),
            to: CivilDate::new(2025, 6, 30).expect("a real date"),
            ..Self::full()
        }
    }
}

/// How much was generated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Working days in the period.
    pub working_days: usize,
    /// Rep-days with field work.
    pub rep_days: usize,
    /// Visits (a check-in and its check-out each).
    pub visits: usize,
    /// Check-ins the server's verdict did not accept (flagged or rejected).
    pub not_accepted: usize,
    /// Orders.
    pub orders: usize,
    /// Order lines.
    pub order_lines: usize,
    /// Order amounts, minor units of CNY.
    pub order_amount_minor: i64,
    /// Track batches.
    pub track_batches: usize,
    /// Track points (in batches).
    pub track_points: usize,
    /// Day plans.
    pub day_plans: usize,
    /// Facts stored.
    pub facts: usize,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.rep_days += other.rep_days;
        self.visits += other.visits;
        self.not_accepted += other.not_accepted;
        self.orders += other.orders;
        self.order_lines += other.order_lines;
        self.order_amount_minor += other.order_amount_minor;
        self.track_batches += other.track_batches;
        self.track_points += other.track_points;
        self.day_plans += other.day_plans;
        self.facts += other.facts;
    }
}

/// A team: its manager and reps.
#[derive(Debug, Clone)]
pub struct Team {
    /// The team.
    pub id: TeamId,
    /// Its manager.
    pub manager: User,
    /// Its reps.
    pub reps: Vec<User>,
}

/// The org as generated.
#[derive(Debug, Clone)]
pub struct YearOrg {
    /// The org.
    pub org: Org,
    /// Its admin (`admin`).
    pub admin: User,
    /// Its teams.
    pub teams: Vec<Team>,
    /// Its customers.
    pub customers: Vec<Customer>,
    /// Its products.
    pub products: Vec<Product>,
    /// Everything generated.
    pub totals: Counts,
    /// Per calendar month `(year, month)`.
    pub months: BTreeMap<(i32, u8), Counts>,
}

/// A SplitMix64 generator: small, fast, and the same sequence on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// A number in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// An index below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A time-ordered UUIDv7 for `ms` with random bits from this generator.
    pub fn uuid_at(&mut self, ms: i64) -> uuid::Uuid {
        let mut bytes = [0_u8; 10];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(u64::try_from(ms).unwrap_or(0), &bytes).into_uuid()
    }
}

/// `point` moved by `north_m` and `east_m` metres.
fn offset(point: WgsPoint, north_m: f64, east_m: f64) -> WgsPoint {
    let lat = point.lat() + north_m / M_PER_DEG;
    let lng = point.lng() + east_m / (M_PER_DEG * point.lat().to_radians().cos());
    WgsPoint::new(lat, lng).expect("generated points stay in Shanghai")
}

/// A point `metres` away from `point` in a random direction.
fn scatter(rng: &mut Rng, point: WgsPoint, metres: f64) -> WgsPoint {
    let angle = rng.range(0.0, std::f64::consts::TAU);
    offset(point, metres * angle.cos(), metres * angle.sin())
}

/// The centre of team `t`'s district: a grid of 2 rows over central Shanghai, 10 km apart.
fn district(t: usize) -> WgsPoint {
    let (row, col) = (t % 2, t / 2);
    WgsPoint::new(31.13 + row as f64 * 0.10, 121.25 + col as f64 * 0.10).expect("inside Shanghai")
}

fn event_time(rng: &mut Rng, device_ms: i64, node: u64, skewed: bool) -> EventTime {
    let skew = if skewed { 10 * MINUTE_MS } else { (rng.range(-2_000.0, 2_000.0)) as i64 };
    EventTime {
        device_ms,
        hlc: Hlc { wall_ms: u64::try_from(device_ms).unwrap_or(0), counter: 0, node },
        server_estimate_ms: Some(device_ms - skew),
    }
}

/// Creates the org, its users, settings, products and customers.
async fn provision_org(storage: &Arc<dyn Storage>, spec: &YearSpec, rng: &mut Rng) -> Result<YearOrg> {
    anyhow::ensure!(spec.teams > 0 && spec.reps >= spec.teams, "need at least one rep per team");
    anyhow::ensure!((1..=LINES.len()).contains(&spec.lines), "1 to {} product lines", LINES.len());
    anyhow::ensure!(spec.customers >= spec.reps && spec.products > 0, "need customers and products");
    let org = provision::create_org(storage.as_ref(), &spec.slug, "Year benchmark").await?;
    let start_ms = spec.from.to_days() * DAY_MS;

    // Keep the whole year of tracks: the default retention (30 days) would prune them at
    // server start.
    let settings = OrgSettings { track_retention_days: 3_650, ..OrgSettings::default() };
    storage.put_record(org.id, Record::OrgSettings(settings), None).await?;

    // Users: argon2id hashing dominates, so several at once.
    let team_ids: Vec<TeamId> = (0..spec.teams).map(|_| TeamId::from(rng.uuid_at(start_ms))).collect();
    let mut specs: Vec<(String, Role, Option<TeamId>)> = vec![("admin".to_owned(), Role::Admin, None)];
    specs.extend(
        team_ids.iter().enumerate().map(|(t, id)| (format!("manager{}", t + 1), Role::Manager, Some(*id))),
    );
    specs
        .extend((0..spec.reps).map(|r| (format!("rep{}", r + 1), Role::Rep, Some(team_ids[r % spec.teams]))));
    let mut hashing = JoinSet::new();
    for (i, (username, role, team_id)) in specs.into_iter().enumerate() {
        let storage = Arc::clone(storage);
        let org_id = org.id;
        hashing.spawn(async move {
            let spec = UserSpec {
                username: &username,
                display_name: &username,
                role,
                team_id,
                data_scope: None,
                password: PASSWORD,
            };
            provision::add_user(storage.as_ref(), org_id, spec).await.map(|u| (i, u))
        });
    }
    let mut users = Vec::new();
    while let Some(joined) = hashing.join_next().await {
        users.push(joined??);
    }
    users.sort_by_key(|(i, _)| *i);
    let mut users = users.into_iter().map(|(_, u)| u);
    let admin = users.next().context("the admin was created")?;
    let managers: Vec<User> = users.by_ref().take(spec.teams).collect();
    let reps: Vec<User> = users.collect();
    let teams: Vec<Team> = team_ids
        .iter()
        .zip(managers)
        .enumerate()
        .map(|(t, (id, manager))| Team {
            id: *id,
            manager,
            reps: reps.iter().skip(t).step_by(spec.teams).cloned().collect(),
        })
        .collect();

    let mut products = Vec::with_capacity(spec.products);
    for p in 0..spec.products {
        let list = 300 + 50 * rng.below(40) as i64;
        let product = Product {
            id: ProductId::from(rng.uuid_at(start_ms)),
            sku: format!("SKU-{p:03}"),
            name: format!("{} {}", LINES[p % spec.lines], p / spec.lines + 1),
            line: LINES[p % spec.lines].to_owned(),
            list_price: Money { minor: list, currency: Currency::CNY },
            grade_prices: [(Grade::A, list * 90 / 100), (Grade::B, list * 95 / 100)].into_iter().collect(),
            max_discount_pct: 10,
        };
        storage.put_record(org.id, Record::Product(product.clone()), None).await?;
        products.push(product);
    }

    let mut customers = Vec::with_capacity(spec.customers);
    for c in 0..spec.customers {
        let team = &teams[c % spec.teams];
        let owner = &team.reps[(c / spec.teams) % team.reps.len()];
        let grade = match rng.below(10) {
            0 | 1 => Grade::A,
            2..=4 => Grade::B,
            _ => Grade::C,
        };
        let centre = district(c % spec.teams);
        let customer = Customer {
            id: CustomerId::from(rng.uuid_at(start_ms)),
            name: format!("Shop {}", c + 1),
            place: Place {
                point: offset(centre, rng.range(-5_000.0, 5_000.0), rng.range(-5_000.0, 5_000.0)),
                address: String::new(),
            },
            grade,
            tags: Vec::new(),
            geofence_radius_m: None,
            owner_id: Some(owner.id),
        };
        storage.put_record(org.id, Record::Customer(customer.clone()), customer.owner_id).await?;
        customers.push(customer);
    }
    Ok(YearOrg { org, admin, teams, customers, products, totals: Counts::default(), months: BTreeMap::new() })
}

/// A fact as the sync route would store it.
fn received(fact: &Fact, assessment: Option<ServerAssessment>, max_skew_ms: i64) -> ReceivedFact {
    let body = serde_json::to_string(fact).expect("facts always serialize");
    let body_sha256 = hex::encode(Sha256::digest(body.as_bytes()));
    let clock_skew_ms = fact.at().and_then(|at| at.server_estimate_ms.map(|est| at.device_ms - est));
    let fix_point = |fix: &LocationFix, source, fact_id| LocationPoint {
        point: TrackPoint { point: fix.point, accuracy_m: fix.accuracy_m, time_ms: fix.fix_time_ms },
        source,
        fact_id,
    };
    let (points, event_ms) = match fact {
        Fact::Track(batch) => (
            batch
                .points
                .iter()
                .map(|p| LocationPoint { point: *p, source: PointSource::Track, fact_id: batch.id })
                .collect(),
            batch.points.iter().map(|p| p.time_ms).max(),
        ),
        Fact::CheckIn(c) => (vec![fix_point(&c.fix, PointSource::CheckIn, c.id)], Some(c.at.device_ms)),
        Fact::CheckOut(c) => (vec![fix_point(&c.fix, PointSource::CheckOut, c.id)], Some(c.at.device_ms)),
        other => (Vec::new(), other.at().map(|at| at.device_ms)),
    };
    ReceivedFact {
        fact: NewFact {
            id: fact.id(),
            kind: fact.kind(),
            rep_id: fact.rep_id(),
            body,
            body_sha256,
            clock_skew_ms,
        },
        clock_flagged: clock_skew_ms.is_some_and(|s| s.saturating_abs() > max_skew_ms),
        event_ms,
        server_assessment: assessment,
        points,
        photo: None,
    }
}

/// Where a rep is known to be at a time of the day (track points and fixes so far).
struct DayTrace(Vec<TrackPoint>);

impl DayTrace {
    /// The latest point strictly before `ms`, as the server's judge finds it.
    fn before(&self, ms: i64) -> Option<LocationFix> {
        self.0.iter().filter(|p| p.time_ms < ms).max_by_key(|p| p.time_ms).map(|p| LocationFix {
            point: p.point,
            accuracy_m: p.accuracy_m,
            fix_time_ms: p.time_ms,
            provider: LocationProvider::Other,
            is_mock: false,
        })
    }
}

/// The position along `waypoints` (time-ordered) at `ms`, linearly interpolated.
fn along(waypoints: &[(i64, WgsPoint)], ms: i64) -> WgsPoint {
    let i = waypoints.partition_point(|(t, _)| *t <= ms);
    if i == 0 {
        return waypoints[0].1;
    }
    if i == waypoints.len() {
        return waypoints[i - 1].1;
    }
    let ((t0, a), (t1, b)) = (waypoints[i - 1], waypoints[i]);
    let f = if t1 > t0 { (ms - t0) as f64 / (t1 - t0) as f64 } else { 0.0 };
    WgsPoint::new(a.lat() + (b.lat() - a.lat()) * f, a.lng() + (b.lng() - a.lng()) * f)
        .expect("between two points in Shanghai")
}

/// A rep as the generator sees them.
struct RepWorld<'a> {
    rep: User,
    /// Their phone's HLC node.
    node: u64,
    /// Where their day starts and ends.
    home: WgsPoint,
    /// The customers they own.
    owned: Vec<&'a Customer>,
    /// Their team's customers.
    pool: Vec<&'a Customer>,
}

/// One rep's working day: the facts in time order, and what they count.
fn rep_day(
    rng: &mut Rng,
    spec: &YearSpec,
    policy: &CheckInPolicy,
    world: &RepWorld<'_>,
    products: &[Product],
    day_start_ms: i64,
) -> (Vec<ReceivedFact>, Counts) {
    let RepWorld { rep, node, home, owned, pool } = world;
    let (node, home) = (*node, *home);
    let mut counts = Counts { rep_days: 1, ..Counts::default() };
    let whole = spec.visits_per_day.floor();
    let n = whole as usize + usize::from(rng.unit() < spec.visits_per_day - whole);
    // Local 09:00–17:45 (the day starts at local midnight).
    let leave_home = day_start_ms + 9 * 60 * MINUTE_MS + (rng.range(0.0, 20.0) * MINUTE_MS as f64) as i64;
    let day_end = day_start_ms + (17 * 60 + 45) * MINUTE_MS;
    let mut waypoints = vec![(leave_home, home)];
    let mut here = home;
    let mut now = leave_home;
    let mut visits: Vec<(&Customer, i64, i64)> = Vec::with_capacity(n);
    for _ in 0..n {
        let customer =
            if rng.unit() < 0.7 { owned[rng.below(owned.len())] } else { pool[rng.below(pool.len())] };
        let metres = haversine_m(here, customer.place.point);
        let arrive = now + (metres / 7.0 * 1_000.0) as i64 + (rng.range(3.0, 10.0) * MINUTE_MS as f64) as i64;
        let leave = arrive + (rng.range(12.0, 40.0) * MINUTE_MS as f64) as i64;
        if leave > day_end {
            break;
        }
        waypoints.push((arrive, customer.place.point));
        waypoints.push((leave, customer.place.point));
        visits.push((customer, arrive, leave));
        here = customer.place.point;
        now = leave;
    }
    let home_again = (now + (haversine_m(here, home) / 7.0 * 1_000.0) as i64).min(day_end);
    waypoints.push((home_again, home));

    // The track: a point every `track_every_min` while moving (so that mileage sees no
    // gaps), one at each arrival and departure, with GNSS noise.
    let every = spec.track_every_min.max(1) * MINUTE_MS;
    let mut times: Vec<i64> = Vec::new();
    for w in waypoints.windows(2) {
        let ((t0, a), (t1, b)) = (w[0], w[1]);
        times.push(t0);
        if a != b {
            times.extend((1..).map(|i| t0 + i * every).take_while(|t| *t < t1));
        }
    }
    times.push(home_again);
    times.dedup();
    let track: Vec<TrackPoint> = times
        .into_iter()
        .map(|t| TrackPoint {
            point: {
                let noise = rng.range(0.0, 8.0);
                scatter(rng, along(&waypoints, t), noise)
            },
            accuracy_m: rng.range(5.0, 25.0),
            time_ms: t,
        })
        .collect();
    let mut trace = DayTrace(track.clone());
    let mut facts = Vec::with_capacity(3 * visits.len() + 2);

    if spec.day_plans {
        let plan = DayPlan {
            id: FactId::from(rng.uuid_at(leave_home - 30 * MINUTE_MS)),
            rep_id: rep.id,
            date: CivilDate::from_days(day_start_ms.div_euclid(DAY_MS)),
            stops: visits
                .iter()
                .map(|(c, arrive, leave)| PlannedStop {
                    task_id: TaskId::from(rng.uuid_at(*arrive)),
                    customer_id: Some(c.id),
                    arrive_ms: *arrive,
                    depart_ms: *leave,
                })
                .collect(),
            unplanned: Vec::new(),
            distance_m: waypoints.windows(2).map(|w| haversine_m(w[0].1, w[1].1)).sum(),
            proven_optimal: visits.len() <= 13,
            trigger: PlanTrigger::Requested,
            at: event_time(rng, leave_home - 30 * MINUTE_MS, node, false),
        };
        facts.push(received(&Fact::DayPlan(plan), None, policy.max_clock_skew_ms));
        counts.day_plans += 1;
    }

    for (customer, arrive, leave) in visits {
        let target = CheckInTarget::of_customer(customer);
        let visit_id = VisitId::from(rng.uuid_at(arrive));
        let out_of_range = rng.unit() < 0.04;
        let skewed = rng.unit() < 0.005;
        let distance = if out_of_range { rng.range(250.0, 450.0) } else { rng.range(5.0, 60.0) };
        let fix = |rng: &mut Rng, at: i64, metres: f64| LocationFix {
            point: scatter(rng, customer.place.point, metres),
            accuracy_m: rng.range(8.0, 25.0),
            fix_time_ms: at - (rng.range(1.0, 5.0) * 1_000.0) as i64,
            provider: LocationProvider::Gnss,
            is_mock: false,
        };
        let check_in_at = arrive + MINUTE_MS;
        let mut check_in = CheckIn {
            id: FactId::from(rng.uuid_at(check_in_at)),
            visit_id,
            customer_id: customer.id,
            task_id: None,
            rep_id: rep.id,
            fix: fix(rng, check_in_at, distance),
            at: event_time(rng, check_in_at, node, skewed),
            note: out_of_range.then(|| "the entrance is across the road".to_owned()),
            assessment: None,
        };
        let verdict = assess_check_in(
            &CheckInInput::from_check_in(&check_in, target, trace.before(check_in.fix.fix_time_ms)),
            policy,
        );
        check_in.assessment = verdict.as_ref().ok().cloned();
        let judged = match verdict {
            Ok(a) => ServerAssessment::Judged(a),
            Err(e) => ServerAssessment::Unjudged { unjudged: e.to_string() },
        };
        if !matches!(&judged, ServerAssessment::Judged(a) if a.verdict == Verdict::Accepted) {
            counts.not_accepted += 1;
        }
        trace.0.push(TrackPoint {
            point: check_in.fix.point,
            accuracy_m: check_in.fix.accuracy_m,
            time_ms: check_in.fix.fix_time_ms,
        });
        facts.push(received(&Fact::CheckIn(check_in.clone()), Some(judged), policy.max_clock_skew_ms));
        counts.visits += 1;

        if rng.unit() < spec.order_share {
            let at = leave - 3 * MINUTE_MS;
            let mut lines: Vec<OrderLine> = Vec::new();
            for _ in 0..1 + rng.below(5) {
                let product = &products[rng.below(products.len())];
                if lines.iter().any(|l| l.product_id == product.id) {
                    continue;
                }
                let quantity = 1 + rng.below(48) as u32;
                let unit = product.unit_price_minor(customer.grade);
                let gross = i64::from(quantity) * unit;
                let discount = if rng.unit() < 0.2 { gross * rng.below(6) as i64 / 100 } else { 0 };
                lines.push(OrderLine {
                    product_id: product.id,
                    quantity,
                    unit_price_minor: unit,
                    discount_minor: discount,
                });
            }
            let total_minor =
                lines.iter().map(|l| i64::from(l.quantity) * l.unit_price_minor - l.discount_minor).sum();
            counts.orders += 1;
            counts.order_lines += lines.len();
            counts.order_amount_minor += total_minor;
            let order = Order {
                id: FactId::from(rng.uuid_at(at)),
                customer_id: customer.id,
                visit_id: Some(visit_id),
                rep_id: rep.id,
                currency: Currency::CNY,
                lines,
                amends: None,
                discount_approval: None,
                total_minor,
                at: event_time(rng, at, node, skewed),
            };
            facts.push(received(&Fact::Order(order), None, policy.max_clock_skew_ms));
        }

        let mut check_out = CheckOut {
            id: FactId::from(rng.uuid_at(leave)),
            visit_id,
            customer_id: customer.id,
            rep_id: rep.id,
            fix: {
                let metres = rng.range(5.0, 60.0);
                fix(rng, leave, metres)
            },
            at: event_time(rng, leave, node, skewed),
            automatic: false,
            assessment: None,
            sop_missing: Vec::new(),
        };
        let verdict = assess_check_out(
            &CheckInInput::from_check_out(&check_out, target, trace.before(check_out.fix.fix_time_ms)),
            policy,
        );
        check_out.assessment = verdict.as_ref().ok().cloned();
        let judged = match verdict {
            Ok(a) => ServerAssessment::Judged(a),
            Err(e) => ServerAssessment::Unjudged { unjudged: e.to_string() },
        };
        trace.0.push(TrackPoint {
            point: check_out.fix.point,
            accuracy_m: check_out.fix.accuracy_m,
            time_ms: check_out.fix.fix_time_ms,
        });
        facts.push(received(&Fact::CheckOut(check_out), Some(judged), policy.max_clock_skew_ms));
    }

    counts.track_batches += 1;
    counts.track_points += track.len();
    let batch = TrackBatch { id: FactId::from(rng.uuid_at(home_again)), rep_id: rep.id, points: track };
    facts.push(received(&Fact::Track(batch), None, policy.max_clock_skew_ms));
    counts.facts += facts.len();
    (facts, counts)
}

/// Generates the org of `spec` into `storage`, one transaction per day (the next day is
/// generated while the previous one is written). Logs progress to stderr.
pub async fn generate(storage: Arc<dyn Storage>, spec: &YearSpec) -> Result<YearOrg> {
    let mut rng = Rng::new(spec.seed);
    let mut year = provision_org(&storage, spec, &mut rng).await?;
    eprintln!(
        "provisioned {} users, {} customers, {} products",
        1 + spec.teams + spec.reps,
        year.customers.len(),
        year.products.len()
    );
    let settings = storage.org_settings(year.org.id).await?;
    let policy = settings.check_in.clone();
    let hours = settings.working_hours.clone();
    let offset_ms = i64::from(hours.offset.minutes()) * MINUTE_MS;

    // Each rep's home, own customers and team's customers.
    let customers = year.customers.clone();
    let mut world = Vec::with_capacity(spec.reps);
    for (t, team) in year.teams.iter().enumerate() {
        let pool: Vec<&Customer> = customers.iter().skip(t).step_by(spec.teams).collect();
        for rep in &team.reps {
            let owned: Vec<&Customer> = pool.iter().copied().filter(|c| c.owner_id == Some(rep.id)).collect();
            anyhow::ensure!(!owned.is_empty(), "every rep owns a customer");
            world.push(RepWorld {
                rep: rep.clone(),
                node: rng.next_u64(),
                home: offset(district(t), rng.range(-4_000.0, 4_000.0), rng.range(-4_000.0, 4_000.0)),
                owned,
                pool: pool.clone(),
            });
        }
    }

    let mut pending: Option<tokio::task::JoinHandle<Result<Vec<FactInsert>, _>>> = None;
    let mut day = spec.from;
    let started = std::time::Instant::now();
    let mut months_logged = 0;
    while day.to_days() <= spec.to.to_days() {
        // Local midnight of `day`, in UTC milliseconds.
        let day_start_ms = day.to_days() * DAY_MS - offset_ms;
        if hours.is_working_day(day) {
            let mut facts = Vec::new();
            let mut counts = Counts::default();
            for r in &world {
                let (day_facts, c) = rep_day(&mut rng, spec, &policy, r, &year.products, day_start_ms);
                facts.extend(day_facts);
                counts.add(&c);
            }
            if let Some(previous) = pending.take() {
                check_stored(previous.await??)?;
            }
            let s = Arc::clone(&storage);
            let org = year.org.id;
            let received_ms = day_start_ms + 20 * 60 * MINUTE_MS;
            pending = Some(tokio::spawn(async move { s.store_facts(org, facts, received_ms).await }));
            year.totals.add(&counts);
            year.totals.working_days += 1;
            let month = year.months.entry((day.year(), day.month())).or_default();
            month.add(&counts);
            month.working_days += 1;
            if year.months.len() != months_logged {
                months_logged = year.months.len();
                eprintln!(
                    "  {:04}-{:02}: {} visits so far, {:.1} s",
                    day.year(),
                    day.month(),
                    year.totals.visits,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        day = CivilDate::from_days(day.to_days() + 1);
    }
    if let Some(previous) = pending.take() {
        check_stored(previous.await??)?;
    }
    Ok(year)
}

fn check_stored(inserts: Vec<FactInsert>) -> Result<()> {
    match inserts.iter().find(|i| !matches!(i, FactInsert::Stored(_))) {
        Some(other) => anyhow::bail!("a generated fact was not stored: {other:?}"),
        None => Ok(()),
    }
}
