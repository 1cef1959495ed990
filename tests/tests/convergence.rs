//! Convergence: random interleavings of offline edits on three phones (two reps and a
//! manager) and the manager's edits on the server, synced in random orders. Every replica
//! ends equal, and no edit is lost: every note fragment written anywhere is in the final
//! text, and each task ends at the furthest status anyone set.

use std::collections::BTreeSet;

use fieldkit_domain::ids::{CustomerId, TaskId, VisitId};
use fieldkit_domain::model::{Task, TaskStatus};
use fieldkit_e2e::harness::{Api, Phone, TestOrg, TestServer, check_in_at, fix_at};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
enum Op {
    /// A phone (0: rep1, 1: rep2, 2: manager) appends to a task's notes.
    PhoneNotes { phone: usize, task: usize },
    /// A phone moves a task to a status (refused locally if it would go back).
    PhoneStatus { phone: usize, task: usize, status: TaskStatus },
    /// The manager appends to a task's notes on the server.
    ServerNotes { task: usize },
    /// The manager renames a task on the server.
    ServerTitle { task: usize },
    /// The manager moves a task on the server (refused if it would go back).
    ServerStatus { task: usize, status: TaskStatus },
    /// A rep checks out of their open visit, if any, and checks in (a new open visit).
    CheckIn { rep: usize },
    /// A phone appends to the notes of a visit it holds open (a checked-out visit is closed
    /// to edits on the phone that knows it was checked out).
    VisitNotes { phone: usize, pick: usize },
    /// A phone syncs.
    Sync { phone: usize },
}

fn status() -> impl Strategy<Value = TaskStatus> {
    prop_oneof![Just(TaskStatus::InProgress), Just(TaskStatus::Done), Just(TaskStatus::Cancelled)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3_usize, 0..2_usize).prop_map(|(phone, task)| Op::PhoneNotes { phone, task }),
        1 => (0..3_usize, 0..2_usize, status()).prop_map(|(phone, task, status)| Op::PhoneStatus { phone, task, status }),
        2 => (0..2_usize).prop_map(|task| Op::ServerNotes { task }),
        1 => (0..2_usize).prop_map(|task| Op::ServerTitle { task }),
        1 => (0..2_usize, status()).prop_map(|(task, status)| Op::ServerStatus { task, status }),
        1 => (0..2_usize).prop_map(|rep| Op::CheckIn { rep }),
        2 => (0..3_usize, 0..8_usize).prop_map(|(phone, pick)| Op::VisitNotes { phone, pick }),
        3 => (0..3_usize).prop_map(|phone| Op::Sync { phone }),
    ]
}

/// Whether `phone` holds `task` (rep1 holds task 0, rep2 task 1, the manager both).
fn holds(phone: usize, task: usize) -> bool {
    phone == 2 || phone == task
}

struct World {
    _server: TestServer,
    org: TestOrg,
    api: Api,
    phones: Vec<Phone>,
    tasks: Vec<TaskId>,
    /// Note fragments written to each task, and to each visit.
    task_tokens: Vec<Vec<String>>,
    visit_tokens: Vec<(VisitId, String)>,
    /// Every status successfully set on each task, and every title.
    statuses: Vec<BTreeSet<&'static str>>,
    titles: Vec<BTreeSet<String>>,
    next_token: usize,
}

