//! Chaos: real server, real SQLite, real engines, and between them a proxy that drops, delays,
//! cuts and fails requests and loses or cuts short answers the server already committed.
//!
//! The reps record facts (check-ins, check-outs) and edit shared documents (their visits'
//! notes and SOP steps, at the visit and later; their tasks' notes): at the end the server
//! holds every fact once and every visit document equal, by content, to its phone's.
//!
//! Each phone talks through its own [`FaultProxy`], seeded per phone: a phone's syncs run one
//! at a time, so the n-th request of a phone gets the same fault in every run, while the
//! three phones load the server concurrently. (What a request carries can differ slightly
//! between runs: some check-ins land while a sync is in flight.)

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use fieldkit_domain::docs::{self, visit};
use fieldkit_domain::ids::{CustomerId, FactId, TaskId, UserId, VisitId};
use fieldkit_domain::model::{CheckIn, LocationFix, LocationProvider, Task, Visit, WgsPoint};
use fieldkit_domain::protocol::{Fact, RecordKind};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, open_phone};
use fieldkit_e2e::proxy::{FaultCounts, FaultPlan, FaultProxy, SplitMix64};
use fieldkit_engine::{CheckInInput, FieldKit, SyncReport};
use fieldkit_server::storage::FactFilter;
use reqwest::StatusCode;
use serde_json::json;

/// Phones (reps) in the org.
const PHONES: usize = 3;
/// Check-ins a phone makes offline in one stretch, once: more than one push batch (200).
const OFFLINE_STRETCH: usize = 260;
/// The seed of everything random here; each phone's proxy and workload derive from it.
const SEED: u64 = 0x00C0_FFEE_F1E1_D0C5;

/// About 30% of requests fail one way or another, and 8% more are delayed.
fn chaos_plan(seed: u64) -> FaultPlan {
    FaultPlan {
        seed,
        drop: 0.06,
        lose_answer: 0.06,
        delay: 0.08,
        cut_body: 0.06,
        cut_answer: 0.06,
        server_error: 0.06,
        max_delay: Duration::from_millis(200),
    }
}

