//! Approvers acting in the manager's dashboard (issue #10), in headless Chromium
//! (`tests/browser/approvals.mjs`). An org with East > Shanghai, a rep and their manager in
//! Shanghai, East's manager above (reading East and below) and an admin; a discount flow of two steps (the manager,
//! then East's head for discounts over 500.00) and a leave flow decided by either of them.
//! The rep's phone pushes a large discount request and the rep asks for leave over HTTP. In
//! the browser the Shanghai manager approves the discount, East's manager approves it too and
//! rejects the leave, a stale tab is refused (403, 409) in the items, and the admin sees both.
//! Then, through the API and the rep's feed: the discount is approved with both comments in
//! order, the leave rejected, and the refused clicks changed nothing. Node.js, the npm
//! packages of `tests/browser` and Chromium come from `scripts/setup`; without them the test
//! fails and says so.

use fieldkit_domain::approval::{ApprovalRequest, ApprovalStatus, ApprovalView, RequestSubject, Verdict};
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, UserId};
use fieldkit_domain::model::Currency;
use fieldkit_domain::protocol::{Fact, FeedChange, FeedEntry, PROTOCOL_VERSION, Record, SyncRequest};
use fieldkit_e2e::api_org::{ApiOrg, Person, call};
use fieldkit_e2e::browser::{self, ScriptRun};
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The screenshots' size (the script's viewport).
const VIEWPORT: (u32, u32) = (1400, 1000);
const DAY_MS: i64 = 86_400_000;
/// 2027-01-04 as days since 1970-01-01: the first day of the rep's leave.
const LEAVE_FIRST_DAY: i64 = 20_822;

/// East > Shanghai: the rep and their manager in Shanghai, East's manager, an admin.
struct Org {
    server: TestServer,
    api: Api,
    admin: Person,
    rep: Person,
    shanghai_head: Person,
    east_head: Person,
}

async fn org() -> anyhow::Result<Org> {
    let built = ApiOrg::start().await?;
    let east = built.department("East", None).await?;
    let shanghai = built.department("Shanghai", Some(&east)).await?;
    let shanghai_head = built.person("m-shanghai", "Wang Wei", "manager", &shanghai).await?;
    let east_head = built.person("m-east", "Zhou Min", "manager", &east).await?;
    // East's head reads East and every department under it (a manager's default is their own).
    let path = format!("/v1/users/{}", east_head.id);
    let body = json!({ "data_scope": "department_and_below" });
    let (status, changed) = call(&built.api, "PATCH", &built.admin, &path, Some(body)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {changed}");
    let rep = built.person("r-shanghai", "Li Lei", "rep", &shanghai).await?;
    let ApiOrg { server, api, admin } = built;
    Ok(Org { server, api, admin, rep, shanghai_head, east_head })
}

async fn define(o: &Org, kind: &str, steps: Value) -> anyhow::Result<u32> {
    let path = format!("/v1/approval-flows/{kind}");
    let (status, flow) = call(&o.api, "PUT", &o.admin, &path, Some(json!({ "steps": steps }))).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {flow}");
    Ok(u32::try_from(flow["version"].as_u64().unwrap_or_default())?)
}

/// The rep's discount request as their phone pushes it (a fact from the outbox).
fn discount_request(o: &Org, flow_version: u32) -> ApprovalRequest {
    ApprovalRequest {
        id: FactId::new(),
        requester_id: o.rep.id,
        department_id: o.rep.team,
        subject: RequestSubject::OrderDiscount {
            customer_id: CustomerId::new(),
            order_id: None,
            currency: Currency::parse("CNY").expect("a currency"),
            order_total_minor: 400_000,
            discount_minor: 80_000,
        },
        reason: "the shop matches a competitor's price".into(),
        submitted_ms: fieldkit_server::now_ms() - 60_000,
        flow_version,
    }
}

/// The approval views in `who`'s feed.
async fn feed_views(o: &Org, who: &Person) -> anyhow::Result<Vec<ApprovalView>> {
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
    let feed: Vec<FeedEntry> = serde_json::from_value(answer["feed"].clone())?;
    Ok(feed
        .into_iter()
        .filter_map(|e| match e.change {
            FeedChange::Upsert { record: Record::Approval(view) } => Some(*view),
            _ => None,
        })
        .collect())
}

/// `(approver, verdict, comment)` of each decision of an approval item, in order.
fn decisions_of(item: &Value) -> Vec<(String, String, String)> {
    item["decisions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let text = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
            (text("approver_id"), text("verdict"), text("comment"))
        })
        .collect()
}

