//! `route-bench`: the day-route solver on TSPLIB instances and on random field days.
//!
//! ```text
//! route-bench FILE.tsp…                 one line per instance: NAME LENGTH MILLISECONDS PROVEN_OPTIMAL
//! route-bench --field                   random field days (5–15 stops, with and without windows)
//!                                       and a 100-stop day with windows, checked against exact optima
//! route-bench --generate DIR            writes those instances (VRPLIB text) and DIR/OPTIMA.txt,
//!                                       so that other solvers read identical input
//! ```
//!
//! Files are TSPLIB (`EUC_2D`, `CEIL_2D`, `ATT`, `GEO`, `MAN_2D`, `MAX_2D`, `EXPLICIT` in every
//! matrix layout) with the VRPLIB sections `SERVICE_TIME_SECTION`, `TIME_WINDOW_SECTION` and
//! `DEPOT_SECTION` for field days. Node 1 (or the depot) is where the route starts and ends;
//! travel time equals the matrix entry, as in Solomon's instances. A route that leaves stops
//! out gets a fifth field, `unserved=K`. Lines starting with `#` are comments.
//!
//! Up to `--exact-limit` stops the exact solver answers (proven optimal); above it the local
//! search runs for `--budget-ms`. Run by hand (`bench/route/run`), never by the test command.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use fieldkit_domain::model::WgsPoint;
use fieldkit_domain::route::{
    Iterations, MAX_EXACT_STOPS, Matrix, OfflineModel, Problem, SeededRng, Solution, Stop, TravelMatrices,
    TravelMode, solve_exact, solve_heuristic,
};

