//! Task flows on the real server (issue #10 part 3): an admin defines a repair's ordered
//! steps (diagnose → quote → customer approval by the rep's manager → repair → sign-off); the
//! rep's phone does them in order, offline, asking for the approval step, which the manager
//! decides over HTTP; the task is finished only once every step is done, on the phone and on
//! the server (a manager's edit or a forged push marking it done early is refused naming the
//! step due); the server refuses a step pushed out of order, and an invalid flow definition
//! naming the step.

use fieldkit_domain::approval::{ApprovalStatus, NextTaskStep, StepId, TaskFlowError, TaskStepDone};
use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::docs::{self, task::TaskPatch};
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, TaskId, UserId};
use fieldkit_domain::model::TaskStatus;
use fieldkit_domain::protocol::{DocPush, Fact, PROTOCOL_VERSION, RecordKind, SyncRequest};
use fieldkit_e2e::api_org::{ApiOrg, Person, call};
use fieldkit_e2e::harness::{Api, TestServer, check_in_at};
use fieldkit_engine::{CheckInInput, Error, TaskStepRefusal};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An org with one department: its manager and a rep, and an admin.
struct Org {
    server: TestServer,
    api: Api,
    admin: Person,
    manager: Person,
    rep: Person,
}

async fn org() -> anyhow::Result<Org> {
    let built = ApiOrg::start().await?;
    let team = built.department("Service", None).await?;
    let manager = built.person("m-service", "m-service", "manager", &team).await?;
    let rep = built.person("r-service", "r-service", "rep", &team).await?;
    let ApiOrg { server, api, admin } = built;
    Ok(Org { server, api, admin, manager, rep })
}

fn action(id: &str) -> Value {
    json!({ "id": id, "title": id, "kind": { "type": "action" } })
}

/// Diagnose → quote → customer approval (the rep's manager) → repair → sign-off.
fn repair_steps(approval_kind: &str) -> Value {
    json!([
        action("diagnose"),
        { "id": "quote", "title": "Quote", "kind": { "type": "action", "evidence": { "type": "photo" } } },
        { "id": "customer_approval", "title": "Customer approval", "kind": { "type": "approval", "flow": {
            "kind": approval_kind,
            "steps": [{ "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" }]
        } } },
        action("repair"),
        action("sign_off")
    ])
}

fn step(s: &str) -> StepId {
    StepId::from(s)
}

