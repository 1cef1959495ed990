//! Approval flows on the real server (issue #10): an admin's flow definitions validated, a
//! discount request pushed by a rep's phone and approved in two steps (the requester's feed
//! follows every step), a time-out escalating to a stand-in approver, two approvers racing
//! on one any-of step, and who may decide through every decision route.

use std::time::Duration;

use fieldkit_domain::approval::{ApprovalRequest, Decision, RequestSubject, StepId, TimeRange, Verdict};
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, UserId};
use fieldkit_domain::model::Currency;
use fieldkit_domain::protocol::{Fact, FeedChange, PROTOCOL_VERSION, Record, SyncRequest};
use fieldkit_e2e::api_org::{ApiOrg, Person, call};
use fieldkit_e2e::harness::{Api, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An org with East > Shanghai: a rep and their manager in Shanghai, East's manager above,
/// a second Shanghai manager, a manager of an unrelated West department and an admin.
struct Org {
    server: TestServer,
    api: Api,
    admin: Person,
    rep: Person,
    shanghai_head: Person,
    shanghai_deputy: Person,
    east_head: Person,
    west_head: Person,
}

async fn org() -> anyhow::Result<Org> {
    let built = ApiOrg::start().await?;
    let east = built.department("East", None).await?;
    let shanghai = built.department("Shanghai", Some(&east)).await?;
    let west = built.department("West", None).await?;
    // Made in this order so that the department's first manager by id is its head.
    let shanghai_head = built.person("m-shanghai", "m-shanghai", "manager", &shanghai).await?;
    let shanghai_deputy = built.person("m-deputy", "m-deputy", "manager", &shanghai).await?;
    let east_head = built.person("m-east", "m-east", "manager", &east).await?;
    let west_head = built.person("m-west", "m-west", "manager", &west).await?;
    let rep = built.person("r-shanghai", "r-shanghai", "rep", &shanghai).await?;
    let ApiOrg { server, api, admin } = built;
    Ok(Org { server, api, admin, rep, shanghai_head, shanghai_deputy, east_head, west_head })
}

async fn define(o: &Org, kind: &str, steps: Value) -> anyhow::Result<Value> {
    let (status, flow) =
        call(&o.api, "PUT", &o.admin, &format!("/v1/approval-flows/{kind}"), Some(json!({ "steps": steps })))
            .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {flow}");
    Ok(flow)
}

/// The rep's request as their phone pushes it (a fact from the outbox).
fn discount_request(o: &Org, discount_minor: i64, flow_version: u32) -> ApprovalRequest {
    ApprovalRequest {
        id: FactId::new(),
        requester_id: o.rep.id,
        department_id: o.rep.team,
        subject: RequestSubject::OrderDiscount {
            customer_id: CustomerId::new(),
            order_id: None,
            currency: Currency::parse("CNY").expect("a currency"),
            order_total_minor: 400_000,
            discount_minor,
        },
        reason: "the shop matches a competitor's price".into(),
        submitted_ms: fieldkit_server::now_ms() - 60_000,
        flow_version,
    }
}

/// The approval views in `who`'s feed, by request.
async fn feed_views(o: &Org, who: &Person) -> anyhow::Result<Vec<fieldkit_domain::approval::ApprovalView>> {
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: DeviceId::new(),
        cursor: 0,
        pull_limit: 1_000,
        sent_at_ms: fieldkit_server::now_ms(),
        push: Vec::new(),
        docs: Vec::new(),
    };
    let (status, answer) =
        call(&o.api, "POST", who, "/v1/sync", Some(serde_json::to_value(request)?)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    let feed: Vec<fieldkit_domain::protocol::FeedEntry> = serde_json::from_value(answer["feed"].clone())?;
    Ok(feed
        .into_iter()
        .filter_map(|e| match e.change {
            FeedChange::Upsert { record: Record::Approval(view) } => Some(*view),
            _ => None,
        })
        .collect())
}

async fn decide(
    o: &Org,
    who: &Person,
    id: FactId,
    verdict: &str,
    comment: &str,
) -> anyhow::Result<(StatusCode, Value)> {
    call(
        &o.api,
        "POST",
        who,
        &format!("/v1/approvals/{id}/decisions"),
        Some(json!({ "verdict": verdict, "comment": comment })),
    )
    .await
}

fn status_of(view: &Value) -> &str {
    view["status"]["status"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_admins_flow_is_checked_and_an_invalid_one_is_refused_naming_the_step() -> anyhow::Result<()> {
    let o = org().await?;
    let empty = json!([{ "id": "boss", "title": "Boss", "approvers": [], "rule": "any_of" }]);
    let (status, answer) =
        call(&o.api, "PUT", &o.admin, "/v1/approval-flows/leave", Some(json!({ "steps": empty }))).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("boss"), "{answer}");
    let unreachable = json!([
        { "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" },
        { "id": "backup", "title": "Backup", "approvers": [{ "type": "role", "role": "admin" }], "rule": "any_of", "escalation_only": true }
    ]);
    let (status, answer) =
        call(&o.api, "PUT", &o.admin, "/v1/approval-flows/leave", Some(json!({ "steps": unreachable })))
            .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("backup"), "{answer}");
    // Only an admin defines flows; everyone reads them, and each save is a new version.
    let one = json!([{ "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" }]);
    let (status, _) =
        call(&o.api, "PUT", &o.shanghai_head, "/v1/approval-flows/leave", Some(json!({ "steps": one })))
            .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(define(&o, "leave", one.clone()).await?["version"], 1);
    assert_eq!(define(&o, "leave", one).await?["version"], 2);
    let (status, flows) = call(&o.api, "GET", &o.rep, "/v1/approval-flows", None).await?;
    assert_eq!((status, flows.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{flows}");
    // Phones receive the current flow.
    let (_, answer) = call(
        &o.api,
        "POST",
        &o.rep,
        "/v1/sync",
        Some(serde_json::to_value(SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: DeviceId::new(),
            cursor: 0,
            pull_limit: 1_000,
            sent_at_ms: fieldkit_server::now_ms(),
            push: Vec::new(),
            docs: Vec::new(),
        })?),
    )
    .await?;
    assert!(answer["feed"].to_string().contains("\"approval_flow\""), "{answer}");
    let (status, _) =
        call(&o.api, "PUT", &o.admin, "/v1/approval-flows/holiday", Some(json!({ "steps": [] }))).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn a_large_discount_from_the_phone_is_approved_in_two_steps_and_the_phone_sees_each()
-> anyhow::Result<()> {
    let o = org().await?;
    let flow = define(&o, "order_discount", json!([
        { "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" },
        { "id": "head", "title": "Department head", "approvers": [{ "type": "department_head", "levels_up": 1 }],
          "rule": "any_of", "condition": { "type": "amount_over", "minor": 50000 } }
    ])).await?;
    let version = u32::try_from(flow["version"].as_u64().unwrap_or_default())?;
    let large = discount_request(&o, 80_000, version);
    let small = discount_request(&o, 10_000, version);
    o.api
        .push_facts(
            &o.rep.token,
            vec![Fact::ApprovalRequest(large.clone()), Fact::ApprovalRequest(small.clone())],
            &["stored"],
        )
        .await?;

    // The manager's inbox has both; the department head has nothing to decide yet.
    let (_, inbox) = call(&o.api, "GET", &o.shanghai_head, "/v1/approvals?to_decide=true", None).await?;
    assert_eq!(inbox.as_array().map(Vec::len), Some(2), "{inbox}");
    let (_, inbox) = call(&o.api, "GET", &o.east_head, "/v1/approvals?to_decide=true", None).await?;
    assert_eq!(inbox.as_array().map(Vec::len), Some(0), "{inbox}");

    let (status, view) = decide(&o, &o.shanghai_head, large.id, "approve", "fine by me").await?;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!((status_of(&view), view["status"]["step"].as_str()), ("pending", Some("head")), "{view}");
    let (status, view) = decide(&o, &o.shanghai_head, small.id, "approve", "ok").await?;
    assert_eq!((status, status_of(&view)), (StatusCode::CREATED, "approved"), "{view}");
    // After sync the phone sees the large one waiting for the head, the small one approved.
    let views = feed_views(&o, &o.rep).await?;
    let of = |id: FactId| views.iter().find(|v| v.request.id == id).map(|v| v.status.clone());
    assert!(
        matches!(of(large.id), Some(fieldkit_domain::approval::ApprovalStatus::Pending { ref step, .. }) if *step == StepId::from("head"))
    );
    assert!(matches!(of(small.id), Some(fieldkit_domain::approval::ApprovalStatus::Approved { .. })));

    let (status, view) = decide(&o, &o.east_head, large.id, "approve", "within the quarter's budget").await?;
    assert_eq!((status, status_of(&view)), (StatusCode::CREATED, "approved"), "{view}");
    let views = feed_views(&o, &o.rep).await?;
    let approved = views.iter().find(|v| v.request.id == large.id).expect("the view reached the phone");
    assert!(matches!(approved.status, fieldkit_domain::approval::ApprovalStatus::Approved { .. }));
    let who: Vec<(UserId, &str)> =
        approved.decisions.iter().map(|d| (d.approver_id, d.comment.as_str())).collect();
    assert_eq!(
        who,
        vec![(o.shanghai_head.id, "fine by me"), (o.east_head.id, "within the quarter's budget")]
    );
    // The manager reads who decided above them by name (East's head is outside their scope).
    let (_, detail) =
        call(&o.api, "GET", &o.shanghai_head, &format!("/v1/approvals/{}", large.id), None).await?;
    assert_eq!(detail["names"][o.east_head.id.to_string()], "m-east", "{detail}");
    // Final: nobody decides it again, and the other rep's managers never saw it.
    let (status, _) = decide(&o, &o.east_head, large.id, "reject", "changed my mind").await?;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, seen) = call(&o.api, "GET", &o.west_head, "/v1/approvals", None).await?;
    assert_eq!(seen.as_array().map(Vec::len), Some(0), "{seen}");
    Ok(())
}

#[tokio::test]
async fn a_step_that_times_out_escalates_to_its_stand_in_who_then_decides() -> anyhow::Result<()> {
    let o = org().await?;
    let admin_id = o.admin.id;
    define(
        &o,
        "leave",
        json!([
            { "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of",
              "timeout": { "after_ms": 3000, "escalate_to": { "type": "step", "step": "backup" } } },
            { "id": "backup", "title": "Stand-in", "approvers": [{ "type": "users", "users": [admin_id] }],
              "rule": "any_of", "escalation_only": true }
        ]),
    )
    .await?;
    let now = fieldkit_server::now_ms();
    let (status, made) = call(&o.api, "POST", &o.rep, "/v1/approvals", Some(json!({
        "subject": { "kind": "leave", "range": { "start_ms": now + 86_400_000, "end_ms": now + 3 * 86_400_000 } },
        "reason": "family" }))).await?;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["status"]["step"], "manager", "{made}");
    let id: FactId = serde_json::from_value(made["request"]["id"].clone())?;
    // The stand-in may not act before the time-out.
    let (status, _) = decide(&o, &o.admin, id, "approve", "early").await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    tokio::time::sleep(Duration::from_millis(3_300)).await;
    let (_, now_view) = call(&o.api, "GET", &o.rep, &format!("/v1/approvals/{id}"), None).await?;
    assert_eq!(
        (status_of(&now_view), now_view["status"]["step"].as_str()),
        ("pending", Some("backup")),
        "{now_view}"
    );
    // The manager was too late; the stand-in decides.
    let (status, _) = decide(&o, &o.shanghai_head, id, "approve", "late").await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, view) = decide(&o, &o.admin, id, "approve", "covering for the manager").await?;
    assert_eq!((status, status_of(&view)), (StatusCode::CREATED, "approved"), "{view}");
    let history: Vec<&str> = view["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["outcome"]["outcome"].as_str())
        .collect();
    assert_eq!(history, vec!["timed_out", "approved"], "{view}");
    Ok(())
}

#[tokio::test]
async fn two_approvers_deciding_an_any_of_step_at_once_resolve_to_one_decision() -> anyhow::Result<()> {
    let o = org().await?;
    let (head, deputy) = (o.shanghai_head.id, o.shanghai_deputy.id);
    let flow = define(&o, "order_discount", json!([
        { "id": "shanghai", "title": "Shanghai managers", "approvers": [{ "type": "users", "users": [head, deputy] }], "rule": "any_of" }
    ])).await?;
    let version = u32::try_from(flow["version"].as_u64().unwrap_or_default())?;
    for round in 0..5 {
        let request = discount_request(&o, 20_000 + round, version);
        o.api.push_facts(&o.rep.token, vec![Fact::ApprovalRequest(request.clone())], &["stored"]).await?;
        let (a, b) = tokio::join!(
            decide(&o, &o.shanghai_head, request.id, "approve", "yes"),
            decide(&o, &o.shanghai_deputy, request.id, "reject", "no"),
        );
        let mut statuses = [a?.0, b?.0];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "round {round}");
        let (_, detail) = call(&o.api, "GET", &o.rep, &format!("/v1/approvals/{}", request.id), None).await?;
        assert_eq!(detail["decisions"].as_array().map(Vec::len), Some(1), "round {round}: {detail}");
        assert!(matches!(status_of(&detail), "approved" | "rejected"), "{detail}");
    }
    Ok(())
}

