//! New customers proposed from the field: a rep pushes a customer proposal as a phone
//! pushes facts, the manager sees it with its likely duplicates, approves it (the customer
//! reaches the rep's phone) or rejects it with a reason — real server over HTTP on loopback.

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::geo::LocalFrame;
use fieldkit_domain::ids::{CustomerId, FactId, TeamId, UserId};
use fieldkit_domain::model::{CustomerProposal, Grade, Place, Role, WgsPoint};
use fieldkit_domain::protocol::{ErrorCode, Fact};
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SHOP: (f64, f64) = (31.2304, 121.4737);

/// A point `east_m` metres east and `north_m` metres north of the shop.
fn near_shop(east_m: f64, north_m: f64) -> WgsPoint {
    let shop = WgsPoint::new(SHOP.0, SHOP.1).expect("the shop is on the globe");
    LocalFrame::new(shop).to_point(east_m, north_m).expect("on the globe")
}

fn proposal(rep: UserId, name: &str, point: WgsPoint) -> CustomerProposal {
    let now = fieldkit_server::now_ms();
    CustomerProposal {
        id: FactId::new(),
        rep_id: rep,
        name: name.to_owned(),
        place: Place { point, address: "1 Nanjing Road".to_owned() },
        grade: Grade::B,
        tags: vec!["convenience".to_owned()],
        photo_sha256: Some("ab".repeat(32)),
        at: EventTime {
            device_ms: now,
            hlc: Hlc { wall_ms: now.unsigned_abs(), counter: 0, node: 7 },
            server_estimate_ms: Some(now),
        },
    }
}

/// Pushes `facts` as `token`'s phone; every one must be stored.
async fn push(api: &Api, token: &str, facts: Vec<Fact>) -> anyhow::Result<()> {
    api.push_facts(token, facts, &["stored"]).await.map(drop)
}

