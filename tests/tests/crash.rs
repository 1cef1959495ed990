//! Crash safety: real processes killed with SIGKILL at random moments (seeded, so a failure
//! can be replayed), then a check that nothing the app was told is saved got lost and
//! nothing reached the server twice: neither facts (check-ins) nor edits of shared documents
//! (visit notes; task notes and status), each of which appends a token unique to the run, so
//! that an edit applied twice shows as its token twice.
//!
//! The phone runs as `phone_worker` and the server as `test_server`, child processes built
//! from this package (`src/bin/`). Set `FIELDKIT_CRASH_SEED` to replay or vary the schedule;
//! run with `--nocapture` to see the numbers of a run.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fieldkit_domain::docs::{self, task, visit};
use fieldkit_domain::ids::{CustomerId, FactId, OrgId, TaskId, VisitId};
use fieldkit_domain::model::{LocationFix, LocationProvider, Role, TaskStatus, WgsPoint};
use fieldkit_domain::protocol::RecordKind;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, open_phone};
use fieldkit_engine::{CheckInInput, FieldKit};
use fieldkit_server::config::database_path;
use fieldkit_server::provision::{self, UserSpec};
use fieldkit_server::storage::{FactFilter, SqliteStorage, Storage};

const PHONE_WORKER: &str = env!("CARGO_BIN_EXE_phone_worker");
const TEST_SERVER: &str = env!("CARGO_BIN_EXE_test_server");

/// The default seed of the kill schedules; `FIELDKIT_CRASH_SEED` overrides it.
const DEFAULT_SEED: u64 = 0x5EED_F1E1_D0C0_FFEE;

/// The signal number of SIGKILL on Linux and macOS.
const SIGKILL: i32 = 9;

/// splitmix64: a tiny deterministic generator, enough to pick kill moments.
struct Rng(u64);

impl Rng {
    fn from_env(salt: u64) -> Self {
        let seed = std::env::var("FIELDKIT_CRASH_SEED")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_SEED);
        println!("seed {seed} (FIELDKIT_CRASH_SEED)");
        Self(seed ^ salt)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.between(lo, hi))
    }

    fn micros(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_micros(self.between(lo, hi))
    }
}

/// A child process whose complete stdout lines arrive on a channel. Dropping it kills the
/// process (SIGKILL) and reaps it, so a failing assertion leaves no process behind.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    reader: Option<JoinHandle<()>>,
    /// Every line taken from `lines` so far.
    seen: Vec<String>,
}