#[tokio::test]
async fn only_the_current_steps_approvers_decide_through_any_route() -> anyhow::Result<()> {
    let o = org().await?;
    let flow = define(
        &o,
        "order_discount",
        json!([
            { "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" }
        ]),
    )
    .await?;
    let version = u32::try_from(flow["version"].as_u64().unwrap_or_default())?;
    let request = discount_request(&o, 30_000, version);
    o.api.push_facts(&o.rep.token, vec![Fact::ApprovalRequest(request.clone())], &["stored"]).await?;
    let path = format!("/v1/approvals/{}/decisions", request.id);
    let body = json!({ "verdict": "approve", "comment": "" });

    // HTTP: no token, the requester, a manager of another department, another Shanghai
    // manager who is not the rep's manager, and an unknown request.
    let (status, _) = o.api.send("POST", &path, None, Some(&body)).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(decide(&o, &o.rep, request.id, "approve", "me").await?.0, StatusCode::FORBIDDEN);
    assert_eq!(decide(&o, &o.west_head, request.id, "approve", "me").await?.0, StatusCode::NOT_FOUND);
    assert_eq!(decide(&o, &o.shanghai_deputy, request.id, "approve", "me").await?.0, StatusCode::FORBIDDEN);
    assert_eq!(decide(&o, &o.shanghai_head, FactId::new(), "approve", "").await?.0, StatusCode::NOT_FOUND);
    let (status, _) =
        call(&o.api, "POST", &o.shanghai_head, &path, Some(json!({ "verdict": "maybe" }))).await?;
    assert!(status.is_client_error(), "{status}");

    // Sync: a decision fact pushed by someone outside the step is refused and changes nothing.
    let forged = Decision {
        id: FactId::new(),
        request_id: request.id,
        step: StepId::from("manager"),
        approver_id: o.west_head.id,
        at_ms: fieldkit_server::now_ms(),
        verdict: Verdict::Approve,
        comment: "forged".into(),
    };
    let answer =
        o.api.push_facts(&o.west_head.token, vec![Fact::ApprovalDecision(forged)], &["rejected"]).await?;
    assert!(answer["acks"][0]["reason"].as_str().unwrap_or_default().contains("not an approver"), "{answer}");
    // The rep's manager decides from their phone; the same decision pushed again is no change.
    let real = Decision {
        id: FactId::new(),
        request_id: request.id,
        step: StepId::from("manager"),
        approver_id: o.shanghai_head.id,
        at_ms: fieldkit_server::now_ms(),
        verdict: Verdict::Reject,
        comment: "margin too thin".into(),
    };
    o.api.push_facts(&o.shanghai_head.token, vec![Fact::ApprovalDecision(real.clone())], &["stored"]).await?;
    o.api.push_facts(&o.shanghai_head.token, vec![Fact::ApprovalDecision(real)], &["already_stored"]).await?;
    let (_, detail) = call(&o.api, "GET", &o.rep, &format!("/v1/approvals/{}", request.id), None).await?;
    assert_eq!(status_of(&detail), "rejected", "{detail}");
    assert_eq!(detail["decisions"][0]["comment"], "margin too thin", "{detail}");
    // A request under a flow version that does not exist is refused at push.
    let stray = discount_request(&o, 1, version + 7);
    o.api.push_facts(&o.rep.token, vec![Fact::ApprovalRequest(stray)], &["rejected"]).await?;
    // Leave with an end before its start is refused by the domain's check.
    define(&o, "leave", json!([{ "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" }])).await?;
    let (status, answer) = call(
        &o.api,
        "POST",
        &o.rep,
        "/v1/approvals",
        Some(json!({
        "subject": { "kind": "leave", "range": TimeRange { start_ms: 10, end_ms: 5 } } })),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["error"]["message"].as_str().unwrap_or_default().contains("does not end after it starts"),
        "{answer}"
    );
    Ok(())
}