/// The seed of one random stream (`salt`: proxies, workloads, the manager) of phone `index`.
fn seed_for(salt: u64, index: usize) -> u64 {
    let index = u64::try_from(index).unwrap_or(0);
    SEED.rotate_left(u32::try_from(salt % 64).unwrap_or(0)) ^ (index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

struct ChaosPhone {
    name: String,
    rep: UserId,
    kit: FieldKit,
    proxy: FaultProxy,
    _dir: tempfile::TempDir,
}

/// What one phone did during the chaos.
#[derive(Default)]
struct PhoneRun {
    made: Vec<CheckIn>,
    syncs_ok: u32,
    syncs_failed: u32,
    pushed: u32,
    already_stored: u32,
    pulled: u32,
    /// The documents this phone edited, as it last left them.
    edits: Edits,
}

/// The shared documents a phone edited, as it last left them.
#[derive(Default)]
struct Edits {
    /// Tasks this phone checked in against, with the last note it wrote on each (if any).
    worked: HashMap<TaskId, Option<String>>,
    /// Every visit the phone opened, with the notes and steps it gave it.
    visits: HashMap<VisitId, VisitEdits>,
    /// The same visits in the order they were opened (to pick one by a seeded draw).
    order: Vec<VisitId>,
    /// Visit edits made: notes and steps at the visit.
    visit_edits: u32,
    /// Edits of closed visits, each refused as closed.
    closed_refused: u32,
    /// Task notes written.
    task_edits: u32,
}

/// What a visit should hold: the phone's last notes and every step it completed.
#[derive(Default)]
struct VisitEdits {
    notes: String,
    steps: BTreeSet<u32>,
}

/// The tasks the manager promises never to move or delete: the ones reps may work on.
type Workable = Arc<Mutex<HashSet<TaskId>>>;

/// The phones of the org's reps, each behind its own faulty proxy, logged in through it.
/// Returns them and the login attempts it took.
async fn phones_behind_proxies(
    server: &TestServer,
    org: &TestOrg,
) -> anyhow::Result<(Vec<Arc<ChaosPhone>>, u32)> {
    let mut phones = Vec::new();
    let mut login_attempts = 0;
    for (index, rep) in org.reps.iter().enumerate() {
        let proxy = FaultProxy::start(&server.url, chaos_plan(seed_for(1, index))).await?;
        let dir = tempfile::tempdir()?;
        let kit = open_phone(&dir.path().join("fieldkit.db"), proxy.url(), &org.org.slug)?;
        let name = format!("rep{}", index + 1);
        login_attempts += login_through_faults(&kit, &name).await?;
        phones.push(Arc::new(ChaosPhone { name, rep: rep.id, kit, proxy, _dir: dir }));
    }
    Ok((phones, login_attempts))
}

/// Logs in through the faulty network, retrying what may succeed later.
async fn login_through_faults(kit: &FieldKit, username: &str) -> anyhow::Result<u32> {
    for attempt in 1..=100 {
        match kit.login(username, PASSWORD).await {
            Ok(_) => return Ok(attempt),
            Err(e) if e.is_retryable() => {}
            Err(e) => bail!("{username}: login failed for good: {e}"),
        }
    }
    bail!("{username}: no login got through in 100 attempts")
}

fn fix(phone: usize, n: usize) -> LocationFix {
    // A distinct point per check-in, around People's Square.
    let step = f64::from(u32::try_from(n).unwrap_or(u32::MAX)) * 1e-5;
    let lat = 31.2304 + f64::from(u32::try_from(phone).unwrap_or(0)) * 0.01 + step;
    LocationFix {
        point: WgsPoint::new(lat, 121.4737 - step).expect("a point near Shanghai"),
        accuracy_m: 12.5,
        fix_time_ms: 1_764_201_600_000,
        provider: LocationProvider::Gnss,
        is_mock: false,
    }
}

/// One check-in, written on the phone (blocking SQLite work, moved off the async workers).
/// With `workable`, one check-in in three is at one of the phone's workable tasks, and
/// one of those in four also writes the task's notes. Before the check-out, one visit in
/// three gets notes and one without a task in four an SOP step; after it, one time in eight,
/// an edit of an earlier (closed) visit is refused.
fn check_in(
    phone: &ChaosPhone,
    index: usize,
    n: usize,
    rng: &mut SplitMix64,
    workable: Option<&Workable>,
    edits: &mut Edits,
) -> anyhow::Result<CheckIn> {
    tokio::task::block_in_place(|| {
        let mut task_id = None;
        if let Some(workable) = workable
            && rng.below(3) == 0
        {
            let mine: Vec<TaskId> = {
                let workable = workable.lock().unwrap_or_else(PoisonError::into_inner);
                let tasks = phone.kit.my_tasks()?;
                tasks.iter().map(|t| t.id).filter(|id| workable.contains(id)).collect()
            };
            if !mine.is_empty() {
                let id = mine[usize::try_from(rng.below(u64::try_from(mine.len())?))?];
                task_id = Some(id);
                let note = edits.worked.entry(id).or_default();
                if rng.below(4) == 0 {
                    let text = format!("{} note #{n}", phone.name);
                    phone.kit.update_task(id, None, Some(text.clone()))?;
                    *note = Some(text);
                    edits.task_edits += 1;
                }
            }
        }
        let input = CheckInInput {
            customer_id: CustomerId::new(),
            task_id,
            fix: fix(index, n),
            note: n.is_multiple_of(3).then(|| format!("{} visit #{n}", phone.name)),
        };
        let check_in = phone.kit.check_in(input)?;
        let visit_id = check_in.visit_id;
        let mut expected = VisitEdits::default();
        if rng.below(3) == 0 {
            let notes = format!("{} at visit #{n}: 货架已检查", phone.name);
            phone.kit.update_visit(visit_id, None, Some(notes.clone()))?;
            expected.notes = notes;
            edits.visit_edits += 1;
        }
        // A visit without a task follows no SOP: any step may be marked.
        if task_id.is_none() && rng.below(4) == 0 {
            let step = u32::try_from(rng.below(3))?;
            phone.kit.update_visit(visit_id, Some(step), None)?;
            expected.steps.insert(step);
            edits.visit_edits += 1;
        }
        // Each visit is closed at once: a rep checks out before the next check-in.
        phone.kit.check_out(visit_id, check_in.fix)?;
        // A checked-out visit is closed: a later edit is refused and queues nothing.
        if !edits.order.is_empty() && rng.below(8) == 0 {
            let earlier = edits.order[usize::try_from(rng.below(u64::try_from(edits.order.len())?))?];
            let waiting = phone.kit.sync_status()?.outbox.pending;
            let refused = phone.kit.update_visit(earlier, None, Some(format!("later #{n}")));
            anyhow::ensure!(
                matches!(refused, Err(fieldkit_engine::Error::Closed(_))),
                "an edit of closed visit {earlier} was not refused as closed: {refused:?}"
            );
            anyhow::ensure!(
                phone.kit.sync_status()?.outbox.pending == waiting,
                "a refused edit queued something"
            );
            edits.closed_refused += 1;
        }
        edits.visits.insert(visit_id, expected);
        edits.order.push(visit_id);
        Ok(check_in)
    })
}

/// Counts a sync's outcome; a failure the engine does not call retryable is a bug.
fn tally(
    phone: &ChaosPhone,
    run: &mut PhoneRun,
    result: fieldkit_engine::Result<SyncReport>,
) -> anyhow::Result<()> {
    match result {
        Ok(report) => {
            run.syncs_ok += 1;
            run.pushed += report.pushed;
            run.already_stored += report.already_stored;
            run.pulled += report.pulled;
            ensure!(report.rejected == 0, "{}: the server refused a fact: {report:?}", phone.name);
        }
        Err(e) if e.is_retryable() => run.syncs_failed += 1,
        Err(e) => bail!("{}: a sync failed with a non-retryable error: {e}", phone.name),
    }
    Ok(())
}

/// A rep's day through the faulty network: `check_ins` check-ins in small groups, a sync
/// after each (some with check-ins made while it is in flight), and one long offline stretch.
/// With `workable`, some check-ins are at the rep's tasks (see [`check_in`]).
async fn drive(
    phone: Arc<ChaosPhone>,
    index: usize,
    check_ins: usize,
    seed: u64,
    workable: Option<Workable>,
) -> anyhow::Result<PhoneRun> {
    let mut rng = SplitMix64::new(seed);
    let mut run = PhoneRun::default();
    let stretch_at = 150 + usize::try_from(rng.below(200)).unwrap_or(0);
    let mut stretch_done = false;
    while run.made.len() < check_ins {
        let group = if !stretch_done && run.made.len() >= stretch_at {
            stretch_done = true;
            OFFLINE_STRETCH
        } else {
            1 + usize::try_from(rng.below(5)).unwrap_or(0)
        };
        for _ in 0..group.min(check_ins - run.made.len()) {
            let n = run.made.len();
            let made = check_in(&phone, index, n, &mut rng, workable.as_ref(), &mut run.edits)?;
            run.made.push(made);
        }
        if rng.below(4) == 0 && run.made.len() < check_ins {
            // The rep keeps checking in while a sync is on the wire.
            let during = (1 + usize::try_from(rng.below(3)).unwrap_or(0)).min(check_ins - run.made.len());
            let base = run.made.len();
            let (result, made_during) = tokio::join!(phone.kit.sync_now(), async {
                let mut made = Vec::new();
                for k in 0..during {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    made.push(check_in(
                        &phone,
                        index,
                        base + k,
                        &mut rng,
                        workable.as_ref(),
                        &mut run.edits,
                    )?);
                }
                anyhow::Ok(made)
            });
            run.made.extend(made_during?);
            tally(&phone, &mut run, result)?;
        } else {
            let result = phone.kit.sync_now().await;
            tally(&phone, &mut run, result)?;
        }
    }
    Ok(run)
}

/// Every phone's day, at the same time; the runs in phone order.
async fn run_days(
    phones: &[Arc<ChaosPhone>],
    check_ins: usize,
    workable: Option<&Workable>,
) -> anyhow::Result<Vec<PhoneRun>> {
    let mut days = tokio::task::JoinSet::new();
    for (index, phone) in phones.iter().enumerate() {
        let phone = phone.clone();
        let workable = workable.cloned();
        days.spawn(
            async move { (index, drive(phone, index, check_ins, seed_for(2, index), workable).await) },
        );
    }
    let mut runs: Vec<Option<PhoneRun>> = phones.iter().map(|_| None).collect();
    tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(joined) = days.join_next().await {
            let (index, run) = joined?;
            runs[index] = Some(run?);
        }
        anyhow::Ok(())
    })
    .await
    .context("the phones' days did not end within 300 s")??;
    Ok(runs.into_iter().map(|r| r.expect("every day ended")).collect())
}