impl Proc {
    fn spawn(command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn a child process");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match stdout.read_until(b'\n', &mut line) {
                    // A line cut short by the kill was never fully printed: it does not count.
                    Ok(_) if line.last() == Some(&b'\n') => {
                        line.pop();
                        if tx.send(String::from_utf8_lossy(&line).into_owned()).is_err() {
                            return;
                        }
                    }
                    _ => return,
                }
            }
        });
        Self { child, lines, reader: Some(reader), seen: Vec::new() }
    }

    /// Waits for the next line starting with `prefix`, up to `deadline`. Returns it, or
    /// `None` if the deadline passed or the process closed its stdout first.
    fn wait_for(&mut self, prefix: &str, deadline: Instant) -> Option<String> {
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            if line.starts_with(prefix) {
                return Some(line);
            }
        }
    }

    /// Sends SIGKILL, reaps the process and returns every complete line it printed, and
    /// how it ended if not by this kill (it exited or crashed on its own before).
    fn kill(mut self) -> (Vec<String>, Option<ExitStatus>) {
        let status = self.stop();
        let by_itself = status.filter(|s| s.signal() != Some(SIGKILL));
        (std::mem::take(&mut self.seen), by_itself)
    }

    fn stop(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.seen.extend(self.lines.try_iter());
        status
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn fix() -> LocationFix {
    LocationFix {
        point: WgsPoint::new(31.2304, 121.4737).expect("valid point"),
        accuracy_m: 15.0,
        fix_time_ms: fieldkit_server::now_ms(),
        provider: LocationProvider::Gnss,
        is_mock: false,
    }
}

/// Syncs until the outbox is empty, retrying what is retryable (bounded).
async fn sync_to_completion(kit: &FieldKit) -> u32 {
    let mut already_stored = 0;
    for _ in 0..20 {
        match kit.sync_now().await {
            Ok(report) => already_stored += report.already_stored,
            Err(e) if e.is_retryable() => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => panic!("final sync failed for good: {e}"),
        }
        if kit.sync_status().expect("status").outbox.pending == 0 {
            return already_stored;
        }
    }
    panic!("the outbox did not drain: {:?}", kit.sync_status().expect("status"));
}

/// Checks exactly-once: every acknowledged id is on the phone and on the server once, the
/// server has nothing the phone does not, and the phone has nothing left to send.
async fn assert_exactly_once(kit: &FieldKit, storage: &dyn Storage, org: OrgId, acked: &[String]) -> usize {
    let mut acked_once = HashSet::new();
    for id in acked {
        assert!(acked_once.insert(id.as_str()), "fact {id} was acknowledged twice");
    }
    let status = kit.sync_status().expect("status");
    assert_eq!(
        (status.outbox.pending, status.outbox.parked),
        (0, 0),
        "parked: {:?}",
        kit.parked_items().expect("parked")
    );
    let phone: HashSet<String> =
        kit.check_ins().expect("check-ins").iter().map(|c| c.id.to_string()).collect();
    let check_ins = FactFilter { kind: Some("check_in".into()), ..FactFilter::default() };
    let facts = storage.facts(org, check_ins).await.expect("server facts");
    let mut on_server: HashMap<String, usize> = HashMap::new();
    for fact in &facts {
        *on_server.entry(fact.id.to_string()).or_default() += 1;
    }
    let duplicated: Vec<_> = on_server.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "facts stored more than once: {duplicated:?}");
    let lost_locally: Vec<_> = acked.iter().filter(|id| !phone.contains(*id)).collect();
    assert!(
        lost_locally.is_empty(),
        "{} acknowledged check-ins are missing from the phone database: {lost_locally:?}",
        lost_locally.len()
    );
    let lost: Vec<_> = acked.iter().filter(|id| !on_server.contains_key(*id)).collect();
    assert!(lost.is_empty(), "{} acknowledged check-ins never reached the server: {lost:?}", lost.len());
    let strangers: Vec<_> = on_server.keys().filter(|id| !phone.contains(*id)).collect();
    assert!(strangers.is_empty(), "the server has facts the phone never made: {strangers:?}");
    let unsent: Vec<_> = phone.iter().filter(|id| !on_server.contains_key(*id)).collect();
    assert!(unsent.is_empty(), "phone facts missing on the server with an empty outbox: {unsent:?}");
    for id in acked {
        let id: FactId = id.parse().expect("a fact id");
        assert_eq!(kit.is_synced(id).expect("is_synced"), Some(true), "{id}");
    }
    facts.len()
}

/// Shared-document edits the app was told are saved.
#[derive(Default)]
struct AckedEdits {
    /// Tokens appended to visits' notes.
    visit_notes: Vec<(VisitId, String)>,
    /// Tokens appended to tasks' notes.
    task_notes: Vec<(TaskId, String)>,
    /// The furthest status each task was moved to.
    task_status: HashMap<TaskId, TaskStatus>,
    /// Moves of a task's status.
    status_moves: usize,
}

impl AckedEdits {
    /// Takes one line of `phone_worker`'s protocol, if it reports an edit.
    fn take(&mut self, line: &str) {
        let mut words = line.splitn(3, ' ');
        let (Some(what), Some(id), Some(rest)) = (words.next(), words.next(), words.next()) else {
            return;
        };
        match what {
            "visit-note" => self.visit_notes.push((id.parse().expect("a visit id"), rest.to_owned())),
            "task-note" => self.task_notes.push((id.parse().expect("a task id"), rest.to_owned())),
            "task-status" => {
                self.status_moves += 1;
                let status: TaskStatus = serde_json::from_value(serde_json::Value::String(rest.to_owned()))
                    .expect("a task status");
                let furthest = self.task_status.entry(id.parse().expect("a task id")).or_insert(status);
                if status.rank() > furthest.rank() {
                    *furthest = status;
                }
            }
            _ => {}
        }
    }

