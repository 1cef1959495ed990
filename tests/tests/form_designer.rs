//! The form designer end to end. Through the API: designs refused with every problem naming
//! its field (a show-if on a missing field, a choice field without choices, a cycle of
//! conditions), drafts checked and previewed without storing (the preview runs the phone's
//! validator), versions numbered by the server, and only managers and admins designing. In
//! headless Chromium (`tests/browser/form_designer.mjs`): a manager builds a form by dragging
//! kinds from the palette, is refused while a choice has no choices, previews bad and good
//! answers and publishes two versions; then a rep's real engine syncs, finds the form with
//! its fields, is refused an out-of-range value naming the field, submits a good response, and
//! the server holds it. Node.js, the npm packages of `tests/browser` and Chromium come from
//! `scripts/setup`; without them the browser test fails and says so.

use std::collections::BTreeMap;

use fieldkit_domain::docs;
use fieldkit_domain::ids::{FormTemplateId, TeamId};
use fieldkit_domain::model::{Condition, ConditionTest, FieldKind, FormTemplate, Role};
use fieldkit_domain::protocol::RecordKind;
use fieldkit_e2e::browser::{self, ScriptRun};
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use fieldkit_engine::Error;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn text(key: &str) -> Value {
    json!({ "key": key, "label": key, "kind": { "type": "text" }, "required": false })
}

fn shown_if(mut field: Value, on: &str) -> Value {
    field["show_if"] = json!({ "field": on, "op": "is_set" });
    field
}