/// What all the proxies did.
fn total_counts(phones: &[Arc<ChaosPhone>]) -> FaultCounts {
    phones.iter().map(|p| p.proxy.counts()).fold(FaultCounts::default(), |a, b| a + b)
}

/// The network heals: faults off, and every phone syncs until its queue is empty and it has
/// pulled everything. Returns the syncs it took.
async fn heal(phones: &[Arc<ChaosPhone>]) -> anyhow::Result<u32> {
    for phone in phones {
        phone.proxy.set_faults_enabled(false);
    }
    let mut syncs = 0;
    for phone in phones {
        let mut attempts = 0;
        loop {
            attempts += 1;
            phone
                .kit
                .sync_now()
                .await
                .with_context(|| format!("{}: sync on a healthy network", phone.name))?;
            syncs += 1;
            if phone.kit.sync_status()?.outbox.pending == 0 {
                break;
            }
            ensure!(attempts < 5, "{}: the queue does not drain on a healthy network", phone.name);
        }
    }
    Ok(syncs)
}

/// The server holds every check-in the phones made exactly once, as its phone made it, and
/// every phone knows each of its check-ins is synced, with nothing parked. Every visit
/// document on the server, read from its stored automerge state, projects to exactly the
/// phone's visit, which holds the notes and steps the phone last gave it.
async fn assert_every_check_in_stored_once(
    server: &TestServer,
    org: &TestOrg,
    phones: &[Arc<ChaosPhone>],
    runs: &[PhoneRun],
    per_phone: usize,
) -> anyhow::Result<()> {
    let made: HashMap<FactId, (&ChaosPhone, &CheckIn)> = phones
        .iter()
        .zip(runs)
        .flat_map(|(phone, run)| run.made.iter().map(move |c| (c.id, (phone.as_ref(), c))))
        .collect();
    let total_made: usize = runs.iter().map(|r| r.made.len()).sum();
    assert_eq!(total_made, phones.len() * per_phone);
    assert_eq!(made.len(), total_made, "fact ids are unique across phones");

    let check_outs = FactFilter { kind: Some("check_out".into()), ..FactFilter::default() };
    let check_outs = server.storage.facts(org.org.id, check_outs).await?;
    assert_eq!(check_outs.len(), total_made, "every visit's check-out is stored once");
    let check_ins = FactFilter { kind: Some("check_in".into()), ..FactFilter::default() };
    let stored = server.storage.facts(org.org.id, check_ins).await?;
    let stored_ids: HashSet<FactId> = stored.iter().map(|f| f.id).collect();
    assert_eq!(stored_ids.len(), stored.len(), "the server holds a fact twice");
    let missing: Vec<_> = made.keys().filter(|id| !stored_ids.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} check-ins never reached the server, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    let unknown = stored_ids.iter().filter(|id| !made.contains_key(id)).count();
    assert_eq!(unknown, 0, "the server holds check-ins no phone made");
    assert_eq!(stored.len(), total_made);
    let seqs: HashSet<u64> = stored.iter().map(|f| f.seq).collect();
    assert_eq!(seqs.len(), stored.len(), "two facts share a sequence number");
    for fact in &stored {
        let (phone, original) = made[&fact.id];
        assert_eq!(fact.kind, "check_in");
        assert_eq!(fact.rep_id, phone.rep, "{} stored under another rep", fact.id);
        let Fact::CheckIn(body) = serde_json::from_str(&fact.body)? else {
            panic!("{} is stored as another kind of fact: {}", fact.id, fact.body);
        };
        // Everything but the floating-point fix, which a JSON round trip may not keep bit-exact.
        assert_eq!(
            (body.id, body.visit_id, body.customer_id, body.rep_id, body.task_id, body.at, &body.note),
            (
                original.id,
                original.visit_id,
                original.customer_id,
                original.rep_id,
                original.task_id,
                original.at,
                &original.note
            ),
            "the server's copy of {} differs from the phone's",
            fact.id
        );
    }

    for (phone, run) in phones.iter().zip(runs) {
        let status = phone.kit.sync_status()?;
        assert_eq!((status.outbox.pending, status.outbox.parked), (0, 0), "{}", phone.name);
        assert!(phone.kit.parked_items()?.is_empty(), "{}", phone.name);
        assert_eq!(phone.kit.check_ins()?.len(), per_phone, "{}", phone.name);
        for check_in in &run.made {
            assert_eq!(phone.kit.is_synced(check_in.id)?, Some(true), "{}: {}", phone.name, check_in.id);
            // The visit the check-in opened is a shared document: on the server, for this rep.
            let visit = check_in.visit_id.0;
            assert_eq!(
                phone.kit.is_document_synced(RecordKind::Visit, visit)?,
                Some(true),
                "{}: visit {visit}",
                phone.name
            );
            let stored = server.storage.doc(org.org.id, RecordKind::Visit, visit).await?;
            let stored =
                stored.with_context(|| format!("{}: visit {visit} is not on the server", phone.name))?;
            assert_eq!(stored.audience, Some(phone.rep), "visit {visit} on the server");
            let on_server = server_visit(&stored.state)?;
            let on_phone = phone
                .kit
                .visit(check_in.visit_id)?
                .with_context(|| format!("{}: visit {visit}", phone.name))?;
            assert_eq!(on_phone, on_server, "{}: visit {visit} differs between phone and server", phone.name);
            let expected = &run.edits.visits[&check_in.visit_id];
            assert_eq!(on_phone.notes, expected.notes, "{}: notes of visit {visit}", phone.name);
            let steps: BTreeSet<u32> = on_phone.completed_steps.iter().copied().collect();
            assert_eq!(steps, expected.steps, "{}: steps of visit {visit}", phone.name);
            assert!(on_phone.check_out_id.is_some(), "{}: visit {visit} is not closed", phone.name);
        }
        assert_eq!(run.edits.visits.len(), per_phone, "{}: visits opened", phone.name);
    }
    Ok(())
}