#[tokio::test]
async fn a_discount_asked_for_on_an_offline_phone_is_approved_in_two_steps_and_the_phone_sees_it()
-> anyhow::Result<()> {
    let o = org().await?;
    define(&o, "order_discount", json!([
        { "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" },
        { "id": "head", "title": "Department head", "approvers": [{ "type": "department_head", "levels_up": 1 }],
          "rule": "any_of", "condition": { "type": "amount_over", "minor": 50000 } }
    ])).await?;
    let phone = o.server.phone("acme", "r-shanghai").await?;
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.approval_flows()?.len(), 1, "the flow reached the phone");

    // Offline: asked for at the counter, queued on the phone.
    let subject = RequestSubject::OrderDiscount {
        customer_id: CustomerId::new(),
        order_id: None,
        currency: Currency::parse("CNY").expect("a currency"),
        order_total_minor: 600_000,
        discount_minor: 90_000,
    };
    let asked = phone.kit.request_approval(subject, "a competitor's promotion next door".into())?;
    let mine = phone.kit.approvals()?;
    assert_eq!((mine.len(), mine[0].sent, mine[0].view.is_none()), (1, false, true));

    // Back online: the request goes up; the manager, then the department head, approve.
    phone.kit.sync_now().await?;
    assert!(phone.kit.approvals()?[0].sent, "not acknowledged");
    assert_eq!(decide(&o, &o.shanghai_head, asked.id, "approve", "ok").await?.0, StatusCode::CREATED);
    phone.kit.sync_now().await?;
    let step = phone.kit.approvals()?.remove(0).view.map(|v| v.status);
    assert!(
        matches!(step, Some(fieldkit_domain::approval::ApprovalStatus::Pending { ref step, .. }) if *step == StepId::from("head")),
        "{step:?}"
    );
    assert_eq!(
        decide(&o, &o.east_head, asked.id, "approve", "approved for this quarter").await?.0,
        StatusCode::CREATED
    );
    phone.kit.sync_now().await?;
    let done = phone.kit.approvals()?.remove(0).view.expect("the view reached the phone");
    assert!(matches!(done.status, fieldkit_domain::approval::ApprovalStatus::Approved { .. }), "{done:?}");
    assert_eq!(done.decisions.len(), 2);
    assert_eq!(done.decisions[1].comment, "approved for this quarter");
    Ok(())
}