/// Route planning benchmark on TSPLIB files and random field days.
#[derive(Debug, Parser)]
struct Args {
    /// TSPLIB / VRPLIB files to solve.
    files: Vec<PathBuf>,
    /// Time budget of the local search per instance, in milliseconds.
    #[arg(long, default_value_t = 500)]
    budget_ms: u64,
    /// Largest number of stops solved exactly (at most 16); larger days use the local search.
    #[arg(long, default_value_t = 13)]
    exact_limit: usize,
    /// Seed of the local search.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Runs per instance: lines show the median length and the median time.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Solve the random field days in memory and compare with their exact optima.
    #[arg(long)]
    field: bool,
    /// Write the random field days and their exact optima (OPTIMA.txt) to this folder.
    #[arg(long, value_name = "DIR")]
    generate: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.exact_limit <= MAX_EXACT_STOPS, "--exact-limit is at most {MAX_EXACT_STOPS}");
    ensure!(args.runs >= 1, "--runs must be at least 1");
    if let Some(dir) = &args.generate {
        return generate(dir);
    }
    if args.field {
        return field(&args);
    }
    ensure!(!args.files.is_empty(), "give TSPLIB files, --field or --generate DIR (see --help)");
    for path in &args.files {
        let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let instance = Instance::parse(&text).with_context(|| format!("parsing {}", path.display()))?;
        let outcome = run(&instance, &args)?;
        println!("{}", outcome.line(&instance.name));
        if let Some(first) = outcome.first_feasible_ms {
            println!("# {}: first feasible route after {first:.1} ms", instance.name);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Instances

/// A TSPLIB / VRPLIB instance, 0-based.
#[derive(Debug, Clone)]
struct Instance {
    name: String,
    /// Row-major integer matrix, `n × n`.
    matrix: Vec<f64>,
    n: usize,
    depot: usize,
    service: Vec<f64>,
    windows: Vec<Option<(f64, f64)>>,
}

impl Instance {
    fn parse(text: &str) -> Result<Self> {
        let mut header: BTreeMap<String, String> = BTreeMap::new();
        let mut sections: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let starts_with_letter = line.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
            if starts_with_letter {
                current = None;
                if line == "EOF" {
                    break;
                }
                if let Some((key, value)) = line.split_once(':') {
                    let key = key.trim().to_string();
                    if key.ends_with("_SECTION") {
                        current = Some(key.clone());
                        sections.entry(key).or_default();
                        // Numbers may follow on the same line.
                        push_numbers(&mut sections, current.as_deref(), value)?;
                    } else {
                        header.insert(key, value.trim().to_string());
                    }
                } else if line.ends_with("_SECTION") {
                    current = Some(line.to_string());
                    sections.entry(line.to_string()).or_default();
                } else {
                    bail!("unexpected line {line:?}");
                }
            } else {
                push_numbers(&mut sections, current.as_deref(), line)?;
            }
        }
        let name = header.get("NAME").map_or("unnamed", |n| n.trim_end_matches(".tsp")).to_string();
        let n: usize = header.get("DIMENSION").context("no DIMENSION")?.parse().context("DIMENSION")?;
        ensure!(n >= 1, "DIMENSION is 0");
        let kind = header.get("EDGE_WEIGHT_TYPE").context("no EDGE_WEIGHT_TYPE")?.as_str();
        let matrix = if kind == "EXPLICIT" {
            let format = header.get("EDGE_WEIGHT_FORMAT").map_or("FULL_MATRIX", String::as_str);
            let values = sections.get("EDGE_WEIGHT_SECTION").context("no EDGE_WEIGHT_SECTION")?;
            explicit_matrix(n, format, values)?
        } else {
            let coords = sections.get("NODE_COORD_SECTION").context("no NODE_COORD_SECTION")?;
            ensure!(
                coords.len() == 3 * n,
                "NODE_COORD_SECTION has {} numbers, expected {}",
                coords.len(),
                3 * n
            );
            let points: Vec<(f64, f64)> = coords.chunks(3).map(|c| (c[1], c[2])).collect();
            let distance = distance_function(kind)?;
            let mut matrix = vec![0.0; n * n];
            for a in 0..n {
                for b in 0..n {
                    if a != b {
                        matrix[a * n + b] = distance(points[a], points[b]);
                    }
                }
            }
            matrix
        };
        let mut service = vec![0.0; n];
        if let Some(values) = sections.get("SERVICE_TIME_SECTION") {
            for pair in values.chunks(2) {
                ensure!(pair.len() == 2, "SERVICE_TIME_SECTION is not in pairs");
                service[node_index(pair[0], n)?] = pair[1];
            }
        }
        let mut windows = vec![None; n];
        if let Some(values) = sections.get("TIME_WINDOW_SECTION") {
            for triple in values.chunks(3) {
                ensure!(triple.len() == 3, "TIME_WINDOW_SECTION is not in triples");
                windows[node_index(triple[0], n)?] = Some((triple[1], triple[2]));
            }
        }
        let depot = match sections.get("DEPOT_SECTION").and_then(|d| d.first()) {
            Some(&id) => node_index(id, n)?,
            None => 0,
        };
        Ok(Self { name, matrix, n, depot, service, windows })
    }

    /// The day-route problem: start and end at the depot, at the depot's opening time, until
    /// its closing time; every other node a required stop.
    fn problem(&self) -> Result<Problem> {
        let matrix = Matrix::from_flat(self.n, self.matrix.clone())?;
        let matrices = TravelMatrices::new(matrix.clone(), matrix)?;
        let (open, close) = self.windows[self.depot].unwrap_or((0.0, f64::INFINITY));
        let mut builder = Problem::builder(matrices, self.depot, open).end_at(self.depot);
        if close.is_finite() {
            builder = builder.day_ends_at(close);
        }
        for node in (0..self.n).filter(|&node| node != self.depot) {
            let mut stop = Stop::at(node).with_service(self.service[node]);
            if let Some((open, close)) = self.windows[node] {
                stop = stop.with_window(open, close);
            }
            builder = builder.stop(stop);
        }
        Ok(builder.build()?)
    }

    fn stops(&self) -> usize {
        self.n - 1
    }

    /// VRPLIB text: explicit full matrix, services and windows when there are any.
    fn to_vrplib(&self, comment: &str) -> String {
        let mut out = String::new();
        let has_windows = self.windows.iter().any(Option::is_some);
        let _ = writeln!(out, "NAME : {}", self.name);
        let _ = writeln!(out, "COMMENT : {comment}");
        let _ = writeln!(out, "TYPE : {}", if has_windows { "TSPTW" } else { "TSP" });
        let _ = writeln!(out, "DIMENSION : {}", self.n);
        let _ = writeln!(out, "EDGE_WEIGHT_TYPE : EXPLICIT");
        let _ = writeln!(out, "EDGE_WEIGHT_FORMAT : FULL_MATRIX");
        let _ = writeln!(out, "EDGE_WEIGHT_SECTION");
        for row in self.matrix.chunks(self.n) {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:.0}")).collect();
            let _ = writeln!(out, "{}", cells.join(" "));
        }
        if self.service.iter().any(|&s| s > 0.0) {
            let _ = writeln!(out, "SERVICE_TIME_SECTION");
            for (node, s) in self.service.iter().enumerate() {
                let _ = writeln!(out, "{} {s:.0}", node + 1);
            }
        }
        if has_windows {
            let _ = writeln!(out, "TIME_WINDOW_SECTION");
            for (node, window) in self.windows.iter().enumerate() {
                if let Some((open, close)) = window {
                    let _ = writeln!(out, "{} {open:.0} {close:.0}", node + 1);
                }
            }
        }
        let _ = writeln!(out, "DEPOT_SECTION\n{}\n-1\nEOF", self.depot + 1);
        out
    }
}