    fn count(&self) -> usize {
        self.visit_notes.len() + self.task_notes.len() + self.status_moves
    }
}

/// The `[...]` tokens in some notes, in order.
fn tokens(notes: &str) -> Vec<&str> {
    notes.split_inclusive(']').filter_map(|piece| piece.find('[').map(|at| &piece[at..])).collect()
}

/// No token appears twice in `notes` (an edit applied twice would show so).
fn assert_no_token_twice(what: &str, notes: &str) {
    let mut seen = HashSet::new();
    for token in tokens(notes) {
        assert!(seen.insert(token), "{what}: the note {token} is there twice: {notes:?}");
    }
}

/// Checks exactly-once for shared documents, after a final sync: every visit and task the
/// phone holds is on the server and projects there to exactly the phone's record; every
/// acknowledged note is in its document's notes once, on both; no note is there twice;
/// every task is at least at the status it was acknowledged at. Returns the visits and
/// tasks compared.
async fn assert_documents_exactly_once(
    kit: &FieldKit,
    storage: &dyn Storage,
    org: OrgId,
    acked: &AckedEdits,
) -> (usize, usize) {
    let actor = docs::actor(uuid::Uuid::nil());
    let stored = |kind: RecordKind, id: uuid::Uuid| async move {
        let doc = storage.doc(org, kind, id).await.expect("server documents");
        doc.unwrap_or_else(|| panic!("{} {id} is not on the server", kind.as_str())).state
    };
    let visits: HashMap<VisitId, _> = kit.visits().expect("visits").into_iter().map(|v| (v.id, v)).collect();
    for (id, on_phone) in &visits {
        let doc =
            docs::load(&stored(RecordKind::Visit, id.0).await, actor.clone()).expect("a visit document");
        let on_server = visit::project(&doc).expect("a visit");
        assert_eq!(on_phone, &on_server, "visit {id} differs between phone and server");
        assert_no_token_twice(&format!("visit {id}"), &on_phone.notes);
    }
    for (id, token) in &acked.visit_notes {
        let visit = visits.get(id).unwrap_or_else(|| panic!("visit {id} of an acknowledged note is lost"));
        assert_eq!(
            visit.notes.matches(token.as_str()).count(),
            1,
            "visit {id}: {token} in {:?}",
            visit.notes
        );
    }
    let tasks: HashMap<TaskId, _> = kit.my_tasks().expect("tasks").into_iter().map(|t| (t.id, t)).collect();
    for (id, on_phone) in &tasks {
        let doc = docs::load(&stored(RecordKind::Task, id.0).await, actor.clone()).expect("a task document");
        let on_server = task::project(&doc).expect("a task");
        assert_eq!(on_phone, &on_server, "task {id} differs between phone and server");
        assert_no_token_twice(&format!("task {id}"), &on_phone.notes);
    }
    for (id, token) in &acked.task_notes {
        let task = tasks.get(id).unwrap_or_else(|| panic!("task {id} of an acknowledged note is lost"));
        assert_eq!(task.notes.matches(token.as_str()).count(), 1, "task {id}: {token} in {:?}", task.notes);
    }
    for (id, status) in &acked.task_status {
        let task = tasks.get(id).unwrap_or_else(|| panic!("task {id} of an acknowledged status is lost"));
        assert!(
            task.status.rank() >= status.rank(),
            "task {id} is {:?} after it was moved to {status:?}",
            task.status
        );
    }
    (visits.len(), tasks.len())
}

/// How a phone round ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum KillAt {
    /// Within milliseconds of the start: while the engine opens (migrating a fresh file in the
    /// first round) or logs in.
    Startup,
    /// At a random moment after the process starts (possibly while it opens or logs in).
    RandomTime,
    /// Just after the phone announced a sync: mid-request or while applying the answer.
    MidSync,
    /// Just after a check-in was acknowledged: most likely inside the next write.
    MidWrite,
}

#[derive(Default)]
struct PhoneRounds {
    acked: Vec<String>,
    edits: AckedEdits,
    kills: HashMap<KillAt, u32>,
    killed_while_syncing: u32,
    killed_before_ready: u32,
    syncs_seen: u32,
    already_stored: u32,
    fatal: Vec<String>,
}