#[tokio::test]
async fn an_order_beyond_the_discount_limit_goes_through_only_with_an_approved_request_and_once()
-> anyhow::Result<()> {
    use fieldkit_engine::{ApprovalRefusal, Error, OrderLineInput};
    let o = org().await?;
    define(
        &o,
        "order_discount",
        json!([
            { "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" }
        ]),
    )
    .await?;
    let (status, product) = call(
        &o.api,
        "POST",
        &o.admin,
        "/v1/products",
        Some(json!({
        "sku": "TEA", "name": "Tea", "line": "drinks", "max_discount_pct": 10,
        "list_price": { "minor": 1000, "currency": "CNY" } })),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    let (status, customer) = call(
        &o.api,
        "POST",
        &o.admin,
        "/v1/customers",
        Some(json!({
        "name": "Corner shop", "grade": "C", "owner_id": o.rep.id,
        "place": { "point": { "lat": 31.23, "lng": 121.47 }, "address": "" } })),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{customer}");
    let (product, customer): (fieldkit_domain::ids::ProductId, CustomerId) =
        (serde_json::from_value(product["id"].clone())?, serde_json::from_value(customer["id"].clone())?);
    let phone = o.server.phone("acme", "r-shanghai").await?;
    phone.kit.sync_now().await?;
    // 30 % off where the product allows 10 %.
    let line = OrderLineInput { product_id: product, quantity: 10, discount_minor: 3_000 };
    assert!(matches!(phone.kit.take_order(customer, None, &[line], None, None), Err(Error::Order(_))));
    let subject = RequestSubject::OrderDiscount {
        customer_id: customer,
        order_id: None,
        currency: Currency::parse("CNY").expect("a currency"),
        order_total_minor: 10_000,
        discount_minor: 3_000,
    };
    let asked = phone.kit.request_approval(subject, "clearing old stock".into())?;
    // Not decided yet (the phone has no view of it): refused, nothing stored.
    let early = phone.kit.take_order(customer, None, &[line], None, Some(asked.id));
    assert!(matches!(early, Err(Error::Approval(ApprovalRefusal::NotHere(_)))), "{early:?}");
    phone.kit.sync_now().await?;
    assert_eq!(
        decide(&o, &o.shanghai_head, asked.id, "approve", "one time only").await?.0,
        StatusCode::CREATED
    );
    phone.kit.sync_now().await?;

    let order = phone.kit.take_order(customer, None, &[line], None, Some(asked.id))?;
    assert_eq!(order.total_minor, 7_000);
    let report = phone.kit.sync_now().await?;
    assert_eq!((report.pushed, report.rejected), (1, 0), "{:?}", phone.kit.parked_items()?);
    // Spent: the phone refuses a second order on it, and so does the server.
    let again = phone.kit.take_order(customer, None, &[line], None, Some(asked.id));
    assert!(matches!(again, Err(Error::Approval(ApprovalRefusal::AlreadyUsed { .. }))), "{again:?}");
    let mut forged = order.clone();
    forged.id = FactId::new();
    let answer = o.api.push_facts(&o.rep.token, vec![Fact::Order(forged)], &["rejected"]).await?;
    assert!(answer["acks"][0]["reason"].as_str().unwrap_or_default().contains("already used"), "{answer}");
    Ok(())
}

#[tokio::test]
async fn a_check_in_flagged_as_too_far_asks_the_manager_to_approve_the_distance() -> anyhow::Result<()> {
    let o = org().await?;
    define(
        &o,
        "out_of_range_check_in",
        json!([
            { "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" }
        ]),
    )
    .await?;
    let (status, customer) = call(
        &o.api,
        "POST",
        &o.admin,
        "/v1/customers",
        Some(json!({
        "name": "Basement shop", "grade": "B", "owner_id": o.rep.id, "geofence_radius_m": 100,
        "place": { "point": { "lat": 31.2304, "lng": 121.4737 }, "address": "" } })),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{customer}");
    let customer: CustomerId = serde_json::from_value(customer["id"].clone())?;
    let phone = o.server.phone("acme", "r-shanghai").await?;
    phone.kit.sync_now().await?;
    let mut fix = fieldkit_e2e::harness::fix_at(31.2304 + 300.0 / 111_320.0, 121.4737);
    fix.fix_time_ms = fieldkit_server::now_ms();
    let input = |note: Option<&str>| fieldkit_engine::CheckInInput {
        customer_id: customer,
        task_id: None,
        fix,
        note: note.map(Into::into),
    };
    // Rejected without a reason: nothing stored, nothing asked.
    assert!(phone.kit.check_in(input(None)).is_err());
    assert!(phone.kit.approvals()?.is_empty());
    // Let through flagged with a reason: the request rides along, with the distance.
    let check_in = phone.kit.check_in(input(Some("the entrance is round the back")))?;
    let asked = phone.kit.approvals()?;
    assert_eq!(asked.len(), 1);
    let RequestSubject::OutOfRangeCheckIn { visit_id, distance_m, .. } = asked[0].request.subject else {
        panic!("{:?}", asked[0].request.subject)
    };
    assert_eq!(visit_id, check_in.visit_id);
    assert!((250.0..350.0).contains(&distance_m), "{distance_m}");
    assert_eq!(asked[0].request.reason, "the entrance is round the back");
    phone.kit.sync_now().await?;
    let (_, inbox) = call(&o.api, "GET", &o.shanghai_head, "/v1/approvals?to_decide=true", None).await?;
    assert_eq!(inbox[0]["request"]["subject"]["kind"], "out_of_range_check_in", "{inbox}");
    assert_eq!(
        decide(&o, &o.shanghai_head, asked[0].request.id, "approve", "known entrance").await?.0,
        StatusCode::CREATED
    );
    phone.kit.sync_now().await?;
    let view = phone.kit.approvals()?.remove(0).view.expect("the decision reached the phone");
    assert!(matches!(view.status, fieldkit_domain::approval::ApprovalStatus::Approved { .. }));
    Ok(())
}

#[tokio::test]
async fn a_new_customer_proposed_offline_is_created_once_its_approval_flow_approves_it() -> anyhow::Result<()>
{
    let o = org().await?;
    define(
        &o,
        "new_customer",
        json!([
            { "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" },
            { "id": "admin", "title": "Admin", "approvers": [{ "type": "role", "role": "admin" }], "rule": "any_of" }
        ]),
    )
    .await?;
    let phone = o.server.phone("acme", "r-shanghai").await?;
    phone.kit.sync_now().await?;
    let place = |lat: f64| fieldkit_domain::model::Place {
        point: fieldkit_domain::model::WgsPoint::new(lat, 121.4737).expect("a point"),
        address: "南京东路 1 号".into(),
    };
    let grade = fieldkit_domain::model::Grade::B;
    // Offline: the proposal and its request are queued together.
    let kept = phone.kit.propose_customer("鲜果铺", place(31.2304), grade, vec!["fruit".into()], None)?;
    let dropped = phone.kit.propose_customer("Gone shop", place(31.2404), grade, vec![], None)?;
    let asked = phone.kit.approvals()?;
    assert_eq!(asked.len(), 2, "one request per proposal");
    let request_of = |proposal: FactId| {
        asked
            .iter()
            .find(|a| matches!(a.request.subject, RequestSubject::NewCustomer { proposal_id } if proposal_id == proposal))
            .map(|a| a.request.id)
            .expect("a request names the proposal")
    };
    let (kept_request, dropped_request) = (request_of(kept.id), request_of(dropped.id));
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.rejected, 0, "{:?}", phone.kit.parked_items()?);

    // The proposals routes leave it to the flow.
    let (status, answer) =
        call(&o.api, "POST", &o.shanghai_head, &format!("/v1/proposals/{}/approve", kept.id), None).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    // Approved by the manager: not a customer yet; then by the admin: created, owned by the rep.
    assert_eq!(
        decide(&o, &o.shanghai_head, kept_request, "approve", "good spot").await?.0,
        StatusCode::CREATED
    );
    let (_, customers) = call(&o.api, "GET", &o.admin, "/v1/customers", None).await?;
    assert!(!customers.to_string().contains("鲜果铺"), "created before the last step: {customers}");
    assert_eq!(decide(&o, &o.admin, kept_request, "approve", "").await?.0, StatusCode::CREATED);
    assert_eq!(
        decide(&o, &o.shanghai_head, dropped_request, "reject", "already a customer").await?.0,
        StatusCode::CREATED
    );

    let (_, proposals) = call(&o.api, "GET", &o.admin, "/v1/proposals", None).await?;
    let status_of = |id: FactId| {
        proposals
            .as_array()
            .and_then(|all| all.iter().find(|p| p["fact_id"] == json!(id)))
            .map(|p| (p["status"].clone(), p["reason"].clone()))
    };
    assert_eq!(status_of(kept.id).map(|s| s.0), Some(json!("approved")), "{proposals}");
    assert_eq!(status_of(dropped.id), Some((json!("rejected"), json!("already a customer"))), "{proposals}");
    phone.kit.sync_now().await?;
    let mine: Vec<_> = phone.kit.customers()?.into_iter().filter(|c| c.name == "鲜果铺").collect();
    assert_eq!(mine.len(), 1, "the customer reached the rep's phone once");
    assert_eq!(mine[0].owner_id, Some(o.rep.id));
    assert_eq!(mine[0].tags, vec!["fruit".to_owned()]);
    Ok(())
}

#[tokio::test]
async fn an_approver_decides_on_their_own_phone_offline_and_the_requester_sees_it_after_sync()
-> anyhow::Result<()> {
    let o = org().await?;
    define(
        &o,
        "leave",
        json!([{ "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" }]),
    )
    .await?;
    let rep = o.server.phone("acme", "r-shanghai").await?;
    let head = o.server.phone("acme", "m-shanghai").await?;
    let deputy = o.server.phone("acme", "m-deputy").await?;
    let west = o.server.phone("acme", "m-west").await?;
    rep.kit.sync_now().await?;
    let day = 24 * 3_600_000;
    let start_ms = fieldkit_server::now_ms() + day;
    let leave = RequestSubject::Leave { range: TimeRange { start_ms, end_ms: start_ms + day } };
    let asked = rep.kit.request_approval(leave, "family matters".into())?;
    rep.kit.sync_now().await?;
    for phone in [&head, &deputy, &west] {
        phone.kit.sync_now().await?;
    }

    // Only the rep's manager has it to decide; the deputy holds it but is not its approver,
    // the other department's manager does not hold it at all.
    let inbox = head.kit.approvals_to_decide()?;
    assert_eq!(inbox.iter().map(|v| v.request.id).collect::<Vec<_>>(), vec![asked.id]);
    assert!(deputy.kit.approvals_to_decide()?.is_empty());
    assert!(west.kit.approvals_to_decide()?.is_empty());
    let not_theirs = deputy.kit.decide_approval(asked.id, Verdict::Approve, String::new());
    assert!(
        matches!(
            not_theirs,
            Err(fieldkit_engine::Error::Approval(fieldkit_engine::ApprovalRefusal::NotYours { .. }))
        ),
        "{not_theirs:?}"
    );
    let not_here = west.kit.decide_approval(asked.id, Verdict::Approve, String::new());
    assert!(
        matches!(
            not_here,
            Err(fieldkit_engine::Error::Approval(fieldkit_engine::ApprovalRefusal::NotHere(_)))
        ),
        "{not_here:?}"
    );

    // Decided offline on the manager's phone: out of the inbox at once, not twice.
    let decision = head.kit.decide_approval(asked.id, Verdict::Approve, "enjoy".into())?;
    assert!(head.kit.approvals_to_decide()?.is_empty());
    assert!(head.kit.decide_approval(asked.id, Verdict::Reject, "no".into()).is_err(), "decided once");
    let report = head.kit.sync_now().await?;
    assert_eq!(report.rejected, 0, "{:?}", head.kit.parked_items()?);
    rep.kit.sync_now().await?;
    let view = rep.kit.approvals()?.remove(0).view.expect("the decision reached the requester");
    assert!(matches!(view.status, fieldkit_domain::approval::ApprovalStatus::Approved { .. }), "{view:?}");
    assert_eq!(view.decisions.len(), 1);
    assert_eq!(
        (view.decisions[0].approver_id, view.decisions[0].comment.as_str()),
        (decision.approver_id, "enjoy")
    );
    Ok(())
}