/// The org with the repair flow defined, a repair dispatched to the rep, and the rep's phone
/// synced (it holds the task and the flow).
async fn repair_on_a_phone() -> anyhow::Result<(Org, TaskId, fieldkit_e2e::harness::Phone)> {
    let o = org().await?;
    let steps = Some(json!({ "steps": repair_steps("task_step") }));
    let (status, answer) = call(&o.api, "PUT", &o.admin, "/v1/task-flows/repair", steps).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {answer}");
    let task = json!({ "kind": "repair", "title": "fix the fridge", "assignee_id": o.rep.id });
    let (status, task) = call(&o.api, "POST", &o.manager, "/v1/tasks", Some(task)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {task}");
    let task_id: TaskId = serde_json::from_value(task["id"].clone())?;
    let phone = o.server.phone("acme", "r-service").await?;
    phone.kit.sync_now().await?;
    Ok((o, task_id, phone))
}

/// The quote step's evidence: a visit checked in for the task with a photo in it, then the
/// step marked done and the visit checked out.
fn quote_with_photo(kit: &fieldkit_engine::FieldKit, task_id: TaskId) -> anyhow::Result<()> {
    let input = CheckInInput { task_id: Some(task_id), ..check_in_at(CustomerId::new()) };
    let visit = kit.check_in(input)?;
    kit.record_photo(Some(visit.visit_id), b"the quote, photographed", None)?;
    kit.complete_task_step(task_id, step("quote"))?;
    kit.check_out(visit.visit_id, visit.fix)?;
    Ok(())
}

fn message(answer: &Value) -> &str {
    answer["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_task_flow_with_an_approval_step_whose_flow_is_not_for_task_steps_is_refused_naming_the_step()
-> anyhow::Result<()> {
    let o = org().await?;
    let put = |who: &Person, steps: Value| {
        let o = &o;
        let who_token = who.token.clone();
        async move {
            o.api
                .send("PUT", "/v1/task-flows/repair", Some(&who_token), Some(&json!({ "steps": steps })))
                .await
        }
    };
    let (status, answer) = put(&o.admin, repair_steps("leave")).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(message(&answer).contains("customer_approval"), "{answer}");
    let (status, answer) = put(&o.admin, json!([action("diagnose"), action("diagnose")])).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(message(&answer).contains("diagnose"), "{answer}");
    let (status, _) = put(&o.manager, repair_steps("task_step")).await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "only an admin defines task flows");
    let (status, answer) = o
        .api
        .send(
            "PUT",
            "/v1/task-flows/juggling",
            Some(&o.admin.token),
            Some(&json!({ "steps": [action("a")] })),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, flows) = call(&o.api, "GET", &o.rep, "/v1/task-flows", None).await?;
    assert_eq!((status, flows.as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{flows}");
    Ok(())
}

#[tokio::test]
async fn a_repair_goes_through_its_steps_in_order_with_the_managers_approval_and_only_then_is_done()
-> anyhow::Result<()> {
    let o = org().await?;
    // A task_step approval flow of the org's own, which the task flow's step must not replace.
    let own = json!([{ "id": "admin", "title": "Admin", "approvers": [{ "type": "role", "role": "admin" }], "rule": "any_of" }]);
    let (status, answer) =
        call(&o.api, "PUT", &o.admin, "/v1/approval-flows/task_step", Some(json!({ "steps": own }))).await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, defined) = call(
        &o.api,
        "PUT",
        &o.admin,
        "/v1/task-flows/repair",
        Some(json!({ "steps": repair_steps("task_step") })),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{defined}");
    assert_eq!(
        defined["steps"][2]["kind"]["flow"]["version"], 2,
        "stored as the next task_step version: {defined}"
    );
    let (_, current) = call(&o.api, "GET", &o.admin, "/v1/approval-flows", None).await?;
    assert_eq!(current[0]["version"], 1, "the org's current task_step flow is unchanged: {current}");
    let (status, flows) = call(&o.api, "GET", &o.rep, "/v1/task-flows", None).await?;
    assert_eq!((status, flows.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{flows}");

    let (status, task) = call(
        &o.api,
        "POST",
        &o.manager,
        "/v1/tasks",
        Some(json!({ "kind": "repair", "title": "fix the fridge", "assignee_id": o.rep.id })),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let task_id: TaskId = serde_json::from_value(task["id"].clone())?;

    let phone = o.server.phone("acme", "r-service").await?;
    phone.kit.sync_now().await?;
    let steps = phone.kit.task_steps(task_id)?.expect("the repair flow reached the phone");
    assert_eq!(steps.next, NextTaskStep::Action { step: step("diagnose") });

    // Out of order on the phone: refused naming the step due, nothing stored.
    let early = phone.kit.complete_task_step(task_id, step("repair"));
    assert!(
        matches!(early, Err(Error::TaskStep(TaskStepRefusal::Flow(TaskFlowError::OutOfOrder { ref expected, .. })))
            if *expected == step("diagnose")),
        "{early:?}"
    );
    let diagnosed = phone.kit.complete_task_step(task_id, step("diagnose"))?;
    // The quote asks for a photo in a visit for the task.
    let no_photo = phone.kit.complete_task_step(task_id, step("quote"));
    assert!(
        matches!(no_photo, Err(Error::TaskStep(TaskStepRefusal::EvidenceMissing { needs: "photo", .. }))),
        "{no_photo:?}"
    );
    quote_with_photo(&phone.kit, task_id)?;
    let early_approval = phone.kit.request_task_step_approval(task_id, step("repair"), None, String::new());
    assert!(matches!(early_approval, Err(Error::TaskStep(_))), "{early_approval:?}");
    let unfinished = phone.kit.update_task(task_id, Some(TaskStatus::Done), None);
    assert!(
        matches!(unfinished, Err(Error::TaskStep(TaskStepRefusal::Unfinished { ref step, .. })) if *step == self::step("customer_approval")),
        "{unfinished:?}"
    );

    // The customer's approval, asked for on the phone, decided by the rep's manager.
    let asked = phone.kit.request_task_step_approval(
        task_id,
        step("customer_approval"),
        Some(45_000),
        "quote accepted".into(),
    )?;
    assert_eq!(asked.flow_version, 2, "raised under the step's own flow");
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.rejected, 0, "{:?}", phone.kit.parked_items()?);
    let still = phone.kit.complete_task_step(task_id, step("repair"));
    assert!(matches!(still, Err(Error::TaskStep(_))), "pending approval: {still:?}");
    let (status, decided) = call(
        &o.api,
        "POST",
        &o.manager,
        &format!("/v1/approvals/{}/decisions", asked.id),
        Some(json!({ "verdict": "approve", "comment": "go ahead" })),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{decided}");
    phone.kit.sync_now().await?;
    let steps = phone.kit.task_steps(task_id)?.expect("flow");
    assert_eq!(steps.next, NextTaskStep::Action { step: step("repair") });
    assert_eq!(steps.done, [step("diagnose"), step("quote"), step("customer_approval")]);
    assert!(matches!(
        phone.kit.approvals()?[0].view.as_ref().map(|v| &v.status),
        Some(ApprovalStatus::Approved { .. })
    ));

    phone.kit.complete_task_step(task_id, step("repair"))?;
    phone.kit.complete_task_step(task_id, step("sign_off"))?;
    assert_eq!(phone.kit.task_steps(task_id)?.map(|s| s.next), Some(NextTaskStep::Finished));
    let done = phone.kit.update_task(task_id, Some(TaskStatus::Done), None)?;
    assert_eq!(done.status, TaskStatus::Done);
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.rejected, 0, "{:?}", phone.kit.parked_items()?);
    assert!(phone.kit.parked_items()?.is_empty());
    let (_, on_server) = call(&o.api, "GET", &o.manager, &format!("/v1/tasks/{task_id}"), None).await?;
    assert_eq!(on_server["status"], "done", "{on_server}");

    // A forged step pushed out of order (sign-off again, and a step on a second task) is
    // refused by the server naming the step.
    let (_, second) = call(
        &o.api,
        "POST",
        &o.manager,
        "/v1/tasks",
        Some(json!({ "kind": "repair", "title": "fix the oven", "assignee_id": o.rep.id })),
    )
    .await?;
    let second: TaskId = serde_json::from_value(second["id"].clone())?;
    let forged = |task_id: TaskId, s: &str, rep_id: UserId| {
        Fact::TaskStepDone(TaskStepDone {
            id: FactId::new(),
            task_id,
            step: step(s),
            rep_id,
            at: EventTime {
                device_ms: diagnosed.at.device_ms,
                hlc: Hlc { wall_ms: 1, counter: 0, node: 7 },
                server_estimate_ms: None,
            },
        })
    };
    let answer = o
        .api
        .push_facts(
            &o.rep.token,
            vec![forged(second, "repair", o.rep.id), forged(task_id, "sign_off", o.rep.id)],
            &["rejected"],
        )
        .await?;
    let reasons: Vec<&str> = answer["acks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["reason"].as_str().unwrap_or_default())
        .collect();
    assert!(reasons[0].contains("repair") && reasons[0].contains("diagnose"), "{answer}");
    assert!(reasons[1].contains("sign_off"), "{answer}");
    // In order, the second task's first step is stored; its quote without a photo in a
    // visit for it is not; someone else's task is not theirs.
    o.api.push_facts(&o.rep.token, vec![forged(second, "diagnose", o.rep.id)], &["stored"]).await?;
    let answer =
        o.api.push_facts(&o.rep.token, vec![forged(second, "quote", o.rep.id)], &["rejected"]).await?;
    let reason = answer["acks"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("quote") && reason.contains("photo"), "{answer}");
    o.api.push_facts(&o.admin.token, vec![forged(second, "quote", o.admin.id)], &["rejected"]).await?;
    Ok(())
}

#[tokio::test]
async fn the_server_refuses_a_task_marked_done_before_its_flow_is_finished_from_a_phone_or_a_manager()
-> anyhow::Result<()> {
    let (o, task_id, phone) = repair_on_a_phone().await?;
    phone.kit.complete_task_step(task_id, step("diagnose"))?;
    phone.kit.sync_now().await?;

    // The manager, over HTTP: 409 naming the step due, the task unchanged.
    let path = format!("/v1/tasks/{task_id}");
    let (status, answer) =
        call(&o.api, "PATCH", &o.manager, &path, Some(json!({ "status": "done" }))).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(message(&answer).contains("quote"), "{answer}");
    let (_, on_server) = call(&o.api, "GET", &o.manager, &path, None).await?;
    assert_eq!(on_server["status"], "open", "{on_server}");

    // A phone that skips its own check (a forged document change): refused naming the step,
    // the stored task unchanged.
    let org_id = o.server.storage.org_by_slug("acme").await?.expect("the org exists").id;
    let before = o.server.storage.doc(org_id, RecordKind::Task, task_id.0).await?.expect("stored");
    let mut doc = docs::load(&before.state, docs::actor(uuid::Uuid::now_v7()))?;
    docs::task::apply(&mut doc, &TaskPatch { status: Some(TaskStatus::Done), ..TaskPatch::default() })?;
    let push = DocPush { kind: RecordKind::Task, id: task_id.0, changes: doc.save() };
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: DeviceId::new(),
        cursor: 0,
        pull_limit: 10,
        sent_at_ms: 0,
        push: vec![],
        docs: vec![push],
    };
    let (status, answer) =
        call(&o.api, "POST", &o.rep, "/v1/sync", Some(serde_json::to_value(request)?)).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["doc_acks"][0]["outcome"], "rejected", "{answer}");
    let reason = answer["doc_acks"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("quote") && reason.contains("flow"), "{answer}");
    let after = o.server.storage.doc(org_id, RecordKind::Task, task_id.0).await?.expect("stored");
    assert_eq!(after.state, before.state);

    // Once every step is done, the same change is accepted.
    quote_with_photo(&phone.kit, task_id)?;
    let asked =
        phone.kit.request_task_step_approval(task_id, step("customer_approval"), None, String::new())?;
    phone.kit.sync_now().await?;
    let decisions = format!("/v1/approvals/{}/decisions", asked.id);
    let (status, _) =
        call(&o.api, "POST", &o.manager, &decisions, Some(json!({ "verdict": "approve" }))).await?;
    assert_eq!(status, StatusCode::CREATED);
    phone.kit.sync_now().await?;
    phone.kit.complete_task_step(task_id, step("repair"))?;
    phone.kit.complete_task_step(task_id, step("sign_off"))?;
    phone.kit.sync_now().await?;
    let (status, answer) =
        call(&o.api, "PATCH", &o.manager, &path, Some(json!({ "status": "done" }))).await?;
    assert_eq!((status, answer["status"].as_str()), (StatusCode::OK, Some("done")), "{answer}");
    Ok(())
}

#[tokio::test]
async fn a_task_step_waiting_for_a_decision_is_not_asked_for_twice_on_the_phone_or_the_server()
-> anyhow::Result<()> {
    let (o, task_id, phone) = repair_on_a_phone().await?;
    phone.kit.complete_task_step(task_id, step("diagnose"))?;
    quote_with_photo(&phone.kit, task_id)?;
    let asked =
        phone.kit.request_task_step_approval(task_id, step("customer_approval"), None, String::new())?;

    // Offline, not synced yet: the phone refuses a second request and queues nothing.
    let waiting = phone.kit.sync_status()?.outbox.pending;
    let again = phone.kit.request_task_step_approval(task_id, step("customer_approval"), None, String::new());
    assert!(
        matches!(again, Err(Error::TaskStep(TaskStepRefusal::Flow(TaskFlowError::AlreadyRequested { ref step })))
            if *step == self::step("customer_approval")),
        "{again:?}"
    );
    assert_eq!(phone.kit.sync_status()?.outbox.pending, waiting);
    // The steps and the request go up in one push and are all accepted.
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.rejected, 0, "{:?}", phone.kit.parked_items()?);

    // A forged second request while the first waits: refused by the server naming the step.
    let mut second = asked.clone();
    second.id = FactId::new();
    let answer = o.api.push_facts(&o.rep.token, vec![Fact::ApprovalRequest(second)], &["rejected"]).await?;
    let reason = answer["acks"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("customer_approval") && reason.contains("waiting"), "{answer}");
    // The first one retried is no error.
    o.api.push_facts(&o.rep.token, vec![Fact::ApprovalRequest(asked.clone())], &["already_stored"]).await?;

    // Rejected, it may be asked for again.
    let decisions = format!("/v1/approvals/{}/decisions", asked.id);
    let (status, _) =
        call(&o.api, "POST", &o.manager, &decisions, Some(json!({ "verdict": "reject" }))).await?;
    assert_eq!(status, StatusCode::CREATED);
    phone.kit.sync_now().await?;
    phone.kit.request_task_step_approval(task_id, step("customer_approval"), None, "lower quote".into())?;
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.rejected, 0, "{:?}", phone.kit.parked_items()?);
    Ok(())
}