/// Spawns `phone_worker` on `db` round after round and kills each with SIGKILL.
fn run_phone_rounds(db: &Path, url: &str, rounds: u32, rng: &mut Rng) -> PhoneRounds {
    let mut out = PhoneRounds::default();
    for round in 0..rounds {
        let kill_at = match round % 4 {
            0 => KillAt::Startup,
            1 => KillAt::RandomTime,
            2 => KillAt::MidSync,
            _ => KillAt::MidWrite,
        };
        let sync_every = rng.between(1, 6);
        let mut phone = Proc::spawn(
            Command::new(PHONE_WORKER)
                .arg("--db")
                .arg(db)
                .args(["--url", url, "--org", "acme", "--user", "rep1"])
                .args(["--writes", "2000", "--sync-every", &sync_every.to_string()])
                .args(["--label", &format!("r{round}"), "--seed", &rng.next().to_string()]),
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        match kill_at {
            KillAt::Startup => std::thread::sleep(rng.micros(0, 15_000)),
            KillAt::RandomTime => std::thread::sleep(rng.millis(0, 600)),
            KillAt::MidSync => {
                for _ in 0..rng.between(1, 4) {
                    phone.wait_for("syncing", deadline);
                }
                std::thread::sleep(rng.micros(0, 15_000));
            }
            KillAt::MidWrite => {
                for _ in 0..rng.between(1, 60) {
                    phone.wait_for("ack ", deadline);
                }
                std::thread::sleep(rng.micros(0, 3_000));
            }
        }
        let (lines, exited) = phone.kill();
        match exited {
            // It made all its writes before the kill came: fine, but not a kill.
            Some(status) if status.success() => {}
            Some(status) => out.fatal.push(format!("round {round}: the phone ended with {status}")),
            None => *out.kills.entry(kill_at).or_default() += 1,
        }
        let mut syncing = false;
        for line in &lines {
            if let Some(id) = line.strip_prefix("ack ") {
                out.acked.push(id.to_owned());
            } else if line == "syncing" {
                syncing = true;
                out.syncs_seen += 1;
            } else if let Some(counts) = line.strip_prefix("synced ") {
                syncing = false;
                let already: Option<u32> = counts.split(' ').nth(1).and_then(|n| n.parse().ok());
                out.already_stored += already.expect("synced <pushed> <already stored> <rejected>");
            } else if line.starts_with("sync-error") {
                syncing = false;
            } else if line.starts_with("fatal") {
                out.fatal.push(format!("round {round}: {line}"));
            } else {
                out.edits.take(line);
            }
        }
        out.killed_while_syncing += u32::from(syncing);
        out.killed_before_ready += u32::from(!lines.iter().any(|l| l.starts_with("ready ")));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_or_duplicated_when_the_phone_is_killed_mid_write_or_mid_sync()
-> anyhow::Result<()> {
    const ROUNDS: u32 = 48;
    let started = Instant::now();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("fieldkit.db");
    // Tasks for the rep, whose notes and status the phone edits once a sync brought them.
    let api = Api::new(&server.url);
    for n in 1..=3 {
        let body = serde_json::json!({ "kind": "customer_visit", "title": format!("Shop {n}"),
                                       "assignee_id": org.reps[0].id });
        let (status, answer) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{answer}");
    }

    let mut rng = Rng::from_env(1);
    let (db_for_rounds, url) = (db.clone(), server.url.clone());
    let rounds =
        tokio::task::spawn_blocking(move || run_phone_rounds(&db_for_rounds, &url, ROUNDS, &mut rng)).await?;
    assert!(rounds.fatal.is_empty(), "a phone process failed: {:?}", rounds.fatal);
    assert!(!rounds.acked.is_empty(), "no round got as far as a check-in");
    assert!(!rounds.edits.visit_notes.is_empty(), "no round got as far as a visit note");
    assert!(!rounds.edits.task_notes.is_empty(), "no round got as far as a task note");

    // The phone once more, in this process: it opens cleanly and sends what is left.
    let kit = open_phone(&db, &server.url, "acme")?;
    assert_eq!(kit.recovered_database(), None, "the phone database was damaged");
    let already_stored = sync_to_completion(&kit).await;
    let on_server = assert_exactly_once(&kit, server.storage.as_ref(), org.org.id, &rounds.acked).await;
    let (visits, tasks) =
        assert_documents_exactly_once(&kit, server.storage.as_ref(), org.org.id, &rounds.edits).await;

    println!(
        "{ROUNDS} rounds, kills {:?} ({} during a sync, {} before the engine was open and logged \
         in), {} syncs started, {} check-ins \
         acknowledged, {} on the phone, {on_server} on the server, {} document edits acknowledged \
         ({} visit notes, {} task notes, {} task status moves) over {visits} visits and {tasks} tasks \
         equal on both, {} + {already_stored} (final \
         sync) pushes answered already_stored (an answer lost to a kill), {:.1?}",
        rounds.kills,
        rounds.killed_while_syncing,
        rounds.killed_before_ready,
        rounds.syncs_seen,
        rounds.acked.len(),
        kit.check_ins()?.len(),
        rounds.edits.count(),
        rounds.edits.visit_notes.len(),
        rounds.edits.task_notes.len(),
        rounds.edits.status_moves,
        rounds.already_stored,
        started.elapsed()
    );
    Ok(())
}

/// The server running as `test_server` on a fixed address, restarted after each kill.
fn start_server(data_dir: &Path, bind: &str) -> Proc {
    let mut server =
        Proc::spawn(Command::new(TEST_SERVER).arg("--data-dir").arg(data_dir).args(["--bind", bind]));
    let listening = server.wait_for("listening ", Instant::now() + Duration::from_secs(30));
    assert_eq!(
        listening.as_deref(),
        Some(format!("listening http://{bind}").as_str()),
        "the server did not start: {:?}",
        server.seen
    );
    server
}

/// A free loopback port below Linux's ephemeral range (32768 and up), so that no outgoing
/// connection of a concurrent test can take it while the server is down between restarts.
fn free_loopback_port(rng: &mut Rng) -> u16 {
    for _ in 0..200 {
        let port = u16::try_from(rng.between(20_000, 32_000)).expect("a port");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between 20000 and 32000");
}

#[derive(Default)]
struct PhoneLoop {
    acked: Mutex<Vec<String>>,
    edits: Mutex<AckedEdits>,
    syncing: AtomicBool,
    stop: AtomicBool,
    syncs_ok: AtomicU32,
    syncs_failed: AtomicU32,
    already_stored: AtomicU32,
    unexpected: Mutex<Vec<String>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_and_restarted_during_syncs_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    const KILLS: u32 = 16;
    const MAX_WRITES: usize = 5_000;
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("server");
    std::fs::create_dir_all(&data_dir)?;

    // The org and the rep, written before the server process owns the folder.
    let org = {
        let storage = SqliteStorage::open(&database_path(&data_dir))?;
        let org = provision::create_org(&storage, "acme", "Acme").await?;
        let spec = UserSpec {
            username: "rep1",
            display_name: "Rep One",
            role: Role::Rep,
            team_id: None,
            data_scope: None,
            password: PASSWORD,
        };
        provision::add_user(&storage, org.id, spec).await?;
        org
    };

    let mut rng = Rng::from_env(2);
    let bind = format!("127.0.0.1:{}", free_loopback_port(&mut rng));
    let server = start_server(&data_dir, &bind);
    let kit = Arc::new(open_phone(&dir.path().join("fieldkit.db"), &format!("http://{bind}"), "acme")?);
    kit.login("rep1", PASSWORD).await?;
    let state = Arc::new(PhoneLoop::default());

    // The app: check-ins on one task, syncs on another, both until told to stop.
    let writer = {
        let (kit, state) = (kit.clone(), state.clone());
        tokio::spawn(async move {
            while !state.stop.load(Ordering::SeqCst) && state.acked.lock().expect("lock").len() < MAX_WRITES {
                let input =
                    CheckInInput { customer_id: CustomerId::new(), task_id: None, fix: fix(), note: None };
                match kit.check_in(input) {
                    Ok(c) => {
                        let n = {
                            let mut acked = state.acked.lock().expect("lock");
                            acked.push(c.id.to_string());
                            acked.len()
                        };
                        // One visit in three gets a note before its check-out.
                        if n % 3 == 0 {
                            let token = format!("[s.{n}]");
                            match kit.update_visit(c.visit_id, None, Some(token.clone())) {
                                Ok(_) => {
                                    state.edits.lock().expect("lock").visit_notes.push((c.visit_id, token))
                                }
                                Err(e) => state.unexpected.lock().expect("lock").push(format!("note: {e}")),
                            }
                        }
                        if let Err(e) = kit.check_out(c.visit_id, c.fix) {
                            state.unexpected.lock().expect("lock").push(format!("check-out: {e}"));
                        }
                    }
                    Err(e) => state.unexpected.lock().expect("lock").push(format!("check-in: {e}")),
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        })
    };
    let syncer = {
        let (kit, state) = (kit.clone(), state.clone());
        tokio::spawn(async move {
            while !state.stop.load(Ordering::SeqCst) {
                state.syncing.store(true, Ordering::SeqCst);
                let result = kit.sync_now().await;
                state.syncing.store(false, Ordering::SeqCst);
                match result {
                    Ok(report) => {
                        state.syncs_ok.fetch_add(1, Ordering::SeqCst);
                        state.already_stored.fetch_add(report.already_stored, Ordering::SeqCst);
                    }
                    Err(e) if e.is_retryable() => {
                        state.syncs_failed.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => state.unexpected.lock().expect("lock").push(format!("sync: {e}")),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // The operator's bad day: kill -9, a moment down, restart on the same folder and port.
    let controller = {
        let (data_dir, bind, state) = (data_dir.clone(), bind.clone(), state.clone());
        tokio::task::spawn_blocking(move || {
            let mut server = server;
            let mut mid_sync = 0;
            for kill in 0..KILLS {
                std::thread::sleep(rng.millis(100, 600));
                if kill % 2 == 1 {
                    // Aim at a request in flight.
                    let deadline = Instant::now() + Duration::from_secs(2);
                    while !state.syncing.load(Ordering::SeqCst) && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                    std::thread::sleep(rng.micros(0, 8_000));
                }
                mid_sync += u32::from(state.syncing.load(Ordering::SeqCst));
                let (_, exited) = server.kill();
                assert_eq!(exited, None, "the server ended on its own before kill {kill}");
                std::thread::sleep(rng.millis(0, 300));
                server = start_server(&data_dir, &bind);
            }
            (server, mid_sync)
        })
    };
    let (server, killed_mid_sync) = controller.await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    state.stop.store(true, Ordering::SeqCst);
    writer.await?;
    syncer.await?;
    let unexpected = state.unexpected.lock().expect("lock").clone();
    assert!(unexpected.is_empty(), "errors other than an unreachable server: {unexpected:?}");

    let final_already_stored = sync_to_completion(&kit).await;
    // One last kill, then read what the server kept straight from its database.
    let (_, exited) = server.kill();
    assert_eq!(exited, None, "the server ended on its own");
    let storage = SqliteStorage::open(&database_path(&data_dir))?;
    let acked = state.acked.lock().expect("lock").clone();
    let on_server = assert_exactly_once(&kit, &storage, org.id, &acked).await;
    let edits = std::mem::take(&mut *state.edits.lock().expect("lock"));
    assert!(!edits.visit_notes.is_empty(), "no visit note was written");
    let (visits, _) = assert_documents_exactly_once(&kit, &storage, org.id, &edits).await;

    println!(
        "{} kills ({killed_mid_sync} with a sync in flight), {} check-ins acknowledged, \
         {on_server} on the server, {} visit notes acknowledged over {visits} visits equal on both, syncs {} ok / {} failed, {} answered already_stored \
         (lost answers retried) + {final_already_stored} in the final sync, {:.1?}",
        KILLS + 1,
        acked.len(),
        edits.visit_notes.len(),
        state.syncs_ok.load(Ordering::SeqCst),
        state.syncs_failed.load(Ordering::SeqCst),
        state.already_stored.load(Ordering::SeqCst),
        started.elapsed()
    );
    Ok(())
}