/// `(field, code)` of each problem in a refusal's or a check's `problems`.
fn problems(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (p["field"].as_str().unwrap_or("?").to_owned(), p["code"].as_str().unwrap_or("?").to_owned())
        })
        .collect()
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_owned(), code.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_designs_are_refused_with_every_problem_naming_its_field_and_nothing_is_stored()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let manager = Some(org.manager_token.as_str());
    let design = json!({ "title": "Broken", "fields": [
        shown_if(text("note"), "ghost"),
        { "key": "brand", "label": "品牌", "kind": { "type": "single_choice", "choices": [] }, "required": true },
        shown_if(text("a"), "b"),
        shown_if(text("b"), "a"),
    ]});
    let wanted = vec![
        pair("brand", "bad_choices"),
        pair("note", "unknown_condition_field"),
        pair("a", "condition_cycle"),
        pair("b", "condition_cycle"),
    ];

    let (status, answer) = api.send("POST", "/v1/form-templates", manager, Some(&design)).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_request");
    assert_eq!(problems(&answer["error"]["problems"]), wanted, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    for named in ["\"note\"", "\"ghost\"", "\"brand\"", "\"a\"", "\"b\""] {
        assert!(message.contains(named), "the joined message misses {named}: {message}");
    }
    for problem in answer["error"]["problems"].as_array().into_iter().flatten() {
        let (field, message) = (problem["field"].as_str().unwrap_or("?"), problem["message"].as_str());
        assert!(message.is_some_and(|m| m.contains(&format!("{field:?}"))), "{problem}");
    }
    assert_eq!(answer["error"]["problems"][1]["index"], 0, "the note is the first field");

    // The designer's check: the same problems, 200, nothing stored.
    let (status, checked) = api.send("POST", "/v1/form-templates/check", manager, Some(&design)).await?;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(problems(&checked["problems"]), wanted);
    let fixed = json!({ "fields": [text("note"), shown_if(text("why"), "note")] });
    let (status, checked) = api.send("POST", "/v1/form-templates/check", manager, Some(&fixed)).await?;
    assert_eq!((status, checked), (StatusCode::OK, json!({ "problems": [] })));
    let (_, listed) = api.send("GET", "/v1/form-templates", manager, None).await?;
    assert_eq!(listed, json!([]), "a refused or checked design is not stored");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_validates_answers_with_the_phones_rules_and_shows_only_what_the_phone_shows()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let manager = Some(org.manager_token.as_str());
    let template = json!({ "title": "Shelf", "fields": [
        { "key": "facings", "label": "Facings", "kind": { "type": "integer" }, "required": true,
          "rules": { "min": 0, "max": 200 } },
        { "key": "stock", "label": "Stock", "kind": { "type": "single_choice", "choices": ["in", "out"] },
          "required": true },
        { "key": "why_out", "label": "原因", "kind": { "type": "text" }, "required": true,
          "show_if": { "field": "stock", "op": "equals", "value": "out" } },
    ]});
    let preview = |values: Value| json!({ "template": template, "values": values });

    let bad = preview(json!({ "facings": 250, "stock": "out" }));
    let (status, answer) = api.send("POST", "/v1/form-templates/preview", manager, Some(&bad)).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["valid"], false);
    assert_eq!(
        answer["errors"],
        json!([
            { "field": "facings", "rule": "above_max", "limit": 200.0,
              "message": "field \"facings\": must be at most 200" },
            { "field": "why_out", "rule": "required", "message": "field \"why_out\": a value is required" },
        ])
    );
    assert_eq!(answer["visible"], json!(["facings", "stock", "why_out"]));
    assert_eq!(answer["problems"], json!([]));

    let good = preview(json!({ "facings": 12, "stock": "in" }));
    let (_, answer) = api.send("POST", "/v1/form-templates/preview", manager, Some(&good)).await?;
    assert_eq!((answer["valid"].clone(), answer["errors"].clone()), (json!(true), json!([])), "{answer}");
    assert_eq!(answer["visible"], json!(["facings", "stock"]), "the reason is hidden while in stock");

    let foreign = preview(json!({ "facings": "many", "stock": "maybe", "colour": "red" }));
    let (_, answer) = api.send("POST", "/v1/form-templates/preview", manager, Some(&foreign)).await?;
    let rules: Vec<(&str, &str)> = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["field"].as_str().unwrap_or("?"), e["rule"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(rules, vec![("colour", "not_a_field"), ("facings", "wrong_type"), ("stock", "not_a_choice")]);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_numbers_versions_and_refuses_one_that_is_not_newer() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let manager = Some(org.manager_token.as_str());
    let publish = |id: Option<&Value>, version: Option<u32>| {
        let mut body = json!({ "title": "Visit report", "fields": [text("note")] });
        if let Some(id) = id {
            body["id"] = id.clone();
        }
        if let Some(version) = version {
            body["version"] = json!(version);
        }
        body
    };

    let (status, first) = api.send("POST", "/v1/form-templates", manager, Some(&publish(None, None))).await?;
    assert_eq!((status, first["version"].clone()), (StatusCode::CREATED, json!(1)), "{first}");
    let id = first["id"].clone();
    let (status, second) =
        api.send("POST", "/v1/form-templates", manager, Some(&publish(Some(&id), None))).await?;
    assert_eq!(
        (status, second["version"].clone(), second["id"].clone()),
        (StatusCode::CREATED, json!(2), id.clone())
    );

    for stale in [1, 2] {
        let (status, refused) =
            api.send("POST", "/v1/form-templates", manager, Some(&publish(Some(&id), Some(stale)))).await?;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"]["code"], "conflict");
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("already has version 2; publish version 3"), "{message}");
    }
    let (status, zero) =
        api.send("POST", "/v1/form-templates", manager, Some(&publish(Some(&id), Some(0)))).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{zero}");

    // An explicit version above the latest still works, and the next one follows it.
    let (status, fifth) =
        api.send("POST", "/v1/form-templates", manager, Some(&publish(Some(&id), Some(5)))).await?;
    assert_eq!((status, fifth["version"].clone()), (StatusCode::CREATED, json!(5)));
    let (_, sixth) = api.send("POST", "/v1/form-templates", manager, Some(&publish(Some(&id), None))).await?;
    assert_eq!(sixth["version"], 6);
    // A client-chosen id for a new template starts at 1, or at the version it names.
    let own = json!(FormTemplateId::new());
    let (_, own_first) =
        api.send("POST", "/v1/form-templates", manager, Some(&publish(Some(&own), None))).await?;
    assert_eq!(own_first["version"], 1);

    let (_, listed) = api.send("GET", "/v1/form-templates", manager, None).await?;
    let versions: Vec<u64> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["id"] == id)
        .filter_map(|t| t["version"].as_u64())
        .collect();
    assert_eq!(versions, vec![1, 2, 5, 6], "every version is its own record");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_managers_and_admins_check_preview_or_publish_designs() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let draft = json!({ "title": "T", "fields": [text("note")] });
    let preview = json!({ "template": draft, "values": { "note": "x" } });
    for (path, body) in [
        ("/v1/form-templates/check", &draft),
        ("/v1/form-templates/preview", &preview),
        ("/v1/form-templates", &draft),
    ] {
        let (status, answer) = api.send("POST", path, Some(&rep), Some(body)).await?;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
        let (status, answer) = api.send("POST", path, Some(&admin), Some(body)).await?;
        assert!(status == StatusCode::OK || status == StatusCode::CREATED, "{path}: {status} {answer}");
    }
    server.stop().await
}

// ---------------------------------------------------------------------------------------------
// The designer in a real browser, then the rep's phone.