impl World {
    async fn new(case: usize) -> anyhow::Result<Self> {
        let server = TestServer::start().await?;
        let org = server.org(&format!("case{case}"), 2).await?;
        let api = Api::new(&server.url);
        let mut tasks = Vec::new();
        for rep in 0..2 {
            let body = json!({ "kind": "customer_visit", "title": "start", "assignee_id": org.reps[rep].id });
            let (_, task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
            tasks.push(serde_json::from_value(task["id"].clone())?);
        }
        let slug = org.org.slug.clone();
        let phones = vec![
            server.phone(&slug, "rep1").await?,
            server.phone(&slug, "rep2").await?,
            server.phone(&slug, "manager").await?,
        ];
        for phone in &phones {
            phone.kit.sync_now().await?;
        }
        Ok(Self {
            _server: server,
            org,
            api,
            phones,
            tasks,
            task_tokens: vec![Vec::new(), Vec::new()],
            visit_tokens: Vec::new(),
            statuses: vec![BTreeSet::new(), BTreeSet::new()],
            titles: vec![BTreeSet::from(["start".to_owned()]), BTreeSet::from(["start".to_owned()])],
            next_token: 0,
        })
    }

    fn token(&mut self) -> String {
        self.next_token += 1;
        format!("[t{}]", self.next_token)
    }

    fn phone_task(&self, phone: usize, task: usize) -> anyhow::Result<Option<Task>> {
        Ok(self.phones[phone].kit.my_tasks()?.into_iter().find(|t| t.id == self.tasks[task]))
    }

    async fn server_task(&self, task: usize) -> anyhow::Result<Task> {
        let path = format!("/v1/tasks/{}", self.tasks[task]);
        let (_, body) = self.api.send("GET", &path, Some(&self.org.manager_token), None).await?;
        Ok(serde_json::from_value(body)?)
    }

    async fn patch(&self, task: usize, body: serde_json::Value) -> anyhow::Result<bool> {
        let path = format!("/v1/tasks/{}", self.tasks[task]);
        let (status, _) = self.api.send("PATCH", &path, Some(&self.org.manager_token), Some(&body)).await?;
        Ok(status.is_success())
    }

    async fn apply(&mut self, op: &Op) -> anyhow::Result<()> {
        match *op {
            Op::PhoneNotes { phone, task } if holds(phone, task) => {
                if let Some(current) = self.phone_task(phone, task)? {
                    let token = self.token();
                    let notes = format!("{}{token}", current.notes);
                    self.phones[phone].kit.update_task(self.tasks[task], None, Some(notes))?;
                    self.task_tokens[task].push(token);
                }
            }
            Op::PhoneStatus { phone, task, status } if holds(phone, task) => {
                if self.phone_task(phone, task)?.is_some()
                    && self.phones[phone].kit.update_task(self.tasks[task], Some(status), None).is_ok()
                {
                    self.statuses[task].insert(status.as_str());
                }
            }
            Op::ServerNotes { task } => {
                let current = self.server_task(task).await?;
                let token = self.token();
                if self.patch(task, json!({ "notes": format!("{}{token}", current.notes) })).await? {
                    self.task_tokens[task].push(token);
                }
            }
            Op::ServerTitle { task } => {
                let title = format!("title {}", self.token());
                if self.patch(task, json!({ "title": title })).await? {
                    self.titles[task].insert(title);
                }
            }
            Op::ServerStatus { task, status } => {
                if self.patch(task, json!({ "status": status })).await? {
                    self.statuses[task].insert(status.as_str());
                }
            }
            Op::CheckIn { rep } => {
                let kit = &self.phones[rep].kit;
                if let Some(open) = kit.open_visit()? {
                    kit.check_out(open.id, fix_at(31.2304, 121.4737))?;
                }
                kit.check_in(check_in_at(CustomerId::new()))?;
            }
            Op::VisitNotes { phone, pick } => {
                let visits: Vec<_> = self.phones[phone]
                    .kit
                    .visits()?
                    .into_iter()
                    .filter(|v| v.check_out_id.is_none())
                    .collect();
                if !visits.is_empty() {
                    let visit = &visits[pick % visits.len()];
                    let token = self.token();
                    let notes = format!("{}{token}", visit.notes);
                    self.phones[phone].kit.update_visit(visit.id, None, Some(notes))?;
                    self.visit_tokens.push((visit.id, token));
                }
            }
            Op::Sync { phone } => {
                self.phones[phone].kit.sync_now().await?;
            }
            Op::PhoneNotes { .. } | Op::PhoneStatus { .. } => {}
        }
        Ok(())
    }

    async fn settle_and_check(&self) -> anyhow::Result<()> {
        for _ in 0..3 {
            for phone in &self.phones {
                phone.kit.sync_now().await?;
            }
        }
        for phone in &self.phones {
            let status = phone.kit.sync_status()?;
            anyhow::ensure!(
                status.outbox.pending == 0 && status.outbox.parked == 0,
                "queue not drained: {status:?}"
            );
        }
        for task in 0..2 {
            let on_server = self.server_task(task).await?;
            for phone in (0..3).filter(|p| holds(*p, task)) {
                let on_phone = self.phone_task(phone, task)?;
                anyhow::ensure!(
                    on_phone.as_ref() == Some(&on_server),
                    "phone {phone} differs on task {task}"
                );
            }
            for token in &self.task_tokens[task] {
                anyhow::ensure!(
                    on_server.notes.contains(token.as_str()),
                    "lost {token} in {:?}",
                    on_server.notes
                );
            }
            let furthest = ["done", "cancelled", "in_progress"]
                .into_iter()
                .find(|s| self.statuses[task].contains(s))
                .unwrap_or("open");
            anyhow::ensure!(
                on_server.status.as_str() == furthest,
                "status {:?}, want {furthest}",
                on_server.status
            );
            anyhow::ensure!(
                self.titles[task].contains(&on_server.title),
                "title {:?} was never written",
                on_server.title
            );
        }
        let rep_visits: Vec<_> =
            [0, 1].iter().map(|p| self.phones[*p].kit.visits()).collect::<Result<_, _>>()?;
        let manager_visits = self.phones[2].kit.visits()?;
        let all_rep_visits: Vec<_> = rep_visits.into_iter().flatten().collect();
        anyhow::ensure!(all_rep_visits.len() == manager_visits.len(), "the manager's phone lacks visits");
        for visit in &all_rep_visits {
            let twin = manager_visits.iter().find(|v| v.id == visit.id);
            anyhow::ensure!(twin == Some(visit), "visit {} differs", visit.id);
        }
        for (id, token) in &self.visit_tokens {
            let visit = manager_visits.iter().find(|v| v.id == *id);
            anyhow::ensure!(
                visit.is_some_and(|v| v.notes.contains(token.as_str())),
                "lost {token} on visit {id}"
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 20, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_and_keep_every_edit_whatever_the_interleaving(ops in prop::collection::vec(op(), 10..60)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let case = ops.len();
        let result: anyhow::Result<()> = runtime.block_on(async {
            let mut world = World::new(case).await?;
            for op in &ops {
                world.apply(op).await?;
            }
            world.settle_and_check().await
        });
        prop_assert!(result.is_ok(), "{:?}", result.err());
    }
}