fn push_numbers(sections: &mut BTreeMap<String, Vec<f64>>, current: Option<&str>, text: &str) -> Result<()> {
    let Some(section) = current else {
        if text.trim().is_empty() {
            return Ok(());
        }
        bail!("numbers outside a section: {text:?}");
    };
    let numbers = sections.entry(section.to_string()).or_default();
    for token in text.split_whitespace() {
        numbers.push(token.parse().with_context(|| format!("{token:?} in {section} is not a number"))?);
    }
    Ok(())
}

/// A 1-based TSPLIB node id as a 0-based index.
fn node_index(id: f64, n: usize) -> Result<usize> {
    ensure!(id >= 1.0 && id <= n as f64 && id.fract() == 0.0, "node id {id} is not in 1..={n}");
    Ok(id as usize - 1)
}

/// TSPLIB's `nint`: round half up, as `(int)(x + 0.5)`.
fn nint(x: f64) -> f64 {
    (x + 0.5).floor()
}

type DistanceFn = fn((f64, f64), (f64, f64)) -> f64;

/// The distance functions of TSPLIB 95 (Reinelt), section 2.
fn distance_function(kind: &str) -> Result<DistanceFn> {
    Ok(match kind {
        "EUC_2D" => |a, b| nint(((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()),
        "CEIL_2D" => |a, b| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt().ceil(),
        "MAN_2D" => |a, b| nint((a.0 - b.0).abs() + (a.1 - b.1).abs()),
        "MAX_2D" => |a, b| nint((a.0 - b.0).abs()).max(nint((a.1 - b.1).abs())),
        "ATT" => |a, b| {
            let r = (((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)) / 10.0).sqrt();
            let t = nint(r);
            if t < r { t + 1.0 } else { t }
        },
        "GEO" => geo_distance,
        other => bail!("EDGE_WEIGHT_TYPE {other} is not supported"),
    })
}

/// TSPLIB's GEO distance: coordinates are DDD.MM (degrees and minutes), the earth a sphere
/// of radius 6378.388 km, π taken as 3.141592, the result truncated after adding 1.
fn geo_distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    // TSPLIB's own truncated π: the published optima depend on it.
    #[allow(clippy::approx_constant)]
    const PI: f64 = 3.141592;
    const RRR: f64 = 6378.388;
    let radians = |x: f64| {
        let degrees = x.trunc();
        let minutes = x - degrees;
        PI * (degrees + 5.0 * minutes / 3.0) / 180.0
    };
    let (lat_a, lng_a, lat_b, lng_b) = (radians(a.0), radians(a.1), radians(b.0), radians(b.1));
    let q1 = (lng_a - lng_b).cos();
    let q2 = (lat_a - lat_b).cos();
    let q3 = (lat_a + lat_b).cos();
    (RRR * (0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)).acos() + 1.0).trunc()
}