/// The visit a stored automerge state holds, read as the server reads it.
fn server_visit(state: &[u8]) -> anyhow::Result<Visit> {
    let doc = docs::load(state, docs::actor(uuid::Uuid::nil()))?;
    Ok(visit::project(&doc)?)
}

/// Each kind of fault happened, and about as often as planned.
fn assert_the_faults_happened(c: &FaultCounts, min_requests: u64) {
    assert!(c.dropped > 0, "{c:?}");
    assert!(c.lost_answers > 0, "{c:?}");
    assert!(c.delayed > 0, "{c:?}");
    assert!(c.cut_bodies > 0, "{c:?}");
    assert!(c.cut_answers > 0, "{c:?}");
    assert!(c.server_errors > 0, "{c:?}");
    assert!(c.passed > 0, "{c:?}");
    assert_eq!(c.upstream_failures, 0, "the server itself failed requests: {c:?}");
    assert!(c.requests >= min_requests, "too few requests to call it chaos: {c:?}");
    assert!(c.faulted() * 100 >= c.requests * 25, "under 25% faulted: {c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fact_reaches_the_server_exactly_once_through_a_network_that_drops_cuts_and_fails_requests()
-> anyhow::Result<()> {
    const CHECK_INS_PER_PHONE: usize = 1_000;
    let started = Instant::now();
    let server = TestServer::start().await?;
    let org = server.org("acme", PHONES).await?;
    let (phones, login_attempts) = phones_behind_proxies(&server, &org).await?;

    let runs = run_days(&phones, CHECK_INS_PER_PHONE, None).await?;
    let counts = total_counts(&phones);
    let chaos_time = started.elapsed();
    let healing_syncs = heal(&phones).await?;

    assert_every_check_in_stored_once(&server, &org, &phones, &runs, CHECK_INS_PER_PHONE).await?;
    assert_the_faults_happened(&counts, 500);
    let syncs_failed: u32 = runs.iter().map(|r| r.syncs_failed).sum();
    let syncs_ok: u32 = runs.iter().map(|r| r.syncs_ok).sum();
    let pushed: u32 = runs.iter().map(|r| r.pushed).sum();
    let already_stored: u32 = runs.iter().map(|r| r.already_stored).sum();
    assert!(syncs_failed > 0 && syncs_ok > 0);
    assert!(already_stored > 0, "no lost answer was ever retried: {counts:?}");
    let visit_edits: u32 = runs.iter().map(|r| r.edits.visit_edits).sum();
    assert!(visit_edits > 0, "no visit document was edited");
    let closed_refused: u32 = runs.iter().map(|r| r.edits.closed_refused).sum();
    assert!(closed_refused > 0, "no edit of a closed visit was tried");

    eprintln!(
        "chaos (facts): {} check-ins by {PHONES} phones, {visit_edits} visit edits ({closed_refused} edits of closed visits refused), {} syncs ({syncs_ok} ok, \
         {syncs_failed} failed) + {healing_syncs} after healing, {login_attempts} login attempts; items \
         (facts and visits) pushed {pushed}, already stored {already_stored}; proxy: {counts:?}; {:.1}s \
         of chaos, {:.1}s in all",
        PHONES * CHECK_INS_PER_PHONE,
        syncs_ok + syncs_failed,
        chaos_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What the manager dispatched and left in place, as the manager last set it.
#[derive(Default)]
struct Dispatched {
    customers: HashSet<CustomerId>,
    /// Live tasks: assignee and title last set.
    tasks: HashMap<TaskId, (UserId, String)>,
    deleted: usize,
    operations: u32,
}

/// A manager at the dashboard (straight to the server, no faults) while the reps work:
/// creates customers and tasks, renames tasks, moves and deletes the movable ones (every
/// other task; the rest go to `workable`, for the reps to work on), until `done`.
async fn dispatch(
    server: &TestServer,
    org: &TestOrg,
    workable: &Workable,
    done: &AtomicBool,
) -> anyhow::Result<Dispatched> {
    let api = Api::new(&server.url);
    let token = org.manager_token.as_str();
    let mut rng = SplitMix64::new(seed_for(3, 0));
    let mut out = Dispatched::default();
    let mut movable: Vec<TaskId> = Vec::new();
    let mut all: Vec<TaskId> = Vec::new();
    let pick = |rng: &mut SplitMix64, ids: &[TaskId]| -> anyhow::Result<Option<TaskId>> {
        if ids.is_empty() {
            return Ok(None);
        }
        Ok(Some(ids[usize::try_from(rng.below(u64::try_from(ids.len())?))?]))
    };
    while !done.load(Ordering::SeqCst) || out.operations < 40 {
        out.operations += 1;
        let n = out.operations;
        let rep = org.reps[usize::try_from(rng.below(3))?].id;
        match rng.below(12) {
            0..=2 => {
                let body = json!({
                    "name": format!("Shop {n}"), "grade": "B",
                    "place": { "point": { "lat": 31.2, "lng": 121.4 }, "address": format!("Road {n}") }
                });
                let (status, customer) = api.send("POST", "/v1/customers", Some(token), Some(&body)).await?;
                ensure!(status == StatusCode::CREATED, "{status} {customer}");
                out.customers.insert(serde_json::from_value(customer["id"].clone())?);
            }
            3..=6 => {
                let title = format!("Visit {n}");
                let body = json!({ "kind": "customer_visit", "title": title, "assignee_id": rep });
                let (status, task) = api.send("POST", "/v1/tasks", Some(token), Some(&body)).await?;
                ensure!(status == StatusCode::CREATED, "{status} {task}");
                let id: TaskId = serde_json::from_value(task["id"].clone())?;
                out.tasks.insert(id, (rep, title));
                all.push(id);
                if n % 2 == 0 {
                    workable.lock().unwrap_or_else(PoisonError::into_inner).insert(id);
                } else {
                    movable.push(id);
                }
            }
            7..=8 => {
                if let Some(id) = pick(&mut rng, &movable)? {
                    let body = json!({ "assignee_id": rep });
                    let (status, answer) =
                        api.send("PATCH", &format!("/v1/tasks/{id}"), Some(token), Some(&body)).await?;
                    ensure!(status == StatusCode::OK, "move {id}: {status} {answer}");
                    if let Some(task) = out.tasks.get_mut(&id) {
                        task.0 = rep;
                    }
                }
            }
            9..=10 => {
                if let Some(id) = pick(&mut rng, &all)? {
                    let title = format!("Visit, renamed at {n}");
                    let body = json!({ "title": title });
                    let (status, answer) =
                        api.send("PATCH", &format!("/v1/tasks/{id}"), Some(token), Some(&body)).await?;
                    ensure!(status == StatusCode::OK, "rename {id}: {status} {answer}");
                    if let Some(task) = out.tasks.get_mut(&id) {
                        task.1 = title;
                    }
                }
            }
            _ => {
                if let Some(id) = pick(&mut rng, &movable)? {
                    let (status, answer) =
                        api.send("DELETE", &format!("/v1/tasks/{id}"), Some(token), None).await?;
                    ensure!(status.is_success(), "delete {id}: {status} {answer}");
                    movable.retain(|t| *t != id);
                    all.retain(|t| *t != id);
                    out.tasks.remove(&id);
                    out.deleted += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.below(15))).await;
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_phone_ends_with_exactly_its_tasks_and_all_customers_when_the_feed_crosses_a_faulty_network()
-> anyhow::Result<()> {
    const CHECK_INS_PER_PHONE: usize = 400;
    let started = Instant::now();
    let server = TestServer::start().await?;
    let org = server.org("acme", PHONES).await?;
    let (phones, _) = phones_behind_proxies(&server, &org).await?;

    // The reps work (checking in at their tasks, writing task notes) while the manager
    // dispatches, renames, moves and deletes.
    let workable = Workable::default();
    let done = AtomicBool::new(false);
    let (runs, dispatched) = tokio::join!(
        async {
            let runs = run_days(&phones, CHECK_INS_PER_PHONE, Some(&workable)).await;
            done.store(true, Ordering::SeqCst);
            runs
        },
        dispatch(&server, &org, &workable, &done)
    );
    let (runs, dispatched) = (runs?, dispatched?);
    let counts = total_counts(&phones);
    let healing_syncs = heal(&phones).await?;

    assert_every_check_in_stored_once(&server, &org, &phones, &runs, CHECK_INS_PER_PHONE).await?;
    assert_the_faults_happened(&counts, 200);

    // The server's tasks: the manager's last word on assignee and title, the reps' progress
    // and notes on the tasks they worked.
    let api = Api::new(&server.url);
    let mut on_server: HashMap<TaskId, Task> = HashMap::new();
    for (id, (assignee, title)) in &dispatched.tasks {
        let (status, task) =
            api.send("GET", &format!("/v1/tasks/{id}"), Some(&org.manager_token), None).await?;
        assert_eq!(status, StatusCode::OK, "task {id}: {task}");
        let task: Task = serde_json::from_value(task)?;
        assert_eq!((task.assignee_id, &task.title), (Some(*assignee), title), "task {id} on the server");
        on_server.insert(*id, task);
    }
    let mut worked_tasks = 0;
    for (phone, run) in phones.iter().zip(&runs) {
        for (id, note) in &run.edits.worked {
            worked_tasks += 1;
            let task = &on_server[id];
            assert_eq!(task.assignee_id, Some(phone.rep), "{}: worked task {id}", phone.name);
            assert_eq!(
                serde_json::to_value(task.status)?,
                json!("in_progress"),
                "{}: worked task {id}",
                phone.name
            );
            if let Some(note) = note {
                assert_eq!(&task.notes, note, "{}: notes of task {id}", phone.name);
            }
        }
    }

    // Every phone holds exactly its tasks, as the server has them, and every customer.
    for phone in &phones {
        let customers: HashSet<CustomerId> = phone.kit.customers()?.iter().map(|c| c.id).collect();
        assert_eq!(customers, dispatched.customers, "{}: customers", phone.name);
        let mine: HashMap<TaskId, Task> = phone.kit.my_tasks()?.into_iter().map(|t| (t.id, t)).collect();
        let expected: HashMap<TaskId, Task> = on_server
            .iter()
            .filter(|(_, t)| t.assignee_id == Some(phone.rep))
            .map(|(id, t)| (*id, t.clone()))
            .collect();
        assert_eq!(mine, expected, "{}: tasks", phone.name);
    }
    let pulled: u32 = runs.iter().map(|r| r.pulled).sum();
    assert!(pulled > 0, "no feed entry was pulled during the chaos");
    assert!(worked_tasks > 0, "no rep worked on a task during the chaos");
    let visit_edits: u32 = runs.iter().map(|r| r.edits.visit_edits).sum();
    let task_edits: u32 = runs.iter().map(|r| r.edits.task_edits).sum();
    assert!(task_edits > 0, "no rep wrote a task's notes during the chaos");

    eprintln!(
        "chaos (feed): {} check-ins, {} dispatch operations ({} customers, {} tasks live, {} deleted), \
         {worked_tasks} tasks worked by reps ({task_edits} task notes, {visit_edits} visit edits), {pulled} feed entries pulled during the chaos, {healing_syncs} \
         syncs after healing; proxy: {counts:?}; {:.1}s in all",
        PHONES * CHECK_INS_PER_PHONE,
        dispatched.operations,
        dispatched.customers.len(),
        dispatched.tasks.len(),
        dispatched.deleted,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
