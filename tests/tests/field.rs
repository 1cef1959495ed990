//! Field execution offline: a visit walked through its SOP (photo, form, order) in order,
//! priced from the synced price list, checked again on the server; tampered totals and
//! skipped steps caught.

use std::collections::BTreeMap;

use fieldkit_domain::ids::{CustomerId, FormTemplateId, ProductId, TaskId};
use fieldkit_domain::model::{
    FieldKind, FieldRules, FormField, LocationFix, LocationProvider, OrgSettings, Role, SopIncomplete,
    StockLine, TaskStatus, WgsPoint,
};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use fieldkit_engine::{CheckInInput, Error, FieldKit, OrderLineInput, StepProblem, VisitRefusal};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SHOP: (f64, f64) = (31.2304, 121.4737);
const STOREFRONT: &[u8] = include_bytes!("../fixtures/photos/storefront.jpg");

fn here() -> LocationFix {
    LocationFix {
        point: WgsPoint::new(SHOP.0, SHOP.1).expect("valid"),
        accuracy_m: 8.0,
        fix_time_ms: fieldkit_server::now_ms(),
        provider: LocationProvider::Gnss,
        is_mock: false,
    }
}

struct Setup {
    customer: CustomerId,
    cola: ProductId,
    form: FormTemplateId,
}

/// A grade-B customer of rep1, a product with a B price, a shelf-check form and the SOP of a
/// customer visit: photo (required), shelf check (required), order (optional).
async fn set_up(api: &Api, org: &TestOrg) -> anyhow::Result<Setup> {
    let token = Some(org.manager_token.as_str());
    let customer = json!({
        "name": "好又多超市", "grade": "B", "owner_id": org.reps[0].id,
        "place": { "point": { "lat": SHOP.0, "lng": SHOP.1 }, "address": "" }
    });
    let (_, customer) = api.send("POST", "/v1/customers", token, Some(&customer)).await?;
    let product = json!({
        "sku": "COLA-330", "name": "可乐 330ml", "list_price": { "minor": 350, "currency": "CNY" },
        "grade_prices": { "B": 320 }, "max_discount_pct": 10
    });
    let (status, product) = api.send("POST", "/v1/products", token, Some(&product)).await?;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    let facings = FormField {
        key: "facings".into(),
        label: "排面数 Facings".into(),
        kind: FieldKind::Integer,
        required: true,
        rules: FieldRules { min: Some(0.0), max: Some(200.0), ..FieldRules::default() },
        show_if: None,
    };
    let form = json!({ "version": 1, "title": "货架检查 Shelf check", "fields": [facings] });
    let (status, form) = api.send("POST", "/v1/form-templates", token, Some(&form)).await?;
    assert_eq!(status, StatusCode::CREATED, "{form}");
    let sop = json!({ "task_kind": "customer_visit", "steps": [
        { "title": "门头照 Storefront photo", "kind": { "type": "photo" }, "required": true },
        { "title": "货架检查 Shelf check", "kind": { "type": "form", "template_id": form["id"] }, "required": true },
        { "title": "下单 Order", "kind": { "type": "order" }, "required": false },
        { "title": "盘点 Stock count", "kind": { "type": "stock_count" }, "required": false },
    ]});
    let (status, sop) = api.send("POST", "/v1/sop-templates", token, Some(&sop)).await?;
    assert_eq!(status, StatusCode::CREATED, "{sop}");
    Ok(Setup {
        customer: serde_json::from_value(customer["id"].clone())?,
        cola: serde_json::from_value(product["id"].clone())?,
        form: serde_json::from_value(form["id"].clone())?,
    })
}

async fn visit_task(api: &Api, org: &TestOrg, customer: CustomerId) -> anyhow::Result<TaskId> {
    let task = json!({
        "kind": "customer_visit", "title": "拜访", "assignee_id": org.reps[0].id, "customer_id": customer
    });
    let (_, task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&task)).await?;
    Ok(serde_json::from_value(task["id"].clone())?)
}