/// An EXPLICIT matrix in any TSPLIB layout (the `*_COL` layouts of a symmetric matrix are
/// the transposed `*_ROW` ones).
fn explicit_matrix(n: usize, format: &str, values: &[f64]) -> Result<Vec<f64>> {
    let mut m = vec![0.0; n * n];
    let mut it = values.iter().copied();
    let mut next = || it.next().context("EDGE_WEIGHT_SECTION is too short");
    let set = |m: &mut Vec<f64>, a: usize, b: usize, v: f64| {
        m[a * n + b] = v;
        m[b * n + a] = v;
    };
    match format {
        "FULL_MATRIX" => {
            for a in 0..n {
                for b in 0..n {
                    m[a * n + b] = next()?;
                }
            }
        }
        "UPPER_ROW" | "LOWER_COL" => {
            for a in 0..n {
                for b in a + 1..n {
                    set(&mut m, a, b, next()?);
                }
            }
        }
        "LOWER_ROW" | "UPPER_COL" => {
            for a in 0..n {
                for b in 0..a {
                    set(&mut m, a, b, next()?);
                }
            }
        }
        "UPPER_DIAG_ROW" | "LOWER_DIAG_COL" => {
            for a in 0..n {
                for b in a..n {
                    set(&mut m, a, b, next()?);
                }
            }
        }
        "LOWER_DIAG_ROW" | "UPPER_DIAG_COL" => {
            for a in 0..n {
                for b in 0..=a {
                    set(&mut m, a, b, next()?);
                }
            }
        }
        other => bail!("EDGE_WEIGHT_FORMAT {other} is not supported"),
    }
    for a in 0..n {
        m[a * n + a] = 0.0;
    }
    Ok(m)
}

// ---------------------------------------------------------------------------------------
// Solving

struct Outcome {
    length: f64,
    millis: f64,
    proven: bool,
    unserved: usize,
    first_feasible_ms: Option<f64>,
}

impl Outcome {
    fn line(&self, name: &str) -> String {
        let mut line = format!(
            "{name} {} {:.1} {}",
            fmt_length(self.length),
            self.millis,
            if self.proven { "yes" } else { "no" }
        );
        if self.unserved > 0 {
            let _ = write!(line, " unserved={}", self.unserved);
        }
        line
    }
}

fn fmt_length(length: f64) -> String {
    if length.fract() == 0.0 { format!("{length:.0}") } else { format!("{length:.2}") }
}

fn solve_once(instance: &Instance, args: &Args) -> Result<(Solution, f64)> {
    let started = Instant::now();
    let problem = instance.problem()?;
    let solution = if instance.stops() <= args.exact_limit {
        solve_exact(&problem)?
    } else {
        let deadline = started + Duration::from_millis(args.budget_ms);
        solve_heuristic(&problem, args.seed, &mut || Instant::now() >= deadline)
    };
    Ok((solution, started.elapsed().as_secs_f64() * 1000.0))
}