fn values(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

/// The broken rules' fields of a refused submit.
fn refused_fields(result: fieldkit_engine::Result<fieldkit_domain::model::FormResponse>) -> Vec<String> {
    match result {
        Err(Error::Form(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected the form refused, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_dragged_together_in_the_dashboard_reaches_a_reps_phone_and_is_validated_there()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let root = browser::workspace();
    let chromium = browser::require_tools(&root)?;
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let http = reqwest::Client::new();
    let script = http.get(format!("{}/dashboard/designer.js", server.url)).send().await?;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script
            .headers()
            .get("content-security-policy")
            .is_some_and(|v| v.as_bytes().starts_with(b"default-src"))
    );

    let shots = root.join("target/form-designer-screenshots");
    if shots.exists() {
        std::fs::remove_dir_all(&shots)?;
    }
    let args = vec![
        server.url.clone(),
        "acme".to_owned(),
        "manager".to_owned(),
        PASSWORD.to_owned(),
        shots.display().to_string(),
    ];
    let (root2, chromium2) = (root.clone(), chromium.clone());
    let ScriptRun { ok, stdout, stderr } = tokio::task::spawn_blocking(move || {
        browser::run_script(&root2, &chromium2, "form_designer.mjs", &args, &[])
    })
    .await??;
    assert!(ok, "the browser run failed (screenshots in {}):\n{stderr}\n{stdout}", shots.display());
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())?;
    assert_eq!(report["ok"], true, "{stdout}");
    assert!(report["checks"].as_u64().unwrap_or(0) >= 30, "{stdout}");
    let id: FormTemplateId = serde_json::from_value(report["template_id"].clone())?;

    // The server holds both versions, the second relabelled.
    let (_, listed) = api.send("GET", "/v1/form-templates", Some(&org.manager_token), None).await?;
    let stored: Vec<FormTemplate> = serde_json::from_value(listed)?;
    assert_eq!(stored.iter().filter(|t| t.id == id).map(|t| t.version).collect::<Vec<_>>(), vec![1, 2]);

    // The rep's phone, after a sync.
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let on_phone = phone.kit.form_templates()?;
    let mut versions: Vec<u32> = on_phone.iter().filter(|t| t.id == id).map(|t| t.version).collect();
    versions.sort_unstable();
    assert_eq!(versions, vec![1, 2], "both versions reach the phone");
    let form = on_phone.iter().find(|t| t.id == id && t.version == 2).expect("version 2 is on the phone");
    assert_eq!(form.title, "货架检查 Shelf check");
    let keys: Vec<&str> = form.fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["shelf", "facings", "stock", "stock_level", "why_out"]);
    let [shelf, facings, stock, level, why] = &form.fields[..] else { panic!("five fields") };
    assert_eq!((&shelf.kind, &stock.kind), (&FieldKind::Section, &FieldKind::Section));
    assert_eq!((shelf.label.as_str(), stock.label.as_str()), ("Shelf", "Stock"));
    assert_eq!(
        (facings.label.as_str(), &facings.kind, facings.required),
        ("Facings (front)", &FieldKind::Integer, true)
    );
    assert_eq!((facings.rules.min, facings.rules.max), (Some(0.0), Some(200.0)));
    assert_eq!(
        level.kind,
        FieldKind::SingleChoice { choices: vec!["in stock".to_owned(), "out of stock".to_owned()] }
    );
    assert_eq!((why.label.as_str(), &why.kind, why.required), ("原因 Why out", &FieldKind::Text, true));
    assert_eq!(
        why.show_if,
        Some(Condition {
            field: "stock_level".to_owned(),
            test: ConditionTest::Equals { value: json!("out of stock") }
        })
    );
    let v1 = on_phone.iter().find(|t| t.id == id && t.version == 1).expect("version 1 is on the phone");
    assert_eq!(v1.fields[1].label, "Facings");

    // Filled in on the phone: the engine runs the same rules as the preview did.
    let kit = &phone.kit;
    let response = kit.start_form(id, 2, None)?;
    let too_many = values(&[("facings", json!(250)), ("stock_level", json!("in stock"))]);
    assert_eq!(refused_fields(kit.fill_form(response.id, too_many, true)), ["facings"]);
    let no_reason = values(&[("facings", json!(12)), ("stock_level", json!("out of stock"))]);
    assert_eq!(refused_fields(kit.fill_form(response.id, no_reason, true)), ["why_out"]);
    let good =
        values(&[("facings", json!(12)), ("stock_level", json!("out of stock")), ("why_out", json!("断货"))]);
    let submitted = kit.fill_form(response.id, good.clone(), true)?;
    assert!(submitted.submitted);
    let report = kit.sync_now().await?;
    assert_eq!(report.rejected, 0, "{report:?}");

    // The server holds the submitted response as the phone filled it.
    let doc = server
        .storage
        .doc(org.org.id, RecordKind::FormResponse, response.id.0)
        .await?
        .expect("the response document reached the server");
    let held = docs::form_response::project(&docs::load(&doc.state, docs::actor(uuid::Uuid::now_v7()))?)?;
    assert!(held.submitted);
    assert_eq!((held.template_id, held.template_version, held.rep_id), (id, 2, org.reps[0].id));
    assert_eq!(held.values, good);
    server.stop().await
}