fn step_refusal(kit: &FieldKit, visit: fieldkit_domain::ids::VisitId, step: u32) -> StepProblem {
    match kit.update_visit(visit, Some(step), None) {
        Err(Error::Refused(VisitRefusal::Step(problem))) => problem,
        other => panic!("step {step}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_follows_its_sop_offline_and_the_server_checks_the_order_again() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let setup = set_up(&api, &org).await?;
    let task = visit_task(&api, &org, setup.customer).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let kit = &phone.kit;

    // Offline from here.
    let visit = kit
        .check_in(CheckInInput { customer_id: setup.customer, task_id: Some(task), fix: here(), note: None })?
        .visit_id;
    assert_eq!(step_refusal(kit, visit, 1), StepProblem::OutOfOrder { step: 1, missing: vec![0] });
    assert_eq!(step_refusal(kit, visit, 0), StepProblem::EvidenceMissing { step: 0, needs: "photo" });
    assert_eq!(step_refusal(kit, visit, 7), StepProblem::NoSuchStep { step: 7, steps: 4 });
    kit.record_photo(Some(visit), STOREFRONT, Some(here()))?;
    kit.update_visit(visit, Some(0), None)?;

    assert_eq!(step_refusal(kit, visit, 1), StepProblem::EvidenceMissing { step: 1, needs: "form" });
    let response = kit.start_form(setup.form, 1, Some(visit))?;
    let bad: BTreeMap<String, Value> = [("facings".to_owned(), json!(-3))].into();
    let err = kit.fill_form(response.id, bad, true).expect_err("below the minimum");
    assert!(matches!(&err, Error::Form(errors) if errors[0].field == "facings"), "{err}");
    let good: BTreeMap<String, Value> = [("facings".to_owned(), json!(12))].into();
    kit.fill_form(response.id, good, true)?;
    kit.update_visit(visit, Some(1), None)?;

    // The order: priced for a grade-B customer, discount within 10 %.
    let greedy = OrderLineInput { product_id: setup.cola, quantity: 24, discount_minor: 800 };
    assert!(matches!(
        kit.take_order(setup.customer, Some(visit), &[greedy], None, None),
        Err(Error::Order(_))
    ));
    let line = OrderLineInput { product_id: setup.cola, quantity: 24, discount_minor: 768 };
    let order = kit.take_order(setup.customer, Some(visit), &[line], None, None)?;
    assert_eq!(order.lines[0].unit_price_minor, 320);
    assert_eq!(order.total_minor, 24 * 320 - 768);
    kit.update_visit(visit, Some(2), None)?;
    assert_eq!(step_refusal(kit, visit, 3), StepProblem::EvidenceMissing { step: 3, needs: "stock count" });
    assert!(kit.count_stock(setup.customer, Some(visit), Vec::new()).is_err(), "an empty count");
    let counted = StockLine { product_id: setup.cola, on_shelf: 18, in_storage: Some(48) };
    let twice = kit.count_stock(setup.customer, Some(visit), vec![counted, counted]);
    assert!(twice.is_err(), "a product counted twice");
    kit.count_stock(setup.customer, Some(visit), vec![counted])?;
    kit.update_visit(visit, Some(3), None)?;
    let closed = kit.check_out(visit, here())?;
    assert!(closed.check_out.sop_missing.is_empty());
    kit.update_task(task, Some(TaskStatus::Done), None)?;

    // The customer 360° view, offline: the visit with its photo and order, nothing open.
    let view = kit.customer_360(setup.customer)?;
    assert_eq!((view.visit_count, view.recent_visits.len()), (1, 1));
    assert_eq!((view.recent_visits[0].photos, view.recent_visits[0].orders), (1, 1));
    assert_eq!(view.recent_visits[0].visit.completed_steps, [0, 1, 2, 3]);
    assert_eq!(view.recent_orders_minor, 24 * 320 - 768);
    assert!(view.open_tasks.is_empty());
    assert_eq!(view.days_since_last_visit, Some(0));

    // Back online: everything lands; the server agrees with the order.
    let report = kit.sync_now().await?;
    assert_eq!(report.rejected, 0, "{report:?}");
    let (_, orders) = api.send("GET", "/v1/facts?kind=order", Some(&org.manager_token), None).await?;
    assert_eq!(orders[0]["fact"]["body"]["total_minor"], json!(24 * 320 - 768));
    let (_, visit_doc) =
        api.send("GET", &format!("/v1/tasks/{task}"), Some(&org.manager_token), None).await?;
    assert_eq!(visit_doc["status"], "done");

    // A rep who edits the price on the wire is refused with the reason.
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let mut tampered = serde_json::to_value(&order)?;
    tampered["id"] = json!(fieldkit_domain::ids::FactId::new());
    tampered["lines"][0]["unit_price_minor"] = json!(1);
    tampered["total_minor"] = json!(24 - 768);
    let push = json!({
        "protocol": 1, "device_id": kit.device_id(), "cursor": 0, "pull_limit": 1, "sent_at_ms": 0,
        "push": [{ "kind": "order", "body": tampered }]
    });
    let (_, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&push)).await?;
    let ack = &answer["acks"][0];
    assert_eq!((&ack["outcome"], &ack["code"]), (&json!("rejected"), &json!("invalid")), "{answer}");
    assert!(ack["reason"].as_str().unwrap_or_default().contains("costs 320 per unit"), "{ack}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_out_with_required_steps_open_is_flagged_or_refused_as_the_org_decides() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let setup = set_up(&api, &org).await?;
    let (first, second) =
        (visit_task(&api, &org, setup.customer).await?, visit_task(&api, &org, setup.customer).await?);
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;

    let visit = phone
        .kit
        .check_in(CheckInInput {
            customer_id: setup.customer,
            task_id: Some(first),
            fix: here(),
            note: None,
        })?
        .visit_id;
    let flagged = phone.kit.check_out(visit, here())?;
    assert_eq!(flagged.check_out.sop_missing, [0, 1], "allowed by default, with the open steps named");

    // The server counts the open steps from its own copy of the visit; a phone claiming none
    // (edited on the way) is caught.
    phone.kit.sync_now().await?;
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let mut forged = serde_json::to_value(&flagged.check_out)?;
    forged["id"] = json!(fieldkit_domain::ids::FactId::new());
    forged["sop_missing"] = json!([]);
    let push = json!({
        "protocol": 1, "device_id": phone.kit.device_id(), "cursor": 0, "pull_limit": 1, "sent_at_ms": 0,
        "push": [{ "kind": "check_out", "body": forged }]
    });
    api.send("POST", "/v1/sync", Some(&rep), Some(&push)).await?;
    let (_, check_outs) = api.send("GET", "/v1/facts?kind=check_out", Some(&org.manager_token), None).await?;
    let claims: Vec<(Value, Value, Value)> = check_outs
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| {
            (
                c["fact"]["body"]["sop_missing"].clone(),
                c["sop_open_steps"].clone(),
                c["sop_claim_differs"].clone(),
            )
        })
        .collect();
    assert_eq!(
        claims,
        [(json!([0, 1]), json!([0, 1]), json!(false)), (json!([]), json!([0, 1]), json!(true))],
        "the honest check-out agrees, the forged one is caught"
    );

    let settings = OrgSettings { sop_incomplete: SopIncomplete::Refuse, ..OrgSettings::default() };
    server.user(&org.org, "admin", Role::Admin, org.manager.team_id.expect("team")).await?;
    let admin = api.login("acme", "admin", PASSWORD).await?;
    api.send("PUT", "/v1/org/settings", Some(&admin), Some(&serde_json::to_value(&settings)?)).await?;
    phone.kit.sync_now().await?;
    let visit = phone
        .kit
        .check_in(CheckInInput {
            customer_id: setup.customer,
            task_id: Some(second),
            fix: here(),
            note: None,
        })?
        .visit_id;
    let refused = phone.kit.check_out(visit, here());
    assert!(
        matches!(&refused, Err(Error::Refused(VisitRefusal::RequiredStepsMissing { missing })) if missing == &[0, 1]),
        "{refused:?}"
    );
    assert_eq!(phone.kit.open_visit()?.map(|v| v.id), Some(visit), "the visit stays open");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_keeps_its_template_version_and_the_server_validates_what_the_phone_could_not()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let setup = set_up(&api, &org).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;

    // Version 2 tightens the limit after the rep started on version 1.
    let started = phone.kit.start_form(setup.form, 1, None)?;
    let strict = FormField {
        key: "facings".into(),
        label: "排面数".into(),
        kind: FieldKind::Integer,
        required: true,
        rules: FieldRules { min: Some(0.0), max: Some(10.0), ..FieldRules::default() },
        show_if: None,
    };
    let v2 = json!({ "id": setup.form, "version": 2, "title": "货架检查 v2", "fields": [strict] });
    let (status, _) = api.send("POST", "/v1/form-templates", Some(&org.manager_token), Some(&v2)).await?;
    assert_eq!(status, StatusCode::CREATED);
    phone.kit.sync_now().await?;
    let twelve: BTreeMap<String, Value> = [("facings".to_owned(), json!(12))].into();
    phone.kit.fill_form(started.id, twelve.clone(), true)?;
    let later = phone.kit.start_form(setup.form, 2, None)?;
    let err = phone.kit.fill_form(later.id, twelve, true).expect_err("version 2 allows at most 10");
    assert!(matches!(err, Error::Form(_)), "{err}");

    // A version the phone has not received yet: the phone cannot check, the server does.
    let v3 = json!({ "id": setup.form, "version": 3, "title": "货架检查 v3", "fields": [{
        "key": "facings", "label": "排面数", "kind": { "type": "integer" }, "required": true,
        "rules": { "min": 0, "max": 5 }
    }]});
    api.send("POST", "/v1/form-templates", Some(&org.manager_token), Some(&v3)).await?;
    let blind = phone.kit.start_form(setup.form, 3, None)?;
    let nine: BTreeMap<String, Value> = [("facings".to_owned(), json!(9))].into();
    phone.kit.fill_form(blind.id, nine, true)?;
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.rejected, 1, "{report:?}");
    let parked = phone.kit.parked_items()?;
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].item_id, blind.id.to_string());
    assert!(parked[0].reason.contains("facings"), "{}", parked[0].reason);
    Ok(())
}