async fn create_customer(api: &Api, token: &str, name: &str, point: WgsPoint) -> anyhow::Result<CustomerId> {
    let body = json!({ "name": name, "grade": "C", "place": { "point": point, "address": "" } });
    let (status, customer) = api.send("POST", "/v1/customers", Some(token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {customer}");
    Ok(serde_json::from_value(customer["id"].clone())?)
}

async fn list(api: &Api, token: &str, query: &str) -> anyhow::Result<Vec<Value>> {
    let (status, answer) = api.send("GET", &format!("/v1/proposals{query}"), Some(token), None).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    Ok(answer.as_array().cloned().unwrap_or_default())
}

fn listed(proposals: &[Value], id: FactId) -> Value {
    proposals.iter().find(|p| p["fact_id"] == json!(id)).cloned().unwrap_or(Value::Null)
}

fn error_code(body: &Value) -> ErrorCode {
    serde_json::from_value(body["error"]["code"].clone()).expect("an error body with a known code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_is_listed_with_its_duplicates_and_its_approval_creates_the_reps_customer_once()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = org.reps[0].id;
    let rep_token = api.login("acme", "rep1", PASSWORD).await?;
    let manager = &org.manager_token;

    // Two customers already known: one 20 m away, one by the same name 2 km away.
    let nearby = create_customer(&api, manager, "Old Shop", near_shop(0.0, 20.0)).await?;
    let namesake = create_customer(&api, manager, "  family   MART", near_shop(2_000.0, 0.0)).await?;
    let family_mart = proposal(rep, "Family Mart", near_shop(0.0, 0.0));
    let tea_house = proposal(rep, "Tea House", near_shop(10.0, 0.0));
    push(&api, &rep_token, vec![Fact::CustomerProposal(family_mart.clone())]).await?;
    push(&api, &rep_token, vec![Fact::CustomerProposal(tea_house.clone())]).await?;

    let proposals = list(&api, manager, "").await?;
    assert_eq!(proposals.len(), 2);
    let listed_mart = listed(&proposals, family_mart.id);
    assert_eq!(listed_mart["status"], "pending");
    assert_eq!(
        (listed_mart["rep_id"].clone(), listed_mart["name"].clone(), listed_mart["grade"].clone()),
        (json!(rep), json!("Family Mart"), json!("B"))
    );
    assert_eq!(listed_mart["photo_sha256"], json!("ab".repeat(32)));
    assert_eq!(listed_mart["proposed_at"], json!(family_mart.at.device_ms));
    let duplicates: Vec<(Value, Value, bool, f64)> = listed_mart["duplicates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let id = if d["kind"] == "customer" { d["customer_id"].clone() } else { d["fact_id"].clone() };
            (d["kind"].clone(), id, d["same_name"] == true, d["distance_m"].as_f64().unwrap_or(f64::NAN))
        })
        .collect();
    assert_eq!(duplicates.len(), 3, "{listed_mart}");
    // Nearest first: the other pending proposal, the shop 20 m away, the namesake.
    assert_eq!((duplicates[0].0.clone(), duplicates[0].1.clone()), (json!("proposal"), json!(tea_house.id)));
    assert_eq!((duplicates[1].0.clone(), duplicates[1].1.clone()), (json!("customer"), json!(nearby)));
    assert_eq!((duplicates[2].0.clone(), duplicates[2].1.clone()), (json!("customer"), json!(namesake)));
    assert!((duplicates[0].3 - 10.0).abs() < 0.5 && !duplicates[0].2, "{duplicates:?}");
    assert!((duplicates[1].3 - 20.0).abs() < 0.5 && !duplicates[1].2, "{duplicates:?}");
    assert!((duplicates[2].3 - 2_000.0).abs() < 5.0 && duplicates[2].2, "{duplicates:?}");
    assert_eq!(list(&api, &rep_token, "").await?.len(), 2, "the rep sees their own proposals");

    // The rep may not decide; an unknown proposal is not found.
    let approve = |id: FactId| format!("/v1/proposals/{id}/approve");
    let (status, answer) = api.send("POST", &approve(family_mart.id), Some(&rep_token), None).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
    let unknown = FactId::new();
    let (status, answer) = api.send("POST", &approve(unknown), Some(manager), None).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::NOT_FOUND, ErrorCode::NotFound));
    assert_eq!(answer["error"]["message"], format!("proposal {unknown} not found"));

    // The manager approves: the customer exists, owned by the rep.
    let (status, answer) = api.send("POST", &approve(family_mart.id), Some(manager), None).await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let customer: CustomerId = serde_json::from_value(answer["customer"]["id"].clone())?;
    assert_eq!(answer["customer"]["owner_id"], json!(rep));
    assert_eq!(answer["customer"]["name"], "Family Mart");
    assert_eq!(answer["customer"]["tags"], json!(["convenience"]));
    assert_eq!(answer["proposal"]["status"], "approved");
    assert_eq!(answer["proposal"]["customer_id"], json!(customer));
    assert_eq!(answer["proposal"]["decided_by"], json!(org.manager.id));
    let stored = server
        .storage
        .record(org.org.id, fieldkit_domain::protocol::RecordKind::Customer, customer.0)
        .await?;
    assert_eq!(stored.map(|r| r.audience), Some(Some(rep)));

    // It reaches the rep's phone.
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let on_phone = phone.kit.customer(customer)?.expect("the approved customer is on the rep's phone");
    assert_eq!(
        (on_phone.name.as_str(), on_phone.owner_id, on_phone.grade),
        ("Family Mart", Some(rep), Grade::B)
    );
    assert_eq!(on_phone.place.point, family_mart.place.point);

    // Deciding again is a conflict, and creates nothing.
    let (status, answer) = api.send("POST", &approve(family_mart.id), Some(manager), None).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::CONFLICT, ErrorCode::Conflict));
    assert_eq!(
        answer["error"]["message"],
        format!("proposal {} was already approved by user {}", family_mart.id, org.manager.id)
    );
    let reject = |id: FactId| format!("/v1/proposals/{id}/reject");
    let body = json!({ "reason": "changed my mind" });
    let (status, answer) = api.send("POST", &reject(family_mart.id), Some(manager), Some(&body)).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::CONFLICT, ErrorCode::Conflict));
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.customers()?.iter().filter(|c| c.name == "Family Mart").count(), 1);

    // The listing says it was approved; its own customer is not its duplicate.
    let listed_mart = listed(&list(&api, manager, "").await?, family_mart.id);
    assert_eq!(
        (listed_mart["status"].clone(), listed_mart["customer_id"].clone()),
        (json!("approved"), json!(customer))
    );
    assert!(
        !listed_mart["duplicates"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d["customer_id"] == json!(customer)),
        "{listed_mart}"
    );
    // The tea house, pending, now has the approved shop 10 m away as a duplicate.
    let listed_tea = listed(&list(&api, manager, "?status=pending").await?, tea_house.id);
    assert!(
        listed_tea["duplicates"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d["customer_id"] == json!(customer)),
        "{listed_tea}"
    );

    // An approval may correct the proposal.
    let body = json!({ "name": " Tea House Ltd ", "grade": "A", "geofence_radius_m": 80 });
    let (status, answer) = api.send("POST", &approve(tea_house.id), Some(manager), Some(&body)).await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(
        (answer["customer"]["name"].clone(), answer["customer"]["grade"].clone()),
        (json!("Tea House Ltd"), json!("A"))
    );
    assert_eq!(answer["customer"]["geofence_radius_m"], 80);
    let body = json!({ "grade": "D" });
    let (status, answer) = api.send("POST", &approve(tea_house.id), Some(manager), Some(&body)).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, ErrorCode::MalformedBody));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_needs_a_reason_is_listed_with_it_and_other_teams_see_nothing() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = org.reps[0].id;
    let rep_token = api.login("acme", "rep1", PASSWORD).await?;
    let manager = &org.manager_token;
    let other_team = TeamId::new();
    server.user(&org.org, "manager2", Role::Manager, other_team).await?;
    server.user(&org.org, "rep9", Role::Rep, other_team).await?;
    let manager2 = api.login("acme", "manager2", PASSWORD).await?;
    let rep9 = api.login("acme", "rep9", PASSWORD).await?;

    let kiosk = proposal(rep, "Kiosk", near_shop(0.0, 0.0));
    push(&api, &rep_token, vec![Fact::CustomerProposal(kiosk.clone())]).await?;

    // Another team's rep and manager see nothing, and that manager may not decide.
    assert_eq!(list(&api, &rep9, "").await?, Vec::<Value>::new());
    assert_eq!(list(&api, &manager2, "").await?, Vec::<Value>::new());
    let reject = format!("/v1/proposals/{}/reject", kiosk.id);
    let body = json!({ "reason": "closed down" });
    let (status, answer) = api.send("POST", &reject, Some(&manager2), Some(&body)).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
    assert_eq!(answer["error"]["message"], format!("proposal {} is by a rep outside your team", kiosk.id));

    // A rejection needs a reason.
    let (status, answer) = api.send("POST", &reject, Some(manager), Some(&json!({ "reason": "  " }))).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRequest));
    assert_eq!(answer["error"]["message"], "rejection reason must not be empty");

    let (status, answer) = api.send("POST", &reject, Some(manager), Some(&body)).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (answer["status"].clone(), answer["reason"].clone()),
        (json!("rejected"), json!("closed down"))
    );
    assert_eq!(answer["customer_id"], Value::Null);

    for token in [manager.as_str(), rep_token.as_str()] {
        let rejected = list(&api, token, "?status=rejected").await?;
        assert_eq!(rejected.len(), 1);
        assert_eq!(
            (
                rejected[0]["fact_id"].clone(),
                rejected[0]["reason"].clone(),
                rejected[0]["decided_by"].clone()
            ),
            (json!(kiosk.id), json!("closed down"), json!(org.manager.id))
        );
    }
    assert_eq!(list(&api, manager, "?status=pending").await?, Vec::<Value>::new());
    let (status, answer) = api.send("GET", "/v1/proposals?status=maybe", Some(manager), None).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, ErrorCode::MalformedBody));

    // Rejected means no customer, and approving it now is a conflict.
    let approve = format!("/v1/proposals/{}/approve", kiosk.id);
    let (status, answer) = api.send("POST", &approve, Some(manager), None).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::CONFLICT, ErrorCode::Conflict));
    let customers =
        server.storage.records(org.org.id, fieldkit_domain::protocol::RecordKind::Customer).await?;
    assert!(customers.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_proposes_a_customer_from_the_phone_offline_and_the_manager_sees_it() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let phone = server.phone("acme", "rep1").await?;
    let place = Place { point: near_shop(0.0, 0.0), address: "南京东路 1 号".to_owned() };
    let blank = phone.kit.propose_customer("  ", place.clone(), Grade::C, Vec::new(), None);
    assert!(blank.is_err_and(|e| e.to_string().contains("customer name")));
    let proposed = phone.kit.propose_customer("新开便利店", place, Grade::C, vec!["new".into()], None)?;
    phone.kit.sync_now().await?;
    let pending = list(&api, &org.manager_token, "?status=pending").await?;
    let entry = listed(&pending, proposed.id);
    assert_eq!(entry["name"], "新开便利店");
    assert_eq!(entry["rep_id"], json!(org.reps[0].id));
    Ok(())
}