/// Solves `runs` times; the median length and the median time.
fn run(instance: &Instance, args: &Args) -> Result<Outcome> {
    let mut lengths = Vec::new();
    let mut times = Vec::new();
    let mut proven = true;
    let mut unserved = 0;
    for _ in 0..args.runs {
        let (solution, millis) = solve_once(instance, args)?;
        lengths.push(solution.distance);
        times.push(millis);
        proven &= solution.proven_optimal;
        unserved = unserved.max(solution.unserved.len());
    }
    let timed = instance.windows.iter().any(Option::is_some);
    let first_feasible_ms = if timed && instance.stops() > args.exact_limit {
        let mut firsts = Vec::new();
        for _ in 0..args.runs {
            let started = Instant::now();
            let problem = instance.problem()?;
            let solution = solve_heuristic(&problem, args.seed, &mut Iterations::new(0));
            let millis = started.elapsed().as_secs_f64() * 1000.0;
            if solution.serves_all_required() {
                firsts.push(millis);
            }
        }
        (firsts.len() == args.runs).then(|| median(&mut firsts))
    } else {
        None
    };
    Ok(Outcome {
        length: median(&mut lengths),
        millis: median(&mut times),
        proven,
        unserved,
        first_feasible_ms,
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}

// ---------------------------------------------------------------------------------------
// Random field days

/// 08:30 and 19:30, in seconds since midnight.
const DAY_OPEN: f64 = 8.5 * 3600.0;
const DAY_CLOSE: f64 = 19.5 * 3600.0;

/// A rep's day in Shanghai: an office and `stops` customers within 5 km, driving (offline
/// model, with a random one-way surcharge of up to 15 % so that the matrix is asymmetric),
/// visits of 10–30 min; with `windows`, half the customers have a 1–3 h appointment window.
fn field_day(name: String, stops: usize, windows: bool, rng: &mut SeededRng) -> Result<Instance> {
    let n = stops + 1;
    let points = random_points(rng, n, 5000.0)?;
    let model = OfflineModel::for_mode(TravelMode::Driving);
    let mut matrix = vec![0.0; n * n];
    for a in 0..n {
        for b in 0..n {
            if a != b {
                let surcharge = 1.0 + 0.15 * rng.unit();
                matrix[a * n + b] = (model.duration_s(points[a], points[b]) * surcharge).round();
            }
        }
    }
    let mut service = vec![0.0; n];
    let mut day_windows = vec![None; n];
    for node in 1..n {
        service[node] = (rng.range(600.0, 1800.0) / 60.0).round() * 60.0;
        if windows && rng.below(2) == 0 {
            let open = DAY_OPEN + 1800.0 + (rng.range(0.0, 7.0 * 3600.0) / 900.0).floor() * 900.0;
            let close = open + (rng.range(3600.0, 3.0 * 3600.0) / 900.0).round() * 900.0;
            day_windows[node] = Some((open, close.min(DAY_CLOSE)));
        }
    }
    if windows {
        day_windows[0] = Some((DAY_OPEN, DAY_CLOSE));
    }
    Ok(Instance { name, matrix, n, depot: 0, service, windows: day_windows })
}

/// `n` points within `radius` metres of People's Square.
fn random_points(rng: &mut SeededRng, n: usize, radius: f64) -> Result<Vec<WgsPoint>> {
    let (lat0, lng0) = (31.2304, 121.4737);
    (0..n)
        .map(|_| {
            let r = radius * rng.unit().sqrt();
            let angle = rng.range(0.0, std::f64::consts::TAU);
            let lat = lat0 + r * angle.sin() / 111_195.0;
            let lng = lng0 + r * angle.cos() / (111_195.0 * lat0.to_radians().cos());
            Ok(WgsPoint::new(lat, lng)?)
        })
        .collect()
}

/// 100 customers within 6 km by scooter, 5-minute visits, 60 % with a window of 30 min to
/// 2.5 h placed around the time a nearest-neighbour route reaches them, so that a feasible
/// route is known to exist; the day ends half an hour after that route.
fn big_day(rng: &mut SeededRng) -> Result<Instance> {
    let stops = 100;
    let n = stops + 1;
    let points = random_points(rng, n, 6000.0)?;
    let model = OfflineModel::for_mode(TravelMode::Scooter);
    let mut matrix = vec![0.0; n * n];
    for a in 0..n {
        for b in 0..n {
            if a != b {
                matrix[a * n + b] = model.duration_s(points[a], points[b]).round();
            }
        }
    }
    let service: Vec<f64> = (0..n).map(|node| if node == 0 { 0.0 } else { 300.0 }).collect();
    // The nearest-neighbour route and its times.
    let start = 7.0 * 3600.0;
    let mut arrival = vec![0.0; n];
    let mut visited = vec![false; n];
    visited[0] = true;
    let (mut at, mut time) = (0, start);
    for _ in 0..stops {
        let next = (0..n)
            .filter(|&b| !visited[b])
            .min_by(|&x, &y| matrix[at * n + x].total_cmp(&matrix[at * n + y]))
            .context("a node is left")?;
        time += matrix[at * n + next];
        arrival[next] = time;
        time += service[next];
        visited[next] = true;
        at = next;
    }
    let day_end = time + matrix[at * n] + 1800.0;
    let mut windows = vec![None; n];
    windows[0] = Some((start, day_end));
    for node in 1..n {
        if rng.unit() < 0.6 {
            let open = (arrival[node] - rng.range(0.0, 3600.0)).max(start).floor();
            let close = (arrival[node] + rng.range(1800.0, 5400.0)).ceil();
            windows[node] = Some((open, close));
        }
    }
    Ok(Instance { name: "field-100-tw".into(), matrix, n, depot: 0, service, windows })
}

/// The random field days: for 5–15 stops, two days without and two with windows, each kept
/// only if every stop can be served; then the 100-stop day.
fn field_instances() -> Result<Vec<Instance>> {
    let mut rng = SeededRng::new(20_260_601);
    let mut out = Vec::new();
    for stops in 5..=15 {
        for windows in [false, true] {
            for k in 1..=2 {
                let name = format!("field-{stops:02}-{}-{k}", if windows { "tw" } else { "plain" });
                loop {
                    let day = field_day(name.clone(), stops, windows, &mut rng)?;
                    if solve_exact(&day.problem()?)?.serves_all_required() {
                        out.push(day);
                        break;
                    }
                }
            }
        }
    }
    out.push(big_day(&mut rng)?);
    Ok(out)
}

fn generate(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut optima = String::from(
        "# Exact optima (total travel seconds) by fieldkit's dynamic programming; none for field-100-tw.\n",
    );
    for instance in field_instances()? {
        let comment = format!(
            "FieldKit random field day: {} stops, travel seconds (asymmetric), depot = office",
            instance.stops()
        );
        let path = dir.join(format!("{}.vrp", instance.name));
        fs::write(&path, instance.to_vrplib(&comment))
            .with_context(|| format!("writing {}", path.display()))?;
        if instance.stops() <= MAX_EXACT_STOPS {
            let exact = solve_exact(&instance.problem()?)?;
            let _ = writeln!(optima, "{} {}", instance.name, fmt_length(exact.distance));
        }
    }
    fs::write(dir.join("OPTIMA.txt"), optima)?;
    println!("# wrote the field instances and OPTIMA.txt to {}", dir.display());
    Ok(())
}

fn field(args: &Args) -> Result<()> {
    let mut optimal = 0;
    let mut compared = 0;
    let mut worst_gap: f64 = 0.0;
    let mut exact_times: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for instance in field_instances()? {
        let outcome = run(&instance, args)?;
        println!("{}", outcome.line(&instance.name));
        if let Some(first) = outcome.first_feasible_ms {
            println!("# {}: first feasible route after {first:.1} ms", instance.name);
        }
        if instance.stops() <= MAX_EXACT_STOPS {
            let started = Instant::now();
            let exact = solve_exact(&instance.problem()?)?;
            let millis = started.elapsed().as_secs_f64() * 1000.0;
            exact_times.entry(instance.stops()).or_default().push(millis);
            let gap = (outcome.length - exact.distance) / exact.distance * 100.0;
            compared += 1;
            if gap.abs() < 1e-9 {
                optimal += 1;
            }
            worst_gap = worst_gap.max(gap);
        }
    }
    println!("# field days: optimal on {optimal}/{compared}, worst gap {worst_gap:.2} %");
    for (stops, mut times) in exact_times {
        println!("# exact solver, {stops} stops: median {:.1} ms", median(&mut times));
    }
    let mut times = Vec::new();
    let problem = unrelated_day(&mut SeededRng::new(42), 13)?;
    for _ in 0..args.runs.max(3) {
        let started = Instant::now();
        let exact = solve_exact(&problem)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(exact.serves_all_required(), "the unrelated day is feasible by construction");
    }
    println!(
        "# exact solver, 13 stops, distance and duration unrelated, day's end binding (worst case): median {:.1} ms",
        median(&mut times)
    );
    Ok(())
}

/// A day built to grow the exact solver's Pareto fronts: distances and durations drawn
/// independently (a short hop may be a slow one), 10-minute visits, and a day's end that
/// binds (30 000 s, about 8 h, for 13 stops averaging 25 min of travel each).
fn unrelated_day(rng: &mut SeededRng, stops: usize) -> Result<Problem> {
    let n = stops + 1;
    let distance = Matrix::from_fn(n, |a, b| if a == b { 0.0 } else { rng.range(100.0, 5000.0).round() })?;
    let duration = Matrix::from_fn(n, |a, b| if a == b { 0.0 } else { rng.range(60.0, 3000.0).round() })?;
    let problem = Problem::builder(TravelMatrices::new(distance, duration)?, 0, 0.0)
        .end_at(0)
        .day_ends_at(30_000.0)
        .stops((1..n).map(|s| Stop::at(s).with_service(600.0)))
        .build()?;
    Ok(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euc_2d_rounds_to_the_nearest_integer() {
        let f = distance_function("EUC_2D").expect("known");
        assert_eq!(f((0.0, 0.0), (3.0, 4.0)), 5.0);
        assert_eq!(f((0.0, 0.0), (1.0, 1.0)), 1.0);
        assert_eq!(f((0.0, 0.0), (1.5, 1.0)), 2.0);
    }

    fn fixture(name: &str) -> Instance {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tsplib").join(name);
        let text = fs::read_to_string(&path).expect("fixture present");
        Instance::parse(&text).expect("fixture parses")
    }

    #[test]
    fn geo_distances_give_burma14_its_published_optimum() {
        let burma = fixture("burma14.tsp");
        assert_eq!(burma.name, "burma14");
        let exact = solve_exact(&burma.problem().expect("valid")).expect("13 stops");
        assert_eq!(exact.distance, 3323.0);
    }

    #[test]
    fn a_lower_diagonal_matrix_is_read_symmetric() {
        let gr17 = fixture("gr17.tsp");
        assert_eq!(gr17.n, 17);
        let d = |a: usize, b: usize| gr17.matrix[(a - 1) * 17 + (b - 1)];
        assert_eq!((d(1, 2), d(2, 1)), (633.0, 633.0));
        assert_eq!((d(17, 1), d(17, 16), d(16, 17)), (121.0, 336.0, 336.0));
        assert_eq!(d(17, 17), 0.0);
    }

    #[test]
    fn written_field_days_read_back_identically() {
        let day = field_day("day".into(), 6, true, &mut SeededRng::new(3)).expect("valid");
        let back = Instance::parse(&day.to_vrplib("test")).expect("parses");
        assert_eq!(back.matrix, day.matrix);
        assert_eq!(back.service, day.service);
        assert_eq!(back.windows, day.windows);
        assert_eq!(back.depot, 0);
    }

    #[test]
    fn explicit_layouts_agree() {
        let full =
            explicit_matrix(3, "FULL_MATRIX", &[0.0, 1.0, 2.0, 1.0, 0.0, 3.0, 2.0, 3.0, 0.0]).expect("ok");
        assert_eq!(explicit_matrix(3, "UPPER_ROW", &[1.0, 2.0, 3.0]).expect("ok"), full);
        assert_eq!(explicit_matrix(3, "LOWER_ROW", &[1.0, 2.0, 3.0]).expect("ok"), full);
        assert_eq!(explicit_matrix(3, "LOWER_DIAG_ROW", &[0.0, 1.0, 0.0, 2.0, 3.0, 0.0]).expect("ok"), full);
        assert_eq!(explicit_matrix(3, "UPPER_DIAG_ROW", &[0.0, 1.0, 2.0, 0.0, 3.0, 0.0]).expect("ok"), full);
    }
}