fn triple(who: UserId, verdict: &str, comment: &str) -> (String, String, String) {
    (who.to_string(), verdict.to_owned(), comment.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_managers_approve_a_discount_and_reject_a_leave_in_the_dashboard_and_a_stale_tab_is_refused()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let root = browser::workspace();
    let chromium = browser::require_tools(&root)?;
    let o = org().await?;

    // The view's script is served with the dashboard's policy.
    let http = reqwest::Client::new();
    let script = http.get(format!("{}/dashboard/approvals.js", o.server.url)).send().await?;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script
            .headers()
            .get("content-security-policy")
            .is_some_and(|v| v.as_bytes().starts_with(b"default-src 'none'"))
    );

    // The flows: a discount over 500.00 goes on to East's head; either of them decides a
    // leave, and after two days without a decision an admin stands in.
    let discount_flow = define(&o, "order_discount", json!([
        { "id": "manager", "title": "Manager", "approvers": [{ "type": "manager" }], "rule": "any_of" },
        { "id": "head", "title": "Department head", "approvers": [{ "type": "department_head", "levels_up": 1 }],
          "rule": "any_of", "condition": { "type": "amount_over", "minor": 50000 } }
    ]))
    .await?;
    define(&o, "leave", json!([
        { "id": "line", "title": "Line manager or department head",
          "approvers": [{ "type": "manager" }, { "type": "department_head", "levels_up": 1 }], "rule": "any_of",
          "timeout": { "after_ms": 2 * DAY_MS, "escalate_to": { "type": "step", "step": "backup" } } },
        { "id": "backup", "title": "Stand-in", "approvers": [{ "type": "role", "role": "admin" }],
          "rule": "any_of", "escalation_only": true }
    ]))
    .await?;

    // The requests: the discount from the rep's phone, the leave over HTTP (whole days of the
    // org's time, 2027-01-04 to 2027-01-06).
    let discount = discount_request(&o, discount_flow);
    o.api.push_facts(&o.rep.token, vec![Fact::ApprovalRequest(discount.clone())], &["stored"]).await?;
    let (_, settings) = call(&o.api, "GET", &o.rep, "/v1/org/settings", None).await?;
    let offset_ms = settings["working_hours"]["offset"].as_i64().unwrap_or_default() * 60_000;
    let start_ms = LEAVE_FIRST_DAY * DAY_MS - offset_ms;
    let (status, leave) = call(
        &o.api,
        "POST",
        &o.rep,
        "/v1/approvals",
        Some(json!({
        "subject": { "kind": "leave", "range": { "start_ms": start_ms, "end_ms": start_ms + 3 * DAY_MS } },
        "reason": "family wedding 婚礼" })),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{leave}");
    let leave_id: FactId = serde_json::from_value(leave["request"]["id"].clone())?;

    let shots = root.join("target/approvals-screenshots");
    if shots.exists() {
        std::fs::remove_dir_all(&shots)?;
    }
    let args = vec![
        o.server.url.clone(),
        "acme".to_owned(),
        PASSWORD.to_owned(),
        shots.display().to_string(),
        discount.id.to_string(),
        leave_id.to_string(),
        "m-shanghai".to_owned(),
        "m-east".to_owned(),
        "admin".to_owned(),
    ];
    let (root2, chromium2) = (root.clone(), chromium.clone());
    let ScriptRun { ok, stdout, stderr } = tokio::task::spawn_blocking(move || {
        browser::run_script(&root2, &chromium2, "approvals.mjs", &args, &[])
    })
    .await??;
    assert!(ok, "the browser run failed (screenshots in {}):\n{stderr}\n{stdout}", shots.display());
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())?;
    assert_eq!(report["ok"], true, "{stdout}");
    assert!(report["checks"].as_u64().unwrap_or(0) >= 40, "{stdout}");
    // The script checked each screenshot's pixels; here, that they are PNGs of the viewport.
    for name in ["01-shanghai-approved.png", "02-east-decided.png", "03-stale-refused.png", "04-admin.png"] {
        assert_eq!(browser::png_size(&shots.join(name))?, VIEWPORT, "{name}");
    }

    // Through the API: the discount approved with both comments in order, the leave rejected
    // by East's manager, and nothing more from the stale tab's clicks.
    let (status, detail) =
        call(&o.api, "GET", &o.rep, &format!("/v1/approvals/{}", discount.id), None).await?;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["status"]["status"], "approved", "{detail}");
    assert_eq!(
        decisions_of(&detail),
        vec![
            triple(o.shanghai_head.id, "approve", "fine by me"),
            triple(o.east_head.id, "approve", "within the quarter's budget"),
        ],
        "{detail}"
    );
    assert_eq!(detail["ignored"], json!([]), "{detail}");
    let (_, detail) = call(&o.api, "GET", &o.rep, &format!("/v1/approvals/{leave_id}"), None).await?;
    assert_eq!(
        (detail["status"]["status"].as_str(), detail["status"]["step"].as_str()),
        (Some("rejected"), Some("line")),
        "{detail}"
    );
    assert_eq!(detail["status"]["by"], json!(o.east_head.id), "{detail}");
    assert_eq!(decisions_of(&detail), vec![triple(o.east_head.id, "reject", "the quarter's closing week")]);

    // The rep's phone sees the same at its next sync.
    let views = feed_views(&o, &o.rep).await?;
    let approved =
        views.iter().find(|v| v.request.id == discount.id).expect("the discount reached the phone");
    assert!(matches!(approved.status, ApprovalStatus::Approved { .. }), "{:?}", approved.status);
    let seen: Vec<(UserId, Verdict, &str)> =
        approved.decisions.iter().map(|d| (d.approver_id, d.verdict, d.comment.as_str())).collect();
    assert_eq!(
        seen,
        vec![
            (o.shanghai_head.id, Verdict::Approve, "fine by me"),
            (o.east_head.id, Verdict::Approve, "within the quarter's budget"),
        ]
    );
    let rejected = views.iter().find(|v| v.request.id == leave_id).expect("the leave reached the phone");
    assert!(matches!(rejected.status, ApprovalStatus::Rejected { by, .. } if by == o.east_head.id));
    o.server.stop().await
}
